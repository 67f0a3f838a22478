/* fcn_gpu.h: the CUDA twin of fcn.h: the fcn encoder's training forward and
 * backward on the GPU, from the layer twins, with a plan and saved buffers
 * carved from a device arena (dtcl_fcn_plan_gpu, then dtcl_fcn_saved on the
 * same arena, then dtcl_gpu_arena_alloc and the same calls again). f is the
 * device mirror's (model_gpu.h); x, dh, dx are device pointers. The running
 * statistics' counters are counted on the host. */
#ifndef DTCL_FCN_GPU_H
#define DTCL_FCN_GPU_H

#include "fcn.h"

#ifdef __cplusplus
extern "C" {
#endif

void dtcl_fcn_plan_gpu(DtclFcnPlan *p, const DtclFcn *f, int B, int S, DtclArena *a);
void dtcl_fcn_forward_train_gpu(DtclFcnSaved *s, const DtclFcn *f, const float *x, int update_stats, DtclFcnPlan *p);
/* h (n,d) = f(x) with the running statistics, n <= B (the plan's buffers as scratch). */
void dtcl_fcn_forward_eval_gpu(float *h, const DtclFcn *f, const float *x, int n, DtclFcnPlan *p);
void dtcl_fcn_backward_gpu(float *dx, int param_grads, const float *dh, const DtclFcn *f, const DtclFcnSaved *s,
                           DtclFcnPlan *p);

#ifdef __cplusplus
}
#endif

#endif
