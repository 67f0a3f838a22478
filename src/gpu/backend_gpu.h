/* backend_gpu.h: the GPU's table of primitives (backend/backend.h), the
 * CUDA twins of backend_cpu.c's. */
#ifndef DTCL_BACKEND_GPU_H
#define DTCL_BACKEND_GPU_H

#include "backend/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

const DtclBackend *dtcl_backend_gpu(void);

#ifdef __cplusplus
}
#endif

#endif
