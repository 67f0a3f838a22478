/* test_checkpoint.c: checkpoints (SPEC section 7). A saved model loads back
 * bitwise (every family, the Adam state and its step counts, the widths
 * inferred from the shapes); an f.*-only file loads as an encoder; and a
 * file with a missing tensor, a wrong shape or dtype, a truncated body, a
 * malformed header or a partial Adam state is refused with a message naming
 * the tensor or the byte offset, by the library and by `dtcl embed` and
 * `dtcl info` (exit status 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nets/checkpoint.h"
#include "data/dataset.h"
#include "io/npy.h"
#include "testutil.h"

static char dir[256];
static const char *dtcl;

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* A model at widths 4,8 with every family filled with distinct values. */
static void make_model(DtclModel *md)
{
    DtclModelConfig c;
    dtcl_model_config_default(&c);
    assert_int_equal(dtcl_model_parse_widths("4,8", &c, NULL), 0);
    c.hidden = 12;
    c.zdim = 6;
    dtcl_model_init(md, &c);
    dtcl_model_reset(md, 3);
    DtclTable *t = &md->table;
    for (size_t i = 0; i < t->size[DTCL_FAMILY_PARAM]; i++) {
        t->adam_m[i] = 1e-3f * (float)i;
        t->adam_v[i] = 1e-6f * (float)(i % 97);
    }
    for (size_t i = 0; i < t->size[DTCL_FAMILY_STAT]; i++)
        t->stat[i] += 0.01f * (float)i;
    for (size_t i = 0; i < t->size[DTCL_FAMILY_COUNT]; i++)
        t->counter[i] = 40 + (int64_t)i;
    md->step_e = 17;
    md->step_m = 9;
}

static void test_save_load_bitwise(void **state)
{
    (void)state;
    DtclModel a, b;
    DtclError err;
    char p[512];
    make_model(&a);
    path_of(p, sizeof p, "model.safetensors");
    const char *k[2] = {"epoch", "seed"}, *v[2] = {"3", "3"};
    assert_int_equal(dtcl_checkpoint_save(p, &a, k, v, 2, &err), 0);
    if (dtcl_checkpoint_load(p, &b, DTCL_CK_MODEL, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(b.cfg.nblocks, 2);
    assert_int_equal(b.cfg.widths[0], 4);
    assert_int_equal(b.cfg.hidden, 12);
    assert_int_equal(b.cfg.zdim, 6);
    size_t np = a.table.size[DTCL_FAMILY_PARAM];
    assert_int_equal(test_first_diff(a.table.param, b.table.param, np), -1);
    assert_int_equal(test_first_diff(a.table.adam_m, b.table.adam_m, np), -1);
    assert_int_equal(test_first_diff(a.table.adam_v, b.table.adam_v, np), -1);
    assert_int_equal(test_first_diff(a.table.stat, b.table.stat, a.table.size[DTCL_FAMILY_STAT]), -1);
    assert_memory_equal(a.table.counter, b.table.counter, sizeof(int64_t) * a.table.size[DTCL_FAMILY_COUNT]);
    assert_int_equal(b.step_e, 17);
    assert_int_equal(b.step_m, 9);
    printf("  %d tensors, %zu parameters: loaded back bitwise, Adam steps 17 and 9\n", a.table.n, np);
    DtclSafetensors st;
    assert_int_equal(dtcl_st_open(p, &st, &err), 0);
    assert_string_equal(dtcl_st_meta(&st, "format"), DTCL_CHECKPOINT_FORMAT);
    assert_string_equal(dtcl_st_meta(&st, "epoch"), "3");
    assert_non_null(dtcl_st_find(&st, "adam.v.m.head.bias"));
    dtcl_st_close(&st);
    dtcl_model_free(&a);
    dtcl_model_free(&b);
}

/* Writes the model's tensors with one changed: drop it (dtype -1), or give
 * it another dtype or shape. */
static void write_variant(const char *name, const DtclModel *md, const char *target, int dtype, int64_t dim0,
                          int with_adam_m_only)
{
    const DtclTable *t = &md->table;
    DtclStEntry e[256];
    static float junk[1 << 16];
    char adam[128][DTCL_NAME_MAX + 8];
    int n = 0, na = 0;
    for (int i = 0; i < t->n; i++) {
        const DtclTensorInfo *ti = &t->t[i];
        DtclStEntry x = {ti->name, ti->family == DTCL_FAMILY_COUNT ? DTCL_ST_I64 : DTCL_ST_F32, ti->rank, {0}, NULL};
        memcpy(x.shape, ti->shape, sizeof(int64_t) * ti->rank);
        x.data = ti->family == DTCL_FAMILY_COUNT ? (const void *)(t->counter + ti->offset)
                 : ti->family == DTCL_FAMILY_STAT ? (const void *)(t->stat + ti->offset)
                                                  : (const void *)(t->param + ti->offset);
        if (target && strcmp(ti->name, target) == 0) {
            if (dtype < 0)
                continue;
            x.dtype = (DtclStDtype)dtype;
            if (dim0 > 0)
                x.shape[0] = dim0;
            x.data = junk;
        }
        e[n++] = x;
        if (with_adam_m_only && ti->family == DTCL_FAMILY_PARAM && na < 128) {
            snprintf(adam[na], sizeof adam[na], "adam.m.%s", ti->name);
            x.name = adam[na++];
            e[n++] = x;
        }
    }
    char p[512];
    path_of(p, sizeof p, name);
    DtclError err;
    assert_int_equal(dtcl_st_save(p, e, n, NULL, NULL, 0, &err), 0);
}

static void expect_refused(const char *file, DtclCheckpointPart part, const char *needle)
{
    char p[512];
    DtclModel md;
    DtclError err;
    path_of(p, sizeof p, file);
    int rc = dtcl_checkpoint_load(p, &md, part, &err);
    printf("  %-24s -> %s\n", file, rc ? err.msg : "(loaded)");
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.msg, needle));
    assert_non_null(strstr(err.msg, file)); /* the file is named */
}

static void test_refused(void **state)
{
    (void)state;
    DtclModel md;
    make_model(&md);
    write_variant("missing.safetensors", &md, "f.blocks.1.bn0.weight", -1, 0, 0);
    write_variant("shape.safetensors", &md, "f.blocks.0.conv1.weight", DTCL_ST_F32, 5, 0);
    write_variant("dtype.safetensors", &md, "g.fc1.bias", DTCL_ST_F64, 0, 0);
    write_variant("partial_adam.safetensors", &md, NULL, 0, 0, 1);
    expect_refused("missing.safetensors", DTCL_CK_ENCODER, "'f.blocks.1.bn0.weight' is missing");
    expect_refused("shape.safetensors", DTCL_CK_ENCODER, "'f.blocks.0.conv1.weight' has shape [5, 4, 3, 3]");
    expect_refused("dtype.safetensors", DTCL_CK_MODEL, "'g.fc1.bias' is F64; expected F32");
    expect_refused("partial_adam.safetensors", DTCL_CK_MODEL, "adam.v.f.blocks.0.conv0.weight");
    /* the encoder alone ignores what is not f.* */
    char p[512];
    DtclModel e;
    DtclError err;
    path_of(p, sizeof p, "dtype.safetensors");
    assert_int_equal(dtcl_checkpoint_load(p, &e, DTCL_CK_ENCODER, &err), 0);
    dtcl_model_free(&e);

    /* a truncated body and a malformed header */
    char good[512];
    path_of(good, sizeof good, "good.safetensors");
    assert_int_equal(dtcl_checkpoint_save(good, &md, NULL, NULL, 0, &err), 0);
    FILE *f = fopen(good, "rb");
    static unsigned char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    path_of(p, sizeof p, "truncated.safetensors");
    f = fopen(p, "wb");
    fwrite(buf, 1, len - 100, f);
    fclose(f);
    expect_refused("truncated.safetensors", DTCL_CK_MODEL, "byte");
    buf[8 + 1] = ','; /* "{," : not JSON */
    path_of(p, sizeof p, "header.safetensors");
    f = fopen(p, "wb");
    fwrite(buf, 1, len, f);
    fclose(f);
    expect_refused("header.safetensors", DTCL_CK_MODEL, "byte 10: malformed JSON header");
    dtcl_model_free(&md);
}

static void test_cli_refuses(void **state)
{
    (void)state;
    if (!dtcl)
        skip();
    char err[4096], args[1024], x[512];
    float img[16 * 16 * 2] = {0};
    int64_t shape[3] = {2, 16, 16};
    path_of(x, sizeof x, "x.npy");
    DtclError e;
    assert_int_equal(dtcl_npy_save(x, img, 3, shape, &e), 0);
    static const struct { const char *file, *needle; } cases[] = {
        {"missing.safetensors", "'f.blocks.1.bn0.weight' is missing"},
        {"shape.safetensors", "has shape [5, 4, 3, 3]"},
        {"truncated.safetensors", "truncated.safetensors"},
        {"header.safetensors", "malformed JSON header"},
        {"nonexistent.safetensors", "nonexistent.safetensors"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(args, sizeof args, "embed -c %s -i x.npy -o h.npy", cases[i].file);
        int st = test_run_dtcl(dir, dtcl, err, sizeof err, args);
        printf("  [%d] dtcl %s\n      %s", st, args, err);
        assert_int_equal(st, 2);
        assert_non_null(strstr(err, cases[i].needle));
        assert_int_equal(access("h.npy", F_OK), -1); /* nothing written */
    }
    int st = test_run_dtcl(dir, dtcl, err, sizeof err, "info truncated.safetensors");
    printf("  [%d] dtcl info truncated.safetensors\n      %s", st, err);
    assert_int_equal(st, 2);
    /* a good file: embed writes (2, 8); info describes the model */
    st = test_run_dtcl(dir, dtcl, err, sizeof err, "embed -c good.safetensors -i x.npy -o h.npy");
    assert_int_equal(st, 0);
    char hp[512];
    path_of(hp, sizeof hp, "h.npy");
    float *h;
    DtclNpyInfo info;
    assert_int_equal(dtcl_npy_load(hp, &h, &info, &e), 0);
    assert_int_equal(info.rank, 2);
    assert_int_equal(info.shape[0], 2);
    assert_int_equal(info.shape[1], 8);
    free(h);
    /* images smaller than the encoder needs (2^blocks) */
    float small[3 * 3] = {0};
    int64_t sshape[2] = {3, 3};
    path_of(x, sizeof x, "small.npy");
    assert_int_equal(dtcl_npy_save(x, small, 2, sshape, &e), 0);
    st = test_run_dtcl(dir, dtcl, err, sizeof err, "embed -c good.safetensors -i small.npy -o h2.npy");
    printf("  [%d] dtcl embed on 3x3 images\n      %s", st, err);
    assert_int_equal(st, 2);
    assert_non_null(strstr(err, "needs at least 4x4"));
    /* a densenet121 encoder on the 16x16 images: it needs 32x32 */
    snprintf(args, sizeof args, "embed -c %s/ref/golden/densenet/weights.safetensors -i x.npy -o h3.npy",
             test_srcdir());
    st = test_run_dtcl(dir, dtcl, err, sizeof err, args);
    printf("  [%d] dtcl embed, densenet121 on 16x16 images\n      %s", st, err);
    assert_int_equal(st, 2);
    assert_non_null(strstr(err, "densenet121 encoder"));
    assert_non_null(strstr(err, "needs at least 32x32"));
    st = test_run_dtcl(dir, dtcl, err, sizeof err, "embed --encoder densenet121 -c good.safetensors -i x.npy -o h3.npy");
    printf("  [%d] dtcl embed --encoder densenet121 on an fcn checkpoint\n      %s", st, err);
    assert_int_equal(st, 2);
    assert_non_null(strstr(err, "holds a fcn encoder"));
}

int main(void)
{
    if (test_tmpdir(dir, sizeof dir, "checkpoint") != 0)
        return 99;
    dtcl = getenv("DTCL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_load_bitwise),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_cli_refuses),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    return dtcl_remove_tree(dir) == 0 ? rc : 99;
}
