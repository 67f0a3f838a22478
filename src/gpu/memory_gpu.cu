/* memory_gpu.cu: device memory and error checks (see memory_gpu.h). */
#include <cuda_runtime.h>

#include "memory_gpu.h"

static int fail(DtclError *err, const char *what, cudaError_t e)
{
    return dtcl_fail(err, "cuda: %s: %s", what, cudaGetErrorString(e));
}

extern "C" int dtcl_gpu_alloc(void **dev, size_t bytes, DtclError *err)
{
    cudaError_t e = cudaMalloc(dev, bytes ? bytes : 16);
    if (e != cudaSuccess) {
        *dev = NULL;
        return dtcl_fail(err, "cuda: cannot allocate %zu bytes of device memory: %s", bytes, cudaGetErrorString(e));
    }
    return 0;
}

extern "C" void dtcl_gpu_free(void *dev)
{
    if (dev)
        cudaFree(dev);
}

extern "C" int dtcl_gpu_upload(void *dev, const void *host, size_t bytes, DtclError *err)
{
    cudaError_t e = cudaMemcpy(dev, host, bytes, cudaMemcpyHostToDevice);
    return e == cudaSuccess ? 0 : fail(err, "copy to the device", e);
}

extern "C" int dtcl_gpu_download(void *host, const void *dev, size_t bytes, DtclError *err)
{
    cudaError_t e = cudaMemcpy(host, dev, bytes, cudaMemcpyDeviceToHost);
    return e == cudaSuccess ? 0 : fail(err, "copy from the device", e);
}

extern "C" int dtcl_gpu_zero(void *dev, size_t bytes, DtclError *err)
{
    cudaError_t e = cudaMemset(dev, 0, bytes);
    return e == cudaSuccess ? 0 : fail(err, "clearing device memory", e);
}

extern "C" int dtcl_gpu_check(const char *what, DtclError *err)
{
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess)
        e = cudaDeviceSynchronize();
    return e == cudaSuccess ? 0 : fail(err, what, e);
}

extern "C" int dtcl_gpu_arena_alloc(DtclArena *a, DtclError *err)
{
    a->size = a->used;
    void *base;
    if (dtcl_gpu_alloc(&base, sizeof(float) * (a->size ? a->size : 16), err) != 0 ||
        dtcl_gpu_zero(base, sizeof(float) * (a->size ? a->size : 16), err) != 0)
        return -1;
    a->base = (float *)base;
    a->used = 0;
    return 0;
}

extern "C" void dtcl_gpu_arena_free(DtclArena *a)
{
    dtcl_gpu_free(a->base);
    a->base = NULL;
    a->size = a->used = 0;
}
