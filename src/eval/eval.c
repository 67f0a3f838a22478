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

/* FNV-1a of the image indices: the cache's key names the images it holds. */
static uint64_t index_hash(const int64_t *idx, int64_t n)
{
    uint64_t h = 1469598103934665603ull;
    const unsigned char *b = (const unsigned char *)idx;
    for (size_t k = 0; k < sizeof(int64_t) * (size_t)n; k++)
        h = (h ^ b[k]) * 1099511628211ull;
    return h;
}

/* h of the images idx (the test images by test set, then the probes'
 * training images) for one checkpoint, from RUN/features/ when the cache
 * matches (data path, images, size, device). The images are read into *x on
 * the first miss and kept for the next. */
static int features(const char *run, int epoch, DtclDevice device, const DtclDataset *ds, const int64_t *idx,
                    int64_t n, float **x, float **h, int *d, DtclError *err)
{
    char ck[4300], fp[4300], kp[4300], key[4600];
    snprintf(ck, sizeof ck, "%s/checkpoints/epoch-%03d.safetensors", run, epoch);
    snprintf(fp, sizeof fp, "%s/features/epoch-%03d.npy", run, epoch);
    snprintf(kp, sizeof kp, "%s/features/epoch-%03d.key", run, epoch);
    /* features from the GPU are kept apart from the CPU's: a user compares them */
    snprintf(key, sizeof key, "%s %lld %d %016llx%s\n", ds->dir, (long long)n, ds->size,
             (unsigned long long)index_hash(idx, n), device == DTCL_DEVICE_CUDA ? " cuda" : "");
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

/* ---------------------------------------------------------------- eval.csv */

static double cell_number(const DtclCsv *csv, size_t row, int col)
{
    if (col < 0)
        return NAN;
    const char *v = dtcl_csv_cell(csv, row, col);
    return *v ? strtod(v, NULL) : NAN;
}

int dtcl_eval_read(const char *run, DtclEvalRow *rows, int max)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/eval.csv", run);
    DtclCsv csv;
    if (access(path, F_OK) != 0 || dtcl_csv_load(path, &csv, NULL) != 0)
        return 0;
    int ce = dtcl_csv_column(&csv, "epoch"), cols[DTCL_NPROTOCOLS][5];
    static const char *const what[5] = {"test0", "test1", "test2", "mean", "std"};
    for (int p = 0; p < DTCL_NPROTOCOLS; p++)
        for (int k = 0; k < 5; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s%s", dtcl_protocols[p].prefix, what[k]);
            cols[p][k] = dtcl_csv_column(&csv, name);
        }
    int n = 0;
    for (size_t i = 0; ce >= 0 && i < csv.nrows && n < max; i++) {
        DtclEvalRow *r = &rows[n++];
        r->epoch = atoi(dtcl_csv_cell(&csv, i, ce));
        for (int p = 0; p < DTCL_NPROTOCOLS; p++) {
            for (int t = 0; t < 3; t++)
                r->auc[p][t] = cell_number(&csv, i, cols[p][t]);
            r->mean[p] = cell_number(&csv, i, cols[p][3]);
            r->std[p] = cell_number(&csv, i, cols[p][4]);
        }
        r->ntests = 0;
        for (int t = 0; t < 3; t++)
            r->ntests += !isnan(r->auc[DTCL_PROTO_LINEAR][t]);
    }
    dtcl_csv_free(&csv);
    return n;
}

static int cmp_row_epoch(const void *a, const void *b)
{
    return ((const DtclEvalRow *)a)->epoch - ((const DtclEvalRow *)b)->epoch;
}

static void write_number(FILE *f, double v)
{
    if (!isnan(v))
        fprintf(f, "%.6f", v);
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
        fprintf(of.f, "epoch");
        for (int p = 0; p < DTCL_NPROTOCOLS; p++) {
            const char *x = dtcl_protocols[p].prefix;
            fprintf(of.f, ",%stest0,%stest1,%stest2,%smean,%sstd", x, x, x, x, x);
        }
        fprintf(of.f, "\n");
        for (int k = 0; k < n; k++) {
            fprintf(of.f, "%d", all[k].epoch);
            for (int p = 0; p < DTCL_NPROTOCOLS; p++) {
                for (int t = 0; t < 3; t++) {
                    fputc(',', of.f);
                    write_number(of.f, all[k].auc[p][t]);
                }
                fputc(',', of.f);
                write_number(of.f, all[k].mean[p]);
                fputc(',', of.f);
                write_number(of.f, all[k].std[p]);
            }
            fprintf(of.f, "\n");
        }
        rc = dtcl_out_commit(&of, err);
    }
    free(all);
    return rc;
}

/* ---------------------------------------------------------------- scores/epoch-NNN.csv */

static void scores_path(char *path, size_t size, const char *run, int epoch)
{
    snprintf(path, size, "%s/scores/epoch-%03d.csv", run, epoch);
}

int dtcl_eval_scores_load(const char *run, int epoch, DtclEvalScores *s, DtclError *err)
{
    memset(s, 0, sizeof *s);
    char path[4300];
    scores_path(path, sizeof path, run, epoch);
    if (access(path, F_OK) != 0)
        return 1;
    if (dtcl_csv_load(path, &s->csv, err) != 0)
        return -1;
    DtclCsv *c = &s->csv;
    int ci = dtcl_csv_column(c, "id"), ct = dtcl_csv_column(c, "test"), cp = dtcl_csv_column(c, "patient"),
        cl = dtcl_csv_column(c, "label"), cs[DTCL_NPROTOCOLS];
    if (ci < 0 || ct < 0 || cp < 0 || cl < 0) {
        dtcl_csv_free(c);
        return dtcl_fail(err, "%s: expected the columns id,test,patient,label", path);
    }
    s->n = (int64_t)c->nrows;
    s->id = DTCL_MALLOC(sizeof(char *) * (size_t)(s->n + 1));
    s->patient = DTCL_MALLOC(sizeof(char *) * (size_t)(s->n + 1));
    s->test = DTCL_MALLOC((size_t)s->n + 1);
    s->label = DTCL_MALLOC((size_t)s->n + 1);
    for (int p = 0; p < DTCL_NPROTOCOLS; p++) {
        cs[p] = dtcl_csv_column(c, dtcl_protocols[p].name);
        s->score[p] = DTCL_MALLOC(sizeof(double) * (size_t)(s->n + 1));
    }
    int rc = 0;
    for (int64_t i = 0; i < s->n && rc == 0; i++) {
        s->id[i] = dtcl_csv_cell(c, (size_t)i, ci);
        s->patient[i] = dtcl_csv_cell(c, (size_t)i, cp);
        const char *t = dtcl_csv_cell(c, (size_t)i, ct), *l = dtcl_csv_cell(c, (size_t)i, cl);
        if (!(t[0] >= '0' && t[0] <= '2' && !t[1]) || !((l[0] == '0' || l[0] == '1') && !l[1]))
            rc = dtcl_fail(err, "%s, line %zu: expected a test set 0..2 and a label 0 or 1", path, c->line[i + 1]);
        s->test[i] = (int8_t)(t[0] - '0');
        s->label[i] = (int8_t)(l[0] - '0');
        for (int p = 0; p < DTCL_NPROTOCOLS; p++)
            s->score[p][i] = cell_number(c, (size_t)i, cs[p]);
    }
    if (rc != 0)
        dtcl_eval_scores_free(s);
    return rc;
}

void dtcl_eval_scores_free(DtclEvalScores *s)
{
    free(s->id);
    free(s->patient);
    free(s->test);
    free(s->label);
    for (int p = 0; p < DTCL_NPROTOCOLS; p++)
        free(s->score[p]);
    dtcl_csv_free(&s->csv);
    memset(s, 0, sizeof *s);
}

int dtcl_eval_complete(const char *run, int epoch)
{
    DtclEvalScores s;
    if (dtcl_eval_scores_load(run, epoch, &s, NULL) != 0)
        return 0;
    int ok = s.n > 0;
    for (int p = 0; p < DTCL_NPROTOCOLS; p++)
        ok &= dtcl_csv_column(&s.csv, dtcl_protocols[p].name) >= 0;
    dtcl_eval_scores_free(&s);
    return ok;
}

/* Writes RUN/scores/epoch-NNN.csv for the nt test images idx (test set of each in test). */
static int write_scores(const char *run, int epoch, const DtclDataset *ds, const int64_t *idx, const int8_t *test,
                        int64_t nt, double *const *score, DtclError *err)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/scores", run);
    mkdir(path, 0777);
    scores_path(path, sizeof path, run, epoch);
    DtclOutFile of;
    if (dtcl_out_open(&of, path, err) != 0)
        return -1;
    fprintf(of.f, "id,test,patient,label");
    for (int p = 0; p < DTCL_NPROTOCOLS; p++)
        fprintf(of.f, ",%s", dtcl_protocols[p].name);
    fprintf(of.f, "\n");
    for (int64_t i = 0; i < nt; i++) {
        dtcl_csv_write_field(of.f, ds->id[idx[i]]);
        fprintf(of.f, ",%d,", test[i]);
        dtcl_csv_write_field(of.f, ds->patient[idx[i]]);
        fprintf(of.f, ",%d", ds->label[idx[i]]);
        for (int p = 0; p < DTCL_NPROTOCOLS; p++) {
            fputc(',', of.f);
            if (!isnan(score[p][i]))
                fprintf(of.f, "%.9g", score[p][i]);
        }
        fputc('\n', of.f);
    }
    return dtcl_out_commit(&of, err);
}

/* ---------------------------------------------------------------- the evaluation */

/* What one evaluation needs besides the features: the test images by test
 * set, then the probes' training images. */
typedef struct {
    int64_t *idx;       /* (nt + ntrain) dataset rows */
    int8_t *test;       /* (nt) test set of each test image */
    int8_t *y;          /* (nt + ntrain) labels */
    int64_t start[4];   /* test set t: idx[start[t] .. start[t+1]) */
    int64_t nt, ntrain; /* test images; the probes' training images after them */
    int8_t *fits[DTCL_NPROTOCOLS]; /* (ntrain) whether training image k fits probe p (probes only) */
    int *patient;       /* (nt) the dataset's patient index of each test image */
} EvalImages;

static void eval_images(EvalImages *im, const DtclDataset *ds, const int8_t *split, uint64_t label_seed)
{
    int64_t N = ds->n;
    memset(im, 0, sizeof *im);
    im->idx = DTCL_MALLOC(sizeof(int64_t) * (size_t)(N + 1));
    im->y = DTCL_MALLOC((size_t)N + 1);
    im->test = DTCL_MALLOC((size_t)N + 1);
    im->patient = DTCL_MALLOC(sizeof(int) * (size_t)(N + 1));
    for (int t = 0; t < 3; t++) {
        im->start[t] = im->nt;
        for (int64_t i = 0; i < N; i++)
            if (split[i] == DTCL_SPLIT_TEST0 + t && ds->label[i] >= 0) {
                im->test[im->nt] = (int8_t)t;
                im->patient[im->nt] = ds->patient_of[i];
                im->y[im->nt] = ds->label[i];
                im->idx[im->nt++] = i;
            }
    }
    im->start[3] = im->nt;
    int8_t *mark[DTCL_NPROTOCOLS] = {0}, *any = DTCL_CALLOC((size_t)N + 1, 1);
    for (int p = 0; p < DTCL_NPROTOCOLS; p++)
        if (dtcl_protocols[p].label_fraction > 0) {
            mark[p] = DTCL_MALLOC((size_t)N + 1);
            dtcl_protocol_probe_images((DtclProtocol)p, ds, split, label_seed, mark[p]);
            for (int64_t i = 0; i < N; i++)
                any[i] |= mark[p][i];
        }
    for (int64_t i = 0; i < N; i++)
        if (any[i]) {
            im->y[im->nt + im->ntrain] = ds->label[i];
            im->idx[im->nt + im->ntrain++] = i;
        }
    for (int p = 0; p < DTCL_NPROTOCOLS; p++)
        if (mark[p]) {
            im->fits[p] = DTCL_MALLOC((size_t)im->ntrain + 1);
            for (int64_t k = 0; k < im->ntrain; k++)
                im->fits[p][k] = mark[p][im->idx[im->nt + k]];
            free(mark[p]);
        }
    free(any);
}

static void eval_images_free(EvalImages *im)
{
    free(im->idx);
    free(im->y);
    free(im->test);
    free(im->patient);
    for (int p = 0; p < DTCL_NPROTOCOLS; p++)
        free(im->fits[p]);
}

/* score[p] (nt) for protocol p from h (nt + ntrain, d); NaN for a test set too small to cross-validate. */
static void protocol_scores(DtclProtocol p, const EvalImages *im, const float *h, int d, uint64_t seed,
                            double *score)
{
    for (int64_t i = 0; i < im->nt; i++)
        score[i] = NAN;
    if (dtcl_protocols[p].label_fraction == 0) {
        for (int t = 0; t < 3; t++) {
            int64_t n = im->start[t + 1] - im->start[t];
            if (n >= 2 * DTCL_EVAL_FOLDS)
                dtcl_protocol_cv_scores(p, h + im->start[t] * d, im->y + im->start[t], im->patient + im->start[t], n,
                                        d, seed, score + im->start[t]);
        }
        return;
    }
    float *htr = DTCL_MALLOC(sizeof(float) * (size_t)(im->ntrain + 1) * d); // (ntr,d)
    int8_t *ytr = DTCL_MALLOC((size_t)im->ntrain + 1);
    int64_t ntr = 0;
    for (int64_t k = 0; k < im->ntrain; k++)
        if (im->fits[p][k]) {
            memcpy(htr + ntr * d, h + (im->nt + k) * d, sizeof(float) * d);
            ytr[ntr++] = im->y[im->nt + k];
        }
    if (ntr > 0)
        dtcl_protocol_probe_scores(htr, ytr, ntr, h, im->nt, d, score);
    free(htr);
    free(ytr);
}

/* The AUCs of a row from the scores. */
static void row_from_scores(DtclEvalRow *row, const EvalImages *im, double *const *score)
{
    for (int p = 0; p < DTCL_NPROTOCOLS; p++) {
        double s = 0, s2 = 0;
        int k = 0;
        for (int t = 0; t < 3; t++) {
            int64_t a = im->start[t], n = im->start[t + 1] - a, ok = n > 0;
            for (int64_t i = a; i < a + n; i++)
                ok &= !isnan(score[p][i]);
            row->auc[p][t] = ok ? dtcl_auc(score[p] + a, im->y + a, n) : NAN;
            if (!isnan(row->auc[p][t])) {
                s += row->auc[p][t];
                s2 += row->auc[p][t] * row->auc[p][t];
                k++;
            }
        }
        row->mean[p] = k ? s / k : NAN;
        row->std[p] = k ? sqrt(fmax(s2 / k - row->mean[p] * row->mean[p], 0.0)) : NAN;
    }
    row->ntests = 0;
    for (int t = 0; t < 3; t++)
        row->ntests += !isnan(row->auc[DTCL_PROTO_LINEAR][t]);
}

/* The scores an earlier evaluation wrote for the protocols not asked for now, when its images are these. */
static void keep_old_scores(const char *run, int epoch, unsigned protocols, const DtclDataset *ds,
                            const EvalImages *im, double *const *score)
{
    DtclEvalScores old;
    if (dtcl_eval_scores_load(run, epoch, &old, NULL) != 0)
        return;
    int same = old.n == im->nt;
    for (int64_t i = 0; same && i < im->nt; i++)
        same = strcmp(old.id[i], ds->id[im->idx[i]]) == 0;
    for (int p = 0; same && p < DTCL_NPROTOCOLS; p++)
        if (!(protocols & (1u << p)))
            memcpy(score[p], old.score[p], sizeof(double) * (size_t)im->nt);
    dtcl_eval_scores_free(&old);
}

static int column_width(int p)
{
    int n = (int)strlen(dtcl_protocols[p].name);
    return n > 8 ? n : 8;
}

static void print_header(FILE *out)
{
    fprintf(out, "%6s %8s %8s %8s %8s %8s |", "epoch", "test0", "test1", "test2", "mean", "std");
    for (int p = 1; p < DTCL_NPROTOCOLS; p++)
        fprintf(out, " %*s", column_width(p), dtcl_protocols[p].name);
    fprintf(out, "\n");
}

static void print_row(FILE *out, const DtclEvalRow *r)
{
    const double *a = r->auc[DTCL_PROTO_LINEAR];
    fprintf(out, "%6d %8.4f %8.4f %8.4f %8.4f %8.4f |", r->epoch, a[0], a[1], a[2], r->mean[DTCL_PROTO_LINEAR],
            r->std[DTCL_PROTO_LINEAR]);
    for (int p = 1; p < DTCL_NPROTOCOLS; p++)
        fprintf(out, " %*.4f", column_width(p), r->mean[p]);
    fprintf(out, "\n");
}

void dtcl_eval_options_default(DtclEvalOptions *o)
{
    memset(o, 0, sizeof *o);
    o->device = DTCL_DEVICE_CPU;
    o->protocols = (1u << DTCL_NPROTOCOLS) - 1;
}

int dtcl_eval_run(const char *run, const DtclEvalOptions *o, FILE *out, DtclEvalRow *rows, int maxrows, int *nrows,
                  DtclError *err)
{
    const char *data = o->data;
    const int *epochs = o->epochs;
    int nepochs = o->nepochs;
    unsigned protocols = o->protocols;
    DtclTrainConfig c;
    DtclDataset ds;
    int8_t *split, *lab;
    if (nrows)
        *nrows = 0;
    if (dtcl_train_open_run(run, data, &c, &ds, &split, &lab, err) != 0)
        return -1;
    uint64_t label_seed = c.label_seed ? c.label_seed : c.split_seed ? c.split_seed : c.seed;
    EvalImages im;
    eval_images(&im, &ds, split, label_seed);
    int rc = 0;
    if (im.nt == 0)
        rc = dtcl_fail(err, "%s: no labelled test image (test0, test1, test2) to evaluate on", ds.dir);
    int all[4096], ne = nepochs;
    if (rc == 0 && nepochs == 0) {
        ne = dtcl_train_list_epochs(run, all, 4096);
        if (ne <= 0)
            rc = dtcl_fail(err, "%s/checkpoints: no epoch-NNN.safetensors", run);
        epochs = all;
    }
    if (rc == 0 && out) {
        fprintf(out, "AUC on the test sets: the paper's linear evaluation per test set, its mean and std; then the "
                     "mean of the other protocols\n");
        print_header(out);
    }
    DtclEvalRow *done = DTCL_MALLOC(sizeof(DtclEvalRow) * (size_t)(ne > 0 ? ne : 1));
    double *score[DTCL_NPROTOCOLS];
    for (int p = 0; p < DTCL_NPROTOCOLS; p++)
        score[p] = DTCL_MALLOC(sizeof(double) * (size_t)(im.nt + 1));
    int nr = 0;
    float *images = NULL; /* the images, read once */
    for (int e = 0; e < ne && rc == 0; e++) {
        float *h;
        int d = 0;
        if (o->progress)
            dtcl_progress_update(o->progress, (double)e / ne, 0, "evaluating epoch %d (%d of %d)", epochs[e], e + 1,
                                 ne);
        if (features(run, epochs[e], o->device, &ds, im.idx, im.nt + im.ntrain, &images, &h, &d, err) != 0) {
            rc = -1;
            break;
        }
        for (int p = 0; p < DTCL_NPROTOCOLS; p++)
            for (int64_t i = 0; i < im.nt; i++)
                score[p][i] = NAN;
        keep_old_scores(run, epochs[e], protocols, &ds, &im, score);
        for (int p = 0; p < DTCL_NPROTOCOLS; p++)
            if (protocols & (1u << p))
                protocol_scores((DtclProtocol)p, &im, h, d, c.seed, score[p]);
        free(h);
        DtclEvalRow row = {.epoch = epochs[e]};
        row_from_scores(&row, &im, score);
        rc = write_scores(run, epochs[e], &ds, im.idx, im.test, im.nt, score, err);
        if (out)
            print_row(out, &row);
        if (rows && nr < maxrows)
            rows[nr] = row;
        done[nr++] = row;
    }
    if (rc == 0)
        rc = write_eval(run, done, nr, err);
    free(done);
    free(images);
    for (int p = 0; p < DTCL_NPROTOCOLS; p++)
        free(score[p]);
    if (nrows)
        *nrows = nr;
    eval_images_free(&im);
    free(split);
    free(lab);
    dtcl_dataset_close(&ds);
    return rc;
}
