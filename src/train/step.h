/* step.h: one optimisation step on a batch (paper Eq. 1, section 2.3; SPEC
 * section 4), read with I_NCE = -L_NCE:
 *   M step (M's weights only, through Lambda and the analytic derivatives of T):
 *     minimise L_M = -a0 L_NCE(X_M, X) + a1 BCE(p(f(X_M)), y)
 *   encoder step (f, g, p; X_M a constant):
 *     minimise L_E = a2 L_NCE(X_M, X) + a3 BCE(p(f(X_M)), y) + a4 BCE(p(f(X)), y)
 * with z = g(f(.)). f sees X first, then X_M, each with its own batch
 * statistics; the running statistics are updated by these two passes only.
 *
 * In the proposed step the M step and the encoder step share one forward
 * pass of f, g and p: M's update does not change f, g, p, so the encoder
 * step that follows would compute the same activations. The M step adds
 * only M's forward and backward, T and its vector-Jacobian product, and one
 * input-gradient backward of f for X_M (no weight gradients).
 *
 * The sequences are written once, against a backend table (backend.h): the
 * same calls run on the CPU or the GPU. A plan is made for one device: on
 * the CPU it trains the caller's model in place; elsewhere it holds the
 * model's mirror on the device (model.h), which dtcl_step_sync copies back
 * into the caller's model and dtcl_step_upload refreshes from it. The batch,
 * labels, drawn Lambdas and results are host arrays at this interface; each
 * step copies the batch in (on the CPU, a copy within memory). Every step
 * returns 0, or -1 with err when the device reported a failure.
 *
 * Letters: B images, S the side, d the representation, Z the projection. */
#ifndef DTCL_STEP_H
#define DTCL_STEP_H

#include <stdint.h>

#include "backend/backend.h"
#include "backend/device.h"
#include "nets/model.h"
#include "nn/adam.h"
#include "nn/nce.h"
#include "nn/tensors.h"
#include "transform/transform.h"

typedef struct {
    DtclNce nce;
    double alpha[5];         /* a0..a4 of the table in SPEC section 4 */
    DtclAdam adam_e, adam_m; /* f, g, p: lr 1e-4; M: 1e-3 with supervision */
} DtclStepConfig;

typedef struct {
    double nce;        /* L_NCE(X_M, X) */
    double bce_m, bce; /* BCE(p(f(X_M))), BCE(p(f(X))) over the labelled images */
    double loss_m, loss_e;
} DtclStepLosses;

/* Everything a step holds for a batch, on one device: one activation arena.
 * View 0 is X, view 1 is X_M. Pointers below are the device's. */
typedef struct {
    const DtclBackend *be;
    DtclModel *host;     /* the caller's model */
    DtclModel *md;       /* the model the steps change: host (CPU), or &mirror */
    DtclModel mirror;    /* host's mirror on be's device (not on the CPU) */
    int B, S, threads;
    DtclArena arena;
    DtclEncoderPlan fp;
    DtclEncoderSaved view[2];
    DtclMnetPlan mp;          /* when M is trained */
    const DtclTransform *tr;  /* the run's T (NULL: none) */
    void *tplan[2];           /* T and the crop-less T (simclr's draws) planned on be, or NULL */
    void *nce_work, *bce_work;
    float *x, *xm, *xalt;     /* (B,S,S): the batch, X_M, the crop-less T's output */
    float *lambda;            /* (B,7) a drawn Lambda */
    uint8_t *crop_on;         /* (B) simclr: which images take T with its crop */
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

/* A plan for B images of S x S on dev for md. tr: the run's T (NULL: none);
 * nocrop: T without its crop, for simclr's draws (NULL: none); with_m: M is
 * trained (tr given). threads: the CPU's OpenMP threads per convolution. */
int dtcl_step_plan_init(DtclStepPlan *p, DtclDevice dev, DtclModel *md, const DtclTransform *tr,
                        const DtclTransform *nocrop, int with_m, int B, int S, int threads, DtclError *err);
/* The same on the CPU, which cannot fail: with_m when tr is given, no nocrop
 * (the tests and gradcheck, which call the parts below directly). */
void dtcl_step_plan(DtclStepPlan *p, DtclModel *md, const DtclTransform *tr, int B, int S, int threads);
void dtcl_step_plan_free(DtclStepPlan *p);

/* The proposed step: M proposes Lambda, T makes X_M with the noise source
 * given, the M step, then the encoder step on the same X_M. x (B,S,S; NULL:
 * the batch already on the device) and labels (B: 0, 1, or -1 for an image
 * whose label training may not see) on the host; Lambda into lambda_out
 * (B,7, host) when it is not NULL. */
int dtcl_step_proposed(DtclStepPlan *p, const DtclStepConfig *c, const DtclNoiseSource *ns, const float *x,
                       const int8_t *labels, DtclStepLosses *out, float *lambda_out, DtclError *err);
/* The encoder step with X_M given (host arrays, or NULL for the batch and the
 * X_M already on the device: the benchmark's repeats). */
int dtcl_step_encoder(DtclStepPlan *p, const DtclStepConfig *c, const float *x, const float *xm,
                      const int8_t *labels, DtclStepLosses *out, DtclError *err);
/* The random strategies: X_M = T_Lambda(X) for the drawn Lambda (B,7); with
 * crop_on (B) not NULL, images with crop_on[b] = 0 through the crop-less T
 * (each keeping its noise field, named by ns->item); then the encoder step,
 * or the supervised step when supervised is 1: f on X_M, p, BCE over the
 * labelled images, Adam on f and p (g unused; its loss in out->bce_m and
 * out->loss_e). */
int dtcl_step_augmented(DtclStepPlan *p, const DtclStepConfig *c, const DtclNoiseSource *ns, const float *x,
                        const float *lambda, const uint8_t *crop_on, int supervised, const int8_t *labels,
                        DtclStepLosses *out, DtclError *err);
/* X_M alone, as dtcl_step_augmented makes it, into xm (B,S,S, host). */
int dtcl_step_transform(DtclStepPlan *p, const DtclNoiseSource *ns, const float *x, const float *lambda,
                        const uint8_t *crop_on, float *xm, DtclError *err);
/* h (n,d) = f(x) in evaluation mode, n <= B; x and h on the host. */
int dtcl_step_embed(DtclStepPlan *p, float *h, const float *x, int n, DtclError *err);
/* logit (n) = p(f(x)) in evaluation mode, on the plan's device; host arrays. */
int dtcl_step_logits(DtclStepPlan *p, float *logit, const float *x, int n, DtclError *err);

/* The caller's model up to date with the device (nothing to do on the CPU). */
int dtcl_step_sync(DtclStepPlan *p, DtclError *err);
/* The device up to date with the caller's model (after loading a checkpoint). */
int dtcl_step_upload(DtclStepPlan *p, DtclError *err);
/* Returns when the device has finished the steps launched so far (timing). */
int dtcl_step_wait(DtclStepPlan *p, DtclError *err);

/* h (n,d) = f(x) in evaluation mode for any n, `batch` images at a time, on
 * dev; host arrays. */
int dtcl_step_embed_all(DtclDevice dev, float *h, DtclModel *md, const float *x, int64_t n, int S, int batch,
                        int threads, DtclError *err);

/* The parts of the proposed step on the plan's buffers (device pointers),
 * for gradcheck and the tests: the shared forward pass (Lambda, X_M, f, g,
 * p, the losses; no update), then M's gradient of L_M into the gradient
 * family (M's range cleared first), without Adam. */
void dtcl_step_forward_proposed(DtclStepPlan *p, const DtclStepConfig *c, const DtclNoiseSource *noise,
                                const float *x, const int8_t *labels, DtclStepLosses *out);
void dtcl_step_m_backward(DtclStepPlan *p, const DtclStepConfig *c, const float *x);

#endif
