/* activation.c: ReLU and the logistic function (see activation.h). */
#include "nn/activation.h"

#include <math.h>

void dtcl_relu_forward(float *y, const float *x, size_t n)
{
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void dtcl_relu_backward(float *dx, const float *dy, const float *x, size_t n)
{
    /* forward: y = max(x, 0) */
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++)
        dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
}

void dtcl_relu_mask(float *dy, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dy[i] = y[i] > 0 ? dy[i] : 0.0f;
}

void dtcl_logistic_forward(float *y, const float *x, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        y[i] = 1.0f / (1.0f + expf(-x[i]));
}

void dtcl_logistic_backward(float *dx, const float *dy, const float *y, size_t n)
{
    /* forward: y = 1 / (1 + exp(-x)) */
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++)
        dx[i] += dy[i] * y[i] * (1.0f - y[i]);
}
