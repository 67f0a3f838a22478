/* backend.h: every primitive a training step needs, as one table per device:
 * the CPU's (backend_cpu.c: the functions of nn/, transform/) and the GPU's
 * (src/gpu/backend_gpu.cu: their CUDA twins, the same signatures). A sequence
 * written once against the table (a network in nets/, the training steps in
 * train/step.c) runs on either device; dtcl_device_backend (device.h) is the
 * one place that picks a table.
 *
 * Tensors are pointers of the table's device: allocated by alloc, filled by
 * upload or by the primitives. Host arrays are marked as such below (labels,
 * the noise source, loss values, what download returns). On the GPU the
 * calls are asynchronous and record the first failure (gpu/check_gpu.h);
 * check reports it, and the steps call it after every step.
 *
 * Layers, losses and Adam are documented in their CPU files (nn/conv.h,
 * nn/batchnorm.h, nn/activation.h, nn/pool.h, nn/linear.h, nn/nce.h,
 * nn/bce.h, nn/adam.h), the transformation in transform/transform.h. */
#ifndef DTCL_BACKEND_H
#define DTCL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "nn/adam.h"
#include "nn/conv.h"
#include "nn/nce.h"
#include "nn/tensors.h"
#include "transform/transform.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct DtclBackend {
    const char *device; /* "cpu" or "cuda" */
    int host_memory;    /* 1: its tensors are host memory (the CPU's) */

    /* ---- memory and status */
    void *(*alloc)(size_t bytes, DtclError *err); /* NULL with err on failure; contents undefined */
    void (*free)(void *p);
    int (*upload)(void *dst, const void *host, size_t bytes, DtclError *err);
    int (*download)(void *host, const void *src, size_t bytes, DtclError *err);
    void (*copy)(void *dst, const void *src, size_t bytes);
    void (*zero)(float *a, size_t n);                           /* n floats of 0 */
    void (*scale)(float *y, const float *x, double s, size_t n); /* y = (float)(s x) */
    /* image i of y (n images of `per` floats) becomes alt's where keep[i] is 0 */
    void (*choose)(float *y, const float *alt, const uint8_t *keep, size_t per, int n);
    /* 0, or -1 with err naming `what` and the first failure since the last check */
    int (*check)(const char *what, DtclError *err);

    /* ---- layers */
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
    void (*bn_stats)(float *mean, float *invstd, float *running_mean, float *running_var, const float *x,
                     size_t xstride, int B, int C, int HW, float momentum, float eps);
    void (*bn_stats_eval)(float *mean, float *invstd, const float *running_mean, const float *running_var, int C,
                          float eps);
    void (*bn_relu_apply)(float *r, const float *x, size_t xstride, const float *mean, const float *invstd,
                          const float *gamma, const float *beta, int B, int C, int HW);
    void (*bn_relu_backward_stats)(float *dx, float *dgamma, float *dbeta, const float *dr, const float *x,
                                   size_t xstride, const float *mean, const float *invstd, const float *gamma,
                                   const float *beta, int B, int C, int HW);
    void (*relu_forward)(float *y, const float *x, size_t n);
    void (*relu_backward)(float *dx, const float *dy, const float *x, size_t n);
    void (*relu_mask)(float *dy, const float *y, size_t n);
    void (*logistic_forward)(float *y, const float *x, size_t n);
    void (*logistic_backward)(float *dx, const float *dy, const float *y, size_t n);
    void (*linear_forward)(float *y, const float *x, const float *weight, const float *bias, int B, int nin,
                           int nout);
    void (*linear_backward)(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                            const float *weight, int B, int nin, int nout);
    void (*maxpool2_forward)(float *y, int32_t *argmax, const float *x, int B, int C, int H, int W);
    void (*maxpool2_backward)(float *dx, const float *dy, const int32_t *argmax, int B, int C, int H, int W);
    void (*maxpool3s2_forward)(float *y, size_t ystride, int32_t *argmax, const float *x, int B, int C, int H, int W);
    void (*maxpool3s2_backward)(float *dx, const float *dy, size_t ystride, const int32_t *argmax, int B, int C,
                                int H, int W);
    void (*avgpool2_forward)(float *y, size_t ystride, const float *x, int B, int C, int H, int W);
    void (*avgpool2_backward)(float *dx, const float *dy, size_t ystride, int B, int C, int H, int W);
    void (*avgpool_forward)(float *y, const float *x, int B, int C, int HW);
    void (*avgpool_backward)(float *dx, const float *dy, int B, int C, int HW);

    /* ---- losses: tensors on the device, labels and mask on the host, the
     * loss returned; work made once per batch shape */
    void *(*nce_work_create)(int B, int D, DtclError *err);
    void (*nce_work_free)(void *work);
    double (*nce)(const DtclNce *c, float *dzm, float *dz, const float *zm, const float *z, const int8_t *labels,
                  int B, int D, void *work);
    void *(*bce_work_create)(int B, DtclError *err);
    void (*bce_work_free)(void *work);
    double (*bce)(float *dx, const float *x, const int8_t *labels, const int8_t *mask, int B, void *work);

    /* ---- optimiser */
    void (*adam_step)(const DtclAdam *a, float *param, float *m, float *v, const float *grad, size_t n, int64_t t);

    /* ---- the transformation T_Lambda: a plan for t and at most nmax images
     * per call; the noise source on the host */
    void *(*transform_plan)(const DtclTransform *t, int nmax, DtclError *err);
    void (*transform_plan_free)(void *plan);
    void (*transform_forward)(void *plan, float *y, float *saved, const float *x, const float *lambda,
                              const DtclNoiseSource *noise, int n);
    void (*transform_backward)(void *plan, float *dx, float *dlambda, const float *dy, const float *x,
                               const float *lambda, const float *saved, int n);
} DtclBackend;

/* The CPU's table (backend_cpu.c). */
extern const DtclBackend dtcl_backend_cpu;

/* Tensors in the arena (nn/tensors.h) on be's device: after the counting
 * walk, allocates a->used floats there (zeroed) and starts the binding walk. */
int dtcl_backend_arena_alloc(const DtclBackend *be, DtclArena *a, DtclError *err);
void dtcl_backend_arena_free(const DtclBackend *be, DtclArena *a);

/* y = T_Lambda(x) for n images on be; x, lambda and y on the host, sent in
 * chunks of at most 256 images. */
int dtcl_backend_transform(const DtclBackend *be, const DtclTransform *t, float *y, const float *x,
                           const float *lambda, const DtclNoiseSource *ns, int n, DtclError *err);

/* The transformation's forward pass and vector-Jacobian product for one
 * batch whose inputs stay on be's device (gradcheck's comparison and the
 * benchmark). */
typedef struct DtclTransformRun DtclTransformRun;
/* x (n,S,S), lambda (n,7), dy (n,S,S) copied in; NULL with err on failure. */
DtclTransformRun *dtcl_transform_run_create(const DtclBackend *be, const DtclTransform *t, const float *x,
                                            const float *lambda, const float *dy, int n, DtclError *err);
void dtcl_transform_run_free(DtclTransformRun *r);
/* y = T_Lambda(x) with the saved buffers, then dx = J_X^T dy and dlambda =
 * J_Lambda^T dy; returns when the device is done (-1 with err if it failed). */
int dtcl_transform_run_vjp(DtclTransformRun *r, const DtclNoiseSource *ns, DtclError *err);
/* The last results, copied to the host: y, dx (n,S,S), dlambda (n,7). */
int dtcl_transform_run_results(const DtclTransformRun *r, float *y, float *dx, float *dlambda, DtclError *err);

#ifdef __cplusplus
}
#endif

#endif
