/* transform_crop.c: the soft crop (paper Table 1; SPEC section 2)
 *   Crop(X; lambda2, lambda3)(i,j) = X(i,j) m(i,j),
 *   m = S(a (w - d)),  d = max(|j - S lambda2|, |i - S lambda3|),
 * S the logistic function, w the half-width (S/8), a the sharpness. The
 * window is centred at column S lambda2, row S lambda3.
 *   dm/dlambda2 = a m (1 - m) S sgn(j - S lambda2)  where the column term is the max,
 *   dm/dlambda3 = a m (1 - m) S sgn(i - S lambda3)  where the row term is the max.
 * d is piecewise smooth: on a tie the column piece is used, and sgn(0) = 0
 * (the one-sided derivatives of the piece that holds the point). */
#include "transform/stages.h"

#include <math.h>

#include "transform/transform_pixel.h"

void dtcl_crop_forward(float *y, float *const *ty, const float *x, const float *const *tx,
                       const float *lambda, const float *tlambda, int ntan, int S,
                       const DtclTransformParams *p)
{
    float fS = (float)S, cx = fS * lambda[2], cy = fS * lambda[3];
    float w = p->crop_half_width, a = p->crop_sharpness;
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            size_t q = (size_t)i * S + j;
            float m, dm2, dm3;
            dtcl_crop_mask_hd(i, j, cx, cy, w, a, fS, &m, &dm2, &dm3);
            y[q] = x[q] * m;
            for (int t = 0; t < ntan; t++) {
                const float *tl = tlambda + t * DTCL_NLAMBDA;
                float v = tx[t] ? tx[t][q] * m : 0.0f;
                ty[t][q] = v + x[q] * (dm2 * tl[2] + dm3 * tl[3]);
            }
        }
}

void dtcl_crop_backward(float *dx, double *dlambda, const float *dy, const float *x,
                        const float *lambda, int S, const DtclTransformParams *p)
{
    /* forward: y[q] = x[q] * m */
    float fS = (float)S, cx = fS * lambda[2], cy = fS * lambda[3];
    float w = p->crop_half_width, a = p->crop_sharpness;
    double acc2 = 0, acc3 = 0;
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            size_t q = (size_t)i * S + j;
            float m, dm2, dm3;
            dtcl_crop_mask_hd(i, j, cx, cy, w, a, fS, &m, &dm2, &dm3);
            if (dx)
                dx[q] += dy[q] * m;
            acc2 += (double)dy[q] * x[q] * dm2;
            acc3 += (double)dy[q] * x[q] * dm3;
        }
    if (dlambda) {
        dlambda[2] += acc2;
        dlambda[3] += acc3;
    }
}

/* The max-norm's pieces meet on the window centre's row and column and on
 * its diagonals: differences of step h in lambda2, lambda3 cross none of
 * them at any pixel (margin 1e-4 pixel). */
int dtcl_crop_kink_free(const DtclTransform *t, const double *lambda, double h)
{
    int S = t->size;
    double d = S * h + 1e-4;
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            double ux = j - S * lambda[2], uy = i - S * lambda[3];
            if (fabs(ux) < d || fabs(uy) < d || fabs(fabs(ux) - fabs(uy)) < 2 * d)
                return 0;
        }
    return 1;
}
