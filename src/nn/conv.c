/* conv.c: nn.Conv2d ("same" padding, any stride) by im2col and sgemm, and the
 * direct loops beside it (see conv.h). */
#include "nn/conv.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

static int conv_groups(const DtclConvShape *s)
{
    return s->B < DTCL_CONV_GROUPS ? s->B : DTCL_CONV_GROUPS;
}

static int stride_of(const DtclConvShape *s)
{
    return s->stride > 1 ? s->stride : 1;
}

int dtcl_conv2d_out(const DtclConvShape *s, int n)
{
    return (n - 1) / stride_of(s) + 1;
}

static size_t out_hw(const DtclConvShape *s)
{
    return (size_t)dtcl_conv2d_out(s, s->H) * dtcl_conv2d_out(s, s->W);
}

static size_t x_step(const DtclConvShape *s)
{
    return s->xstride ? s->xstride : (size_t)s->C * s->H * s->W;
}

static size_t y_step(const DtclConvShape *s)
{
    return s->ystride ? s->ystride : (size_t)s->O * out_hw(s);
}

static size_t conv_rows(const DtclConvShape *s)
{
    return (size_t)s->C * s->k * s->k;
}

/* Columns per thread: of x (C k k rows, Ho Wo each) or, at stride 1, of dy
 * (O k k rows, H W each). */
static size_t per_thread(const DtclConvShape *s)
{
    if (s->k == 1 && stride_of(s) == 1)
        return 0;
    if (stride_of(s) > 1)
        return conv_rows(s) * out_hw(s);
    int ch = s->C > s->O ? s->C : s->O;
    return (size_t)ch * s->k * s->k * s->H * s->W;
}

/* Layout: [threads x columns][flipped weights (C,O,k,k)][G x (dweight, dbias)] */
size_t dtcl_conv2d_work_size(const DtclConvShape *s)
{
    size_t K = conv_rows(s);
    return (size_t)s->threads * per_thread(s) + (size_t)s->O * K + (size_t)conv_groups(s) * ((size_t)s->O * K + s->O);
}

/* Strided columns: col (C k k, Ho Wo), row (c,u,v) holds x[c, s i+u-p, s j+v-p]
 * with zeros outside. */
static void im2col(float *col, const float *x, int n, const DtclConvShape *s);

static void im2col_strided(float *col, const float *x /* (C,H,W) */, const DtclConvShape *s)
{
    int k = s->k, p = (k - 1) / 2, H = s->H, W = s->W, st = stride_of(s);
    int Ho = dtcl_conv2d_out(s, H), Wo = dtcl_conv2d_out(s, W);
    for (int c = 0; c < s->C; c++)
        for (int u = 0; u < k; u++)
            for (int v = 0; v < k; v++) {
                float *r = col + ((size_t)(c * k + u) * k + v) * Ho * Wo;
                for (int i = 0; i < Ho; i++) {
                    int si = st * i + u - p;
                    for (int j = 0; j < Wo; j++) {
                        int sj = st * j + v - p;
                        r[(size_t)i * Wo + j] =
                            si < 0 || si >= H || sj < 0 || sj >= W ? 0.0f : x[((size_t)c * H + si) * W + sj];
                    }
                }
            }
}

/* The adjoint of im2col_strided: dx[c, s i+u-p, s j+v-p] += col[(c,u,v), (i,j)]. */
static void col2im_strided(float *dx, const float *col, const DtclConvShape *s)
{
    int k = s->k, p = (k - 1) / 2, H = s->H, W = s->W, st = stride_of(s);
    int Ho = dtcl_conv2d_out(s, H), Wo = dtcl_conv2d_out(s, W);
    for (int c = 0; c < s->C; c++)
        for (int u = 0; u < k; u++)
            for (int v = 0; v < k; v++) {
                const float *r = col + ((size_t)(c * k + u) * k + v) * Ho * Wo;
                for (int i = 0; i < Ho; i++) {
                    int si = st * i + u - p;
                    if (si < 0 || si >= H)
                        continue;
                    for (int j = 0; j < Wo; j++) {
                        int sj = st * j + v - p;
                        if (sj >= 0 && sj < W)
                            dx[((size_t)c * H + si) * W + sj] += r[(size_t)i * Wo + j];
                    }
                }
            }
}

/* The columns of image x_b for the forward pass and the weight gradient:
 * x_b itself (1x1, stride 1), or built in col. */
static const float *columns(float *col, const float *xb, const DtclConvShape *s)
{
    if (s->k == 1 && stride_of(s) == 1)
        return xb;
    if (stride_of(s) > 1)
        im2col_strided(col, xb, s);
    else
        im2col(col, xb, s->C, s);
    return col;
}

/* col (n k k, H W), row (c,u,v) holds x[c, i+u-p, j+v-p] with zeros outside. */
static void im2col(float *col, const float *x /* (n,H,W) */, int n, const DtclConvShape *s)
{
    int k = s->k, p = (k - 1) / 2, H = s->H, W = s->W;
    for (int c = 0; c < n; c++)
        for (int u = 0; u < k; u++)
            for (int v = 0; v < k; v++) {
                float *r = col + ((size_t)(c * k + u) * k + v) * H * W;
                int dj = v - p, j0 = dj < 0 ? -dj : 0, j1 = dj > 0 ? W - dj : W;
                for (int i = 0; i < H; i++) {
                    int si = i + u - p;
                    float *ri = r + (size_t)i * W;
                    if (si < 0 || si >= H) {
                        memset(ri, 0, sizeof(float) * W);
                        continue;
                    }
                    const float *xi = x + ((size_t)c * H + si) * W + dj;
                    for (int j = 0; j < j0; j++)
                        ri[j] = 0;
                    memcpy(ri + j0, xi + j0, sizeof(float) * (j1 - j0));
                    for (int j = j1; j < W; j++)
                        ri[j] = 0;
                }
            }
}

/* The adjoint of im2col: dx[c, i+u-p, j+v-p] += col[(c,u,v), (i,j)]. */
static void col2im(float *dx /* (n,H,W) */, const float *col, int n, const DtclConvShape *s)
{
    int k = s->k, p = (k - 1) / 2, H = s->H, W = s->W;
    for (int c = 0; c < n; c++)
        for (int u = 0; u < k; u++)
            for (int v = 0; v < k; v++) {
                const float *r = col + ((size_t)(c * k + u) * k + v) * H * W;
                int dj = v - p, j0 = dj < 0 ? -dj : 0, j1 = dj > 0 ? W - dj : W;
                for (int i = 0; i < H; i++) {
                    int si = i + u - p;
                    if (si < 0 || si >= H)
                        continue;
                    float *di = dx + ((size_t)c * H + si) * W + dj;
                    const float *ri = r + (size_t)i * W;
                    for (int j = j0; j < j1; j++)
                        di[j] += ri[j];
                }
            }
}

/* wt[c,o,u,v] = w[o,c,k-1-u,k-1-v]: the input gradient is the convolution of
 * dy with these weights, dx_b (C,HW) = wt (C, O k k) im2col(dy_b) (O k k, HW). */
static void flip_weights(float *wt, const float *w, const DtclConvShape *s)
{
    int k = s->k, C = s->C, O = s->O;
    for (int c = 0; c < C; c++)
        for (int o = 0; o < O; o++)
            for (int u = 0; u < k; u++)
                for (int v = 0; v < k; v++)
                    wt[((c * O + o) * k + u) * k + v] = w[((o * C + c) * k + (k - 1 - u)) * k + (k - 1 - v)];
}

void dtcl_conv2d_forward(float *y, const float *x, const float *weight, const float *bias,
                         const DtclConvShape *s, float *work)
{
    int K = (int)conv_rows(s), HW = (int)out_hw(s), O = s->O;
#pragma omp parallel for schedule(static) num_threads(s->threads)
    for (int b = 0; b < s->B; b++) {
        float *yb = y + (size_t)b * y_step(s);
        const float *col = columns(work + (size_t)omp_get_thread_num() * per_thread(s), x + (size_t)b * x_step(s), s);
        for (int o = 0; o < O; o++)
            for (int q = 0; q < HW; q++)
                yb[(size_t)o * HW + q] = bias ? bias[o] : 0.0f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, HW, K, 1.0f, weight, K, col, HW, 1.0f, yb, HW);
    }
}

/* The input gradient of a stride-1 k x k convolution (k > 1) goes through
 * columns of dy (O k k rows), except when x has far fewer channels than y
 * (4 C <= O: the first layers, C = 1): then through columns of dx (C k k
 * rows, O/C >= 4 times fewer), W^T dy_b, added back into dx_b. */
static int few_inputs(const DtclConvShape *s)
{
    return 4 * s->C <= s->O;
}

/* Input gradient of image b: dx_b += W^T dy_b (1x1), the convolution of dy_b
 * with the flipped weights wt through columns of dy_b (k > 1, stride 1), or
 * W^T dy_b into columns added back into dx_b (stride > 1, or few inputs). */
static void conv_backward_data_image(float *dxb, const float *dyb, const float *weight, const float *wt,
                                     const DtclConvShape *s, float *col)
{
    int K = (int)conv_rows(s), HW = (int)out_hw(s), Ko = s->O * s->k * s->k;
    if (stride_of(s) > 1 || (s->k > 1 && few_inputs(s))) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, HW, s->O, 1.0f, weight, K, dyb, HW, 0.0f, col, HW);
        if (stride_of(s) > 1)
            col2im_strided(dxb, col, s);
        else
            col2im(dxb, col, s->C, s);
    } else if (s->k == 1) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, HW, s->O, 1.0f, weight, K, dyb, HW, 1.0f, dxb, HW);
    } else {
        im2col(col, dyb, s->O, s);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->C, HW, Ko, 1.0f, wt, Ko, col, HW, 1.0f, dxb, HW);
    }
}

/* wt is needed by the path through columns of dy only. */
static int needs_flip(const DtclConvShape *s)
{
    return s->k != 1 && stride_of(s) == 1 && !few_inputs(s);
}

void dtcl_conv2d_backward(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                          const float *weight, const DtclConvShape *s, float *work)
{
    /* forward: y_b = W col(x_b) + bias */
    int K = (int)conv_rows(s), HW = (int)out_hw(s), O = s->O, G = conv_groups(s);
    float *wt = work + (size_t)s->threads * per_thread(s);
    float *part = wt + (size_t)O * K; /* (G, O*K + O) */
    size_t part_len = (size_t)O * K + O;
    if (dx && needs_flip(s))
        flip_weights(wt, weight, s);
#pragma omp parallel for schedule(static) num_threads(s->threads)
    for (int g = 0; g < G; g++) {
        float *col = work + (size_t)omp_get_thread_num() * per_thread(s);
        float *dw = part + g * part_len, *db = dw + (size_t)O * K;
        int b0 = g * s->B / G;
        for (int b = b0; b < (g + 1) * s->B / G; b++) {
            const float *dyb = dy + (size_t)b * y_step(s);
            const float *cb = columns(col, x + (size_t)b * x_step(s), s);
            /* the group's first image writes its sums (beta 0), the others add */
            float beta = b == b0 ? 0.0f : 1.0f;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, K, HW, 1.0f, dyb, HW, cb, HW, beta, dw, K);
            if (dbias)
                for (int o = 0; o < O; o++) {
                    double t = 0;
                    for (int q = 0; q < HW; q++)
                        t += dyb[(size_t)o * HW + q];
                    db[o] = (b == b0 ? 0.0f : db[o]) + (float)t;
                }
            if (dx)
                conv_backward_data_image(dx + (size_t)b * x_step(s), dyb, weight, wt, s, col);
        }
    }
    /* The group sums in group order: the same bits for any thread count. */
#pragma omp parallel for schedule(static) num_threads(s->threads)
    for (size_t e = 0; e < part_len; e++) {
        float t = 0;
        for (int g = 0; g < G; g++)
            t += part[g * part_len + e];
        if (e < (size_t)O * K)
            dweight[e] += t;
        else if (dbias)
            dbias[e - (size_t)O * K] += t;
    }
}

void dtcl_conv2d_backward_data(float *dx, const float *dy, const float *weight, const DtclConvShape *s, float *work)
{
    /* forward: y_b = W col(x_b) + bias */
    float *wt = work + (size_t)s->threads * per_thread(s);
    if (needs_flip(s))
        flip_weights(wt, weight, s);
#pragma omp parallel for schedule(static) num_threads(s->threads)
    for (int b = 0; b < s->B; b++) {
        float *col = work + (size_t)omp_get_thread_num() * per_thread(s);
        conv_backward_data_image(dx + (size_t)b * x_step(s), dy + (size_t)b * y_step(s), weight, wt, s, col);
    }
}

void dtcl_conv2d_forward_naive_d(double *y, const double *x, const double *weight, const double *bias,
                                 const DtclConvShape *s)
{
    int k = s->k, p = (k - 1) / 2, H = s->H, W = s->W, C = s->C, st = stride_of(s);
    int Ho = dtcl_conv2d_out(s, H), Wo = dtcl_conv2d_out(s, W);
    for (int b = 0; b < s->B; b++)
        for (int o = 0; o < s->O; o++)
            for (int i = 0; i < Ho; i++)
                for (int j = 0; j < Wo; j++) {
                    double t = bias ? bias[o] : 0.0;
                    for (int c = 0; c < C; c++)
                        for (int u = 0; u < k; u++)
                            for (int v = 0; v < k; v++) {
                                int si = st * i + u - p, sj = st * j + v - p;
                                if (si >= 0 && si < H && sj >= 0 && sj < W)
                                    t += weight[((o * C + c) * k + u) * k + v] *
                                         x[(((size_t)b * C + c) * H + si) * W + sj];
                            }
                    y[(((size_t)b * s->O + o) * Ho + i) * Wo + j] = t;
                }
}

static double *to_double(const float *a, size_t n)
{
    double *d = DTCL_MALLOC(sizeof(double) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        d[i] = a[i];
    return d;
}

void dtcl_conv2d_forward_naive(float *y, const float *x, const float *weight, const float *bias,
                               const DtclConvShape *s)
{
    size_t nx = (size_t)s->B * s->C * s->H * s->W, ny = (size_t)s->B * s->O * out_hw(s);
    double *xd = to_double(x, nx), *wd = to_double(weight, (size_t)s->O * s->C * s->k * s->k);
    double *bd = bias ? to_double(bias, (size_t)s->O) : NULL, *yd = DTCL_MALLOC(sizeof(double) * (ny ? ny : 1));
    dtcl_conv2d_forward_naive_d(yd, xd, wd, bd, s);
    for (size_t i = 0; i < ny; i++)
        y[i] = (float)yd[i];
    free(xd);
    free(wd);
    free(bd);
    free(yd);
}

void dtcl_conv2d_backward_naive(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                                const float *weight, const DtclConvShape *s)
{
    /* forward: y[b,o,i,j] = bias[o] + sum_{c,u,v} w[o,c,u,v] x[b,c,s i+u-p,s j+v-p] */
    int k = s->k, p = (k - 1) / 2, H = s->H, W = s->W, C = s->C, O = s->O, st = stride_of(s);
    int Ho = dtcl_conv2d_out(s, H), Wo = dtcl_conv2d_out(s, W);
    for (int o = 0; o < O; o++) {
        if (dbias) {
            double t = 0;
            for (int b = 0; b < s->B; b++)
                for (int q = 0; q < Ho * Wo; q++)
                    t += dy[((size_t)b * O + o) * Ho * Wo + q];
            dbias[o] += (float)t;
        }
        for (int c = 0; c < C; c++)
            for (int u = 0; u < k; u++)
                for (int v = 0; v < k; v++) {
                    double t = 0;
                    for (int b = 0; b < s->B; b++)
                        for (int i = 0; i < Ho; i++)
                            for (int j = 0; j < Wo; j++) {
                                int si = st * i + u - p, sj = st * j + v - p;
                                if (si >= 0 && si < H && sj >= 0 && sj < W)
                                    t += (double)dy[(((size_t)b * O + o) * Ho + i) * Wo + j] *
                                         x[(((size_t)b * C + c) * H + si) * W + sj];
                            }
                    dweight[((o * C + c) * k + u) * k + v] += (float)t;
                }
    }
    if (!dx)
        return;
    for (int b = 0; b < s->B; b++)
        for (int c = 0; c < C; c++)
            for (int si = 0; si < H; si++)
                for (int sj = 0; sj < W; sj++) {
                    double t = 0;
                    for (int o = 0; o < O; o++)
                        for (int u = 0; u < k; u++)
                            for (int v = 0; v < k; v++) {
                                int ni = si - u + p, nj = sj - v + p; /* = st i, st j */
                                if (ni < 0 || nj < 0 || ni % st || nj % st || ni / st >= Ho || nj / st >= Wo)
                                    continue;
                                t += (double)weight[((o * C + c) * k + u) * k + v] *
                                     dy[(((size_t)b * O + o) * Ho + ni / st) * Wo + nj / st];
                            }
                    dx[(((size_t)b * C + c) * H + si) * W + sj] += (float)t;
                }
}
