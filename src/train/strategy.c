/* strategy.c: the strategies' table and Lambda's draws (see strategy.h). */
#include "train/strategy.h"

#include <stdio.h>
#include <string.h>

#include "base/rng.h"
#include "transform/stages.h"

const DtclStrategyInfo dtcl_strategies[DTCL_NSTRATEGIES] = {
    [DTCL_STRATEGY_RANDOM] = {"random", {0, 0, 1, 0, 0}, DTCL_LAMBDA_UNIFORM, DTCL_STEP_ENCODER,
                              "L_NCE, Lambda uniform per image"},
    [DTCL_STRATEGY_RANDOM_SUP] = {"random-sup", {0, 0, 1, 10, 10}, DTCL_LAMBDA_UNIFORM, DTCL_STEP_ENCODER,
                                  "L_NCE + BCE on both views, Lambda uniform per image"},
    [DTCL_STRATEGY_SSL] = {"ssl", {1, 0, 1, 0, 0}, DTCL_LAMBDA_FROM_M, DTCL_STEP_PROPOSED,
                           "L_NCE; M maximises it (no labels)"},
    [DTCL_STRATEGY_PROPOSED] = {"proposed", {1, 10, 1, 1, 1}, DTCL_LAMBDA_FROM_M, DTCL_STEP_PROPOSED,
                                "the paper's method: M maximises L_NCE under BCE, the encoder the reverse"},
    [DTCL_STRATEGY_SIMCLR] = {"simclr", {0, 0, 1, 0, 0}, DTCL_LAMBDA_AUGMENT, DTCL_STEP_ENCODER,
                              "L_NCE, SimCLR's random augmentation"},
    [DTCL_STRATEGY_SUPERVISED] = {"supervised", {0, 0, 0, 1, 0}, DTCL_LAMBDA_AUGMENT, DTCL_STEP_SUPERVISED,
                                  "BCE only, on SimCLR's augmentation"},
};

int dtcl_strategy_parse(const char *name, DtclStrategy *s)
{
    for (int k = 0; k < DTCL_NSTRATEGIES; k++)
        if (strcmp(name, dtcl_strategies[k].name) == 0) {
            *s = (DtclStrategy)k;
            return 0;
        }
    return -1;
}

const char *dtcl_strategy_list(void)
{
    static char list[DTCL_NSTRATEGIES * 16];
    if (!list[0])
        for (int k = 0; k < DTCL_NSTRATEGIES; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                     k == 0 ? "" : k == DTCL_NSTRATEGIES - 1 ? " or " : ", ", dtcl_strategies[k].name);
    return list;
}

/* U([0,1]^7) per image, from (seed, lambda, epoch, step, image) */
static void draw_uniform(uint64_t seed, int epoch, int step, const int64_t *idx, int B, float *lambda)
{
    for (int b = 0; b < B; b++) {
        double u[DTCL_NLAMBDA];
        DtclStream s = {seed, DTCL_RNG_LAMBDA, (uint32_t)epoch, (uint32_t)step, (uint32_t)idx[b]};
        dtcl_rng_uniform(&s, u, DTCL_NLAMBDA);
        for (int k = 0; k < DTCL_NLAMBDA; k++)
            lambda[b * DTCL_NLAMBDA + k] = (float)u[k];
    }
}

/* Per image and stage k: u[k] < 1/2 turns it on; its first lambda is then
 * u[NSTAGES + k], its second (the crop's) u[2 NSTAGES + j] for the j-th
 * second lambda in the table's order; off, both take the stage's off values. */
static void draw_augment(uint64_t seed, int epoch, int step, const int64_t *idx, int B, float *lambda,
                         uint8_t *crop_on)
{
    for (int b = 0; b < B; b++) {
        double u[2 * DTCL_NSTAGES + 2];
        DtclStream s = {seed, DTCL_RNG_AUGMENT, (uint32_t)epoch, (uint32_t)step, (uint32_t)idx[b]};
        dtcl_rng_uniform(&s, u, 2 * DTCL_NSTAGES + 2);
        float *l = lambda + b * DTCL_NLAMBDA;
        int every = 1, second = 0;
        for (int k = 0; k < DTCL_NSTAGES; k++) {
            const DtclStageInfo *st = &dtcl_stages[k];
            int on = u[k] < 0.5;
            l[st->lambda[0]] = on ? (float)u[DTCL_NSTAGES + k] : st->off[0];
            if (st->lambda[1] >= 0)
                l[st->lambda[1]] = on ? (float)u[2 * DTCL_NSTAGES + second++] : st->off[1];
            if (!st->off_identity && !on)
                every = 0;
        }
        if (crop_on)
            crop_on[b] = (uint8_t)every;
    }
}

void dtcl_strategy_draw(DtclLambdaSource src, uint64_t seed, int epoch, int step, const int64_t *idx, int B,
                        float *lambda, uint8_t *crop_on)
{
    if (src == DTCL_LAMBDA_UNIFORM)
        draw_uniform(seed, epoch, step, idx, B, lambda);
    else if (src == DTCL_LAMBDA_AUGMENT)
        draw_augment(seed, epoch, step, idx, B, lambda, crop_on);
}
