/* split.c: patient-disjoint, label-stratified splits (see split.h). */
#include "data/split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomicfile.h"
#include "base/rng.h"

void dtcl_split_options_default(DtclSplitOptions *o)
{
    o->test_sets = 3;
    o->test_size = 0;
    o->val_fraction = 0.1;
    o->label_fraction = 0.1;
    o->seed = 0;
}

/* A permutation of 0..n-1 drawn from the stream (Fisher-Yates). */
static void permutation(int64_t *p, int64_t n, uint64_t seed, uint32_t item)
{
    DtclStream s = {seed, DTCL_RNG_SPLIT, 0, 0, item};
    double *u = DTCL_MALLOC(sizeof(double) * (size_t)(n + 1));
    dtcl_rng_uniform(&s, u, (size_t)n);
    for (int64_t i = 0; i < n; i++)
        p[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(u[i] * (double)(i + 1));
        if (j > i)
            j = i;
        int64_t t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    free(u);
}

void dtcl_split_draw_labelled(const DtclDataset *ds, const int8_t *split, double fraction, uint64_t seed,
                              int8_t *labelled)
{
    int64_t N = ds->n;
    int64_t *perm = DTCL_MALLOC(sizeof(int64_t) * (size_t)(N + 1));
    permutation(perm, N, seed, 1);
    for (int64_t i = 0; i < N; i++)
        labelled[i] = 0;
    for (int c = 0; c <= 1; c++) {
        int64_t nc = 0;
        for (int64_t i = 0; i < N; i++)
            nc += split[i] == DTCL_SPLIT_TRAIN && ds->label[i] == c;
        int64_t take = (int64_t)llround(fraction * (double)nc), got = 0;
        if (take == 0 && nc > 0)
            take = 1;
        for (int64_t k = 0; k < N && got < take; k++) {
            int64_t i = perm[k];
            if (split[i] == DTCL_SPLIT_TRAIN && ds->label[i] == c) {
                labelled[i] = 1;
                got++;
            }
        }
    }
    free(perm);
}

void dtcl_split_subsample_train(const DtclDataset *ds, int8_t *split, int8_t *labelled, double fraction,
                                uint64_t seed)
{
    int64_t N = ds->n, ntrain = 0;
    for (int64_t i = 0; i < N; i++)
        ntrain += split[i] == DTCL_SPLIT_TRAIN;
    int64_t keep = (int64_t)llround(fraction * (double)ntrain), kept = 0;
    int64_t *perm = DTCL_MALLOC(sizeof(int64_t) * (size_t)(N + 1));
    int8_t *stay = DTCL_CALLOC((size_t)N + 1, 1);
    permutation(perm, N, seed, 2);
    for (int pass = 0; pass < 2; pass++) /* the labelled images first, then the others */
        for (int64_t k = 0; k < N && kept < keep; k++) {
            int64_t i = perm[k];
            if (split[i] == DTCL_SPLIT_TRAIN && !stay[i] && (pass == 1 || labelled[i])) {
                stay[i] = 1;
                kept++;
            }
        }
    for (int64_t i = 0; i < N; i++)
        if (split[i] == DTCL_SPLIT_TRAIN && !stay[i]) {
            split[i] = DTCL_SPLIT_NONE;
            labelled[i] = 0;
        }
    free(stay);
    free(perm);
}

int dtcl_split_make(const DtclDataset *ds, const DtclSplitOptions *o, int8_t *split, int8_t *labelled,
                    DtclError *err)
{
    int P = ds->npatients, T = o->test_sets;
    int64_t N = ds->n;
    if (T < 0 || T > 3)
        return dtcl_fail(err, "%d test sets (expected 0 to 3)", T);
    if (!(o->val_fraction >= 0 && o->val_fraction < 1) || !(o->label_fraction > 0 && o->label_fraction <= 1))
        return dtcl_fail(err, "fractions out of range (validation in [0,1), labelled in (0,1])");
    int need = T + 1 + (o->val_fraction > 0);
    if (P < need)
        return dtcl_fail(err, "%d patient%s cannot make %d patient-disjoint test set%s, %sa training set", P,
                         P == 1 ? "" : "s", T, T == 1 ? "" : "s", o->val_fraction > 0 ? "a validation set and " : "");
    int64_t test_size = o->test_size > 0 ? o->test_size : (N / 10 < 1000 ? (N / 10 > 0 ? N / 10 : 1) : 1000);
    int64_t *npat = DTCL_CALLOC((size_t)P + 1, sizeof(int64_t)), *ppat = DTCL_CALLOC((size_t)P + 1, sizeof(int64_t));
    int64_t pos = 0, known = 0;
    for (int64_t i = 0; i < N; i++) {
        npat[ds->patient_of[i]]++;
        ppat[ds->patient_of[i]] += ds->label[i] == 1;
        pos += ds->label[i] == 1;
        known += ds->label[i] >= 0;
    }
    double rate = known ? (double)pos / known : 0.5;
    int64_t *order = DTCL_MALLOC(sizeof(int64_t) * (size_t)(P + 1));
    int8_t *where = DTCL_MALLOC((size_t)P + 1), *trial = DTCL_MALLOC((size_t)P + 1);
    int64_t tsize[3] = {0}, tpos[3] = {0}, pool = 0;
    double best_cost = 1e300;
    /* the greedy pass below, over 64 patient orders drawn from the seed: keep the
     * assignment whose test sets are nearest their size and the dataset's rate */
    for (int attempt = 0; attempt < 64; attempt++) {
        permutation(order, P, o->seed, 100u + (uint32_t)attempt);
        int64_t sz[3] = {0}, ps[3] = {0}, pl = 0;
        for (int64_t k = 0; k < P; k++) {
            int p = (int)order[k], best = -1;
            double best_score = 1e300;
            int left = (int)(P - k); /* leave enough patients for training (and validation) */
            for (int t = 0; t < T && left > need - T; t++) {
                if (sz[t] >= test_size)
                    continue;
                double r = (double)(ps[t] + ppat[p]) / (double)(sz[t] + npat[p]);
                double score = (double)sz[t] / (double)test_size + fabs(r - rate);
                if (score < best_score) {
                    best_score = score;
                    best = t;
                }
            }
            if (best >= 0) {
                trial[p] = (int8_t)(DTCL_SPLIT_TEST0 + best);
                sz[best] += npat[p];
                ps[best] += ppat[p];
            } else {
                trial[p] = DTCL_SPLIT_TRAIN;
                pl += npat[p];
            }
        }
        double cost = 0;
        for (int t = 0; t < T; t++)
            cost += (sz[t] ? fabs((double)ps[t] / sz[t] - rate) : 1.0) + fabs((double)(sz[t] - test_size)) / test_size;
        if (cost < best_cost) {
            best_cost = cost;
            memcpy(where, trial, (size_t)P);
            memcpy(tsize, sz, sizeof sz);
            memcpy(tpos, ps, sizeof ps);
            pool = pl;
        }
    }
    free(trial);
    permutation(order, P, o->seed, 0); /* the order in which validation takes patients */
    for (int t = 0; t < T; t++)
        if (tsize[t] == 0) {
            free(npat); free(ppat); free(order); free(where);
            return dtcl_fail(err, "test set %d is empty: too few patients for %d test sets", t, T);
        }
    /* validation: patients of the pool, in the same order, up to val_fraction of the pool */
    int64_t val = 0, target = (int64_t)llround(o->val_fraction * (double)pool);
    for (int64_t k = 0; k < P && val < target; k++) {
        int p = (int)order[k];
        if (where[p] == DTCL_SPLIT_TRAIN && pool - val - npat[p] > 0) {
            where[p] = DTCL_SPLIT_VAL;
            val += npat[p];
        }
    }
    for (int64_t i = 0; i < N; i++) {
        split[i] = where[ds->patient_of[i]];
        labelled[i] = 0;
    }
    dtcl_split_draw_labelled(ds, split, o->label_fraction, o->seed, labelled);
    free(npat);
    free(ppat);
    free(order);
    free(where);
    return 0;
}

int dtcl_split_write(const char *path, const DtclDataset *ds, const int8_t *split, const int8_t *labelled,
                     DtclError *err)
{
    DtclOutFile out;
    if (dtcl_out_open(&out, path, err) != 0)
        return -1;
    fputs("id,split,labelled\n", out.f);
    for (int64_t i = 0; i < ds->n; i++) {
        if (split[i] < 0)
            continue; /* in no split (a training share left out): absent, as the reader expects */
        dtcl_csv_write_field(out.f, ds->id[i]);
        fprintf(out.f, ",%s,%d\n", dtcl_split_names[split[i]], labelled[i]);
    }
    return dtcl_out_commit(&out, err);
}
