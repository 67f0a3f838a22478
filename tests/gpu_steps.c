/* gpu_steps.c: whole training steps on the GPU against the CPU, through the
 * one dispatch point (dispatch.h) with --device cuda and cpu, from the same
 * model, batch, Lambda and noise:
 *   - one step of each kind (proposed: M step and encoder step; the random
 *     strategies' transformation then the encoder step; simclr's draws with
 *     crop-off images; the supervised step): the losses within 1e-5, every
 *     parameter, Adam moment and running statistic after the step within 1e-4
 *     (SPEC section 9), Lambda within 1e-5, the evaluation-mode f within 1e-5;
 *   - one proposed step with a small densenet121 (densenet.c's sequence with
 *     the GPU's layer primitives), at the same tolerances;
 *   - 50 steps of proposed and of simclr: the loss curves stay within 1e-3
 *     of each other at every step (relative), the parameters within 1e-3.
 * Worst mismatches printed. Exit 77 (skip) without a GPU; built with
 * --enable-cuda only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/device.h"
#include "train/dispatch.h"
#include "nets/model.h"
#include "base/rng.h"
#include "testutil.h"
#include "testutil_gpu.h"

enum { B = 8, S = 32 };
enum { KIND_PROPOSED, KIND_RANDOM, KIND_SIMCLR, KIND_SUPERVISED, NKINDS };
static const char *kind_names[NKINDS] = {"proposed", "random", "simclr", "supervised"};

static void fill(float *a, size_t n, uint32_t step, uint32_t item, float lo, float hi)
{
    DtclStream s = {29, DTCL_RNG_TEST, 0, step, item};
    dtcl_rng_uniform_range(&s, a, n, lo, hi);
}

static void make_transform(DtclTransform *t, int crop)
{
    DtclStepKind k[DTCL_NSTEP_KINDS], keep[DTCL_NSTEP_KINDS];
    int ns, nk = 0;
    DtclTransformParams p;
    dtcl_transform_params_default(&p);
    dtcl_transform_parse_order(dtcl_default_order, k, &ns, NULL);
    for (int i = 0; i < ns; i++)
        if (crop || k[i] != DTCL_STEP_CROP)
            keep[nk++] = k[i];
    DtclError e;
    if (dtcl_transform_init(t, S, keep, nk, &p, &e) != 0)
        fail_msg("%s", e.msg);
}

typedef struct {
    double loss_e[64], loss_m[64];
    float lambda[B * DTCL_NLAMBDA];
    float h[B * 64];
} Trace;

/* nsteps steps of `kind` on dev from the seeded model (the fcn 8,16, or a
 * small densenet121: stem 4, growth 3, bottleneck 6, layers 1-2-1-1); md
 * keeps the result */
static void run_encoder(DtclDevice dev, int kind, int nsteps, DtclEncoderKind enc, DtclModel *md, Trace *tr)
{
    DtclModelConfig mc;
    dtcl_model_config_default(&mc);
    dtcl_model_parse_widths("8,16", &mc, NULL);
    if (enc == DTCL_ENCODER_DENSENET121) {
        mc.encoder = enc;
        mc.dn = (DtclDensenetConfig){.init = 4, .growth = 3, .bn_size = 2, .layers = {1, 2, 1, 1}};
    }
    dtcl_model_init(md, &mc);
    dtcl_model_reset(md, 5);
    DtclTransform t, nocrop;
    make_transform(&t, 1);
    make_transform(&nocrop, 0);
    DtclStepper st;
    DtclError e;
    if (dtcl_stepper_init(&st, dev, md, &t, &nocrop, kind == KIND_PROPOSED, B, S, 1, &e) != 0)
        fail_msg("%s", e.msg);
    DtclStepConfig c;
    dtcl_step_config_default(&c);
    float x[B * S * S], lambda[B * DTCL_NLAMBDA];
    int8_t labels[B];
    uint8_t crop_on[B];
    uint32_t item[B];
    for (int b = 0; b < B; b++) {
        labels[b] = b < B / 2 ? (int8_t)(b & 1) : -1;
        crop_on[b] = (uint8_t)(b % 3 != 0);
    }
    for (int s = 0; s < nsteps; s++) {
        fill(x, sizeof x / sizeof x[0], (uint32_t)s, 1, 0, 1);
        fill(lambda, sizeof lambda / sizeof lambda[0], (uint32_t)s, 2, 0, 1);
        for (int b = 0; b < B; b++)
            item[b] = (uint32_t)(100 * s + b);
        DtclNoiseSource ns = {7, 1, (uint32_t)s, item};
        DtclStepLosses l;
        switch (kind) {
        case KIND_PROPOSED: dtcl_stepper_proposed(&st, &c, &ns, x, labels, &l, tr->lambda); break;
        case KIND_RANDOM: dtcl_stepper_augmented(&st, &c, &ns, x, lambda, NULL, 0, labels, &l); break;
        case KIND_SIMCLR: dtcl_stepper_augmented(&st, &c, &ns, x, lambda, crop_on, 0, labels, &l); break;
        default: dtcl_stepper_augmented(&st, &c, &ns, x, lambda, crop_on, 1, labels, &l); break;
        }
        tr->loss_e[s] = l.loss_e;
        tr->loss_m[s] = l.loss_m;
    }
    dtcl_stepper_eval(&st, tr->h, x, B);
    if (dtcl_stepper_sync(&st, &e) != 0)
        fail_msg("%s", e.msg);
    dtcl_stepper_free(&st);
    dtcl_transform_free(&t);
    dtcl_transform_free(&nocrop);
}


/* every parameter, Adam moment and running statistic; counters equal */
static void compare_models(const DtclModel *g, const DtclModel *c, double tol)
{
    const DtclTable *tg = &g->table, *tc = &c->table;
    char what[200];
    for (int i = 0; i < tc->n; i++) {
        const DtclTensorInfo *t = &tc->t[i];
        if (t->family == DTCL_FAMILY_PARAM) {
            TEST_CHECK_CLOSE(t->name, tg->param + t->offset, tc->param + t->offset, t->count, tol);
            snprintf(what, sizeof what, "%s (Adam m)", t->name);
            TEST_CHECK_CLOSE(what, tg->adam_m + t->offset, tc->adam_m + t->offset, t->count, tol);
            snprintf(what, sizeof what, "%s (Adam v)", t->name);
            TEST_CHECK_CLOSE(what, tg->adam_v + t->offset, tc->adam_v + t->offset, t->count, tol);
        } else if (t->family == DTCL_FAMILY_STAT) {
            TEST_CHECK_CLOSE(t->name, tg->stat + t->offset, tc->stat + t->offset, t->count, tol);
        } else {
            assert_int_equal(tg->counter[t->offset], tc->counter[t->offset]);
        }
    }
    assert_int_equal(g->step_e, c->step_e);
    assert_int_equal(g->step_m, c->step_m);
}

static double rel(double a, double b)
{
    return fabs(a - b) / fmax(fabs(b), 1e-3);
}

/* One step of `kind` with encoder enc on both devices, compared. */
static void one_step(int kind, DtclEncoderKind enc)
{
    DtclModel mc, mg;
    Trace *tc = calloc(1, sizeof *tc), *tg = calloc(1, sizeof *tg);
    run_encoder(DTCL_DEVICE_CPU, kind, 1, enc, &mc, tc);
    run_encoder(DTCL_DEVICE_CUDA, kind, 1, enc, &mg, tg);
    printf(" one %s step (%s): L_E %.9g (GPU %.9g, rel %.2e), L_M %.9g (GPU %.9g, rel %.2e)\n", kind_names[kind],
           dtcl_encoder_name(enc), tc->loss_e[0], tg->loss_e[0], rel(tg->loss_e[0], tc->loss_e[0]), tc->loss_m[0],
           tg->loss_m[0], rel(tg->loss_m[0], tc->loss_m[0]));
    assert_true(rel(tg->loss_e[0], tc->loss_e[0]) <= 1e-5);
    assert_true(rel(tg->loss_m[0], tc->loss_m[0]) <= 1e-5);
    if (kind == KIND_PROPOSED)
        TEST_CHECK_CLOSE("Lambda", tg->lambda, tc->lambda, B * DTCL_NLAMBDA, 1e-5);
    compare_models(&mg, &mc, 1e-4);
    TEST_CHECK_CLOSE("f(x) in evaluation mode", tg->h, tc->h, (size_t)B * dtcl_model_dim(&mc.cfg), 1e-5);
    dtcl_model_free(&mc);
    dtcl_model_free(&mg);
    free(tc);
    free(tg);
}

static void test_one_step(void **state)
{
    (void)state;
    for (int k = 0; k < NKINDS; k++)
        one_step(k, DTCL_ENCODER_FCN);
}

static void test_densenet_step(void **state)
{
    (void)state;
    one_step(KIND_PROPOSED, DTCL_ENCODER_DENSENET121);
}

static void test_fifty_steps(void **state)
{
    (void)state;
    int kinds[2] = {KIND_PROPOSED, KIND_SIMCLR};
    for (int i = 0; i < 2; i++) {
        DtclModel mc, mg;
        Trace *tc = calloc(1, sizeof *tc), *tg = calloc(1, sizeof *tg);
        run_encoder(DTCL_DEVICE_CPU, kinds[i], 50, DTCL_ENCODER_FCN, &mc, tc);
        run_encoder(DTCL_DEVICE_CUDA, kinds[i], 50, DTCL_ENCODER_FCN, &mg, tg);
        double worst = 0;
        int at = 0;
        for (int s = 0; s < 50; s++) {
            double r = fmax(rel(tg->loss_e[s], tc->loss_e[s]), rel(tg->loss_m[s], tc->loss_m[s]));
            if (r > worst) {
                worst = r;
                at = s;
            }
        }
        printf(" 50 %s steps: L_E %.6g -> %.6g on the CPU, %.6g -> %.6g on the GPU; worst relative gap %.2e at "
               "step %d (tolerance 1e-3)\n", kind_names[kinds[i]], tc->loss_e[0], tc->loss_e[49], tg->loss_e[0],
               tg->loss_e[49], worst, at);
        assert_true(worst <= 1e-3);
        compare_models(&mg, &mc, 1e-3);
        dtcl_model_free(&mc);
        dtcl_model_free(&mg);
        free(tc);
        free(tg);
    }
}

int main(void)
{
    TEST_GPU_SKIP_WITHOUT_DEVICE();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_one_step), cmocka_unit_test(test_densenet_step),
                                       cmocka_unit_test(test_fifty_steps)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
