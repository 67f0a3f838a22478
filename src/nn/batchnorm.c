/* batchnorm.c: BatchNorm2d forward (training, evaluation) and backward (see batchnorm.h). */
#include "nn/batchnorm.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

/* Sums in double over LANES interleaved lanes (element q goes to
 * lane q % LANES), the lanes added in order at the end: a fixed order that
 * the compiler can vectorise, the same for any thread count. */
#define LANES 8

static double lanes_total(const double *acc)
{
    double t = 0;
    for (int l = 0; l < LANES; l++)
        t += acc[l];
    return t;
}

/* acc[q % LANES] += p[q]: the mean's pass. */
static void sum_row(double *acc, const float *p, int n)
{
    int q = 0;
    for (; q + LANES <= n; q += LANES)
#pragma omp simd
        for (int l = 0; l < LANES; l++)
            acc[l] += p[q + l];
    for (int l = 0; q < n; q++, l++)
        acc[l] += p[q];
}

/* acc[q % LANES] += (p[q] - mu)^2: the variance's pass, about the mean. */
static void sumsq_row(double *acc, const float *p, int n, double mu)
{
    int q = 0;
    for (; q + LANES <= n; q += LANES)
#pragma omp simd
        for (int l = 0; l < LANES; l++) {
            double d = p[q + l] - mu;
            acc[l] += d * d;
        }
    for (int l = 0; q < n; q++, l++) {
        double d = p[q] - mu;
        acc[l] += d * d;
    }
}

/* g = dy, or dr [r > 0] with the fused ReLU, into buf; acc += g, acc2 += g xhat. */
static void sum_grad_row(double *acc, double *acc2, float *g, const float *dr, const float *r, const float *xhat,
                         int n)
{
    if (r) { /* a product, not a branch, so that the loop vectorises; dr 1 or dr 0 exactly */
#pragma omp simd
        for (int q = 0; q < n; q++)
            g[q] = dr[q] * (float)(r[q] > 0.0f);
    } else {
        for (int q = 0; q < n; q++)
            g[q] = dr[q];
    }
    int q = 0;
    for (; q + LANES <= n; q += LANES)
#pragma omp simd
        for (int l = 0; l < LANES; l++) {
            acc[l] += g[q + l];
            acc2[l] += (double)g[q + l] * xhat[q + l];
        }
    for (int l = 0; q < n; q++, l++) {
        acc[l] += g[q];
        acc2[l] += (double)g[q] * xhat[q];
    }
}

/* dgamma += sum dy xhat, dbeta += sum dy (either may be NULL) */
static void add_affine_grads(float *dgamma, float *dbeta, int c, double sdy, double sdyx)
{
    if (dgamma)
        dgamma[c] += (float)sdyx;
    if (dbeta)
        dbeta[c] += (float)sdy;
}

static void forward_train(float *y, float *xhat, float *invstd, float *running_mean, float *running_var,
                          const float *x, const float *gamma, const float *beta, int B, int C, int HW, float momentum,
                          float eps, int relu)
{
    double N = (double)B * HW;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        double a[LANES] = {0}, a2[LANES] = {0};
        for (int b = 0; b < B; b++)
            sum_row(a, x + ((size_t)b * C + c) * HW, HW);
        double mu = lanes_total(a) / N;
        for (int b = 0; b < B; b++) /* two passes: the variance about the mean */
            sumsq_row(a2, x + ((size_t)b * C + c) * HW, HW, mu);
        double var = lanes_total(a2) / N, is = 1.0 / sqrt(var + eps);
        invstd[c] = (float)is;
        float fmu = (float)mu, fis = (float)is, g = gamma[c], be = beta[c];
        for (int b = 0; b < B; b++) {
            size_t o = ((size_t)b * C + c) * HW;
#pragma omp simd
            for (int q = 0; q < HW; q++) {
                float xh = (x[o + q] - fmu) * fis;
                float v = g * xh + be;
                xhat[o + q] = xh;
                y[o + q] = relu && !(v > 0.0f) ? 0.0f : v;
            }
        }
        if (running_mean && running_var) {
            running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mu);
            running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * var * N / (N > 1 ? N - 1 : 1));
        }
    }
}

void dtcl_batchnorm_forward_train(float *y, float *xhat, float *invstd, float *running_mean, float *running_var,
                                  const float *x, const float *gamma, const float *beta, int B, int C, int HW,
                                  float momentum, float eps)
{
    forward_train(y, xhat, invstd, running_mean, running_var, x, gamma, beta, B, C, HW, momentum, eps, 0);
}

void dtcl_batchnorm_relu_forward_train(float *r, float *xhat, float *invstd, float *running_mean, float *running_var,
                                       const float *x, const float *gamma, const float *beta, int B, int C, int HW,
                                       float momentum, float eps)
{
    forward_train(r, xhat, invstd, running_mean, running_var, x, gamma, beta, B, C, HW, momentum, eps, 1);
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

/* dy_i = dr_i [r_i > 0] when r is not NULL (the fused ReLU), dr_i otherwise. */
static void backward(float *dx, float *dgamma, float *dbeta, const float *dr, const float *r, const float *xhat,
                     const float *invstd, const float *gamma, int B, int C, int HW)
{
    /* forward: y = gamma xhat + beta, xhat = (x - mu) invstd, with batch mu and var */
    double N = (double)B * HW;
#pragma omp parallel
    {
    float *g = malloc(sizeof(float) * (size_t)(HW > 0 ? HW : 1));
#pragma omp for schedule(static)
    for (int c = 0; c < C; c++) {
        double a[LANES] = {0}, a2[LANES] = {0};
        for (int b = 0; b < B; b++) {
            size_t o = ((size_t)b * C + c) * HW;
            sum_grad_row(a, a2, g, dr + o, r ? r + o : NULL, xhat + o, HW);
        }
        double sdy = lanes_total(a), sdyx = lanes_total(a2);
        add_affine_grads(dgamma, dbeta, c, sdy, sdyx);
        if (!dx)
            continue;
        /* dx = k (N dy - sum dy - xhat sum(dy xhat)), in float from double coefficients */
        float k = (float)((double)gamma[c] * invstd[c]), m1 = (float)(sdy / N), m2 = (float)(sdyx / N);
        for (int b = 0; b < B; b++) {
            size_t o = ((size_t)b * C + c) * HW;
            if (r) {
#pragma omp simd
                for (int q = 0; q < HW; q++) {
                    float gq = dr[o + q] * (float)(r[o + q] > 0.0f);
                    dx[o + q] += k * (gq - m1 - xhat[o + q] * m2);
                }
            } else {
#pragma omp simd
                for (int q = 0; q < HW; q++)
                    dx[o + q] += k * (dr[o + q] - m1 - xhat[o + q] * m2);
            }
        }
    }
    free(g);
    }
}

void dtcl_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                             const float *invstd, const float *gamma, int B, int C, int HW)
{
    backward(dx, dgamma, dbeta, dy, NULL, xhat, invstd, gamma, B, C, HW);
}

void dtcl_batchnorm_relu_backward(float *dx, float *dgamma, float *dbeta, const float *dr, const float *r,
                                  const float *xhat, const float *invstd, const float *gamma, int B, int C, int HW)
{
    /* forward: r = relu(gamma xhat + beta) */
    backward(dx, dgamma, dbeta, dr, r, xhat, invstd, gamma, B, C, HW);
}

void dtcl_batchnorm_stats(float *mean, float *invstd, float *running_mean, float *running_var, const float *x,
                          size_t xstride, int B, int C, int HW, float momentum, float eps)
{
    double N = (double)B * HW;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        double a[LANES] = {0}, a2[LANES] = {0};
        for (int b = 0; b < B; b++)
            sum_row(a, x + b * xstride + (size_t)c * HW, HW);
        double mu = lanes_total(a) / N;
        for (int b = 0; b < B; b++)
            sumsq_row(a2, x + b * xstride + (size_t)c * HW, HW, mu);
        double var = lanes_total(a2) / N;
        mean[c] = (float)mu;
        invstd[c] = (float)(1.0 / sqrt(var + eps));
        if (running_mean && running_var) {
            running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mu);
            running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * var * N / (N > 1 ? N - 1 : 1));
        }
    }
}

void dtcl_batchnorm_stats_eval(float *mean, float *invstd, const float *running_mean, const float *running_var, int C,
                               float eps)
{
    for (int c = 0; c < C; c++) {
        mean[c] = running_mean[c];
        invstd[c] = (float)(1.0 / sqrt((double)running_var[c] + eps));
    }
}

void dtcl_batchnorm_relu_apply(float *r, const float *x, size_t xstride, const float *mean, const float *invstd,
                               const float *gamma, const float *beta, int B, int C, int HW)
{
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        float fmu = mean[c], fis = invstd[c], g = gamma[c], be = beta[c];
        for (int b = 0; b < B; b++) {
            const float *xp = x + b * xstride + (size_t)c * HW;
            float *rp = r + ((size_t)b * C + c) * HW;
#pragma omp simd
            for (int q = 0; q < HW; q++) {
                float v = g * ((xp[q] - fmu) * fis) + be;
                rp[q] = v > 0.0f ? v : 0.0f;
            }
        }
    }
}

void dtcl_batchnorm_relu_backward_stats(float *dx, float *dgamma, float *dbeta, const float *dr, const float *x,
                                        size_t xstride, const float *mean, const float *invstd, const float *gamma,
                                        const float *beta, int B, int C, int HW)
{
    /* forward: r = relu(gamma xhat + beta), xhat = (x - mean) invstd, batch statistics */
    double N = (double)B * HW;
#pragma omp parallel
    {
    size_t n = (size_t)(HW > 0 ? HW : 1);
    float *buf = malloc(sizeof(float) * 3 * n), *g = buf, *xh = buf + n, *m = buf + 2 * n;
#pragma omp for schedule(static)
    for (int c = 0; c < C; c++) {
        float fmu = mean[c], fis = invstd[c], ga = gamma[c], be = beta[c];
        double a[LANES] = {0}, a2[LANES] = {0};
        for (int b = 0; b < B; b++) {
            const float *xp = x + b * xstride + (size_t)c * HW;
#pragma omp simd
            for (int q = 0; q < HW; q++)
                xh[q] = (xp[q] - fmu) * fis;
            /* the mask [r > 0] by r's own test: r = ga xh + be > 0 */
#pragma omp simd
            for (int q = 0; q < HW; q++)
                m[q] = (float)(ga * xh[q] + be > 0.0f);
            sum_grad_row(a, a2, g, dr + ((size_t)b * C + c) * HW, m, xh, HW);
        }
        double sdy = lanes_total(a), sdyx = lanes_total(a2);
        add_affine_grads(dgamma, dbeta, c, sdy, sdyx);
        if (!dx)
            continue;
        float k = (float)((double)ga * fis), m1 = (float)(sdy / N), m2 = (float)(sdyx / N);
        for (int b = 0; b < B; b++) {
            const float *xp = x + b * xstride + (size_t)c * HW, *drp = dr + ((size_t)b * C + c) * HW;
            float *dxp = dx + b * xstride + (size_t)c * HW;
#pragma omp simd
            for (int q = 0; q < HW; q++) {
                float xq = (xp[q] - fmu) * fis;
                float gq = drp[q] * (float)(ga * xq + be > 0.0f);
                dxp[q] += k * (gq - m1 - xq * m2);
            }
        }
    }
    free(buf);
    }
}
