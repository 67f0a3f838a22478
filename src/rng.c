/* rng.c: Philox streams and the normal quantile (see rng.h). */
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <Random123/philox.h>
#include <Random123/u01fixedpt.h>

#include "error.h"

void dtcl_rng_block(const DtclStream *s, uint32_t block, uint32_t out[4])
{
    philox4x32_ctr_t c = {{block, s->item, s->step, (s->purpose << 24) | (s->epoch & 0xffffffu)}};
    philox4x32_key_t k = {{(uint32_t)s->seed, (uint32_t)(s->seed >> 32)}};
    philox4x32_ctr_t r = philox4x32(c, k);
    for (int i = 0; i < 4; i++)
        out[i] = r.v[i];
}

void dtcl_rng_uniform(const DtclStream *s, double *u, size_t n)
{
    uint32_t w[4];
    for (size_t b = 0; b * 4 < n; b++) {
        dtcl_rng_block(s, (uint32_t)b, w);
        for (size_t i = 0; i < 4 && b * 4 + i < n; i++)
            u[b * 4 + i] = u01fixedpt_open_open_32_double(w[i]);
    }
}

/* Acklam's algorithm for the inverse of the standard normal distribution
 * function: rational approximations on the central region and on the two
 * tails, relative error below 1.15e-9, far below float32 resolution. */
double dtcl_normal_quantile(double u)
{
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                6.680131188771972e+01, -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                3.754408661907416e+00};
    const double lo = 0.02425, hi = 1.0 - lo;
    if (u < lo) {
        double q = sqrt(-2.0 * log(u));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    }
    if (u > hi) {
        double q = sqrt(-2.0 * log1p(-u));
        return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    }
    double q = u - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
}

void dtcl_rng_normal(const DtclStream *s, float *z, size_t n)
{
    uint32_t w[4];
    for (size_t blk = 0; blk * 4 < n; blk++) {
        dtcl_rng_block(s, (uint32_t)blk, w);
        for (size_t i = 0; i < 4 && blk * 4 + i < n; i++)
            z[blk * 4 + i] = (float)dtcl_normal_quantile(u01fixedpt_open_open_32_double(w[i]));
    }
}

void dtcl_rng_uniform_range(const DtclStream *s, float *out, size_t n, float lo, float hi)
{
    double *u = DTCL_MALLOC(sizeof(double) * (n ? n : 1));
    dtcl_rng_uniform(s, u, n);
    for (size_t i = 0; i < n; i++)
        out[i] = lo + (hi - lo) * (float)u[i];
    free(u);
}
