/* run.h: the run folder, what `dtcl train' writes and evaluation, figures and
 * experiments read (SPEC sections 4, 5, 7):
 *   RUN/config.json      every setting, defaults included, and the build
 *   RUN/split.csv        the split the run used
 *   RUN/metrics.csv      one row per epoch: losses, validation BCE and AUC of p,
 *                        mean and standard deviation of each lambda_k per class,
 *                        seconds
 *   RUN/checkpoints/epoch-NNN.safetensors  (checkpoint.h), epoch 0 included;
 *   last.safetensors after every epoch; interrupted.safetensors on SIGINT
 * and what a run's configuration builds: its split, its model, its T. */
#ifndef DTCL_RUN_H
#define DTCL_RUN_H

#include <stdint.h>

#include "backend/device.h"
#include "base/error.h"
#include "base/progress.h"
#include "data/dataset.h"
#include "nets/model.h"
#include "nn/nce.h"
#include "train/strategy.h"
#include "transform/transform.h"

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
    int quiet;               /* no lines on stderr but errors (and, with progress, its live line) */
    DtclProgress *progress;  /* the caller's progress (base/progress.h), or NULL: a line of the run's own */
} DtclTrainConfig;

/* The defaults of `dtcl train` for a strategy (alpha from its row). */
void dtcl_train_config_default(DtclTrainConfig *c, DtclStrategy s);
/* M's learning rate in effect (lr_m, or its default for the alphas). */
double dtcl_train_lr_m(const DtclTrainConfig *c);
/* Whether Lambda comes from M (ssl, proposed). */
int dtcl_strategy_uses_m(DtclStrategy s);

/* RUN/config.json: c and the threads it ran with, written atomically; read
 * back into c (for --resume, evaluation and figures). */
int dtcl_run_config_save(const char *run, const DtclTrainConfig *c, int threads, DtclError *err);
/* config.json's text, as checkpoints carry it in their metadata (free()). */
char *dtcl_run_config_text(const DtclTrainConfig *c, int threads);
int dtcl_train_config_load(const char *run, DtclTrainConfig *c, DtclError *err);

/* The run's split of ds: its split.csv, or drawn from split_seed (split.h);
 * train_fraction of the training images kept (drawn from split_seed, the
 * labelled ones first); the labelled subset drawn at the label fraction among
 * the kept training images from label_seed, or, with a split.csv and no
 * label_seed, the file's labelled column. Training and evaluation both use
 * this. */
int dtcl_train_split(const DtclDataset *ds, const DtclTrainConfig *c, int8_t *split, int8_t *labelled,
                     DtclError *err);
/* What evaluation and figures start from: the run's config, its dataset
 * (data, or the run's own when NULL) and its split (dtcl_train_split) in
 * *split and *labelled, allocated (free them, and close ds). */
int dtcl_train_open_run(const char *run, const char *data, DtclTrainConfig *c, DtclDataset *ds, int8_t **split,
                        int8_t **labelled, DtclError *err);

/* The model of a run for images of S x S: its encoder and widths, drawn from
 * the seed, f from c->init when given; -1 with err when S is too small. */
int dtcl_run_model(const DtclTrainConfig *c, int S, DtclModel *md, DtclError *err);
/* The model configuration of a run: its encoder (and widths for fcn). */
int dtcl_train_model_config(const DtclTrainConfig *c, DtclModelConfig *mc, DtclError *err);
/* T of a run for S x S images, and T without its stages that have no
 * identity (the crop), for simclr's draws: *has_nocrop 0 when there is no
 * such stage, or no other. */
int dtcl_run_transforms(const DtclTrainConfig *c, int S, DtclTransform *tr, DtclTransform *nocrop,
                        int *has_nocrop, DtclError *err);

/* checkpoints/epoch-NNN.safetensors, last.safetensors, interrupted.safetensors */
typedef enum { DTCL_RUN_EPOCH, DTCL_RUN_LAST, DTCL_RUN_INTERRUPTED } DtclRunFile;
void dtcl_run_checkpoint_path(char *path, size_t size, const char *run, DtclRunFile kind, int epoch);
/* The epochs of RUN/checkpoints/epoch-NNN.safetensors, ascending (at most
 * max); -1 when there is no checkpoints folder. */
int dtcl_train_list_epochs(const char *run, int *epochs, int max);
/* The newest of them, or -1. */
int dtcl_train_newest_epoch(const char *run);
/* Where a resumed run starts: the newest of the epoch files and
 * last.safetensors (its epoch from the metadata); the epoch, and the file in
 * path, or -1. */
int dtcl_run_resume_point(const char *run, char *path, size_t size);

/* RUN/metrics.csv rewritten with its rows of epochs <= keep_epoch, then
 * `row` (a line, or NULL). */
int dtcl_run_metrics_write(const char *run, int keep_epoch, const char *row, DtclError *err);

#endif
