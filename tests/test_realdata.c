/* test_realdata.c: T_Lambda on real chest X-rays (NIH ChestX-ray14, 64 x 64,
 * RGB and RGBA files of grey content) from $DTCL_REALDATA/nih-cxr-1000: the
 * PNG reader gives grey images in [0,1], every derivative check passes on
 * patches of real anatomy, and the Jacobian is finite. Exits 77 (skip) when
 * the folder is absent, as on a user's machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "check/gradcheck.h"
#include "io/pngio.h"
#include "transform/transform.h"
#include "testutil.h"

static char root[4096];

/* The first rows of labels.csv name files; these include RGBA ones. */
static const char *files[] = {"NIH1000/test/0_normal/00000231_013.png", "NIH1000/test/0_normal/00000234_000.png",
                              "NIH1000/valid/0_normal/00000218_002.png",
                              "NIH1000/test/0_normal/00000273_004.png" /* RGBA */};

static float *load(const char *rel, int *S)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    float *px;
    int h, w;
    DtclError err;
    if (dtcl_png_load(path, &px, &h, &w, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(h, w);
    *S = h;
    return px;
}

static void test_read_grey(void **state)
{
    (void)state;
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        int S;
        float *px = load(files[f], &S);
        double lo = 1, hi = 0, mean = 0;
        for (int i = 0; i < S * S; i++) {
            lo = fmin(lo, px[i]);
            hi = fmax(hi, px[i]);
            mean += px[i];
        }
        printf("  %s: %dx%d, range [%.3f, %.3f], mean %.3f\n", files[f], S, S, lo, hi, mean / (S * S));
        assert_int_equal(S, 64);
        assert_true(lo >= 0 && hi <= 1 && hi - lo > 0.3);
        free(px);
    }
}

static void test_gradcheck_on_xrays(void **state)
{
    (void)state;
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        int S;
        float *px = load(files[f], &S);
        DtclGradcheckConfig cfg;
        dtcl_gradcheck_config_default(&cfg);
        cfg.size = 32;
        cfg.batch = 2;
        cfg.seed = 10 + f;
        float patch[32 * 32];
        for (int i = 0; i < 32; i++)
            memcpy(patch + i * 32, px + (size_t)(16 + i) * S + 16, sizeof(float) * 32);
        cfg.image = patch;
        DtclCheckTable tab = {0};
        DtclError err;
        assert_int_equal(dtcl_gradcheck_transforms(&tab, &cfg, &err), 0);
        int bad = dtcl_check_failures(&tab);
        printf("  %s: %d checks, %d failed\n", files[f], tab.n, bad);
        if (bad)
            dtcl_check_print(&tab, stdout);
        assert_int_equal(bad, 0);
        dtcl_check_free(&tab);
        free(px);
    }
}

static void test_jacobian_finite(void **state)
{
    (void)state;
    int S;
    float *px = load(files[0], &S);
    DtclTransform t = test_make_transform(S, dtcl_default_order);
    float lam[7] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f}, *jac = malloc(sizeof(float) * 7 * S * S);
    DtclNoiseSource ns = {1, 0, 0, NULL};
    dtcl_transform_jacobian(&t, jac, NULL, px, lam, &ns, 1);
    for (int i = 0; i < 7 * S * S; i++)
        assert_true(isfinite(jac[i]));
    dtcl_transform_free(&t);
    free(jac);
    free(px);
}

int main(void)
{
    const char *base = getenv("DTCL_REALDATA");
    struct stat st;
    snprintf(root, sizeof root, "%s/nih-cxr-1000", base ? base : "../shared/realdata");
    if (stat(root, &st) != 0) {
        printf("skip: %s is absent\n", root);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_grey),
        cmocka_unit_test(test_gradcheck_on_xrays),
        cmocka_unit_test(test_jacobian_finite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
