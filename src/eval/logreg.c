/* logreg.c: logistic regression by L-BFGS, AUC, cross-validation (see logreg.h). */
#include "eval/logreg.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"

typedef struct {
    double v;
    int8_t y;
} Scored;

static int cmp_scored(const void *a, const void *b)
{
    double x = ((const Scored *)a)->v, y = ((const Scored *)b)->v;
    return x < y ? -1 : x > y;
}

double dtcl_auc(const double *score, const int8_t *y, int64_t n)
{
    Scored *s = DTCL_MALLOC(sizeof(Scored) * (size_t)(n + 1));
    int64_t npos = 0, nneg = 0;
    for (int64_t i = 0; i < n; i++) {
        s[i].v = score[i];
        s[i].y = y[i];
        npos += y[i] == 1;
        nneg += y[i] == 0;
    }
    qsort(s, (size_t)n, sizeof *s, cmp_scored);
    double rank_sum = 0; /* ranks of the positives, ties averaged */
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j < n && s[j].v == s[i].v)
            j++;
        double avg = 0.5 * (double)(i + 1 + j); /* mean of ranks i+1..j */
        for (int64_t k = i; k < j; k++)
            if (s[k].y == 1)
                rank_sum += avg;
        i = j;
    }
    free(s);
    if (npos == 0 || nneg == 0)
        return NAN;
    return (rank_sum - 0.5 * (double)npos * (double)(npos + 1)) / ((double)npos * (double)nneg);
}

/* f(w) and its gradient; w = (weights d, bias); X (n,d) double, s in +-1. */
static double objective(const double *X, const double *s, int64_t n, int d, const double *w, double lambda,
                        double *g, double *z)
{
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, d, 1.0, X, d, w, 1, 0.0, z, 1);
    double f = 0;
    for (int64_t i = 0; i < n; i++) {
        double m = s[i] * (z[i] + w[d]);
        f += m > 0 ? log1p(exp(-m)) : -m + log1p(exp(m));
        z[i] = -s[i] / (1.0 + exp(m)) / (double)n; /* d loss_i / d z_i, averaged */
    }
    f /= (double)n;
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, d, 1.0, X, d, z, 1, 0.0, g, 1);
    double gb = 0, reg = 0;
    for (int64_t i = 0; i < n; i++)
        gb += z[i];
    for (int k = 0; k < d; k++) {
        g[k] += lambda * w[k];
        reg += w[k] * w[k];
    }
    g[d] = gb;
    return f + 0.5 * lambda * reg;
}

static void lbfgs(const double *X, const double *s, int64_t n, int d, double *w, double lambda)
{
    enum { M = 10, MAXIT = 500 };
    int D = d + 1;
    double *g = DTCL_CALLOC((size_t)D, 8), *gn = DTCL_CALLOC((size_t)D, 8), *p = DTCL_CALLOC((size_t)D, 8),
           *wn = DTCL_CALLOC((size_t)D, 8), *z = DTCL_CALLOC((size_t)n + 1, 8);
    double *S = DTCL_CALLOC((size_t)M * D, 8), *Y = DTCL_CALLOC((size_t)M * D, 8), rho[M], alpha[M];
    double f = objective(X, s, n, d, w, lambda, g, z);
    int k = 0;
    for (int it = 0; it < MAXIT; it++) {
        double gnorm = sqrt(cblas_ddot(D, g, 1, g, 1));
        if (gnorm < 1e-6)
            break;
        /* two-loop recursion: p = -H g */
        memcpy(p, g, sizeof(double) * D);
        int m = k < M ? k : M;
        for (int j = 0; j < m; j++) {
            int c = (k - 1 - j) % M;
            alpha[c] = rho[c] * cblas_ddot(D, S + (size_t)c * D, 1, p, 1);
            cblas_daxpy(D, -alpha[c], Y + (size_t)c * D, 1, p, 1);
        }
        if (m > 0) {
            int c = (k - 1) % M;
            double gamma = cblas_ddot(D, S + (size_t)c * D, 1, Y + (size_t)c * D, 1) /
                           cblas_ddot(D, Y + (size_t)c * D, 1, Y + (size_t)c * D, 1);
            cblas_dscal(D, gamma, p, 1);
        }
        for (int j = m - 1; j >= 0; j--) {
            int c = (k - 1 - j) % M;
            double beta = rho[c] * cblas_ddot(D, Y + (size_t)c * D, 1, p, 1);
            cblas_daxpy(D, alpha[c] - beta, S + (size_t)c * D, 1, p, 1);
        }
        cblas_dscal(D, -1.0, p, 1);
        double slope = cblas_ddot(D, g, 1, p, 1);
        if (slope >= 0) { /* not a descent direction: restart from the gradient */
            for (int q = 0; q < D; q++)
                p[q] = -g[q];
            slope = -gnorm * gnorm;
            k = 0;
        }
        double step = 1.0, fn = 0;
        for (int ls = 0; ls < 40; ls++) {
            for (int q = 0; q < D; q++)
                wn[q] = w[q] + step * p[q];
            fn = objective(X, s, n, d, wn, lambda, gn, z);
            if (fn <= f + 1e-4 * step * slope)
                break;
            step *= 0.5;
        }
        int c = k % M;
        double sy = 0;
        for (int q = 0; q < D; q++) {
            S[(size_t)c * D + q] = wn[q] - w[q];
            Y[(size_t)c * D + q] = gn[q] - g[q];
            sy += S[(size_t)c * D + q] * Y[(size_t)c * D + q];
        }
        memcpy(w, wn, sizeof(double) * D);
        memcpy(g, gn, sizeof(double) * D);
        if (fabs(f - fn) < 1e-12 * fmax(1.0, fabs(f)))
            break;
        f = fn;
        if (sy > 1e-12) {
            rho[c] = 1.0 / sy;
            k++;
        }
    }
    free(g); free(gn); free(p); free(wn); free(z); free(S); free(Y);
}

void dtcl_logreg_fit_predict(const float *x, const int8_t *y, int64_t n, int d, const float *t, int64_t m,
                             double *out)
{
    /* standardise with the training rows' mean and standard deviation */
    double *mean = DTCL_CALLOC((size_t)d, 8), *sd = DTCL_CALLOC((size_t)d, 8);
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < d; k++)
            mean[k] += x[i * d + k];
    for (int k = 0; k < d; k++)
        mean[k] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < d; k++) {
            double e = x[i * d + k] - mean[k];
            sd[k] += e * e;
        }
    for (int k = 0; k < d; k++) {
        sd[k] = sqrt(sd[k] / (double)n);
        if (sd[k] < 1e-12)
            sd[k] = 1;
    }
    double *X = DTCL_MALLOC(sizeof(double) * (size_t)n * d), *s = DTCL_MALLOC(sizeof(double) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) {
        for (int k = 0; k < d; k++)
            X[i * d + k] = (x[i * d + k] - mean[k]) / sd[k];
        s[i] = y[i] == 1 ? 1.0 : -1.0;
    }
    double *w = DTCL_CALLOC((size_t)d + 1, 8);
    lbfgs(X, s, n, d, w, 1.0 / (double)n);
    for (int64_t i = 0; i < m; i++) {
        double v = w[d];
        for (int k = 0; k < d; k++)
            v += w[k] * (t[i * d + k] - mean[k]) / sd[k];
        out[i] = v;
    }
    free(mean); free(sd); free(X); free(s); free(w);
}

typedef struct {
    int64_t g;
    int cls;    /* majority label of the unit */
    double key; /* random */
} UnitKey;

static int cmp_unit(const void *a, const void *b)
{
    const UnitKey *x = a, *y = b;
    if (x->cls != y->cls)
        return y->cls - x->cls;
    return (x->key > y->key) - (x->key < y->key);
}

void dtcl_cv_folds(const int8_t *y, const int *group, int64_t n, int folds, uint64_t seed, int *fold)
{
    double *u = DTCL_MALLOC(sizeof(double) * (size_t)(n + 1));
    DtclStream st = {seed, DTCL_RNG_SPLIT, 0, 0, 7};
    dtcl_rng_uniform(&st, u, (size_t)n);
    /* units: groups (or images), each with its majority label; ordered randomly within a class,
     * then dealt round-robin to the folds so that each fold gets its share of each class */
    int64_t nu = 0;
    int64_t *unit = DTCL_MALLOC(sizeof(int64_t) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) {
        int64_t g = group ? group[i] : i;
        unit[i] = g;
        nu = g + 1 > nu ? g + 1 : nu;
    }
    double *key = DTCL_CALLOC((size_t)nu + 1, 8);
    int64_t *pos = DTCL_CALLOC((size_t)nu + 1, 8), *cnt = DTCL_CALLOC((size_t)nu + 1, 8);
    for (int64_t i = 0; i < n; i++) {
        cnt[unit[i]]++;
        pos[unit[i]] += y[i] == 1;
        key[unit[i]] = u[i];
    }
    UnitKey *order = DTCL_MALLOC(sizeof(UnitKey) * (size_t)(nu + 1));
    int64_t no = 0;
    for (int64_t g = 0; g < nu; g++)
        if (cnt[g])
            order[no++] = (UnitKey){g, 2 * pos[g] >= cnt[g], key[g]};
    qsort(order, (size_t)no, sizeof *order, cmp_unit); /* by class, then randomly */
    int *ufold = DTCL_MALLOC(sizeof(int) * (size_t)(nu + 1));
    for (int64_t k = 0; k < no; k++)
        ufold[order[k].g] = (int)(k % folds);
    for (int64_t i = 0; i < n; i++)
        fold[i] = ufold[unit[i]];
    free(u); free(unit); free(key); free(pos); free(cnt); free(order); free(ufold);
}

void dtcl_logreg_cv_scores(const float *x, const int8_t *y, const int *group, int64_t n, int d, int folds,
                           uint64_t seed, double *score)
{
    int *fold = DTCL_MALLOC(sizeof(int) * (size_t)(n + 1));
    dtcl_cv_folds(y, group, n, folds, seed, fold);
    float *xtr = DTCL_MALLOC(sizeof(float) * (size_t)n * d + 1), *xte = DTCL_MALLOC(sizeof(float) * (size_t)n * d + 1);
    int8_t *ytr = DTCL_MALLOC((size_t)n + 1);
    int64_t *te_idx = DTCL_MALLOC(sizeof(int64_t) * (size_t)(n + 1));
    double *out = DTCL_MALLOC(sizeof(double) * (size_t)(n + 1));
    for (int f = 0; f < folds; f++) {
        int64_t ntr = 0, nte = 0;
        for (int64_t i = 0; i < n; i++) {
            if (fold[i] == f) {
                memcpy(xte + nte * d, x + i * d, sizeof(float) * d);
                te_idx[nte++] = i;
            } else {
                memcpy(xtr + ntr * d, x + i * d, sizeof(float) * d);
                ytr[ntr++] = y[i];
            }
        }
        dtcl_logreg_fit_predict(xtr, ytr, ntr, d, xte, nte, out);
        for (int64_t k = 0; k < nte; k++)
            score[te_idx[k]] = out[k];
    }
    free(fold); free(xtr); free(xte); free(ytr); free(te_idx); free(out);
}

double dtcl_logreg_cv_auc(const float *x, const int8_t *y, const int *group, int64_t n, int d, int folds,
                          uint64_t seed)
{
    double *score = DTCL_MALLOC(sizeof(double) * (size_t)(n + 1));
    dtcl_logreg_cv_scores(x, y, group, n, d, folds, seed, score);
    double auc = dtcl_auc(score, y, n);
    free(score);
    return auc;
}
