/* experiment_def.h: what running an experiment (experiment.c) and
 * reporting on it (report.c) share: the configurations, the experiments'
 * members, the settings of OUT/experiment.json and where each run lives. */
#ifndef DTCL_EXPERIMENT_DEF_H
#define DTCL_EXPERIMENT_DEF_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "backend/device.h"
#include "eval/experiment.h"
#include "nets/encoder.h"
#include "nn/nce.h"

typedef struct {
    DtclExpConfigInfo info;
    double alpha[5];
    double label_fraction;
    int supcon, order2;
} DtclExpConfig;

enum {
    DTCL_CFG_PROPOSED,
    DTCL_CFG_PROPOSED_B,
    DTCL_CFG_PROPOSED_C,
    DTCL_CFG_RSUP_A,
    DTCL_CFG_RSUP_B,
    DTCL_CFG_RSUP,
    DTCL_CFG_SIMCLR,
    DTCL_CFG_RANDOM,
    DTCL_CFG_SSL,
    DTCL_CFG_SUP10,
    DTCL_CFG_SUP100,
    DTCL_CFG_SIMCLR_O2,
    DTCL_CFG_PROPOSED_O2,
    DTCL_CFG_SUPCON,
    DTCL_NCFG
};

extern const DtclExpConfig dtcl_exp_configs[DTCL_NCFG];
/* The configurations of table2, fig2, order, supcon, demo (bit k of DTCL_EXP_*), each list ending in -1. */
extern const int *const dtcl_exp_members[DTCL_NEXPERIMENTS];

typedef struct {
    char data[4096];
    int epochs, eval_every, repeats, batch;
    int requested_epochs, requested_eval_every; /* before --budget scaled them */
    char widths[128];
    DtclEncoderKind encoder;
    char init[4096];
    DtclNce nce;
    uint64_t seed;
    double train_fraction;
    double lr_f;       /* f's learning rate */
    int which;         /* DTCL_EXP_* bits of the experiments run into OUT (0: not recorded, before dtcl 0.1.1) */
    char scaled[512];  /* what --budget changed, for the record */
    DtclDevice device; /* this invocation's --device (not in experiment.json) */
} DtclExpSettings;

/* OUT/experiment.json into s: 0; 1 when there is none (a new experiment); -1 with err. */
int dtcl_exp_settings_read(const char *out, DtclExpSettings *s, DtclError *err);
/* OUT/<configuration>/<repeat> */
void dtcl_exp_run_dir(char *path, size_t size, const char *out, int ci, int repeat);
/* The epochs a finished run is evaluated at: 0, K, 2K, ..., E. */
int dtcl_exp_eval_epochs(const DtclExpSettings *s, int *ep, int max);

#endif
