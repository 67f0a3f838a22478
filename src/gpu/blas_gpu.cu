/* blas_gpu.cu: the cuBLAS handle (see blas_gpu.h). */
#include <stdio.h>
#include <stdlib.h>

#include "blas_gpu.h"

static cublasHandle_t handle;
static int tf32;

cublasHandle_t dtcl_gpu_blas(void)
{
    if (!handle) {
        if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) {
            fprintf(stderr, "dtcl: cuda: cannot create a cuBLAS handle\n");
            exit(1);
        }
        cublasSetMathMode(handle, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH);
    }
    return handle;
}

void dtcl_gpu_blas_allow_tf32(int allow)
{
    tf32 = allow;
    if (handle)
        cublasSetMathMode(handle, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH);
}
