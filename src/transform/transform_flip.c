/* transform_flip.c: the soft flips (paper Table 1; SPEC section 2)
 *   Flip(X, lambda, e)(x) = (1 - lambda) X(x) + lambda X(mirror_e(x)),
 * hflip (lambda4) mirrors columns, j -> S-1-j; vflip (lambda5) mirrors rows.
 *   dFlip/dX v = (1 - lambda) v + lambda mirror(v)  (its own transpose),
 *   dFlip/dlambda = mirror(X) - X. */
#include "transform/stages.h"

static inline size_t mirror(int i, int j, int S, int axis)
{
    return axis == 1 ? (size_t)i * S + (S - 1 - j) : (size_t)(S - 1 - i) * S + j;
}

void dtcl_flip_forward(float *y, float *const *ty, const float *x, const float *const *tx,
                       const float *lambda, const float *tlambda, int ntan, int S, int axis)
{
    int k = axis == 1 ? 4 : 5;
    float l = lambda[k], r = 1.0f - l;
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            size_t q = (size_t)i * S + j, mq = mirror(i, j, S, axis);
            y[q] = r * x[q] + l * x[mq];
            for (int t = 0; t < ntan; t++) {
                float v = tx[t] ? r * tx[t][q] + l * tx[t][mq] : 0.0f;
                ty[t][q] = v + tlambda[t * DTCL_NLAMBDA + k] * (x[mq] - x[q]);
            }
        }
}

void dtcl_flip_backward(float *dx, double *dlambda, const float *dy, const float *x,
                        const float *lambda, int S, int axis)
{
    /* forward: y[q] = (1 - l) x[q] + l x[mirror(q)] */
    int k = axis == 1 ? 4 : 5;
    float l = lambda[k], r = 1.0f - l;
    double acc = 0;
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            size_t q = (size_t)i * S + j, mq = mirror(i, j, S, axis);
            if (dx)
                dx[q] += r * dy[q] + l * dy[mq];
            acc += (double)dy[q] * (x[mq] - x[q]);
        }
    if (dlambda)
        dlambda[k] += acc;
}
