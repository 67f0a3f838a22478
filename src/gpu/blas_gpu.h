/* blas_gpu.h: the one cuBLAS handle of the CUDA twins, created on first use
 * (a failure is recorded, check_gpu.h, and the handle stays NULL),
 * in FP32 (pedantic) math unless TF32 was allowed (`--allow-tf32`, SPEC
 * section 9: reduced precision stays off unless asked for). CUDA sources
 * only. */
#ifndef DTCL_BLAS_GPU_H
#define DTCL_BLAS_GPU_H

#include <cublas_v2.h>

cublasHandle_t dtcl_gpu_blas(void);
/* TF32 tensor-core GEMMs (about 10 bits of mantissa) on when allow is 1. */
void dtcl_gpu_blas_allow_tf32(int allow);

#endif
