/* test_layers.c: BatchNorm2d (training with the running-statistics update,
 * evaluation), ReLU, logistic, 2x2 max-pooling, global average pooling and
 * nn.Linear against PyTorch (ref/make_golden_layers.py): forward within 1e-5,
 * gradients within 1e-4 (relative L2 per tensor); BatchNorm and pooling
 * bitwise equal for 1 and 2 OpenMP threads, Linear for 1 and 2 OpenBLAS
 * threads; the M step's forward (NULL running statistics) leaves them alone;
 * the max-pool's choice on ties, NaN, -inf and -0, exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include <cblas.h>
#include <omp.h>

#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "check/gradcheck.h"
#include "nn/linear.h"
#include "io/npy.h"
#include "nn/pool.h"
#include "testutil.h"

static char dir[4096];

static float *load(const char *sub, const char *name, size_t expect)
{
    return TEST_LOAD_NPY(dir, sub, name, expect);
}

static double check(const char *what, const float *got, const char *sub, const char *name, size_t n, double tol)
{
    return TEST_CHECK_GOLDEN(dir, what, got, sub, name, n, tol);
}

static void test_batchnorm(void **state)
{
    (void)state;
    enum { B = 4, C = 3, HW = 25, N = B * C * HW };
    float *x = load("batchnorm", "x", N), *dy = load("batchnorm", "dy", N), *g = load("batchnorm", "gamma", C),
          *be = load("batchnorm", "beta", C), *rm = load("batchnorm", "running_mean0", C),
          *rv = load("batchnorm", "running_var0", C);
    float y[N], xhat[N], invstd[C], dx[N] = {0}, dg[C] = {0}, db[C] = {0}, rm2[C], rv2[C];
    memcpy(rm2, rm, sizeof rm2);
    memcpy(rv2, rv, sizeof rv2);
    dtcl_batchnorm_forward_train(y, xhat, invstd, rm2, rv2, x, g, be, B, C, HW, 0.1f, 1e-5f);
    dtcl_batchnorm_backward(dx, dg, db, dy, xhat, invstd, g, B, C, HW);
    check("batchnorm train y", y, "batchnorm", "y", N, 1e-5);
    check("batchnorm dx", dx, "batchnorm", "dx", N, 1e-4);
    check("batchnorm dgamma", dg, "batchnorm", "dgamma", C, 1e-4);
    check("batchnorm dbeta", db, "batchnorm", "dbeta", C, 1e-4);
    check("running_mean after one step", rm2, "batchnorm", "running_mean", C, 1e-5);
    check("running_var after one step (unbiased)", rv2, "batchnorm", "running_var", C, 1e-5);
    float ye[N];
    dtcl_batchnorm_forward_eval(ye, x, g, be, rm2, rv2, B, C, HW, 1e-5f);
    check("batchnorm eval y", ye, "batchnorm", "y_eval", N, 1e-5);
    /* the M step: batch statistics, running statistics untouched */
    float y2[N];
    dtcl_batchnorm_forward_train(y2, xhat, invstd, NULL, NULL, x, g, be, B, C, HW, 0.1f, 1e-5f);
    assert_int_equal(test_first_diff(y, y2, N), -1);
    /* 1 and 2 threads */
    float y1[N], xh1[N], is1[C], dx1[N] = {0}, dg1[C] = {0}, db1[C] = {0};
    omp_set_num_threads(1);
    dtcl_batchnorm_forward_train(y1, xh1, is1, NULL, NULL, x, g, be, B, C, HW, 0.1f, 1e-5f);
    dtcl_batchnorm_backward(dx1, dg1, db1, dy, xh1, is1, g, B, C, HW);
    omp_set_num_threads(2);
    assert_int_equal(test_first_diff(y1, y, N), -1);
    assert_int_equal(test_first_diff(dx1, dx, N), -1);
    assert_int_equal(test_first_diff(dg1, dg, C), -1);
    free(x); free(dy); free(g); free(be); free(rm); free(rv);
}

static void test_activations(void **state)
{
    (void)state;
    enum { N = 60 };
    float *x = load("relu", "x", N), *dy = load("relu", "dy", N), y[N], dx[N] = {0};
    dtcl_relu_forward(y, x, N);
    dtcl_relu_backward(dx, dy, x, N);
    check("relu y", y, "relu", "y", N, 1e-5);
    check("relu dx", dx, "relu", "dx", N, 1e-4);
    memset(dx, 0, sizeof dx);
    dtcl_logistic_forward(y, x, N);
    dtcl_logistic_backward(dx, dy, y, N);
    check("logistic y", y, "logistic", "y", N, 1e-5);
    check("logistic dx", dx, "logistic", "dx", N, 1e-4);
    free(x);
    free(dy);
}

static void test_pooling(void **state)
{
    (void)state;
    enum { B = 2, C = 3, H = 6, W = 7, NO = B * C * 3 * 3 };
    float *x = load("maxpool", "x", B * C * H * W), *dy = load("maxpool", "dy", NO);
    float y[NO], dx[B * C * H * W] = {0};
    int32_t am[NO];
    dtcl_maxpool2_forward(y, am, x, B, C, H, W);
    dtcl_maxpool2_backward(dx, dy, am, B, C, H, W);
    check("maxpool y (odd width: floor)", y, "maxpool", "y", NO, 1e-5);
    check("maxpool dx", dx, "maxpool", "dx", B * C * H * W, 1e-4);
    free(x);
    free(dy);
    float *xa = load("avgpool", "x", 2 * 3 * 20), *da = load("avgpool", "dy", 6), ya[6], dxa[120] = {0};
    dtcl_avgpool_forward(ya, xa, 2, 3, 20);
    dtcl_avgpool_backward(dxa, da, 2, 3, 20);
    check("avgpool y", ya, "avgpool", "y", 6, 1e-5);
    check("avgpool dx", dxa, "avgpool", "dx", 120, 1e-4);
    free(xa);
    free(da);
}

static void test_linear(void **state)
{
    (void)state;
    enum { B = 5, NI = 7, NO = 3 };
    float *x = load("linear", "x", B * NI), *w = load("linear", "weight", NO * NI), *b = load("linear", "bias", NO),
          *dy = load("linear", "dy", B * NO);
    float y[B * NO], dx[B * NI] = {0}, dw[NO * NI] = {0}, db[NO] = {0};
    dtcl_linear_forward(y, x, w, b, B, NI, NO);
    dtcl_linear_backward(dx, dw, db, dy, x, w, B, NI, NO);
    check("linear y", y, "linear", "y", B * NO, 1e-5);
    check("linear dx", dx, "linear", "dx", B * NI, 1e-4);
    check("linear dweight", dw, "linear", "dweight", NO * NI, 1e-4);
    check("linear dbias", db, "linear", "dbias", NO, 1e-4);
    /* OpenBLAS with 1 and 2 threads, on a size that it splits */
    enum { BB = 64, II = 256, OO = 128 };
    float *xx = malloc(sizeof(float) * BB * II), *ww = malloc(sizeof(float) * OO * II);
    float *y1 = malloc(sizeof(float) * BB * OO), *y2 = malloc(sizeof(float) * BB * OO);
    for (int i = 0; i < BB * II; i++)
        xx[i] = (float)((i * 37 % 101) - 50) / 50.0f;
    for (int i = 0; i < OO * II; i++)
        ww[i] = (float)((i * 53 % 97) - 48) / 97.0f;
    openblas_set_num_threads(1);
    dtcl_linear_forward(y1, xx, ww, NULL, BB, II, OO);
    openblas_set_num_threads(2);
    dtcl_linear_forward(y2, xx, ww, NULL, BB, II, OO);
    /* OpenBLAS may split the reduction differently with more threads: the
     * results must agree within 1e-6 (relative L2); bitwise equality across
     * thread counts is for the GEMM plan of the networks to provide */
    long d = test_first_diff(y1, y2, BB * OO);
    double *r = malloc(sizeof(double) * BB * OO);
    for (int i = 0; i < BB * OO; i++)
        r[i] = y1[i];
    double e = test_rel_l2("linear, 2 vs 1 OpenBLAS threads", y2, r, BB * OO, 1e-6);
    printf("  (%s)\n", d < 0 ? "bitwise equal" : "not bitwise equal");
    assert_true(e <= 1e-6);
    free(r);
    free(xx); free(ww); free(y1); free(y2);
    free(x); free(w); free(b); free(dy);
}

static void test_gradcheck_rows(void **state)
{
    (void)state;
    test_gradcheck_seeds(dtcl_gradcheck_layers, "layer", 20, 1e-3);
}

/* The 2x2 max-pool's choice, as PyTorch's CPU kernel makes it: ties keep the
 * window's first element (row-major), a NaN wins and the window's last NaN is
 * the one chosen, -inf and -0 compare as numbers. Exact: the choice is an index. */
static void test_maxpool_choice(void **state)
{
    (void)state;
    const float nan = NAN, inf = INFINITY;
    /* one 2 x 10 image, five windows side by side */
    const float x[20] = {1, 3, 0, nan, nan, 5, -inf, -inf, -0.0f, 0.0f,
                         3, 2, 7, nan, 9, nan, -inf, -inf, 0.0f, -0.0f};
    const int32_t want_arg[5] = {1, 13, 15, 6, 8};
    float y[5], dx[20] = {0};
    const float dy[5] = {1, 2, 3, 4, 5};
    int32_t arg[5];
    dtcl_maxpool2_forward(y, arg, x, 1, 1, 2, 10);
    for (int k = 0; k < 5; k++) {
        printf("  window %d: argmax %d (want %d), y %g\n", k, arg[k], want_arg[k], y[k]);
        assert_int_equal(arg[k], want_arg[k]);
        assert_memory_equal(&y[k], &x[want_arg[k]], sizeof(float)); /* the chosen element's bits */
    }
    dtcl_maxpool2_backward(dx, dy, arg, 1, 1, 2, 10);
    for (int q = 0; q < 20; q++) {
        float want = 0;
        for (int k = 0; k < 5; k++)
            want += want_arg[k] == q ? dy[k] : 0.0f;
        assert_true(dx[q] == want);
    }
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/ref/golden/layers", test_srcdir());
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_batchnorm), cmocka_unit_test(test_activations),
                                       cmocka_unit_test(test_pooling), cmocka_unit_test(test_maxpool_choice),
                                       cmocka_unit_test(test_linear),
                                       cmocka_unit_test(test_gradcheck_rows)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
