/* batchnorm_gpu.h: the CUDA twins of batchnorm.h (device pointers, the same
 * argument order and semantics). One block per channel; each channel's sums
 * are in double, each thread over a fixed stride of the (B, HW) elements and
 * the threads' sums added by a fixed tree: the same bits on every run
 * (not the CPU's: its lanes add in another order; SPEC section 9's
 * tolerances apply). */
#ifndef DTCL_BATCHNORM_GPU_H
#define DTCL_BATCHNORM_GPU_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void dtcl_batchnorm_forward_train_gpu(float *y, float *xhat, float *invstd, float *running_mean, float *running_var,
                                      const float *x, const float *gamma, const float *beta, int B, int C, int HW,
                                      float momentum, float eps);
void dtcl_batchnorm_forward_eval_gpu(float *y, const float *x, const float *gamma, const float *beta,
                                     const float *running_mean, const float *running_var, int B, int C, int HW,
                                     float eps);
void dtcl_batchnorm_backward_gpu(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                                 const float *invstd, const float *gamma, int B, int C, int HW);
void dtcl_batchnorm_relu_forward_train_gpu(float *r, float *xhat, float *invstd, float *running_mean,
                                           float *running_var, const float *x, const float *gamma, const float *beta,
                                           int B, int C, int HW, float momentum, float eps);
void dtcl_batchnorm_relu_backward_gpu(float *dx, float *dgamma, float *dbeta, const float *dr, const float *r,
                                      const float *xhat, const float *invstd, const float *gamma, int B, int C,
                                      int HW);
void dtcl_batchnorm_stats_gpu(float *mean, float *invstd, float *running_mean, float *running_var, const float *x,
                              size_t xstride, int B, int C, int HW, float momentum, float eps);
void dtcl_batchnorm_stats_eval_gpu(float *mean, float *invstd, const float *running_mean, const float *running_var,
                                   int C, float eps);
void dtcl_batchnorm_relu_apply_gpu(float *r, const float *x, size_t xstride, const float *mean, const float *invstd,
                                   const float *gamma, const float *beta, int B, int C, int HW);
void dtcl_batchnorm_relu_backward_stats_gpu(float *dx, float *dgamma, float *dbeta, const float *dr, const float *x,
                                            size_t xstride, const float *mean, const float *invstd,
                                            const float *gamma, const float *beta, int B, int C, int HW);

#ifdef __cplusplus
}
#endif

#endif
