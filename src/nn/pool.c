/* pool.c: max-pooling (2x2; 3x3 stride 2), average pooling (2x2; global) (see pool.h). */
#include "nn/pool.h"

#include <stddef.h>
#include <stdint.h>

/* The larger of m (at index *best) and v (at index k): v wins when it is
 * greater or NaN (NaN propagates, as in PyTorch; ties keep the first). */
static inline float pool_take(float m, float v, int32_t *best, int32_t k)
{
    int take = v > m || v != v;
    *best = take ? k : *best;
    return take ? v : m;
}

void dtcl_maxpool2_forward(float *y, int32_t *argmax, const float *x, int B, int C, int H, int W)
{
    int Ho = H / 2, Wo = W / 2;
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        const float *p = x + (size_t)bc * H * W;
        float *yb = y + (size_t)bc * Ho * Wo;
        int32_t *ab = argmax + (size_t)bc * Ho * Wo;
        for (int i = 0; i < Ho; i++) {
            const float *r0 = p + (size_t)(2 * i) * W, *r1 = r0 + W;
            int32_t k0 = 2 * i * W;
            /* the window in the order (0,0), (0,1), (1,0), (1,1); branch-free, so that it vectorises */
#pragma omp simd
            for (int j = 0; j < Wo; j++) {
                int32_t best = k0 + 2 * j;
                float m = r0[2 * j];
                m = pool_take(m, r0[2 * j + 1], &best, k0 + 2 * j + 1);
                m = pool_take(m, r1[2 * j], &best, k0 + W + 2 * j);
                m = pool_take(m, r1[2 * j + 1], &best, k0 + W + 2 * j + 1);
                yb[(size_t)i * Wo + j] = m;
                ab[(size_t)i * Wo + j] = best;
            }
        }
    }
}

void dtcl_maxpool2_backward(float *dx, const float *dy, const int32_t *argmax, int B, int C, int H, int W)
{
    /* forward: y = x[argmax] */
    int Ho = H / 2, Wo = W / 2;
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++)
        for (int o = 0; o < Ho * Wo; o++)
            dx[(size_t)bc * H * W + argmax[(size_t)bc * Ho * Wo + o]] += dy[(size_t)bc * Ho * Wo + o];
}

void dtcl_avgpool_forward(float *y, const float *x, int B, int C, int HW)
{
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        double s = 0;
        for (int q = 0; q < HW; q++)
            s += x[(size_t)bc * HW + q];
        y[bc] = (float)(s / HW);
    }
}

void dtcl_avgpool_backward(float *dx, const float *dy, int B, int C, int HW)
{
    /* forward: y = mean over HW */
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        float g = dy[bc] / (float)HW;
        for (int q = 0; q < HW; q++)
            dx[(size_t)bc * HW + q] += g;
    }
}

void dtcl_maxpool3s2_forward(float *y, size_t ystride, int32_t *argmax, const float *x, int B, int C, int H, int W)
{
    int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
    size_t ys = ystride ? ystride : (size_t)C * Ho * Wo;
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        const float *p = x + (size_t)bc * H * W;
        float *yp = y + (size_t)(bc / C) * ys + (size_t)(bc % C) * Ho * Wo;
        int32_t *ap = argmax + (size_t)bc * Ho * Wo;
        for (int i = 0; i < Ho; i++)
            for (int j = 0; j < Wo; j++) {
                int best = -1;
                float m = 0;
                for (int si = 2 * i - 1; si <= 2 * i + 1; si++)
                    for (int sj = 2 * j - 1; sj <= 2 * j + 1; sj++) {
                        if (si < 0 || si >= H || sj < 0 || sj >= W)
                            continue; /* PyTorch pads with -inf: padding never wins */
                        int k = si * W + sj;
                        if (best < 0 || p[k] > m || p[k] != p[k]) {
                            m = p[k];
                            best = k;
                        }
                    }
                yp[i * Wo + j] = m;
                ap[i * Wo + j] = best;
            }
    }
}

void dtcl_maxpool3s2_backward(float *dx, const float *dy, size_t ystride, const int32_t *argmax, int B, int C, int H,
                              int W)
{
    /* forward: y = x[argmax] */
    int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
    size_t ys = ystride ? ystride : (size_t)C * Ho * Wo;
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        const float *dyp = dy + (size_t)(bc / C) * ys + (size_t)(bc % C) * Ho * Wo;
        const int32_t *ap = argmax + (size_t)bc * Ho * Wo;
        for (int o = 0; o < Ho * Wo; o++)
            dx[(size_t)bc * H * W + ap[o]] += dyp[o];
    }
}

void dtcl_avgpool2_forward(float *y, size_t ystride, const float *x, int B, int C, int H, int W)
{
    int Ho = H / 2, Wo = W / 2;
    size_t ys = ystride ? ystride : (size_t)C * Ho * Wo;
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        const float *p = x + (size_t)bc * H * W;
        float *yp = y + (size_t)(bc / C) * ys + (size_t)(bc % C) * Ho * Wo;
        for (int i = 0; i < Ho; i++)
            for (int j = 0; j < Wo; j++) {
                const float *a = p + (size_t)(2 * i) * W + 2 * j;
                yp[i * Wo + j] = (a[0] + a[1] + a[W] + a[W + 1]) / 4.0f;
            }
    }
}

void dtcl_avgpool2_backward(float *dx, const float *dy, size_t ystride, int B, int C, int H, int W)
{
    /* forward: y = (x00 + x01 + x10 + x11) / 4 */
    int Ho = H / 2, Wo = W / 2;
    size_t ys = ystride ? ystride : (size_t)C * Ho * Wo;
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        const float *dyp = dy + (size_t)(bc / C) * ys + (size_t)(bc % C) * Ho * Wo;
        float *d = dx + (size_t)bc * H * W;
        for (int i = 0; i < Ho; i++)
            for (int j = 0; j < Wo; j++) {
                float g = dyp[i * Wo + j] / 4.0f;
                float *a = d + (size_t)(2 * i) * W + 2 * j;
                a[0] += g;
                a[1] += g;
                a[W] += g;
                a[W + 1] += g;
            }
    }
}
