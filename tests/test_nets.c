/* test_nets.c: the networks and the steps against PyTorch
 * (ref/make_golden_nets.py, weights in weights.safetensors):
 *   the fcn encoder in training mode (h, every parameter gradient, the input
 *   gradient, the running statistics) and in evaluation mode;
 *   M (Lambda and every parameter gradient);
 *   three `proposed` steps (M step, encoder step, Adam) and every tensor after;
 * forward within 1e-5, gradients within 1e-4, tensors after the steps within
 * 1e-4 (relative L2 per tensor); every network gradient against central
 * differences of the double-precision twin (gradcheck, 20 seeds). Then determinism: ten steps twice with the
 * same thread count give bitwise-equal checkpoints, and 1 and 2 threads agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cblas.h>
#include <omp.h>

#include "nets/checkpoint.h"
#include "check/gradcheck.h"
#include "io/npy.h"
#include "base/rng.h"
#include "train/step.h"
#include "testutil.h"

static char dir[4096];

enum { B = 6, S = 16 };

static double check(const char *what, const float *got, const char *sub, const char *name, size_t n, double tol)
{
    return TEST_CHECK_GOLDEN(dir, what, got, sub, name, n, tol);
}

static void load_model(DtclModel *md)
{
    char path[4200];
    DtclError err;
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    if (dtcl_checkpoint_load(path, md, DTCL_CK_MODEL, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(md->cfg.nblocks, 2);
    assert_int_equal(md->cfg.widths[1], 8);
    assert_int_equal(md->cfg.mwidths[1], 6);
    assert_int_equal(md->cfg.hidden, 16);
}

/* The golden weights, T in the default order, a plan for B images of S x S. */
static void golden_fixture(DtclModel *md, DtclTransform *tr, DtclStepPlan *p)
{
    load_model(md);
    *tr = test_make_transform(S, dtcl_default_order);
    dtcl_step_plan(p, md, tr, B, S, 2);
}

/* "f.blocks.0.conv0.weight" -> prefix + "blocks_0_conv0_weight" (skip chars dropped). */
static void golden_name(char *out, size_t size, const char *prefix, const char *name, size_t skip)
{
    snprintf(out, size, "%s%s", prefix, name + skip);
    for (char *c = out; *c; c++)
        if (*c == '.')
            *c = '_';
}

static void test_encoder(void **state)
{
    (void)state;
    DtclModel md;
    load_model(&md);
    DtclStepPlan p;
    dtcl_step_plan(&p, &md, NULL, B, S, 2);
    float *x = TEST_LOAD_NPY(dir, "encoder", "x", B * S * S), *dh = TEST_LOAD_NPY(dir, "encoder", "dh", B * 8);
    float dx[B * S * S] = {0}, h[B * 8];
    dtcl_model_zero_grad(&md);
    dtcl_encoder_forward_train(&p.view[0], &md.f, x, 1, &p.fp);
    dtcl_encoder_backward(dx, 1, dh, &md.f, &p.view[0], &p.fp);
    check("encoder h (training)", p.view[0].h, "encoder", "h", B * 8, 1e-5);
    check("encoder dh/dx", dx, "encoder", "dx", B * S * S, 1e-4);
    const DtclTable *t = &md.table;
    int ngrads = 0;
    for (int i = 0; i < t->n; i++) {
        const DtclTensorInfo *e = &t->t[i];
        char name[160];
        if (e->family == DTCL_FAMILY_PARAM && strncmp(e->name, "f.", 2) == 0) {
            golden_name(name, sizeof name, "d_", e->name, 2);
            check(name, t->grad + e->offset, "encoder", name, e->count, 1e-4);
            ngrads++;
        } else if (e->family == DTCL_FAMILY_STAT) {
            golden_name(name, sizeof name, "", e->name, 2);
            check(name, t->stat + e->offset, "encoder", name, e->count, 1e-5);
        } else if (e->family == DTCL_FAMILY_COUNT) {
            assert_int_equal(t->counter[e->offset], 4); /* 3 in the file, one pass */
        }
    }
    assert_int_equal(ngrads, 12);
    dtcl_encoder_forward_eval(h, &md.f, x, B, &p.fp, &p.view[0]);
    check("encoder h (evaluation)", h, "encoder", "h_eval", B * 8, 1e-5);
    free(x);
    free(dh);
    dtcl_step_plan_free(&p);
    dtcl_model_free(&md);
}

static void test_mnet(void **state)
{
    (void)state;
    DtclModel md;
    DtclTransform tr;
    DtclStepPlan p;
    golden_fixture(&md, &tr, &p);
    float *x = TEST_LOAD_NPY(dir, "mnet", "x", B * S * S), *dl = TEST_LOAD_NPY(dir, "mnet", "dlambda", B * 7);
    dtcl_model_zero_grad(&md);
    dtcl_mnet_forward(&p.mp, &md.m, x);
    dtcl_mnet_backward(dl, &md.m, &p.mp);
    check("M lambda", p.mp.lambda, "mnet", "lambda", B * 7, 1e-5);
    const DtclTable *t = &md.table;
    for (int i = 0; i < t->n; i++) {
        const DtclTensorInfo *e = &t->t[i];
        if (strncmp(e->name, "m.", 2) != 0)
            continue;
        char name[160];
        golden_name(name, sizeof name, "d_", e->name, 2);
        check(name, t->grad + e->offset, "mnet", name, e->count, 1e-4);
    }
    free(x);
    free(dl);
    dtcl_step_plan_free(&p);
    dtcl_transform_free(&tr);
    dtcl_model_free(&md);
}

static void run_proposed(DtclModel *md, DtclStepPlan *p, const float *x, const int8_t *labels, int steps,
                         double losses[][2])
{
    DtclStepConfig c;
    dtcl_step_config_default(&c);
    c.nce.sim = DTCL_SIM_DOT; /* as ref/make_golden_nets.py made the golden steps: paper, dot, tau 1 */
    dtcl_adam_default(&c.adam_e, 1e-3);
    dtcl_adam_default(&c.adam_m, 1e-3);
    for (int s = 0; s < steps; s++) {
        DtclNoiseSource ns = {5, 0, (uint32_t)s, NULL};
        DtclStepLosses l;
        dtcl_step_proposed(p, &c, &ns, x, labels, &l, NULL, NULL);
        if (losses) {
            losses[s][0] = l.loss_m;
            losses[s][1] = l.loss_e;
        }
    }
}

static void test_proposed_steps(void **state)
{
    (void)state;
    DtclModel md;
    DtclTransform tr;
    DtclStepPlan p;
    golden_fixture(&md, &tr, &p);
    float *x = TEST_LOAD_NPY(dir, "steps", "x", B * S * S);
    const int8_t labels[B] = {0, 1, -1, 1, -1, 0};
    double losses[3][2];
    run_proposed(&md, &p, x, labels, 3, losses);
    float *ref = TEST_LOAD_NPY(dir, "steps", "losses", 6);
    for (int s = 0; s < 3; s++) {
        printf("  step %d: L_M %.9f (torch %.9f), L_E %.9f (torch %.9f)\n", s, losses[s][0], ref[2 * s],
               losses[s][1], ref[2 * s + 1]);
        assert_true(fabs(losses[s][0] - ref[2 * s]) <= 1e-5 * fmax(1, fabs(ref[2 * s])));
        assert_true(fabs(losses[s][1] - ref[2 * s + 1]) <= 1e-5 * fmax(1, fabs(ref[2 * s + 1])));
    }
    free(ref);
    const DtclTable *t = &md.table;
    for (int i = 0; i < t->n; i++) {
        const DtclTensorInfo *e = &t->t[i];
        char name[160];
        golden_name(name, sizeof name, "", e->name, 0);
        if (e->family == DTCL_FAMILY_COUNT) {
            assert_int_equal(t->counter[e->offset], 3 + 2 * 3); /* both views, each step */
            continue;
        }
        check(name, (e->family == DTCL_FAMILY_PARAM ? t->param : t->stat) + e->offset, "steps", name, e->count, 1e-4);
    }
    assert_int_equal(md.step_e, 3);
    assert_int_equal(md.step_m, 3);
    free(x);
    dtcl_step_plan_free(&p);
    dtcl_transform_free(&tr);
    dtcl_model_free(&md);
}

/* Ten proposed steps at widths 8,16,32 on 32x32 images, from the seed. */
static void ten_steps(DtclModel *md, int threads)
{
    enum { DB = 8, DS = 32 };
    DtclModelConfig c;
    dtcl_model_config_default(&c);
    DtclError err;
    assert_int_equal(dtcl_model_parse_widths("8,16,32", &c, &err), 0);
    dtcl_model_init(md, &c);
    dtcl_model_reset(md, 42);
    DtclTransform tr = test_make_transform(DS, dtcl_default_order);
    omp_set_num_threads(threads);
    DtclStepPlan p;
    dtcl_step_plan(&p, md, &tr, DB, DS, threads);
    float x[DB * DS * DS];
    double u[DB * DS * DS];
    DtclStream st = {3, DTCL_RNG_TEST, 0, 0, 0};
    dtcl_rng_uniform(&st, u, DB * DS * DS);
    for (int i = 0; i < DB * DS * DS; i++)
        x[i] = (float)u[i];
    const int8_t labels[DB] = {0, 1, -1, -1, 1, 0, -1, 1};
    DtclStepConfig sc;
    dtcl_step_config_default(&sc);
    for (int s = 0; s < 10; s++) {
        DtclNoiseSource ns = {3, 0, (uint32_t)s, NULL};
        DtclStepLosses l;
        dtcl_step_proposed(&p, &sc, &ns, x, labels, &l, NULL, NULL);
    }
    dtcl_step_plan_free(&p);
    dtcl_transform_free(&tr);
}

static void test_determinism(void **state)
{
    (void)state;
    DtclModel a, b, c;
    ten_steps(&a, 2);
    ten_steps(&b, 2);
    ten_steps(&c, 1);
    size_t n = a.table.size[DTCL_FAMILY_PARAM];
    long d = test_first_diff(a.table.param, b.table.param, n);
    printf("  10 steps, 2 threads twice: %s\n", d < 0 ? "bitwise equal" : "differ");
    assert_int_equal(d, -1);
    assert_int_equal(test_first_diff(a.table.adam_v, b.table.adam_v, n), -1);
    assert_int_equal(test_first_diff(a.table.stat, b.table.stat, a.table.size[DTCL_FAMILY_STAT]), -1);
    double *r = malloc(sizeof(double) * n);
    for (size_t i = 0; i < n; i++)
        r[i] = a.table.param[i];
    double e = test_rel_l2("10 steps, 1 vs 2 threads", c.table.param, r, n, 1e-6);
    d = test_first_diff(a.table.param, c.table.param, n);
    printf("  1 vs 2 threads: %s\n", d < 0 ? "bitwise equal" : "not bitwise equal");
    assert_true(e <= 1e-6);
    free(r);
    dtcl_model_free(&a);
    dtcl_model_free(&b);
    dtcl_model_free(&c);
    omp_set_num_threads(2);
}

/* The networks' gradients against the double twin, 20 seeds. */
static void test_gradcheck_networks(void **state)
{
    (void)state;
    test_gradcheck_seeds(dtcl_gradcheck_networks, "network", 20, 2e-2);
}

int main(void)
{
    openblas_set_num_threads(1);
    snprintf(dir, sizeof dir, "%s/ref/golden/nets", test_srcdir());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoder),
        cmocka_unit_test(test_mnet),
        cmocka_unit_test(test_proposed_steps),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_gradcheck_networks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
