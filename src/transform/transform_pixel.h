/* transform_pixel.h: the per-pixel formulas of the transformations, shared
 * by the CPU steps (transform_<name>.c) and their CUDA twins
 * (src/gpu/transform_gpu.cu), so that both evaluate the same expressions in
 * the same order. The derivations are in the step files. */
#ifndef DTCL_TRANSFORM_PIXEL_H
#define DTCL_TRANSFORM_PIXEL_H

#include <math.h>

#include "base/hostdev.h"
#include "transform/transform.h"

/* ---- blur: the normalised sampled Gaussian g (|t| <= R) and dg/dsigma */
DTCL_HD void dtcl_blur_kernel_hd(double *g, double *dg, int R, double sigma)
{
    /* g(t) = e(t)/Z, e(t) = exp(-t^2/2 sigma^2); dg/dsigma = g(t) (t^2 - m2) / sigma^3,
     * m2 = sum_s g(s) s^2 (the quotient rule on e/Z). */
    double z = 0, m2 = 0;
    for (int t = -R; t <= R; t++) {
        double e = exp(-(double)t * t / (2.0 * sigma * sigma));
        g[t + R] = e;
        z += e;
    }
    for (int t = -R; t <= R; t++) {
        g[t + R] /= z;
        m2 += g[t + R] * t * t;
    }
    if (dg)
        for (int t = -R; t <= R; t++)
            dg[t + R] = g[t + R] * ((double)t * t - m2) / (sigma * sigma * sigma);
}

/* ---- crop: the mask m and its derivatives with respect to lambda2, lambda3 at (i,j) */
DTCL_HD void dtcl_crop_mask_hd(int i, int j, float cx, float cy, float w, float a, float S, float *m, float *dm2,
                               float *dm3)
{
    float ux = (float)j - cx, uy = (float)i - cy;
    float ax = fabsf(ux), ay = fabsf(uy);
    float d = ax >= ay ? ax : ay;
    float mv = 1.0f / (1.0f + expf(-a * (w - d)));
    float slope = a * mv * (1.0f - mv) * S; /* dm/dd = -a m (1-m); dd/dc = -sgn(u); dc/dlambda = S */
    float sx = ux > 0 ? 1.0f : ux < 0 ? -1.0f : 0.0f;
    float sy = uy > 0 ? 1.0f : uy < 0 ? -1.0f : 0.0f;
    *m = mv;
    *dm2 = ax >= ay ? slope * sx : 0.0f;
    *dm3 = ax >= ay ? 0.0f : slope * sy;
}

/* ---- rotation: the angle 2 pi t as (sin, cos), exact at quarter turns */
DTCL_HD void dtcl_sincos_turns_hd(double t, double *s, double *c)
{
    /* reduce to a quarter turn so that multiples of 1/4 are exact */
    double r = t - floor(t);
    double q4 = floor(4.0 * r);
    double a = (4.0 * r - q4) * (DTCL_PI / 2.0);
    double s0 = sin(a), c0 = cos(a);
    switch ((int)q4 & 3) {
    case 0: *s = s0; *c = c0; break;
    case 1: *s = c0; *c = -s0; break;
    case 2: *s = -s0; *c = -c0; break;
    default: *s = -c0; *c = s0; break;
    }
}

/* Where output pixel (i,j) samples: the cell corner and the position inside it. */
typedef struct {
    int ix, iy;      /* cell corner (column, row) */
    float fx, fy;    /* position inside the cell */
    float dpx, dpy;  /* dp/dtheta */
} DtclRotSample;

DTCL_HD DtclRotSample dtcl_rot_sample_hd(int i, int j, float c, float st, float ct)
{
    DtclRotSample s;
    float ux = (float)j - c, uy = (float)i - c;
    float px = c + (ct * ux - st * uy);
    float py = c + (st * ux + ct * uy);
    float x0 = floorf(px), y0 = floorf(py);
    s.ix = (int)x0;
    s.iy = (int)y0;
    s.fx = px - x0;
    s.fy = py - y0;
    s.dpx = -st * ux - ct * uy;
    s.dpy = ct * ux - st * uy;
    return s;
}

DTCL_HD float dtcl_rot_at_hd(const float *x, int r, int col, int S)
{
    return (r >= 0 && r < S && col >= 0 && col < S) ? x[(size_t)r * S + col] : 0.0f;
}

/* The four neighbours X00 X01 X10 X11 (row, column offsets). */
DTCL_HD void dtcl_rot_corners_hd(const float *x, const DtclRotSample *s, int S, float v[4])
{
    if (s->ix >= 0 && s->iy >= 0 && s->ix + 1 < S && s->iy + 1 < S) {
        const float *p = x + (size_t)s->iy * S + s->ix;
        v[0] = p[0];
        v[1] = p[1];
        v[2] = p[S];
        v[3] = p[S + 1];
    } else {
        v[0] = dtcl_rot_at_hd(x, s->iy, s->ix, S);
        v[1] = dtcl_rot_at_hd(x, s->iy, s->ix + 1, S);
        v[2] = dtcl_rot_at_hd(x, s->iy + 1, s->ix, S);
        v[3] = dtcl_rot_at_hd(x, s->iy + 1, s->ix + 1, S);
    }
}

DTCL_HD float dtcl_rot_bilinear_hd(const float v[4], const DtclRotSample *s)
{
    return (1.0f - s->fy) * ((1.0f - s->fx) * v[0] + s->fx * v[1]) +
           s->fy * ((1.0f - s->fx) * v[2] + s->fx * v[3]);
}

/* dV/dlambda6 at the sample. */
DTCL_HD float dtcl_rot_dvalue_hd(const float v[4], const DtclRotSample *s)
{
    float dvx = (1.0f - s->fy) * (v[1] - v[0]) + s->fy * (v[3] - v[2]);
    float dvy = (1.0f - s->fx) * (v[2] - v[0]) + s->fx * (v[3] - v[1]);
    return (float)(2.0 * DTCL_PI) * (dvx * s->dpx + dvy * s->dpy);
}

/* The bilinear weight with which output sample s reads input pixel (r, col):
 * (1-fy)(1-fx), (1-fy)fx, fy(1-fx), fy fx for the four corners, 0 elsewhere. */
DTCL_HD float dtcl_rot_weight_hd(const DtclRotSample *s, int r, int col)
{
    float wy = r == s->iy ? 1.0f - s->fy : r == s->iy + 1 ? s->fy : 0.0f;
    float wx = col == s->ix ? 1.0f - s->fx : col == s->ix + 1 ? s->fx : 0.0f;
    return wy * wx;
}

#endif
