/* dispatch.h: the one point where training and evaluation go to the CPU
 * (step.h, encoder.h, transform.h) or to the GPU (src/gpu/step_gpu.h).
 * train, bench and the tests call these; which device runs them is chosen
 * once, at dtcl_stepper_init (--device, device.h). Without --enable-cuda the
 * CUDA branch is not compiled and asking for it is refused there.
 *
 * On the CPU the host model is updated in place; on the GPU the host model
 * is the reference copy that dtcl_stepper_sync brings up to date (before a
 * checkpoint is written or validation reads it) and dtcl_stepper_upload
 * sends back (after a checkpoint was loaded into it). */
#ifndef DTCL_DISPATCH_H
#define DTCL_DISPATCH_H

#include <stdint.h>

#include "backend/device.h"
#include "base/error.h"
#include "train/step.h"

struct DtclStepGpu; /* gpu/step_gpu.h */

typedef struct {
    DtclDevice device;
    DtclModel *md;
    const DtclTransform *tr, *nocrop;
    int B, S;
    DtclStepPlan plan;        /* cpu */
    struct DtclStepGpu *gpu;  /* cuda */
    float *xm;                /* (B,S,S) X_M of the random strategies (host) */
    float *xtmp, *ytmp, *ltmp; /* cpu: simclr's groups, (B,S,S), (B,S,S), (B,7) */
    uint32_t *itmp;            /* (B) */
} DtclStepper;

/* tr: the run's transformation; nocrop: the same without its crop, for
 * simclr's draws (NULL: none); with_m: M is trained. */
int dtcl_stepper_init(DtclStepper *s, DtclDevice dev, DtclModel *md, const DtclTransform *tr,
                      const DtclTransform *nocrop, int with_m, int B, int S, int threads, DtclError *err);
void dtcl_stepper_free(DtclStepper *s);

/* The proposed step (SPEC section 4): M, T, the M step and the encoder step;
 * Lambda into lambda_out (B,7) when it is not NULL. */
void dtcl_stepper_proposed(DtclStepper *s, const DtclStepConfig *c, const DtclNoiseSource *ns, const float *x,
                           const int8_t *labels, DtclStepLosses *out, float *lambda_out);
/* The encoder step with X_M given. */
void dtcl_stepper_encoder(DtclStepper *s, const DtclStepConfig *c, const float *x, const float *xm,
                          const int8_t *labels, DtclStepLosses *out);
/* The random strategies: X_M = T_Lambda(X) for the drawn Lambda (B,7) (images
 * with crop_on[b] = 0 through nocrop; crop_on NULL: all through tr), then the
 * encoder step, or the supervised step when supervised is 1. ns names each
 * image's noise field by ns->item. */
void dtcl_stepper_augmented(DtclStepper *s, const DtclStepConfig *c, const DtclNoiseSource *ns, const float *x,
                            const float *lambda, const uint8_t *crop_on, int supervised, const int8_t *labels,
                            DtclStepLosses *out);
/* X_M = T_Lambda(X) alone, as dtcl_stepper_augmented makes it, into s->xm
 * (B,S,S, host). */
void dtcl_stepper_transform(DtclStepper *s, const DtclNoiseSource *ns, const float *x, const float *lambda,
                            const uint8_t *crop_on);
/* h (n,d) = f(x) in evaluation mode, n <= B. */
void dtcl_stepper_eval(DtclStepper *s, float *h, const float *x, int n);

/* The host model up to date with the device (nothing to do on the CPU);
 * -1 with err when a kernel failed. */
int dtcl_stepper_sync(DtclStepper *s, DtclError *err);
/* Returns when the device has finished the steps launched so far (for
 * timing); -1 with err when a kernel failed. */
int dtcl_stepper_wait(DtclStepper *s, DtclError *err);
/* The device up to date with the host model (nothing to do on the CPU). */
int dtcl_stepper_upload(DtclStepper *s, DtclError *err);

/* Outside training: y = T_Lambda(x) for n images (transform.h) on dev. */
int dtcl_dispatch_transform(DtclDevice dev, const DtclTransform *t, float *y, const float *x, const float *lambda,
                            const DtclNoiseSource *ns, int n, DtclError *err);
/* The transformation's forward pass and vector-Jacobian product on dev for
 * one batch whose inputs stay where they were copied (the device's memory
 * for cuda): gradcheck's comparison and the benchmark. */
typedef struct DtclTransformRun DtclTransformRun;
/* x (n,S,S), lambda (n,7), dy (n,S,S) copied in; NULL with err on failure. */
DtclTransformRun *dtcl_transform_run_create(DtclDevice dev, const DtclTransform *t, const float *x,
                                            const float *lambda, const float *dy, int n, DtclError *err);
void dtcl_transform_run_free(DtclTransformRun *r);
/* y = T_Lambda(x) with the saved buffers, then dx = J_X^T dy and dlambda =
 * J_Lambda^T dy; returns when the device is done (-1 with err if it failed). */
int dtcl_transform_run_vjp(DtclTransformRun *r, const DtclNoiseSource *ns, DtclError *err);
/* The last results, copied to the host: y, dx (n,S,S), dlambda (n,7). */
int dtcl_transform_run_results(const DtclTransformRun *r, float *y, float *dx, float *dlambda, DtclError *err);
/* h (n,d) = f(x) in evaluation mode, `batch` images at a time, on dev
 * (encoder.h's dtcl_encoder_embed on the CPU). */
int dtcl_dispatch_embed(DtclDevice dev, float *h, DtclModel *md, const float *x, int64_t n, int S, int batch,
                        int threads, DtclError *err);

#endif
