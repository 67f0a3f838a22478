/* memory_gpu.cu: device memory (see memory_gpu.h). Every runtime call's
 * status is recorded by check_gpu.h's DTCL_CUDA as well as returned through
 * err, so that a caller passing no err still stops at the next check. */
#include "gpu/check_gpu.h"
#include "gpu/memory_gpu.h"

/* Without err the failure stays recorded for the caller's next check. */
static int fail(DtclError *err, const char *what)
{
    char buf[512];
    if (!err)
        return -1;
    return dtcl_fail(err, "cuda: %s: %s", what, dtcl_gpu_take_failure(buf, sizeof buf) ? buf : "failed");
}

extern "C" int dtcl_gpu_alloc(void **dev, size_t bytes, DtclError *err)
{
    if (DTCL_CUDA(cudaMalloc(dev, bytes ? bytes : 16)) == 0)
        return 0;
    *dev = NULL;
    return fail(err, "cannot allocate device memory");
}

extern "C" void dtcl_gpu_free(void *dev)
{
    if (dev)
        DTCL_CUDA(cudaFree(dev));
}

extern "C" int dtcl_gpu_upload(void *dev, const void *host, size_t bytes, DtclError *err)
{
    return DTCL_CUDA(cudaMemcpy(dev, host, bytes, cudaMemcpyHostToDevice)) == 0 ? 0 : fail(err, "copy to the device");
}

extern "C" int dtcl_gpu_download(void *host, const void *dev, size_t bytes, DtclError *err)
{
    return DTCL_CUDA(cudaMemcpy(host, dev, bytes, cudaMemcpyDeviceToHost)) == 0 ? 0 : fail(err, "copy from the device");
}

extern "C" int dtcl_gpu_copy(void *dst, const void *src, size_t bytes, DtclError *err)
{
    return DTCL_CUDA(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice)) == 0 ? 0 : fail(err, "copy on the device");
}

extern "C" int dtcl_gpu_zero(void *dev, size_t bytes, DtclError *err)
{
    return DTCL_CUDA(cudaMemset(dev, 0, bytes)) == 0 ? 0 : fail(err, "clearing device memory");
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
