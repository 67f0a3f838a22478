/* views.h: what a run's strategy does to chosen images at a saved epoch, as
 * its training did it, for the figures (paper Fig. 3). */
#ifndef DTCL_VIEWS_H
#define DTCL_VIEWS_H

#include <stdint.h>

#include "base/error.h"
#include "train/run.h"

/* Lambda (n,7) from M of checkpoints/epoch-NNN (ssl, proposed) or drawn as
 * in that epoch's first step (the others), X (n,S,S) and X_M = T(X, Lambda)
 * (n,S,S) for images idx (n dataset indices); with masks (n,S,S), xmask gets
 * them through the stages that move pixels (flips, rotation) with the same
 * Lambda: where the tumour lies in X_M. Any output may be NULL. */
int dtcl_train_views(const char *run, int epoch, const int64_t *idx, int n, const float *masks, float *x, float *xm,
                     float *lambda, float *xmask, DtclError *err);

#endif
