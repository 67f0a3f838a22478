/* pool.c: 2x2 max-pooling and global average pooling (see pool.h). */
#include "pool.h"

#include <stddef.h>

void dtcl_maxpool2_forward(float *y, int32_t *argmax, const float *x, int B, int C, int H, int W)
{
    int Ho = H / 2, Wo = W / 2;
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * C; bc++) {
        const float *p = x + (size_t)bc * H * W;
        for (int i = 0; i < Ho; i++)
            for (int j = 0; j < Wo; j++) {
                int best = (2 * i) * W + 2 * j;
                float m = p[best];
                for (int di = 0; di < 2; di++)
                    for (int dj = 0; dj < 2; dj++) {
                        int k = (2 * i + di) * W + 2 * j + dj;
                        if (p[k] > m || p[k] != p[k]) { /* NaN propagates, as PyTorch */
                            m = p[k];
                            best = k;
                        }
                    }
                size_t o = (size_t)bc * Ho * Wo + (size_t)i * Wo + j;
                y[o] = m;
                argmax[o] = best;
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
