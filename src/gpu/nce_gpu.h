/* nce_gpu.h: the CUDA twin of nce.h's dtcl_nce_forward_backward: zm, z,
 * dzm, dz in device memory, labels (supcon only) on the host. The rows and
 * targets come from dtcl_nce_rows (nce.c), the arithmetic is nce.c's core
 * in double, one thread per row, each sum in the CPU's order. Returns L;
 * with dzm/dz not NULL adds the gradients (+=). work: made for (B, D) by
 * dtcl_nce_work_create_gpu (device buffers and the host's rows). */
#ifndef DTCL_NCE_GPU_H
#define DTCL_NCE_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "nn/nce.h"

#ifdef __cplusplus
extern "C" {
#endif

void *dtcl_nce_work_create_gpu(int B, int D, DtclError *err);
void dtcl_nce_work_free_gpu(void *work);
double dtcl_nce_forward_backward_gpu(const DtclNce *c, float *dzm, float *dz, const float *zm, const float *z,
                                     const int8_t *labels, int B, int D, void *work);

#ifdef __cplusplus
}
#endif

#endif
