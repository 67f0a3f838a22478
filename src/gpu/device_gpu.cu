/* device_gpu.cu: device discovery for the one place that chooses a device
 * (src/backend/device.c).
 * These are questions whose failure is an answer (no device, no memory
 * figure), so their statuses are returned rather than recorded. */
#include <cuda_runtime.h>
#include <stdio.h>

#include "gpu/blas_gpu.h"
#include "gpu/device_gpu.h"

extern "C" int dtcl_gpu_device_count(char *name, size_t size)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError(); /* no device is an answer here, not a failure to report at the next check */
        if (name)
            snprintf(name, size, "%s", cudaGetErrorString(e));
        return 0;
    }
    if (name && n > 0) {
        cudaDeviceProp p;
        if (cudaGetDeviceProperties(&p, 0) == cudaSuccess)
            snprintf(name, size, "%s (sm_%d%d, %.0f GiB)", p.name, p.major, p.minor, p.totalGlobalMem / 1073741824.0);
    }
    return n;
}

extern "C" void dtcl_gpu_allow_tf32(int allow)
{
    dtcl_gpu_blas_allow_tf32(allow);
}

extern "C" int dtcl_gpu_memory(size_t *used, size_t *total)
{
    size_t f = 0, t = 0;
    if (cudaMemGetInfo(&f, &t) != cudaSuccess)
        return -1;
    *used = t - f;
    *total = t;
    return 0;
}
