/* train.c: training runs for every strategy (paper section 3, Eq. 1; SPEC
 * sections 4, 5, 8; see train.h). */
#define _DEFAULT_SOURCE
#include "config.h"

#include "train/train.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include "io/atomicfile.h"
#include "base/clock.h"
#include "nets/checkpoint.h"
#include "data/dataset.h"
#include "io/jsonfile.h"
#include "eval/logreg.h"
#include "base/rng.h"
#include "data/split.h"
#include "train/step.h"

#ifdef HAVE_OPENBLAS_GET_CORENAME
char *openblas_get_corename(void);
#endif

const char *const dtcl_strategy_names[DTCL_NSTRATEGIES] = {"random", "random-sup", "ssl", "proposed", "simclr",
                                                           "supervised"};

volatile int dtcl_train_stop;

/* SPEC section 4's table; "-" entries are 0 (unused). */
static const double strategy_alpha[DTCL_NSTRATEGIES][5] = {
    {0, 0, 1, 0, 0}, {0, 0, 1, 10, 10}, {1, 0, 1, 0, 0}, {1, 10, 1, 1, 1}, {0, 0, 1, 0, 0}, {0, 0, 0, 1, 0}};

void dtcl_train_config_default(DtclTrainConfig *c, DtclStrategy s)
{
    memset(c, 0, sizeof *c);
    c->strategy = s;
    memcpy(c->alpha, strategy_alpha[s], sizeof c->alpha);
    c->lr_f = 1e-4;
    c->lr_m = -1;
    c->encoder = DTCL_ENCODER_FCN;
    c->batch = dtcl_encoder_default_batch(c->encoder);
    c->epochs = 100;
    c->save_every = 10;
    c->label_fraction = 0.1;
    c->nce.kind = DTCL_NCE_PAPER;
    c->nce.sim = DTCL_SIM_DOT;
    c->nce.tau = 1.0;
    snprintf(c->order, sizeof c->order, "%s", dtcl_default_order);
    snprintf(c->widths, sizeof c->widths, "32,64,128,256");
    c->seed = 1;
    c->train_fraction = 1;
}

int dtcl_strategy_parse(const char *name, DtclStrategy *s)
{
    for (int k = 0; k < DTCL_NSTRATEGIES; k++)
        if (strcmp(name, dtcl_strategy_names[k]) == 0) {
            *s = (DtclStrategy)k;
            return 0;
        }
    return -1;
}

double dtcl_train_lr_m(const DtclTrainConfig *c)
{
    return c->lr_m > 0 ? c->lr_m : c->alpha[1] > 0 ? 1e-3 : 1e-4;
}

int dtcl_strategy_uses_m(DtclStrategy s)
{
    return s == DTCL_STRATEGY_SSL || s == DTCL_STRATEGY_PROPOSED;
}

/* ---------------------------------------------------------------- config.json */

static const char *nce_names[3] = {"paper", "simclr", "supcon"};
static const char *sim_names[2] = {"dot", "cosine"};

static cJSON *config_doc(const DtclTrainConfig *c, int threads)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "format", "dtcl-run");
    cJSON_AddNumberToObject(r, "format_version", 1);
    cJSON_AddStringToObject(r, "dtcl_version", PACKAGE_VERSION);
    cJSON_AddStringToObject(r, "build", DTCL_BUILD_OPTIONS);
#ifdef HAVE_OPENBLAS_GET_CORENAME
    cJSON_AddStringToObject(r, "blas_core", openblas_get_corename());
#endif
    cJSON_AddStringToObject(r, "device", dtcl_device_name(c->device));
    cJSON_AddNumberToObject(r, "threads", threads);
    cJSON_AddStringToObject(r, "data", c->data);
    cJSON_AddStringToObject(r, "strategy", dtcl_strategy_names[c->strategy]);
    cJSON *a = cJSON_AddArrayToObject(r, "alpha");
    for (int k = 0; k < 5; k++)
        cJSON_AddItemToArray(a, dtcl_json_exact(c->alpha[k]));
    dtcl_json_add_number(r, "lr_f", c->lr_f);
    dtcl_json_add_number(r, "lr_m", dtcl_train_lr_m(c));
    cJSON_AddNumberToObject(r, "batch", c->batch);
    cJSON_AddNumberToObject(r, "epochs", c->epochs);
    cJSON_AddNumberToObject(r, "save_every", c->save_every);
    dtcl_json_add_number(r, "label_fraction", c->label_fraction);
    cJSON_AddStringToObject(r, "nce", nce_names[c->nce.kind]);
    cJSON_AddStringToObject(r, "similarity", sim_names[c->nce.sim]);
    dtcl_json_add_number(r, "tau", c->nce.tau);
    cJSON_AddStringToObject(r, "order", c->order);
    cJSON_AddStringToObject(r, "encoder", dtcl_encoder_name(c->encoder));
    cJSON_AddStringToObject(r, "widths", c->widths);
    cJSON_AddStringToObject(r, "init", c->init);
    dtcl_json_add_u64(r, "seed", c->seed); /* strings: JSON numbers lose 64-bit integers */
    dtcl_json_add_u64(r, "split_seed", c->split_seed);
    dtcl_json_add_u64(r, "label_seed", c->label_seed);
    dtcl_json_add_number(r, "train_fraction", c->train_fraction);
    return r;
}

int dtcl_train_model_config(const DtclTrainConfig *c, DtclModelConfig *mc, DtclError *err)
{
    dtcl_model_config_default(mc);
    mc->encoder = c->encoder;
    return dtcl_model_parse_widths(c->widths, mc, err);
}

int dtcl_train_config_load(const char *run, DtclTrainConfig *c, DtclError *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", run);
    cJSON *r = dtcl_json_load(path, "dtcl-run", "a run folder written by `dtcl train'", err);
    if (!r)
        return -1;
    char s[4096];
    double v = 0, a[5] = {0};
    int rc = dtcl_json_string(r, "strategy", s, sizeof s, path, err);
    DtclStrategy st = DTCL_STRATEGY_PROPOSED;
    if (rc == 0 && dtcl_strategy_parse(s, &st) != 0)
        rc = dtcl_fail(err, "%s: unknown strategy \"%s\"", path, s);
    if (rc == 0)
        dtcl_train_config_default(c, st);
    const cJSON *al = cJSON_GetObjectItemCaseSensitive(r, "alpha");
    if (rc == 0 && (!cJSON_IsArray(al) || cJSON_GetArraySize(al) != 5))
        rc = dtcl_fail(err, "%s: \"alpha\" must be 5 numbers", path);
    for (int k = 0; rc == 0 && k < 5; k++) {
        const cJSON *e = cJSON_GetArrayItem(al, k);
        if (!cJSON_IsNumber(e))
            rc = dtcl_fail(err, "%s: \"alpha\" must be 5 numbers", path);
        else
            a[k] = e->valuedouble;
    }
    if (rc == 0)
        memcpy(c->alpha, a, sizeof a);
    if (rc == 0)
        rc = dtcl_json_string(r, "data", c->data, sizeof c->data, path, err);
    if (rc == 0 && (rc = dtcl_json_number(r, "lr_f", &c->lr_f, path, err)) == 0 &&
        (rc = dtcl_json_number(r, "lr_m", &c->lr_m, path, err)) == 0 &&
        (rc = dtcl_json_number(r, "batch", &v, path, err)) == 0)
        c->batch = (int)v;
    if (rc == 0 && (rc = dtcl_json_number(r, "epochs", &v, path, err)) == 0)
        c->epochs = (int)v;
    if (rc == 0 && (rc = dtcl_json_number(r, "save_every", &v, path, err)) == 0)
        c->save_every = (int)v;
    if (rc == 0)
        rc = dtcl_json_number(r, "label_fraction", &c->label_fraction, path, err);
    if (rc == 0)
        rc = dtcl_json_number(r, "tau", &c->nce.tau, path, err);
    if (rc == 0)
        rc = dtcl_json_string(r, "nce", s, sizeof s, path, err);
    if (rc == 0)
        c->nce.kind = strcmp(s, "simclr") == 0 ? DTCL_NCE_SIMCLR : strcmp(s, "supcon") == 0 ? DTCL_NCE_SUPCON
                                                                                          : DTCL_NCE_PAPER;
    if (rc == 0)
        rc = dtcl_json_string(r, "similarity", s, sizeof s, path, err);
    if (rc == 0)
        c->nce.sim = strcmp(s, "cosine") == 0 ? DTCL_SIM_COSINE : DTCL_SIM_DOT;
    if (rc == 0)
        rc = dtcl_json_string(r, "order", c->order, sizeof c->order, path, err);
    if (rc == 0)
        rc = dtcl_json_string(r, "widths", c->widths, sizeof c->widths, path, err);
    /* absent from runs written before densenet121 came: fcn, no --init */
    if (rc == 0 && cJSON_HasObjectItem(r, "encoder") &&
        (rc = dtcl_json_string(r, "encoder", s, sizeof s, path, err)) == 0 && dtcl_encoder_parse(s, &c->encoder) != 0)
        rc = dtcl_fail(err, "%s: unknown encoder \"%s\" (expected fcn or densenet121)", path, s);
    if (rc == 0 && cJSON_HasObjectItem(r, "init"))
        rc = dtcl_json_string(r, "init", c->init, sizeof c->init, path, err);
    if (rc == 0)
        rc = dtcl_json_u64(r, "seed", &c->seed, path, err);
    /* absent from runs written before the experiments came: the seed served for both */
    if (rc == 0 && cJSON_HasObjectItem(r, "split_seed"))
        rc = dtcl_json_u64(r, "split_seed", &c->split_seed, path, err);
    if (rc == 0 && cJSON_HasObjectItem(r, "label_seed"))
        rc = dtcl_json_u64(r, "label_seed", &c->label_seed, path, err);
    if (rc == 0 && cJSON_HasObjectItem(r, "train_fraction"))
        rc = dtcl_json_number(r, "train_fraction", &c->train_fraction, path, err);
    if (rc == 0 && !(c->train_fraction > 0 && c->train_fraction <= 1))
        rc = dtcl_fail(err, "%s: \"train_fraction\" %g is not in (0, 1]", path, c->train_fraction);
    cJSON_Delete(r);
    return rc;
}

/* ---------------------------------------------------------------- the run */

typedef struct {
    DtclTrainConfig cfg;
    const char *run;
    DtclDataset ds;
    int8_t *split, *labelled;
    int64_t *train, *val; /* dataset indices */
    int64_t ntrain, nval;
    int S, threads;
    DtclModel md;
    DtclTransform tr, tr_nocrop; /* tr_nocrop: simclr's images whose crop is off */
    int has_nocrop;
    DtclStepPlan st;       /* the steps, on the CPU or the GPU (step.h) */
    DtclStepConfig sc;
    float *x, *lambda, *xtmp; /* (B,S,S), (B,7), (B,S,S) */
    int8_t *labels;
    uint32_t *items;          /* (B) the images' dataset indices */
} Run;

/* Sums over an epoch's steps, for metrics.csv. */
enum { ACC_LOSS_E, ACC_LOSS_M, ACC_NCE, ACC_BCE_M, ACC_BCE, ACC_STEPS, ACC_LAMBDA, /* then (class, k, sum|sumsq|n) */
       ACC_N = ACC_LAMBDA + 2 * DTCL_NLAMBDA * 3 };

static int dir_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The order of the training images in epoch e: by Philox key of (seed, shuffle, e, index). */
typedef struct {
    uint64_t key;
    int64_t idx;
} KeyIdx;

static int cmp_key(const void *a, const void *b)
{
    const KeyIdx *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key ? 1 : (x->idx > y->idx) - (x->idx < y->idx);
}

static void epoch_order(const Run *r, int epoch, int64_t *order)
{
    KeyIdx *k = DTCL_MALLOC(sizeof(KeyIdx) * (size_t)(r->ntrain + 1));
    for (int64_t i = 0; i < r->ntrain; i++) {
        uint32_t w[4];
        DtclStream s = {r->cfg.seed, DTCL_RNG_SHUFFLE, (uint32_t)epoch, 0, (uint32_t)r->train[i]};
        dtcl_rng_block(&s, 0, w);
        k[i].key = ((uint64_t)w[0] << 32) | w[1];
        k[i].idx = r->train[i];
    }
    qsort(k, (size_t)r->ntrain, sizeof *k, cmp_key);
    for (int64_t i = 0; i < r->ntrain; i++)
        order[i] = k[i].idx;
    free(k);
}

/* Lambda for the random strategies: U([0,1]^7) per image, from (seed, lambda, epoch, step, image). */
static void draw_lambda(Run *r, int epoch, int step, const int64_t *idx)
{
    for (int b = 0; b < r->cfg.batch; b++) {
        double u[DTCL_NLAMBDA];
        DtclStream s = {r->cfg.seed, DTCL_RNG_LAMBDA, (uint32_t)epoch, (uint32_t)step, (uint32_t)idx[b]};
        dtcl_rng_uniform(&s, u, DTCL_NLAMBDA);
        for (int k = 0; k < DTCL_NLAMBDA; k++)
            r->lambda[b * DTCL_NLAMBDA + k] = (float)u[k];
    }
}

/* simclr and supervised: each of the six transformations on with probability
 * 1/2, its lambda uniform when on; off is the identity value (blur, noise,
 * flips and rotation at 0 are exact identities) and, for the crop, which has
 * none, the transformation without a crop step. crop_on (B). */
static void draw_augmentation(Run *r, int epoch, int step, const int64_t *idx, uint8_t *crop_on)
{
    for (int b = 0; b < r->cfg.batch; b++) {
        double u[2 * DTCL_NSTEP_KINDS + 2];
        DtclStream s = {r->cfg.seed, DTCL_RNG_AUGMENT, (uint32_t)epoch, (uint32_t)step, (uint32_t)idx[b]};
        dtcl_rng_uniform(&s, u, 2 * DTCL_NSTEP_KINDS + 2);
        float *l = r->lambda + b * DTCL_NLAMBDA;
        /* steps: blur 0, noise 1, crop 2 (lambda 2, 3), hflip 3 (4), vflip 4 (5), rotate 5 (6) */
        static const int first_lambda[DTCL_NSTEP_KINDS] = {0, 1, 2, 4, 5, 6};
        for (int k = 0; k < DTCL_NSTEP_KINDS; k++) {
            int on = u[k] < 0.5;
            int li = first_lambda[k];
            l[li] = on ? (float)u[DTCL_NSTEP_KINDS + k] : 0.0f;
            if (k == DTCL_STEP_CROP) {
                l[3] = on ? (float)u[2 * DTCL_NSTEP_KINDS] : 0.5f;
                crop_on[b] = (uint8_t)on;
            }
        }
    }
}

/* Which file a checkpoint goes to. */
typedef enum { CK_EPOCH, CK_LAST, CK_INTERRUPTED } CkKind;

static void checkpoint_path(char *path, size_t size, const char *run, CkKind kind, int epoch)
{
    if (kind == CK_LAST)
        snprintf(path, size, "%s/checkpoints/last.safetensors", run);
    else if (kind == CK_INTERRUPTED)
        snprintf(path, size, "%s/checkpoints/interrupted.safetensors", run);
    else
        snprintf(path, size, "%s/checkpoints/epoch-%03d.safetensors", run, epoch);
}

/* checkpoints/epoch-NNN.safetensors; last.safetensors (the state after the
 * latest epoch, rewritten every epoch); or interrupted.safetensors (SIGINT
 * within an epoch: the state after step `step` of epoch `epoch`, with the
 * epoch's sums so far in `acc`). `epoch` in the metadata is the last
 * completed epoch. */
static int save_checkpoint(Run *r, int epoch, CkKind kind, int step, const double *acc, DtclError *err)
{
    char path[4300], ep[32], seed[32], rep[32], rst[32], accs[ACC_N * 26 + 4] = "[";
    checkpoint_path(path, sizeof path, r->run, kind, epoch);
    snprintf(ep, sizeof ep, "%d", kind == CK_INTERRUPTED ? epoch - 1 : epoch);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->cfg.seed);
    snprintf(rep, sizeof rep, "%d", epoch);
    snprintf(rst, sizeof rst, "%d", step);
    for (int k = 0; kind == CK_INTERRUPTED && k < ACC_N; k++)
        snprintf(accs + strlen(accs), sizeof accs - strlen(accs), "%s%.17g", k ? "," : "", acc[k]);
    strcat(accs, "]");
    if (dtcl_step_sync(&r->st, err) != 0) /* the GPU's state into r->md */
        return -1;
    cJSON *doc = config_doc(&r->cfg, r->threads);
    char *cfg = cJSON_Print(doc);
    cJSON_Delete(doc);
    const char *k[7] = {"epoch", "seed", "strategy", "config", "resume_epoch", "resume_step", "epoch_sums"};
    const char *v[7] = {ep, seed, dtcl_strategy_names[r->cfg.strategy], cfg, rep, rst, accs};
    int rc = dtcl_checkpoint_save(path, &r->md, k, v, kind == CK_INTERRUPTED ? 7 : 4, err);
    free(cfg);
    return rc;
}

int dtcl_train_list_epochs(const char *run, int *epochs, int max)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/checkpoints", run);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        int ep;
        char tail[32];
        if (sscanf(e->d_name, "epoch-%d.safetensor%31s", &ep, tail) == 2 && strcmp(tail, "s") == 0)
            epochs[n++] = ep;
    }
    closedir(d);
    for (int a = 1; a < n; a++) /* insertion sort: a run holds few checkpoints */
        for (int b = a; b > 0 && epochs[b - 1] > epochs[b]; b--) {
            int t = epochs[b];
            epochs[b] = epochs[b - 1];
            epochs[b - 1] = t;
        }
    return n;
}

int dtcl_train_newest_epoch(const char *run)
{
    int ep[4096], n = dtcl_train_list_epochs(run, ep, 4096);
    return n > 0 ? ep[n - 1] : -1;
}

/* Where a resumed run starts: the newest of the epoch files and last.safetensors
 * (its epoch from the metadata); the epoch, and the file in path, or -1. */
static int resume_point(const char *run, char *path, size_t size)
{
    int ep = dtcl_train_newest_epoch(run);
    if (ep >= 0)
        snprintf(path, size, "%s/checkpoints/epoch-%03d.safetensors", run, ep);
    char last[4300];
    snprintf(last, sizeof last, "%s/checkpoints/last.safetensors", run);
    DtclSafetensors st;
    if (dtcl_st_open(last, &st, NULL) == 0) {
        const char *e = dtcl_st_meta(&st, "epoch");
        int le = e ? atoi(e) : -1;
        if (le > ep) {
            ep = le;
            snprintf(path, size, "%s", last);
        }
        dtcl_st_close(&st);
    }
    return ep;
}

/* Validation: BCE and AUC of p(f(X)) in evaluation mode over the labelled
 * validation images, f and p on the run's device. */
static int validate(Run *r, double *bce, double *auc, DtclError *err)
{
    int64_t n = r->nval;
    *bce = NAN;
    *auc = NAN;
    if (n == 0)
        return 0;
    int B = r->cfg.batch, rc = 0;
    float *logit = DTCL_MALLOC(sizeof(float) * (size_t)B);
    double *score = DTCL_MALLOC(sizeof(double) * (size_t)n);
    int8_t *y = DTCL_MALLOC((size_t)n);
    int64_t m = 0;
    double sum = 0;
    for (int64_t i = 0; i < n && rc == 0; i += B) {
        int nb = n - i < B ? (int)(n - i) : B;
        dtcl_dataset_load(&r->ds, r->xtmp, r->val + i, nb);
        rc = dtcl_step_logits(&r->st, logit, r->xtmp, nb, err);
        for (int b = 0; b < nb && rc == 0; b++) {
            int8_t lab = r->ds.label[r->val[i + b]];
            if (lab < 0)
                continue;
            double xv = logit[b];
            sum += fmax(xv, 0.0) - xv * lab + log1p(exp(-fabs(xv)));
            score[m] = xv;
            y[m++] = lab;
        }
    }
    if (rc == 0 && m > 0) {
        *bce = sum / (double)m;
        *auc = dtcl_auc(score, y, m);
    }
    free(logit);
    free(score);
    free(y);
    return rc;
}

static void metrics_header(FILE *f)
{
    fprintf(f, "epoch,steps,loss_e,loss_m,nce,bce_m,bce,val_bce,val_auc");
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < DTCL_NLAMBDA; k++)
            fprintf(f, ",lambda%d_mean_c%d,lambda%d_std_c%d", k, c, k, c);
    fprintf(f, ",seconds\n");
}

/* Rewrites RUN/metrics.csv with the rows of epochs <= keep_epoch plus `row`. */
static int append_metrics(const char *run, int keep_epoch, const char *row, DtclError *err)
{
    char path[4200], line[8192];
    snprintf(path, sizeof path, "%s/metrics.csv", run);
    FILE *old = fopen(path, "r");
    DtclOutFile out;
    if (dtcl_out_open(&out, path, err) != 0) {
        if (old)
            fclose(old);
        return -1;
    }
    metrics_header(out.f);
    if (old) {
        int first = 1;
        while (fgets(line, sizeof line, old)) {
            if (first) {
                first = 0;
                continue;
            }
            if (atoi(line) <= keep_epoch)
                fputs(line, out.f);
        }
        fclose(old);
    }
    if (row)
        fputs(row, out.f);
    return dtcl_out_commit(&out, err);
}

int dtcl_train_split(const DtclDataset *ds, const DtclTrainConfig *c, int8_t *split, int8_t *labelled,
                     DtclError *err)
{
    uint64_t split_seed = c->split_seed ? c->split_seed : c->seed;
    uint64_t label_seed = c->label_seed ? c->label_seed : split_seed;
    int redraw = c->label_seed != 0; /* the labelled subset drawn again, among the training images kept */
    if (ds->has_split) {
        memcpy(split, ds->split, (size_t)ds->n);
        memcpy(labelled, ds->labelled, (size_t)ds->n);
    } else {
        DtclSplitOptions so;
        dtcl_split_options_default(&so);
        so.seed = split_seed;
        so.label_fraction = c->label_fraction;
        if (dtcl_split_make(ds, &so, split, labelled, err) != 0)
            return -1;
        redraw = label_seed != split_seed || c->train_fraction < 1;
    }
    if (c->train_fraction < 1)
        dtcl_split_subsample_train(ds, split, labelled, c->train_fraction, split_seed);
    if (redraw)
        dtcl_split_draw_labelled(ds, split, c->label_fraction, label_seed, labelled);
    return 0;
}

int dtcl_train_open_run(const char *run, const char *data, DtclTrainConfig *c, DtclDataset *ds, int8_t **split,
                        int8_t **labelled, DtclError *err)
{
    *split = *labelled = NULL;
    if (dtcl_train_config_load(run, c, err) != 0 || dtcl_dataset_open(ds, data ? data : c->data, err) != 0)
        return -1;
    *split = DTCL_MALLOC((size_t)ds->n + 1);
    *labelled = DTCL_MALLOC((size_t)ds->n + 1);
    if (dtcl_train_split(ds, c, *split, *labelled, err) != 0) {
        free(*split);
        free(*labelled);
        *split = *labelled = NULL;
        dtcl_dataset_close(ds);
        return -1;
    }
    return 0;
}

static int setup(Run *r, const DtclTrainConfig *c, const char *run, DtclError *err)
{
    memset(r, 0, sizeof *r);
    r->cfg = *c;
    r->run = run;
    r->threads = omp_get_max_threads();
    if (dtcl_dataset_open(&r->ds, c->data, err) != 0)
        return -1;
    r->S = r->ds.size;
    int64_t N = r->ds.n;
    r->split = DTCL_MALLOC((size_t)N + 1);
    r->labelled = DTCL_MALLOC((size_t)N + 1);
    if (dtcl_train_split(&r->ds, c, r->split, r->labelled, err) != 0)
        return -1;
    r->train = DTCL_MALLOC(sizeof(int64_t) * (size_t)(N + 1));
    r->val = DTCL_MALLOC(sizeof(int64_t) * (size_t)(N + 1));
    int64_t nlab = 0;
    for (int64_t i = 0; i < N; i++) {
        if (r->split[i] == DTCL_SPLIT_TRAIN)
            r->train[r->ntrain++] = i;
        else if (r->split[i] == DTCL_SPLIT_VAL)
            r->val[r->nval++] = i;
        nlab += r->split[i] == DTCL_SPLIT_TRAIN && r->labelled[i];
    }
    if (r->ntrain < c->batch)
        return dtcl_fail(err, "%s: %lld training images, fewer than one batch of %d (use --batch)", c->data,
                         (long long)r->ntrain, c->batch);
    int supervised = c->alpha[1] > 0 || c->alpha[3] > 0 || c->alpha[4] > 0 || c->strategy == DTCL_STRATEGY_SUPERVISED ||
                     c->nce.kind == DTCL_NCE_SUPCON;
    if (supervised && nlab == 0)
        return dtcl_fail(err, "%s: strategy %s needs labels, but no training image is labelled (meta.csv labels "
                              "empty, or split.csv marks none labelled)", c->data, dtcl_strategy_names[c->strategy]);
    DtclModelConfig mc;
    if (dtcl_train_model_config(c, &mc, err) != 0)
        return -1;
    if (r->S < dtcl_model_min_size(&mc)) {
        char desc[160];
        return dtcl_fail(err, "%s: images of %dx%d; the %s needs at least %dx%d", c->data, r->S, r->S,
                         dtcl_model_describe(&mc, desc, sizeof desc), dtcl_model_min_size(&mc),
                         dtcl_model_min_size(&mc));
    }
    dtcl_model_init(&r->md, &mc);
    dtcl_model_reset(&r->md, c->seed);
    if (c->init[0] && dtcl_checkpoint_load_encoder(c->init, &r->md, err) != 0)
        return -1;
    DtclStepKind order[DTCL_NSTEP_KINDS];
    int nsteps;
    if (dtcl_transform_parse_order(c->order, order, &nsteps, err) != 0)
        return -1;
    DtclTransformParams tp;
    dtcl_transform_params_default(&tp);
    if (dtcl_transform_init(&r->tr, r->S, order, nsteps, &tp, err) != 0)
        return -1;
    DtclStepKind nocrop[DTCL_NSTEP_KINDS];
    int nn = 0;
    for (int k = 0; k < nsteps; k++)
        if (order[k] != DTCL_STEP_CROP)
            nocrop[nn++] = order[k];
    if (nn > 0 && nn < nsteps) {
        if (dtcl_transform_init(&r->tr_nocrop, r->S, nocrop, nn, &tp, err) != 0)
            return -1;
        r->has_nocrop = 1;
    }
    if (dtcl_step_plan_init(&r->st, c->device, &r->md, &r->tr, r->has_nocrop ? &r->tr_nocrop : NULL,
                            dtcl_strategy_uses_m(c->strategy), c->batch, r->S, r->threads, err) != 0)
        return -1;
    dtcl_step_config_default(&r->sc);
    r->sc.nce = c->nce;
    memcpy(r->sc.alpha, c->alpha, sizeof c->alpha);
    dtcl_adam_default(&r->sc.adam_e, c->lr_f);
    dtcl_adam_default(&r->sc.adam_m, dtcl_train_lr_m(c));
    size_t NS = (size_t)c->batch * r->S * r->S;
    r->x = DTCL_ALIGNED(NS * 4);
    r->xtmp = DTCL_ALIGNED(NS * 4);
    r->lambda = DTCL_ALIGNED((size_t)c->batch * DTCL_NLAMBDA * 4);
    r->labels = DTCL_MALLOC((size_t)c->batch);
    r->items = DTCL_MALLOC(sizeof(uint32_t) * (size_t)c->batch);
    return 0;
}

static void teardown(Run *r)
{
    free(r->x);
    free(r->xtmp);
    free(r->lambda);
    free(r->labels);
    free(r->items);
    free(r->split);
    free(r->labelled);
    free(r->train);
    free(r->val);
    dtcl_step_plan_free(&r->st);
    if (r->tr.size)
        dtcl_transform_free(&r->tr);
    if (r->has_nocrop)
        dtcl_transform_free(&r->tr_nocrop);
    if (r->md.table.t)
        dtcl_model_free(&r->md);
    if (r->ds.dir)
        dtcl_dataset_close(&r->ds);
}

/* The run's model takes every family and the Adam step counts of the
 * checkpoint at path, which must have the run's widths. */
static int load_state(Run *r, const char *path, DtclError *err)
{
    DtclModel src;
    if (dtcl_checkpoint_load(path, &src, DTCL_CK_MODEL, err) != 0)
        return -1;
    DtclTable *a = &r->md.table;
    const DtclTable *b = &src.table;
    int same = a->n == b->n;
    for (int f = 0; f < 3 && same; f++)
        same = a->size[f] == b->size[f];
    if (same) {
        size_t np = a->size[DTCL_FAMILY_PARAM];
        memcpy(a->param, b->param, np * sizeof(float));
        memcpy(a->adam_m, b->adam_m, np * sizeof(float));
        memcpy(a->adam_v, b->adam_v, np * sizeof(float));
        memcpy(a->stat, b->stat, a->size[DTCL_FAMILY_STAT] * sizeof(float));
        memcpy(a->counter, b->counter, a->size[DTCL_FAMILY_COUNT] * sizeof(int64_t));
        r->md.step_e = src.step_e;
        r->md.step_m = src.step_m;
    }
    dtcl_model_free(&src);
    if (!same)
        return dtcl_fail(err, "%s: its model does not match config.json's widths", path);
    return dtcl_step_upload(&r->st, err); /* the device takes the loaded state */
}

/* Whether checkpoints/interrupted.safetensors continues epoch `epoch`; if so
 * its step and the epoch's sums so far. */
static int interrupted_point(const char *path, int epoch, int *step, double *acc)
{
    DtclSafetensors st;
    if (dtcl_st_open(path, &st, NULL) != 0)
        return 0;
    const char *re = dtcl_st_meta(&st, "resume_epoch"), *rs = dtcl_st_meta(&st, "resume_step");
    const char *sums = dtcl_st_meta(&st, "epoch_sums");
    int use = re && rs && sums && atoi(re) == epoch && atoi(rs) > 0;
    if (use) {
        cJSON *a = cJSON_Parse(sums);
        use = cJSON_IsArray(a) && cJSON_GetArraySize(a) == ACC_N;
        for (int k = 0; use && k < ACC_N; k++)
            acc[k] = cJSON_GetArrayItem(a, k)->valuedouble;
        cJSON_Delete(a);
        *step = use ? atoi(rs) : 0;
    }
    dtcl_st_close(&st);
    return use;
}

/* Where a resumed run continues: the newest completed state (epoch *start),
 * or an interrupted epoch right after it (from step *step, sums in acc).
 * One checkpoint is read. */
static int resume_state(Run *r, int *start, int *step, double *acc, DtclError *err)
{
    char path[4300], ip[4300];
    int ep = resume_point(r->run, path, sizeof path);
    if (ep < 0)
        return dtcl_fail(err, "%s: no checkpoints/epoch-NNN.safetensors to resume from", r->run);
    *start = ep;
    *step = 0;
    checkpoint_path(ip, sizeof ip, r->run, CK_INTERRUPTED, 0);
    if (interrupted_point(ip, ep + 1, step, acc))
        snprintf(path, sizeof path, "%s", ip);
    else
        unlink(ip); /* absent, or stale: older than the newest checkpoint */
    return load_state(r, path, err);
}

/* One step of the run's strategy on the batch idx (B dataset indices); -1
 * with err when the device failed. */
static int train_step(Run *r, int epoch, int step, const int64_t *idx, DtclStepLosses *l, DtclError *err)
{
    int B = r->cfg.batch;
    dtcl_dataset_load(&r->ds, r->x, idx, B);
    for (int b = 0; b < B; b++) {
        r->labels[b] = r->labelled[idx[b]] ? r->ds.label[idx[b]] : -1;
        r->items[b] = (uint32_t)idx[b];
    }
    DtclNoiseSource ns = {r->cfg.seed, (uint32_t)epoch, (uint32_t)step, r->items};
    switch (r->cfg.strategy) {
    case DTCL_STRATEGY_SSL:
    case DTCL_STRATEGY_PROPOSED: return dtcl_step_proposed(&r->st, &r->sc, &ns, r->x, r->labels, l, r->lambda, err);
    case DTCL_STRATEGY_RANDOM:
    case DTCL_STRATEGY_RANDOM_SUP:
        draw_lambda(r, epoch, step, idx);
        return dtcl_step_augmented(&r->st, &r->sc, &ns, r->x, r->lambda, NULL, 0, r->labels, l, err);
    default: { /* simclr, supervised */
        uint8_t crop_on[4096];
        draw_augmentation(r, epoch, step, idx, crop_on);
        return dtcl_step_augmented(&r->st, &r->sc, &ns, r->x, r->lambda, crop_on,
                                   r->cfg.strategy == DTCL_STRATEGY_SUPERVISED, r->labels, l, err);
    }
    }
}

static void accumulate(Run *r, const int64_t *idx, const DtclStepLosses *l, double *acc)
{
    acc[ACC_LOSS_E] += l->loss_e;
    acc[ACC_LOSS_M] += l->loss_m;
    acc[ACC_NCE] += l->nce;
    acc[ACC_BCE_M] += l->bce_m;
    acc[ACC_BCE] += l->bce;
    acc[ACC_STEPS] += 1;
    for (int b = 0; b < r->cfg.batch; b++) {
        int8_t c = r->ds.label[idx[b]]; /* the true class, for the record only */
        if (c < 0)
            continue;
        for (int k = 0; k < DTCL_NLAMBDA; k++) {
            double v = r->lambda[b * DTCL_NLAMBDA + k];
            double *a = acc + ACC_LAMBDA + ((size_t)c * DTCL_NLAMBDA + k) * 3;
            a[0] += v;
            a[1] += v * v;
            a[2] += 1;
        }
    }
}

static void metrics_row(char *row, size_t size, int epoch, const double *acc, double vbce, double vauc,
                        double seconds)
{
    double n = acc[ACC_STEPS] > 0 ? acc[ACC_STEPS] : 1;
    int k = snprintf(row, size, "%d,%.0f,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g", epoch, acc[ACC_STEPS],
                     acc[ACC_LOSS_E] / n, acc[ACC_LOSS_M] / n, acc[ACC_NCE] / n, acc[ACC_BCE_M] / n, acc[ACC_BCE] / n,
                     vbce, vauc);
    for (int c = 0; c < 2; c++)
        for (int j = 0; j < DTCL_NLAMBDA; j++) {
            const double *a = acc + ACC_LAMBDA + ((size_t)c * DTCL_NLAMBDA + j) * 3;
            double m = a[2] > 0 ? a[0] / a[2] : NAN, v = a[2] > 0 ? a[1] / a[2] - m * m : NAN;
            k += snprintf(row + k, size - (size_t)k, ",%.6g,%.6g", m, a[2] > 0 ? sqrt(fmax(v, 0.0)) : NAN);
        }
    snprintf(row + k, size - (size_t)k, ",%.3f\n", seconds);
}

int dtcl_train_time(const DtclTrainConfig *c, int nsteps, DtclTrainTiming *t, DtclError *err)
{
    Run r;
    memset(t, 0, sizeof *t);
    if (setup(&r, c, "(timing)", err) != 0) {
        teardown(&r);
        return -1;
    }
    int B = c->batch;
    int64_t steps = r.ntrain / B, *order = DTCL_MALLOC(sizeof(int64_t) * (size_t)(r.ntrain + 1));
    epoch_order(&r, 1, order);
    DtclStepLosses l;
    int rc = train_step(&r, 1, 0, order, &l, err); /* warm-up: first touches of the arena and the plans */
    double t0 = dtcl_now_s();
    for (int s = 0; s < nsteps && rc == 0; s++)
        rc = train_step(&r, 1, (int)((1 + s) % steps), order + ((1 + s) % steps) * B, &l, err);
    t->step_s = (dtcl_now_s() - t0) / nsteps;
    float *h = DTCL_MALLOC(sizeof(float) * (size_t)B * (size_t)dtcl_encoder_dim(&r.md.f));
    t0 = dtcl_now_s();
    if (rc == 0)
        rc = dtcl_step_embed(&r.st, h, r.x, B, err);
    t->embed_image_s = (dtcl_now_s() - t0) / B;
    t->steps_per_epoch = steps;
    t->ntrain = r.ntrain;
    t->nval = r.nval;
    for (int64_t i = 0; i < r.ds.n; i++)
        t->ntest += r.split[i] >= DTCL_SPLIT_TEST0;
    free(h);
    free(order);
    teardown(&r);
    return rc;
}

int dtcl_train_views(const char *run, int epoch, const int64_t *idx, int n, const float *masks, float *x, float *xm,
                     float *lambda, float *xmask, DtclError *err)
{
    DtclTrainConfig c;
    if (dtcl_train_config_load(run, &c, err) != 0)
        return -1;
    c.batch = n < 16 ? n : 16;
    if (c.batch < 2)
        c.batch = 2;
    Run r;
    int rc = setup(&r, &c, run, err);
    char path[4300];
    checkpoint_path(path, sizeof path, run, CK_EPOCH, epoch);
    if (rc == 0 && dtcl_strategy_uses_m(c.strategy))
        rc = load_state(&r, path, err);
    /* the mask follows the geometric steps only (flips, rotation), in the run's order */
    DtclTransform geo = {0};
    if (rc == 0 && masks) {
        DtclStepKind order[DTCL_NSTEP_KINDS], g[DTCL_NSTEP_KINDS];
        int ns, ng = 0;
        dtcl_transform_parse_order(c.order, order, &ns, NULL);
        for (int k = 0; k < ns; k++)
            if (order[k] == DTCL_STEP_HFLIP || order[k] == DTCL_STEP_VFLIP || order[k] == DTCL_STEP_ROTATE)
                g[ng++] = order[k];
        DtclTransformParams tp;
        dtcl_transform_params_default(&tp);
        if (ng > 0) /* without geometric steps the mask stays where it is */
            rc = dtcl_transform_init(&geo, r.S, g, ng, &tp, err);
    }
    int B = c.batch;
    size_t SS = (size_t)r.S * r.S;
    int64_t *bi = DTCL_MALLOC(sizeof(int64_t) * (size_t)B);
    float *mb = DTCL_MALLOC(sizeof(float) * SS * (size_t)B), *mo = DTCL_MALLOC(sizeof(float) * SS * (size_t)B);
    for (int first = 0; first < n && rc == 0; first += B) {
        int m = n - first < B ? n - first : B;
        for (int b = 0; b < B; b++)
            bi[b] = idx[first + (b < m ? b : m - 1)]; /* the last chunk padded with its last image */
        dtcl_dataset_load(&r.ds, r.x, bi, B);
        for (int b = 0; b < B; b++)
            r.items[b] = (uint32_t)bi[b];
        DtclNoiseSource ns = {c.seed, (uint32_t)epoch, 0, r.items};
        uint8_t crop_on[16], *co = NULL;
        if (dtcl_strategy_uses_m(c.strategy)) { /* M's Lambda, on the run's device */
            const DtclBackend *be = r.st.be;
            rc = be->upload(r.st.x, r.x, sizeof(float) * SS * (size_t)B, err);
            if (rc == 0) {
                dtcl_mnet_forward(&r.st.mp, &r.st.md->m, r.st.x);
                rc = be->download(r.lambda, r.st.mp.lambda, sizeof(float) * (size_t)B * DTCL_NLAMBDA, err);
            }
        } else if (c.strategy == DTCL_STRATEGY_RANDOM || c.strategy == DTCL_STRATEGY_RANDOM_SUP) {
            draw_lambda(&r, epoch, 0, bi);
        } else {
            draw_augmentation(&r, epoch, 0, bi, crop_on);
            co = crop_on;
        }
        if (rc == 0 && xm) /* Lambda alone (the histograms) needs no transformed images */
            rc = dtcl_step_transform(&r.st, &ns, r.x, r.lambda, co, r.xtmp, err);
        if (masks) {
            for (int b = 0; b < B; b++)
                memcpy(mb + b * SS, masks + (size_t)(first + (b < m ? b : m - 1)) * SS, SS * sizeof(float));
            if (geo.size)
                dtcl_transform_forward(&geo, mo, NULL, mb, r.lambda, &ns, B);
            else
                memcpy(mo, mb, SS * (size_t)B * sizeof(float));
        }
        for (int b = 0; b < m; b++) {
            size_t o = (size_t)(first + b);
            if (x)
                memcpy(x + o * SS, r.x + b * SS, SS * sizeof(float));
            if (xm)
                memcpy(xm + o * SS, r.xtmp + b * SS, SS * sizeof(float));
            if (lambda)
                memcpy(lambda + o * DTCL_NLAMBDA, r.lambda + b * DTCL_NLAMBDA, DTCL_NLAMBDA * sizeof(float));
            if (masks && xmask)
                memcpy(xmask + o * SS, mo + b * SS, SS * sizeof(float));
        }
    }
    free(bi);
    free(mb);
    free(mo);
    if (geo.size)
        dtcl_transform_free(&geo);
    teardown(&r);
    return rc;
}

int dtcl_train_run(const DtclTrainConfig *c, const char *run, int resume, int *interrupted, DtclError *err)
{
    *interrupted = 0;
    char path[4300];
    if (!resume) {
        if (access(run, F_OK) == 0)
            return dtcl_fail(err, "%s: exists; a run folder is never overwritten (choose another -o, or --resume it)",
                             run);
        if (mkdir(run, 0777) != 0)
            return dtcl_fail(err, "%s: cannot create: %s", run, strerror(errno));
        snprintf(path, sizeof path, "%s/checkpoints", run);
        if (mkdir(path, 0777) != 0)
            return dtcl_fail(err, "%s: cannot create: %s", path, strerror(errno));
    } else if (!dir_exists(run)) {
        return dtcl_fail(err, "%s: not a run folder", run);
    }
    Run r;
    int rc = setup(&r, c, run, err);
    int start = 0, start_step = 0;
    double start_acc[ACC_N] = {0};
    if (rc == 0 && resume)
        rc = resume_state(&r, &start, &start_step, start_acc, err);
    if (rc == 0 && !resume) {
        snprintf(path, sizeof path, "%s/config.json", run);
        cJSON *doc = config_doc(c, r.threads);
        rc = dtcl_json_save(path, doc, err);
        cJSON_Delete(doc);
        if (rc == 0) {
            snprintf(path, sizeof path, "%s/split.csv", run);
            rc = dtcl_split_write(path, &r.ds, r.split, r.labelled, err);
        }
        if (rc == 0)
            rc = save_checkpoint(&r, 0, CK_EPOCH, 0, NULL, err);
        if (rc == 0)
            rc = append_metrics(run, -1, NULL, err);
    }
    if (rc != 0) {
        teardown(&r);
        if (!resume)
            dtcl_remove_tree(run); /* it was created above, for this run only */
        return -1;
    }
    int64_t steps = r.ntrain / c->batch;
    int64_t *order = DTCL_MALLOC(sizeof(int64_t) * (size_t)(r.ntrain + 1));
    if (!c->quiet)
        fprintf(stderr, "dtcl train: %s, %lld training images (%lld validation), %lld steps of %d per epoch, "
                        "epochs %d to %d\n", dtcl_strategy_names[c->strategy], (long long)r.ntrain, (long long)r.nval,
                (long long)steps, c->batch, start + 1, c->epochs);
    int tty = isatty(2);
    for (int epoch = start + 1; epoch <= c->epochs && rc == 0; epoch++) {
        double acc[ACC_N] = {0}, t0 = dtcl_now_s();
        int64_t first = epoch == start + 1 ? start_step : 0;
        if (first > 0)
            memcpy(acc, start_acc, sizeof acc);
        epoch_order(&r, epoch, order);
        int64_t done = first;
        for (int64_t s = first; s < steps; s++) {
            DtclStepLosses l;
            if (train_step(&r, epoch, (int)s, order + s * c->batch, &l, err) != 0) {
                char where[96];
                snprintf(where, sizeof where, "epoch %d, step %lld (stopped; the last good checkpoint is kept)", epoch,
                         (long long)s);
                rc = -2;
                dtcl_fail_prefix(err, where);
                break;
            }
            if (!isfinite(l.loss_e) || !isfinite(l.loss_m)) {
                rc = -2;
                dtcl_fail(err, "epoch %d, step %lld: the loss is not finite (L_E %g, L_M %g); stopped, the last "
                               "good checkpoint is kept (try a smaller --lr-f or --lr-m)", epoch, (long long)s,
                          l.loss_e, l.loss_m);
                break;
            }
            accumulate(&r, order + s * c->batch, &l, acc);
            done = s + 1;
            if (tty && !c->quiet) {
                double el = dtcl_now_s() - t0, ips = (s + 1) * c->batch / el;
                double eta = (steps - s - 1) * c->batch / ips + (c->epochs - epoch) * steps * c->batch / ips;
                fprintf(stderr, "\repoch %d/%d step %lld/%lld  L_E %.4f  L_M %.4f  %.1f img/s  ETA %.0f s   ", epoch,
                        c->epochs, (long long)s + 1, (long long)steps, l.loss_e, l.loss_m, ips, eta);
            }
            if (dtcl_train_stop)
                break;
        }
        if (rc != 0)
            break;
        if (dtcl_train_stop && done < steps) {
            /* saved after the last completed step, with the epoch's sums so far:
             * resuming continues with step `done` and gives the same bits as
             * the uninterrupted run */
            *interrupted = 1;
            rc = save_checkpoint(&r, epoch, CK_INTERRUPTED, (int)done, acc, err);
            if (rc == 0 && !c->quiet)
                fprintf(stderr, "%sdtcl train: interrupted in epoch %d after step %lld, saved; `dtcl train --resume "
                                "%s' continues from there\n", tty ? "\n" : "", epoch, (long long)done, run);
            break;
        }
        double vbce, vauc, secs = dtcl_now_s() - t0;
        if (validate(&r, &vbce, &vauc, err) != 0) {
            rc = -2;
            break;
        }
        char row[4096];
        metrics_row(row, sizeof row, epoch, acc, vbce, vauc, secs);
        if (epoch % c->save_every == 0 || epoch == c->epochs)
            rc = save_checkpoint(&r, epoch, CK_EPOCH, 0, NULL, err);
        else
            rc = save_checkpoint(&r, epoch, CK_LAST, 0, NULL, err);
        if (rc == 0 && start_step > 0) { /* the interrupted epoch is complete now */
            checkpoint_path(path, sizeof path, run, CK_INTERRUPTED, 0);
            unlink(path);
            start_step = 0;
        }
        if (rc == 0)
            rc = append_metrics(run, epoch - 1, row, err);
        if (!c->quiet)
            fprintf(stderr, "%sepoch %d: L_E %.4f  L_M %.4f  val BCE %.4f  val AUC %.4f  %.1f s\n", tty ? "\r" : "",
                    epoch, acc[ACC_LOSS_E] / acc[ACC_STEPS], acc[ACC_LOSS_M] / acc[ACC_STEPS], vbce, vauc, secs);
        if (dtcl_train_stop && epoch < c->epochs) {
            *interrupted = 1;
            if (!c->quiet)
                fprintf(stderr, "dtcl train: interrupted after epoch %d, saved; `dtcl train --resume %s' continues\n",
                        epoch, run);
            break;
        }
    }
    free(order);
    teardown(&r);
    return rc;
}
