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

#include "nn/conv.h"
#include "base/error.h"
#include "io/npy.h"
#include "base/rng.h"
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
    golden_case("conv3x3", (DtclConvShape){.B = 3, .C = 2, .O = 4, .H = 6, .W = 6, .k = 3, .threads = 2}, 0);
    golden_case("conv3x3_bias", (DtclConvShape){.B = 2, .C = 3, .O = 5, .H = 7, .W = 5, .k = 3, .threads = 2}, 1);
    golden_case("conv1x1_bias", (DtclConvShape){.B = 2, .C = 4, .O = 7, .H = 3, .W = 3, .k = 1, .threads = 2}, 1);
}

static float *random_tensor(size_t n, uint32_t item, double scale)
{
    return test_uniform(9, item, n, (float)-scale, (float)scale);
}

/* Fast against naive at shape s (the thread count is varied); threads 1, 2
 * and 3 bitwise equal. */
static void fast_vs_naive(const char *name, DtclConvShape s)
{
    int Ho = dtcl_conv2d_out(&s, s.H), Wo = dtcl_conv2d_out(&s, s.W);
    size_t nx = (size_t)s.B * s.C * s.H * s.W, ny = (size_t)s.B * s.O * Ho * Wo, nw = (size_t)s.O * s.C * s.k * s.k;
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
    size_t nr = nx > ny ? nx : ny;
    nr = nr > nw ? nr : nw; /* the weights outnumber the pixels when the image is smaller than the kernel */
    double *r = malloc(sizeof(double) * (nr > (size_t)s.O ? nr : (size_t)s.O));
    char what[4][96];
    snprintf(what[0], sizeof what[0], "%s y, im2col vs naive", name);
    snprintf(what[1], sizeof what[1], "%s dx", name);
    snprintf(what[2], sizeof what[2], "%s dweight", name);
    snprintf(what[3], sizeof what[3], "%s dbias", name);
    const struct { float **v; size_t n; double tol; } cmp[4] = {
        {y, ny, 1e-6}, {dx, nx, 1e-6}, {dw, nw, 1e-6}, {db, (size_t)s.O, 1e-6}};
    for (int k = 0; k < 4; k++) {
        for (size_t i = 0; i < cmp[k].n; i++)
            r[i] = cmp[k].v[0][i];
        assert_true(test_rel_l2(what[k], cmp[k].v[1], r, cmp[k].n, cmp[k].tol) <= cmp[k].tol);
        for (int t = 2; t <= 3; t++) {
            long d = test_first_diff(cmp[k].v[1], cmp[k].v[t], cmp[k].n);
            if (d >= 0)
                printf("  %s: 1 and %d threads differ first at %ld\n", what[k], t, d);
            assert_int_equal(d, -1);
        }
    }
    printf("  %s: 1, 2 and 3 threads bitwise equal\n", name);
    free(r);
    for (int t = 0; t < 4; t++) {
        free(y[t]); free(dx[t]); free(dw[t]); free(db[t]);
    }
    free(x); free(w); free(dy); free(b);
}

/* The fcn encoder's block 1 at S = 32 (9 images so that the groups are
 * uneven); DenseNet-121's 7x7 stride-2 stem at an odd side (the last
 * window half outside), a 3x3 stride-2 and a 1x1 stride-2 case; at stride 1,
 * kernels as wide as the image or wider (the fcn's last block at S = 16 is
 * 2x2, at S = 8 1x1), whose columns fall off both sides. */
static void test_fast_vs_naive_and_threads(void **state)
{
    (void)state;
    fast_vs_naive("16->24 3x3", (DtclConvShape){.B = 9, .C = 16, .O = 24, .H = 16, .W = 16, .k = 3, .threads = 1});
    fast_vs_naive("1->8 7x7 stride 2, 13x11",
                  (DtclConvShape){.B = 5, .C = 1, .O = 8, .H = 13, .W = 11, .k = 7, .threads = 1, .stride = 2});
    fast_vs_naive("3->4 3x3 stride 2",
                  (DtclConvShape){.B = 3, .C = 3, .O = 4, .H = 8, .W = 8, .k = 3, .threads = 1, .stride = 2});
    fast_vs_naive("5->3 1x1 stride 2",
                  (DtclConvShape){.B = 2, .C = 5, .O = 3, .H = 7, .W = 6, .k = 1, .threads = 1, .stride = 2});
    /* few inputs (4 C <= O): the input gradient through columns of dx */
    fast_vs_naive("1->8 3x3", (DtclConvShape){.B = 4, .C = 1, .O = 8, .H = 9, .W = 7, .k = 3, .threads = 1});
    fast_vs_naive("2->9 5x5, 3x4", (DtclConvShape){.B = 2, .C = 2, .O = 9, .H = 3, .W = 4, .k = 5, .threads = 1});
    fast_vs_naive("1->4 3x3, 1x2", (DtclConvShape){.B = 2, .C = 1, .O = 4, .H = 1, .W = 2, .k = 3, .threads = 1});
    fast_vs_naive("4->3 3x3, 1x1", (DtclConvShape){.B = 3, .C = 4, .O = 3, .H = 1, .W = 1, .k = 3, .threads = 1});
    fast_vs_naive("3->5 3x3, 2x1", (DtclConvShape){.B = 2, .C = 3, .O = 5, .H = 2, .W = 1, .k = 3, .threads = 1});
    fast_vs_naive("2->3 5x5, 3x2", (DtclConvShape){.B = 2, .C = 2, .O = 3, .H = 3, .W = 2, .k = 5, .threads = 1});
    fast_vs_naive("2->2 7x7, 4x9", (DtclConvShape){.B = 3, .C = 2, .O = 2, .H = 4, .W = 9, .k = 7, .threads = 1});
}

/* Channel views (DenseNet's concatenation): x is channels [2, 2+C) of a
 * (B, C+5, H, W) tensor and y channels [3, 3+O) of a (B, O+4, H, W) one;
 * forward, backward and backward_data give bitwise what they give on dense
 * copies, and leave the other channels alone. */
static void test_channel_views(void **state)
{
    (void)state;
    for (int k = 1; k <= 3; k += 2) {
        DtclConvShape s = {.B = 5, .C = 6, .O = 4, .H = 5, .W = 5, .k = k, .threads = 2};
        int HW = s.H * s.W, Cw = s.C + 5, Ow = s.O + 4;
        size_t nx = (size_t)s.B * s.C * HW, ny = (size_t)s.B * s.O * HW, nw = (size_t)s.O * s.C * k * k;
        float *xw = random_tensor((size_t)s.B * Cw * HW, 5, 1), *dyw = random_tensor((size_t)s.B * Ow * HW, 6, 1);
        float *w = random_tensor(nw, 7, 0.2), *x = malloc(nx * 4), *dy = malloc(ny * 4);
        for (int b = 0; b < s.B; b++) {
            memcpy(x + (size_t)b * s.C * HW, xw + ((size_t)b * Cw + 2) * HW, sizeof(float) * s.C * HW);
            memcpy(dy + (size_t)b * s.O * HW, dyw + ((size_t)b * Ow + 3) * HW, sizeof(float) * s.O * HW);
        }
        DtclConvShape v = s;
        v.xstride = (size_t)Cw * HW;
        v.ystride = (size_t)Ow * HW;
        float *work = calloc(dtcl_conv2d_work_size(&s), 4), *y = calloc(ny, 4), *dx = calloc(nx, 4);
        float *dx2 = calloc(nx, 4), *dw = calloc(nw, 4), *dwv = calloc(nw, 4);
        float *yw = calloc((size_t)s.B * Ow * HW, 4), *dxw = calloc((size_t)s.B * Cw * HW, 4);
        float *dxw2 = calloc((size_t)s.B * Cw * HW, 4);
        dtcl_conv2d_forward(y, x, w, NULL, &s, work);
        dtcl_conv2d_backward(dx, dw, NULL, dy, x, w, &s, work);
        dtcl_conv2d_forward(yw + 3 * HW, xw + 2 * HW, w, NULL, &v, work);
        dtcl_conv2d_backward(dxw + 2 * HW, dwv, NULL, dyw + 3 * HW, xw + 2 * HW, w, &v, work);
        dtcl_conv2d_backward_data(dxw2 + 2 * HW, dyw + 3 * HW, w, &v, work);
        assert_int_equal(test_first_diff(dw, dwv, nw), -1);
        for (int b = 0; b < s.B; b++) {
            assert_int_equal(test_first_diff(y + (size_t)b * s.O * HW, yw + ((size_t)b * Ow + 3) * HW,
                                             (size_t)s.O * HW), -1);
            assert_int_equal(test_first_diff(dx + (size_t)b * s.C * HW, dxw + ((size_t)b * Cw + 2) * HW,
                                             (size_t)s.C * HW), -1);
            assert_int_equal(test_first_diff(dx + (size_t)b * s.C * HW, dxw2 + ((size_t)b * Cw + 2) * HW,
                                             (size_t)s.C * HW), -1);
            for (int c = 0; c < Ow; c++) /* untouched outside the view */
                if (c < 3 || c >= 3 + s.O)
                    for (int q = 0; q < HW; q++)
                        assert_true(yw[((size_t)b * Ow + c) * HW + q] == 0.0f);
            for (int c = 0; c < Cw; c++)
                if (c < 2 || c >= 2 + s.C)
                    for (int q = 0; q < HW; q++)
                        assert_true(dxw[((size_t)b * Cw + c) * HW + q] == 0.0f);
        }
        printf("  %dx%d on channel views: bitwise equal to dense copies\n", k, k);
        free(xw); free(dyw); free(w); free(x); free(dy); free(work); free(y); free(dx); free(dx2); free(dw);
        free(dwv); free(yw); free(dxw); free(dxw2);
    }
}

int main(void)
{
    openblas_set_num_threads(1);
    snprintf(dir, sizeof dir, "%s/ref/golden/layers", test_srcdir());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_fast_vs_naive_and_threads),
        cmocka_unit_test(test_channel_views),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
