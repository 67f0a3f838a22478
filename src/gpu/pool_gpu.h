/* pool_gpu.h: the CUDA twins of pool.h (device pointers, the same argument
 * order and semantics: the first maximum in row-major order wins, NaN
 * propagates; ystride as in pool.h). Backward gathers, for each input pixel,
 * the gradients of the windows that chose it, so no two threads write one
 * element: results do not depend on scheduling. */
#ifndef DTCL_POOL_GPU_H
#define DTCL_POOL_GPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void dtcl_maxpool2_forward_gpu(float *y, int32_t *argmax, const float *x, int B, int C, int H, int W);
void dtcl_maxpool2_backward_gpu(float *dx, const float *dy, const int32_t *argmax, int B, int C, int H, int W);
void dtcl_maxpool3s2_forward_gpu(float *y, size_t ystride, int32_t *argmax, const float *x, int B, int C, int H,
                                 int W);
void dtcl_maxpool3s2_backward_gpu(float *dx, const float *dy, size_t ystride, const int32_t *argmax, int B, int C,
                                  int H, int W);
void dtcl_avgpool2_forward_gpu(float *y, size_t ystride, const float *x, int B, int C, int H, int W);
void dtcl_avgpool2_backward_gpu(float *dx, const float *dy, size_t ystride, int B, int C, int H, int W);
void dtcl_avgpool_forward_gpu(float *y, const float *x, int B, int C, int HW);
void dtcl_avgpool_backward_gpu(float *dx, const float *dy, int B, int C, int HW);

#ifdef __cplusplus
}
#endif

#endif
