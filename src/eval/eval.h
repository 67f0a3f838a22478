/* eval.h: the evaluation of a run's checkpoints on its hold-out test sets
 * (paper section 2.4, SPEC section 6) under each protocol of protocol.h:
 * the paper's linear evaluation (the headline), k-NN, and the probes fitted
 * on 10% and 1% of the training labels. For each checkpoint, h = f(X) of
 * the test images and of the probes' training images, in evaluation mode;
 * each protocol scores every test image; a test set's AUC is that of its
 * images' scores; mean and std (population) over the test sets present.
 * Writes RUN/eval.csv (one row per epoch, every protocol's columns) and
 * RUN/scores/epoch-NNN.csv (every test image's score under each protocol:
 * what paired statistics across runs resample, stats.h). The encoder is
 * only read. */
#ifndef DTCL_EVAL_H
#define DTCL_EVAL_H

#include <stdint.h>
#include <stdio.h>

#include "backend/device.h"
#include "base/error.h"
#include "base/progress.h"
#include "io/csv.h"
#include "eval/protocol.h"

typedef struct {
    int epoch;
    int ntests;                     /* test sets with a linear AUC */
    double auc[DTCL_NPROTOCOLS][3]; /* test0..test2 (NaN: missing, one-class, or not evaluated) */
    double mean[DTCL_NPROTOCOLS], std[DTCL_NPROTOCOLS];
} DtclEvalRow;

typedef struct {
    const char *data;       /* the dataset (NULL: the run's) */
    DtclDevice device;      /* where h = f(X) is computed (train/step.h, dtcl_step_embed_all) */
    const int *epochs;      /* the checkpoints to evaluate; nepochs 0: all */
    int nepochs;
    unsigned protocols;     /* bits of protocol.h; the others keep what an earlier evaluation wrote */
    DtclProgress *progress; /* the caller's progress, whose current task this evaluation is; NULL: none */
} DtclEvalOptions;

/* Every protocol, every checkpoint, the run's data, the CPU, no progress. */
void dtcl_eval_options_default(DtclEvalOptions *o);

/* Evaluates the run's checkpoints/epoch-NNN.safetensors, prints a table on
 * `out' (may be NULL), writes RUN/eval.csv and RUN/scores/ atomically.
 * Features are cached in RUN/features/. rows (the epochs evaluated, at most
 * maxrows) may be NULL. */
int dtcl_eval_run(const char *run, const DtclEvalOptions *o, FILE *out, DtclEvalRow *rows, int maxrows, int *nrows,
                  DtclError *err);

/* RUN/eval.csv's rows (at most max) in file order; columns the file lacks
 * (an older dtcl) read as NaN. 0 when there is no eval.csv. */
int dtcl_eval_read(const char *run, DtclEvalRow *rows, int max);

/* RUN/scores/epoch-NNN.csv: id,test,patient,label, then one column of
 * scores per protocol (empty when not evaluated). */
typedef struct {
    DtclCsv csv;
    int64_t n;                          /* test images, by test set */
    const char **id, **patient;         /* (n) into csv */
    int8_t *test, *label;               /* (n): 0..2; 0 or 1 */
    double *score[DTCL_NPROTOCOLS];     /* (n) each, NaN where not evaluated */
} DtclEvalScores;

/* Reads RUN/scores/epoch-NNN.csv; 1 when it does not exist, -1 with err when it is damaged. */
int dtcl_eval_scores_load(const char *run, int epoch, DtclEvalScores *s, DtclError *err);
void dtcl_eval_scores_free(DtclEvalScores *s);
/* Whether RUN/scores/epoch-NNN.csv exists with a column for every protocol. */
int dtcl_eval_complete(const char *run, int epoch);

#endif
