/* mnet_gpu.h: the CUDA twin of mnet.h: M's forward and its parameter
 * gradients on the GPU, the plan carved from a device arena
 * (dtcl_mnet_plan_gpu); m is the device mirror's, x and dlambda device
 * pointers. */
#ifndef DTCL_MNET_GPU_H
#define DTCL_MNET_GPU_H

#include "mnet.h"

#ifdef __cplusplus
extern "C" {
#endif

void dtcl_mnet_plan_gpu(DtclMnetPlan *p, const DtclMnet *m, int B, int S, DtclArena *a);
void dtcl_mnet_forward_gpu(DtclMnetPlan *p, const DtclMnet *m, const float *x);
void dtcl_mnet_backward_gpu(const float *dlambda, const DtclMnet *m, DtclMnetPlan *p);

#ifdef __cplusplus
}
#endif

#endif
