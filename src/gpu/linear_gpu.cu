/* linear_gpu.cu: nn.Linear on the GPU, the twin of linear.c (see
 * linear_gpu.h). Row-major matrices go to cuBLAS as their column-major
 * transposes: y = x W^T + b is y^T = W x^T. */
#include "gpu/blas_gpu.h"
#include "gpu/launch_gpu.h"
#include "gpu/linear_gpu.h"

__global__ static void fill_bias(float *y, const float *bias, int B, int nout)
{
    DTCL_GPU_LOOP(e, (size_t)B * nout)
    y[e] = bias[e % nout];
}

__global__ static void bias_grad(float *dbias, const float *dy, int B, int nout)
{
    DTCL_GPU_LOOP(o, (size_t)nout)
    {
        double s = 0;
        for (int b = 0; b < B; b++)
            s += dy[(size_t)b * nout + o];
        dbias[o] += (float)s;
    }
}

extern "C" void dtcl_linear_forward_gpu(float *y, const float *x, const float *weight, const float *bias, int B,
                                        int nin, int nout)
{
    float one = 1.0f, beta = 0.0f;
    if (bias) {
        DTCL_LAUNCH(fill_bias, dtcl_gpu_blocks((size_t)B * nout), DTCL_GPU_THREADS, y, bias, B, nout);
        beta = 1.0f;
    }
    /* y^T (nout x B) = W (nout x nin) x^T (nin x B) */
    DTCL_CUBLAS(cublasSgemm(dtcl_gpu_blas(), CUBLAS_OP_T, CUBLAS_OP_N, nout, B, nin, &one, weight, nin, x, nin, &beta,
                            y, nout));
}

extern "C" void dtcl_linear_backward_gpu(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                                         const float *weight, int B, int nin, int nout)
{
    /* forward: y = x W^T + b */
    float one = 1.0f;
    if (dx) /* dx^T (nin x B) += W^T (nin x nout) dy^T (nout x B) */
        DTCL_CUBLAS(cublasSgemm(dtcl_gpu_blas(), CUBLAS_OP_N, CUBLAS_OP_N, nin, B, nout, &one, weight, nin, dy, nout,
                                &one, dx, nin));
    if (dweight) /* dW^T (nin x nout) += x^T (nin x B) dy (B x nout) */
        DTCL_CUBLAS(cublasSgemm(dtcl_gpu_blas(), CUBLAS_OP_N, CUBLAS_OP_T, nin, nout, B, &one, x, nin, dy, nout, &one,
                                dweight, nin));
    if (dbias)
        DTCL_LAUNCH(bias_grad, dtcl_gpu_blocks((size_t)nout), DTCL_GPU_THREADS, dbias, dy, B, nout);
}
