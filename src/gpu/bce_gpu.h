/* bce_gpu.h: the CUDA twin of bce.h: logits x and dx in device memory,
 * labels and mask on the host (where the batch is drawn). One thread adds the
 * terms in the CPU's order. work: made for B images by
 * dtcl_bce_work_create_gpu. */
#ifndef DTCL_BCE_GPU_H
#define DTCL_BCE_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

void *dtcl_bce_work_create_gpu(int B, DtclError *err);
void dtcl_bce_work_free_gpu(void *work);
double dtcl_bce_forward_backward_gpu(float *dx, const float *x, const int8_t *labels, const int8_t *mask, int B,
                                     void *work);

#ifdef __cplusplus
}
#endif

#endif
