/* activation_gpu.h: the CUDA twins of activation.h (device pointers, the
 * same argument order and semantics). */
#ifndef DTCL_ACTIVATION_GPU_H
#define DTCL_ACTIVATION_GPU_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void dtcl_relu_forward_gpu(float *y, const float *x, size_t n);
void dtcl_relu_backward_gpu(float *dx, const float *dy, const float *x, size_t n);
void dtcl_relu_mask_gpu(float *dy, const float *y, size_t n);
void dtcl_logistic_forward_gpu(float *y, const float *x, size_t n);
void dtcl_logistic_backward_gpu(float *dx, const float *dy, const float *y, size_t n);

#ifdef __cplusplus
}
#endif

#endif
