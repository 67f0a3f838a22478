/* conv.c: nn.Conv2d ("same" padding, stride 1) by im2col and sgemm, and the
 * direct loops beside it (see conv.h). */
#include "conv.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

static int conv_groups(const DtclConvShape *s)
{
    return s->B < DTCL_CONV_GROUPS ? s->B : DTCL_CONV_GROUPS;
}

static size_t conv_rows(const DtclConvShape *s)
{
    return (size_t)s->C * s->k * s->k;
}

size_t dtcl_conv2d_work_size(const DtclConvShape *s)
{
    size_t K = conv_rows(s), HW = (size_t)s->H * s->W;
    size_t per_thread = s->k == 1 ? 0 : 2 * K * HW; /* columns and their gradient */
    return (size_t)s->threads * per_thread + (size_t)conv_groups(s) * ((size_t)s->O * K + s->O);
}

/* col (K, H W), row (c,u,v) holds x[c, i+u-p, j+v-p] with zeros outside. */
static void im2col(float *col, const float *x /* (C,H,W) */, const DtclConvShape *s)
{
    int k = s->k, p = (k - 1) / 2, H = s->H, W = s->W;
    for (int c = 0; c < s->C; c++)
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

/* dx[c, i+u-p, j+v-p] += dcol[(c,u,v), i W + j]: the transpose of im2col. */
static void col2im_add(float *dx /* (C,H,W) */, const float *dcol, const DtclConvShape *s)
{
    int k = s->k, p = (k - 1) / 2, H = s->H, W = s->W;
    for (int c = 0; c < s->C; c++)
        for (int u = 0; u < k; u++)
            for (int v = 0; v < k; v++) {
                const float *r = dcol + ((size_t)(c * k + u) * k + v) * H * W;
                int dj = v - p, j0 = dj < 0 ? -dj : 0, j1 = dj > 0 ? W - dj : W;
                for (int i = 0; i < H; i++) {
                    int si = i + u - p;
                    if (si < 0 || si >= H)
                        continue;
                    float *xi = dx + ((size_t)c * H + si) * W + dj;
                    const float *ri = r + (size_t)i * W;
                    for (int j = j0; j < j1; j++)
                        xi[j] += ri[j];
                }
            }
}

void dtcl_conv2d_forward(float *y, const float *x, const float *weight, const float *bias,
                         const DtclConvShape *s, float *work)
{
    int K = (int)conv_rows(s), HW = s->H * s->W, O = s->O;
#pragma omp parallel for schedule(static) num_threads(s->threads)
    for (int b = 0; b < s->B; b++) {
        const float *xb = x + (size_t)b * s->C * HW;
        float *yb = y + (size_t)b * O * HW;
        const float *col = xb;
        if (s->k != 1) {
            float *c = work + (size_t)omp_get_thread_num() * 2 * K * HW;
            im2col(c, xb, s);
            col = c;
        }
        for (int o = 0; o < O; o++)
            for (int q = 0; q < HW; q++)
                yb[(size_t)o * HW + q] = bias ? bias[o] : 0.0f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, HW, K, 1.0f, weight, K, col, HW, 1.0f, yb, HW);
    }
}

/* Input gradient of image b: dx_b += W^T dy_b, through columns when k > 1. */
static void conv_backward_data_image(float *dxb, const float *dyb, const float *weight, const DtclConvShape *s,
                                     float *dcol)
{
    int K = (int)conv_rows(s), HW = s->H * s->W;
    if (s->k == 1) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, HW, s->O, 1.0f, weight, K, dyb, HW, 1.0f, dxb, HW);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, HW, s->O, 1.0f, weight, K, dyb, HW, 0.0f, dcol, HW);
    col2im_add(dxb, dcol, s);
}

void dtcl_conv2d_backward(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                          const float *weight, const DtclConvShape *s, float *work)
{
    /* forward: y_b = W col(x_b) + bias */
    int K = (int)conv_rows(s), HW = s->H * s->W, O = s->O, G = conv_groups(s);
    size_t per_thread = s->k == 1 ? 0 : 2 * (size_t)K * HW;
    float *part = work + (size_t)s->threads * per_thread; /* (G, O*K + O) */
    size_t part_len = (size_t)O * K + O;
#pragma omp parallel for schedule(static) num_threads(s->threads)
    for (int g = 0; g < G; g++) {
        float *col = work + (size_t)omp_get_thread_num() * per_thread, *dcol = col + (size_t)K * HW;
        float *dw = part + g * part_len, *db = dw + (size_t)O * K;
        memset(dw, 0, sizeof(float) * part_len);
        for (int b = g * s->B / G; b < (g + 1) * s->B / G; b++) {
            const float *xb = x + (size_t)b * s->C * HW, *dyb = dy + (size_t)b * O * HW;
            const float *cb = xb;
            if (s->k != 1) {
                im2col(col, xb, s);
                cb = col;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, K, HW, 1.0f, dyb, HW, cb, HW, 1.0f, dw, K);
            if (dbias)
                for (int o = 0; o < O; o++) {
                    double t = 0;
                    for (int q = 0; q < HW; q++)
                        t += dyb[(size_t)o * HW + q];
                    db[o] += (float)t;
                }
            if (dx)
                conv_backward_data_image(dx + (size_t)b * s->C * HW, dyb, weight, s, dcol);
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
    int K = (int)conv_rows(s), HW = s->H * s->W;
    size_t per_thread = s->k == 1 ? 0 : 2 * (size_t)K * HW;
#pragma omp parallel for schedule(static) num_threads(s->threads)
    for (int b = 0; b < s->B; b++) {
        float *dcol = work + (size_t)omp_get_thread_num() * per_thread + (size_t)K * HW;
        conv_backward_data_image(dx + (size_t)b * s->C * HW, dy + (size_t)b * s->O * HW, weight, s, dcol);
    }
}

void dtcl_conv2d_forward_naive(float *y, const float *x, const float *weight, const float *bias,
                               const DtclConvShape *s)
{
    int k = s->k, p = (k - 1) / 2, H = s->H, W = s->W, C = s->C;
    for (int b = 0; b < s->B; b++)
        for (int o = 0; o < s->O; o++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    double t = bias ? bias[o] : 0.0;
                    for (int c = 0; c < C; c++)
                        for (int u = 0; u < k; u++)
                            for (int v = 0; v < k; v++) {
                                int si = i + u - p, sj = j + v - p;
                                if (si >= 0 && si < H && sj >= 0 && sj < W)
                                    t += (double)weight[((o * C + c) * k + u) * k + v] *
                                         x[(((size_t)b * C + c) * H + si) * W + sj];
                            }
                    y[(((size_t)b * s->O + o) * H + i) * W + j] = (float)t;
                }
}

void dtcl_conv2d_backward_naive(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                                const float *weight, const DtclConvShape *s)
{
    /* forward: y[b,o,i,j] = bias[o] + sum_{c,u,v} w[o,c,u,v] x[b,c,i+u-p,j+v-p] */
    int k = s->k, p = (k - 1) / 2, H = s->H, W = s->W, C = s->C, O = s->O;
    for (int o = 0; o < O; o++) {
        if (dbias) {
            double t = 0;
            for (int b = 0; b < s->B; b++)
                for (int q = 0; q < H * W; q++)
                    t += dy[((size_t)b * O + o) * H * W + q];
            dbias[o] += (float)t;
        }
        for (int c = 0; c < C; c++)
            for (int u = 0; u < k; u++)
                for (int v = 0; v < k; v++) {
                    double t = 0;
                    for (int b = 0; b < s->B; b++)
                        for (int i = 0; i < H; i++)
                            for (int j = 0; j < W; j++) {
                                int si = i + u - p, sj = j + v - p;
                                if (si >= 0 && si < H && sj >= 0 && sj < W)
                                    t += (double)dy[(((size_t)b * O + o) * H + i) * W + j] *
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
                                int i = si - u + p, j = sj - v + p;
                                if (i >= 0 && i < H && j >= 0 && j < W)
                                    t += (double)weight[((o * C + c) * k + u) * k + v] *
                                         dy[(((size_t)b * O + o) * H + i) * W + j];
                            }
                    dx[(((size_t)b * C + c) * H + si) * W + sj] += (float)t;
                }
}
