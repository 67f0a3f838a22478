/* blas_gpu.cu: the cuBLAS handle (see blas_gpu.h). */
#include "gpu/blas_gpu.h"
#include "gpu/check_gpu.h"

static cublasHandle_t handle;
static int tf32;

static void set_mode(void)
{
    DTCL_CUBLAS(cublasSetMathMode(handle, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
}

cublasHandle_t dtcl_gpu_blas(void)
{
    /* a failed creation is recorded; the GEMMs then fail with NOT_INITIALIZED */
    if (!handle && DTCL_CUBLAS(cublasCreate(&handle)) == 0)
        set_mode();
    return handle;
}

void dtcl_gpu_blas_allow_tf32(int allow)
{
    tf32 = allow;
    if (handle)
        set_mode();
}
