/* device.h: the one place where dtcl chooses between the CPU and a GPU.
 * Without --enable-cuda only the CPU exists; with it, the CUDA runtime is
 * asked what devices are present. */
#ifndef DTCL_DEVICE_H
#define DTCL_DEVICE_H

#include <stddef.h>

#include "backend/backend.h"
#include "base/error.h"

typedef enum { DTCL_DEVICE_CPU, DTCL_DEVICE_CUDA } DtclDevice;

/* "cpu" or "cuda" */
const char *dtcl_device_name(DtclDevice d);
/* The device's table of primitives (backend.h): the CPU's, or the GPU's in a
 * CUDA build (NULL without one). The one place that chooses a table. */
const DtclBackend *dtcl_device_backend(DtclDevice d);
/* "cpu" or "cuda"; cuda only when the build has CUDA and a GPU is present:
 * -1 with err naming what is missing otherwise. */
int dtcl_device_parse(const char *s, DtclDevice *d, DtclError *err);
/* TF32 tensor-core GEMMs on the GPU (--allow-tf32); off unless asked for
 * (SPEC section 9). Nothing to do on the CPU. */
void dtcl_device_allow_tf32(int allow);

/* The GPU's memory in use (by every process) and in all, bytes: 0, or -1
 * on the CPU or when the runtime cannot say. */
int dtcl_device_memory(DtclDevice d, size_t *used, size_t *total);

/* 1 when the build has CUDA and a GPU is present. */
int dtcl_device_cuda_available(void);
/* "cpu (2 threads); cuda: ..." for --version and benchmarks. */
const char *dtcl_device_describe(char *buf, size_t size);

#endif
