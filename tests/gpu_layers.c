/* gpu_layers.c: the CUDA twins of the elementwise layers, the pools,
 * BatchNorm, the convolution (stride, channel views), Linear, the losses and Adam
 * (src/gpu/) against their CPU files on seeded random
 * inputs, at SPEC section 9's tolerances (relative L2: forward 1e-5,
 * gradients and updated parameters 1e-4), each printing its worst element.
 * The GPU twins also run twice and must agree bitwise (no atomics, fixed
 * reduction trees). Exit 77 (skip) without a GPU; built with --enable-cuda
 * only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/activation.h"
#include "nn/adam.h"
#include "nn/batchnorm.h"
#include "nn/bce.h"
#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/nce.h"
#include "backend/device.h"
#include "gpu/activation_gpu.h"
#include "gpu/adam_gpu.h"
#include "gpu/batchnorm_gpu.h"
#include "gpu/bce_gpu.h"
#include "gpu/conv_gpu.h"
#include "gpu/linear_gpu.h"
#include "gpu/nce_gpu.h"
#include "gpu/memory_gpu.h"
#include "gpu/pool_gpu.h"
#include "nn/pool.h"
#include "base/rng.h"
#include "testutil.h"
#include "testutil_gpu.h"

#define FWD_TOL 1e-5
#define GRAD_TOL 1e-4

static float *rnd(size_t n, uint32_t item, float lo, float hi)
{
    return test_uniform(17, item, n, lo, hi);
}


static void test_activations(void **state)
{
    (void)state;
    size_t n = 100003;
    float *x = rnd(n, 1, -2, 2), *dy = rnd(n, 2, -1, 1), *y = malloc(4 * n), *dx = calloc(n, 4);
    float *dX = up(x, 4 * n), *dDY = up(dy, 4 * n), *dY = up(y, 4 * n), *dDX = up(dx, 4 * n);
    dtcl_relu_forward(y, x, n);
    dtcl_relu_forward_gpu(dY, dX, n);
    expect_device("relu forward", dY, y, n, FWD_TOL);
    dtcl_relu_backward(dx, dy, x, n);
    dtcl_relu_backward_gpu(dDX, dDY, dX, n);
    expect_device("relu backward", dDX, dx, n, GRAD_TOL);
    /* the in-place mask dy [y > 0] (the heads' backward); x stands in for y */
    float *mask = malloc(4 * n), *dM = up(dy, 4 * n);
    memcpy(mask, dy, 4 * n);
    dtcl_relu_mask(mask, x, n);
    dtcl_relu_mask_gpu(dM, dX, n);
    expect_device("relu mask", dM, mask, n, GRAD_TOL);
    free(mask);
    dtcl_gpu_free(dM);
    dtcl_logistic_forward(y, x, n);
    dtcl_logistic_forward_gpu(dY, dX, n);
    expect_device("logistic forward", dY, y, n, FWD_TOL);
    dtcl_logistic_backward(dx, dy, y, n);
    dtcl_logistic_backward_gpu(dDX, dDY, dY, n);
    expect_device("logistic backward", dDX, dx, n, GRAD_TOL);
    free(x); free(dy); free(y); free(dx);
    dtcl_gpu_free(dX); dtcl_gpu_free(dDY); dtcl_gpu_free(dY); dtcl_gpu_free(dDX);
}

static void test_adam(void **state)
{
    (void)state;
    size_t n = 50021;
    float *p = rnd(n, 3, -1, 1), *m = rnd(n, 4, -0.1f, 0.1f), *v = rnd(n, 5, 0, 0.01f), *gr = rnd(n, 6, -1, 1);
    float *dP = up(p, 4 * n), *dM = up(m, 4 * n), *dV = up(v, 4 * n), *dG = up(gr, 4 * n);
    DtclAdam a;
    dtcl_adam_default(&a, 1e-3);
    for (int64_t t = 1; t <= 3; t++) {
        dtcl_adam_step(&a, p, m, v, gr, n, t);
        dtcl_adam_step_gpu(&a, dP, dM, dV, dG, n, t);
    }
    expect_device("adam parameters after 3 steps", dP, p, n, GRAD_TOL);
    expect_device("adam v after 3 steps", dV, v, n, GRAD_TOL);
    free(p); free(m); free(v); free(gr);
    dtcl_gpu_free(dP); dtcl_gpu_free(dM); dtcl_gpu_free(dV); dtcl_gpu_free(dG);
}

static void test_pools(void **state)
{
    (void)state;
    const int B = 3, C = 5, H = 13, W = 11, Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
    size_t nx = (size_t)B * C * H * W, n2 = (size_t)B * C * (H / 2) * (W / 2), n3 = (size_t)B * C * Ho * Wo;
    float *x = rnd(nx, 7, -1, 1), *dy = rnd(nx, 8, -1, 1);
    float *dX = up(x, 4 * nx), *dDY = up(dy, 4 * nx), *dY, *dDX;
    int32_t *arg = malloc(4 * nx), *dA;
    DtclError e;
    assert_int_equal(dtcl_gpu_alloc((void **)&dY, 4 * nx, &e), 0);
    assert_int_equal(dtcl_gpu_alloc((void **)&dDX, 4 * nx, &e), 0);
    assert_int_equal(dtcl_gpu_alloc((void **)&dA, 4 * nx, &e), 0);
    float *y = malloc(4 * nx), *dx = calloc(nx, 4);
    /* max-pool 2x2 */
    dtcl_maxpool2_forward(y, arg, x, B, C, H, W);
    dtcl_maxpool2_forward_gpu(dY, dA, dX, B, C, H, W);
    expect_device("maxpool2 forward", dY, y, n2, FWD_TOL);
    dtcl_maxpool2_backward(dx, dy, arg, B, C, H, W);
    dtcl_gpu_zero(dDX, 4 * nx, &e);
    dtcl_maxpool2_backward_gpu(dDX, dDY, dA, B, C, H, W);
    expect_device("maxpool2 backward", dDX, dx, nx, GRAD_TOL);
    /* max-pool 3x3 stride 2 (overlapping windows: backward gathers) */
    dtcl_maxpool3s2_forward(y, 0, arg, x, B, C, H, W);
    dtcl_maxpool3s2_forward_gpu(dY, 0, dA, dX, B, C, H, W);
    expect_device("maxpool3s2 forward", dY, y, n3, FWD_TOL);
    memset(dx, 0, 4 * nx);
    dtcl_maxpool3s2_backward(dx, dy, 0, arg, B, C, H, W);
    dtcl_gpu_zero(dDX, 4 * nx, &e);
    dtcl_maxpool3s2_backward_gpu(dDX, dDY, 0, dA, B, C, H, W);
    expect_device("maxpool3s2 backward", dDX, dx, nx, GRAD_TOL);
    /* average pools */
    dtcl_avgpool2_forward(y, 0, x, B, C, H, W);
    dtcl_avgpool2_forward_gpu(dY, 0, dX, B, C, H, W);
    expect_device("avgpool2 forward", dY, y, n2, FWD_TOL);
    memset(dx, 0, 4 * nx);
    dtcl_avgpool2_backward(dx, dy, 0, B, C, H, W);
    dtcl_gpu_zero(dDX, 4 * nx, &e);
    dtcl_avgpool2_backward_gpu(dDX, dDY, 0, B, C, H, W);
    expect_device("avgpool2 backward", dDX, dx, nx, GRAD_TOL);
    dtcl_avgpool_forward(y, x, B, C, H * W);
    dtcl_avgpool_forward_gpu(dY, dX, B, C, H * W);
    expect_device("global avgpool forward", dY, y, (size_t)B * C, FWD_TOL);
    memset(dx, 0, 4 * nx);
    dtcl_avgpool_backward(dx, dy, B, C, H * W);
    dtcl_gpu_zero(dDX, 4 * nx, &e);
    dtcl_avgpool_backward_gpu(dDX, dDY, B, C, H * W);
    expect_device("global avgpool backward", dDX, dx, nx, GRAD_TOL);
    free(x); free(dy); free(y); free(dx); free(arg);
    dtcl_gpu_free(dX); dtcl_gpu_free(dDY); dtcl_gpu_free(dY); dtcl_gpu_free(dDX); dtcl_gpu_free(dA);
}

static void test_batchnorm(void **state)
{
    (void)state;
    const int B = 6, C = 7, HW = 37;
    size_t n = (size_t)B * C * HW;
    float *x = rnd(n, 9, -2, 3), *dy = rnd(n, 10, -1, 1), *gam = rnd(C, 11, 0.5f, 1.5f), *bet = rnd(C, 12, -0.5f, 0.5f);
    float *rm = rnd(C, 13, -0.1f, 0.1f), *rv = rnd(C, 14, 0.5f, 1.5f);
    float *dX = up(x, 4 * n), *dDY = up(dy, 4 * n), *dG = up(gam, 4 * C), *dB = up(bet, 4 * C);
    float *dRM = up(rm, 4 * C), *dRV = up(rv, 4 * C);
    float *y = malloc(4 * n), *xh = malloc(4 * n), *is = malloc(4 * C), *dx = calloc(n, 4), *dga = calloc(C, 4);
    float *dbe = calloc(C, 4);
    float *dY = up(y, 4 * n), *dXH = up(xh, 4 * n), *dIS = up(is, 4 * C), *dDX = up(dx, 4 * n);
    float *dDGA = up(dga, 4 * C), *dDBE = up(dbe, 4 * C);
    dtcl_batchnorm_relu_forward_train(y, xh, is, rm, rv, x, gam, bet, B, C, HW, 0.1f, 1e-5f);
    dtcl_batchnorm_relu_forward_train_gpu(dY, dXH, dIS, dRM, dRV, dX, dG, dB, B, C, HW, 0.1f, 1e-5f);
    expect_device("batchnorm+relu forward (train)", dY, y, n, FWD_TOL);
    expect_device("batchnorm running_var", dRV, rv, C, FWD_TOL);
    dtcl_batchnorm_relu_backward(dx, dga, dbe, dy, y, xh, is, gam, B, C, HW);
    dtcl_batchnorm_relu_backward_gpu(dDX, dDGA, dDBE, dDY, dY, dXH, dIS, dG, B, C, HW);
    expect_device("batchnorm+relu dx", dDX, dx, n, GRAD_TOL);
    expect_device("batchnorm+relu dgamma", dDGA, dga, C, GRAD_TOL);
    /* the same again: bitwise the same on the GPU */
    float *first = down(dDX, n);
    dtcl_gpu_zero(dDX, 4 * n, NULL);
    dtcl_batchnorm_relu_backward_gpu(dDX, NULL, NULL, dDY, dY, dXH, dIS, dG, B, C, HW);
    float *again = down(dDX, n);
    assert_int_equal(test_first_diff(first, again, n), -1);
    printf("  batchnorm+relu dx: two GPU runs bitwise equal\n");
    free(first); free(again);
    /* evaluation */
    dtcl_batchnorm_forward_eval(y, x, gam, bet, rm, rv, B, C, HW, 1e-5f);
    dtcl_batchnorm_forward_eval_gpu(dY, dX, dG, dB, dRM, dRV, B, C, HW, 1e-5f);
    expect_device("batchnorm forward (eval)", dY, y, n, FWD_TOL);
    /* from kept statistics, on a channel view (DenseNet): channels [0, C-2) of x */
    int Cv = C - 2;
    size_t nv = (size_t)B * Cv * HW, xs = (size_t)C * HW;
    float *mean = malloc(4 * C), *dMEAN = up(mean, 4 * C), *r = malloc(4 * nv), *dR = up(r, 4 * nv);
    float *dxv = calloc(n, 4), *dDXV = up(dxv, 4 * n);
    dtcl_batchnorm_stats(mean, is, NULL, NULL, x, xs, B, Cv, HW, 0.1f, 1e-5f);
    dtcl_batchnorm_stats_gpu(dMEAN, dIS, NULL, NULL, dX, xs, B, Cv, HW, 0.1f, 1e-5f);
    dtcl_batchnorm_relu_apply(r, x, xs, mean, is, gam, bet, B, Cv, HW);
    dtcl_batchnorm_relu_apply_gpu(dR, dX, xs, dMEAN, dIS, dG, dB, B, Cv, HW);
    expect_device("batchnorm stats + relu apply (view)", dR, r, nv, FWD_TOL);
    dtcl_batchnorm_relu_backward_stats(dxv, NULL, NULL, dy, x, xs, mean, is, gam, bet, B, Cv, HW);
    dtcl_batchnorm_relu_backward_stats_gpu(dDXV, NULL, NULL, dDY, dX, xs, dMEAN, dIS, dG, dB, B, Cv, HW);
    expect_device("batchnorm backward from statistics (view)", dDXV, dxv, n, GRAD_TOL);
    free(x); free(dy); free(gam); free(bet); free(rm); free(rv); free(y); free(xh); free(is); free(dx);
    free(dga); free(dbe); free(mean); free(r); free(dxv);
    void *dev[] = {dX, dDY, dG, dB, dRM, dRV, dY, dXH, dIS, dDX, dDGA, dDBE, dMEAN, dR, dDXV};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
        dtcl_gpu_free(dev[i]);
}

/* One convolution shape: forward, backward (all gradients) and backward_data
 * on the GPU against the CPU; x and y may be channel views (the strides). */
static void conv_case(const char *name, DtclConvShape s)
{
    int Ho = dtcl_conv2d_out(&s, s.H), Wo = dtcl_conv2d_out(&s, s.W);
    size_t xs = s.xstride ? s.xstride : (size_t)s.C * s.H * s.W, ys = s.ystride ? s.ystride : (size_t)s.O * Ho * Wo;
    size_t nx = (size_t)s.B * xs, ny = (size_t)s.B * ys, nw = (size_t)s.O * s.C * s.k * s.k;
    float *x = rnd(nx, 20, -1, 1), *w = rnd(nw, 21, -0.2f, 0.2f), *bias = rnd(s.O, 22, -0.1f, 0.1f);
    float *dy = rnd(ny, 23, -1, 1), *y = calloc(ny, 4), *dx = calloc(nx, 4), *dw = calloc(nw, 4), *db = calloc(s.O, 4);
    float *dx2 = calloc(nx, 4);
    float *work = calloc(dtcl_conv2d_work_size(&s), 4);
    dtcl_conv2d_forward(y, x, w, bias, &s, work);
    dtcl_conv2d_backward(dx, dw, db, dy, x, w, &s, work);
    dtcl_conv2d_backward_data(dx2, dy, w, &s, work);
    float *dX = up(x, 4 * nx), *dW = up(w, 4 * nw), *dB = up(bias, 4 * s.O), *dDY = up(dy, 4 * ny);
    float *zy = calloc(ny, 4), *zx = calloc(nx, 4), *zw = calloc(nw, 4), *zb = calloc(s.O, 4);
    float *dY = up(zy, 4 * ny), *dDX = up(zx, 4 * nx), *dDX2 = up(zx, 4 * nx), *dDW = up(zw, 4 * nw);
    float *dDB = up(zb, 4 * s.O), *dWork;
    DtclError e;
    assert_int_equal(dtcl_gpu_alloc((void **)&dWork, 4 * dtcl_conv2d_work_size_gpu(&s), &e), 0);
    dtcl_conv2d_forward_gpu(dY, dX, dW, dB, &s, dWork);
    dtcl_conv2d_backward_gpu(dDX, dDW, dDB, dDY, dX, dW, &s, dWork);
    dtcl_conv2d_backward_data_gpu(dDX2, dDY, dW, &s, dWork);
    char what[128];
    const struct { const char *part; float *dev, *cpu; size_t n; double tol; } c[5] = {
        {"y", dY, y, ny, FWD_TOL}, {"dx", dDX, dx, nx, GRAD_TOL}, {"dweight", dDW, dw, nw, GRAD_TOL},
        {"dbias", dDB, db, (size_t)s.O, GRAD_TOL}, {"dx (data only)", dDX2, dx2, nx, GRAD_TOL}};
    for (int k = 0; k < 5; k++) {
        snprintf(what, sizeof what, "conv %s %s", name, c[k].part);
        expect_device(what, c[k].dev, c[k].cpu, c[k].n, c[k].tol);
    }
    free(x); free(w); free(bias); free(dy); free(y); free(dx); free(dw); free(db); free(dx2); free(work);
    free(zy); free(zx); free(zw); free(zb);
    void *dev[] = {dX, dW, dB, dDY, dY, dDX, dDX2, dDW, dDB, dWork};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
        dtcl_gpu_free(dev[i]);
}

static void test_conv(void **state)
{
    (void)state;
    conv_case("3x3", (DtclConvShape){.B = 3, .C = 4, .O = 5, .H = 9, .W = 9, .k = 3, .threads = 1});
    conv_case("7x7 stride 2, 13x11",
              (DtclConvShape){.B = 2, .C = 1, .O = 6, .H = 13, .W = 11, .k = 7, .threads = 1, .stride = 2});
    conv_case("1x1 on channel views", (DtclConvShape){.B = 2, .C = 6, .O = 4, .H = 5, .W = 5, .k = 1, .threads = 1,
                                                      .xstride = 9 * 25, .ystride = 6 * 25});
    conv_case("3x3 into a channel view", (DtclConvShape){.B = 2, .C = 8, .O = 3, .H = 6, .W = 6, .k = 3,
                                                          .threads = 1, .ystride = 7 * 36});
}

static void test_linear(void **state)
{
    (void)state;
    const int B = 9, nin = 37, nout = 23;
    size_t nx = (size_t)B * nin, ny = (size_t)B * nout, nw = (size_t)nout * nin;
    float *x = rnd(nx, 40, -1, 1), *w = rnd(nw, 41, -0.3f, 0.3f), *b = rnd(nout, 42, -0.1f, 0.1f);
    float *dy = rnd(ny, 43, -1, 1), *y = malloc(4 * ny), *dx = calloc(nx, 4), *dw = calloc(nw, 4), *db = calloc(nout, 4);
    float *dX = up(x, 4 * nx), *dW = up(w, 4 * nw), *dB = up(b, 4 * nout), *dDY = up(dy, 4 * ny);
    float *dY = up(y, 4 * ny), *dDX = up(dx, 4 * nx), *dDW = up(dw, 4 * nw), *dDB = up(db, 4 * nout);
    dtcl_linear_forward(y, x, w, b, B, nin, nout);
    dtcl_linear_backward(dx, dw, db, dy, x, w, B, nin, nout);
    dtcl_linear_forward_gpu(dY, dX, dW, dB, B, nin, nout);
    dtcl_linear_backward_gpu(dDX, dDW, dDB, dDY, dX, dW, B, nin, nout);
    const struct { const char *what; float *dev, *cpu; size_t n; double tol; } c[4] = {
        {"linear y", dY, y, ny, FWD_TOL}, {"linear dx", dDX, dx, nx, GRAD_TOL},
        {"linear dweight", dDW, dw, nw, GRAD_TOL}, {"linear dbias", dDB, db, (size_t)nout, GRAD_TOL}};
    for (int k = 0; k < 4; k++) {
        expect_device(c[k].what, c[k].dev, c[k].cpu, c[k].n, c[k].tol);
    }
    free(x); free(w); free(b); free(dy); free(y); free(dx); free(dw); free(db);
    void *dev[] = {dX, dW, dB, dDY, dY, dDX, dDW, dDB};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
        dtcl_gpu_free(dev[i]);
}

/* Every kind of contrastive loss and similarity, and BCE: the loss within
 * 1e-9 relative, the gradients within 1e-4 (relative L2). */
static void test_losses(void **state)
{
    (void)state;
    const int B = 12, D = 16;
    size_t n = (size_t)B * D;
    float *zm = rnd(n, 30, -1, 1), *z = rnd(n, 31, -1, 1), *logit = rnd(B, 32, -3, 3);
    static const int8_t labels[12] = {0, 1, -1, 1, 0, 0, -1, 1, 1, -1, 0, 1};
    float *dZM = up(zm, 4 * n), *dZ = up(z, 4 * n), *dL = up(logit, 4 * B), *dG, *dGM, *dGL;
    void *work;
    DtclError e;
    size_t ws = dtcl_nce_work_size_gpu(B, D) + dtcl_bce_work_size_gpu(B);
    assert_int_equal(dtcl_gpu_alloc(&work, ws, &e), 0);
    assert_int_equal(dtcl_gpu_alloc((void **)&dG, 4 * n, &e), 0);
    assert_int_equal(dtcl_gpu_alloc((void **)&dGM, 4 * n, &e), 0);
    assert_int_equal(dtcl_gpu_alloc((void **)&dGL, 4 * B, &e), 0);
    static const struct { DtclNceKind kind; DtclSimilarity sim; double tau; const char *name; } k[4] = {
        {DTCL_NCE_PAPER, DTCL_SIM_DOT, 1.0, "paper, dot"}, {DTCL_NCE_PAPER, DTCL_SIM_COSINE, 0.5, "paper, cosine"},
        {DTCL_NCE_SIMCLR, DTCL_SIM_COSINE, 0.5, "NT-Xent"}, {DTCL_NCE_SUPCON, DTCL_SIM_COSINE, 0.5, "SupCon"}};
    for (int i = 0; i < 4; i++) {
        DtclNce c = {k[i].kind, k[i].sim, k[i].tau};
        float *gm = calloc(n, 4), *g = calloc(n, 4);
        double lc = dtcl_nce_forward_backward(&c, gm, g, zm, z, labels, B, D);
        dtcl_gpu_zero(dGM, 4 * n, &e);
        dtcl_gpu_zero(dG, 4 * n, &e);
        double lg = dtcl_nce_forward_backward_gpu(&c, dGM, dG, dZM, dZ, labels, B, D, work);
        printf("  %-14s loss cpu %.17g gpu %.17g\n", k[i].name, lc, lg);
        assert_true(fabs(lg - lc) <= 1e-9 * fabs(lc));
        char what[64];
        snprintf(what, sizeof what, "%s dL/dzm", k[i].name);
        expect_device(what, dGM, gm, n, GRAD_TOL);
        snprintf(what, sizeof what, "%s dL/dz", k[i].name);
        expect_device(what, dG, g, n, GRAD_TOL);
        free(gm);
        free(g);
    }
    float *gl = calloc(B, 4);
    double lc = dtcl_bce_forward_backward(gl, logit, labels, NULL, B);
    dtcl_gpu_zero(dGL, 4 * B, &e);
    double lg = dtcl_bce_forward_backward_gpu(dGL, dL, labels, NULL, B, (char *)work + dtcl_nce_work_size_gpu(B, D));
    printf("  BCE            loss cpu %.17g gpu %.17g\n", lc, lg);
    assert_true(fabs(lg - lc) <= 1e-9 * fabs(lc));
    expect_device("BCE dL/dx", dGL, gl, B, GRAD_TOL);
    free(gl); free(zm); free(z); free(logit);
    void *dev[] = {dZM, dZ, dL, dG, dGM, dGL, work};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
        dtcl_gpu_free(dev[i]);
}

int main(void)
{
    TEST_GPU_SKIP_WITHOUT_DEVICE();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_losses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
