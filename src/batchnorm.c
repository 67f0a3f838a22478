/* batchnorm.c: BatchNorm2d forward (training, evaluation) and backward (see batchnorm.h). */
#include "batchnorm.h"

#include <math.h>
#include <stddef.h>

void dtcl_batchnorm_forward_train(float *y, float *xhat, float *invstd, float *running_mean, float *running_var,
                                  const float *x, const float *gamma, const float *beta, int B, int C, int HW,
                                  float momentum, float eps)
{
    double N = (double)B * HW;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        double s = 0, s2 = 0;
        for (int b = 0; b < B; b++) {
            const float *p = x + ((size_t)b * C + c) * HW;
            for (int q = 0; q < HW; q++)
                s += p[q];
        }
        double mu = s / N;
        for (int b = 0; b < B; b++) {
            const float *p = x + ((size_t)b * C + c) * HW;
            for (int q = 0; q < HW; q++)
                s2 += (p[q] - mu) * (p[q] - mu);
        }
        double var = s2 / N, is = 1.0 / sqrt(var + eps);
        invstd[c] = (float)is;
        for (int b = 0; b < B; b++) {
            size_t o = ((size_t)b * C + c) * HW;
            for (int q = 0; q < HW; q++) {
                float xh = (float)((x[o + q] - mu) * is);
                xhat[o + q] = xh;
                y[o + q] = gamma[c] * xh + beta[c];
            }
        }
        if (running_mean && running_var) {
            running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mu);
            running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * var * N / (N > 1 ? N - 1 : 1));
        }
    }
}

void dtcl_batchnorm_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                                 const float *running_mean, const float *running_var, int B, int C, int HW,
                                 float eps)
{
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        float scale = (float)(gamma[c] / sqrt((double)running_var[c] + eps));
        float shift = beta[c] - running_mean[c] * scale;
        for (int b = 0; b < B; b++) {
            size_t o = ((size_t)b * C + c) * HW;
            for (int q = 0; q < HW; q++)
                y[o + q] = x[o + q] * scale + shift;
        }
    }
}

void dtcl_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                             const float *invstd, const float *gamma, int B, int C, int HW)
{
    /* forward: y = gamma xhat + beta, xhat = (x - mu) invstd, with batch mu and var */
    double N = (double)B * HW;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        double sdy = 0, sdyx = 0;
        for (int b = 0; b < B; b++) {
            size_t o = ((size_t)b * C + c) * HW;
            for (int q = 0; q < HW; q++) {
                sdy += dy[o + q];
                sdyx += (double)dy[o + q] * xhat[o + q];
            }
        }
        if (dgamma)
            dgamma[c] += (float)sdyx;
        if (dbeta)
            dbeta[c] += (float)sdy;
        if (!dx)
            continue;
        double k = (double)gamma[c] * invstd[c] / N;
        for (int b = 0; b < B; b++) {
            size_t o = ((size_t)b * C + c) * HW;
            for (int q = 0; q < HW; q++)
                dx[o + q] += (float)(k * (N * dy[o + q] - sdy - xhat[o + q] * sdyx));
        }
    }
}
