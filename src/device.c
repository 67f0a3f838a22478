/* device.c: CPU/GPU selection (see device.h). */
#include "config.h"

#include "device.h"

#include <omp.h>
#include <stdio.h>

#ifdef DTCL_HAVE_CUDA
#include "gpu/device_gpu.h"
#endif

int dtcl_device_cuda_available(void)
{
#ifdef DTCL_HAVE_CUDA
    return dtcl_gpu_device_count(NULL, 0) > 0;
#else
    return 0;
#endif
}

const char *dtcl_device_describe(char *buf, size_t size)
{
#ifdef DTCL_HAVE_CUDA
    char name[128];
    int n = dtcl_gpu_device_count(name, sizeof name);
    if (n > 0)
        snprintf(buf, size, "cpu (%d threads); cuda: %d device(s), %s", omp_get_max_threads(), n, name);
    else
        snprintf(buf, size, "cpu (%d threads); cuda: built, no device (%s)", omp_get_max_threads(), name);
#else
    snprintf(buf, size, "cpu (%d threads); cuda: not built (configure --enable-cuda)", omp_get_max_threads());
#endif
    return buf;
}
