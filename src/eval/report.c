/* report.c: `dtcl experiment report': from the runs' eval.csv and scores/,
 *   OUT/results.csv   per run, evaluated epoch and protocol: the AUC of each
 *                     test set and their mean;
 *   OUT/summary.csv   per configuration, epoch and protocol, over the repeats
 *                     (the untrained encoder as configuration "untrained");
 *   OUT/<table>.md    the paper's tables beside its numbers, every protocol,
 *                     the untrained encoder as a row;
 *   OUT/verdicts.md, verdicts.csv
 *                     each comparison the paper makes, as a paired AUC
 *                     difference with its 95% interval (stats.h) and a
 *                     verdict, under each protocol, after the last epoch
 *                     and along training; and what training adds over the
 *                     untrained encoder. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "eval/experiment.h"
#include "eval/experiment_def.h"
#include "eval/stats.h"
#include "io/atomicfile.h"
#include "train/strategy.h"

#define MAXREP 64    /* repeats the report reads */
#define MAXEPOCH 256 /* evaluated epochs per run */

/* What the paper says the configurations compare as: an equivalence margin of
 * 0.03 because the paper calls the order's 0.030 difference for simCLR a
 * "little impact". */
#define EQUIVALENCE_MARGIN 0.03

typedef struct {
    int exp;  /* DTCL_EXP_* bits of the experiments that make it */
    int a, b; /* configurations */
    DtclClaim claim;
    const char *text;        /* what the paper says, and where */
    double paper_a, paper_b; /* its AUCs (NaN: only drawn in Fig. 2) */
} Claim;

#define FIG DTCL_EXP_FIG2
#define TAB DTCL_EXP_TABLE2
#define DEMO DTCL_EXP_DEMO
static const Claim claims[] = {
    {FIG | TAB | DEMO, DTCL_CFG_PROPOSED, DTCL_CFG_SIMCLR, DTCL_CLAIM_BETTER, "proposed > simclr (Table 2, Fig. 2)", 0.884,
     0.730},
    {FIG | TAB, DTCL_CFG_PROPOSED, DTCL_CFG_RSUP, DTCL_CLAIM_BETTER,
     "proposed > random-sup: optimising M helps (Fig. 2, Table 2)", 0.884, 0.883},
    {FIG, DTCL_CFG_PROPOSED, DTCL_CFG_SSL, DTCL_CLAIM_BETTER, "proposed > ssl: supervision helps M (Fig. 2)", NAN, NAN},
    {FIG, DTCL_CFG_PROPOSED, DTCL_CFG_RANDOM, DTCL_CLAIM_BETTER, "proposed > random (Fig. 2)", NAN, NAN},
    {FIG | DEMO, DTCL_CFG_PROPOSED, DTCL_CFG_SUP100, DTCL_CLAIM_BETTER,
     "proposed, 10% labels > supervised, 100% (abstract; Fig. 2: 'the same quality')", NAN, NAN},
    {FIG | DEMO, DTCL_CFG_PROPOSED, DTCL_CFG_SUP10, DTCL_CLAIM_BETTER, "proposed > supervised with the same 10% (Fig. 2)", NAN,
     NAN},
    {TAB, DTCL_CFG_PROPOSED, DTCL_CFG_PROPOSED_B, DTCL_CLAIM_BETTER,
     "Table 2, optimising M: row 1 > row 2 (a0 = 0.1, a1,3,4 = 10, a2 = 0.1)", 0.884, 0.868},
    {TAB, DTCL_CFG_PROPOSED, DTCL_CFG_PROPOSED_C, DTCL_CLAIM_EQUIVALENT,
     "Table 2, optimising M: row 1 ~ row 3 (a0 = 0.1, a1 = 10, a2 = 1, a3,4 = 1), both bold", 0.884, 0.887},
    {TAB, DTCL_CFG_RSUP, DTCL_CFG_RSUP_A, DTCL_CLAIM_EQUIVALENT,
     "Table 2, random M: the chosen row (a2 = 1, a3,4 = 10) ~ a2 = 1, a3,4 = 1", 0.883, 0.874},
    {TAB, DTCL_CFG_RSUP, DTCL_CFG_RSUP_B, DTCL_CLAIM_BETTER, "Table 2, random M: the chosen row > a2 = 0.1, a3,4 = 10",
     0.883, 0.820},
    {DTCL_EXP_ORDER, DTCL_CFG_PROPOSED, DTCL_CFG_PROPOSED_O2, DTCL_CLAIM_EQUIVALENT,
     "order: proposed, default ~ reversed ('little impact')", 0.926, 0.923},
    {DTCL_EXP_ORDER, DTCL_CFG_SIMCLR, DTCL_CFG_SIMCLR_O2, DTCL_CLAIM_EQUIVALENT,
     "order: simclr, default ~ reversed ('little impact')", 0.730, 0.760},
    {DTCL_EXP_ORDER, DTCL_CFG_PROPOSED_O2, DTCL_CFG_SIMCLR_O2, DTCL_CLAIM_BETTER,
     "order: proposed > simclr with the reversed order too", 0.923, 0.760},
    {DTCL_EXP_SUPCON, DTCL_CFG_PROPOSED, DTCL_CFG_SUPCON, DTCL_CLAIM_BETTER,
     "proposed > SupCon with the same 10% labels", 0.93, 0.52},
};
#undef FIG
#undef TAB
#undef DEMO
enum { NCLAIMS = sizeof claims / sizeof claims[0] };

/* ---------------------------------------------------------------- the runs' rows */

typedef struct {
    int n;             /* (repeat, epoch) rows */
    double sum, sumsq; /* of each repeat's mean over the test sets */
    double all, allsq; /* of every (repeat, test set) AUC */
    int nall;
    double tstd; /* sum of each repeat's std over the test sets */
} Agg;

typedef struct {
    DtclExpSettings s;
    const char *out;
    int eps[MAXEPOCH], ne; /* the evaluated epochs */
    int has[DTCL_NCFG];    /* repeats with any evaluated row */
    /* agg[ci][e][p]: configuration ci (DTCL_NCFG: the untrained encoder) at eps[e] under protocol p */
    Agg agg[DTCL_NCFG + 1][MAXEPOCH][DTCL_NPROTOCOLS];
    DtclEvalScores *scores[DTCL_NCFG][MAXREP][MAXEPOCH]; /* loaded on demand */
    int tried[DTCL_NCFG][MAXREP][MAXEPOCH];
} Report;

static int epoch_index(const Report *R, int epoch)
{
    for (int e = 0; e < R->ne; e++)
        if (R->eps[e] == epoch)
            return e;
    return -1;
}

static void agg_add(Agg *g, const DtclEvalRow *row, int p)
{
    if (isnan(row->mean[p]))
        return;
    g->n++;
    g->sum += row->mean[p];
    g->sumsq += row->mean[p] * row->mean[p];
    for (int t = 0; t < 3; t++)
        if (!isnan(row->auc[p][t])) {
            g->all += row->auc[p][t];
            g->allsq += row->auc[p][t] * row->auc[p][t];
            g->nall++;
        }
    g->tstd += row->std[p];
}

static double agg_mean(const Agg *g)
{
    return g && g->n ? g->sum / g->n : NAN;
}
static double agg_std(const Agg *g) /* over every (repeat, test set) AUC: the tables' "(std)" */
{
    if (!g || g->nall == 0)
        return NAN;
    double m = g->all / g->nall;
    return sqrt(fmax(g->allsq / g->nall - m * m, 0.0));
}

/* Reads every run's eval.csv into the aggregates and writes results.csv. */
static int read_rows(Report *R, DtclError *err)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/results.csv", R->out);
    DtclOutFile res;
    if (dtcl_out_open(&res, path, err) != 0)
        return -1;
    fprintf(res.f, "configuration,repeat,epoch,protocol,test0,test1,test2,mean\n");
    int untrained_from[MAXREP]; /* the configuration whose epoch 0 stands for the untrained encoder of repeat r */
    for (int r = 0; r < MAXREP; r++)
        untrained_from[r] = -1;
    int reps = R->s.repeats < MAXREP ? R->s.repeats : MAXREP;
    for (int ci = 0; ci < DTCL_NCFG; ci++)
        for (int r = 0; r < reps; r++) {
            char dir[4300];
            dtcl_exp_run_dir(dir, sizeof dir, R->out, ci, r);
            DtclEvalRow rows[MAXEPOCH];
            int n = dtcl_eval_read(dir, rows, MAXEPOCH);
            R->has[ci] += n > 0;
            for (int k = 0; k < n; k++) {
                const DtclEvalRow *e = &rows[k];
                int ei = epoch_index(R, e->epoch);
                for (int p = 0; p < DTCL_NPROTOCOLS; p++) {
                    fprintf(res.f, "%s,%d,%d,%s", dtcl_exp_configs[ci].info.name, r, e->epoch, dtcl_protocols[p].name);
                    for (int t = 0; t < 3; t++)
                        fprintf(res.f, isnan(e->auc[p][t]) ? "," : ",%.6f", e->auc[p][t]);
                    fprintf(res.f, isnan(e->mean[p]) ? ",\n" : ",%.6f\n", e->mean[p]);
                    if (ei >= 0)
                        agg_add(&R->agg[ci][ei][p], e, p);
                }
                if (e->epoch == 0 && untrained_from[r] < 0) {
                    untrained_from[r] = ci;
                    for (int p = 0; p < DTCL_NPROTOCOLS; p++)
                        agg_add(&R->agg[DTCL_NCFG][0][p], e, p);
                }
            }
        }
    return dtcl_out_commit(&res, err);
}

static int write_summary(const Report *R, DtclError *err)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/summary.csv", R->out);
    DtclOutFile sum;
    if (dtcl_out_open(&sum, path, err) != 0)
        return -1;
    fprintf(sum.f, "configuration,strategy,protocol,epoch,repeats,auc_mean,auc_std,auc_std_repeats,auc_std_tests\n");
    for (int ci = 0; ci <= DTCL_NCFG; ci++)
        for (int p = 0; p < DTCL_NPROTOCOLS; p++)
            for (int e = 0; e < R->ne; e++) {
                const Agg *g = &R->agg[ci][e][p];
                if (g->n == 0)
                    continue;
                double m = g->sum / g->n;
                fprintf(sum.f, "%s,%s,%s,%d,%d,%.6f,%.6f,%.6f,%.6f\n",
                        ci < DTCL_NCFG ? dtcl_exp_configs[ci].info.name : "untrained",
                        ci < DTCL_NCFG ? dtcl_strategies[dtcl_exp_configs[ci].info.strategy].name : "none",
                        dtcl_protocols[p].name, R->eps[e], g->n, m, agg_std(g),
                        sqrt(fmax(g->sumsq / g->n - m * m, 0.0)), g->tstd / g->n);
            }
    return dtcl_out_commit(&sum, err);
}

/* ---------------------------------------------------------------- the tables */

static void cell(char *buf, size_t size, const Agg *g, int repeats)
{
    if (!g || g->n == 0)
        snprintf(buf, size, "–");
    else if (g->n < repeats)
        snprintf(buf, size, "%.3f (%.3f), %d of %d repeats", agg_mean(g), agg_std(g), g->n, repeats);
    else
        snprintf(buf, size, "%.3f (%.3f)", agg_mean(g), agg_std(g));
}

/* A markdown table: written to memory, then to OUT/name atomically and echoed on log. */
typedef struct {
    FILE *f;
    char *text;
    size_t len;
} Table;

static FILE *table_open(Table *t)
{
    t->text = NULL;
    t->len = 0;
    t->f = open_memstream(&t->text, &t->len);
    if (!t->f)
        abort();
    return t->f;
}

static int table_close(Table *t, const char *out, const char *name, FILE *log, DtclError *err)
{
    fclose(t->f);
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", out, name);
    DtclOutFile f;
    int rc = dtcl_out_open(&f, path, err);
    if (rc == 0) {
        fputs(t->text, f.f);
        rc = dtcl_out_commit(&f, err);
    }
    if (rc == 0 && log)
        fprintf(log, "\n%s", t->text);
    free(t->text);
    return rc;
}

static const Agg *final_agg(const Report *R, int ci, int p)
{
    int e = epoch_index(R, R->s.epochs);
    return e < 0 ? NULL : &R->agg[ci][e][p];
}

/* "| label | linear | knn | probe10 | probe1 |" for configuration ci (DTCL_NCFG: untrained, at epoch 0) */
static void protocol_cells(FILE *md, const Report *R, int ci)
{
    char c[128];
    for (int p = 0; p < DTCL_NPROTOCOLS; p++) {
        cell(c, sizeof c, ci < DTCL_NCFG ? final_agg(R, ci, p) : &R->agg[DTCL_NCFG][0][p], R->s.repeats);
        fprintf(md, " %s |", c);
    }
}

static void protocol_header(FILE *md, const char *first, const char *last)
{
    fprintf(md, "| %s |", first);
    for (int p = 0; p < DTCL_NPROTOCOLS; p++)
        fprintf(md, " %s |", dtcl_protocols[p].title);
    fprintf(md, " %s |\n|---|", last);
    for (int p = 0; p <= DTCL_NPROTOCOLS; p++)
        fprintf(md, "---|");
    fprintf(md, "\n");
}

static void untrained_row(FILE *md, const Report *R, int extra_columns)
{
    fprintf(md, "| untrained encoder (epoch 0) |");
    for (int k = 0; k < extra_columns; k++)
        fprintf(md, " |");
    protocol_cells(md, R, DTCL_NCFG);
    fprintf(md, " not reported |\n");
}

static int write_tables(const Report *R, int which, FILE *log, DtclError *err)
{
    const DtclExpSettings *s = &R->s;
    char note[8192];
    snprintf(note, sizeof note,
             "AUC after %d epochs: mean over %d repeats (supervision sets) and the three test sets, the standard "
             "deviation over those %d values in parentheses. Protocols (`dtcl eval --help`): linear, the paper's "
             "(a logistic regression cross-validated inside each test set); kNN, the same folds with 10 neighbours; "
             "probe, a logistic regression fitted on 10%% (1%%) of the training labels and scored on the test sets; "
             "linear, patient folds: the paper's with whole patients in each fold. "
             "Data: %s. Encoder: %s%s. Scaled by --budget: %s. Paired differences and verdicts: verdicts.md.\n",
             s->epochs, s->repeats, 3 * s->repeats, s->data, dtcl_encoder_name(s->encoder),
             s->encoder == DTCL_ENCODER_FCN ? "" : " (the paper's numbers in these tables are from BraTS with fcn)",
             s->scaled);
    int rc = 0;
    if (which & DTCL_EXP_TABLE2) {
        Table t;
        FILE *md = table_open(&t);
        static const char *paper[7] = {"0.884 (0.042)", "0.868 (0.030)", "0.887 (0.013)", "0.874 (0.000)",
                                       "0.820 (0.037)", "0.883 (0.003)", "0.730 (0.020)"};
        fprintf(md, "# Table 2: the alpha grid\n\n%s\n| | alpha values |", note);
        for (int p = 0; p < DTCL_NPROTOCOLS; p++)
            fprintf(md, " %s |", dtcl_protocols[p].title);
        fprintf(md, " AUC, paper |\n|---|---|");
        for (int p = 0; p <= DTCL_NPROTOCOLS; p++)
            fprintf(md, "---|");
        fprintf(md, "\n");
        const int *m = dtcl_exp_members[0];
        for (int k = 0; m[k] >= 0; k++) {
            const char *grp = k < 3 ? "Optimising M" : k < 6 ? "Random M" : "base simCLR";
            const char *lab = dtcl_exp_configs[m[k]].info.label, *paren = strchr(lab, '(');
            char alpha[128] = "";
            if (paren) {
                snprintf(alpha, sizeof alpha, "%s", paren + 1);
                alpha[strcspn(alpha, ")")] = 0;
            }
            fprintf(md, "| %s | %s |", k == 0 || k == 3 || k == 6 ? grp : "", alpha);
            protocol_cells(md, R, m[k]);
            fprintf(md, " %s |\n", paper[k]);
        }
        untrained_row(md, R, 1);
        rc = table_close(&t, R->out, "table2.md", log, err);
    }
    if (rc == 0 && (which & DTCL_EXP_FIG2)) {
        Table t;
        FILE *md = table_open(&t);
        fprintf(md,
                "# Figure 2: evaluation during training\n\n%s\nAUC mean (std) at each evaluated epoch, one table "
                "per protocol; the supervised rows are the figure's reference lines.\n",
                note);
        for (int p = 0; p < DTCL_NPROTOCOLS; p++) {
            fprintf(md, "\n## %s\n\n| strategy |", dtcl_protocols[p].title);
            for (int e = 0; e < R->ne; e++)
                fprintf(md, " epoch %d |", R->eps[e]);
            fprintf(md, "\n|---|");
            for (int e = 0; e < R->ne; e++)
                fprintf(md, "---|");
            fprintf(md, "\n");
            const int *m = dtcl_exp_members[1];
            for (int k = 0; m[k] >= 0; k++) {
                fprintf(md, "| %s |", dtcl_exp_configs[m[k]].info.label);
                for (int e = 0; e < R->ne; e++) {
                    char c[128];
                    cell(c, sizeof c, &R->agg[m[k]][e][p], s->repeats);
                    fprintf(md, " %s |", c);
                }
                fprintf(md, "\n");
            }
            char c[128];
            cell(c, sizeof c, &R->agg[DTCL_NCFG][0][p], s->repeats);
            fprintf(md, "| untrained encoder | %s |", c);
            for (int e = 1; e < R->ne; e++)
                fprintf(md, " |");
            fprintf(md, "\n");
        }
        rc = table_close(&t, R->out, "fig2.md", log, err);
    }
    if (rc == 0 && (which & DTCL_EXP_ORDER)) {
        Table t;
        FILE *md = table_open(&t);
        fprintf(md,
                "# The order of the transformations\n\n%s\nDefault order: blur, noise, crop, hflip, vflip, rotate; "
                "second order: the reverse (%s).\n\n",
                note, dtcl_experiment_order2);
        protocol_header(md, "method, order", "AUC, paper");
        static const struct {
            int ci;
            const char *label, *paper;
        } rows[4] = {{DTCL_CFG_SIMCLR, "simclr, default", "0.730 (0.020)"},
                     {DTCL_CFG_SIMCLR_O2, "simclr, second", "0.760 (0.027)"},
                     {DTCL_CFG_PROPOSED, "proposed, default", "0.926 (0.020)"},
                     {DTCL_CFG_PROPOSED_O2, "proposed, second", "0.923 (0.021)"}};
        for (int k = 0; k < 4; k++) {
            fprintf(md, "| %s |", rows[k].label);
            protocol_cells(md, R, rows[k].ci);
            fprintf(md, " %s |\n", rows[k].paper);
        }
        untrained_row(md, R, 0);
        rc = table_close(&t, R->out, "order.md", log, err);
    }
    if (rc == 0 && (which & DTCL_EXP_SUPCON)) {
        Table t;
        FILE *md = table_open(&t);
        fprintf(md, "# The supervised loss: SupCon against proposed (10%% labels)\n\n%s\n", note);
        protocol_header(md, "method", "AUC, paper");
        fprintf(md, "| SupCon (Khosla et al.), 10%% labels |");
        protocol_cells(md, R, DTCL_CFG_SUPCON);
        fprintf(md, " 0.52 (0.12) |\n| proposed, 10%% labels |");
        protocol_cells(md, R, DTCL_CFG_PROPOSED);
        fprintf(md, " 0.93 (0.01) |\n");
        untrained_row(md, R, 0);
        rc = table_close(&t, R->out, "supcon.md", log, err);
    }
    return rc;
}

/* ---------------------------------------------------------------- paired comparisons */

static const DtclEvalScores *scores_of(Report *R, int ci, int r, int e)
{
    if (!R->tried[ci][r][e]) {
        R->tried[ci][r][e] = 1;
        char dir[4300];
        dtcl_exp_run_dir(dir, sizeof dir, R->out, ci, r);
        DtclEvalScores *s = DTCL_MALLOC(sizeof *s);
        if (dtcl_eval_scores_load(dir, R->eps[e], s, NULL) == 0)
            R->scores[ci][r][e] = s;
        else
            free(s);
    }
    return R->scores[ci][r][e];
}

/* The test sets of a scores file: each set's images, labels, and patients numbered within the set. */
typedef struct {
    DtclStatsTest t[3];
    int64_t start[4];
    int *patient;
    int ntests;
} Tests;

static int tests_of(Tests *T, const DtclEvalScores *s)
{
    memset(T, 0, sizeof *T);
    T->patient = DTCL_MALLOC(sizeof(int) * (size_t)(s->n + 1));
    for (int64_t i = 1; i < s->n; i++)
        if (s->test[i] < s->test[i - 1])
            return -1; /* not ordered by test set */
    for (int t = 0; t < 3; t++) {
        int64_t a = 0;
        while (a < s->n && s->test[a] < t)
            a++;
        int64_t b = a;
        while (b < s->n && s->test[b] == t)
            b++;
        int np = 0;
        for (int64_t i = a; i < b; i++) {
            int found = -1;
            for (int64_t j = a; j < i && found < 0; j++)
                if (strcmp(s->patient[j], s->patient[i]) == 0)
                    found = T->patient[j];
            T->patient[i] = found >= 0 ? found : np++;
        }
        if (b > a)
            T->t[T->ntests++] = (DtclStatsTest){b - a, s->label + a, T->patient + a, np};
        T->start[t] = a;
    }
    return 0;
}

static int same_images(const DtclEvalScores *x, const DtclEvalScores *y)
{
    if (x->n != y->n)
        return 0;
    for (int64_t i = 0; i < x->n; i++)
        if (strcmp(x->id[i], y->id[i]) != 0 || x->test[i] != y->test[i])
            return 0;
    return 1;
}

/* A against B under protocol p: configuration a at epoch index ea, b at eb, over the repeats both have. */
static int compare(Report *R, int a, int ea, int b, int eb, int p, int boot, DtclPaired *res, DtclError *err)
{
    const double *sa[3 * MAXREP], *sb[3 * MAXREP];
    const DtclEvalScores *first = NULL;
    Tests T;
    int nrep = 0, reps = R->s.repeats < MAXREP ? R->s.repeats : MAXREP, rc = 0;
    for (int r = 0; r < reps && rc == 0; r++) {
        const DtclEvalScores *x = scores_of(R, a, r, ea), *y = scores_of(R, b, r, eb);
        if (!x || !y)
            continue;
        if (!first) {
            first = x;
            if (tests_of(&T, first) != 0)
                rc = dtcl_fail(err, "%s/%s/%d/scores/epoch-%03d.csv: not ordered by test set", R->out,
                               dtcl_exp_configs[a].info.name, r, R->eps[ea]);
        }
        if (rc == 0 && (!same_images(first, x) || !same_images(first, y)))
            rc = dtcl_fail(err,
                           "%s: the runs of %s and %s were evaluated on different test images (another split "
                           "or dataset?); evaluate them on the same data",
                           R->out, dtcl_exp_configs[a].info.name, dtcl_exp_configs[b].info.name);
        int ok = 1;
        for (int64_t i = 0; i < x->n; i++)
            ok &= !isnan(x->score[p][i]) && !isnan(y->score[p][i]);
        if (rc != 0 || !ok)
            continue;
        for (int t = 0; t < 3; t++)
            if (t < T.ntests) {
                int64_t off = T.t[t].y - first->label;
                sa[nrep * T.ntests + t] = x->score[p] + off;
                sb[nrep * T.ntests + t] = y->score[p] + off;
            }
        nrep++;
    }
    int found = rc == 0 && nrep > 0;
    if (found) {
        DtclStatsOptions o;
        dtcl_stats_options_default(&o);
        o.boot = boot;
        o.seed = R->s.seed;
        found = dtcl_paired_auc(T.t, T.ntests, sa, sb, nrep, &o, res) == 0;
    }
    if (first)
        free(T.patient);
    return rc != 0 ? -1 : found;
}

static void format_needed(char *buf, size_t size, double v, int now)
{
    if (isnan(v))
        snprintf(buf, size, "– (one repeat)");
    else if (isinf(v))
        snprintf(buf, size, "∞");
    else
        snprintf(buf, size, "%.0f (now %d)", v, now);
}

static void csv_row(FILE *f, const char *what, const char *a, const char *b, DtclClaim claim, int p, int epoch,
                    double paper, const DtclPaired *r, DtclVerdict v)
{
    fprintf(f, "\"%s\",%s,%s,%s,%s,%d,%d,%d,", what, a, b, claim == DTCL_CLAIM_BETTER ? "better" : "equivalent",
            dtcl_protocols[p].name, epoch, r->nrep, r->npatients);
    fprintf(f, isnan(paper) ? "," : "%.3f,", paper);
    fprintf(f, "%.6f,%.6f,%.6f,%.6f,%.6f,", r->delta, r->lo, r->hi, r->se, r->se_test);
    fprintf(f, isnan(r->se_rep) ? "," : "%.6f,", r->se_rep);
    fprintf(f, "%s,", dtcl_verdict_names[v]);
    fprintf(f, isinf(r->patients_needed) ? "inf," : "%.0f,", r->patients_needed);
    fprintf(f, isnan(r->repeats_needed) ? "\n" : isinf(r->repeats_needed) ? "inf\n" : "%.0f\n", r->repeats_needed);
}

static int write_verdicts(Report *R, int which, FILE *log, DtclError *err)
{
    int efinal = epoch_index(R, R->s.epochs);
    if (efinal < 0)
        return 0;
    char path[4300];
    snprintf(path, sizeof path, "%s/verdicts.csv", R->out);
    DtclOutFile csv;
    if (dtcl_out_open(&csv, path, err) != 0)
        return -1;
    fprintf(csv.f, "comparison,a,b,claim,protocol,epoch,repeats,test_patients,paper_delta,delta,lo,hi,se,se_test,"
                   "se_repeats,verdict,patients_for_0.01,repeats_for_0.01\n");
    Table t;
    FILE *md = table_open(&t);
    fprintf(md,
            "# The paper's claims, tested\n\n"
            "Each comparison is the paired difference of AUCs, delta = A - B, averaged over the repeats (A's and "
            "B's repeat r share the supervision set and seed) and the three test sets, with a 95%% interval "
            "delta +- 1.96 se. se combines the test patients (a bootstrap of %d replicates drawing each test set's "
            "patients with replacement, all their slices together, the same draw for A and B) and the repeats "
            "(the spread of the per-repeat delta over sqrt(repeats)). Verdict for 'A > B': holds when the "
            "interval lies above 0, reversed when below, otherwise not resolved at this size; for 'A ~ B': holds "
            "when it lies within +-%.2f, reversed when it lies outside. 'For 0.01': the test patients (repeats "
            "fixed) or repeats (patients fixed) at which a difference of 0.01 would be resolved with 80%% power, "
            "the current numbers in parentheses; ∞ when the other part alone is too large. Columns of every "
            "comparison at every epoch: verdicts.csv.\n",
            2000, EQUIVALENCE_MARGIN);
    int rc = 0;
    DtclPaired res;
    for (int p = 0; p < DTCL_NPROTOCOLS && rc == 0; p++) {
        fprintf(md,
                "\n## %s, after %d epochs\n\n| comparison (the paper's claim) | paper | delta [95%% CI] | verdict | "
                "test patients for 0.01 | repeats for 0.01 |\n|---|---|---|---|---|---|\n",
                dtcl_protocols[p].title, R->s.epochs);
        for (int k = 0; k < NCLAIMS && rc == 0; k++) {
            const Claim *c = &claims[k];
            if (!(c->exp & which))
                continue;
            int got = compare(R, c->a, efinal, c->b, efinal, p, 2000, &res, err);
            if (got < 0) {
                rc = -1;
                break;
            }
            double paper = c->paper_a - c->paper_b;
            char pc[32] = "(figure)";
            if (!isnan(paper))
                snprintf(pc, sizeof pc, "%+.3f", paper);
            if (!got) {
                fprintf(md, "| %s | %s | no paired runs yet | | | |\n", c->text, pc);
                continue;
            }
            DtclVerdict v = dtcl_verdict(c->claim, EQUIVALENCE_MARGIN, res.lo, res.hi);
            char np[64], nr[64];
            format_needed(np, sizeof np, res.patients_needed, res.npatients);
            format_needed(nr, sizeof nr, res.repeats_needed, res.nrep);
            fprintf(md, "| %s | %s | %+.3f [%+.3f, %+.3f] | %s | %s | %s |\n", c->text, pc, res.delta, res.lo, res.hi,
                    dtcl_verdict_names[v], np, nr);
            csv_row(csv.f, c->text, dtcl_exp_configs[c->a].info.name, dtcl_exp_configs[c->b].info.name, c->claim, p,
                    R->eps[efinal], paper, &res, v);
        }
    }
    /* the claims along training: the headline protocol, its patient-grouped twin and the 10% probe */
    enum { NALONG = 3 };
    static const int along[NALONG] = {DTCL_PROTO_LINEAR, DTCL_PROTO_LINEAR_GROUPED, DTCL_PROTO_PROBE10};
    if (rc == 0 && R->ne > 2) {
        fprintf(md, "\n## Along training: delta and verdict at each evaluated epoch\n\n| comparison | protocol |");
        for (int e = 1; e < R->ne; e++)
            fprintf(md, " epoch %d |", R->eps[e]);
        fprintf(md, "\n|---|---|");
        for (int e = 1; e < R->ne; e++)
            fprintf(md, "---|");
        fprintf(md, "\n");
        for (int k = 0; k < NCLAIMS && rc == 0; k++) {
            const Claim *c = &claims[k];
            if (!(c->exp & which))
                continue;
            for (int q = 0; q < NALONG && rc == 0; q++) {
                fprintf(md, "| %s | %s |", c->text, dtcl_protocols[along[q]].title);
                for (int e = 1; e < R->ne && rc == 0; e++) {
                    int got = compare(R, c->a, e, c->b, e, along[q], 1000, &res, err);
                    if (got < 0)
                        rc = -1;
                    else if (!got)
                        fprintf(md, " – |");
                    else {
                        DtclVerdict v = dtcl_verdict(c->claim, EQUIVALENCE_MARGIN, res.lo, res.hi);
                        fprintf(md, " %+.3f, %s |", res.delta, dtcl_verdict_names[v]);
                        if (e != efinal)
                            csv_row(csv.f, c->text, dtcl_exp_configs[c->a].info.name, dtcl_exp_configs[c->b].info.name,
                                    c->claim, along[q], R->eps[e], c->paper_a - c->paper_b, &res, v);
                    }
                }
                fprintf(md, "\n");
            }
        }
    }
    /* what training adds: each configuration after the last epoch against its own epoch 0 */
    if (rc == 0) {
        fprintf(md, "\n## What training adds: each configuration against its own untrained encoder (epoch 0)\n\n"
                    "Not a claim of the paper, but the premise of all of them: 'trained > untrained'.\n\n"
                    "| configuration |");
        for (int p = 0; p < DTCL_NPROTOCOLS; p++)
            fprintf(md, " %s |", dtcl_protocols[p].title);
        fprintf(md, "\n|---|");
        for (int p = 0; p < DTCL_NPROTOCOLS; p++)
            fprintf(md, "---|");
        fprintf(md, "\n");
        int idx[DTCL_NCFG], n = dtcl_experiment_members(which, idx, DTCL_NCFG);
        for (int k = 0; k < n && rc == 0; k++) {
            fprintf(md, "| %s |", dtcl_exp_configs[idx[k]].info.label);
            for (int p = 0; p < DTCL_NPROTOCOLS && rc == 0; p++) {
                int got = compare(R, idx[k], efinal, idx[k], 0, p, 2000, &res, err);
                if (got < 0)
                    rc = -1;
                else if (!got)
                    fprintf(md, " – |");
                else {
                    DtclVerdict v = dtcl_verdict(DTCL_CLAIM_BETTER, 0, res.lo, res.hi);
                    fprintf(md, " %+.3f [%+.3f, %+.3f] %s |", res.delta, res.lo, res.hi, dtcl_verdict_names[v]);
                    csv_row(csv.f, "trained > untrained", dtcl_exp_configs[idx[k]].info.name, "untrained",
                            DTCL_CLAIM_BETTER, p, R->eps[efinal], NAN, &res, v);
                }
            }
            fprintf(md, "\n");
        }
    }
    if (rc == 0)
        rc = dtcl_out_commit(&csv, err);
    else
        dtcl_out_abort(&csv);
    if (rc == 0)
        rc = table_close(&t, R->out, "verdicts.md", log, err);
    else {
        fclose(t.f);
        free(t.text);
    }
    return rc;
}

/* demo.md: each of the demo's configurations after the last epoch against the untrained encoder, under
 * the paper's protocol and the 10% probe. */
static int write_demo_table(Report *R, FILE *log, DtclError *err)
{
    int efinal = epoch_index(R, R->s.epochs);
    if (efinal < 0)
        return 0;
    static const int shown[2] = {DTCL_PROTO_LINEAR, DTCL_PROTO_PROBE10};
    Table t;
    FILE *md = table_open(&t);
    fprintf(md, "# What training adds\n\nAUC on the three test sets after %d epochs, mean (standard deviation over "
                "the test sets and %d repeat%s), and the paired difference to the same run's untrained encoder "
                "(epoch 0) with its 95%% interval (verdicts.md says how it is computed). Data: %s.\n\n"
                "| strategy | labels |",
            R->s.epochs, R->s.repeats, R->s.repeats == 1 ? "" : "s", R->s.data);
    for (int q = 0; q < 2; q++)
        fprintf(md, " %s | difference to untrained |", dtcl_protocols[shown[q]].title);
    fprintf(md, "\n|---|---|---|---|---|---|\n| untrained encoder (epoch 0) | – |");
    char c[128];
    for (int q = 0; q < 2; q++) {
        cell(c, sizeof c, &R->agg[DTCL_NCFG][0][shown[q]], R->s.repeats);
        fprintf(md, " %s | |", c);
    }
    fprintf(md, "\n");
    int rc = 0;
    for (const int *m = dtcl_exp_members[4]; *m >= 0 && rc == 0; m++) {
        const DtclExpConfig *e = &dtcl_exp_configs[*m];
        fprintf(md, "| %s | %.0f%% |", dtcl_strategies[e->info.strategy].name, 100 * e->label_fraction);
        for (int q = 0; q < 2 && rc == 0; q++) {
            cell(c, sizeof c, final_agg(R, *m, shown[q]), R->s.repeats);
            DtclPaired res;
            int got = compare(R, *m, efinal, *m, 0, shown[q], 2000, &res, err);
            if (got < 0) {
                rc = -1;
                break;
            }
            if (got)
                fprintf(md, " %s | %+.3f [%+.3f, %+.3f], %s |", c, res.delta, res.lo, res.hi,
                        dtcl_verdict_names[dtcl_verdict(DTCL_CLAIM_BETTER, 0, res.lo, res.hi)]);
            else
                fprintf(md, " %s | – |", c);
        }
        fprintf(md, "\n");
    }
    if (rc == 0)
        return table_close(&t, R->out, "demo.md", log, err);
    fclose(t.f);
    free(t.text);
    return rc;
}

int dtcl_experiment_report(const char *out, int which, FILE *log, DtclError *err)
{
    Report *R = DTCL_CALLOC(1, sizeof *R);
    R->out = out;
    int rc = dtcl_exp_settings_read(out, &R->s, err);
    if (rc == 1)
        rc = dtcl_fail(err, "%s: no experiment.json (not a dtcl experiment folder)", out);
    if (rc == 0) {
        R->ne = dtcl_exp_eval_epochs(&R->s, R->eps, MAXEPOCH);
        rc = read_rows(R, err);
    }
    if (rc == 0)
        rc = write_summary(R, err);
    if (rc == 0 && which < 0 && R->s.which) /* the experiments run into OUT */
        which = R->s.which;
    if (rc == 0 && which < 0) { /* not recorded: the paper's experiments with any result */
        which = 0;
        for (int e = 0; e < 4; e++)
            for (const int *m = dtcl_exp_members[e]; *m >= 0; m++)
                if (R->has[*m])
                    which |= 1 << e;
    }
    if (rc == 0)
        rc = write_tables(R, which, log, err);
    if (rc == 0 && (which & DTCL_EXP_DEMO))
        rc = write_demo_table(R, log, err);
    if (rc == 0)
        rc = write_verdicts(R, which, log, err);
    for (int ci = 0; ci < DTCL_NCFG; ci++)
        for (int r = 0; r < MAXREP; r++)
            for (int e = 0; e < MAXEPOCH; e++)
                if (R->scores[ci][r][e]) {
                    dtcl_eval_scores_free(R->scores[ci][r][e]);
                    free(R->scores[ci][r][e]);
                }
    free(R);
    return rc < 0 ? -1 : 0;
}
