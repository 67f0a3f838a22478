/* train.c: the training loop for every strategy (paper section 3, Eq. 1;
 * SPEC sections 4, 5, 8; see train.h): batches in each epoch's order, the
 * strategy's Lambda and step (strategy.h, step.h), validation, checkpoints
 * and metrics into the run folder (run.h), resume. */
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

#include "base/clock.h"
#include "base/rng.h"
#include "data/dataset.h"
#include "data/split.h"
#include "eval/logreg.h"
#include "io/safetensors.h"
#include "nets/checkpoint.h"
#include "train/run.h"
#include "train/step.h"
#include "train/strategy.h"

volatile int dtcl_train_stop;

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

/* checkpoints/epoch-NNN.safetensors; last.safetensors (the state after the
 * latest epoch, rewritten every epoch); or interrupted.safetensors (SIGINT
 * within an epoch: the state after step `step` of epoch `epoch`, with the
 * epoch's sums so far in `acc`). `epoch` in the metadata is the last
 * completed epoch. */
static int save_checkpoint(Run *r, int epoch, DtclRunFile kind, int step, const double *acc, DtclError *err)
{
    char path[4300], ep[32], seed[32], rep[32], rst[32], accs[ACC_N * 26 + 4] = "[";
    dtcl_run_checkpoint_path(path, sizeof path, r->run, kind, epoch);
    snprintf(ep, sizeof ep, "%d", kind == DTCL_RUN_INTERRUPTED ? epoch - 1 : epoch);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->cfg.seed);
    snprintf(rep, sizeof rep, "%d", epoch);
    snprintf(rst, sizeof rst, "%d", step);
    for (int k = 0; kind == DTCL_RUN_INTERRUPTED && k < ACC_N; k++)
        snprintf(accs + strlen(accs), sizeof accs - strlen(accs), "%s%.17g", k ? "," : "", acc[k]);
    strcat(accs, "]");
    if (dtcl_step_sync(&r->st, err) != 0) /* the GPU's state into r->md */
        return -1;
    char *cfg = dtcl_run_config_text(&r->cfg, r->threads);
    const char *k[7] = {"epoch", "seed", "strategy", "config", "resume_epoch", "resume_step", "epoch_sums"};
    const char *v[7] = {ep, seed, dtcl_strategies[r->cfg.strategy].name, cfg, rep, rst, accs};
    int rc = dtcl_checkpoint_save(path, &r->md, k, v, kind == DTCL_RUN_INTERRUPTED ? 7 : 4, err);
    free(cfg);
    return rc;
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
    int supervised = c->alpha[1] > 0 || c->alpha[3] > 0 || c->alpha[4] > 0 ||
                     dtcl_strategies[c->strategy].step == DTCL_STEP_SUPERVISED ||
                     c->nce.kind == DTCL_NCE_SUPCON;
    if (supervised && nlab == 0)
        return dtcl_fail(err, "%s: strategy %s needs labels, but no training image is labelled (meta.csv labels "
                              "empty, or split.csv marks none labelled)", c->data, dtcl_strategies[c->strategy].name);
    if (dtcl_run_model(c, r->S, &r->md, err) != 0 ||
        dtcl_run_transforms(c, r->S, &r->tr, &r->tr_nocrop, &r->has_nocrop, err) != 0)
        return -1;
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
    int ep = dtcl_run_resume_point(r->run, path, sizeof path);
    if (ep < 0)
        return dtcl_fail(err, "%s: no checkpoints/epoch-NNN.safetensors to resume from", r->run);
    *start = ep;
    *step = 0;
    dtcl_run_checkpoint_path(ip, sizeof ip, r->run, DTCL_RUN_INTERRUPTED, 0);
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
    const DtclStrategyInfo *st = &dtcl_strategies[r->cfg.strategy];
    if (st->lambda == DTCL_LAMBDA_FROM_M)
        return dtcl_step_proposed(&r->st, &r->sc, &ns, r->x, r->labels, l, r->lambda, err);
    uint8_t crop_on[4096];
    dtcl_strategy_draw(st->lambda, r->cfg.seed, epoch, step, idx, B, r->lambda, crop_on);
    return dtcl_step_augmented(&r->st, &r->sc, &ns, r->x, r->lambda, st->lambda == DTCL_LAMBDA_AUGMENT ? crop_on : NULL,
                               st->step == DTCL_STEP_SUPERVISED, r->labels, l, err);
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

static void metrics_row(char *row, size_t size, int epoch, const double *acc, double vbce, double vauc, double floor,
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
    snprintf(row + k, size - (size_t)k, ",%.9g,%d,%.3f\n", floor, acc[ACC_NCE] / n < floor, seconds);
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
        rc = dtcl_run_config_save(run, c, r.threads, err);
        if (rc == 0) {
            snprintf(path, sizeof path, "%s/split.csv", run);
            rc = dtcl_split_write(path, &r.ds, r.split, r.labelled, err);
        }
        if (rc == 0)
            rc = save_checkpoint(&r, 0, DTCL_RUN_EPOCH, 0, NULL, err);
        if (rc == 0)
            rc = dtcl_run_metrics_write(run, -1, NULL, err);
    }
    if (rc != 0) {
        teardown(&r);
        if (!resume)
            dtcl_remove_tree(run); /* it was created above, for this run only */
        return -1;
    }
    int64_t steps = r.ntrain / c->batch;
    int64_t *order = DTCL_MALLOC(sizeof(int64_t) * (size_t)(r.ntrain + 1));
    DtclProgress own, *pg = c->progress;
    if (!pg) { /* dtcl train itself: the run is the one task */
        pg = &own;
        dtcl_progress_begin(pg, "dtcl train", c->quiet, 1);
        dtcl_progress_task(pg, 1, "%s", run);
    }
    if (!c->quiet)
        dtcl_progress_note(pg, "dtcl train: %s, %lld training images (%lld validation), %lld steps of %d per epoch, "
                               "epochs %d to %d\n", dtcl_strategies[c->strategy].name, (long long)r.ntrain,
                           (long long)r.nval, (long long)steps, c->batch, start + 1, c->epochs);
    double all_steps = (double)c->epochs * (double)(steps > 0 ? steps : 1);
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
            double el = dtcl_now_s() - t0;
            dtcl_progress_update(pg, ((epoch - 1) * (double)steps + (double)(s + 1)) / all_steps,
                                 el > 0 ? (double)(s + 1 - first) * c->batch / el : 0,
                                 "epoch %d/%d step %lld/%lld, L_E %.4f, L_M %.4f", epoch, c->epochs, (long long)s + 1,
                                 (long long)steps, l.loss_e, l.loss_m);
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
            rc = save_checkpoint(&r, epoch, DTCL_RUN_INTERRUPTED, (int)done, acc, err);
            if (rc == 0 && !c->quiet)
                dtcl_progress_note(pg, "dtcl train: interrupted in epoch %d after step %lld, saved; `dtcl train "
                                       "--resume %s' continues from there\n", epoch, (long long)done, run);
            break;
        }
        double vbce, vauc, secs = dtcl_now_s() - t0;
        if (validate(&r, &vbce, &vauc, err) != 0) {
            rc = -2;
            break;
        }
        char row[4096];
        /* the supervised step computes no L_NCE: no floor to fall below */
        int has_nce = dtcl_strategies[c->strategy].step != DTCL_STEP_SUPERVISED;
        double floor = has_nce ? dtcl_nce_floor(&c->nce, c->batch) : NAN;
        double nce = acc[ACC_NCE] / acc[ACC_STEPS];
        metrics_row(row, sizeof row, epoch, acc, vbce, vauc, floor, secs);
        if (epoch % c->save_every == 0 || epoch == c->epochs)
            rc = save_checkpoint(&r, epoch, DTCL_RUN_EPOCH, 0, NULL, err);
        else
            rc = save_checkpoint(&r, epoch, DTCL_RUN_LAST, 0, NULL, err);
        if (rc == 0 && start_step > 0) { /* the interrupted epoch is complete now */
            dtcl_run_checkpoint_path(path, sizeof path, run, DTCL_RUN_INTERRUPTED, 0);
            unlink(path);
            start_step = 0;
        }
        if (rc == 0)
            rc = dtcl_run_metrics_write(run, epoch - 1, row, err);
        if (!c->quiet)
            dtcl_progress_note(pg, "epoch %d: L_E %.4f  L_M %.4f  val BCE %.4f  val AUC %.4f  %.1f s\n", epoch,
                               acc[ACC_LOSS_E] / acc[ACC_STEPS], acc[ACC_LOSS_M] / acc[ACC_STEPS], vbce, vauc, secs);
        if (nce < floor) /* said even in an experiment's quiet runs, unless its progress is quiet too */
            dtcl_progress_note(pg, "dtcl train: warning: %s, epoch %d: L_NCE %.4g is below %.4g, the least it can be "
                                   "with cosine similarity: with --similarity dot it has no bound and the encoder "
                                   "lowers it by growing |z| (M's loss then grows without bound); SPEC section 4\n",
                               run, epoch, nce, floor);
        if (dtcl_train_stop && epoch < c->epochs) {
            *interrupted = 1;
            if (!c->quiet)
                dtcl_progress_note(pg, "dtcl train: interrupted after epoch %d, saved; `dtcl train --resume %s' "
                                       "continues\n", epoch, run);
            break;
        }
    }
    if (pg == &own)
        dtcl_progress_end(pg);
    free(order);
    teardown(&r);
    return rc;
}
