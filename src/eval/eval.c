/* eval.c: the linear evaluation of a run's checkpoints (paper section 2.4,
 * SPEC section 6; see eval.h). */
#define _DEFAULT_SOURCE
#include "eval/eval.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include "io/atomicfile.h"
#include "nets/checkpoint.h"
#include "io/csv.h"
#include "data/dataset.h"
#include "train/step.h"
#include "eval/logreg.h"
#include "io/npy.h"
#include "train/run.h"

/* Standardises the columns of x (n,d) in place (mean 0, variance 1; constant columns to 0). */
static void standardise(float *x, int64_t n, int d)
{
    for (int j = 0; j < d; j++) {
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < n; i++)
            s += x[i * d + j];
        double m = n ? s / n : 0;
        for (int64_t i = 0; i < n; i++)
            s2 += (x[i * d + j] - m) * (x[i * d + j] - m);
        double sd = n ? sqrt(s2 / n) : 0;
        for (int64_t i = 0; i < n; i++)
            x[i * d + j] = sd > 0 ? (float)((x[i * d + j] - m) / sd) : 0.0f;
    }
}

double dtcl_knn_cv_auc(const float *x, const int8_t *y, int64_t n, int d, int folds, int k, uint64_t seed)
{
    int *fold = DTCL_MALLOC(sizeof(int) * (size_t)(n + 1));
    dtcl_cv_folds(y, NULL, n, folds, seed, fold); /* the logistic regression's folds */
    double *norm = DTCL_MALLOC(sizeof(double) * (size_t)(n + 1)), *score = DTCL_MALLOC(sizeof(double) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < d; j++)
            s += (double)x[i * d + j] * x[i * d + j];
        norm[i] = sqrt(s) > 0 ? sqrt(s) : 1;
    }
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < n; i++) {
        double best[64];
        int8_t lab[64];
        int kk = k < 64 ? k : 64, m = 0;
        for (int64_t j = 0; j < n; j++) {
            if (fold[j] == fold[i])
                continue;
            double s = 0;
            for (int c = 0; c < d; c++)
                s += (double)x[i * d + c] * x[j * d + c];
            s /= norm[i] * norm[j];
            if (m < kk || s > best[m - 1]) { /* insert into the sorted top k */
                int p = m < kk ? m++ : m - 1;
                while (p > 0 && best[p - 1] < s) {
                    best[p] = best[p - 1];
                    lab[p] = lab[p - 1];
                    p--;
                }
                best[p] = s;
                lab[p] = y[j];
            }
        }
        double pos = 0;
        for (int q = 0; q < m; q++)
            pos += lab[q] == 1;
        score[i] = m ? pos / m : 0.5;
    }
    double auc = dtcl_auc(score, y, n);
    free(fold); free(norm); free(score);
    return auc;
}

/* h of the test images (ordered by test set, then index) for one checkpoint,
 * from RUN/features/ when the cache matches (data path, count, size, device). The
 * images are read into *x on the first miss and kept for the next. */
static int features(const char *run, int epoch, DtclDevice device, const DtclDataset *ds, const int64_t *idx,
                    int64_t n, float **x, float **h, int *d, DtclError *err)
{
    char ck[4300], fp[4300], kp[4300], key[4600];
    snprintf(ck, sizeof ck, "%s/checkpoints/epoch-%03d.safetensors", run, epoch);
    snprintf(fp, sizeof fp, "%s/features/epoch-%03d.npy", run, epoch);
    snprintf(kp, sizeof kp, "%s/features/epoch-%03d.key", run, epoch);
    /* features from the GPU are kept apart from the CPU's: a user compares them */
    snprintf(key, sizeof key, "%s %lld %d%s\n", ds->dir, (long long)n, ds->size,
             device == DTCL_DEVICE_CUDA ? " cuda" : "");
    FILE *f = fopen(kp, "r");
    if (f) {
        char line[4600] = "";
        int ok = fgets(line, sizeof line, f) != NULL && strcmp(line, key) == 0;
        fclose(f);
        DtclNpyInfo info;
        if (ok && dtcl_npy_load(fp, h, &info, NULL) == 0) {
            if (info.rank == 2 && info.shape[0] == n) {
                *d = (int)info.shape[1];
                return 0;
            }
            free(*h);
        }
    }
    DtclModel md;
    if (dtcl_checkpoint_load(ck, &md, DTCL_CK_ENCODER, err) != 0)
        return -1;
    if (ds->size < dtcl_model_min_size(&md.cfg)) {
        dtcl_model_free(&md);
        return dtcl_fail(err, "%s: images of %dx%d are too small for %s", ds->dir, ds->size, ds->size, ck);
    }
    *d = dtcl_encoder_dim(&md.f);
    size_t SS = (size_t)ds->size * ds->size;
    if (!*x) {
        *x = DTCL_MALLOC(sizeof(float) * SS * (size_t)(n + 1));
        dtcl_dataset_load(ds, *x, idx, (int)n);
    }
    *h = DTCL_MALLOC(sizeof(float) * (size_t)n * *d + 1);
    int rc = dtcl_step_embed_all(device, *h, &md, *x, n, ds->size, 64, omp_get_max_threads(), err);
    dtcl_model_free(&md);
    if (rc != 0) {
        free(*h);
        *h = NULL;
        return -1;
    }
    char fd[4300];
    snprintf(fd, sizeof fd, "%s/features", run);
    mkdir(fd, 0777);
    int64_t shape[2] = {n, *d};
    if (dtcl_npy_save(fp, *h, 2, shape, NULL) == 0) {
        DtclOutFile o;
        if (dtcl_out_open(&o, kp, NULL) == 0) {
            fputs(key, o.f);
            dtcl_out_commit(&o, NULL);
        }
    }
    return 0;
}

int dtcl_eval_read(const char *run, DtclEvalRow *rows, int max)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/eval.csv", run);
    DtclCsv csv;
    if (access(path, F_OK) != 0 || dtcl_csv_load(path, &csv, NULL) != 0)
        return 0;
    static const char *const cols[7] = {"epoch", "test0", "test1", "test2", "mean", "std", "knn_mean"};
    int ci[7], ok = 1;
    for (int k = 0; k < 7; k++)
        ok &= (ci[k] = dtcl_csv_column(&csv, cols[k])) >= 0;
    int n = 0;
    for (size_t i = 0; ok && i < csv.nrows && n < max; i++) {
        DtclEvalRow *r = &rows[n++];
        r->epoch = atoi(dtcl_csv_cell(&csv, i, ci[0]));
        r->ntests = 0;
        for (int t = 0; t < 3; t++) {
            r->auc[t] = strtod(dtcl_csv_cell(&csv, i, ci[1 + t]), NULL);
            r->ntests += !isnan(r->auc[t]);
        }
        r->mean = strtod(dtcl_csv_cell(&csv, i, ci[4]), NULL);
        r->std = strtod(dtcl_csv_cell(&csv, i, ci[5]), NULL);
        r->knn_mean = strtod(dtcl_csv_cell(&csv, i, ci[6]), NULL);
    }
    dtcl_csv_free(&csv);
    return n;
}

static int cmp_row_epoch(const void *a, const void *b)
{
    return ((const DtclEvalRow *)a)->epoch - ((const DtclEvalRow *)b)->epoch;
}

/* RUN/eval.csv: the rows already there for other epochs, and `add`, by epoch. */
static int write_eval(const char *run, const DtclEvalRow *add, int nadd, DtclError *err)
{
    enum { MAXROWS = 4096 };
    DtclEvalRow *all = DTCL_MALLOC(sizeof(DtclEvalRow) * (MAXROWS + (size_t)nadd));
    int n = 0, old = dtcl_eval_read(run, all, MAXROWS);
    for (int k = 0; k < old; k++) {
        int replaced = 0;
        for (int j = 0; j < nadd; j++)
            replaced |= add[j].epoch == all[k].epoch;
        if (!replaced)
            all[n++] = all[k];
    }
    memcpy(all + n, add, sizeof(DtclEvalRow) * (size_t)nadd);
    n += nadd;
    qsort(all, (size_t)n, sizeof *all, cmp_row_epoch);
    char path[4300];
    snprintf(path, sizeof path, "%s/eval.csv", run);
    DtclOutFile of;
    int rc = dtcl_out_open(&of, path, err);
    if (rc == 0) {
        fprintf(of.f, "epoch,test0,test1,test2,mean,std,knn_mean\n");
        for (int k = 0; k < n; k++)
            fprintf(of.f, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", all[k].epoch, all[k].auc[0], all[k].auc[1],
                    all[k].auc[2], all[k].mean, all[k].std, all[k].knn_mean);
        rc = dtcl_out_commit(&of, err);
    }
    free(all);
    return rc;
}

int dtcl_eval_run(const char *run, const char *data, DtclDevice device, const int *epochs, int nepochs, FILE *out,
                  DtclEvalRow *rows, int maxrows, int *nrows, DtclError *err)
{
    DtclTrainConfig c;
    DtclDataset ds;
    int8_t *split, *lab;
    if (dtcl_train_open_run(run, data, &c, &ds, &split, &lab, err) != 0)
        return -1;
    int64_t N = ds.n;
    int rc = 0;
    /* the test images, by test set */
    int64_t *idx = DTCL_MALLOC(sizeof(int64_t) * (size_t)(N + 1)), start[4] = {0};
    int64_t nt = 0;
    for (int t = 0; t < 3; t++) {
        start[t] = nt;
        for (int64_t i = 0; i < N; i++)
            if (split[i] == DTCL_SPLIT_TEST0 + t && ds.label[i] >= 0)
                idx[nt++] = i;
    }
    start[3] = nt;
    if (nt == 0)
        rc = dtcl_fail(err, "%s: no labelled test image (test0, test1, test2) to evaluate on", ds.dir);
    int all[4096], ne = nepochs;
    if (rc == 0 && nepochs == 0) {
        ne = dtcl_train_list_epochs(run, all, 4096);
        if (ne <= 0)
            rc = dtcl_fail(err, "%s/checkpoints: no epoch-NNN.safetensors", run);
        epochs = all;
    }
    if (rc == 0 && out) {
        fprintf(out, "%6s %8s %8s %8s %8s %8s %9s\n", "epoch", "test0", "test1", "test2", "mean", "std", "knn_mean");
    }
    DtclEvalRow *done = DTCL_MALLOC(sizeof(DtclEvalRow) * (size_t)(ne > 0 ? ne : 1));
    int nr = 0;
    float *images = NULL; /* the test images, read once */
    for (int e = 0; e < ne && rc == 0; e++) {
        float *h;
        int d = 0;
        if (features(run, epochs[e], device, &ds, idx, nt, &images, &h, &d, err) != 0) {
            rc = -1;
            break;
        }
        DtclEvalRow row = {epochs[e], 0, {NAN, NAN, NAN}, 0, 0, 0};
        double s = 0, s2 = 0, ks = 0;
        for (int t = 0; t < 3; t++) {
            int64_t n = start[t + 1] - start[t];
            if (n < 2 * DTCL_EVAL_FOLDS)
                continue;
            float *x = DTCL_MALLOC(sizeof(float) * (size_t)n * d);
            int8_t *y = DTCL_MALLOC((size_t)n);
            memcpy(x, h + start[t] * d, sizeof(float) * (size_t)n * d);
            for (int64_t i = 0; i < n; i++)
                y[i] = ds.label[idx[start[t] + i]];
            standardise(x, n, d);
            double auc = dtcl_logreg_cv_auc(x, y, NULL, n, d, DTCL_EVAL_FOLDS, c.seed);
            double knn = dtcl_knn_cv_auc(x, y, n, d, DTCL_EVAL_FOLDS, DTCL_EVAL_KNN, c.seed);
            free(x);
            free(y);
            if (isnan(auc))
                continue;
            row.auc[t] = auc;
            row.ntests++;
            s += auc;
            s2 += auc * auc;
            ks += knn;
        }
        free(h);
        row.mean = row.ntests ? s / row.ntests : NAN;
        row.std = row.ntests ? sqrt(fmax(s2 / row.ntests - row.mean * row.mean, 0.0)) : NAN;
        row.knn_mean = row.ntests ? ks / row.ntests : NAN;
        if (out)
            fprintf(out, "%6d %8.4f %8.4f %8.4f %8.4f %8.4f %9.4f\n", row.epoch, row.auc[0], row.auc[1], row.auc[2],
                    row.mean, row.std, row.knn_mean);
        if (rows && nr < maxrows)
            rows[nr] = row;
        done[nr++] = row;
    }
    if (rc == 0)
        rc = write_eval(run, done, nr, err);
    free(done);
    free(images);
    if (nrows)
        *nrows = nr;
    free(split);
    free(lab);
    free(idx);
    dtcl_dataset_close(&ds);
    return rc;
}
