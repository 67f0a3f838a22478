/* test_transform.c: T_Lambda's special values (SPEC section 2), the law of
 * the noise, the blur against the direct convolution, bitwise equality for
 * 1 and 2 threads, and every derivative (gradcheck.h) at two sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <omp.h>

#include "check/gradcheck.h"
#include "base/rng.h"
#include "transform/transform.h"
#include "transform/transform_naive.h"
#include "testutil.h"

static DtclTransform make(int S, const char *order) { return test_make_transform(S, order); }

static float *random_image(int S, uint32_t item)
{
    float *x = malloc(sizeof(float) * S * S);
    double *u = malloc(sizeof(double) * S * S);
    DtclStream s = {99, DTCL_RNG_TEST, 0, 0, item};
    dtcl_rng_uniform(&s, u, (size_t)S * S);
    for (int i = 0; i < S * S; i++)
        x[i] = (float)u[i];
    free(u);
    return x;
}

static void apply(const DtclTransform *t, float *y, const float *x, const float lam[7])
{
    DtclNoiseSource ns = {0, 0, 0, NULL};
    dtcl_transform_forward(t, y, NULL, x, lam, &ns, 1);
}

static void test_flips_are_mirrors(void **state)
{
    (void)state;
    enum { S = 13 };
    float *x = random_image(S, 1), y[S * S];
    DtclTransform h = make(S, "hflip"), v = make(S, "vflip");
    float lam[7] = {0, 0, 0, 0, 1, 1, 0};
    apply(&h, y, x, lam);
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++)
            assert_true(y[i * S + j] == x[i * S + (S - 1 - j)]);
    apply(&v, y, x, lam);
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++)
            assert_true(y[i * S + j] == x[(S - 1 - i) * S + j]);
    dtcl_transform_free(&h);
    dtcl_transform_free(&v);
    free(x);
}

static void test_rotate_quarter_is_rot90(void **state)
{
    (void)state;
    for (int S = 16; S <= 17; S++) { /* even and odd sizes */
        float *x = random_image(S, 2), *y = malloc(sizeof(float) * S * S);
        DtclTransform t = make(S, "rotate");
        float lam[7] = {0, 0, 0, 0, 0, 0, 0.25f};
        apply(&t, y, x, lam);
        long bad = 0;
        for (int i = 0; i < S; i++) /* numpy.rot90(X, 1)[i][j] = X[j][S-1-i], every pixel */
            for (int j = 0; j < S; j++)
                bad += y[i * S + j] != x[j * S + (S - 1 - i)];
        printf("  S=%d: %ld of %d pixels differ from numpy.rot90 (expected 0)\n", S, bad, S * S);
        assert_int_equal(bad, 0);
        lam[6] = 0.0f; /* and theta = 0 is the identity */
        apply(&t, y, x, lam);
        assert_int_equal(test_first_diff(y, x, (size_t)S * S), -1);
        dtcl_transform_free(&t);
        free(x);
        free(y);
    }
}

static void test_crop_mask(void **state)
{
    (void)state;
    enum { S = 64 };
    float x[S * S], y[S * S];
    for (int i = 0; i < S * S; i++)
        x[i] = 1.0f;
    DtclTransform t = make(S, "crop");
    float lam[7] = {0, 0, 0.5f, 0.25f, 0, 0, 0}; /* centre at column 32, row 16 */
    apply(&t, y, x, lam);
    double centre = 1.0 / (1.0 + exp(-(S / 8.0))); /* d = 0: S(w) */
    double edge = 0.5;                              /* d = w: S(0) */
    printf("  mask at centre %.7f (expected %.7f), at half-width %.7f (expected 0.5), far %.3g\n", y[16 * S + 32],
           centre, y[16 * S + 40], y[60 * S + 2]);
    assert_true(fabs(y[16 * S + 32] - centre) < 1e-6);
    assert_true(fabs(y[16 * S + 40] - edge) < 1e-6); /* column 40 = 32 + S/8 */
    assert_true(fabs(y[(16 + 8) * S + 32] - edge) < 1e-6);
    assert_true(y[60 * S + 2] < 1e-12); /* d = 44: S(-36) */
    dtcl_transform_free(&t);
}

static void test_blur_sigma_zero_is_identity(void **state)
{
    (void)state;
    enum { S = 20 };
    float *x = random_image(S, 3), y[S * S];
    DtclTransform t = make(S, "blur");
    float lam[7] = {0, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f};
    apply(&t, y, x, lam);
    assert_int_equal(test_first_diff(y, x, S * S), -1);
    dtcl_transform_free(&t);
    free(x);
}

static void test_blur_impulse_variance(void **state)
{
    (void)state;
    enum { S = 64 };
    float x[S * S] = {0}, y[S * S];
    x[32 * S + 32] = 1.0f;
    DtclTransform t = make(S, "blur");
    for (float l0 = 0.5f; l0 <= 1.0f; l0 += 0.25f) {
        float lam[7] = {l0, 0, 0, 0, 0, 0, 0};
        apply(&t, y, x, lam);
        double m0 = 0, vr = 0, vc = 0;
        for (int i = 0; i < S; i++)
            for (int j = 0; j < S; j++) {
                m0 += y[i * S + j];
                vr += y[i * S + j] * (i - 32.0) * (i - 32.0);
                vc += y[i * S + j] * (j - 32.0) * (j - 32.0);
            }
        double s2 = 4.0 * l0 * l0;
        printf("  sigma %.2f: mass %.7f, variance rows %.5f cols %.5f (sigma^2 = %.5f, tolerance 1%%)\n", 2 * l0, m0,
               vr / m0, vc / m0, s2);
        assert_true(fabs(m0 - 1.0) < 1e-5);
        assert_true(fabs(vr / m0 - s2) < 0.01 * s2);
        assert_true(fabs(vc / m0 - s2) < 0.01 * s2);
    }
    dtcl_transform_free(&t);
}

static void test_blur_fft_matches_direct(void **state)
{
    (void)state;
    enum { S = 48 };
    float *x = random_image(S, 4), y[S * S];
    double xd[S * S], yd[S * S];
    for (int i = 0; i < S * S; i++)
        xd[i] = x[i];
    DtclTransform t = make(S, "blur");
    for (float l0 = 0.1f; l0 <= 1.0f; l0 += 0.3f) {
        float lam[7] = {l0, 0, 0, 0, 0, 0, 0};
        double ld[7] = {l0, 0, 0, 0, 0, 0, 0};
        apply(&t, y, x, lam);
        dtcl_transform_naive(&t, yd, xd, ld, NULL);
        char what[64];
        snprintf(what, sizeof what, "FFT vs direct, sigma %.2f", 2 * l0);
        assert_true(test_rel_l2(what, y, yd, S * S, 1e-6) < 1e-6);
    }
    dtcl_transform_free(&t);
    free(x);
}

static void test_noise_law(void **state)
{
    (void)state;
    enum { S = 512 };
    size_t n = (size_t)S * S;
    float *x = calloc(n, sizeof(float)), *y = malloc(n * sizeof(float));
    DtclTransform t = make(S, "noise");
    float lam[7] = {0, 1, 0, 0, 0, 0, 0};
    apply(&t, y, x, lam);
    double m = 0, m2 = 0, m3 = 0, m4 = 0;
    for (size_t i = 0; i < n; i++)
        m += y[i];
    m /= n;
    for (size_t i = 0; i < n; i++) {
        double d = y[i] - m;
        m2 += d * d;
        m3 += d * d * d;
        m4 += d * d * d * d;
    }
    m2 /= n;
    m3 /= n;
    m4 /= n;
    double sd = sqrt(m2), skew = m3 / (m2 * sd), kurt = m4 / (m2 * m2);
    /* standard errors: mean 0.1/sqrt(n), sd 0.1/sqrt(2n), skew sqrt(6/n), kurtosis sqrt(24/n) */
    printf("  n=%zu: mean %.2e (|.| < %.1e), sd %.6f (0.1 +- 1%%), skewness %.4f (|.| < 0.03), kurtosis %.4f (3 +- 0.05)\n",
           n, m, 5 * 0.1 / sqrt((double)n), sd, skew, kurt);
    assert_true(fabs(m) < 5 * 0.1 / sqrt((double)n));
    assert_true(fabs(sd - 0.1) < 0.001);
    assert_true(fabs(skew) < 0.03);
    assert_true(fabs(kurt - 3.0) < 0.05);
    /* the same seed gives the same noise; another seed another */
    float *y2 = malloc(n * sizeof(float));
    apply(&t, y2, x, lam);
    assert_int_equal(test_first_diff(y, y2, n), -1);
    DtclNoiseSource other = {1, 0, 0, NULL};
    dtcl_transform_forward(&t, y2, NULL, x, lam, &other, 1);
    assert_true(test_first_diff(y, y2, n) >= 0);
    dtcl_transform_free(&t);
    free(x);
    free(y);
    free(y2);
}

/* Forward, Jacobian and backward with 1 and 2 threads: bitwise equal. */
static void test_threads_bitwise(void **state)
{
    (void)state;
    enum { S = 32, N = 5 };
    size_t NS = (size_t)N * S * S;
    DtclTransform t = make(S, dtcl_default_order);
    size_t SV = dtcl_transform_saved_size(&t) * N;
    float *x = malloc(NS * 4), lam[N * 7], *w = malloc(NS * 4);
    for (int n = 0; n < N; n++) {
        float *xi = random_image(S, 10 + n), *wi = random_image(S, 20 + n);
        memcpy(x + n * S * S, xi, S * S * 4);
        memcpy(w + n * S * S, wi, S * S * 4);
        free(xi);
        free(wi);
        for (int k = 0; k < 7; k++)
            lam[n * 7 + k] = 0.1f + 0.11f * k + 0.03f * n;
    }
    float *out[2][5];
    DtclNoiseSource ns = {5, 1, 2, NULL};
    for (int r = 0; r < 2; r++) {
        omp_set_num_threads(r + 1);
        float *y = malloc(NS * 4), *saved = malloc(SV * 4), *jac = malloc(NS * 7 * 4);
        float *dx = calloc(NS, 4), *dl = calloc(N * 7, 4);
        dtcl_transform_forward(&t, y, saved, x, lam, &ns, N);
        dtcl_transform_jacobian(&t, jac, NULL, x, lam, &ns, N);
        dtcl_transform_backward(&t, dx, dl, w, x, lam, saved, N);
        out[r][0] = y, out[r][1] = saved, out[r][2] = jac, out[r][3] = dx, out[r][4] = dl;
    }
    size_t sizes[5] = {NS, SV, NS * 7, NS, N * 7};
    const char *names[5] = {"forward", "saved", "jacobian", "dx", "dlambda"};
    for (int k = 0; k < 5; k++) {
        long d = test_first_diff(out[0][k], out[1][k], sizes[k]);
        printf("  %-8s 1 vs 2 threads: %s\n", names[k], d < 0 ? "bitwise equal" : "DIFFER");
        assert_int_equal(d, -1);
        free(out[0][k]);
        free(out[1][k]);
    }
    omp_set_num_threads(2);
    dtcl_transform_free(&t);
    free(x);
    free(w);
}

static void run_gradcheck(int size, uint64_t seed)
{
    DtclGradcheckConfig cfg;
    dtcl_gradcheck_config_default(&cfg);
    cfg.size = size;
    cfg.seed = seed;
    DtclCheckTable tab = {0};
    DtclError err;
    assert_int_equal(dtcl_gradcheck_transforms(&tab, &cfg, &err), 0);
    int bad = dtcl_check_failures(&tab);
    double worst = 0;
    for (int i = 0; i < tab.n; i++)
        worst = fmax(worst, tab.rows[i].err / tab.rows[i].tol);
    printf("  size %d seed %llu: %d checks, %d failed, worst error/tolerance %.3f\n", size, (unsigned long long)seed,
           tab.n, bad, worst);
    if (bad)
        dtcl_check_print(&tab, stdout);
    assert_int_equal(bad, 0);
    assert_true(tab.n >= 50);
    dtcl_check_free(&tab);
}

static void test_every_derivative(void **state)
{
    (void)state;
    run_gradcheck(16, 1);
    run_gradcheck(24, 2);
    run_gradcheck(31, 3);
}

/* The checks can fail: NaN and errors above tolerance are failures, and a
 * derivative of a slightly different T (crop sharpness 5% off) is caught by
 * the finite-difference comparison at the gradcheck's tolerance. */
static void test_gradcheck_can_fail(void **state)
{
    (void)state;
    DtclCheckTable tab = {0};
    dtcl_check_add(&tab, "x", "nan", NAN, 1e-4);
    dtcl_check_add(&tab, "x", "above", 2e-4, 1e-4);
    dtcl_check_add(&tab, "x", "below", 5e-5, 1e-4);
    assert_int_equal(dtcl_check_failures(&tab), 2);
    dtcl_check_free(&tab);

    enum { S = 24 };
    DtclTransform good = make(S, "crop"), off;
    DtclTransformParams p = good.p;
    p.crop_sharpness = 1.05f;
    DtclError err;
    assert_int_equal(dtcl_transform_init(&off, S, good.order, 1, &p, &err), 0);
    float *x = random_image(S, 7), jac[7 * S * S];
    double xd[S * S], yp[S * S], ym[S * S], fd[S * S];
    float lam[7] = {0.3f, 0.3f, 0.43f, 0.61f, 0.3f, 0.3f, 0.3f};
    double lp[7], lm[7];
    for (int k = 0; k < 7; k++)
        lp[k] = lm[k] = lam[k];
    lp[2] += 1e-6;
    lm[2] -= 1e-6;
    for (int i = 0; i < S * S; i++)
        xd[i] = x[i];
    DtclNoiseSource ns = {0, 0, 0, NULL};
    dtcl_transform_jacobian(&off, jac, NULL, x, lam, &ns, 1);
    dtcl_transform_naive(&good, yp, xd, lp, NULL);
    dtcl_transform_naive(&good, ym, xd, lm, NULL);
    for (int i = 0; i < S * S; i++)
        fd[i] = (yp[i] - ym[i]) / 2e-6;
    double rel = test_rel_l2("dT/dlambda2 of a wrong T vs FD", jac + 2 * S * S, fd, S * S, 1e-4);
    assert_true(rel > 1e-4);
    dtcl_transform_free(&good);
    dtcl_transform_free(&off);
    free(x);
}

static void test_order_parsing(void **state)
{
    (void)state;
    DtclStage o[DTCL_NSTAGES];
    int n;
    DtclError err;
    assert_int_equal(dtcl_transform_parse_order("rotate, blur", o, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(o[0], DTCL_STAGE_ROTATE);
    assert_int_equal(dtcl_transform_parse_order("blur,zoom", o, &n, &err), -1);
    assert_non_null(strstr(err.msg, "unknown transformation 'zoom'"));
    assert_int_equal(dtcl_transform_parse_order("blur,blur", o, &n, &err), -1);
    assert_non_null(strstr(err.msg, "twice"));
    assert_int_equal(dtcl_transform_parse_order("", o, &n, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flips_are_mirrors),       cmocka_unit_test(test_rotate_quarter_is_rot90),
        cmocka_unit_test(test_crop_mask),               cmocka_unit_test(test_blur_sigma_zero_is_identity),
        cmocka_unit_test(test_blur_impulse_variance),   cmocka_unit_test(test_blur_fft_matches_direct),
        cmocka_unit_test(test_noise_law),               cmocka_unit_test(test_threads_bitwise),
        cmocka_unit_test(test_every_derivative),        cmocka_unit_test(test_gradcheck_can_fail),
        cmocka_unit_test(test_order_parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
