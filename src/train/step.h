/* step.h: one optimisation step on a batch (paper Eq. 1, section 2.3; SPEC
 * section 4), read with I_NCE = -L_NCE:
 *   M step (M's weights only, through Lambda and the analytic derivatives of T):
 *     minimise L_M = -a0 L_NCE(X_M, X) + a1 BCE(p(f(X_M)), y)
 *   encoder step (f, g, p; X_M a constant):
 *     minimise L_E = a2 L_NCE(X_M, X) + a3 BCE(p(f(X_M)), y) + a4 BCE(p(f(X)), y)
 * with z = g(f(.)). f sees X first, then X_M, each with its own batch
 * statistics; the running statistics are updated by these two passes only.
 *
 * In dtcl_step_proposed the M step and the encoder step share one forward
 * pass of f, g and p: M's update does not change f, g, p, so the encoder
 * step that follows would compute the same activations. The M step adds
 * only M's forward and backward, T and its vector-Jacobian product, and one
 * input-gradient backward of f for X_M (no weight gradients).
 *
 * Letters: B images, S the side, d the representation, Z the projection. */
#ifndef DTCL_STEP_H
#define DTCL_STEP_H

#include <stdint.h>

#include "nn/adam.h"
#include "nets/model.h"
#include "nn/nce.h"
#include "nn/tensors.h"
#include "transform/transform.h"

#ifdef __cplusplus /* the CUDA twin (src/gpu/step_gpu.cu) includes it */
extern "C" {
#endif

typedef struct {
    DtclNce nce;
    double alpha[5];       /* a0..a4 of the table in SPEC section 4 */
    DtclAdam adam_e, adam_m; /* f, g, p: lr 1e-4; M: 1e-3 with supervision */
} DtclStepConfig;

typedef struct {
    double nce;        /* L_NCE(X_M, X) */
    double bce_m, bce; /* BCE(p(f(X_M))), BCE(p(f(X))) over the labelled images */
    double loss_m, loss_e;
} DtclStepLosses;

/* Everything a step holds for a batch: one activation arena. View 0 is X,
 * view 1 is X_M. */
typedef struct {
    int B, S, threads;
    DtclArena arena;
    DtclEncoderPlan fp;
    DtclEncoderSaved view[2];
    DtclMnetPlan mp;          /* only when planned with a transformation */
    const DtclTransform *tr;
    float *xm;                /* (B,S,S) */
    float *tsaved;            /* (B, transform saved size) */
    float *dxm;               /* (B,S,S) */
    float *dlambda;           /* (B,7) */
    float *v[2], *z[2];       /* (B,hidden), (B,Z) */
    float *logit[2];          /* (B) */
    float *dzn[2];            /* (B,Z) dL_NCE/dz */
    float *dbce[2];           /* (B) dBCE/dlogit */
    float *dz[2], *dlogit[2]; /* the weighted upstream gradients */
    float *dh[2];             /* (B,d) */
    float *scratch;           /* (B,hidden) */
} DtclStepPlan;

void dtcl_step_config_default(DtclStepConfig *c); /* `proposed`: alpha 1,10,1,1,1 */

/* tr may be NULL when only dtcl_step_encoder will run. */
void dtcl_step_plan(DtclStepPlan *p, const DtclModel *md, const DtclTransform *tr, int B, int S, int threads);
void dtcl_step_plan_free(DtclStepPlan *p);
/* The part of the layout after f's plan (p->fp): both views' saved buffers,
 * the heads' and losses' buffers, the scratch and X_M, from p->arena (the
 * CUDA twin lays out its device arena with it too). */
void dtcl_step_take_views(DtclStepPlan *p, const DtclModel *md);

/* The encoder step with X_M given (the random strategies draw it outside).
 * labels (B): 0, 1, or -1 for an image whose label training may not see. */
void dtcl_step_encoder(DtclModel *md, DtclStepPlan *p, const DtclStepConfig *c, const float *x /* (B,S,S) */,
                       const float *xm /* (B,S,S) */, const int8_t *labels, DtclStepLosses *out);

/* M proposes Lambda (p->mp.lambda), T makes X_M (p->xm) with the noise
 * source given, the M step, then the encoder step on the same X_M. */
void dtcl_step_proposed(DtclModel *md, DtclStepPlan *p, const DtclStepConfig *c, const DtclNoiseSource *noise,
                        const float *x, const int8_t *labels, DtclStepLosses *out);

/* The `supervised` baseline (SPEC section 4): f on the augmented images,
 * p, BCE over the labelled images; backward; Adam on f and p (g unused). The
 * loss is reported as out->bce_m and out->loss_e. */
void dtcl_step_supervised(DtclModel *md, DtclStepPlan *p, const DtclStepConfig *c, const float *xm,
                          const int8_t *labels, DtclStepLosses *out);

/* The parts of dtcl_step_proposed, for gradcheck: the shared forward pass
 * (Lambda, X_M, f, g, p, the losses; no update), then M's gradient of L_M
 * into md's gradient family (M's range cleared first), without Adam. */
void dtcl_step_forward_proposed(DtclModel *md, DtclStepPlan *p, const DtclStepConfig *c,
                                const DtclNoiseSource *noise, const float *x, const int8_t *labels,
                                DtclStepLosses *out);
void dtcl_step_m_backward(DtclModel *md, DtclStepPlan *p, const DtclStepConfig *c, const float *x);

#ifdef __cplusplus
}
#endif

#endif
