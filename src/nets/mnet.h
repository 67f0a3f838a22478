/* mnet.h: the transformation network M (paper section 2.3, SPEC section 3):
 *   conv3x3(1->16, bias) -> ReLU -> max-pool 2 -> conv3x3(16->32, bias) -> ReLU
 *   -> max-pool 2 -> conv1x1(32->7, bias) -> global average pool -> logistic -> Lambda (B,7).
 * Tensor names m.conv0.{weight,bias}, m.conv1.*, m.head.*.
 * Letters: B images, S the side, C0 C1 the widths (16, 32). */
#ifndef DTCL_MNET_H
#define DTCL_MNET_H

#include <stdint.h>

#include "nn/conv.h"
#include "backend/backend.h"
#include "nn/tensors.h"

#ifdef __cplusplus /* the CUDA twins (src/gpu) include it */
extern "C" {
#endif

typedef struct {
    int widths[2];
    float *w[3], *dw[3]; /* conv0 (C0,1,3,3), conv1 (C1,C0,3,3), head (7,C1,1,1) */
    float *b[3], *db[3]; /* (C0), (C1), (7) */
} DtclMnet;

/* Geometry, the forward's saved buffers and the backward's scratch. */
typedef struct {
    const DtclBackend *be; /* the device whose layer primitives run M (backend/backend.h) */
    int B, S, threads;
    DtclConvShape conv[3];
    const float *x;        /* (B,1,S,S) the caller's */
    float *r0;             /* (B,C0,S,S) after ReLU */
    float *p0;             /* (B,C0,S/2,S/2) */
    int32_t *a0;
    float *r1;             /* (B,C1,S/2,S/2) */
    float *p1;             /* (B,C1,S/4,S/4) */
    int32_t *a1;
    float *head;           /* (B,7,S/4,S/4) */
    float *mean;           /* (B,7) before the logistic */
    float *lambda;         /* (B,7) */
    float *g0, *g1;        /* (B,C0,S,S) each: backward scratch */
    float *work;
} DtclMnetPlan;

void dtcl_mnet_layout(DtclMnet *m, DtclTable *t);
void dtcl_mnet_plan(DtclMnetPlan *p, const DtclMnet *m, int B, int S, int threads, DtclArena *a);
/* The same with another device's primitives (the GPU's: buffers from a
 * device arena, m the device mirror's, x and dlambda device pointers). */
void dtcl_mnet_plan_on(DtclMnetPlan *p, const DtclMnet *m, int B, int S, int threads, const DtclBackend *be,
                        DtclArena *a);

/* p->lambda = M(x). */
void dtcl_mnet_forward(DtclMnetPlan *p, const DtclMnet *m, const float *x /* (B,1,S,S) */);
/* M's parameter gradients += dM/dtheta^T dlambda. */
void dtcl_mnet_backward(const float *dlambda /* (B,7) */, const DtclMnet *m, DtclMnetPlan *p);

#ifdef __cplusplus
}
#endif

#endif
