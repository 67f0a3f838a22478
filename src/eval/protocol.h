/* protocol.h: the ways a frozen encoder f is scored on the hold-out test
 * sets, one row of a table each. h = f(X) in evaluation mode, projection
 * head removed; every protocol gives each test image a score, and the AUC
 * of a test set is the Mann-Whitney AUC of its images' scores.
 *   linear   the paper's section 2.4 (SPEC section 6): an L2 logistic
 *            regression on h standardised within the test set, stratified
 *            3-fold cross-validation inside it; score = the held-out
 *            decision value. The headline.
 *   linear-grouped
 *            the same with whole patients in each fold: the paper's folds
 *            put slices of one patient (nearly the same image, mostly the
 *            same label) on both sides, which rewards recognising patients.
 *   knn      the paper's folds; score = the share of positives among the
 *            10 most cosine-similar images of the other folds.
 *   probe10  a label-efficient probe: the logistic regression fitted on the
 *   probe1   training images whose labels a run at 10% (1%) supervision
 *            sees (drawn like the run's labelled subset, from its label
 *            seed: probe10's images are those of a 10% run, probe1's a
 *            subset of them), standardised with their own statistics;
 *            score = its decision value on each test image.
 * The CV protocols answer "is the class linearly (or locally) separable in
 * h given labels of the test set itself", which random features already
 * saturate on easy data; the probes answer "how well does h generalise
 * from the few labels training had". */
#ifndef DTCL_PROTOCOL_H
#define DTCL_PROTOCOL_H

#include <stdint.h>

#include "data/dataset.h"

typedef enum {
    DTCL_PROTO_LINEAR,
    DTCL_PROTO_LINEAR_GROUPED,
    DTCL_PROTO_KNN,
    DTCL_PROTO_PROBE10,
    DTCL_PROTO_PROBE1,
    DTCL_NPROTOCOLS
} DtclProtocol;

#define DTCL_EVAL_FOLDS 3
#define DTCL_EVAL_KNN 10

typedef struct {
    const char *name;      /* --protocols, scores/epoch-NNN.csv's column */
    const char *prefix;    /* eval.csv's columns: PREFIXtest0..2, PREFIXmean, PREFIXstd ("" for linear) */
    const char *title;     /* for tables and legends */
    double label_fraction; /* probes: the training images whose labels fit it; 0: cross-validated in the test set */
    int grouped;           /* cross-validated with whole patients in each fold */
} DtclProtocolInfo;

extern const DtclProtocolInfo dtcl_protocols[DTCL_NPROTOCOLS];

/* "all" or a comma-separated list of names to a bit mask (bit p for
 * protocol p); 0 with a message in msg (size) naming the unknown one. */
unsigned dtcl_protocol_parse(const char *list, char *msg, int size);
/* The names joined by ", ", for help texts. */
const char *dtcl_protocol_names(void);

/* score (n) <- the cross-validated scores of a CV protocol (linear,
 * linear-grouped, knn) for the images h (n,d) of one test set with labels y
 * and patients `patient' (used by the grouped protocol); folds from seed
 * (logreg.h, dtcl_cv_folds). */
void dtcl_protocol_cv_scores(DtclProtocol p, const float *h, const int8_t *y, const int *patient, int64_t n, int d,
                             uint64_t seed, double *score);

/* score (n) <- the decision values on h (n,d) of the logistic regression
 * fitted on htr (ntr,d) with labels ytr. */
void dtcl_protocol_probe_scores(const float *htr, const int8_t *ytr, int64_t ntr, const float *h, int64_t n, int d,
                                double *score);

/* labelled (ds->n) <- 1 for the training images of `split` that fit probe
 * p, drawn from seed as a run's labelled subset is (split.h). */
void dtcl_protocol_probe_images(DtclProtocol p, const DtclDataset *ds, const int8_t *split, uint64_t seed,
                                int8_t *labelled);

/* k-nearest-neighbour scores on the folds of dtcl_cv_folds: each row the
 * share of positives among its k most cosine-similar rows of the other
 * folds. x (n,d), standardised. */
void dtcl_knn_cv_scores(const float *x, const int8_t *y, int64_t n, int d, int folds, int k, uint64_t seed,
                        double *score);

#endif
