/* checkpoint.h: the model in a safetensors file (SPEC section 7): every
 * tensor of SPEC section 3 by its name, the Adam moments adam.m.<name> and
 * adam.v.<name> of each trained tensor, and in __metadata__ the format
 * ("dtcl-checkpoint", version 1), the Adam step counts, the encoder's kind
 * and widths
 * and whatever the caller adds (the run's configuration, epoch, seed).
 * PyTorch loads one with safetensors.torch.load_file and
 * load_state_dict(strict=True) after dropping the adam.* entries. */
#ifndef DTCL_CHECKPOINT_H
#define DTCL_CHECKPOINT_H

#include "base/error.h"
#include "nets/model.h"
#include "io/safetensors.h"

#define DTCL_CHECKPOINT_FORMAT "dtcl-checkpoint"
#define DTCL_CHECKPOINT_VERSION 1

typedef enum {
    DTCL_CK_ENCODER, /* f.* only: widths inferred from the shapes, the rest ignored */
    DTCL_CK_MODEL    /* f, g, p and M; the Adam state when present (all or none) */
} DtclCheckpointPart;

/* Writes atomically; meta_keys/meta_values (nmeta pairs) are added to the
 * metadata. */
int dtcl_checkpoint_save(const char *path, const DtclModel *md, const char *const *meta_keys,
                         const char *const *meta_values, int nmeta, DtclError *err);

/* The configuration from the tensors' shapes: fcn (f.blocks.{b}.conv0.weight
 * gives the blocks and widths) or densenet121 (f.conv0.weight; the growth and
 * bottleneck from block 1's first layer, the layers per block by counting);
 * M's and g's from theirs (defaults when absent). */
int dtcl_checkpoint_config(const DtclSafetensors *st, DtclModelConfig *c, DtclError *err);

/* Replaces md's encoder f (every f.* tensor: weights and running statistics)
 * with those of PATH, which must hold an encoder of md's kind and shapes
 * (`dtcl train --init`; the rest of md is left as it is). */
int dtcl_checkpoint_load_encoder(const char *path, DtclModel *md, DtclError *err);

/* Opens PATH, infers the configuration, initialises md (dtcl_model_init)
 * and reads `part`. Messages name the file and the tensor. */
int dtcl_checkpoint_load(const char *path, DtclModel *md, DtclCheckpointPart part, DtclError *err);

#endif
