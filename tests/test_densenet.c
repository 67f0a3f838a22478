/* test_densenet.c: the densenet121 encoder (densenet.h) against PyTorch
 * (ref/make_golden_densenet.py: stem 8, growth 4, bottleneck 8, layers
 * 2-3-2-2, 3 images of 37x37, weights in weights.safetensors): h in training
 * mode, every parameter gradient and the input gradient, the running
 * statistics, h in evaluation mode; forward within 1e-5, gradients within
 * 1e-4 (relative L2 per tensor). The errors (h 2e-6, gradients up to 3e-5)
 * are larger than the fcn's: the last block's BatchNorms see 3 values per
 * channel (1x1 images), which amplifies rounding; PyTorch's own float32 pass
 * is 7e-7 (h) and up to 7e-5 (gradients) from its float64 one. Then: the input gradient alone (the M step)
 * is bitwise the one computed with the parameter gradients and leaves them
 * untouched; 1 and 2 threads agree bitwise; and the memory a view keeps at
 * 224x224, batch 16, is linear in depth (printed beside what keeping every
 * BatchNorm-ReLU output, as a plain implementation does, would take). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cblas.h>

#include "nets/checkpoint.h"
#include "io/npy.h"
#include "train/step.h"
#include "testutil.h"

static char dir[4096];

enum { B = 3, S = 37, D = 17 /* 8 + 2x4 -> 8, + 3x4 -> 10, + 2x4 -> 9, + 2x4 = 17 */ };

static void load_encoder(DtclModel *md)
{
    char path[4200];
    DtclError err;
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    if (dtcl_checkpoint_load(path, md, DTCL_CK_ENCODER, &err) != 0)
        fail_msg("%s", err.msg);
    const DtclDensenetConfig *c = &md->cfg.dn;
    assert_int_equal(md->cfg.encoder, DTCL_ENCODER_DENSENET121);
    assert_int_equal(c->init, 8);
    assert_int_equal(c->growth, 4);
    assert_int_equal(c->bn_size, 2);
    assert_int_equal(c->layers[0] * 1000 + c->layers[1] * 100 + c->layers[2] * 10 + c->layers[3], 2322);
    assert_int_equal(dtcl_encoder_dim(&md->f), D);
}

/* "f.denseblock1.denselayer1.conv1.weight" -> prefix + "denseblock1_denselayer1_conv1_weight" */
static void golden_name(char *out, size_t size, const char *prefix, const char *name)
{
    snprintf(out, size, "%s%s", prefix, name + 2);
    for (char *c = out; *c; c++)
        if (*c == '.')
            *c = '_';
}

static void test_golden(void **state)
{
    (void)state;
    DtclModel md;
    load_encoder(&md);
    DtclStepPlan p;
    dtcl_step_plan(&p, &md, NULL, B, S, 2);
    float *x = TEST_LOAD_NPY(dir, ".", "x", B * S * S), *dh = TEST_LOAD_NPY(dir, ".", "dh", B * D);
    float dx[B * S * S] = {0}, h[B * D];
    dtcl_model_zero_grad(&md);
    dtcl_encoder_forward_train(&p.view[0], &md.f, x, 1, &p.fp);
    dtcl_encoder_backward(dx, 1, dh, &md.f, &p.view[0], &p.fp);
    TEST_CHECK_GOLDEN(dir, "densenet h (training)", p.view[0].h, ".", "h", B * D, 1e-5);
    TEST_CHECK_GOLDEN(dir, "densenet dh/dx", dx, ".", "dx", B * S * S, 1e-4);
    const DtclTable *t = &md.table;
    int ngrads = 0, nstats = 0;
    for (int i = 0; i < t->n; i++) {
        const DtclTensorInfo *e = &t->t[i];
        char name[160];
        if (strncmp(e->name, "f.", 2) != 0)
            continue;
        if (e->family == DTCL_FAMILY_PARAM) {
            golden_name(name, sizeof name, "d_", e->name);
            TEST_CHECK_GOLDEN(dir, name, t->grad + e->offset, ".", name, e->count, 1e-4);
            ngrads++;
        } else if (e->family == DTCL_FAMILY_STAT) {
            golden_name(name, sizeof name, "", e->name);
            TEST_CHECK_GOLDEN(dir, name, t->stat + e->offset, ".", name, e->count, 1e-5);
            nstats++;
        } else {
            assert_int_equal(t->counter[e->offset], 4); /* 3 in the file, one pass */
        }
    }
    /* conv0, norm0 (2), 9 layers x (2 norms x 2 + 2 convs), 3 transitions x 3, norm5 (2) */
    assert_int_equal(ngrads, 1 + 2 + 9 * 6 + 3 * 3 + 2);
    assert_int_equal(nstats, 2 * (1 + 9 * 2 + 3 + 1));
    dtcl_encoder_forward_eval(h, &md.f, x, B, &p.fp, &p.view[0]);
    TEST_CHECK_GOLDEN(dir, "densenet h (evaluation)", h, ".", "h_eval", B * D, 1e-5);
    free(x);
    free(dh);
    dtcl_step_plan_free(&p);
    dtcl_model_free(&md);
}

/* h, dx and every gradient of one training pass at `threads`. */
static void pass(DtclModel *md, int threads, int param_grads, const float *x, const float *dh, float *h, float *dx)
{
    DtclStepPlan p;
    dtcl_step_plan(&p, md, NULL, B, S, threads);
    dtcl_model_zero_grad(md);
    memset(dx, 0, sizeof(float) * B * S * S);
    dtcl_encoder_forward_train(&p.view[0], &md->f, x, 0, &p.fp);
    dtcl_encoder_backward(dx, param_grads, dh, &md->f, &p.view[0], &p.fp);
    memcpy(h, p.view[0].h, sizeof(float) * B * D);
    dtcl_step_plan_free(&p);
}

static void test_input_gradient_and_threads(void **state)
{
    (void)state;
    DtclModel md;
    load_encoder(&md);
    size_t np = md.table.size[DTCL_FAMILY_PARAM];
    float *x = TEST_LOAD_NPY(dir, ".", "x", B * S * S), *dh = TEST_LOAD_NPY(dir, ".", "dh", B * D);
    float h[3][B * D], dx[3][B * S * S], *g[2] = {malloc(np * 4), malloc(np * 4)};
    pass(&md, 2, 1, x, dh, h[0], dx[0]);
    memcpy(g[0], md.table.grad, np * 4);
    pass(&md, 2, 0, x, dh, h[1], dx[1]);
    assert_int_equal(test_first_diff(dx[0], dx[1], B * S * S), -1);
    for (size_t i = 0; i < np; i++)
        assert_true(md.table.grad[i] == 0.0f);
    printf("  input gradient alone: bitwise the same, parameter gradients untouched\n");
    pass(&md, 1, 1, x, dh, h[2], dx[2]);
    memcpy(g[1], md.table.grad, np * 4);
    assert_int_equal(test_first_diff(h[0], h[2], B * D), -1);
    assert_int_equal(test_first_diff(dx[0], dx[2], B * S * S), -1);
    assert_int_equal(test_first_diff(g[0], g[1], np), -1);
    printf("  1 and 2 threads: h, dx and %zu parameter gradients bitwise equal\n", np);
    free(g[0]);
    free(g[1]);
    free(x);
    free(dh);
    dtcl_model_free(&md);
}

/* The counting walk of the arena gives the floats a plan and a view need
 * without allocating them. */
static void test_memory_linear(void **state)
{
    (void)state;
    DtclModelConfig c;
    dtcl_model_config_default(&c);
    c.encoder = DTCL_ENCODER_DENSENET121;
    DtclModel md;
    dtcl_model_init(&md, &c);
    assert_int_equal(dtcl_encoder_dim(&md.f), 1024);
    size_t nf = 0;
    for (int i = 0; i < md.table.n; i++)
        if (md.table.t[i].family == DTCL_FAMILY_PARAM && strncmp(md.table.t[i].name, "f.", 2) == 0)
            nf += md.table.t[i].count;
    /* torchvision's densenet121().features: 6953856 parameters; the one-channel stem has 64 x 2 x 49 fewer */
    assert_int_equal((int)nf, 6953856 - 6272);
    const int Bm = 16, Sm = 224;
    DtclArena a = {0};
    DtclEncoderPlan p;
    DtclEncoderSaved s;
    dtcl_encoder_plan(&p, &md.f, Bm, Sm, 2, &a);
    size_t plan = a.used;
    dtcl_encoder_saved(&s, &p, &md.f, &a);
    size_t view = a.used - plan;
    /* what keeping each layer's and transition's BatchNorm-ReLU output would add */
    double plain = 0;
    int l = 0;
    for (int k = 0; k < DTCL_DN_BLOCKS; k++) {
        double HW = (double)p.dn.H[k] * p.dn.H[k];
        for (int j = 0; j < c.dn.layers[k]; j++, l++)
            plain += (double)Bm * (p.dn.cin[k] + j * c.dn.growth) * HW;
        plain += (double)Bm * p.dn.cout[k] * HW;
    }
    printf("  DenseNet-121, 224x224, batch 16: a view keeps %.0f MiB, the shared scratch %.0f MiB; keeping every "
           "BatchNorm-ReLU output would add %.0f MiB\n",
           view * 4.0 / 1048576, plan * 4.0 / 1048576, plain * 4 / 1048576);
    assert_true((double)view < plain);
    dtcl_model_free(&md);
}

int main(void)
{
    openblas_set_num_threads(1);
    snprintf(dir, sizeof dir, "%s/ref/golden/densenet", test_srcdir());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_input_gradient_and_threads),
        cmocka_unit_test(test_memory_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
