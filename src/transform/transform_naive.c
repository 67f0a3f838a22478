/* transform_naive.c: T_Lambda in double, the plain way (see transform_naive.h).
 * Same formulas as SPEC section 2 and the fast path; different arithmetic:
 * double throughout and a direct separable convolution. */
#include "transform/transform_naive.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "transform/stages.h"

static void blur(double *y, const double *x, double sigma, int R, int S)
{
    size_t SS = (size_t)S * S;
    if (sigma == 0.0) {
        memcpy(y, x, sizeof(double) * SS);
        return;
    }
    double *g = DTCL_MALLOC(sizeof(double) * (2 * R + 1)), *tmp = DTCL_CALLOC(SS, sizeof(double));
    dtcl_blur_kernel(g, NULL, R, sigma);
    for (int i = 0; i < S; i++) /* along rows */
        for (int j = 0; j < S; j++) {
            double acc = 0;
            for (int t = -R; t <= R; t++)
                if (j - t >= 0 && j - t < S)
                    acc += g[t + R] * x[(size_t)i * S + (j - t)];
            tmp[(size_t)i * S + j] = acc;
        }
    for (int i = 0; i < S; i++) /* along columns */
        for (int j = 0; j < S; j++) {
            double acc = 0;
            for (int t = -R; t <= R; t++)
                if (i - t >= 0 && i - t < S)
                    acc += g[t + R] * tmp[(size_t)(i - t) * S + j];
            y[(size_t)i * S + j] = acc;
        }
    free(g);
    free(tmp);
}

static void crop(double *y, const double *x, double lx, double ly, double w, double a, int S)
{
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            double d = fmax(fabs(j - S * lx), fabs(i - S * ly));
            y[(size_t)i * S + j] = x[(size_t)i * S + j] / (1.0 + exp(-a * (w - d)));
        }
}

static void flip(double *y, const double *x, double l, int S, int axis)
{
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            double m = axis == 1 ? x[(size_t)i * S + (S - 1 - j)] : x[(size_t)(S - 1 - i) * S + j];
            y[(size_t)i * S + j] = (1.0 - l) * x[(size_t)i * S + j] + l * m;
        }
}

static double pixel(const double *x, long r, long c, int S)
{
    return (r >= 0 && r < S && c >= 0 && c < S) ? x[(size_t)r * S + c] : 0.0;
}

static void rotate(double *y, const double *x, double l, int S)
{
    double s, c0, c = 0.5 * (S - 1);
    dtcl_sincos_turns(l, &s, &c0);
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            double ux = j - c, uy = i - c;
            double px = c + c0 * ux - s * uy, py = c + s * ux + c0 * uy;
            double fx0 = floor(px), fy0 = floor(py), fx = px - fx0, fy = py - fy0;
            long ix = (long)fx0, iy = (long)fy0;
            y[(size_t)i * S + j] = (1 - fy) * ((1 - fx) * pixel(x, iy, ix, S) + fx * pixel(x, iy, ix + 1, S)) +
                                   fy * ((1 - fx) * pixel(x, iy + 1, ix, S) + fx * pixel(x, iy + 1, ix + 1, S));
        }
}

/* ---- each stage, as the table (stages.h) calls it */

void dtcl_blur_naive(double *y, const double *x, const double *lambda, const float *z, const DtclTransform *t)
{
    blur(y, x, (double)t->p.sigma_max * lambda[0], dtcl_blur_radius(t->p.sigma_max), t->size);
}

void dtcl_noise_naive(double *y, const double *x, const double *lambda, const float *z, const DtclTransform *t)
{
    for (size_t q = 0; q < (size_t)t->size * t->size; q++)
        y[q] = x[q] + (double)t->p.noise_scale * lambda[1] * z[q];
}

void dtcl_crop_naive(double *y, const double *x, const double *lambda, const float *z, const DtclTransform *t)
{
    crop(y, x, lambda[2], lambda[3], t->p.crop_half_width, t->p.crop_sharpness, t->size);
}

void dtcl_hflip_naive(double *y, const double *x, const double *lambda, const float *z, const DtclTransform *t)
{
    flip(y, x, lambda[4], t->size, 1);
}

void dtcl_vflip_naive(double *y, const double *x, const double *lambda, const float *z, const DtclTransform *t)
{
    flip(y, x, lambda[5], t->size, 0);
}

void dtcl_rotate_naive(double *y, const double *x, const double *lambda, const float *z, const DtclTransform *t)
{
    rotate(y, x, lambda[6], t->size);
}

void dtcl_transform_naive(const DtclTransform *t, double *y, const double *x, const double *lambda,
                          const float *z)
{
    int S = t->size;
    size_t SS = (size_t)S * S;
    double *a = DTCL_MALLOC(sizeof(double) * SS), *b = DTCL_MALLOC(sizeof(double) * SS);
    memcpy(a, x, sizeof(double) * SS);
    for (int s = 0; s < t->nsteps; s++) {
        dtcl_stages[t->order[s]].naive(b, a, lambda, z, t);
        double *tmp = a;
        a = b;
        b = tmp;
    }
    memcpy(y, a, sizeof(double) * SS);
    free(a);
    free(b);
}
