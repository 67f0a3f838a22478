/* model.h: the four networks of SPEC section 3 (f, g, p, M) in one tensor
 * table: one allocation per family (parameters, gradients, Adam m and v,
 * running statistics, counters). The parameters are laid out f, g, p, then
 * M, so the encoder step's Adam runs over one range and the M step's over
 * the other (SPEC section 4: different learning rates). */
#ifndef DTCL_MODEL_H
#define DTCL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "nets/encoder.h"
#include "nets/heads.h"
#include "nets/mnet.h"
#include "nn/tensors.h"

#ifdef __cplusplus /* the CUDA twins (src/gpu) include it */
extern "C" {
#endif

typedef struct DtclModelConfig {
    DtclEncoderKind encoder;         /* fcn (the MRI slices) or densenet121 (chest X-rays) */
    int nblocks;
    int widths[DTCL_FCN_MAX_BLOCKS]; /* fcn: 32, 64, 128, 256 */
    DtclDensenetConfig dn;           /* densenet121: 64, 32, 4, (6, 12, 24, 16) */
    int mwidths[2];                  /* M: 16, 32 */
    int hidden, zdim;                /* g: 256, 128 */
} DtclModelConfig;

typedef struct {
    DtclModelConfig cfg;
    DtclTable table;
    DtclEncoder f;
    DtclProjection g;
    DtclClassifier p;
    DtclMnet m;
    size_t enc_begin, enc_end; /* f, g, p in the parameter family */
    size_t m_begin, m_end;     /* M */
    int64_t step_e, step_m;    /* Adam steps taken */
} DtclModel;

void dtcl_model_config_default(DtclModelConfig *c);
/* "32,64,128,256" into c->widths; 1 to DTCL_FCN_MAX_BLOCKS widths in 1..4096. */
int dtcl_model_parse_widths(const char *s, DtclModelConfig *c, DtclError *err);
/* The configuration's representation width d. */
int dtcl_model_dim(const DtclModelConfig *c);
/* "fcn, 4 blocks, widths 32,64,128,256" or "densenet121 (growth 32, ...)". */
const char *dtcl_model_describe(const DtclModelConfig *c, char *buf, size_t size);
/* The smallest image side the encoder accepts: 2^nblocks (fcn), 32 (densenet121). */
int dtcl_model_min_size(const DtclModelConfig *c);

/* Lays out and allocates the model (every tensor zero). */
void dtcl_model_init(DtclModel *md, const DtclModelConfig *c);
void dtcl_model_free(DtclModel *md);
/* Walks the layout again over md->table's current family pointers, so that
 * every network's views point into them (the CUDA mirror swaps in device
 * families and binds a copy of the model this way). */
void dtcl_model_bind(DtclModel *md);
/* PyTorch's default initialisation drawn from the seed (SPEC section 3):
 * conv and linear weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
 * BatchNorm weight 1, bias 0, running mean 0, variance 1; Adam state zero.
 * Tensor i of the table reads the stream (seed, DTCL_RNG_INIT, 0, 0, i). */
void dtcl_model_reset(DtclModel *md, uint64_t seed);
void dtcl_model_zero_grad(DtclModel *md);
/* A model's mirror on another device (the GPU): a copy of host's description
 * whose parameter, gradient, Adam and running-statistics families are each
 * one allocation of be's device, its networks' views bound to them by the
 * same layout walk (dtcl_model_bind), its heads running on be. The counters
 * (num_batches_tracked) stay host's: they are counted on the host. Copies
 * are explicit: upload after loading or initialising host, download before
 * saving or reading it. */
int dtcl_model_mirror(DtclModel *dev, DtclModel *host, const DtclBackend *be, DtclError *err);
int dtcl_model_mirror_upload(DtclModel *dev, const DtclModel *host, const DtclBackend *be, DtclError *err);
int dtcl_model_mirror_download(DtclModel *host, const DtclModel *dev, const DtclBackend *be, DtclError *err);
void dtcl_model_mirror_free(DtclModel *dev, const DtclBackend *be);

/* Whether tensor i of t is a BatchNorm's weight or bias: a parameter whose
 * module also holds a running_mean (derived from the layout, not the names
 * fcn and DenseNet give their BatchNorms). */
int dtcl_model_is_batchnorm(const DtclTable *t, int i);

#ifdef __cplusplus
}
#endif

#endif
