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
#include "transform/stages.h"

#include <math.h>

#include "transform/transform_pixel.h"

static void angle(const float *lambda, float *st, float *ct)
{
    double sd, cd;
    dtcl_sincos_turns_hd(lambda[6], &sd, &cd);
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
            DtclRotSample s = dtcl_rot_sample_hd(i, j, c, st, ct);
            float v[4];
            dtcl_rot_corners_hd(x, &s, S, v);
            y[q] = dtcl_rot_bilinear_hd(v, &s);
            if (ntan == 0)
                continue;
            float dv = dtcl_rot_dvalue_hd(v, &s);
            for (int t = 0; t < ntan; t++) {
                float tv = 0.0f;
                if (tx[t]) {
                    float w[4];
                    dtcl_rot_corners_hd(tx[t], &s, S, w);
                    tv = dtcl_rot_bilinear_hd(w, &s);
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
            DtclRotSample s = dtcl_rot_sample_hd(i, j, c, st, ct);
            if (dlambda) {
                float v[4];
                dtcl_rot_corners_hd(x, &s, S, v);
                acc += (double)g * dtcl_rot_dvalue_hd(v, &s);
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

/* Central differences in lambda6 of step h stay on one bilinear cell for
 * every pixel, at least `margin` from its edges: the sampler is smooth there. */
static int cell_same(double a, double b)
{
    return floor(a) == floor(b);
}

static double to_edge(double a)
{
    return fmin(a - floor(a), ceil(a) - a);
}

int dtcl_rotate_kink_free(const DtclTransform *t, const double *lambda, double h)
{
    int S = t->size;
    double c = 0.5 * (S - 1), margin = 1e-4, sn[3], cs[3];
    for (int k = 0; k < 3; k++)
        dtcl_sincos_turns(lambda[6] + (k - 1) * h, &sn[k], &cs[k]);
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            double ux = j - c, uy = i - c, px[3], py[3];
            for (int k = 0; k < 3; k++) {
                px[k] = c + cs[k] * ux - sn[k] * uy;
                py[k] = c + sn[k] * ux + cs[k] * uy;
            }
            if (ux == 0 && uy == 0)
                continue; /* the centre does not move */
            if (!cell_same(px[0], px[1]) || !cell_same(px[2], px[1]) || !cell_same(py[0], py[1]) ||
                !cell_same(py[2], py[1]) || to_edge(px[1]) < margin || to_edge(py[1]) < margin)
                return 0;
        }
    return 1;
}
