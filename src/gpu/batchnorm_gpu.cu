/* batchnorm_gpu.cu: BatchNorm2d on the GPU, the twins of batchnorm.c (see
 * batchnorm_gpu.h). Blocks of THREADS threads, one per channel; element e
 * of a channel is (b, q) = (e / HW, e % HW), thread t takes e = t, t + THREADS, ... */
#include <math.h>

#include "gpu/batchnorm_gpu.h"
#include "gpu/launch_gpu.h"

#define THREADS DTCL_GPU_THREADS

__device__ static size_t at(int c, size_t e, int HW, size_t xs)
{
    return (e / HW) * xs + (size_t)c * HW + e % HW;
}

/* mean and 1/sqrt(var + eps) of channel blockIdx.x (biased variance about the mean, two passes) */
__device__ static void channel_stats(const float *x, size_t xs, int B, int HW, float eps, double *sh, double *mu_out,
                                     double *var_out, double *is_out)
{
    int c = blockIdx.x;
    size_t N = (size_t)B * HW;
    double s = 0;
    for (size_t e = threadIdx.x; e < N; e += THREADS)
        s += x[at(c, e, HW, xs)];
    double mu = dtcl_gpu_block_sum(s, sh) / (double)N;
    double s2 = 0;
    for (size_t e = threadIdx.x; e < N; e += THREADS) {
        double d = x[at(c, e, HW, xs)] - mu;
        s2 += d * d;
    }
    double var = dtcl_gpu_block_sum(s2, sh) / (double)N;
    *mu_out = mu;
    *var_out = var;
    *is_out = 1.0 / sqrt(var + eps);
}

__device__ static void update_running(float *rm, float *rv, int c, double mu, double var, double N, float momentum)
{
    if (threadIdx.x == 0 && rm && rv) {
        rm[c] = (float)((1.0 - momentum) * rm[c] + momentum * mu);
        rv[c] = (float)((1.0 - momentum) * rv[c] + momentum * var * N / (N > 1 ? N - 1 : 1));
    }
}

__global__ static void forward_train(float *y, float *xhat, float *invstd, float *rm, float *rv, const float *x,
                                     const float *gamma, const float *beta, int B, int C, int HW, float momentum,
                                     float eps, int relu)
{
    __shared__ double sh[THREADS];
    int c = blockIdx.x;
    size_t N = (size_t)B * HW, xs = (size_t)C * HW;
    double mu, var, is;
    channel_stats(x, xs, B, HW, eps, sh, &mu, &var, &is);
    if (threadIdx.x == 0)
        invstd[c] = (float)is;
    float fmu = (float)mu, fis = (float)is, g = gamma[c], be = beta[c];
    for (size_t e = threadIdx.x; e < N; e += THREADS) {
        size_t o = at(c, e, HW, xs);
        float xh = (x[o] - fmu) * fis;
        float v = g * xh + be;
        xhat[o] = xh;
        y[o] = relu && !(v > 0.0f) ? 0.0f : v;
    }
    update_running(rm, rv, c, mu, var, (double)N, momentum);
}

__global__ static void forward_eval(float *y, const float *x, const float *gamma, const float *beta, const float *rm,
                                    const float *rv, int B, int C, int HW, float eps)
{
    size_t n = (size_t)B * C * HW;
    DTCL_GPU_LOOP(e, n)
    {
        int c = (int)(e / HW % C);
        float scale = (float)(gamma[c] / sqrt((double)rv[c] + eps));
        float shift = beta[c] - rm[c] * scale;
        y[e] = x[e] * scale + shift;
    }
}

/* backward from xhat (saved) or from x and the statistics (stats = 1); the
 * fused ReLU's mask from r, or recomputed from x */
__global__ static void backward(float *dx, float *dgamma, float *dbeta, const float *dr, const float *r,
                                const float *xhat, const float *x, size_t xs, const float *mean, const float *invstd,
                                const float *gamma, const float *beta, int B, int C, int HW, int relu)
{
    __shared__ double sh[THREADS];
    int c = blockIdx.x;
    size_t N = (size_t)B * HW, ds = (size_t)C * HW;
    float fmu = mean ? mean[c] : 0.0f, fis = invstd[c], ga = gamma[c], be = beta ? beta[c] : 0.0f;
    double a = 0, a2 = 0;
    for (size_t e = threadIdx.x; e < N; e += THREADS) {
        size_t o = at(c, e, HW, ds);
        float xh = x ? (x[at(c, e, HW, xs)] - fmu) * fis : xhat[o];
        float mask = !relu ? 1.0f : x ? (float)(ga * xh + be > 0.0f) : (float)(r[o] > 0.0f);
        float g = dr[o] * mask;
        a += g;
        a2 += (double)g * xh;
    }
    double sdy = dtcl_gpu_block_sum(a, sh), sdyx = dtcl_gpu_block_sum(a2, sh);
    if (threadIdx.x == 0) {
        if (dgamma)
            dgamma[c] += (float)sdyx;
        if (dbeta)
            dbeta[c] += (float)sdy;
    }
    if (!dx)
        return;
    float k = (float)((double)ga * fis), m1 = (float)(sdy / (double)N), m2 = (float)(sdyx / (double)N);
    size_t dxs = x ? xs : ds;
    for (size_t e = threadIdx.x; e < N; e += THREADS) {
        size_t o = at(c, e, HW, ds);
        float xh = x ? (x[at(c, e, HW, xs)] - fmu) * fis : xhat[o];
        float mask = !relu ? 1.0f : x ? (float)(ga * xh + be > 0.0f) : (float)(r[o] > 0.0f);
        dx[at(c, e, HW, dxs)] += k * (dr[o] * mask - m1 - xh * m2);
    }
}

__global__ static void stats(float *mean, float *invstd, float *rm, float *rv, const float *x, size_t xs, int B, int HW,
                             float momentum, float eps)
{
    __shared__ double sh[THREADS];
    int c = blockIdx.x;
    double mu, var, is;
    channel_stats(x, xs, B, HW, eps, sh, &mu, &var, &is);
    if (threadIdx.x == 0) {
        mean[c] = (float)mu;
        invstd[c] = (float)is;
    }
    update_running(rm, rv, c, mu, var, (double)B * HW, momentum);
}

__global__ static void stats_eval(float *mean, float *invstd, const float *rm, const float *rv, int C, float eps)
{
    DTCL_GPU_LOOP(c, (size_t)C)
    {
        mean[c] = rm[c];
        invstd[c] = (float)(1.0 / sqrt((double)rv[c] + eps));
    }
}

__global__ static void relu_apply(float *r, const float *x, size_t xs, const float *mean, const float *invstd,
                                  const float *gamma, const float *beta, int B, int C, int HW)
{
    size_t n = (size_t)B * C * HW;
    DTCL_GPU_LOOP(e, n)
    {
        size_t b = e / ((size_t)C * HW);
        int c = (int)(e / HW % C);
        float v = gamma[c] * ((x[b * xs + e % ((size_t)C * HW)] - mean[c]) * invstd[c]) + beta[c];
        r[e] = v > 0.0f ? v : 0.0f;
    }
}

extern "C" void dtcl_batchnorm_forward_train_gpu(float *y, float *xhat, float *invstd, float *running_mean,
                                                 float *running_var, const float *x, const float *gamma,
                                                 const float *beta, int B, int C, int HW, float momentum, float eps)
{
    DTCL_LAUNCH(forward_train, C, THREADS, y, xhat, invstd, running_mean, running_var, x, gamma, beta, B, C, HW,
                momentum, eps, 0);
}

extern "C" void dtcl_batchnorm_relu_forward_train_gpu(float *r, float *xhat, float *invstd, float *running_mean,
                                                      float *running_var, const float *x, const float *gamma,
                                                      const float *beta, int B, int C, int HW, float momentum,
                                                      float eps)
{
    DTCL_LAUNCH(forward_train, C, THREADS, r, xhat, invstd, running_mean, running_var, x, gamma, beta, B, C, HW,
                momentum, eps, 1);
}

extern "C" void dtcl_batchnorm_forward_eval_gpu(float *y, const float *x, const float *gamma, const float *beta,
                                                const float *running_mean, const float *running_var, int B, int C,
                                                int HW, float eps)
{
    DTCL_LAUNCH(forward_eval, dtcl_gpu_blocks((size_t)B * C * HW), DTCL_GPU_THREADS, y, x, gamma, beta, running_mean,
                running_var, B, C, HW, eps);
}

extern "C" void dtcl_batchnorm_backward_gpu(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                                            const float *invstd, const float *gamma, int B, int C, int HW)
{
    DTCL_LAUNCH(backward, C, THREADS, dx, dgamma, dbeta, dy, NULL, xhat, NULL, 0, NULL, invstd, gamma, NULL, B, C, HW,
                0);
}

extern "C" void dtcl_batchnorm_relu_backward_gpu(float *dx, float *dgamma, float *dbeta, const float *dr,
                                                 const float *r, const float *xhat, const float *invstd,
                                                 const float *gamma, int B, int C, int HW)
{
    DTCL_LAUNCH(backward, C, THREADS, dx, dgamma, dbeta, dr, r, xhat, NULL, 0, NULL, invstd, gamma, NULL, B, C, HW, 1);
}

extern "C" void dtcl_batchnorm_stats_gpu(float *mean, float *invstd, float *running_mean, float *running_var,
                                         const float *x, size_t xstride, int B, int C, int HW, float momentum,
                                         float eps)
{
    DTCL_LAUNCH(stats, C, THREADS, mean, invstd, running_mean, running_var, x, xstride, B, HW, momentum, eps);
}

extern "C" void dtcl_batchnorm_stats_eval_gpu(float *mean, float *invstd, const float *running_mean,
                                              const float *running_var, int C, float eps)
{
    DTCL_LAUNCH(stats_eval, dtcl_gpu_blocks((size_t)C), DTCL_GPU_THREADS, mean, invstd, running_mean, running_var, C,
                eps);
}

extern "C" void dtcl_batchnorm_relu_apply_gpu(float *r, const float *x, size_t xstride, const float *mean,
                                              const float *invstd, const float *gamma, const float *beta, int B, int C,
                                              int HW)
{
    DTCL_LAUNCH(relu_apply, dtcl_gpu_blocks((size_t)B * C * HW), DTCL_GPU_THREADS, r, x, xstride, mean, invstd, gamma,
                beta, B, C, HW);
}

extern "C" void dtcl_batchnorm_relu_backward_stats_gpu(float *dx, float *dgamma, float *dbeta, const float *dr,
                                                       const float *x, size_t xstride, const float *mean,
                                                       const float *invstd, const float *gamma, const float *beta,
                                                       int B, int C, int HW)
{
    DTCL_LAUNCH(backward, C, THREADS, dx, dgamma, dbeta, dr, NULL, NULL, x, xstride, mean, invstd, gamma, beta, B, C,
                HW, 1);
}
