/* adam_gpu.h: the CUDA twin of adam.h: one Adam step over a parameter family
 * in device memory, the same order of operations and the same scalars
 * (computed in double on the host, rounded to float once). */
#ifndef DTCL_ADAM_GPU_H
#define DTCL_ADAM_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "nn/adam.h"

#ifdef __cplusplus
extern "C" {
#endif

void dtcl_adam_step_gpu(const DtclAdam *a, float *param, float *m, float *v, const float *grad, size_t n, int64_t t);

#ifdef __cplusplus
}
#endif

#endif
