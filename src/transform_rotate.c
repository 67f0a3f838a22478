/* transform_rotate.c: rotation about the image centre (paper Table 1; SPEC
 * section 2). theta = 2 pi lambda6, c = (S-1)/2, u = (j - c, i - c):
 *   R(X, lambda6)(i,j) = X sampled bilinearly at p = c + R(theta) u,
 *   p_x = c + cos(theta) u_x - sin(theta) u_y  (column),
 *   p_y = c + sin(theta) u_x + cos(theta) u_y  (row),
 * with zeros outside the image. theta = pi/2 gives numpy.rot90(X, 1).
 * The bilinear value V(p) is piecewise smooth: its derivative is taken on
 * the cell floor(p) that holds the point,
 *   dV/dp_x = (1 - f_y)(X01 - X00) + f_y (X11 - X10),
 *   dV/dp_y = (1 - f_x)(X10 - X00) + f_x (X11 - X01),
 *   dR/dlambda6 = 2 pi (dV/dp_x dp_x/dtheta + dV/dp_y dp_y/dtheta),
 *   dp_x/dtheta = -sin(theta) u_x - cos(theta) u_y,  dp_y/dtheta = cos(theta) u_x - sin(theta) u_y.
 * J_x is bilinear sampling (linear in X); J_x^T scatters with the same weights. */
#include "transform_steps.h"

#include <math.h>

typedef struct {
    int ix, iy;      /* cell corner (column, row) */
    float fx, fy;    /* position inside the cell */
    float dpx, dpy;  /* dp/dtheta */
} Sample;

static inline Sample sample_at(int i, int j, float c, float st, float ct)
{
    Sample s;
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

static inline float at(const float *x, int r, int col, int S)
{
    return (r >= 0 && r < S && col >= 0 && col < S) ? x[(size_t)r * S + col] : 0.0f;
}

/* The four neighbours X00 X01 X10 X11 (row, column offsets). */
static inline void corners(const float *x, const Sample *s, int S, float v[4])
{
    if (s->ix >= 0 && s->iy >= 0 && s->ix + 1 < S && s->iy + 1 < S) {
        const float *p = x + (size_t)s->iy * S + s->ix;
        v[0] = p[0];
        v[1] = p[1];
        v[2] = p[S];
        v[3] = p[S + 1];
    } else {
        v[0] = at(x, s->iy, s->ix, S);
        v[1] = at(x, s->iy, s->ix + 1, S);
        v[2] = at(x, s->iy + 1, s->ix, S);
        v[3] = at(x, s->iy + 1, s->ix + 1, S);
    }
}

static inline float bilinear(const float v[4], const Sample *s)
{
    return (1.0f - s->fy) * ((1.0f - s->fx) * v[0] + s->fx * v[1]) +
           s->fy * ((1.0f - s->fx) * v[2] + s->fx * v[3]);
}

/* dV/dlambda6 at the sample. */
static inline float dvalue(const float v[4], const Sample *s)
{
    float dvx = (1.0f - s->fy) * (v[1] - v[0]) + s->fy * (v[3] - v[2]);
    float dvy = (1.0f - s->fx) * (v[2] - v[0]) + s->fx * (v[3] - v[1]);
    return (float)(2.0 * DTCL_PI) * (dvx * s->dpx + dvy * s->dpy);
}

static void angle(const float *lambda, float *st, float *ct)
{
    double sd, cd;
    dtcl_sincos_turns(lambda[6], &sd, &cd);
    *st = (float)sd;
    *ct = (float)cd;
}

void dtcl_rotate_forward(float *y, float *const *ty, const float *x, const float *const *tx,
                         const float *lambda, const float *tlambda, int ntan, int S)
{
    float st, ct, c = 0.5f * (float)(S - 1);
    angle(lambda, &st, &ct);
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            size_t q = (size_t)i * S + j;
            Sample s = sample_at(i, j, c, st, ct);
            float v[4];
            corners(x, &s, S, v);
            y[q] = bilinear(v, &s);
            if (ntan == 0)
                continue;
            float dv = dvalue(v, &s);
            for (int t = 0; t < ntan; t++) {
                float tv = 0.0f;
                if (tx[t]) {
                    float w[4];
                    corners(tx[t], &s, S, w);
                    tv = bilinear(w, &s);
                }
                ty[t][q] = tv + dv * tlambda[t * DTCL_NLAMBDA + 6];
            }
        }
}

static inline void scatter(float *dx, int r, int col, int S, float g)
{
    if (r >= 0 && r < S && col >= 0 && col < S)
        dx[(size_t)r * S + col] += g;
}

void dtcl_rotate_backward(float *dx, double *dlambda, const float *dy, const float *x,
                          const float *lambda, int S)
{
    /* forward: y[q] = bilinear(x at p(q)) */
    float st, ct, c = 0.5f * (float)(S - 1);
    angle(lambda, &st, &ct);
    double acc = 0;
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            float g = dy[(size_t)i * S + j];
            Sample s = sample_at(i, j, c, st, ct);
            if (dlambda) {
                float v[4];
                corners(x, &s, S, v);
                acc += (double)g * dvalue(v, &s);
            }
            if (dx) {
                scatter(dx, s.iy, s.ix, S, (1.0f - s.fy) * (1.0f - s.fx) * g);
                scatter(dx, s.iy, s.ix + 1, S, (1.0f - s.fy) * s.fx * g);
                scatter(dx, s.iy + 1, s.ix, S, s.fy * (1.0f - s.fx) * g);
                scatter(dx, s.iy + 1, s.ix + 1, S, s.fy * s.fx * g);
            }
        }
    if (dlambda)
        dlambda[6] += acc;
}
