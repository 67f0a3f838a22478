/* adam.c: one Adam step (see adam.h). The bias corrections are computed in
 * double, as PyTorch does in Python, and applied in float32. */
#include "nn/adam.h"

#include <math.h>

void dtcl_adam_default(DtclAdam *a, double lr)
{
    a->lr = lr;
    a->beta1 = 0.9;
    a->beta2 = 0.999;
    a->eps = 1e-8;
}

void dtcl_adam_step(const DtclAdam *a, float *param, float *m, float *v, const float *grad, size_t n, int64_t t)
{
    double bc1 = 1.0 - pow(a->beta1, (double)t), bc2 = 1.0 - pow(a->beta2, (double)t);
    /* scalars rounded to float once, from double, as PyTorch passes them to its kernels */
    float b1 = (float)a->beta1, b2 = (float)a->beta2, c1 = (float)(1.0 - a->beta1), c2 = (float)(1.0 - a->beta2);
    float eps = (float)a->eps;
    float step = (float)(a->lr / bc1), rbc2 = (float)sqrt(bc2);
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        m[i] = m[i] * b1 + g * c1;
        v[i] = v[i] * b2 + c2 * g * g;
        param[i] -= step * (m[i] / (sqrtf(v[i]) / rbc2 + eps));
    }
}
