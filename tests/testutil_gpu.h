/* testutil_gpu.h: what the GPU tests share (after testutil.h and the
 * cmocka headers): device copies of host arrays, the way back, and a device
 * result against its CPU twin's; the skip without a device. */
#ifndef DTCL_TESTUTIL_GPU_H
#define DTCL_TESTUTIL_GPU_H

#include "backend/device.h"
#include "gpu/memory_gpu.h"

/* In main: exit 77 (automake's skip) on a machine without a CUDA device. */
#define TEST_GPU_SKIP_WITHOUT_DEVICE()                                                              \
    do {                                                                                            \
        if (!dtcl_device_cuda_available()) {                                                        \
            printf("SKIP: no CUDA device (the CUDA twins are compiled but cannot run here)\n");     \
            return 77;                                                                              \
        }                                                                                           \
    } while (0)

/* A new device buffer holding the host's bytes. */
static inline void *up(const void *h, size_t bytes)
{
    void *d;
    DtclError e;
    if (dtcl_gpu_alloc(&d, bytes, &e) != 0 || dtcl_gpu_upload(d, h, bytes, &e) != 0)
        fail_msg("%s", e.msg);
    return d;
}

/* n floats of the device, after checking the kernels launched so far (free()). */
static inline float *down(const void *d, size_t n)
{
    float *h = malloc(sizeof(float) * (n ? n : 1));
    DtclError e;
    if (dtcl_gpu_check("kernels", &e) != 0 || dtcl_gpu_download(h, d, sizeof(float) * n, &e) != 0)
        fail_msg("%s", e.msg);
    return h;
}

/* The device's n floats against the CPU's: relative L2 within tol. */
static inline void expect_device(const char *what, const void *dev, const float *cpu, size_t n, double tol)
{
    float *g = down(dev, n);
    TEST_CHECK_CLOSE(what, g, cpu, n, tol);
    free(g);
}

#endif
