/* logreg.h: L2-regularised logistic regression and the AUC, the linear
 * protocol of the paper's section 2.4 (SPEC section 6).
 *   minimise (1/n) sum_i log(1 + exp(-s_i (x_i w + b))) + (lambda/2) ||w||^2,
 * s_i = +-1, on standardised features, by L-BFGS (10 pairs, Armijo
 * backtracking) to a gradient norm below 1e-6 or 500 iterations; lambda = 1/n
 * (scikit-learn's default C = 1). AUC: Mann-Whitney, ties counted half. */
#ifndef DTCL_LOGREG_H
#define DTCL_LOGREG_H

#include <stdint.h>

/* AUC of scores for labels y in {0,1}; NaN without both classes. */
double dtcl_auc(const double *score, const int8_t *y, int64_t n);

/* Fits on (n,d) rows x (standardised inside) and returns the decision values
 * of the (m,d) rows t in out (m). */
void dtcl_logreg_fit_predict(const float *x, const int8_t *y, int64_t n, int d, const float *t, int64_t m,
                             double *out);

/* Stratified folds: fold[i] in 0..folds-1 for each of the n rows. Units
 * (groups when group is not NULL, else rows), each with its majority label,
 * ordered randomly from the seed within a class and dealt round-robin. The
 * folds of dtcl_logreg_cv_auc, and of the k-NN evaluation (eval.h). */
void dtcl_cv_folds(const int8_t *y, const int *group, int64_t n, int folds, uint64_t seed, int *fold);

/* Stratified k-fold cross-validation: folds drawn from the seed, each class
 * spread evenly; when group is not NULL, whole groups (patients) stay in one
 * fold. score[i] (n) <- the decision value of row i from the model fitted
 * on the other folds. */
void dtcl_logreg_cv_scores(const float *x, const int8_t *y, const int *group, int64_t n, int d, int folds,
                           uint64_t seed, double *score);
/* The AUC of dtcl_logreg_cv_scores's pooled held-out decision values. */
double dtcl_logreg_cv_auc(const float *x, const int8_t *y, const int *group, int64_t n, int d, int folds,
                          uint64_t seed);

#endif
