/* heads.h: the projection head g and the classifier p (SPEC section 3).
 *   g: z (B,Z) = fc1(relu(fc0(h))), fc0 Linear(d->hidden), fc1 Linear(hidden->Z);
 *      names g.fc0.{weight,bias}, g.fc1.{weight,bias}
 *   p: logit (B) = p(h), Linear(d->1); names p.weight, p.bias; the logistic is
 *      inside the loss (bce.h).
 * Letters: B images, d the representation, hidden 256, Z 128. */
#ifndef DTCL_HEADS_H
#define DTCL_HEADS_H

#include "backend/backend.h"
#include "nn/tensors.h"

#ifdef __cplusplus /* the CUDA twins (src/gpu) include it */
extern "C" {
#endif

/* be: the device of the tensors (backend/backend.h); the layout sets the
 * CPU's, a model's device mirror its device's (model.h). */
typedef struct {
    const DtclBackend *be;
    int d, hidden, zdim;
    float *w0, *dw0, *b0, *db0; /* (hidden,d), (hidden) */
    float *w1, *dw1, *b1, *db1; /* (Z,hidden), (Z) */
} DtclProjection;

typedef struct {
    const DtclBackend *be;
    int d;
    float *w, *dw, *b, *db; /* (1,d), (1) */
} DtclClassifier;

void dtcl_projection_layout(DtclProjection *g, DtclTable *t);
void dtcl_classifier_layout(DtclClassifier *p, DtclTable *t);

/* z = fc1(v), v = relu(fc0(h)); v (B,hidden) is saved for backward. */
void dtcl_projection_forward(float *z, float *v, const float *h, const DtclProjection *g, int B);
/* dh += dz/dh^T dz; parameter gradients += when param_grads.
 * scratch (B,hidden). */
void dtcl_projection_backward(float *dh, int param_grads, const float *dz, const float *h, const float *v,
                              const DtclProjection *g, int B, float *scratch);

void dtcl_classifier_forward(float *logit, const float *h, const DtclClassifier *p, int B);
void dtcl_classifier_backward(float *dh, int param_grads, const float *dlogit, const float *h,
                              const DtclClassifier *p, int B);

#ifdef __cplusplus
}
#endif

#endif
