/* experiment.c: the paper's experiments as sets of runs (see experiment.h). */
#define _DEFAULT_SOURCE
#include "config.h"
#include "eval/experiment.h"
#include "eval/experiment_def.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include "io/atomicfile.h"
#include "base/clock.h"
#include "data/dataset.h"
#include "eval/eval.h"
#include "io/jsonfile.h"
#include "train/train.h"

const char *const dtcl_experiment_order2 = "rotate,vflip,hflip,crop,noise,blur";

/* ---------------------------------------------------------------- the configurations */

#define S_(x) DTCL_STRATEGY_##x
const DtclExpConfig dtcl_exp_configs[DTCL_NCFG] = {
    {{"proposed", "proposed (a0,2 = 1, a3,4 = 1, a1 = 10)", S_(PROPOSED)}, {1, 10, 1, 1, 1}, 0.1, 0, 0},
    {{"proposed-a0.1-10-0.1-10-10", "proposed (a0 = 0.1, a1,3,4 = 10, a2 = 0.1)", S_(PROPOSED)},
     {0.1, 10, 0.1, 10, 10}, 0.1, 0, 0},
    {{"proposed-a0.1-10-1-1-1", "proposed (a0 = 0.1, a1 = 10, a2 = 1, a3,4 = 1)", S_(PROPOSED)},
     {0.1, 10, 1, 1, 1}, 0.1, 0, 0},
    {{"random-sup-a1-1-1", "random-sup (a2 = 1, a3,4 = 1)", S_(RANDOM_SUP)}, {0, 0, 1, 1, 1}, 0.1, 0, 0},
    {{"random-sup-a0.1-10-10", "random-sup (a2 = 0.1, a3,4 = 10)", S_(RANDOM_SUP)}, {0, 0, 0.1, 10, 10}, 0.1, 0, 0},
    {{"random-sup", "random-sup (a2 = 1, a3,4 = 10)", S_(RANDOM_SUP)}, {0, 0, 1, 10, 10}, 0.1, 0, 0},
    {{"simclr", "simclr", S_(SIMCLR)}, {0, 0, 1, 0, 0}, 0.1, 0, 0},
    {{"random", "random", S_(RANDOM)}, {0, 0, 1, 0, 0}, 0.1, 0, 0},
    {{"ssl", "ssl", S_(SSL)}, {1, 0, 1, 0, 0}, 0.1, 0, 0},
    {{"supervised-10", "supervised, 10% labels", S_(SUPERVISED)}, {0, 0, 0, 1, 0}, 0.1, 0, 0},
    {{"supervised-100", "supervised, 100% labels", S_(SUPERVISED)}, {0, 0, 0, 1, 0}, 1.0, 0, 0},
    {{"simclr-order2", "simclr, reversed order", S_(SIMCLR)}, {0, 0, 1, 0, 0}, 0.1, 0, 1},
    {{"proposed-order2", "proposed, reversed order", S_(PROPOSED)}, {1, 10, 1, 1, 1}, 0.1, 0, 1},
    {{"supcon-10", "SupCon, 10% labels", S_(SIMCLR)}, {0, 0, 1, 0, 0}, 0.1, 1, 0},
};
#undef S_

static const int members_table2[] = {DTCL_CFG_PROPOSED, DTCL_CFG_PROPOSED_B, DTCL_CFG_PROPOSED_C, DTCL_CFG_RSUP_A,
                                     DTCL_CFG_RSUP_B,   DTCL_CFG_RSUP,       DTCL_CFG_SIMCLR,     -1};
static const int members_fig2[] = {DTCL_CFG_RANDOM, DTCL_CFG_RSUP,  DTCL_CFG_SSL,    DTCL_CFG_PROPOSED,
                                   DTCL_CFG_SIMCLR, DTCL_CFG_SUP10, DTCL_CFG_SUP100, -1};
static const int members_order[] = {DTCL_CFG_SIMCLR, DTCL_CFG_SIMCLR_O2, DTCL_CFG_PROPOSED, DTCL_CFG_PROPOSED_O2, -1};
static const int members_supcon[] = {DTCL_CFG_SUPCON, DTCL_CFG_PROPOSED, -1};
static const int members_demo[] = {DTCL_CFG_PROPOSED, DTCL_CFG_SIMCLR, DTCL_CFG_SUP10, DTCL_CFG_SUP100, -1};
const int *const dtcl_exp_members[DTCL_NEXPERIMENTS] = {members_table2, members_fig2, members_order, members_supcon,
                                                        members_demo};

const DtclExpConfigInfo *dtcl_experiment_configs(int *n)
{
    static DtclExpConfigInfo info[DTCL_NCFG];
    for (int k = 0; k < DTCL_NCFG; k++)
        info[k] = dtcl_exp_configs[k].info;
    *n = DTCL_NCFG;
    return info;
}

int dtcl_experiment_members(int which, int *index, int max)
{
    const int *const *lists = dtcl_exp_members;
    int n = 0;
    for (int e = 0; e < DTCL_NEXPERIMENTS; e++) {
        if (!(which & (1 << e)))
            continue;
        for (const int *m = lists[e]; *m >= 0; m++) {
            int seen = 0;
            for (int k = 0; k < n; k++)
                seen |= index[k] == *m;
            if (!seen && n < max)
                index[n++] = *m;
        }
    }
    return n;
}

int dtcl_experiment_parse(const char *name)
{
    static const char *names[6] = {"table2", "fig2", "order", "supcon", "all", "demo"};
    static const int bits[6] = {DTCL_EXP_TABLE2, DTCL_EXP_FIG2, DTCL_EXP_ORDER,
                                DTCL_EXP_SUPCON, DTCL_EXP_ALL,  DTCL_EXP_DEMO};
    for (int k = 0; k < 6; k++)
        if (strcmp(name, names[k]) == 0)
            return bits[k];
    return 0;
}

void dtcl_experiment_options_default(DtclExperimentOptions *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 100;
    o->eval_every = 10;
    o->repeats = 3;
    o->encoder = DTCL_ENCODER_FCN;
    o->batch = dtcl_encoder_default_batch(o->encoder);
    snprintf(o->widths, sizeof o->widths, "32,64,128,256");
    o->seed = 1;
    o->lr_f = 1e-4;
    o->nce = (DtclNce){DTCL_NCE_PAPER, DTCL_SIM_COSINE, 1.0}; /* SPEC section 4 */
}

/* ---------------------------------------------------------------- settings (experiment.json) */


static int settings_write(const char *out, const DtclExpSettings *s, DtclError *err)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "format", "dtcl-experiment");
    cJSON_AddNumberToObject(r, "format_version", 1);
    cJSON_AddStringToObject(r, "dtcl_version", PACKAGE_VERSION);
    cJSON_AddStringToObject(r, "data", s->data);
    cJSON_AddNumberToObject(r, "epochs", s->epochs);
    cJSON_AddNumberToObject(r, "eval_every", s->eval_every);
    cJSON_AddNumberToObject(r, "requested_epochs", s->requested_epochs);
    cJSON_AddNumberToObject(r, "requested_eval_every", s->requested_eval_every);
    cJSON_AddNumberToObject(r, "repeats", s->repeats);
    cJSON_AddNumberToObject(r, "batch", s->batch);
    cJSON_AddStringToObject(r, "widths", s->widths);
    cJSON_AddStringToObject(r, "encoder", dtcl_encoder_name(s->encoder));
    cJSON_AddStringToObject(r, "init", s->init);
    cJSON_AddStringToObject(r, "nce", dtcl_nce_kind_names[s->nce.kind]);
    cJSON_AddStringToObject(r, "similarity", dtcl_similarity_names[s->nce.sim]);
    dtcl_json_add_number(r, "tau", s->nce.tau);
    dtcl_json_add_u64(r, "seed", s->seed);
    dtcl_json_add_number(r, "train_fraction", s->train_fraction);
    dtcl_json_add_number(r, "lr_f", s->lr_f);
    cJSON *ex = cJSON_AddArrayToObject(r, "experiments");
    static const char *const names[DTCL_NEXPERIMENTS] = {"table2", "fig2", "order", "supcon", "demo"};
    for (int e = 0; e < DTCL_NEXPERIMENTS; e++)
        if (s->which & (1 << e))
            cJSON_AddItemToArray(ex, cJSON_CreateString(names[e]));
    cJSON_AddStringToObject(r, "scaled", s->scaled);
    char path[4200];
    snprintf(path, sizeof path, "%s/experiment.json", out);
    int rc = dtcl_json_save(path, r, err);
    cJSON_Delete(r);
    return rc;
}

/* experiment.json into s: 0; 1 when there is none (a new experiment); -1 with err. */
int dtcl_exp_settings_read(const char *out, DtclExpSettings *s, DtclError *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/experiment.json", out);
    if (access(path, F_OK) != 0)
        return 1;
    cJSON *r = dtcl_json_load(path, "dtcl-experiment", "an experiment's settings, written by `dtcl experiment'", err);
    if (!r)
        return -1;
    memset(s, 0, sizeof *s);
    const char *key[6] = {"epochs", "eval_every", "repeats", "batch", "requested_epochs", "requested_eval_every"};
    int *field[6] = {&s->epochs, &s->eval_every, &s->repeats, &s->batch, &s->requested_epochs,
                     &s->requested_eval_every};
    int rc = 0;
    for (int k = 0; k < 6 && rc == 0; k++) {
        double v;
        if (k >= 4 && !cJSON_HasObjectItem(r, key[k])) /* requested_*: absent before --budget recorded them */
            *field[k] = *field[k - 4];                  /* epochs, eval_every */
        else if ((rc = dtcl_json_number(r, key[k], &v, path, err)) == 0)
            *field[k] = (int)v;
    }
    if (rc == 0)
        rc = dtcl_json_number(r, "train_fraction", &s->train_fraction, path, err);
    s->lr_f = 1e-4; /* absent before --lr-f: the paper's */
    if (rc == 0 && cJSON_HasObjectItem(r, "lr_f"))
        rc = dtcl_json_number(r, "lr_f", &s->lr_f, path, err);
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(r, "experiments"), *e; /* absent before the demo's */
    cJSON_ArrayForEach(e, ex)
    {
        int bit = cJSON_IsString(e) ? dtcl_experiment_parse(e->valuestring) : 0;
        if (!bit && rc == 0)
            rc = dtcl_fail(err, "%s: \"experiments\" holds an unknown experiment", path);
        s->which |= bit;
    }
    if (rc == 0)
        rc = dtcl_json_string(r, "data", s->data, sizeof s->data, path, err);
    if (rc == 0)
        rc = dtcl_json_string(r, "widths", s->widths, sizeof s->widths, path, err);
    char enc[32] = "fcn"; /* encoder, init: absent before densenet121 came */
    if (rc == 0 && cJSON_HasObjectItem(r, "encoder"))
        rc = dtcl_json_string(r, "encoder", enc, sizeof enc, path, err);
    if (rc == 0 && dtcl_encoder_parse(enc, &s->encoder) != 0)
        rc = dtcl_fail(err, "%s: unknown encoder \"%s\" (expected fcn or densenet121)", path, enc);
    if (rc == 0 && cJSON_HasObjectItem(r, "init"))
        rc = dtcl_json_string(r, "init", s->init, sizeof s->init, path, err);
    /* nce, similarity, tau: absent before cosine became the default, when every run used paper, dot, 1 */
    char kind[32] = "paper", sim[32] = "dot";
    s->nce.tau = 1.0;
    if (rc == 0 && cJSON_HasObjectItem(r, "nce"))
        rc = dtcl_json_string(r, "nce", kind, sizeof kind, path, err);
    if (rc == 0 && cJSON_HasObjectItem(r, "similarity"))
        rc = dtcl_json_string(r, "similarity", sim, sizeof sim, path, err);
    if (rc == 0 && cJSON_HasObjectItem(r, "tau"))
        rc = dtcl_json_number(r, "tau", &s->nce.tau, path, err);
    if (rc == 0 && (dtcl_nce_kind_parse(kind, &s->nce.kind) != 0 || dtcl_similarity_parse(sim, &s->nce.sim) != 0))
        rc = dtcl_fail(err, "%s: \"nce\" \"%s\" or \"similarity\" \"%s\" is unknown", path, kind, sim);
    if (rc == 0)
        rc = dtcl_json_u64(r, "seed", &s->seed, path, err);
    if (rc == 0)
        rc = dtcl_json_string(r, "scaled", s->scaled, sizeof s->scaled, path, err);
    cJSON_Delete(r);
    if (rc == 0 && (s->epochs < 1 || s->eval_every < 1 || s->repeats < 1 || s->batch < 2 || s->seed < 1 ||
                    !(s->train_fraction > 0 && s->train_fraction <= 1)))
        rc = dtcl_fail(err, "%s: a setting is out of range (epochs, eval_every, repeats >= 1, batch >= 2, seed >= 1, "
                            "train_fraction in (0, 1])", path);
    return rc;
}

/* ---------------------------------------------------------------- one run */

static void run_config(const DtclExpSettings *s, int ci, int repeat, DtclTrainConfig *c)
{
    const DtclExpConfig *e = &dtcl_exp_configs[ci];
    dtcl_train_config_default(c, (DtclStrategy)e->info.strategy);
    snprintf(c->data, sizeof c->data, "%s", s->data);
    memcpy(c->alpha, e->alpha, sizeof c->alpha);
    c->label_fraction = e->label_fraction;
    c->nce = s->nce;
    if (e->supcon)
        c->nce.kind = DTCL_NCE_SUPCON;
    if (e->order2)
        snprintf(c->order, sizeof c->order, "%s", dtcl_experiment_order2);
    snprintf(c->widths, sizeof c->widths, "%s", s->widths);
    c->encoder = s->encoder;
    snprintf(c->init, sizeof c->init, "%s", s->init);
    c->batch = s->batch;
    c->lr_f = s->lr_f;
    c->epochs = s->epochs;
    c->save_every = s->eval_every;
    c->seed = s->seed + (uint64_t)repeat;
    c->split_seed = s->seed;
    c->label_seed = s->seed + (uint64_t)repeat;
    c->train_fraction = s->train_fraction;
    c->quiet = 1;
    c->device = s->device;
}

void dtcl_exp_run_dir(char *path, size_t size, const char *out, int ci, int repeat)
{
    snprintf(path, size, "%s/%s/%d", out, dtcl_exp_configs[ci].info.name, repeat);
}

/* The first field in which a run's config.json differs from what the
 * experiment would train there, or NULL. */
static const char *config_mismatch(const DtclTrainConfig *have, const DtclTrainConfig *want)
{
    if (have->strategy != want->strategy)
        return "strategy";
    for (int k = 0; k < 5; k++)
        if (have->alpha[k] != want->alpha[k])
            return "alpha";
    if (have->label_fraction != want->label_fraction)
        return "label_fraction";
    if (have->nce.kind != want->nce.kind)
        return "nce";
    if (have->nce.sim != want->nce.sim)
        return "similarity";
    if (have->nce.tau != want->nce.tau)
        return "tau";
    if (strcmp(have->order, want->order) != 0)
        return "order";
    if (strcmp(have->widths, want->widths) != 0)
        return "widths";
    if (have->encoder != want->encoder)
        return "encoder";
    if (strcmp(have->init, want->init) != 0)
        return "init";
    if (have->batch != want->batch)
        return "batch";
    if (have->lr_f != want->lr_f)
        return "lr_f";
    if (have->save_every != want->save_every)
        return "save_every";
    if (have->seed != want->seed || have->split_seed != want->split_seed || have->label_seed != want->label_seed)
        return "seed";
    if (have->train_fraction != want->train_fraction)
        return "train_fraction";
    if (strcmp(have->data, want->data) != 0)
        return "data";
    return NULL;
}

/* The epochs a finished run is evaluated at: 0, K, 2K, ..., E. */
int dtcl_exp_eval_epochs(const DtclExpSettings *s, int *ep, int max)
{
    int n = 0;
    for (int e = 0; e <= s->epochs && n < max; e += s->eval_every)
        ep[n++] = e;
    if (ep[n - 1] != s->epochs && n < max)
        ep[n++] = s->epochs;
    return n;
}

/* Where a run stands: the epoch its newest checkpoint holds (-1: not started)
 * and the eval epochs still missing. */
typedef struct {
    int ci, repeat, trained_to, nmissing, missing[1024];
} RunState;

static int run_state(const DtclExpSettings *s, const char *out, int ci, int repeat, RunState *st, DtclError *err)
{
    char dir[4300], path[4400];
    dtcl_exp_run_dir(dir, sizeof dir, out, ci, repeat);
    st->ci = ci;
    st->repeat = repeat;
    st->trained_to = -1;
    st->nmissing = 0;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (access(path, F_OK) == 0) {
        DtclTrainConfig have, want;
        if (dtcl_train_config_load(dir, &have, err) != 0)
            return -1;
        run_config(s, ci, repeat, &want);
        const char *field = config_mismatch(&have, &want);
        if (field)
            return dtcl_fail(err, "%s/config.json: its %s differs from what this experiment trains there (was "
                                  "experiment.json edited?); move the folder away to retrain it", dir, field);
        st->trained_to = dtcl_train_newest_epoch(dir);
    }
    int want[1024], nw = dtcl_exp_eval_epochs(s, want, 1024);
    DtclEvalRow rows[1024];
    int nr = dtcl_eval_read(dir, rows, 1024);
    for (int k = 0; k < nw; k++) {
        int have = 0;
        for (int j = 0; j < nr; j++)
            have |= rows[j].epoch == want[k];
        /* evaluated by an older dtcl (no scores/, or not every protocol): evaluated again */
        if (!have || !dtcl_eval_complete(dir, want[k]))
            st->missing[st->nmissing++] = want[k];
    }
    return 0;
}

/* ---------------------------------------------------------------- estimate and budget */

/* The three costs: a step with M (ssl, proposed), with two views of f
 * (random, random-sup, simclr, supcon), with one (supervised). */
enum { COST_M, COST_TWO, COST_ONE, NCOSTS };

static int cost_of(int ci)
{
    const DtclExpConfig *e = &dtcl_exp_configs[ci];
    DtclStrategy st = (DtclStrategy)e->info.strategy;
    if (dtcl_strategy_uses_m(st))
        return COST_M;
    return dtcl_strategies[st].step == DTCL_STEP_SUPERVISED ? COST_ONE : COST_TWO;
}

typedef struct {
    double step_s[NCOSTS];
    int64_t steps_per_epoch, ntrain, nval, ntest;
    double embed_image_s;
} Costs;

static int measure(const DtclExpSettings *s, Costs *k, FILE *log, DtclError *err)
{
    static const int rep[NCOSTS] = {DTCL_CFG_PROPOSED, DTCL_CFG_SIMCLR, DTCL_CFG_SUP10};
    static const char *names[NCOSTS] = {"with M (ssl, proposed)", "two views (random, random-sup, simclr, supcon)",
                                        "one view (supervised)"};
    memset(k, 0, sizeof *k);
    for (int c = 0; c < NCOSTS; c++) {
        DtclTrainConfig tc;
        run_config(s, rep[c], 0, &tc);
        DtclTrainTiming t;
        if (dtcl_train_time(&tc, 3, &t, err) != 0)
            return -1;
        k->step_s[c] = t.step_s;
        k->steps_per_epoch = t.steps_per_epoch;
        k->ntrain = t.ntrain;
        k->ntest = t.ntest;
        k->nval = t.nval;
        k->embed_image_s = t.embed_image_s;
        if (log)
            fprintf(log, "  one epoch %-48s %6.1f s  (%lld steps of %d, %.3f s each)\n", names[c],
                    t.step_s * (double)t.steps_per_epoch, (long long)t.steps_per_epoch, s->batch, t.step_s);
    }
    return 0;
}

/* Seconds for one run from where it stands, at epochs E and train fraction
 * f relative to the measured one: its training (with p(f(X)) on the
 * validation images after each epoch) and its evaluations. */
static void run_cost(const Costs *k, const RunState *st, int epochs, int eval_every, double f_scale, double *train,
                     double *evals)
{
    int nevals = epochs / eval_every + 1 + (epochs % eval_every != 0);
    int left = epochs - (st->trained_to < 0 ? 0 : st->trained_to);
    *train = left > 0 ? left * ((double)k->steps_per_epoch * f_scale * k->step_s[cost_of(st->ci)] +
                                (double)k->nval * k->embed_image_s)
                      : 0;
    int ev = st->trained_to < 0 ? nevals : st->nmissing;
    *evals = ev * ((double)k->ntest * k->embed_image_s + 0.05);
}

/* Seconds for the runs of `states` from where they stand. */
static double estimate(const Costs *k, const RunState *states, int n, int epochs, int eval_every, double f_scale)
{
    double total = 0;
    for (int r = 0; r < n; r++) {
        double t, e;
        run_cost(k, &states[r], epochs, eval_every, f_scale, &t, &e);
        total += t + e;
    }
    return total;
}

static void describe_minutes(char *buf, size_t size, double seconds)
{
    if (seconds < 90)
        snprintf(buf, size, "%.0f s", seconds);
    else if (seconds < 5400)
        snprintf(buf, size, "%.1f min", seconds / 60);
    else
        snprintf(buf, size, "%.1f h", seconds / 3600);
}

/* Scales epochs, then the training set, so that the estimate fits budget
 * seconds; writes what it did into s->scaled. */
static void fit_budget(DtclExpSettings *s, const Costs *k, const RunState *states, int n, double budget, FILE *log)
{
    int E0 = s->epochs, K0 = s->eval_every;
    double f0 = s->train_fraction;
    double full = estimate(k, states, n, s->epochs, s->eval_every, 1);
    if (full <= budget) {
        snprintf(s->scaled, sizeof s->scaled, "nothing (estimate within the budget of %.1f min)", budget / 60);
        return;
    }
    int emin = s->epochs < 4 ? s->epochs : 4;
    double per_epoch = estimate(k, states, n, 1, 1, 1) - estimate(k, states, n, 0, 1, 1); /* one epoch of every run */
    for (int E = s->epochs; E >= emin; E--) {
        int K = (int)lround(K0 * (double)E / E0);
        K = K < 1 ? 1 : K;
        s->epochs = E;
        s->eval_every = K;
        if (estimate(k, states, n, E, K, 1) <= budget)
            break;
    }
    double at = estimate(k, states, n, s->epochs, s->eval_every, 1);
    if (at > budget) {
        double fixed = at - s->epochs * per_epoch;
        double f = (budget - fixed) / (s->epochs * per_epoch);
        double fmin = 2.0 * s->batch / (double)k->ntrain;
        fmin = fmin > 0.02 ? fmin : 0.02;
        f = f < fmin ? fmin : f > 1 ? 1 : f;
        /* four decimals: JSON (config.json, experiment.json) gives back the same double */
        s->train_fraction = (double)llround(f0 * f * 10000) / 10000;
        f = s->train_fraction / f0;
        at = estimate(k, states, n, s->epochs, s->eval_every, f);
    }
    char est[64];
    describe_minutes(est, sizeof est, at);
    int len = snprintf(s->scaled, sizeof s->scaled, "epochs %d -> %d (evaluated every %d -> %d)", E0, s->epochs, K0,
                       s->eval_every);
    if (s->train_fraction != f0)
        len += snprintf(s->scaled + len, sizeof s->scaled - (size_t)len,
                        ", training images %lld -> %lld (train fraction %.3g)", (long long)k->ntrain,
                        (long long)llround((double)k->ntrain * s->train_fraction / f0), s->train_fraction);
    snprintf(s->scaled + len, sizeof s->scaled - (size_t)len, "; estimate %s for a budget of %.3g min%s", est,
             budget / 60, at > budget * 1.05 ? " (the smallest scale allowed still exceeds it)" : "");
    if (log)
        fprintf(log, "dtcl experiment: --budget scaled %s\n", s->scaled);
}

/* ---------------------------------------------------------------- the experiment */

static int mkdir_p(const char *path, DtclError *err)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
                return dtcl_fail(err, "%s: cannot create: %s", tmp, strerror(errno));
            *p = '/';
        }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
        return dtcl_fail(err, "%s: cannot create: %s", tmp, strerror(errno));
    return 0;
}

/* DtclExpSettings for this start: experiment.json's when it exists (the options the
 * user gave must agree), else the options. Returns 1 for a new experiment. */
static int resolve_settings(const DtclExperimentOptions *o, DtclExpSettings *s, DtclError *err)
{
    int rc = dtcl_exp_settings_read(o->out, s, err);
    if (rc < 0)
        return -1;
    char *abs = realpath(o->data, NULL);
    if (!abs)
        return dtcl_fail(err, "%s: no such dataset folder", o->data);
    if (rc == 1) {
        DIR *d = opendir(o->out);
        struct dirent *e;
        int entries = 0;
        while (d && (e = readdir(d)))
            entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
        if (d)
            closedir(d);
        if (entries) {
            free(abs);
            return dtcl_fail(err, "%s: exists, is not empty and holds no experiment.json; an experiment starts in a "
                                  "new or empty folder", o->out);
        }
        memset(s, 0, sizeof *s);
        snprintf(s->data, sizeof s->data, "%s", abs);
        free(abs);
        s->epochs = o->epochs;
        s->eval_every = o->eval_every < o->epochs ? o->eval_every : o->epochs;
        s->requested_epochs = o->epochs;
        s->requested_eval_every = o->eval_every;
        s->repeats = o->repeats;
        s->batch = o->batch;
        if (!o->given_batch)
            s->batch = dtcl_encoder_default_batch(o->encoder);
        snprintf(s->widths, sizeof s->widths, "%s", o->widths);
        s->encoder = o->encoder;
        snprintf(s->init, sizeof s->init, "%s", o->init);
        s->nce = o->nce;
        s->seed = o->seed;
        s->lr_f = o->lr_f;
        s->train_fraction = 1;
        return 1;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/experiment.json", o->out);
    int bad = strcmp(abs, s->data) != 0;
    free(abs);
    if (bad)
        return dtcl_fail(err, "%s: the experiment was started on %s, not on %s (choose another -o)", path, s->data,
                         o->data);
#define SAME(given, field, have, val)                                                                                \
    if (o->given && o->field != s->have)                                                                             \
        return dtcl_fail(err, "%s: the experiment was started with --%s %d; rerun with the same value, or choose "    \
                              "another -o", path, val, s->have);
    /* the values asked for at the start: a rerun of the same command agrees even when --budget scaled them */
    SAME(given_epochs, epochs, requested_epochs, "epochs")
    SAME(given_eval_every, eval_every, requested_eval_every, "eval-every")
    SAME(given_batch, batch, batch, "batch")
#undef SAME
    if (o->given_seed && o->seed != s->seed)
        return dtcl_fail(err, "%s: the experiment was started with --seed %llu; rerun with the same value, or choose "
                              "another -o", path, (unsigned long long)s->seed);
    if (o->given_widths && strcmp(o->widths, s->widths) != 0)
        return dtcl_fail(err, "%s: the experiment was started with --widths %s; rerun with the same value, or choose "
                              "another -o", path, s->widths);
    if (o->given_encoder && o->encoder != s->encoder)
        return dtcl_fail(err, "%s: the experiment was started with --encoder %s; rerun with the same value, or choose "
                              "another -o", path, dtcl_encoder_name(s->encoder));
    if (o->given_init && strcmp(o->init, s->init) != 0)
        return dtcl_fail(err, "%s: the experiment was started with --init '%s'; rerun with the same value, or choose "
                              "another -o", path, s->init);
    if (o->given_nce && (o->nce.kind != s->nce.kind || o->nce.sim != s->nce.sim || o->nce.tau != s->nce.tau))
        return dtcl_fail(err, "%s: the experiment was started with --nce %s --similarity %s --tau %g; rerun with the "
                              "same values, or choose another -o", path, dtcl_nce_kind_names[s->nce.kind],
                         dtcl_similarity_names[s->nce.sim], s->nce.tau);
    if (o->given_lr_f && o->lr_f != s->lr_f)
        return dtcl_fail(err, "%s: the experiment was started with --lr-f %g; rerun with the same value, or choose "
                              "another -o", path, s->lr_f);
    if (o->repeats > s->repeats)
        s->repeats = o->repeats; /* more supervision sets: the new repeats are added */
    return 0;
}

int dtcl_experiment_run(const DtclExperimentOptions *o, FILE *log, DtclError *err)
{
    DtclExpSettings s;
    int fresh = resolve_settings(o, &s, err);
    if (fresh < 0)
        return -1;
    s.device = o->device;
    s.which |= o->which;
    if (mkdir_p(o->out, err) != 0)
        return -1;
    int idx[DTCL_NCFG], nc = dtcl_experiment_members(o->which, idx, DTCL_NCFG);
    int nruns = nc * s.repeats;
    RunState *states = DTCL_MALLOC(sizeof(RunState) * (size_t)nruns);
    int rc = 0, todo = 0;
    for (int c = 0; c < nc && rc == 0; c++)
        for (int r = 0; r < s.repeats && rc == 0; r++) {
            RunState *st = &states[c * s.repeats + r];
            rc = run_state(&s, o->out, idx[c], r, st, err);
            todo += rc == 0 && (st->trained_to < s.epochs || st->nmissing > 0);
        }
    if (rc != 0) {
        free(states);
        return -1;
    }
    if (log)
        fprintf(log, "dtcl experiment: %d configurations x %d repeats = %d runs in %s, %d to train or evaluate; "
                     "%d epochs, evaluated every %d%s\n", nc, s.repeats, nruns, o->out, todo, s.epochs, s.eval_every,
                fresh ? "" : " (settings from experiment.json)");
    Costs k;
    double f_scale = 1;
    if (todo > 0) {
        if (log)
            fprintf(log, "dtcl experiment: timing a few steps of each kind of run on %s\n", s.data);
        if (measure(&s, &k, log, err) != 0) {
            free(states);
            return -1;
        }
        double measured = s.train_fraction;
        if (fresh && o->budget_minutes > 0)
            fit_budget(&s, &k, states, nruns, o->budget_minutes * 60, log);
        else if (!fresh && o->budget_minutes > 0 && log)
            fprintf(log, "dtcl experiment: --budget applies when an experiment starts; this one keeps its "
                         "settings (%s)\n", s.scaled[0] ? s.scaled : "not scaled");
        f_scale = s.train_fraction / measured;
        char est[64];
        describe_minutes(est, sizeof est, estimate(&k, states, nruns, s.epochs, s.eval_every, f_scale));
        if (log)
            fprintf(log, "dtcl experiment: estimated time for what is left: %s (training and feature extraction; "
                         "%lld training images, %lld test images)\n", est,
                    (long long)llround((double)k.ntrain * f_scale), (long long)k.ntest);
    }
    if (fresh && rc == 0) {
        if (!s.scaled[0])
            snprintf(s.scaled, sizeof s.scaled, "nothing");
        rc = settings_write(o->out, &s, err);
    } else if (rc == 0) {
        rc = settings_write(o->out, &s, err); /* the repeats may have grown */
    }
    /* progress: each run's training and evaluation a task, weighted by its estimated seconds */
    DtclProgress own, *pg = o->progress ? o->progress : &own;
    double *cost = DTCL_CALLOC((size_t)nruns * 2 + 1, sizeof(double)), total = 0;
    for (int i = 0; i < nruns && todo > 0; i++) {
        run_cost(&k, &states[i], s.epochs, s.eval_every, f_scale, &cost[2 * i], &cost[2 * i + 1]);
        total += cost[2 * i] + cost[2 * i + 1];
    }
    if (o->progress)
        dtcl_progress_grow(pg, total);
    else
        dtcl_progress_begin(pg, "dtcl experiment", !log || o->quiet, total);
    int failed = 0, stopped = 0;
    char failures[16384] = "";
    for (int i = 0; i < nruns && rc == 0 && !stopped; i++) {
        if (dtcl_train_stop) { /* SIGINT while a run was being evaluated */
            stopped = 1;
            break;
        }
        RunState *st = &states[i];
        char dir[4300];
        dtcl_exp_run_dir(dir, sizeof dir, o->out, st->ci, st->repeat);
        DtclTrainConfig tc;
        run_config(&s, st->ci, st->repeat, &tc);
        tc.progress = pg;
        int step_rc = 0, interrupted = 0;
        if (st->trained_to < s.epochs) {
            dtcl_progress_task(pg, cost[2 * i], "[%d/%d] %s r%d: %s", i + 1, nruns,
                               dtcl_exp_configs[st->ci].info.name, st->repeat,
                               st->trained_to < 0 ? "training" : "resuming");
            if (st->trained_to < 0) {
                char parent[4300];
                snprintf(parent, sizeof parent, "%s/%s", o->out, dtcl_exp_configs[st->ci].info.name);
                if (mkdir_p(parent, err) != 0) {
                    rc = -1;
                    break;
                }
                if (access(dir, F_OK) == 0)
                    dtcl_remove_tree(dir); /* created, then stopped before its config.json: nothing to keep */
            }
            step_rc = dtcl_train_run(&tc, dir, st->trained_to >= 0, &interrupted, err);
            dtcl_progress_task_end(pg);
            if (interrupted) {
                stopped = 1;
                break;
            }
            if (step_rc == -1) {
                rc = -1;
                break;
            }
            if (step_rc == -2) {
                failed++;
                size_t len = strlen(failures);
                snprintf(failures + len, sizeof failures - len, "%s%s: %s", len ? "; " : "", dir, err->msg);
                dtcl_progress_note(pg, "dtcl experiment: %s failed: %s\n", dir, err->msg);
                continue;
            }
            rc = run_state(&s, o->out, st->ci, st->repeat, st, err);
        }
        if (rc == 0 && st->nmissing > 0) {
            dtcl_progress_task(pg, cost[2 * i + 1], "[%d/%d] %s r%d: evaluating", i + 1, nruns,
                               dtcl_exp_configs[st->ci].info.name, st->repeat);
            DtclEvalOptions eo;
            dtcl_eval_options_default(&eo);
            eo.device = s.device;
            eo.epochs = st->missing;
            eo.nepochs = st->nmissing;
            eo.progress = pg;
            if (dtcl_eval_run(dir, &eo, NULL, NULL, 0, NULL, err) != 0)
                rc = -1;
            dtcl_progress_task_end(pg);
        }
    }
    if (!o->progress)
        dtcl_progress_end(pg);
    free(cost);
    free(states);
    if (rc != 0)
        return -1;
    if (stopped) {
        if (log && !o->quiet)
            fprintf(log, "dtcl experiment: interrupted; the run in progress was saved. Rerun the same command to "
                         "continue.\n");
        return 1;
    }
    if (failed) {
        dtcl_fail(err, "%d run(s) failed: %s", failed, failures);
        return -2;
    }
    return 0;
}
