/* device.c: CPU/GPU selection (see device.h). */
#include "config.h"

#include "backend/device.h"

#include <omp.h>
#include <stdio.h>
#include <string.h>

#ifdef DTCL_HAVE_CUDA
#include "gpu/backend_gpu.h"
#include "gpu/device_gpu.h"
#endif

const char *dtcl_device_name(DtclDevice d)
{
    return d == DTCL_DEVICE_CUDA ? "cuda" : "cpu";
}

const DtclBackend *dtcl_device_backend(DtclDevice d)
{
    if (d == DTCL_DEVICE_CPU)
        return &dtcl_backend_cpu;
#ifdef DTCL_HAVE_CUDA
    return dtcl_backend_gpu();
#else
    return NULL;
#endif
}

int dtcl_device_parse(const char *s, DtclDevice *d, DtclError *err)
{
    if (strcmp(s, "cpu") == 0) {
        *d = DTCL_DEVICE_CPU;
        return 0;
    }
    if (strcmp(s, "cuda") != 0)
        return dtcl_fail(err, "--device '%s' is not cpu or cuda", s);
#ifdef DTCL_HAVE_CUDA
    char why[128];
    if (dtcl_gpu_device_count(why, sizeof why) <= 0)
        return dtcl_fail(err, "--device cuda: no CUDA device is present (%s)", why);
    *d = DTCL_DEVICE_CUDA;
    return 0;
#else
    return dtcl_fail(err, "--device cuda: this dtcl was built without CUDA (configure --enable-cuda)");
#endif
}

void dtcl_device_allow_tf32(int allow)
{
#ifdef DTCL_HAVE_CUDA
    dtcl_gpu_allow_tf32(allow);
#else
    (void)allow;
#endif
}

int dtcl_device_memory(DtclDevice d, size_t *used, size_t *total)
{
#ifdef DTCL_HAVE_CUDA
    if (d == DTCL_DEVICE_CUDA)
        return dtcl_gpu_memory(used, total);
#endif
    (void)d;
    *used = *total = 0;
    return -1;
}

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
    int t = omp_get_max_threads();
    const char *s = t == 1 ? "" : "s";
#ifdef DTCL_HAVE_CUDA
    char name[128];
    int n = dtcl_gpu_device_count(name, sizeof name);
    if (n > 0)
        snprintf(buf, size, "cpu (%d thread%s); cuda: %d device(s), %s", t, s, n, name);
    else
        snprintf(buf, size, "cpu (%d thread%s); cuda: built, no device (%s)", t, s, name);
#else
    snprintf(buf, size, "cpu (%d thread%s); cuda: not built (configure --enable-cuda)", t, s);
#endif
    return buf;
}
