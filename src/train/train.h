/* train.h: training runs (paper section 3, SPEC sections 4 and 5): every
 * strategy of the paper's comparison (strategy.h), one epoch after another
 * over a dataset's training split, into a run folder (run.h). Per batch
 * (SPEC section 4): Lambda from M (ssl, proposed) or drawn (the others),
 * X_M = T(X, Lambda), the M step, then the encoder step (step.h). Random
 * numbers come from the run's seed by purpose, epoch, step and image index
 * (rng.h), so a resumed run ends bitwise where an uninterrupted one would. */
#ifndef DTCL_TRAIN_H
#define DTCL_TRAIN_H

#include <stdint.h>

#include "base/error.h"
#include "train/run.h"

/* Runs (or, with resume, continues) a run into the folder `run`. A new run
 * refuses an existing folder. Returns 0, or -1 with err (bad input: exit 2),
 * or -2 with err (a failure at run time, such as a non-finite loss or a
 * device's: exit 1). *interrupted is set when SIGINT stopped it after saving. */
int dtcl_train_run(const DtclTrainConfig *c, const char *run, int resume, int *interrupted, DtclError *err);

/* What one run of c costs, measured on its data without a run folder: the
 * seconds of a training step (the mean of nsteps after one warm-up step),
 * of the evaluation-mode f per image, and the sizes of the split. */
typedef struct {
    double step_s, embed_image_s;
    int64_t steps_per_epoch, ntrain, nval, ntest;
} DtclTrainTiming;
int dtcl_train_time(const DtclTrainConfig *c, int nsteps, DtclTrainTiming *t, DtclError *err);

/* Set by the SIGINT handler; the loop saves and stops after the current step. */
extern volatile int dtcl_train_stop;

#endif
