/* conv_gpu.h: the CUDA twin of conv.h: nn.Conv2d ("same" padding, any
 * stride, channel views through xstride/ystride), device pointers, the same
 * argument order. The columns of the whole batch are built at once
 * (B x C k k x Ho Wo floats of workspace) and one strided-batched cuBLAS
 * GEMM multiplies them; the weight gradient adds the images' products in
 * image order, the input gradient gathers its columns back (col2im without
 * atomics), so repeated runs give the same bits. cuBLAS runs in FP32 unless
 * TF32 was allowed (blas_gpu.h). */
#ifndef DTCL_CONV_GPU_H
#define DTCL_CONV_GPU_H

#include <stddef.h>

#include "nn/conv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Floats of device workspace that forward and backward need. */
size_t dtcl_conv2d_work_size_gpu(const DtclConvShape *s);
void dtcl_conv2d_forward_gpu(float *y, const float *x, const float *weight, const float *bias, const DtclConvShape *s,
                             float *work);
void dtcl_conv2d_backward_gpu(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                              const float *weight, const DtclConvShape *s, float *work);
void dtcl_conv2d_backward_data_gpu(float *dx, const float *dy, const float *weight, const DtclConvShape *s,
                                   float *work);

#ifdef __cplusplus
}
#endif

#endif
