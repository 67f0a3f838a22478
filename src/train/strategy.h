/* strategy.h: the strategies of the paper's comparison (paper section 3;
 * SPEC section 4's table), one row each: its alphas, where Lambda comes
 * from, which step of step.h trains on it, what it optimises. Adding a
 * strategy is a row here (and its value in the enum) when it combines
 * these; `dtcl train --help', the man page and the config read the table. */
#ifndef DTCL_STRATEGY_H
#define DTCL_STRATEGY_H

#include <stdint.h>

typedef enum {
    DTCL_STRATEGY_RANDOM,
    DTCL_STRATEGY_RANDOM_SUP,
    DTCL_STRATEGY_SSL,
    DTCL_STRATEGY_PROPOSED,
    DTCL_STRATEGY_SIMCLR,
    DTCL_STRATEGY_SUPERVISED,
    DTCL_NSTRATEGIES
} DtclStrategy;

typedef enum {
    DTCL_LAMBDA_FROM_M,  /* M proposes it per image (the M step trains M) */
    DTCL_LAMBDA_UNIFORM, /* U([0,1]^7) per image */
    DTCL_LAMBDA_AUGMENT  /* SimCLR's: each stage on with probability 1/2, its lambda uniform when on */
} DtclLambdaSource;

typedef enum {
    DTCL_STEP_PROPOSED,  /* the M step, then the encoder step on the same X_M (step.h) */
    DTCL_STEP_ENCODER,   /* the encoder step on the drawn X_M */
    DTCL_STEP_SUPERVISED /* f on X_M, p, BCE over the labelled images */
} DtclStepKind;

typedef struct {
    const char *name;
    double alpha[5];         /* a0..a4; "-" in SPEC's table is 0 */
    DtclLambdaSource lambda; /* where Lambda comes from */
    DtclStepKind step;       /* which step trains on it */
    const char *loss;        /* what it optimises, for the help and the man page */
} DtclStrategyInfo;

extern const DtclStrategyInfo dtcl_strategies[DTCL_NSTRATEGIES];

/* 0 and the strategy, or -1 for an unknown name. */
int dtcl_strategy_parse(const char *name, DtclStrategy *s);
/* "random, random-sup, ssl, proposed, simclr or supervised", for help text. */
const char *dtcl_strategy_list(void);

/* Lambda (B,7) drawn for images idx at (seed, epoch, step) by a drawing
 * strategy (DTCL_LAMBDA_UNIFORM or DTCL_LAMBDA_AUGMENT), from the Philox
 * streams (seed, purpose, epoch, step, image), so that a resumed run draws
 * what the uninterrupted one did. For AUGMENT an off stage takes its off
 * lambdas (stages.h); crop_on (B) says whether image b takes every stage
 * with no identity (the crop) or T without it. */
void dtcl_strategy_draw(DtclLambdaSource src, uint64_t seed, int epoch, int step, const int64_t *idx, int B,
                        float *lambda, uint8_t *crop_on);

#endif
