/* heads_gpu.h: the CUDA twins of heads.h (the projection head g and the
 * classifier p): device pointers, the same argument order; g and p are the
 * device mirror's; scratch (B,hidden) in device memory. */
#ifndef DTCL_HEADS_GPU_H
#define DTCL_HEADS_GPU_H

#include "heads.h"

#ifdef __cplusplus
extern "C" {
#endif

void dtcl_projection_forward_gpu(float *z, float *v, const float *h, const DtclProjection *g, int B);
void dtcl_projection_backward_gpu(float *dh, int param_grads, const float *dz, const float *h, const float *v,
                                  const DtclProjection *g, int B, float *scratch);
void dtcl_classifier_forward_gpu(float *logit, const float *h, const DtclClassifier *p, int B);
void dtcl_classifier_backward_gpu(float *dh, int param_grads, const float *dlogit, const float *h,
                                  const DtclClassifier *p, int B);

#ifdef __cplusplus
}
#endif

#endif
