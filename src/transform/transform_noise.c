/* transform_noise.c: additive Gaussian noise N(X, lambda1) = X + s lambda1 z
 * (paper Table 1; SPEC section 2), s = noise_scale (0.1). The field z is a
 * standard normal per pixel drawn from the image's Philox stream (rng.h);
 * transform.c draws it once per forward pass and saves it for backward.
 *   dN/dX = I,  dN/dlambda1 = s z. */
#include "transform/stages.h"

#include <string.h>

void dtcl_noise_forward(float *y, float *const *ty, const float *x, const float *const *tx,
                        const float *z, const float *lambda, const float *tlambda, int ntan, int S,
                        const DtclTransformParams *p)
{
    size_t SS = (size_t)S * S;
    float a = p->noise_scale * lambda[1];
    for (size_t q = 0; q < SS; q++)
        y[q] = x[q] + a * z[q];
    for (int t = 0; t < ntan; t++) {
        float da = p->noise_scale * tlambda[t * DTCL_NLAMBDA + 1];
        for (size_t q = 0; q < SS; q++)
            ty[t][q] = (tx[t] ? tx[t][q] : 0.0f) + da * z[q];
    }
}

void dtcl_noise_backward(float *dx, double *dlambda, const float *dy, const float *z,
                         const float *lambda, int S, const DtclTransformParams *p)
{
    /* forward: y = x + s lambda1 z */
    size_t SS = (size_t)S * S;
    if (dx)
        for (size_t q = 0; q < SS; q++)
            dx[q] += dy[q];
    if (dlambda) {
        double acc = 0;
        for (size_t q = 0; q < SS; q++)
            acc += (double)dy[q] * z[q];
        dlambda[1] += p->noise_scale * acc;
    }
}
