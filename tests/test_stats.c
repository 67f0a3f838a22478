/* test_stats.c: the paired AUC statistics of eval/stats.h on cases with known
 * answers:
 *   - the weighted AUC equals the AUC of the data with each image repeated
 *     as often as its weight;
 *   - with one image per patient, the bootstrap standard error of a paired
 *     AUC difference agrees with DeLong's closed form (DeLong, DeLong and
 *     Clarke-Pearson 1988), computed here independently;
 *   - copying every patient's image four times leaves the interval exactly
 *     as it was (patients, not slices, are resampled), where a slice-level
 *     bootstrap would halve it;
 *   - four times the patients halves the test part of the standard error;
 *   - delta and the repeats' part follow their definitions;
 *   - on 200 simulated binormal data sets with a known difference of AUCs,
 *     the 95% interval covers it about 95% of the time;
 *   - identical scores, clear wins and losses give the expected verdicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "eval/logreg.h"
#include "eval/stats.h"
#include "testutil.h"

/* n standard normals from the test stream (seed, item). */
static void normals(uint64_t seed, uint32_t item, double *z, int64_t n)
{
    float *f = malloc(sizeof(float) * (size_t)n);
    DtclStream st = {seed, DTCL_RNG_TEST, 0, 0, item};
    dtcl_rng_normal(&st, f, (size_t)n);
    for (int64_t i = 0; i < n; i++)
        z[i] = f[i];
    free(f);
}

/* A binormal pair: y alternates, a = dA y + e1, b = dB y + (rho e1 + sqrt(1 - rho^2) e2). */
static void binormal(uint64_t seed, uint32_t item, int64_t n, double dA, double dB, double rho, int8_t *y, double *a,
                     double *b)
{
    double *e1 = malloc(sizeof(double) * (size_t)n), *e2 = malloc(sizeof(double) * (size_t)n);
    normals(seed, 2 * item, e1, n);
    normals(seed, 2 * item + 1, e2, n);
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int8_t)(i % 3 == 0); /* a third positive */
        a[i] = dA * y[i] + e1[i];
        b[i] = dB * y[i] + rho * e1[i] + sqrt(1 - rho * rho) * e2[i];
    }
    free(e1);
    free(e2);
}

/* DeLong's standard error of AUC(a) - AUC(b) for independent images. */
static double delong_se(const double *a, const double *b, const int8_t *y, int64_t n)
{
    int64_t m = 0, k = 0;
    for (int64_t i = 0; i < n; i++)
        m += y[i] == 1;
    k = n - m;
    double *va = calloc((size_t)n, sizeof(double)), *vb = calloc((size_t)n, sizeof(double));
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            if (y[i] != 1 || y[j] != 0)
                continue;
            double pa = a[i] > a[j] ? 1 : a[i] == a[j] ? 0.5 : 0, pb = b[i] > b[j] ? 1 : b[i] == b[j] ? 0.5 : 0;
            va[i] += pa / (double)k; /* V10 of positive i */
            vb[i] += pb / (double)k;
            va[j] += pa / (double)m; /* V01 of negative j */
            vb[j] += pb / (double)m;
        }
    double s[2] = {0, 0};
    for (int cls = 1; cls >= 0; cls--) { /* the variance of va - vb within each class */
        double mean = 0, ss = 0;
        int64_t c = cls ? m : k;
        for (int64_t i = 0; i < n; i++)
            if (y[i] == cls)
                mean += va[i] - vb[i];
        mean /= (double)c;
        for (int64_t i = 0; i < n; i++)
            if (y[i] == cls)
                ss += (va[i] - vb[i] - mean) * (va[i] - vb[i] - mean);
        s[cls] = ss / (double)(c - 1) / (double)c;
    }
    free(va);
    free(vb);
    return sqrt(s[0] + s[1]);
}

static void test_weighted_auc(void **state)
{
    (void)state;
    enum { N = 40 };
    double s[N], w[N], rep[4 * N];
    int8_t y[N], yr[4 * N];
    int64_t nr = 0;
    for (int i = 0; i < N; i++) {
        s[i] = (double)((i * 7) % 11); /* ties */
        y[i] = (int8_t)((i * 5) % 3 == 0);
        w[i] = (double)(i % 4);
        for (int k = 0; k < (int)w[i]; k++) {
            rep[nr] = s[i];
            yr[nr++] = y[i];
        }
    }
    double a = dtcl_auc_weighted(s, y, w, N), b = dtcl_auc(rep, yr, nr), c = dtcl_auc_weighted(s, y, NULL, N),
           d = dtcl_auc(s, y, N);
    printf("  weighted AUC %.12f, the repeated data's %.12f; unweighted %.12f and %.12f\n", a, b, c, d);
    assert_true(fabs(a - b) < 1e-12 && fabs(c - d) < 1e-12);
    int8_t one[3] = {1, 1, 1};
    assert_true(isnan(dtcl_auc_weighted(s, one, NULL, 3)));
}

static void test_bootstrap_matches_delong(void **state)
{
    (void)state;
    enum { N = 600 };
    int8_t y[N];
    int pat[N];
    double a[N], b[N];
    binormal(11, 0, N, 1.2, 0.8, 0.5, y, a, b);
    for (int i = 0; i < N; i++)
        pat[i] = i;
    DtclStatsTest t = {N, y, pat, N};
    const double *pa[1] = {a}, *pb[1] = {b};
    DtclStatsOptions o;
    dtcl_stats_options_default(&o);
    o.boot = 4000;
    DtclPaired r;
    assert_int_equal(dtcl_paired_auc(&t, 1, pa, pb, 1, &o, &r), 0);
    double dl = delong_se(a, b, y, N), direct = dtcl_auc(a, y, N) - dtcl_auc(b, y, N);
    printf("  delta %.5f (direct %.5f); bootstrap se %.5f, DeLong se %.5f: ratio %.3f (tol 0.9..1.1)\n", r.delta,
           direct, r.se_test, dl, r.se_test / dl);
    assert_true(fabs(r.delta - direct) < 1e-12);
    assert_true(r.se_test / dl > 0.9 && r.se_test / dl < 1.1);
    assert_true(isnan(r.se_rep) && isnan(r.repeats_needed));
    assert_true(fabs(r.se - r.se_test) < 1e-15); /* one repeat: the test part only */
    /* the patients needed for 0.01: se^2 P / (0.01 / 2.8016)^2 */
    double need = 0.01 / (1.959964 + 0.841621);
    double want = ceil(N * r.se_test * r.se_test / (need * need));
    printf("  test patients to resolve 0.01: %.0f (formula %.0f)\n", r.patients_needed, want);
    assert_true(r.patients_needed == want);
}

static void test_patients_not_slices(void **state)
{
    (void)state;
    enum { P = 200, K = 4 };
    int8_t y[P], yk[P * K];
    int pat[P], patk[P * K];
    double a[P], b[P], ak[P * K], bk[P * K];
    binormal(12, 0, P, 1.0, 0.7, 0.3, y, a, b);
    for (int i = 0; i < P; i++) {
        pat[i] = i;
        for (int k = 0; k < K; k++) { /* four slices of each patient, the same scores */
            yk[i * K + k] = y[i];
            ak[i * K + k] = a[i];
            bk[i * K + k] = b[i];
            patk[i * K + k] = i;
        }
    }
    DtclStatsTest t1 = {P, y, pat, P}, t4 = {P * K, yk, patk, P};
    const double *pa[1] = {a}, *pb[1] = {b}, *pak[1] = {ak}, *pbk[1] = {bk};
    DtclStatsOptions o;
    dtcl_stats_options_default(&o);
    DtclPaired r1, r4;
    assert_int_equal(dtcl_paired_auc(&t1, 1, pa, pb, 1, &o, &r1), 0);
    assert_int_equal(dtcl_paired_auc(&t4, 1, pak, pbk, 1, &o, &r4), 0);
    printf("  one slice per patient: delta %.5f se %.5f; four: delta %.5f se %.5f (equal to 1e-12)\n", r1.delta, r1.se,
           r4.delta, r4.se);
    assert_true(fabs(r1.delta - r4.delta) < 1e-12 && fabs(r1.se - r4.se) < 1e-12);
}

static void test_more_patients_halve_se(void **state)
{
    (void)state;
    enum { P = 300, Q = 4 * P };
    static int8_t y[Q];
    static int pat[Q];
    static double a[Q], b[Q];
    binormal(13, 0, Q, 1.0, 0.6, 0.4, y, a, b);
    for (int i = 0; i < Q; i++)
        pat[i] = i;
    DtclStatsTest small = {P, y, pat, P}, big = {Q, y, pat, Q};
    const double *pa[1] = {a}, *pb[1] = {b};
    DtclStatsOptions o;
    dtcl_stats_options_default(&o);
    DtclPaired rs, rb;
    assert_int_equal(dtcl_paired_auc(&small, 1, pa, pb, 1, &o, &rs), 0);
    assert_int_equal(dtcl_paired_auc(&big, 1, pa, pb, 1, &o, &rb), 0);
    printf("  se with %d patients %.5f, with %d %.5f: ratio %.3f (expected 0.5, tol 0.4..0.6)\n", P, rs.se, Q, rb.se,
           rb.se / rs.se);
    assert_true(rb.se / rs.se > 0.4 && rb.se / rs.se < 0.6);
}

static void test_repeats_and_definitions(void **state)
{
    (void)state;
    enum { R = 3, T = 2, N = 90 };
    static int8_t y[T][N];
    static int pat[T][N];
    static double a[R * T][N], b[R * T][N];
    DtclStatsTest t[T];
    const double *pa[R * T], *pb[R * T];
    double want = 0, dr[R];
    for (int k = 0; k < T; k++) {
        for (int i = 0; i < N; i++) {
            y[k][i] = (int8_t)(i % 3 == 0); /* as binormal draws them */
            pat[k][i] = i / 3;              /* three slices per patient */
        }
        t[k] = (DtclStatsTest){N, y[k], pat[k], N / 3};
    }
    for (int r = 0; r < R; r++) {
        dr[r] = 0;
        for (int k = 0; k < T; k++) {
            int8_t yy[N];
            binormal(14, (uint32_t)(r * T + k), N, 0.5 + 0.4 * r, 0.5, 0.2, yy, a[r * T + k], b[r * T + k]);
            pa[r * T + k] = a[r * T + k];
            pb[r * T + k] = b[r * T + k];
            double d = dtcl_auc(a[r * T + k], y[k], N) - dtcl_auc(b[r * T + k], y[k], N);
            dr[r] += d / T;
            want += d / (R * T);
        }
    }
    double m = (dr[0] + dr[1] + dr[2]) / 3, s2 = 0;
    for (int r = 0; r < R; r++)
        s2 += (dr[r] - m) * (dr[r] - m) / (R - 1);
    DtclStatsOptions o;
    dtcl_stats_options_default(&o);
    DtclPaired res;
    assert_int_equal(dtcl_paired_auc(t, T, pa, pb, R, &o, &res), 0);
    printf("  delta %.6f (want %.6f), repeats' se %.6f (want %.6f), test se %.5f, se %.5f, %d patients\n", res.delta,
           want, res.se_rep, sqrt(s2 / R), res.se_test, res.se, res.npatients);
    assert_true(fabs(res.delta - want) < 1e-12);
    assert_true(fabs(res.se_rep - sqrt(s2 / R)) < 1e-12);
    assert_true(fabs(res.se * res.se - res.se_test * res.se_test - res.se_rep * res.se_rep) < 1e-12);
    assert_true(fabs(res.lo - (res.delta - 1.959964 * res.se)) < 1e-12);
    assert_int_equal(res.npatients, 2 * N / 3);
    assert_int_equal(res.nboot, o.boot);
    /* the same seed gives the same interval, another seed nearly the same */
    DtclPaired again, other;
    assert_int_equal(dtcl_paired_auc(t, T, pa, pb, R, &o, &again), 0);
    assert_true(again.se_test == res.se_test);
    o.seed = 2;
    assert_int_equal(dtcl_paired_auc(t, T, pa, pb, R, &o, &other), 0);
    assert_true(fabs(other.se_test / res.se_test - 1) < 0.1);
}

static void test_coverage(void **state)
{
    (void)state;
    /* binormal with unit variances: AUC = PHI(d / sqrt 2); the true difference is known */
    enum { SIMS = 200, N = 150 };
    const double dA = 1.0, dB = 0.6;
    double truth = 0.5 * erfc(-dA / 2.0) - 0.5 * erfc(-dB / 2.0); /* PHI(d/sqrt2) = erfc(-d/2)/2 */
    int8_t y[N];
    int pat[N];
    double a[N], b[N];
    for (int i = 0; i < N; i++)
        pat[i] = i;
    DtclStatsOptions o;
    dtcl_stats_options_default(&o);
    o.boot = 500;
    int covered = 0;
    for (int s = 0; s < SIMS; s++) {
        binormal(15, (uint32_t)s, N, dA, dB, 0.5, y, a, b);
        DtclStatsTest t = {N, y, pat, N};
        const double *pa[1] = {a}, *pb[1] = {b};
        DtclPaired r;
        assert_int_equal(dtcl_paired_auc(&t, 1, pa, pb, 1, &o, &r), 0);
        covered += r.lo <= truth && truth <= r.hi;
    }
    printf("  true difference %.4f covered by %d of %d 95%% intervals (tol 180..198)\n", truth, covered, SIMS);
    assert_true(covered >= 180 && covered <= 198);
}

static void test_verdicts(void **state)
{
    (void)state;
    enum { N = 120 };
    int8_t y[N];
    int pat[N];
    double good[N], noise[N];
    normals(16, 0, noise, N);
    for (int i = 0; i < N; i++) {
        y[i] = (int8_t)(i % 2);
        pat[i] = i / 2;
        good[i] = y[i] + 0.1 * noise[i]; /* AUC 1 */
    }
    DtclStatsTest t = {N, y, pat, N / 2};
    const double *g[1] = {good}, *z[1] = {noise};
    DtclStatsOptions o;
    dtcl_stats_options_default(&o);
    DtclPaired same, win, loss;
    assert_int_equal(dtcl_paired_auc(&t, 1, z, z, 1, &o, &same), 0);
    assert_int_equal(dtcl_paired_auc(&t, 1, g, z, 1, &o, &win), 0);
    assert_int_equal(dtcl_paired_auc(&t, 1, z, g, 1, &o, &loss), 0);
    printf("  same: %.3f [%.3f, %.3f]; win: %.3f [%.3f, %.3f]; loss: %.3f [%.3f, %.3f]\n", same.delta, same.lo, same.hi,
           win.delta, win.lo, win.hi, loss.delta, loss.lo, loss.hi);
    assert_true(same.delta == 0 && same.se == 0 && same.patients_needed == 0);
    assert_int_equal(dtcl_verdict(DTCL_CLAIM_BETTER, 0, same.lo, same.hi), DTCL_VERDICT_UNRESOLVED);
    assert_int_equal(dtcl_verdict(DTCL_CLAIM_EQUIVALENT, 0.03, same.lo, same.hi), DTCL_VERDICT_HOLDS);
    assert_int_equal(dtcl_verdict(DTCL_CLAIM_BETTER, 0, win.lo, win.hi), DTCL_VERDICT_HOLDS);
    assert_int_equal(dtcl_verdict(DTCL_CLAIM_BETTER, 0, loss.lo, loss.hi), DTCL_VERDICT_REVERSED);
    assert_int_equal(dtcl_verdict(DTCL_CLAIM_EQUIVALENT, 0.03, win.lo, win.hi), DTCL_VERDICT_REVERSED);
    assert_int_equal(dtcl_verdict(DTCL_CLAIM_EQUIVALENT, 0.03, -0.05, 0.01), DTCL_VERDICT_UNRESOLVED);
    assert_int_equal(dtcl_verdict(DTCL_CLAIM_BETTER, 0, NAN, NAN), DTCL_VERDICT_UNRESOLVED);
    /* a test set with one class only is left out; none with both: -1 */
    int8_t ones[N];
    for (int i = 0; i < N; i++)
        ones[i] = 1;
    DtclStatsTest bad = {N, ones, pat, N / 2};
    DtclPaired r;
    assert_int_equal(dtcl_paired_auc(&bad, 1, g, z, 1, &o, &r), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weighted_auc),
        cmocka_unit_test(test_bootstrap_matches_delong),
        cmocka_unit_test(test_patients_not_slices),
        cmocka_unit_test(test_more_patients_halve_se),
        cmocka_unit_test(test_repeats_and_definitions),
        cmocka_unit_test(test_coverage),
        cmocka_unit_test(test_verdicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
