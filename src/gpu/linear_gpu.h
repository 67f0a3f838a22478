/* linear_gpu.h: the CUDA twin of linear.h (nn.Linear), device pointers, the
 * same argument order; the products are cuBLAS GEMMs (FP32 unless TF32 was
 * allowed), the bias sums in double in image order. */
#ifndef DTCL_LINEAR_GPU_H
#define DTCL_LINEAR_GPU_H

#ifdef __cplusplus
extern "C" {
#endif

void dtcl_linear_forward_gpu(float *y, const float *x, const float *weight, const float *bias, int B, int nin,
                             int nout);
void dtcl_linear_backward_gpu(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                              const float *weight, int B, int nin, int nout);

#ifdef __cplusplus
}
#endif

#endif
