/* encoder.h: the encoder f, one of SPEC section 3's two: `fcn` for the MRI
 * slices (fcn.h) or `densenet121` for the chest X-rays (densenet.h). The one
 * place that chooses between them: the steps, the evaluation and embed call
 * these, with the same meaning as the fcn functions of the same names.
 *
 * Letters: B images, S the side, d the representation. */
#ifndef DTCL_ENCODER_H
#define DTCL_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "nets/densenet.h"
#include "nets/fcn.h"
#include "nn/tensors.h"

#ifdef __cplusplus /* the CUDA twins (src/gpu) include it */
extern "C" {
#endif

typedef enum { DTCL_ENCODER_FCN, DTCL_ENCODER_DENSENET121, DTCL_NENCODERS } DtclEncoderKind;

typedef struct {
    DtclEncoderKind kind;
    DtclFcn fcn;      /* kind fcn */
    DtclDensenet dn;  /* kind densenet121 */
} DtclEncoder;

typedef struct { /* the encoder's kind decides which one is used */
    DtclFcnPlan fcn;
    DtclDensenetPlan dn;
} DtclEncoderPlan;

typedef struct {
    DtclFcnSaved fcn;
    DtclDensenetSaved dn;
    float *h; /* (B,d) the representation, in one of the two */
} DtclEncoderSaved;

struct DtclModelConfig; /* model.h: the encoder's part of it (kind, widths, DenseNet's shape) */

/* One row per encoder: what varies by encoder, in one place. Adding one: its
 * value in DtclEncoderKind, its file (the network's layout, plan, forward and
 * backward), its row in encoder.c, its shape in model.h's configuration,
 * and how checkpoint.c recognises its tensors. */
typedef struct {
    const char *name;  /* --encoder's value, config.json's and checkpoints' */
    const char *data;  /* the images it is for (help text) */
    int default_batch; /* SPEC section 4: 32 (MRI), 16 (chest) */
    /* the configuration: d, the smallest image side, a description, the
     * checkpoints' "widths" metadata, whether two describe the same network */
    int (*dim)(const struct DtclModelConfig *c);
    int (*min_size)(const struct DtclModelConfig *c);
    void (*describe)(const struct DtclModelConfig *c, char *buf, size_t size);
    void (*widths)(const struct DtclModelConfig *c, char *buf, size_t size);
    int (*same)(const struct DtclModelConfig *a, const struct DtclModelConfig *b);
} DtclEncoderInfo;

extern const DtclEncoderInfo dtcl_encoders[DTCL_NENCODERS];

/* "fcn" or "densenet121" */
const char *dtcl_encoder_name(DtclEncoderKind k);
/* 0 and the kind, or -1 for an unknown name. */
int dtcl_encoder_parse(const char *s, DtclEncoderKind *k);
/* "fcn or densenet121", for help text. */
const char *dtcl_encoder_list(void);

/* The batch SPEC section 4 gives each encoder's data: 32 (MRI), 16 (chest). */
int dtcl_encoder_default_batch(DtclEncoderKind k);

void dtcl_encoder_layout(DtclEncoder *f, DtclTable *t);
int dtcl_encoder_dim(const DtclEncoder *f);

void dtcl_encoder_plan(DtclEncoderPlan *p, const DtclEncoder *f, int B, int S, int threads, DtclArena *a);
/* The same on another device's table (backend.h): f is then a model mirror's
 * (model.h) and every buffer comes from an arena on that device. */
void dtcl_encoder_plan_on(DtclEncoderPlan *p, const DtclEncoder *f, int B, int S, int threads,
                          const DtclBackend *be, DtclArena *a);
void dtcl_encoder_saved(DtclEncoderSaved *s, const DtclEncoderPlan *p, const DtclEncoder *f, DtclArena *a);

void dtcl_encoder_forward_train(DtclEncoderSaved *s, const DtclEncoder *f, const float *x /* (B,1,S,S) */,
                                int update_stats, DtclEncoderPlan *p);
/* h (n,d) = f(x) with the running statistics, n <= B. DenseNet works in the
 * buffers of `scratch`, a view planned with p whose contents it overwrites
 * (training lends its first view; the fcn needs none: NULL is fine). */
void dtcl_encoder_forward_eval(float *h, const DtclEncoder *f, const float *x, int n, DtclEncoderPlan *p,
                               DtclEncoderSaved *scratch);
/* h (n,d) for any n, `batch` images at a time, on be's device (f's tensors
 * there); x (n,S,S) and h on the host. */
int dtcl_encoder_embed_on(const DtclBackend *be, float *h, const DtclEncoder *f, const float *x, int64_t n, int S,
                          int batch, int threads, DtclError *err);
void dtcl_encoder_backward(float *dx, int param_grads, const float *dh, const DtclEncoder *f,
                           const DtclEncoderSaved *s, DtclEncoderPlan *p);

#ifdef __cplusplus
}
#endif

#endif
