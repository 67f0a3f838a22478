/* rng_quantile.h: the inverse of the standard normal distribution function
 * (rng.h), shared by rng.c and the CUDA noise (src/gpu/transform_gpu.cu) so
 * that both draw the noise field from one formula. */
#ifndef DTCL_RNG_QUANTILE_H
#define DTCL_RNG_QUANTILE_H

#include <math.h>

#include "base/hostdev.h"

/* Acklam's algorithm for the inverse of the standard normal distribution
 * function: rational approximations on the central region and on the two
 * tails, relative error below 1.15e-9, far below float32 resolution. */
DTCL_HD double dtcl_normal_quantile_hd(double u)
{
    const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                         1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
    const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                         6.680131188771972e+01, -1.328068155288572e+01};
    const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                         -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
    const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
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

#endif
