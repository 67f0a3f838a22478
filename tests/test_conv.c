/* test_conv.c: the convolution (conv.h) against PyTorch's nn.Conv2d
 * (ref/make_golden_layers.py: 3x3 without bias, 3x3 with bias on a 7x5
 * image, 1x1 with bias), forward within 1e-5 and gradients within 1e-4
 * (relative L2 per tensor), for the im2col+sgemm path and the naive loops;
 * the two paths against each other at the encoder's shapes; and the fast
 * path bitwise equal for 1, 2 and 3 threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cblas.h>

#include "conv.h"
#include "error.h"
#include "npy.h"
#include "rng.h"
#include "testutil.h"

static char dir[4096];

static double check(const char *what, const float *got, const char *sub, const char *name, size_t n, double tol)
{
    return TEST_CHECK_GOLDEN(dir, what, got, sub, name, n, tol);
}

static void golden_case(const char *sub, DtclConvShape s, int bias)
{
    size_t nx = (size_t)s.B * s.C * s.H * s.W, ny = (size_t)s.B * s.O * s.H * s.W, nw = (size_t)s.O * s.C * s.k * s.k;
    float *x = TEST_LOAD_NPY(dir, sub, "x", nx), *w = TEST_LOAD_NPY(dir, sub, "weight", nw);
    float *b = TEST_LOAD_NPY(dir, sub, "bias", s.O), *dy = TEST_LOAD_NPY(dir, sub, "dy", ny);
    float *y = calloc(ny, 4), *dx = calloc(nx, 4), *dw = calloc(nw, 4), *db = calloc(s.O, 4);
    float *work = calloc(dtcl_conv2d_work_size(&s) + 1, 4);
    for (int naive = 0; naive < 2; naive++) {
        char what[128];
        memset(dx, 0, nx * 4);
        memset(dw, 0, nw * 4);
        memset(db, 0, s.O * 4);
        if (naive) {
            dtcl_conv2d_forward_naive(y, x, w, bias ? b : NULL, &s);
            dtcl_conv2d_backward_naive(dx, dw, bias ? db : NULL, dy, x, w, &s);
        } else {
            dtcl_conv2d_forward(y, x, w, bias ? b : NULL, &s, work);
            dtcl_conv2d_backward(dx, dw, bias ? db : NULL, dy, x, w, &s, work);
        }
        const char *path = naive ? "naive" : "im2col";
        snprintf(what, sizeof what, "%s %s y", sub, path);
        check(what, y, sub, "y", ny, 1e-5);
        snprintf(what, sizeof what, "%s %s dx", sub, path);
        check(what, dx, sub, "dx", nx, 1e-4);
        snprintf(what, sizeof what, "%s %s dweight", sub, path);
        check(what, dw, sub, "dweight", nw, 1e-4);
        if (bias) {
            snprintf(what, sizeof what, "%s %s dbias", sub, path);
            check(what, db, sub, "dbias", s.O, 1e-4);
        }
    }
    /* the input gradient alone (the M step's path) equals backward's */
    float *dx2 = calloc(nx, 4);
    memset(dx, 0, nx * 4);
    dtcl_conv2d_backward(dx, dw, NULL, dy, x, w, &s, work);
    dtcl_conv2d_backward_data(dx2, dy, w, &s, work);
    assert_int_equal(test_first_diff(dx, dx2, nx), -1);
    free(x); free(w); free(b); free(dy); free(y); free(dx); free(dx2); free(dw); free(db); free(work);
}

static void test_golden(void **state)
{
    (void)state;
    golden_case("conv3x3", (DtclConvShape){3, 2, 4, 6, 6, 3, 2}, 0);
    golden_case("conv3x3_bias", (DtclConvShape){2, 3, 5, 7, 5, 3, 2}, 1);
    golden_case("conv1x1_bias", (DtclConvShape){2, 4, 7, 3, 3, 1, 2}, 1);
}

static float *random_tensor(size_t n, uint32_t item, double scale)
{
    float *a = malloc(n * 4);
    DtclStream s = {9, DTCL_RNG_TEST, 0, 0, item};
    dtcl_rng_uniform_range(&s, a, n, (float)-scale, (float)scale);
    return a;
}

/* Fast against naive at one of the encoder's shapes (block 1 at S = 32, 9
 * images so that the groups are uneven); threads 1, 2, 3 bitwise equal. */
static void test_fast_vs_naive_and_threads(void **state)
{
    (void)state;
    DtclConvShape s = {9, 16, 24, 16, 16, 3, 1};
    size_t nx = (size_t)s.B * s.C * s.H * s.W, ny = (size_t)s.B * s.O * s.H * s.W, nw = (size_t)s.O * s.C * 9;
    float *x = random_tensor(nx, 1, 1), *w = random_tensor(nw, 2, 0.1), *dy = random_tensor(ny, 3, 1);
    float *b = random_tensor(s.O, 4, 0.1);
    float *y[4], *dx[4], *dw[4], *db[4];
    for (int t = 0; t < 4; t++) {
        y[t] = calloc(ny, 4);
        dx[t] = calloc(nx, 4);
        dw[t] = calloc(nw, 4);
        db[t] = calloc(s.O, 4);
    }
    dtcl_conv2d_forward_naive(y[0], x, w, b, &s);
    dtcl_conv2d_backward_naive(dx[0], dw[0], db[0], dy, x, w, &s);
    for (int t = 1; t <= 3; t++) {
        DtclConvShape st = s;
        st.threads = t;
        float *work = calloc(dtcl_conv2d_work_size(&st), 4);
        dtcl_conv2d_forward(y[t], x, w, b, &st, work);
        dtcl_conv2d_backward(dx[t], dw[t], db[t], dy, x, w, &st, work);
        free(work);
    }
    double *r = malloc(sizeof(double) * nx * 3);
    const struct { const char *what; float **v; size_t n; double tol; } cmp[4] = {
        {"16->24 3x3 y, im2col vs naive", y, ny, 1e-6}, {"dx", dx, nx, 1e-6},
        {"dweight", dw, nw, 1e-6}, {"dbias", db, (size_t)s.O, 1e-6}};
    for (int k = 0; k < 4; k++) {
        for (size_t i = 0; i < cmp[k].n; i++)
            r[i] = cmp[k].v[0][i];
        assert_true(test_rel_l2(cmp[k].what, cmp[k].v[1], r, cmp[k].n, cmp[k].tol) <= cmp[k].tol);
        for (int t = 2; t <= 3; t++) {
            long d = test_first_diff(cmp[k].v[1], cmp[k].v[t], cmp[k].n);
            if (d >= 0)
                printf("  %s: 1 and %d threads differ first at %ld\n", cmp[k].what, t, d);
            assert_int_equal(d, -1);
        }
    }
    printf("  1, 2 and 3 threads: bitwise equal\n");
    free(r);
    for (int t = 0; t < 4; t++) {
        free(y[t]); free(dx[t]); free(dw[t]); free(db[t]);
    }
    free(x); free(w); free(dy); free(b);
}

int main(void)
{
    openblas_set_num_threads(1);
    snprintf(dir, sizeof dir, "%s/ref/golden/layers", test_srcdir());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_fast_vs_naive_and_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
