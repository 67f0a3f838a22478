/* test_ref.c: dtcl against the golden files written by ref/make_golden.py
 * from an independent PyTorch implementation (float64): forward within 1e-5,
 * dT/dlambda and the vector-Jacobian products within 1e-4 (relative L2 per
 * tensor). The cases' settings come from ref/golden/transform/MANIFEST.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "io/npy.h"
#include "transform/transform.h"
#include "transform/transform_naive.h"
#include "testutil.h"

static char golden_dir[4096];

static float *load(const char *cas, const char *name, size_t expect)
{
    return TEST_LOAD_NPY(golden_dir, cas, name, expect);
}

static double *widen(const float *a, size_t n)
{
    double *d = malloc(sizeof(double) * n);
    for (size_t i = 0; i < n; i++)
        d[i] = a[i];
    return d;
}

static void check_case(const cJSON *c)
{
    const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
    int S = cJSON_GetObjectItem(c, "size")->valueint, N = cJSON_GetObjectItem(c, "batch")->valueint;
    printf(" case %s (S=%d, N=%d, order %s)\n", name, S, N, cJSON_GetObjectItem(c, "order")->valuestring);
    DtclTransformParams p;
    dtcl_transform_params_default(&p);
    p.sigma_max = (float)cJSON_GetObjectItem(c, "sigma_max")->valuedouble;
    p.noise_scale = (float)cJSON_GetObjectItem(c, "noise_scale")->valuedouble;
    p.crop_half_width = (float)cJSON_GetObjectItem(c, "crop_half_width")->valuedouble;
    p.crop_sharpness = (float)cJSON_GetObjectItem(c, "crop_sharpness")->valuedouble;
    DtclStage order[DTCL_NSTAGES];
    int nsteps;
    DtclError err;
    assert_int_equal(dtcl_transform_parse_order(cJSON_GetObjectItem(c, "order")->valuestring, order, &nsteps, &err), 0);
    DtclTransform t;
    assert_int_equal(dtcl_transform_init(&t, S, order, nsteps, &p, &err), 0);

    size_t NS = (size_t)N * S * S;
    float *x = load(name, "x", NS), *lam = load(name, "lambda", (size_t)N * 7), *dy = load(name, "dy", NS);
    float *y_ref = load(name, "y", NS), *jac_ref = load(name, "jacobian", NS * 7);
    float *dx_ref = load(name, "dx", NS), *dl_ref = load(name, "dlambda", (size_t)N * 7), *z_ref = load(name, "z", NS);
    DtclNoiseSource ns = {(uint64_t)cJSON_GetObjectItem(c, "seed")->valuedouble, 0, 0, NULL};

    float *y = malloc(NS * 4), *saved = malloc(dtcl_transform_saved_size(&t) * N * 4 + 4);
    float *jac = malloc(NS * 7 * 4), *dx = calloc(NS, 4), *dl = calloc((size_t)N * 7, 4), *z = malloc(NS * 4);
    dtcl_transform_forward(&t, y, saved, x, lam, &ns, N);
    dtcl_transform_jacobian(&t, jac, NULL, x, lam, &ns, N);
    dtcl_transform_backward(&t, dx, dl, dy, x, lam, saved, N);
    for (int n = 0; n < N; n++)
        dtcl_transform_noise(&t, z + (size_t)n * S * S, &ns, n);

    double *d;
    d = widen(z_ref, NS);
    assert_true(test_rel_l2("noise field z (Philox, erfinv)", z, d, NS, 1e-6) <= 1e-6);
    free(d);
    d = widen(y_ref, NS);
    assert_true(test_rel_l2("forward T(x)", y, d, NS, 1e-5) <= 1e-5);
    free(d);
    for (int k = 0; k < 7; k++) {
        if (!dtcl_transform_uses_lambda(&t, k))
            continue;
        float *col = malloc(NS * 4);
        double *ref = malloc(NS * 8);
        for (int n = 0; n < N; n++)
            for (int q = 0; q < S * S; q++) {
                col[(size_t)n * S * S + q] = jac[((size_t)n * 7 + k) * S * S + q];
                ref[(size_t)n * S * S + q] = jac_ref[((size_t)n * 7 + k) * S * S + q];
            }
        char what[64];
        snprintf(what, sizeof what, "dT/dlambda%d (%s)", k, dtcl_lambda_names[k]);
        assert_true(test_rel_l2(what, col, ref, NS, 1e-4) <= 1e-4);
        free(col);
        free(ref);
    }
    d = widen(dx_ref, NS);
    assert_true(test_rel_l2("VJP J_x^T dy", dx, d, NS, 1e-4) <= 1e-4);
    free(d);
    d = widen(dl_ref, (size_t)N * 7);
    assert_true(test_rel_l2("VJP J_lambda^T dy", dl, d, (size_t)N * 7, 1e-4) <= 1e-4);
    free(d);

    free(x); free(lam); free(dy); free(y_ref); free(jac_ref); free(dx_ref); free(dl_ref); free(z_ref);
    free(y); free(saved); free(jac); free(dx); free(dl); free(z);
    dtcl_transform_free(&t);
}

static void test_golden(void **state)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/MANIFEST.json", golden_dir);
    static char buf[1 << 16];
    TEST_READ_TEXT(path, buf, sizeof buf);
    cJSON *m = cJSON_Parse(buf);
    assert_non_null(m);
    assert_string_equal(cJSON_GetObjectItem(m, "format")->valuestring, "dtcl-golden-transform");
    assert_int_equal(cJSON_GetObjectItem(m, "version")->valueint, 1);
    const cJSON *cases = cJSON_GetObjectItem(m, "cases"), *c;
    int count = 0;
    cJSON_ArrayForEach(c, cases) {
        check_case(c);
        count++;
    }
    assert_true(count >= 4);
    cJSON_Delete(m);
}

int main(void)
{
    snprintf(golden_dir, sizeof golden_dir, "%s/ref/golden/transform", test_srcdir());
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_golden)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
