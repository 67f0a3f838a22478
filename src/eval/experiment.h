/* experiment.h: the paper's experiments as sets of training runs, each
 * repeated over supervision sets, evaluated with the linear protocol and
 * summarised in the paper's layout (paper section 3, Table 2, Fig. 2, the
 * order ablation and the SupCon comparison):
 *   table2  proposed with three alpha rows, random-sup with three, simclr
 *   fig2    random, random-sup, ssl, proposed, simclr, and supervised with
 *           10% and 100% of the labels (the reference lines)
 *   order   simclr and proposed with the default order and the reversed one
 *   supcon  the supervised contrastive loss with 10% labels, and proposed
 * A configuration shared by two experiments is trained once. Repeat r of a
 * configuration is OUT/<configuration>/<r>/ (a `dtcl train` run folder):
 * seed base+r (initialisation, draws), labelled subset drawn with seed
 * base+r, the train/val/test split always from the base seed, so that every
 * run is evaluated on the same three test sets. OUT/experiment.json keeps the
 * settings; rerunning skips finished runs and resumes unfinished ones.
 * Results: OUT/results.csv (per run and evaluated epoch), OUT/summary.csv
 * (per configuration and epoch, over the repeats) and one markdown table per
 * experiment beside the paper's numbers (OUT/table2.md, fig2.md, order.md,
 * supcon.md). */
#ifndef DTCL_EXPERIMENT_H
#define DTCL_EXPERIMENT_H

#include <stdint.h>
#include <stdio.h>

#include "backend/device.h"
#include "nets/encoder.h"
#include "base/error.h"
#include "base/progress.h"
#include "nn/nce.h"

/* the paper's four experiments (all = the four), and the demo's: proposed, simclr, supervised 10% and 100% */
enum { DTCL_EXP_TABLE2 = 1, DTCL_EXP_FIG2 = 2, DTCL_EXP_ORDER = 4, DTCL_EXP_SUPCON = 8, DTCL_EXP_ALL = 15,
       DTCL_EXP_DEMO = 16 };
#define DTCL_NEXPERIMENTS 5

/* The reversed default order: the order ablation's second order. */
extern const char *const dtcl_experiment_order2;

typedef struct {
    char data[4096], out[4096];
    int which;              /* DTCL_EXP_* bits */
    int epochs, eval_every, repeats, batch;
    char widths[128];
    DtclEncoderKind encoder; /* fcn or densenet121 */
    char init[4096];         /* f's starting weights for every run, or "" */
    DtclNce nce;             /* every run's contrastive loss (SupCon's configuration keeps its kind) */
    uint64_t seed;          /* >= 1 */
    double budget_minutes;  /* 0: none */
    double lr_f;            /* f's learning rate in every run (default 1e-4, the paper's) */
    DtclDevice device;      /* where the runs train and are evaluated; not a setting (may change on a rerun) */
    int quiet;              /* no progress line (base/progress.h); the estimate and errors still print */
    /* which of the above the user gave (a rerun must agree with experiment.json) */
    int given_epochs, given_eval_every, given_batch, given_widths, given_seed, given_encoder, given_init, given_nce,
        given_lr_f;
    DtclProgress *progress; /* the caller's (the demo's), or NULL: the experiment's own */
} DtclExperimentOptions;

void dtcl_experiment_options_default(DtclExperimentOptions *o);
/* "table2", "fig2", "order", "supcon", "all" or "demo" to bits; 0 when unknown. */
int dtcl_experiment_parse(const char *name);

/* Runs (or continues) the experiment's training and evaluation; then
 * dtcl_experiment_report writes the tables. The estimate goes to log, and
 * progress (a live line on a terminal) to stderr unless log is NULL or
 * o->quiet.
 * Returns 0; -1 with err on bad input (exit 2); -2 with err when a run
 * failed at run time (the others went on; exit 1); 1 when SIGINT stopped it
 * (dtcl_train_stop) after saving. */
int dtcl_experiment_run(const DtclExperimentOptions *o, FILE *log, DtclError *err);

/* Writes results.csv, summary.csv and the markdown tables of the
 * experiments `which` (DTCL_EXP_* bits; -1: those with any result) of OUT
 * from the eval.csv files present; prints the tables on log (may be NULL). */
int dtcl_experiment_report(const char *out, int which, FILE *log, DtclError *err);

/* ---- for `dtcl figures`: the configurations and their summary */
typedef struct {
    const char *name;    /* the folder under OUT */
    const char *label;   /* for legends and tables */
    int strategy;        /* DtclStrategy */
} DtclExpConfigInfo;

/* The configurations in a fixed order; *n gets their count. */
const DtclExpConfigInfo *dtcl_experiment_configs(int *n);
/* The configurations of an experiment (bits), in the order of its table. */
int dtcl_experiment_members(int which, int *index, int max);

#endif
