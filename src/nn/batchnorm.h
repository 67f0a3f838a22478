/* batchnorm.h: BatchNorm2d with PyTorch's semantics (SPEC section 3), NCHW.
 * Training: batch statistics over (B,H,W) per channel, biased variance,
 *   y = gamma (x - mu) / sqrt(var + eps) + beta;
 *   running_mean = (1 - m) running_mean + m mu,
 *   running_var  = (1 - m) running_var + m var N/(N-1)  (unbiased), N = B H W,
 *   updated only when the running pointers are not NULL (the M step passes NULL:
 *   SPEC section 4 updates them in the encoder step only).
 * Evaluation: y = gamma (x - running_mean) / sqrt(running_var + eps) + beta.
 * Per-channel sums are in double, in a fixed order; OpenMP over channels. */
#ifndef DTCL_BATCHNORM_H
#define DTCL_BATCHNORM_H

#include <stddef.h>

void dtcl_batchnorm_forward_train(float *y,            /* (B,C,HW) */
                                  float *xhat,         /* (B,C,HW) saved */
                                  float *invstd,       /* (C) saved */
                                  float *running_mean, /* (C) or NULL */
                                  float *running_var,  /* (C) or NULL */
                                  const float *x,      /* (B,C,HW) */
                                  const float *gamma, const float *beta, /* (C) */
                                  int B, int C, int HW, float momentum, float eps);

void dtcl_batchnorm_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                                 const float *running_mean, const float *running_var, int B, int C, int HW,
                                 float eps);

/* dx += gamma invstd / N (N dy - sum dy - xhat sum(dy xhat)); dgamma += sum dy xhat; dbeta += sum dy. */
void dtcl_batchnorm_backward(float *dx,                  /* (B,C,HW) or NULL */
                             float *dgamma, float *dbeta, /* (C) or NULL */
                             const float *dy,            /* (B,C,HW) */
                             const float *xhat, const float *invstd, const float *gamma, int B, int C, int HW);

/* The encoder's BatchNorm followed by ReLU in one pass over the data (fcn.h):
 * forward r = max(gamma xhat + beta, 0), written once; backward reads the
 * upstream gradient dr masked by [r > 0] on the fly, as
 * dtcl_relu_backward then dtcl_batchnorm_backward would, without the
 * intermediate tensor. Same statistics, same order of summation. */
void dtcl_batchnorm_relu_forward_train(float *r, float *xhat, float *invstd, float *running_mean, float *running_var,
                                       const float *x, const float *gamma, const float *beta, int B, int C, int HW,
                                       float momentum, float eps);
void dtcl_batchnorm_relu_backward(float *dx, float *dgamma, float *dbeta,
                                  const float *dr,  /* (B,C,HW) upstream of the ReLU */
                                  const float *r,   /* (B,C,HW) the ReLU's output */
                                  const float *xhat, const float *invstd, const float *gamma, int B, int C, int HW);

/* DenseNet's BatchNorm + ReLU (densenet.h), which keeps only its input x and
 * the statistics (mean, invstd) for backward, not xhat or r: its inputs are
 * channel ranges of the block's concatenated features, already kept, and r
 * is recomputed into scratch when backward needs it. x's images lie xstride
 * floats apart (its channels HW apart); r, dr are dense (B,C,HW).
 *   stats: the batch statistics (running ones updated when not NULL) or,
 *     in evaluation, mean = running_mean, invstd = 1/sqrt(running_var + eps);
 *   apply: r = max(gamma (x - mean) invstd + beta, 0), in the same float
 *     operations as dtcl_batchnorm_relu_forward_train;
 *   backward: dx (xstride) += as dtcl_batchnorm_relu_backward, the ReLU's
 *     mask recomputed from x. */
void dtcl_batchnorm_stats(float *mean, float *invstd, float *running_mean, float *running_var, const float *x,
                          size_t xstride, int B, int C, int HW, float momentum, float eps);
void dtcl_batchnorm_stats_eval(float *mean, float *invstd, const float *running_mean, const float *running_var, int C,
                               float eps);
void dtcl_batchnorm_relu_apply(float *r, const float *x, size_t xstride, const float *mean, const float *invstd,
                               const float *gamma, const float *beta, int B, int C, int HW);
void dtcl_batchnorm_relu_backward_stats(float *dx, float *dgamma, float *dbeta, const float *dr, const float *x,
                                        size_t xstride, const float *mean, const float *invstd, const float *gamma,
                                        const float *beta, int B, int C, int HW);

#endif
