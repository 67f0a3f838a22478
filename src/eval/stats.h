/* stats.h: paired comparisons of two representations A and B scored on the
 * same test images (eval.h's scores), as `dtcl experiment report' makes
 * them for each claim of the paper.
 *
 * The quantity is the paper's: delta = mean over repeats r (supervision
 * sets, paired: repeat r of A and of B share seed and labelled subset) and
 * test sets t of AUC_A(r,t) - AUC_B(r,t). Its variance has two parts:
 *   test patients   V_test: the variance of delta over B bootstrap
 *                   replicates that draw, in each test set, its patients with
 *                   replacement (all of a patient's slices together, since
 *                   slices of one patient are not independent), the same
 *                   draw for A and B and for every repeat (the pairing);
 *                   AUCs weighted by how often each patient was drawn;
 *   repeats         V_rep = s^2 / R, s^2 the sample variance over the R
 *                   repeats of delta_r (all test images); unknown with R = 1.
 * se = sqrt(V_test + V_rep); the 95% interval is delta +- 1.96 se. The
 * scores are held fixed (a linear probe is not refitted per replicate), so
 * the interval speaks of these probes on a new draw of patients and
 * supervision sets.
 *
 * A difference `target' is resolved (95% two-sided, 80% power) when
 * se <= target / (1.96 + 0.84). V_test shrinks as 1/patients and V_rep as
 * 1/repeats, so the test patients needed with R repeats fixed are
 * P V_test / (se_needed^2 - V_rep), and the repeats needed with the
 * patients fixed R V_rep / (se_needed^2 - V_test); infinite when the other
 * part alone is too large. */
#ifndef DTCL_STATS_H
#define DTCL_STATS_H

#include <stdint.h>

typedef struct {
    int64_t n;          /* images */
    const int8_t *y;    /* (n) 0 or 1 */
    const int *patient; /* (n) 0..npatients-1 */
    int npatients;
} DtclStatsTest;

typedef struct {
    int boot;      /* bootstrap replicates (default 2000) */
    uint64_t seed; /* of the replicates' draws */
    double target; /* the difference to resolve (default 0.01) */
} DtclStatsOptions;

typedef struct {
    double delta;               /* mean over repeats and test sets of AUC_A - AUC_B */
    double se, lo, hi;          /* standard error and the 95% interval */
    double se_test, se_rep;     /* its two parts; se_rep NaN with one repeat (then taken as 0) */
    int nrep, npatients, nboot; /* repeats, test patients, replicates used */
    double patients_needed;     /* test patients that resolve `target' with nrep repeats */
    double repeats_needed;      /* repeats that resolve it with these patients (NaN: one repeat) */
} DtclPaired;

void dtcl_stats_options_default(DtclStatsOptions *o);

/* The AUC (Mann-Whitney, ties half) of scores for labels y with weights w
 * (a weight k counts the image k times); NaN without both classes. */
double dtcl_auc_weighted(const double *score, const int8_t *y, const double *w, int64_t n);

/* a[r * ntests + t] and b[r * ntests + t]: the scores of A and B on the
 * images of test set t (tests[t].n each) in repeat r < nrep. 0, or -1 when
 * no test set has both classes. */
int dtcl_paired_auc(const DtclStatsTest *tests, int ntests, const double *const *a, const double *const *b, int nrep,
                    const DtclStatsOptions *o, DtclPaired *res);

/* What a claim says of delta = A - B: A is better, or A and B are within
 * +-margin of each other. */
typedef enum { DTCL_CLAIM_BETTER, DTCL_CLAIM_EQUIVALENT } DtclClaim;
typedef enum { DTCL_VERDICT_HOLDS, DTCL_VERDICT_REVERSED, DTCL_VERDICT_UNRESOLVED } DtclVerdict;
extern const char *const dtcl_verdict_names[3];

/* better: holds when lo > 0, reversed when hi < 0; equivalent: holds when
 * -margin < lo and hi < margin, reversed when lo > margin or hi < -margin;
 * otherwise not resolved at this size. */
DtclVerdict dtcl_verdict(DtclClaim claim, double margin, double lo, double hi);

#endif
