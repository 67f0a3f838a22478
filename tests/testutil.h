/* testutil.h: helpers shared by the cmocka tests: paths from the test
 * environment, and numeric comparisons that print the worst mismatch. */
#ifndef DTCL_TESTUTIL_H
#define DTCL_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $DTCL_SRCDIR (set by `make check'), else "." */
static inline const char *test_srcdir(void)
{
    const char *s = getenv("DTCL_SRCDIR");
    return s && *s ? s : ".";
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

/* Index of the first differing float, or -1 when bitwise equal. */
static inline long test_first_diff(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
            return (long)i;
    return -1;
}

#endif
