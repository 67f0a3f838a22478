/* densenet.h: the encoder f for chest X-rays (SPEC section 3; paper section
 * 3, after Tang et al. 2020): torchvision's DenseNet-121 with a one-channel
 * stem, its tensors named as torchvision's `features.*` with `f.` in place of
 * `features.`:
 *   conv0 7x7 stride 2 (1 -> I) -> norm0 -> ReLU -> max-pool 3x3 stride 2 pad 1
 *   4 dense blocks of L_k layers; layer j of block k reads the C_j = C_k + j G
 *     channels before it, concatenated:
 *       norm1 -> ReLU -> conv1 1x1 (C_j -> bG) -> norm2 -> ReLU -> conv2 3x3 (bG -> G)
 *   after blocks 1..3 a transition: norm -> ReLU -> conv 1x1 (C -> C/2) -> avg-pool 2x2
 *   norm5 -> ReLU -> global average pool: h (B, d), d = the last block's width.
 * DenseNet-121: I = 64, G = 32, b = 4, L = 6, 12, 24, 16; d = 1024. Convolutions
 * have no bias. Names: f.conv0.weight, f.norm0.*, f.denseblock{k}.denselayer{j}.
 * {norm1,conv1,norm2,conv2}.*, f.transition{k}.{norm,conv}.*, f.norm5.* (k, j
 * from 1, as torchvision).
 *
 * Memory, linear in depth: each block's features live in one tensor (B, C_out,
 * H, H), layer j's new channels written at [C_j, C_j + G) by conv2 itself, so
 * the concatenation is never copied; the BatchNorm-ReLU outputs that the
 * 1x1 convolutions read (the quadratic term of a plain implementation) are
 * not kept but recomputed into one scratch tensor in backward, from the
 * block tensor and the kept batch statistics (Pleiss et al. 2017, "Memory-
 * efficient implementation of DenseNets"). Kept per layer: conv1's output
 * (B, bG, H, H) and the statistics.
 *
 * Letters: B images, S the side, H0 = ceil(S/2) the stem's side, H_k block
 * k's side (H_1 = ceil(H0/2), then halved, floor). */
#ifndef DTCL_DENSENET_H
#define DTCL_DENSENET_H

#include <stdint.h>

#include "nn/conv.h"
#include "backend/backend.h"
#include "nn/tensors.h"

#ifdef __cplusplus /* the CUDA twins (src/gpu) include it */
extern "C" {
#endif

#define DTCL_DN_BLOCKS 4
#define DTCL_DN_MAX_LAYERS 128 /* over all blocks; DenseNet-121 has 58 */

typedef struct {
    int init, growth, bn_size;   /* I, G, b: 64, 32, 4 */
    int layers[DTCL_DN_BLOCKS];  /* 6, 12, 24, 16 */
} DtclDensenetConfig;

/* One BatchNorm's tensors. */
typedef struct {
    float *gamma, *dgamma, *beta, *dbeta; /* (C) */
    float *mean, *var;                    /* (C) running statistics */
    int64_t *tracked;                     /* num_batches_tracked */
} DtclDnNorm;

typedef struct {
    DtclDnNorm norm1, norm2;
    float *conv1, *dconv1; /* (bG, C_j, 1, 1) */
    float *conv2, *dconv2; /* (G, bG, 3, 3) */
} DtclDnLayer;

typedef struct {
    DtclDensenetConfig cfg;
    float *conv0, *dconv0; /* (I, 1, 7, 7) */
    DtclDnNorm norm0, norm5;
    DtclDnLayer layer[DTCL_DN_MAX_LAYERS];   /* block by block */
    DtclDnNorm tnorm[DTCL_DN_BLOCKS - 1];
    float *tconv[DTCL_DN_BLOCKS - 1], *dtconv[DTCL_DN_BLOCKS - 1]; /* (C/2, C, 1, 1) */
} DtclDensenet;

/* The per-batch geometry, the scratch shared by the views, and the device
 * whose layer primitives run the sequence (backend/backend.h). */
typedef struct {
    const DtclBackend *be;
    int B, S, threads;
    int H0, H[DTCL_DN_BLOCKS];
    int cin[DTCL_DN_BLOCKS], cout[DTCL_DN_BLOCKS]; /* each block's input and output widths */
    DtclConvShape conv0, tconv[DTCL_DN_BLOCKS - 1];
    DtclConvShape conv1[DTCL_DN_MAX_LAYERS], conv2[DTCL_DN_MAX_LAYERS];
    float *r, *dr;         /* (B, most C H^2) a BatchNorm-ReLU output, its gradient */
    float *r2, *dr2, *dy1; /* (B, bG, H_1^2) the bottleneck's */
    float *t;              /* (B, most C/2 H^2) a transition's convolution output or its gradient */
    float *dblock[2];      /* (B, most C_out H^2) the gradient of a block tensor */
    float *work;           /* convolution workspace */
} DtclDensenetPlan;

/* What the forward pass keeps for backward, for one view. */
typedef struct {
    const float *x;                                /* (B,1,S,S), the caller's */
    float *y0, *mean0, *invstd0;                   /* (B,I,H0,H0) conv0's output */
    int32_t *argmax0;                              /* (B,I,H_1,H_1) */
    float *block[DTCL_DN_BLOCKS];                  /* (B,C_out,H_k,H_k) the concatenated features */
    float *y1[DTCL_DN_MAX_LAYERS];                 /* (B,bG,H_k,H_k) conv1's output */
    float *mean1[DTCL_DN_MAX_LAYERS], *invstd1[DTCL_DN_MAX_LAYERS];
    float *mean2[DTCL_DN_MAX_LAYERS], *invstd2[DTCL_DN_MAX_LAYERS];
    float *tmean[DTCL_DN_BLOCKS - 1], *tinvstd[DTCL_DN_BLOCKS - 1];
    float *mean5, *invstd5;
    float *h;                                      /* (B,d) */
} DtclDensenetSaved;

void dtcl_densenet_config_121(DtclDensenetConfig *c);
/* The smallest side every stage keeps at least one pixel for: 32. */
int dtcl_densenet_min_size(void);
int dtcl_densenet_dim(const DtclDensenetConfig *c);

/* Declares (and, in the second walk, binds) f's tensors. */
void dtcl_densenet_layout(DtclDensenet *f, DtclTable *t);

/* Carves the plan and one view's saved buffers out of the arena. A view
 * planned for evaluation only (for_eval) shares one conv1 output among its
 * layers. */
void dtcl_densenet_plan(DtclDensenetPlan *p, const DtclDensenet *f, int B, int S, int threads, DtclArena *a);
/* The same with another device's primitives (the GPU's: every buffer then
 * comes from a device arena, f is the device mirror's). */
void dtcl_densenet_plan_on(DtclDensenetPlan *p, const DtclDensenet *f, int B, int S, int threads,
                            const DtclBackend *be, DtclArena *a);
void dtcl_densenet_saved(DtclDensenetSaved *s, const DtclDensenetPlan *p, const DtclDensenet *f, int for_eval,
                         DtclArena *a);

/* h = f(x) with batch statistics; the running statistics are updated when
 * update_stats (the encoder step). */
void dtcl_densenet_forward_train(DtclDensenetSaved *s, const DtclDensenet *f, const float *x, int update_stats,
                                 DtclDensenetPlan *p);
/* s->h (n,d) = f(x) with the running statistics, n <= B. */
void dtcl_densenet_forward_eval(DtclDensenetSaved *s, const DtclDensenet *f, const float *x, int n,
                                DtclDensenetPlan *p);

/* dx += df/dx^T dh (dx may be NULL), and the parameter gradients += when
 * param_grads. */
void dtcl_densenet_backward(float *dx, int param_grads, const float *dh, const DtclDensenet *f,
                            const DtclDensenetSaved *s, DtclDensenetPlan *p);

#ifdef __cplusplus
}
#endif

#endif
