/* device_gpu.h: what the CUDA runtime reports (src/gpu/device_gpu.cu). */
#ifndef DTCL_DEVICE_GPU_H
#define DTCL_DEVICE_GPU_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Number of CUDA devices; name receives the first one's name, or the
 * runtime's reason when there is none. */
int dtcl_gpu_device_count(char *name, size_t size);
/* Device memory in use and in all (cudaMemGetInfo), bytes; 0 or -1. */
int dtcl_gpu_memory(size_t *used, size_t *total);
/* TF32 tensor-core GEMMs in cuBLAS on (1) or off (0, the default). */
void dtcl_gpu_allow_tf32(int allow);

#ifdef __cplusplus
}
#endif

#endif
