/* train.h: training runs (paper section 3, SPEC sections 4 and 5): every
 * strategy of the paper's comparison, one epoch after another over a
 * dataset's training split, into a run folder:
 *   RUN/config.json      every setting, defaults included, and the build
 *   RUN/metrics.csv      one row per epoch: losses, validation BCE and AUC of p,
 *                        mean and standard deviation of each lambda_k per class,
 *                        seconds
 *   RUN/checkpoints/epoch-NNN.safetensors  (checkpoint.h), epoch 0 included;
 *   last.safetensors after every epoch; interrupted.safetensors on SIGINT
 * Per batch (SPEC section 4): Lambda from M (ssl, proposed) or drawn (the
 * others), X_M = T(X, Lambda), the M step, then the encoder step. Random
 * numbers come from the run's seed by purpose, epoch, step and image index
 * (rng.h), so a resumed run ends bitwise where an uninterrupted one would. */
#ifndef DTCL_TRAIN_H
#define DTCL_TRAIN_H

#include <stdint.h>

#include "data/dataset.h"
#include "backend/device.h"
#include "base/error.h"
#include "nets/model.h"
#include "nn/nce.h"
#include "transform/transform.h"

typedef enum {
    DTCL_STRATEGY_RANDOM,
    DTCL_STRATEGY_RANDOM_SUP,
    DTCL_STRATEGY_SSL,
    DTCL_STRATEGY_PROPOSED,
    DTCL_STRATEGY_SIMCLR,
    DTCL_STRATEGY_SUPERVISED,
    DTCL_NSTRATEGIES
} DtclStrategy;

extern const char *const dtcl_strategy_names[DTCL_NSTRATEGIES];

typedef struct {
    char data[4096];         /* the dataset folder */
    DtclStrategy strategy;
    double alpha[5];         /* a0..a4 (SPEC section 4's table unless given) */
    double lr_f, lr_m;       /* lr_m < 0: 1e-3 with supervision (a1 > 0), 1e-4 without */
    int batch, epochs, save_every;
    double label_fraction;   /* when the split is drawn from the seed */
    DtclNce nce;
    char order[128];         /* T's order */
    DtclEncoderKind encoder; /* fcn (default) or densenet121 */
    char widths[128];        /* the fcn encoder's widths */
    char init[4096];         /* f's starting weights (a safetensors file), or "" for the seeded draw */
    uint64_t seed;
    uint64_t split_seed;     /* the train/val/test partition when drawn; 0: seed */
    uint64_t label_seed;     /* the labelled subset; 0: seed, or split.csv's column */
    double train_fraction;   /* the share of the training split used (1: all) */
    int threads;
    DtclDevice device;       /* where the steps run (--device); not part of config.json's settings */
    int quiet;
} DtclTrainConfig;

/* The defaults of `dtcl train` for a strategy (alpha from SPEC section 4). */
void dtcl_train_config_default(DtclTrainConfig *c, DtclStrategy s);
int dtcl_strategy_parse(const char *name, DtclStrategy *s);
/* Whether Lambda comes from M (ssl, proposed). */
int dtcl_strategy_uses_m(DtclStrategy s);
/* The model configuration of a run: its encoder (and widths for fcn). */
int dtcl_train_model_config(const DtclTrainConfig *c, DtclModelConfig *mc, DtclError *err);
/* M's learning rate in effect (lr_m, or its default for the alphas). */
double dtcl_train_lr_m(const DtclTrainConfig *c);

/* Runs (or, with resume, continues) a run into the folder `run`. A new run
 * refuses an existing folder. Returns 0, or -1 with err (bad input: exit 2),
 * or -2 with err (a failure at run time, such as a non-finite loss: exit 1).
 * *interrupted is set when SIGINT stopped it after saving. */
int dtcl_train_run(const DtclTrainConfig *c, const char *run, int resume, int *interrupted, DtclError *err);

/* What one run of c costs, measured on its data without a run folder: the
 * seconds of a training step (the mean of nsteps after one warm-up step),
 * of the evaluation-mode f per image, and the sizes of the split. */
typedef struct {
    double step_s, embed_image_s;
    int64_t steps_per_epoch, ntrain, nval, ntest;
} DtclTrainTiming;
int dtcl_train_time(const DtclTrainConfig *c, int nsteps, DtclTrainTiming *t, DtclError *err);

/* What the run's strategy does to images idx (n dataset indices) at a saved
 * epoch: Lambda (n,7) from M of checkpoints/epoch-NNN (ssl, proposed) or
 * drawn as in that epoch's first step (the others), X (n,S,S) and
 * X_M = T(X, Lambda) (n,S,S); with masks (n,S,S), xmask gets them through
 * the geometric steps (flips, rotation) with the same Lambda: where the
 * tumour lies in X_M (`dtcl figures`). Any output may be NULL. */
int dtcl_train_views(const char *run, int epoch, const int64_t *idx, int n, const float *masks, float *x, float *xm,
                     float *lambda, float *xmask, DtclError *err);

/* Reads RUN/config.json into c (for --resume). */
int dtcl_train_config_load(const char *run, DtclTrainConfig *c, DtclError *err);

/* The run's split of ds: its split.csv, or drawn from split_seed (split.h);
 * train_fraction of the training images kept (drawn from split_seed, the
 * labelled ones first); the labelled subset drawn at the label fraction among
 * the kept training images from label_seed, or, with a split.csv and no
 * label_seed, the file's labelled column. Training and evaluation both use
 * this. */
int dtcl_train_split(const DtclDataset *ds, const DtclTrainConfig *c, int8_t *split, int8_t *labelled,
                     DtclError *err);

/* The epochs of RUN/checkpoints/epoch-NNN.safetensors, ascending (at most
 * max); -1 when there is no checkpoints folder. */
int dtcl_train_list_epochs(const char *run, int *epochs, int max);
/* The newest of them, or -1. */
int dtcl_train_newest_epoch(const char *run);

/* What evaluation and figures start from: the run's config, its dataset
 * (data, or the run's own when NULL) and its split (dtcl_train_split) in
 * *split and *labelled, allocated (free them, and close ds). */
int dtcl_train_open_run(const char *run, const char *data, DtclTrainConfig *c, DtclDataset *ds, int8_t **split,
                        int8_t **labelled, DtclError *err);

/* Set by the SIGINT handler; the loop saves and stops after the current step. */
extern volatile int dtcl_train_stop;

#endif
