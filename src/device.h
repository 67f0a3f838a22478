/* device.h: the one place where dtcl chooses between the CPU and a GPU.
 * Without --enable-cuda only the CPU exists; with it, the CUDA runtime is
 * asked what devices are present. */
#ifndef DTCL_DEVICE_H
#define DTCL_DEVICE_H

#include <stddef.h>

typedef enum { DTCL_DEVICE_CPU, DTCL_DEVICE_CUDA } DtclDevice;

/* 1 when the build has CUDA and a GPU is present. */
int dtcl_device_cuda_available(void);
/* "cpu (2 threads); cuda: ..." for --version and benchmarks. */
const char *dtcl_device_describe(char *buf, size_t size);

#endif
