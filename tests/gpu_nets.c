/* gpu_nets.c: the networks on the GPU (fcn.c's sequence with the GPU's layer
 * primitives, layer_ops_gpu.h; mnet.c's and heads.c's likewise; with the device
 * mirror of model_gpu.h) against the CPU's. The fcn
 * encoder's training pass: h within 1e-5, the
 * input gradient and every parameter gradient within 1e-4, the running
 * statistics within 1e-5 (relative L2, worst element printed), the counters
 * equal. M: Lambda within 1e-5, its gradients within 1e-4; g and p: z and
 * the logits, dh and their gradients likewise. Exit 77 (skip) without a GPU;
 * built with --enable-cuda only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "backend/device.h"
#include "nets/fcn.h"
#include "gpu/layer_ops_gpu.h"
#include "gpu/memory_gpu.h"
#include "gpu/model_gpu.h"
#include "nets/mnet.h"
#include "nets/model.h"
#include "base/rng.h"
#include "testutil.h"
#include "testutil_gpu.h"
#include "transform/transform.h"

enum { B = 6, S = 16 };

static void fill(float *a, size_t n, uint32_t item, float lo, float hi)
{
    DtclStream s = {23, DTCL_RNG_TEST, 0, 0, item};
    dtcl_rng_uniform_range(&s, a, n, lo, hi);
}

/* widths 4,8; BatchNorm affine parameters away from 1 and 0 */
static void make_model(DtclModel *md)
{
    DtclModelConfig c;
    dtcl_model_config_default(&c);
    dtcl_model_parse_widths("4,8", &c, NULL);
    dtcl_model_init(md, &c);
    dtcl_model_reset(md, 3);
    for (int i = 0; i < md->table.n; i++)
        if (strstr(md->table.t[i].name, ".bn") && md->table.t[i].family == DTCL_FAMILY_PARAM)
            fill(md->table.param + md->table.t[i].offset, md->table.t[i].count, 100 + (uint32_t)i, 0.5f, 1.5f);
}


static void test_fcn_training_pass(void **state)
{
    (void)state;
    DtclModel cpu, gpu_host;
    make_model(&cpu);
    make_model(&gpu_host); /* the same state: the mirror's counters are this model's */
    DtclError e;
    DtclModelGpu g;
    if (dtcl_model_gpu_init(&g, &gpu_host, &e) != 0)
        fail_msg("%s", e.msg);
    size_t nx = (size_t)B * S * S, nh = (size_t)B * dtcl_fcn_dim(&cpu.f.fcn);
    float *x = malloc(4 * nx), *dh = malloc(4 * nh), *dx = calloc(nx, 4);
    fill(x, nx, 1, 0, 1);
    fill(dh, nh, 2, -1, 1);
    /* the CPU pass */
    DtclArena a = {0};
    DtclFcnPlan p;
    DtclFcnSaved s;
    for (int walk = 0; walk < 2; walk++) {
        if (walk)
            dtcl_arena_alloc(&a);
        dtcl_fcn_plan(&p, &cpu.f.fcn, B, S, 1, &a);
        dtcl_fcn_saved(&s, &p, &cpu.f.fcn, &a);
    }
    dtcl_fcn_forward_train(&s, &cpu.f.fcn, x, 1, &p);
    dtcl_fcn_backward(dx, 1, dh, &cpu.f.fcn, &s, &p);
    /* the GPU pass */
    DtclArena ga = {0};
    DtclFcnPlan gp;
    DtclFcnSaved gs;
    for (int walk = 0; walk < 2; walk++) {
        if (walk && dtcl_gpu_arena_alloc(&ga, &e) != 0)
            fail_msg("%s", e.msg);
        dtcl_fcn_plan_ops(&gp, &g.dev.f.fcn, B, S, 1, dtcl_layer_ops_gpu(), &ga);
        dtcl_fcn_saved(&gs, &gp, &g.dev.f.fcn, &ga);
    }
    float *zx = calloc(nx, 4), *dX = up(x, 4 * nx), *dDH = up(dh, 4 * nh), *dDX = up(zx, 4 * nx);
    dtcl_fcn_forward_train(&gs, &g.dev.f.fcn, dX, 1, &gp);
    dtcl_fcn_backward(dDX, 1, dDH, &g.dev.f.fcn, &gs, &gp);
    expect_device("fcn h (training)", gs.h, s.h, nh, 1e-5);
    expect_device("fcn dh/dx", dDX, dx, nx, 1e-4);
    assert_int_equal(dtcl_model_gpu_download(&gpu_host, &g, &e), 0);
    const DtclTable *tc = &cpu.table, *tg = &gpu_host.table;
    for (int i = 0; i < tc->n; i++) {
        const DtclTensorInfo *t = &tc->t[i];
        if (strncmp(t->name, "f.", 2) != 0)
            continue;
        if (t->family == DTCL_FAMILY_PARAM)
            TEST_CHECK_CLOSE(t->name, tg->grad + t->offset, tc->grad + t->offset, t->count, 1e-4);
        else if (t->family == DTCL_FAMILY_STAT)
            TEST_CHECK_CLOSE(t->name, tg->stat + t->offset, tc->stat + t->offset, t->count, 1e-5);
        else
            assert_int_equal(tg->counter[t->offset], tc->counter[t->offset]);
    }
    free(x); free(dh); free(dx); free(zx);
    dtcl_gpu_free(dX); dtcl_gpu_free(dDH); dtcl_gpu_free(dDX);
    dtcl_arena_free(&a);
    dtcl_gpu_arena_free(&ga);
    dtcl_model_gpu_free(&g);
    dtcl_model_free(&cpu);
    dtcl_model_free(&gpu_host);
}

/* M, then g and p on a representation, against the CPU; the parameter
 * gradients of m.*, g.* and p.* compared after both. */
static void test_mnet_and_heads(void **state)
{
    (void)state;
    DtclModel cpu, gpu_host;
    make_model(&cpu);
    make_model(&gpu_host);
    DtclError e;
    DtclModelGpu g;
    if (dtcl_model_gpu_init(&g, &gpu_host, &e) != 0)
        fail_msg("%s", e.msg);
    int d = dtcl_fcn_dim(&cpu.f.fcn), hid = cpu.g.hidden, Z = cpu.g.zdim;
    size_t nx = (size_t)B * S * S, n7 = (size_t)B * DTCL_NLAMBDA, nh = (size_t)B * d, nz = (size_t)B * Z;
    float *x = malloc(4 * nx), *dl = malloc(4 * n7), *h = malloc(4 * nh), *dz = malloc(4 * nz), *dlg = malloc(4 * B);
    fill(x, nx, 3, 0, 1);
    fill(dl, n7, 4, -1, 1);
    fill(h, nh, 5, -1, 1);
    fill(dz, nz, 6, -1, 1);
    fill(dlg, B, 7, -1, 1);
    /* CPU */
    DtclArena a = {0};
    DtclMnetPlan mp;
    dtcl_mnet_plan(&mp, &cpu.m, B, S, 1, &a);
    float *v = NULL, *scratch = NULL;
    dtcl_arena_alloc(&a);
    dtcl_mnet_plan(&mp, &cpu.m, B, S, 1, &a);
    v = malloc(4 * (size_t)B * hid);
    scratch = malloc(4 * (size_t)B * hid);
    float *z = malloc(4 * nz), *logit = malloc(4 * B), *dh = calloc(nh, 4);
    dtcl_mnet_forward(&mp, &cpu.m, x);
    dtcl_mnet_backward(dl, &cpu.m, &mp);
    dtcl_projection_forward(z, v, h, &cpu.g, B);
    dtcl_classifier_forward(logit, h, &cpu.p, B);
    dtcl_projection_backward(dh, 1, dz, h, v, &cpu.g, B, scratch);
    dtcl_classifier_backward(dh, 1, dlg, h, &cpu.p, B);
    /* GPU */
    DtclArena ga = {0};
    DtclMnetPlan gmp;
    dtcl_mnet_plan_ops(&gmp, &g.dev.m, B, S, 1, dtcl_layer_ops_gpu(), &ga);
    if (dtcl_gpu_arena_alloc(&ga, &e) != 0)
        fail_msg("%s", e.msg);
    dtcl_mnet_plan_ops(&gmp, &g.dev.m, B, S, 1, dtcl_layer_ops_gpu(), &ga);
    float *dX = up(x, 4 * nx), *dDL = up(dl, 4 * n7), *dH = up(h, 4 * nh), *dDZ = up(dz, 4 * nz);
    float *dDLG = up(dlg, 4 * (size_t)B), *zero_h = calloc(nh, 4), *dDH = up(zero_h, 4 * nh);
    float *dV = up(v, 4 * (size_t)B * hid), *dS = up(scratch, 4 * (size_t)B * hid), *dZ = up(z, 4 * nz);
    float *dLOG = up(logit, 4 * (size_t)B);
    dtcl_mnet_forward(&gmp, &g.dev.m, dX);
    dtcl_mnet_backward(dDL, &g.dev.m, &gmp);
    dtcl_projection_forward(dZ, dV, dH, &g.dev.g, B);
    dtcl_classifier_forward(dLOG, dH, &g.dev.p, B);
    dtcl_projection_backward(dDH, 1, dDZ, dH, dV, &g.dev.g, B, dS);
    dtcl_classifier_backward(dDH, 1, dDLG, dH, &g.dev.p, B);
    expect_device("M lambda", gmp.lambda, mp.lambda, n7, 1e-5);
    expect_device("g z", dZ, z, nz, 1e-5);
    expect_device("p logits", dLOG, logit, B, 1e-5);
    expect_device("g, p dh", dDH, dh, nh, 1e-4);
    assert_int_equal(dtcl_model_gpu_download(&gpu_host, &g, &e), 0);
    const DtclTable *tc = &cpu.table, *tg = &gpu_host.table;
    for (int i = 0; i < tc->n; i++) {
        const DtclTensorInfo *t = &tc->t[i];
        if (t->family == DTCL_FAMILY_PARAM && strncmp(t->name, "f.", 2) != 0)
            TEST_CHECK_CLOSE(t->name, tg->grad + t->offset, tc->grad + t->offset, t->count, 1e-4);
    }
    free(x); free(dl); free(h); free(dz); free(dlg); free(v); free(scratch); free(z); free(logit); free(dh);
    free(zero_h);
    void *dev[] = {dX, dDL, dH, dDZ, dDLG, dDH, dV, dS, dZ, dLOG};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
        dtcl_gpu_free(dev[i]);
    dtcl_arena_free(&a);
    dtcl_gpu_arena_free(&ga);
    dtcl_model_gpu_free(&g);
    dtcl_model_free(&cpu);
    dtcl_model_free(&gpu_host);
}

int main(void)
{
    TEST_GPU_SKIP_WITHOUT_DEVICE();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_fcn_training_pass),
                                       cmocka_unit_test(test_mnet_and_heads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
