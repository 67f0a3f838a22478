/* memory_gpu.h: device memory for the CUDA twins (src/gpu/): allocation,
 * explicit host<->device copies, and the check of everything launched. Every
 * function returns 0, or -1 with err naming what failed and the CUDA
 * runtime's reason; with err NULL the failure stays recorded (check_gpu.h)
 * and the next dtcl_gpu_check reports it. Device pointers are plain float pointers; the twins take
 * them in the same argument order as their CPU files. */
#ifndef DTCL_MEMORY_GPU_H
#define DTCL_MEMORY_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "nn/tensors.h"

#ifdef __cplusplus
extern "C" {
#endif

int dtcl_gpu_alloc(void **dev, size_t bytes, DtclError *err);
void dtcl_gpu_free(void *dev);
int dtcl_gpu_upload(void *dev, const void *host, size_t bytes, DtclError *err);
int dtcl_gpu_download(void *host, const void *dev, size_t bytes, DtclError *err);
int dtcl_gpu_copy(void *dst, const void *src, size_t bytes, DtclError *err); /* device to device */
int dtcl_gpu_zero(void *dev, size_t bytes, DtclError *err);
/* The activation arena (tensors.h) in device memory: after the counting
 * walk, allocates a->used floats on the device (zeroed) and starts the
 * binding walk, as dtcl_arena_alloc does on the host. */
int dtcl_gpu_arena_alloc(DtclArena *a, DtclError *err);
void dtcl_gpu_arena_free(DtclArena *a);

/* Waits for the device and reports the first failure since the last check
 * (a launch, a runtime, cuBLAS or cuFFT call: file, line, the call and the
 * reason), naming `what`; 0 when there was none. */
int dtcl_gpu_check(const char *what, DtclError *err);

#ifdef __cplusplus
}
#endif

#endif
