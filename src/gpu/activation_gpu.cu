/* activation_gpu.cu: ReLU and the logistic function on the GPU, the twins of
 * activation.c (see activation_gpu.h). */
#include "gpu/activation_gpu.h"
#include "gpu/launch_gpu.h"

__global__ static void relu_forward(float *y, const float *x, size_t n)
{
    DTCL_GPU_LOOP(i, n)
    y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

__global__ static void relu_backward(float *dx, const float *dy, const float *x, size_t n)
{
    /* forward: y = max(x, 0) */
    DTCL_GPU_LOOP(i, n)
    dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
}

/* dy = [y > 0] dy in place (y = relu(u)) */
__global__ static void relu_mask(float *dy, const float *y, size_t n)
{
    DTCL_GPU_LOOP(i, n)
    dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

__global__ static void logistic_forward(float *y, const float *x, size_t n)
{
    DTCL_GPU_LOOP(i, n)
    y[i] = 1.0f / (1.0f + expf(-x[i]));
}

__global__ static void logistic_backward(float *dx, const float *dy, const float *y, size_t n)
{
    /* forward: y = 1 / (1 + exp(-x)) */
    DTCL_GPU_LOOP(i, n)
    dx[i] += dy[i] * y[i] * (1.0f - y[i]);
}

extern "C" void dtcl_relu_forward_gpu(float *y, const float *x, size_t n)
{
    DTCL_LAUNCH(relu_forward, dtcl_gpu_blocks(n), DTCL_GPU_THREADS, y, x, n);
}

extern "C" void dtcl_relu_backward_gpu(float *dx, const float *dy, const float *x, size_t n)
{
    DTCL_LAUNCH(relu_backward, dtcl_gpu_blocks(n), DTCL_GPU_THREADS, dx, dy, x, n);
}

extern "C" void dtcl_relu_mask_gpu(float *dy, const float *y, size_t n)
{
    DTCL_LAUNCH(relu_mask, dtcl_gpu_blocks(n), DTCL_GPU_THREADS, dy, y, n);
}

extern "C" void dtcl_logistic_forward_gpu(float *y, const float *x, size_t n)
{
    DTCL_LAUNCH(logistic_forward, dtcl_gpu_blocks(n), DTCL_GPU_THREADS, y, x, n);
}

extern "C" void dtcl_logistic_backward_gpu(float *dx, const float *dy, const float *y, size_t n)
{
    DTCL_LAUNCH(logistic_backward, dtcl_gpu_blocks(n), DTCL_GPU_THREADS, dx, dy, y, n);
}
