/* check_gpu.cu: the record of the first failed CUDA, cuBLAS or cuFFT call
 * (see check_gpu.h) and dtcl_gpu_check (memory_gpu.h). */
#include <stdio.h>
#include <string.h>

#include "gpu/check_gpu.h"
#include "gpu/memory_gpu.h"

static char first[512]; /* empty: nothing failed since the last report */

static int record(const char *call, const char *file, int line, const char *reason)
{
    if (!first[0])
        snprintf(first, sizeof first, "%s:%d: %s: %s", file, line, call, reason);
    return -1;
}

int dtcl_gpu_status_cuda(cudaError_t e, const char *call, const char *file, int line)
{
    return e == cudaSuccess ? 0 : record(call, file, line, cudaGetErrorString(e));
}

int dtcl_gpu_status_cublas(cublasStatus_t s, const char *call, const char *file, int line)
{
    return s == CUBLAS_STATUS_SUCCESS ? 0 : record(call, file, line, cublasGetStatusString(s));
}

static const char *cufft_reason(cufftResult r)
{
    switch (r) {
    case CUFFT_INVALID_PLAN: return "CUFFT_INVALID_PLAN";
    case CUFFT_ALLOC_FAILED: return "CUFFT_ALLOC_FAILED";
    case CUFFT_INVALID_VALUE: return "CUFFT_INVALID_VALUE";
    case CUFFT_INTERNAL_ERROR: return "CUFFT_INTERNAL_ERROR";
    case CUFFT_EXEC_FAILED: return "CUFFT_EXEC_FAILED";
    case CUFFT_INVALID_SIZE: return "CUFFT_INVALID_SIZE";
    default: return "cufftResult other than CUFFT_SUCCESS";
    }
}

int dtcl_gpu_status_cufft(cufftResult r, const char *call, const char *file, int line)
{
    return r == CUFFT_SUCCESS ? 0 : record(call, file, line, cufft_reason(r));
}

const char *dtcl_gpu_take_failure(char *buf, size_t size)
{
    if (!first[0])
        return NULL;
    snprintf(buf, size, "%s", first);
    first[0] = 0;
    return buf;
}

extern "C" int dtcl_gpu_check(const char *what, DtclError *err)
{
    DTCL_CUDA(cudaGetLastError());
    DTCL_CUDA(cudaDeviceSynchronize());
    char buf[512];
    if (!dtcl_gpu_take_failure(buf, sizeof buf))
        return 0;
    return dtcl_fail(err, "cuda: %s failed: %s", what, buf);
}
