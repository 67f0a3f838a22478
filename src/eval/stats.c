/* stats.c: paired AUC differences with a bootstrap over test patients and
 * the spread between repeats (see stats.h). */
#include "eval/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"

const char *const dtcl_verdict_names[3] = {"holds", "reversed", "not resolved"};

void dtcl_stats_options_default(DtclStatsOptions *o)
{
    o->boot = 2000;
    o->seed = 1;
    o->target = 0.01;
}

/* ---------------------------------------------------------------- weighted AUC */

typedef struct {
    double v;
    int64_t i;
} Keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const Keyed *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* ord (n) <- the images by ascending score. */
static void sort_scores(const double *score, int64_t n, int64_t *ord)
{
    Keyed *k = DTCL_MALLOC(sizeof(Keyed) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++)
        k[i] = (Keyed){score[i], i};
    qsort(k, (size_t)n, sizeof *k, cmp_keyed);
    for (int64_t i = 0; i < n; i++)
        ord[i] = k[i].i;
    free(k);
}

/* Mann-Whitney with weights over the images in ascending order ord: each
 * positive scores the weight of the negatives below it, half of those tied. */
static double auc_sorted(const double *score, const int8_t *y, const double *w, const int64_t *ord, int64_t n)
{
    double below = 0, num = 0, wpos = 0;
    for (int64_t i = 0; i < n;) {
        double tp = 0, tn = 0, v = score[ord[i]];
        int64_t j = i;
        for (; j < n && score[ord[j]] == v; j++) {
            int64_t k = ord[j];
            double wk = w ? w[k] : 1.0;
            if (y[k] == 1)
                tp += wk;
            else if (y[k] == 0)
                tn += wk;
        }
        num += tp * (below + 0.5 * tn);
        below += tn;
        wpos += tp;
        i = j;
    }
    return wpos > 0 && below > 0 ? num / (wpos * below) : NAN;
}

double dtcl_auc_weighted(const double *score, const int8_t *y, const double *w, int64_t n)
{
    int64_t *ord = DTCL_MALLOC(sizeof(int64_t) * (size_t)(n + 1));
    sort_scores(score, n, ord);
    double auc = auc_sorted(score, y, w, ord, n);
    free(ord);
    return auc;
}

/* ---------------------------------------------------------------- the paired difference */

static double var_sample(const double *x, int n)
{
    if (n < 2)
        return NAN;
    double m = 0, s = 0;
    for (int k = 0; k < n; k++)
        m += x[k];
    m /= n;
    for (int k = 0; k < n; k++)
        s += (x[k] - m) * (x[k] - m);
    return s / (n - 1);
}

/* delta over the repeats and the test sets `use' under weights w[t] (NULL: all 1); NaN when no term is defined.
 * dr (nrep) gets each repeat's delta when not NULL. */
static double weighted_delta(const DtclStatsTest *tests, int T, const double *const *a, const double *const *b,
                             int64_t *const *oa, int64_t *const *ob, int R, const int *use, double *const *w,
                             double *dr)
{
    double sum = 0;
    int n = 0;
    for (int r = 0; r < R; r++) {
        double s = 0;
        int k = 0;
        for (int t = 0; t < T; t++) {
            if (!use[t])
                continue;
            int q = r * T + t;
            const double *wt = w ? w[t] : NULL;
            double d = auc_sorted(a[q], tests[t].y, wt, oa[q], tests[t].n) -
                       auc_sorted(b[q], tests[t].y, wt, ob[q], tests[t].n);
            if (!isnan(d)) {
                s += d;
                k++;
            }
        }
        if (dr)
            dr[r] = k ? s / k : NAN;
        sum += s;
        n += k;
    }
    return n ? sum / n : NAN;
}

int dtcl_paired_auc(const DtclStatsTest *tests, int ntests, const double *const *a, const double *const *b, int nrep,
                    const DtclStatsOptions *o, DtclPaired *res)
{
    int T = ntests, R = nrep, Q = T * R;
    memset(res, 0, sizeof *res);
    res->nrep = R;
    int64_t **oa = DTCL_MALLOC(sizeof(int64_t *) * (size_t)(Q + 1)),
            **ob = DTCL_MALLOC(sizeof(int64_t *) * (size_t)(Q + 1));
    for (int q = 0; q < Q; q++) {
        const DtclStatsTest *t = &tests[q % T];
        oa[q] = DTCL_MALLOC(sizeof(int64_t) * (size_t)(t->n + 1));
        ob[q] = DTCL_MALLOC(sizeof(int64_t) * (size_t)(t->n + 1));
        sort_scores(a[q], t->n, oa[q]);
        sort_scores(b[q], t->n, ob[q]);
    }
    /* a test set counts when it has both classes */
    int *use = DTCL_CALLOC((size_t)T + 1, sizeof(int)), any = 0;
    for (int t = 0; t < T; t++) {
        int pos = 0, neg = 0;
        for (int64_t i = 0; i < tests[t].n; i++) {
            pos |= tests[t].y[i] == 1;
            neg |= tests[t].y[i] == 0;
        }
        use[t] = pos && neg;
        any |= use[t];
        res->npatients += use[t] ? tests[t].npatients : 0;
    }
    double *dr = DTCL_MALLOC(sizeof(double) * (size_t)(R + 1));
    res->delta = any ? weighted_delta(tests, T, a, b, oa, ob, R, use, NULL, dr) : NAN;
    res->se_rep = R > 1 ? sqrt(var_sample(dr, R) / R) : NAN;

    /* the bootstrap over test patients: replicate k draws, in each test set,
     * its patients with replacement from stream (seed, bootstrap, t, k) */
    int B = any ? o->boot : 0;
    double *rep = DTCL_MALLOC(sizeof(double) * (size_t)(B + 1));
#pragma omp parallel
    {
        double **w = DTCL_MALLOC(sizeof(double *) * (size_t)(T + 1));
        int maxp = 1;
        for (int t = 0; t < T; t++) {
            w[t] = DTCL_MALLOC(sizeof(double) * (size_t)(tests[t].n + 1));
            maxp = tests[t].npatients > maxp ? tests[t].npatients : maxp;
        }
        double *u = DTCL_MALLOC(sizeof(double) * (size_t)maxp), *cnt = DTCL_MALLOC(sizeof(double) * (size_t)maxp);
#pragma omp for schedule(static)
        for (int k = 0; k < B; k++) {
            for (int t = 0; t < T; t++) {
                int P = tests[t].npatients;
                if (!use[t] || P == 0)
                    continue;
                DtclStream st = {o->seed, DTCL_RNG_BOOTSTRAP, (uint32_t)t, (uint32_t)k, 0};
                dtcl_rng_uniform(&st, u, (size_t)P);
                memset(cnt, 0, sizeof(double) * (size_t)P);
                for (int p = 0; p < P; p++) {
                    int pick = (int)(u[p] * P);
                    cnt[pick < P ? pick : P - 1] += 1;
                }
                for (int64_t i = 0; i < tests[t].n; i++)
                    w[t][i] = cnt[tests[t].patient[i]];
            }
            rep[k] = weighted_delta(tests, T, a, b, oa, ob, R, use, w, NULL);
        }
        for (int t = 0; t < T; t++)
            free(w[t]);
        free(w);
        free(u);
        free(cnt);
    }
    int nb = 0;
    for (int k = 0; k < B; k++)
        if (!isnan(rep[k]))
            rep[nb++] = rep[k];
    res->nboot = nb;
    res->se_test = nb > 1 ? sqrt(var_sample(rep, nb)) : NAN;
    double vt = res->se_test * res->se_test, vr = R > 1 ? res->se_rep * res->se_rep : 0;
    res->se = sqrt(vt + vr);
    res->lo = res->delta - 1.959964 * res->se;
    res->hi = res->delta + 1.959964 * res->se;
    double need = o->target / (1.959964 + 0.841621); /* the se at which target is resolved */
    need *= need;
    res->patients_needed = vt == 0 ? 0 : need > vr ? ceil(res->npatients * vt / (need - vr)) : INFINITY;
    res->repeats_needed = R < 2 ? NAN : vr == 0 ? 1 : need > vt ? ceil(R * vr / (need - vt)) : INFINITY;
    for (int q = 0; q < Q; q++) {
        free(oa[q]);
        free(ob[q]);
    }
    free(oa);
    free(ob);
    free(use);
    free(dr);
    free(rep);
    return any ? 0 : -1;
}

DtclVerdict dtcl_verdict(DtclClaim claim, double margin, double lo, double hi)
{
    if (isnan(lo) || isnan(hi))
        return DTCL_VERDICT_UNRESOLVED;
    if (claim == DTCL_CLAIM_BETTER)
        return lo > 0 ? DTCL_VERDICT_HOLDS : hi < 0 ? DTCL_VERDICT_REVERSED : DTCL_VERDICT_UNRESOLVED;
    if (lo > -margin && hi < margin)
        return DTCL_VERDICT_HOLDS;
    return lo > margin || hi < -margin ? DTCL_VERDICT_REVERSED : DTCL_VERDICT_UNRESOLVED;
}
