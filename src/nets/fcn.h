/* fcn.h: the encoder f for MRI slices (SPEC section 3, paper section 2.3):
 * blocks of [conv3x3 (padding 1, no bias) -> BatchNorm -> ReLU] x 2 -> 2x2
 * max-pool, widths 32, 64, 128, 256 by default, then global average pooling
 * to the representation h (B,d), d the last width. Tensor names
 * f.blocks.{b}.conv{c}.weight and f.blocks.{b}.bn{c}.{weight,bias,
 * running_mean,running_var,num_batches_tracked}.
 *
 * Letters: B images, S the image side, C_b the width of block b, H_b = S/2^b. */
#ifndef DTCL_FCN_H
#define DTCL_FCN_H

#include <stdint.h>

#include "nn/conv.h"
#include "backend/backend.h"
#include "nn/tensors.h"

#ifdef __cplusplus /* the CUDA twins (src/gpu) include it */
extern "C" {
#endif

#define DTCL_FCN_MAX_BLOCKS 8
#define DTCL_BN_MOMENTUM 0.1f
#define DTCL_BN_EPS 1e-5f

typedef struct {
    float *conv[2], *dconv[2];   /* (C_b, C_in, 3, 3) */
    float *gamma[2], *dgamma[2]; /* (C_b) BatchNorm weight */
    float *beta[2], *dbeta[2];   /* (C_b) BatchNorm bias */
    float *mean[2], *var[2];     /* (C_b) running statistics */
    int64_t *tracked[2];         /* num_batches_tracked */
} DtclFcnBlock;

typedef struct {
    int nblocks;
    int widths[DTCL_FCN_MAX_BLOCKS];
    DtclFcnBlock blk[DTCL_FCN_MAX_BLOCKS];
} DtclFcn;

/* The per-batch geometry and the scratch shared by every view. */
typedef struct {
    const DtclBackend *be; /* the device whose layer primitives run the sequence (backend/backend.h) */
    int B, S, threads;
    DtclConvShape conv[DTCL_FCN_MAX_BLOCKS][2];
    float *tmp;      /* (B, max C H W) a convolution's output */
    float *grad[2];  /* (B, max C H W) each: backward's two alternating buffers */
    int32_t *argmax; /* (B, max C H W / 4) evaluation's pooling indices */
    float *work;     /* convolution workspace */
} DtclFcnPlan;

/* What the training forward keeps for backward, for one view. */
typedef struct {
    const float *x; /* (B,1,S,S), the caller's */
    float *xhat[DTCL_FCN_MAX_BLOCKS][2], *invstd[DTCL_FCN_MAX_BLOCKS][2];
    float *r[DTCL_FCN_MAX_BLOCKS][2];     /* (B,C_b,H_b,H_b) after ReLU */
    float *pool[DTCL_FCN_MAX_BLOCKS];     /* (B,C_b,H_b/2,H_b/2) */
    int32_t *argmax[DTCL_FCN_MAX_BLOCKS]; /* (B,C_b,H_b/2,H_b/2) */
    float *h;                             /* (B,d) */
} DtclFcnSaved;

/* Declares (and, in the second walk, binds) f's tensors. */
void dtcl_fcn_layout(DtclFcn *f, DtclTable *t);
int dtcl_fcn_dim(const DtclFcn *f);

/* Carves the plan and one view's saved buffers out of the arena. */
void dtcl_fcn_plan(DtclFcnPlan *p, const DtclFcn *f, int B, int S, int threads, DtclArena *a);
/* The same with another device's primitives (the GPU's: every buffer then
 * comes from a device arena, f is the device mirror's, x and dh are device
 * pointers; the counters stay on the host). */
void dtcl_fcn_plan_on(DtclFcnPlan *p, const DtclFcn *f, int B, int S, int threads, const DtclBackend *be,
                       DtclArena *a);
void dtcl_fcn_saved(DtclFcnSaved *s, const DtclFcnPlan *p, const DtclFcn *f, DtclArena *a);

/* h = f(x) with batch statistics; the running statistics are updated when
 * update_stats (the encoder step) and not otherwise. */
void dtcl_fcn_forward_train(DtclFcnSaved *s, const DtclFcn *f, const float *x /* (B,1,S,S) */, int update_stats,
                            DtclFcnPlan *p);

/* h (n,d) = f(x) with the running statistics, n <= B. */
void dtcl_fcn_forward_eval(float *h, const DtclFcn *f, const float *x /* (n,1,S,S) */, int n, DtclFcnPlan *p);

/* dx += df/dx^T dh (dx may be NULL), and, when param_grads, the parameter
 * gradients += (the M step asks for dx only). */
void dtcl_fcn_backward(float *dx /* (B,1,S,S) */, int param_grads, const float *dh /* (B,d) */,
                       const DtclFcn *f, const DtclFcnSaved *s, DtclFcnPlan *p);

#ifdef __cplusplus
}
#endif

#endif
