/* eval.h: the linear evaluation of the paper's section 2.4 (SPEC section 6)
 * for the checkpoints of a run: for each hold-out test set, h = f(X) in
 * evaluation mode (no transformation, projection head removed), an
 * L2-regularised logistic regression on standardised h with stratified
 * 3-fold cross-validation inside the test set, the AUC of the held-out
 * decision values; then the mean and standard deviation over the test sets.
 * A second view: the same folds with a k-nearest-neighbour classifier
 * (k = 10, cosine similarity on standardised h), its AUC averaged likewise.
 * The encoder is only read. */
#ifndef DTCL_EVAL_H
#define DTCL_EVAL_H

#include <stdint.h>
#include <stdio.h>

#include "backend/device.h"
#include "base/error.h"

#define DTCL_EVAL_FOLDS 3
#define DTCL_EVAL_KNN 10

typedef struct {
    int epoch;
    int ntests;
    double auc[3];    /* test0..test2 (NaN when a set is missing or one-class) */
    double mean, std; /* over the test sets present (std: population, 0 for one set) */
    double knn_mean;
} DtclEvalRow;

/* Evaluates the run's checkpoints/epoch-NNN.safetensors for the given
 * epochs (all when nepochs is 0) on `data` (the run's dataset when NULL),
 * prints a table on `out` and writes RUN/eval.csv atomically. Features are
 * cached in RUN/features/. rows (nepochs or all) may be NULL. The
 * representations are computed on `device` (train/step.h, dtcl_step_embed_all). */
int dtcl_eval_run(const char *run, const char *data, DtclDevice device, const int *epochs, int nepochs, FILE *out,
                  DtclEvalRow *rows, int maxrows, int *nrows, DtclError *err);

/* RUN/eval.csv's rows (at most max) in file order, ntests counted from the
 * AUCs present; 0 when there is no eval.csv. */
int dtcl_eval_read(const char *run, DtclEvalRow *rows, int max);

/* k-nearest-neighbour AUC on the folds of dtcl_cv_folds (logreg.h): each held-out row scores the share of positives among
 * its k most cosine-similar rows of the other folds. x (n,d), standardised. */
double dtcl_knn_cv_auc(const float *x, const int8_t *y, int64_t n, int d, int folds, int k, uint64_t seed);

#endif
