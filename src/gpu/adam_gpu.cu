/* adam_gpu.cu: one Adam step on the GPU (see adam_gpu.h; adam.c is its twin). */
#include <math.h>

#include "gpu/adam_gpu.h"
#include "gpu/launch_gpu.h"

__global__ static void adam(float *param, float *m, float *v, const float *grad, size_t n, float b1, float b2, float c1,
                            float c2, float eps, float step, float rbc2)
{
    DTCL_GPU_LOOP(i, n)
    {
        float g = grad[i];
        float mi = m[i] * b1 + g * c1;
        float vi = v[i] * b2 + c2 * g * g;
        m[i] = mi;
        v[i] = vi;
        param[i] -= step * (mi / (sqrtf(vi) / rbc2 + eps));
    }
}

extern "C" void dtcl_adam_step_gpu(const DtclAdam *a, float *param, float *m, float *v, const float *grad, size_t n,
                                   int64_t t)
{
    double bc1 = 1.0 - pow(a->beta1, (double)t), bc2 = 1.0 - pow(a->beta2, (double)t);
    float b1 = (float)a->beta1, b2 = (float)a->beta2, c1 = (float)(1.0 - a->beta1), c2 = (float)(1.0 - a->beta2);
    DTCL_LAUNCH(adam, dtcl_gpu_blocks(n), DTCL_GPU_THREADS, param, m, v, grad, n, b1, b2, c1, c2, (float)a->eps,
                (float)(a->lr / bc1), (float)sqrt(bc2));
}
