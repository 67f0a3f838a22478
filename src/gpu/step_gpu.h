/* step_gpu.h: the CUDA twin of step.h: the M step and the encoder step of
 * every strategy on the GPU, the same sequence as step.c with each layer,
 * loss, transformation and Adam by its twin.
 *
 * A DtclStepGpu owns the model's device mirror (model_gpu.h), one device
 * arena laid out by the same walk as step.c's plan (its DtclStepPlan's
 * pointers are device pointers), the transformation's twin when M is
 * trained, and device copies of the batch. The host model is the reference
 * copy: dtcl_step_gpu_init uploads it, dtcl_step_gpu_sync downloads
 * parameters, Adam moments, running statistics and step counts into it
 * (before saving or evaluating on the host); the running statistics'
 * counters are counted on the host throughout.
 *
 * The batch (x, xm) and labels are host arrays here: each step copies the
 * images in (B S^2 floats each way at most) and reads back the losses. Both
 * encoders run the CPU's layer sequence (fcn.c, densenet.c) with the GPU's
 * layer primitives (layer_ops.h). */
#ifndef DTCL_STEP_GPU_H
#define DTCL_STEP_GPU_H

#include <stdint.h>

#include "base/error.h"
#include "train/step.h"
#include "gpu/model_gpu.h"
#include "gpu/transform_gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct DtclStepGpu {
    DtclModel *host;        /* the model this mirrors */
    DtclModelGpu mg;        /* its device mirror */
    DtclStepPlan p;         /* device buffers (p.arena in device memory) */
    DtclTransformGpu tg[2]; /* the transformation, and the one without its crop (simclr) */
    int ntr;                /* how many of tg are made */
    float *x;               /* (B,S,S) the batch on the device */
    float *lambda;          /* (B,7) a drawn Lambda on the device */
    float *xtmp;            /* (B,S,S) the crop-less transformation's output */
    uint8_t *crop_on;       /* (B) */
    void *nce_work, *bce_work;
} DtclStepGpu;

/* tr: the run's transformation (NULL: none); nocrop: the same without its
 * crop step, for simclr's draws (NULL: none); with_m: M is trained (tr must
 * be given). */
int dtcl_step_gpu_init(DtclStepGpu *s, DtclModel *md, const DtclTransform *tr, const DtclTransform *nocrop,
                       int with_m, int B, int S, DtclError *err);
void dtcl_step_gpu_free(DtclStepGpu *s);
/* The host model takes the device's state (parameters, Adam, running statistics, step counts). */
int dtcl_step_gpu_sync(DtclStepGpu *s, DtclError *err);
/* The device takes the host model's state (after loading a checkpoint). */
int dtcl_step_gpu_upload(DtclStepGpu *s, DtclError *err);

/* X_M = T_Lambda(X) on the device for the random strategies: x (B,S,S) and
 * lambda (B,7) from the host; crop_on (B, host) NULL, or which images go
 * through the transformation with its crop (the others through nocrop). X
 * and X_M stay on the device for the step that follows. */
void dtcl_step_transform_gpu(DtclStepGpu *s, const float *x, const float *lambda, const DtclNoiseSource *noise,
                             const uint8_t *crop_on);

/* As dtcl_step_encoder, dtcl_step_proposed, dtcl_step_supervised. x and xm
 * are host arrays, or NULL for the batch dtcl_step_transform_gpu left on the
 * device; labels on the host. dtcl_step_proposed_gpu copies Lambda into
 * lambda_out (B,7, host) when it is not NULL. */
void dtcl_step_encoder_gpu(DtclStepGpu *s, const DtclStepConfig *c, const float *x, const float *xm,
                           const int8_t *labels, DtclStepLosses *out);
void dtcl_step_proposed_gpu(DtclStepGpu *s, const DtclStepConfig *c, const DtclNoiseSource *noise, const float *x,
                            const int8_t *labels, DtclStepLosses *out, float *lambda_out);
void dtcl_step_supervised_gpu(DtclStepGpu *s, const DtclStepConfig *c, const float *xm, const int8_t *labels,
                              DtclStepLosses *out);
/* h (n,d) = f(x) in evaluation mode with the device's parameters, n <= B;
 * x and h on the host. */
void dtcl_step_embed_gpu(DtclStepGpu *s, float *h, const float *x, int n);

#ifdef __cplusplus
}
#endif

#endif
