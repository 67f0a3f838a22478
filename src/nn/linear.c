/* linear.c: nn.Linear forward and backward with sgemm (see linear.h). */
#include "nn/linear.h"

#include <cblas.h>

void dtcl_linear_forward(float *y, const float *x, const float *weight, const float *bias, int B, int nin, int nout)
{
    for (int b = 0; b < B; b++)
        for (int o = 0; o < nout; o++)
            y[(long)b * nout + o] = bias ? bias[o] : 0.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, nout, nin, 1.0f, x, nin, weight, nin, 1.0f, y, nout);
}

void dtcl_linear_backward(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                          const float *weight, int B, int nin, int nout)
{
    /* forward: y = x W^T + b */
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, nin, nout, 1.0f, dy, nout, weight, nin, 1.0f, dx, nin);
    if (dweight)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, B, 1.0f, dy, nout, x, nin, 1.0f, dweight, nin);
    if (dbias)
        for (int o = 0; o < nout; o++) {
            double s = 0;
            for (int b = 0; b < B; b++)
                s += dy[(long)b * nout + o];
            dbias[o] += (float)s;
        }
}
