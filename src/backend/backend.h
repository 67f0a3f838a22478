/* layer_ops.h: the layer primitives a network's layer sequence calls, as a
 * table: the CPU's (conv.c, batchnorm.c, pool.c) or their CUDA twins'
 * (src/gpu/layer_ops_gpu.cu), which have the same signatures. A network
 * whose plan holds a table (fcn.h, densenet.h, mnet.h; the heads hold theirs,
 * heads.h) runs one sequence of layers on either device; on the GPU every
 * pointer it passes is a device pointer. */
#ifndef DTCL_LAYER_OPS_H
#define DTCL_LAYER_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "nn/conv.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *device; /* "cpu" or "cuda" */
    size_t (*conv_work_size)(const DtclConvShape *s);
    void (*conv_forward)(float *y, const float *x, const float *weight, const float *bias, const DtclConvShape *s,
                         float *work);
    void (*conv_backward)(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                          const float *weight, const DtclConvShape *s, float *work);
    void (*conv_backward_data)(float *dx, const float *dy, const float *weight, const DtclConvShape *s, float *work);
    void (*bn_relu_forward_train)(float *r, float *xhat, float *invstd, float *running_mean, float *running_var,
                                  const float *x, const float *gamma, const float *beta, int B, int C, int HW,
                                  float momentum, float eps);
    void (*bn_relu_backward)(float *dx, float *dgamma, float *dbeta, const float *dr, const float *r,
                             const float *xhat, const float *invstd, const float *gamma, int B, int C, int HW);
    void (*bn_forward_eval)(float *y, const float *x, const float *gamma, const float *beta,
                            const float *running_mean, const float *running_var, int B, int C, int HW, float eps);
    void (*relu_forward)(float *y, const float *x, size_t n);
    void (*relu_backward)(float *dx, const float *dy, const float *x, size_t n);
    void (*relu_mask)(float *dy, const float *y, size_t n);
    void (*linear_forward)(float *y, const float *x, const float *weight, const float *bias, int B, int nin,
                           int nout);
    void (*linear_backward)(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                            const float *weight, int B, int nin, int nout);
    void (*logistic_forward)(float *y, const float *x, size_t n);
    void (*logistic_backward)(float *dx, const float *dy, const float *y, size_t n);
    void (*bn_stats)(float *mean, float *invstd, float *running_mean, float *running_var, const float *x,
                     size_t xstride, int B, int C, int HW, float momentum, float eps);
    void (*bn_stats_eval)(float *mean, float *invstd, const float *running_mean, const float *running_var, int C,
                          float eps);
    void (*bn_relu_apply)(float *r, const float *x, size_t xstride, const float *mean, const float *invstd,
                          const float *gamma, const float *beta, int B, int C, int HW);
    void (*bn_relu_backward_stats)(float *dx, float *dgamma, float *dbeta, const float *dr, const float *x,
                                   size_t xstride, const float *mean, const float *invstd, const float *gamma,
                                   const float *beta, int B, int C, int HW);
    void (*maxpool2_forward)(float *y, int32_t *argmax, const float *x, int B, int C, int H, int W);
    void (*maxpool2_backward)(float *dx, const float *dy, const int32_t *argmax, int B, int C, int H, int W);
    void (*maxpool3s2_forward)(float *y, size_t ystride, int32_t *argmax, const float *x, int B, int C, int H, int W);
    void (*maxpool3s2_backward)(float *dx, const float *dy, size_t ystride, const int32_t *argmax, int B, int C,
                                int H, int W);
    void (*avgpool2_forward)(float *y, size_t ystride, const float *x, int B, int C, int H, int W);
    void (*avgpool2_backward)(float *dx, const float *dy, size_t ystride, int B, int C, int H, int W);
    void (*avgpool_forward)(float *y, const float *x, int B, int C, int HW);
    void (*avgpool_backward)(float *dx, const float *dy, int B, int C, int HW);
    void (*zero)(float *a, size_t n); /* n floats of 0 */
} DtclLayerOps;

/* The CPU's primitives. */
extern const DtclLayerOps dtcl_layer_ops_cpu;

#ifdef __cplusplus
}
#endif

#endif
