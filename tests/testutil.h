/* testutil.h: helpers shared by the cmocka tests: paths from the test
 * environment, random test arrays, and numeric comparisons that print the
 * worst mismatch. */
#ifndef DTCL_TESTUTIL_H
#define DTCL_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"

/* n floats (a new array, free()) uniform in [lo, hi) from the test stream
 * (seed, item): each test file picks its own seed. */
static inline float *test_uniform(uint64_t seed, uint32_t item, size_t n, float lo, float hi)
{
    float *a = malloc(sizeof(float) * (n ? n : 1));
    DtclStream st = {seed, DTCL_RNG_TEST, 0, 0, item};
    dtcl_rng_uniform_range(&st, a, n, lo, hi);
    return a;
}

/* $DTCL_SRCDIR (set by `make check'), else "." */
static inline const char *test_srcdir(void)
{
    const char *s = getenv("DTCL_SRCDIR");
    return s && *s ? s : ".";
}

/* A new folder /tmp/dtcl-test-NAME-XXXXXX into dir; 0 or -1. The tests
 * remove it with dtcl_remove_tree (dataset.h). Needs stdlib's mkdtemp. */
static inline int test_tmpdir(char *dir, size_t size, const char *name)
{
    snprintf(dir, size, "/tmp/dtcl-test-%s-XXXXXX", name);
    return mkdtemp(dir) ? 0 : -1;
}

/* ||a - b|| / ||b|| over n values; prints the worst element when above tol. */
static inline double test_rel_l2(const char *what, const float *a, const double *b, size_t n, double tol)
{
    double num = 0, den = 0, worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        double d = a[i] - b[i];
        num += d * d;
        den += b[i] * b[i];
        if (fabs(d) > worst) {
            worst = fabs(d);
            wi = i;
        }
    }
    double rel = sqrt(num / (den > 0 ? den : 1e-300));
    printf("  %-40s rel L2 %.3e (tolerance %.1e); worst |diff| %.3e at %zu (%.9g vs %.9g)\n", what, rel, tol, worst,
           wi, n ? a[wi] : 0.0, n ? b[wi] : 0.0);
    return rel;
}

/* Runs `DTCL ARGS` in the folder CWD with stderr captured into errbuf;
 * returns the exit status (128 + signal when killed). No sanitizer report
 * is ever acceptable. Needs cmocka.h and sys/wait.h. */
#ifdef WEXITSTATUS
static inline int test_run_dtcl(const char *cwd, const char *dtcl, char *errbuf, size_t errsize, const char *args)
{
    char cmd[8192], errpath[512];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", cwd);
    snprintf(cmd, sizeof cmd, "cd %s && '%s' %s >/dev/null 2>%s", cwd, dtcl, args, errpath);
    int st = system(cmd);
    FILE *f = fopen(errpath, "r");
    size_t n = f ? fread(errbuf, 1, errsize - 1, f) : 0;
    if (f)
        fclose(f);
    errbuf[n] = 0;
    assert_null(strstr(errbuf, "Sanitizer"));
    assert_null(strstr(errbuf, "runtime error"));
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
#endif

/* The text file PATH into buf (NUL-terminated, at most size - 1 bytes);
 * fails the current test when it cannot be opened. Needs cmocka.h. */
#define TEST_READ_TEXT(path, buf, size) test_read_text_at((path), (buf), (size), __FILE__, __LINE__)
#ifdef cmocka_unit_test
static inline size_t test_read_text_at(const char *path, char *buf, size_t size, const char *file, int line)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        _fail(file, line);
    }
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = 0;
    return n;
}
#endif

/* Index of the first differing float, or -1 when bitwise equal. */
static inline long test_first_diff(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
            return (long)i;
    return -1;
}

/* DIR/SUB/NAME.npy as float32 (npy.h), which must hold `expect` values;
 * fails the current cmocka test otherwise. Needs npy.h and cmocka.h. */
/* got against a float reference: relative L2 within tol (worst element
 * printed), or the current test fails. */
#define TEST_CHECK_CLOSE(what, got, ref, n, tol) test_check_close_at((what), (got), (ref), (n), (tol), __FILE__, __LINE__)
static inline void test_check_close_at(const char *what, const float *got, const float *ref, size_t n, double tol,
                                       const char *file, int line)
{
    double *r = malloc(sizeof(double) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        r[i] = ref[i];
    double e = test_rel_l2(what, got, r, n, tol);
    free(r);
    if (!(e <= tol))
        _fail(file, line);
}

#define TEST_LOAD_NPY(dir, sub, name, expect) test_load_npy_at((dir), (sub), (name), (expect), __FILE__, __LINE__)
#ifdef DTCL_NPY_H
static inline float *test_load_npy_at(const char *dir, const char *sub, const char *name, size_t expect,
                                      const char *file, int line)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s/%s.npy", dir, sub, name);
    float *d;
    DtclNpyInfo info;
    DtclError err;
    if (dtcl_npy_load(path, &d, &info, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        _fail(file, line);
    }
    if (info.count != expect) {
        fprintf(stderr, "%s: %zu values, expected %zu\n", path, info.count, expect);
        _fail(file, line);
    }
    return d;
}

/* The golden DIR/SUB/NAME.npy against `got` (n values): relative L2 within
 * tol, the worst element printed; fails the current test otherwise. */
#define TEST_CHECK_GOLDEN(dir, what, got, sub, name, n, tol) \
    test_check_golden_at((dir), (what), (got), (sub), (name), (n), (tol), __FILE__, __LINE__)
static inline double test_check_golden_at(const char *dir, const char *what, const float *got, const char *sub,
                                          const char *name, size_t n, double tol, const char *file, int line)
{
    float *ref = test_load_npy_at(dir, sub, name, n, file, line);
    double *r = malloc(sizeof(double) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        r[i] = ref[i];
    double e = test_rel_l2(what, got, r, n, tol);
    free(ref);
    free(r);
    if (!(e <= tol))
        _fail(file, line);
    return e;
}
#endif

#ifdef DTCL_TRANSFORM_H
/* T with default parameters for images S x S and an order such as "blur,rotate". */
static inline DtclTransform test_make_transform(int S, const char *order)
{
    DtclTransform t;
    DtclTransformParams p;
    DtclStage o[DTCL_NSTAGES];
    int n;
    DtclError err;
    dtcl_transform_params_default(&p);
    assert_int_equal(dtcl_transform_parse_order(order, o, &n, &err), 0);
    assert_int_equal(dtcl_transform_init(&t, S, o, n, &p, &err), 0);
    return t;
}
#endif

#ifdef DTCL_GRADCHECK_H
/* Runs a gradcheck family over seeds 1..nseeds; asserts that no row fails
 * and prints the worst error. */
static inline void test_gradcheck_seeds(int (*family)(DtclCheckTable *, const DtclGradcheckConfig *, DtclError *),
                                        const char *what, int nseeds, double tol)
{
    DtclGradcheckConfig cfg;
    dtcl_gradcheck_config_default(&cfg);
    DtclCheckTable tab = {0};
    DtclError err;
    for (int seed = 1; seed <= nseeds; seed++) {
        cfg.seed = (uint64_t)seed;
        assert_int_equal(family(&tab, &cfg, &err), 0);
    }
    double worst = 0;
    for (int i = 0; i < tab.n; i++)
        worst = fmax(worst, tab.rows[i].err);
    printf("  %d %s checks over %d seeds, %d failed, worst relative error %.2e (tolerance %.0e)\n", tab.n, what,
           nseeds, dtcl_check_failures(&tab), worst, tol);
    assert_int_equal(dtcl_check_failures(&tab), 0);
    dtcl_check_free(&tab);
}
#endif

#endif
