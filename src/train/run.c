/* run.c: the run folder and what a run's configuration builds (see run.h). */
#define _DEFAULT_SOURCE
#include "config.h"

#include "train/run.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomicfile.h"
#include "io/jsonfile.h"
#include "io/safetensors.h"
#include "nets/checkpoint.h"
#include "data/split.h"
#include "transform/stages.h"

#ifdef HAVE_OPENBLAS_GET_CORENAME
char *openblas_get_corename(void);
#endif

/* ---------------------------------------------------------------- the configuration */

void dtcl_train_config_default(DtclTrainConfig *c, DtclStrategy s)
{
    memset(c, 0, sizeof *c);
    c->strategy = s;
    memcpy(c->alpha, dtcl_strategies[s].alpha, sizeof c->alpha);
    c->lr_f = 1e-4;
    c->lr_m = -1;
    c->encoder = DTCL_ENCODER_FCN;
    c->batch = dtcl_encoder_default_batch(c->encoder);
    c->epochs = 100;
    c->save_every = 10;
    c->label_fraction = 0.1;
    c->nce.kind = DTCL_NCE_PAPER;
    c->nce.sim = DTCL_SIM_COSINE; /* SPEC section 4: L2-normalised, tau 1 */
    c->nce.tau = 1.0;
    snprintf(c->order, sizeof c->order, "%s", dtcl_default_order);
    snprintf(c->widths, sizeof c->widths, "32,64,128,256");
    c->seed = 1;
    c->train_fraction = 1;
}

double dtcl_train_lr_m(const DtclTrainConfig *c)
{
    return c->lr_m > 0 ? c->lr_m : c->alpha[1] > 0 ? 1e-3 : 1e-4;
}

int dtcl_strategy_uses_m(DtclStrategy s)
{
    return dtcl_strategies[s].lambda == DTCL_LAMBDA_FROM_M;
}

/* ---------------------------------------------------------------- config.json */

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
    cJSON_AddStringToObject(r, "strategy", dtcl_strategies[c->strategy].name);
    cJSON *a = cJSON_AddArrayToObject(r, "alpha");
    for (int k = 0; k < 5; k++)
        cJSON_AddItemToArray(a, dtcl_json_exact(c->alpha[k]));
    dtcl_json_add_number(r, "lr_f", c->lr_f);
    dtcl_json_add_number(r, "lr_m", dtcl_train_lr_m(c));
    cJSON_AddNumberToObject(r, "batch", c->batch);
    cJSON_AddNumberToObject(r, "epochs", c->epochs);
    cJSON_AddNumberToObject(r, "save_every", c->save_every);
    dtcl_json_add_number(r, "label_fraction", c->label_fraction);
    cJSON_AddStringToObject(r, "nce", dtcl_nce_kind_names[c->nce.kind]);
    cJSON_AddStringToObject(r, "similarity", dtcl_similarity_names[c->nce.sim]);
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

char *dtcl_run_config_text(const DtclTrainConfig *c, int threads)
{
    cJSON *doc = config_doc(c, threads);
    char *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    return text;
}

int dtcl_run_config_save(const char *run, const DtclTrainConfig *c, int threads, DtclError *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", run);
    cJSON *doc = config_doc(c, threads);
    int rc = dtcl_json_save(path, doc, err);
    cJSON_Delete(doc);
    return rc;
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
    if (rc == 0 && dtcl_nce_kind_parse(s, &c->nce.kind) != 0)
        rc = dtcl_fail(err, "%s: unknown \"nce\" \"%s\" (expected paper, simclr or supcon)", path, s);
    if (rc == 0)
        rc = dtcl_json_string(r, "similarity", s, sizeof s, path, err);
    if (rc == 0 && dtcl_similarity_parse(s, &c->nce.sim) != 0)
        rc = dtcl_fail(err, "%s: unknown \"similarity\" \"%s\" (expected dot or cosine)", path, s);
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

/* ---------------------------------------------------------------- the split, the model, T */

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

int dtcl_run_model(const DtclTrainConfig *c, int S, DtclModel *md, DtclError *err)
{
    DtclModelConfig mc;
    if (dtcl_train_model_config(c, &mc, err) != 0)
        return -1;
    if (S < dtcl_model_min_size(&mc)) {
        char desc[160];
        return dtcl_fail(err, "%s: images of %dx%d; the %s needs at least %dx%d", c->data, S, S,
                         dtcl_model_describe(&mc, desc, sizeof desc), dtcl_model_min_size(&mc),
                         dtcl_model_min_size(&mc));
    }
    dtcl_model_init(md, &mc);
    dtcl_model_reset(md, c->seed);
    if (c->init[0] && dtcl_checkpoint_load_encoder(c->init, md, err) != 0) {
        dtcl_model_free(md);
        return -1;
    }
    return 0;
}

int dtcl_run_transforms(const DtclTrainConfig *c, int S, DtclTransform *tr, DtclTransform *nocrop,
                        int *has_nocrop, DtclError *err)
{
    DtclStage order[DTCL_NSTAGES], kept[DTCL_NSTAGES];
    int n, nk = 0;
    *has_nocrop = 0;
    if (dtcl_transform_parse_order(c->order, order, &n, err) != 0)
        return -1;
    DtclTransformParams tp;
    dtcl_transform_params_default(&tp);
    if (dtcl_transform_init(tr, S, order, n, &tp, err) != 0)
        return -1;
    for (int k = 0; k < n; k++)
        if (dtcl_stages[order[k]].off_identity)
            kept[nk++] = order[k];
    if (nk > 0 && nk < n) {
        if (dtcl_transform_init(nocrop, S, kept, nk, &tp, err) != 0) {
            dtcl_transform_free(tr);
            memset(tr, 0, sizeof *tr);
            return -1;
        }
        *has_nocrop = 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- checkpoints */

void dtcl_run_checkpoint_path(char *path, size_t size, const char *run, DtclRunFile kind, int epoch)
{
    if (kind == DTCL_RUN_LAST)
        snprintf(path, size, "%s/checkpoints/last.safetensors", run);
    else if (kind == DTCL_RUN_INTERRUPTED)
        snprintf(path, size, "%s/checkpoints/interrupted.safetensors", run);
    else
        snprintf(path, size, "%s/checkpoints/epoch-%03d.safetensors", run, epoch);
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

int dtcl_run_resume_point(const char *run, char *path, size_t size)
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

/* ---------------------------------------------------------------- metrics.csv */

static void metrics_header(FILE *f)
{
    fprintf(f, "epoch,steps,loss_e,loss_m,nce,bce_m,bce,val_bce,val_auc");
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < DTCL_NLAMBDA; k++)
            fprintf(f, ",lambda%d_mean_c%d,lambda%d_std_c%d", k, c, k, c);
    fprintf(f, ",nce_floor,nce_below_floor,seconds\n");
}

int dtcl_run_metrics_write(const char *run, int keep_epoch, const char *row, DtclError *err)
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
