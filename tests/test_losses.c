/* test_losses.c: the losses and Adam (SPEC section 4) against PyTorch
 * (ref/make_golden_losses.py: autograd in float64, torch.optim.Adam in
 * float32): L_NCE (dot, cosine), NT-Xent, SupCon and BCE values within 1e-9,
 * their gradients within 1e-6 (relative L2), three Adam steps within 1e-6;
 * BCE without labelled images is 0 with no gradient; the gradcheck rows of
 * the losses all pass; L_NCE's floor with cosine similarity is reached and
 * never passed, and dot similarity passes it by scaling z (SPEC section 4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>

#include "nn/adam.h"
#include "nn/bce.h"
#include "check/gradcheck.h"
#include "nn/nce.h"
#include "io/npy.h"
#include "testutil.h"

static char dir[4096];

static float *load(const char *sub, const char *name, size_t expect)
{
    return TEST_LOAD_NPY(dir, sub, name, expect);
}

/* The float64 goldens, read exactly (npy.h converts to float32). */
static double *load64(const char *sub, const char *name, size_t expect)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s/%s.npy", dir, sub, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    DtclNpyInfo info;
    DtclError err;
    if (dtcl_npy_parse_header(buf, n, &info, &err) != 0)
        fail_msg("%s: %s", path, err.msg);
    assert_int_equal(info.type, DTCL_NPY_F64);
    assert_int_equal(info.count, expect);
    double *d = malloc(sizeof(double) * expect);
    memcpy(d, buf + info.data_offset, sizeof(double) * expect);
    return d;
}

static void test_contrastive_goldens(void **state)
{
    (void)state;
    char path[4300];
    snprintf(path, sizeof path, "%s/MANIFEST.json", dir);
    char text[8192];
    TEST_READ_TEXT(path, text, sizeof text);
    cJSON *m = cJSON_Parse(text);
    assert_non_null(m);
    int B = cJSON_GetObjectItem(m, "batch")->valueint, D = cJSON_GetObjectItem(m, "dim")->valueint;
    const cJSON *c;
    int cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(m, "cases")) {
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring, *kind = cJSON_GetObjectItem(c, "kind")->valuestring;
        DtclNce nce = {strcmp(kind, "paper") == 0 ? DTCL_NCE_PAPER : strcmp(kind, "simclr") == 0 ? DTCL_NCE_SIMCLR : DTCL_NCE_SUPCON,
                       strcmp(cJSON_GetObjectItem(c, "similarity")->valuestring, "cosine") == 0 ? DTCL_SIM_COSINE : DTCL_SIM_DOT,
                       cJSON_GetObjectItem(c, "tau")->valuedouble};
        size_t BD = (size_t)B * D;
        float *zm = load(name, "zm", BD), *z = load(name, "z", BD), *lab = load(name, "labels", (size_t)B);
        double *loss = load64(name, "loss", 1), *dzm = load64(name, "dzm", BD), *dz = load64(name, "dz", BD);
        int8_t labels[64];
        for (int i = 0; i < B; i++)
            labels[i] = (int8_t)lab[i];
        float *gzm = calloc(BD, 4), *gz = calloc(BD, 4);
        double l = dtcl_nce_forward_backward(&nce, gzm, gz, zm, z, labels, B, D, NULL);
        printf(" %s: loss %.12f (PyTorch %.12f, rel err %.2e, tolerance 1e-9)\n", name, l, loss[0],
               fabs(l - loss[0]) / fabs(loss[0]));
        assert_true(fabs(l - loss[0]) <= 1e-9 * fabs(loss[0]));
        assert_true(test_rel_l2("dL/dzm", gzm, dzm, BD, 1e-6) <= 1e-6);
        assert_true(test_rel_l2("dL/dz", gz, dz, BD, 1e-6) <= 1e-6);
        free(zm); free(z); free(lab); free(loss); free(dzm); free(dz); free(gzm); free(gz);
        cases++;
    }
    assert_int_equal(cases, 5);
    cJSON_Delete(m);
}

static void test_bce(void **state)
{
    (void)state;
    float *x = load("bce", "x", 12), *y = load("bce", "labels", 12), *mk = load("bce", "mask", 12);
    double *loss = load64("bce", "loss", 1), *dx = load64("bce", "dx", 12);
    int8_t labels[12], mask[12];
    for (int i = 0; i < 12; i++)
        labels[i] = (int8_t)y[i], mask[i] = (int8_t)mk[i];
    float g[12] = {0};
    double l = dtcl_bce_forward_backward(g, x, labels, mask, 12);
    printf("  BCE: %.12f (PyTorch %.12f)\n", l, loss[0]);
    assert_true(fabs(l - loss[0]) <= 1e-9 * fabs(loss[0]));
    assert_true(test_rel_l2("dL/dx", g, dx, 12, 1e-6) <= 1e-6);
    /* no labelled image: zero loss, no gradient */
    int8_t none[12];
    memset(none, -1, sizeof none);
    float g0[12] = {0};
    assert_true(dtcl_bce_forward_backward(g0, x, none, NULL, 12) == 0.0);
    for (int i = 0; i < 12; i++)
        assert_true(g0[i] == 0.0f);
    free(x); free(y); free(mk); free(loss); free(dx);
}

static void test_adam(void **state)
{
    (void)state;
    enum { N = 64 };
    float *p = load("adam", "p0", N), *g[3] = {load("adam", "g1", N), load("adam", "g2", N), load("adam", "g3", N)};
    float *p3 = load("adam", "p3", N), *m3 = load("adam", "m3", N), *v3 = load("adam", "v3", N);
    float m[N] = {0}, v[N] = {0};
    DtclAdam a;
    dtcl_adam_default(&a, 1e-3);
    for (int t = 1; t <= 3; t++)
        dtcl_adam_step(&a, p, m, v, g[t - 1], N, t);
    double rp[N], rm[N], rv[N];
    int same = 0;
    for (int i = 0; i < N; i++) {
        rp[i] = p3[i], rm[i] = m3[i], rv[i] = v3[i];
        same += p[i] == p3[i];
    }
    printf("  Adam, 3 steps: %d of %d parameters bitwise equal to torch.optim.Adam\n", same, N);
    assert_true(test_rel_l2("parameters", p, rp, N, 1e-6) <= 1e-6);
    assert_true(test_rel_l2("first moments", m, rm, N, 1e-6) <= 1e-6);
    assert_true(test_rel_l2("second moments", v, rv, N, 1e-6) <= 1e-6);
    free(p); free(g[0]); free(g[1]); free(g[2]); free(p3); free(m3); free(v3);
}

static void test_nce_floor(void **state)
{
    (void)state;
    /* B = 2, D = 1: positives equal, negatives opposite: the least value */
    float zm[2] = {1, -1}, z[2] = {1, -1};
    DtclNce cs = {DTCL_NCE_PAPER, DTCL_SIM_COSINE, 0.5};
    double floor = dtcl_nce_floor(&cs, 2), l = dtcl_nce_forward_backward(&cs, NULL, NULL, zm, z, NULL, 2, 1, NULL);
    printf("  B 2, tau 0.5: floor %.9g, L at the extreme %.9g\n", floor, l);
    assert_float_equal(l, floor, 1e-12);
    assert_float_equal(floor, -4.0, 0);
    /* random embeddings (B 16, D 8): cosine never below, dot scaled by 10 goes far below */
    enum { B = 16, D = 8 };
    float a[B * D], b[B * D];
    for (int r = 0; r < B; r++) { /* unit rows; the positive of each is itself */
        double n = 0;
        for (int d = 0; d < D; d++)
            n += sin(1.7 * (r * D + d) + r) * sin(1.7 * (r * D + d) + r);
        for (int d = 0; d < D; d++)
            a[r * D + d] = b[r * D + d] = (float)(sin(1.7 * (r * D + d) + r) / sqrt(n));
    }
    DtclNce c1 = {DTCL_NCE_PAPER, DTCL_SIM_COSINE, 1}, d1 = {DTCL_NCE_PAPER, DTCL_SIM_DOT, 1};
    double lc = dtcl_nce_forward_backward(&c1, NULL, NULL, a, b, NULL, B, D, NULL), fl = dtcl_nce_floor(&c1, B);
    for (int i = 0; i < B * D; i++)
        a[i] *= 10, b[i] *= 10;
    double ld = dtcl_nce_forward_backward(&d1, NULL, NULL, a, b, NULL, B, D, NULL);
    printf("  B 16: floor %.4f; cosine L %.4f; dot L with |z| x10 %.4f\n", fl, lc, ld);
    assert_true(lc >= fl);
    assert_true(ld < fl);
    DtclNce nt = {DTCL_NCE_SIMCLR, DTCL_SIM_DOT, 1};
    assert_float_equal(dtcl_nce_floor(&nt, B), 0.0, 0);
    assert_true(dtcl_nce_forward_backward(&nt, NULL, NULL, a, b, NULL, B, D, NULL) >= 0); /* positive inside */
}

static void test_gradcheck_rows(void **state)
{
    (void)state;
    test_gradcheck_seeds(dtcl_gradcheck_losses, "loss", 5, 1e-5);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/ref/golden/losses", test_srcdir());
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_contrastive_goldens), cmocka_unit_test(test_bce),
                                       cmocka_unit_test(test_adam), cmocka_unit_test(test_nce_floor),
                                       cmocka_unit_test(test_gradcheck_rows)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
