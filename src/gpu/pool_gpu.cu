/* pool_gpu.cu: max-pooling and average pooling on the GPU, the twins of
 * pool.c (see pool_gpu.h). One thread per output element forward, one per
 * input element backward. */
#include "gpu/launch_gpu.h"
#include "gpu/pool_gpu.h"

/* The offset of image-channel bc's plane in a tensor whose images lie ys apart. */
__device__ static size_t plane(size_t bc, int C, size_t ys, size_t hw)
{
    return (bc / C) * ys + (bc % C) * hw;
}

__global__ static void maxpool2_forward(float *y, int32_t *argmax, const float *x, int B, int C, int H, int W)
{
    int Ho = H / 2, Wo = W / 2;
    size_t n = (size_t)B * C * Ho * Wo;
    DTCL_GPU_LOOP(o, n)
    {
        size_t bc = o / ((size_t)Ho * Wo);
        int q = (int)(o % ((size_t)Ho * Wo)), i = q / Wo, j = q % Wo;
        const float *p = x + bc * H * W;
        int best = (2 * i) * W + 2 * j;
        float m = p[best];
        for (int di = 0; di < 2; di++)
            for (int dj = 0; dj < 2; dj++) {
                int k = (2 * i + di) * W + 2 * j + dj;
                if (p[k] > m || p[k] != p[k]) {
                    m = p[k];
                    best = k;
                }
            }
        y[o] = m;
        argmax[o] = best;
    }
}

__global__ static void maxpool2_backward(float *dx, const float *dy, const int32_t *argmax, int B, int C, int H, int W)
{
    /* forward: y = x[argmax]; the 2x2 windows do not overlap */
    int Ho = H / 2, Wo = W / 2;
    size_t n = (size_t)B * C * Ho * Wo;
    DTCL_GPU_LOOP(o, n)
    {
        size_t bc = o / ((size_t)Ho * Wo);
        dx[bc * H * W + argmax[o]] += dy[o];
    }
}

__global__ static void maxpool3s2_forward(float *y, size_t ys, int32_t *argmax, const float *x, int B, int C, int H,
                                          int W)
{
    int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
    size_t n = (size_t)B * C * Ho * Wo;
    DTCL_GPU_LOOP(o, n)
    {
        size_t bc = o / ((size_t)Ho * Wo);
        int q = (int)(o % ((size_t)Ho * Wo)), i = q / Wo, j = q % Wo;
        const float *p = x + bc * H * W;
        int best = -1;
        float m = 0;
        for (int si = 2 * i - 1; si <= 2 * i + 1; si++)
            for (int sj = 2 * j - 1; sj <= 2 * j + 1; sj++) {
                if (si < 0 || si >= H || sj < 0 || sj >= W)
                    continue;
                int k = si * W + sj;
                if (best < 0 || p[k] > m || p[k] != p[k]) {
                    m = p[k];
                    best = k;
                }
            }
        y[plane(bc, C, ys, (size_t)Ho * Wo) + q] = m;
        argmax[o] = best;
    }
}

__global__ static void maxpool3s2_backward(float *dx, const float *dy, size_t ys, const int32_t *argmax, int B, int C,
                                           int H, int W)
{
    /* forward: y[o] = x[argmax[o]]; input (si, sj) lies in the windows i = ceil((si-1)/2) .. floor((si+1)/2) */
    int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
    size_t n = (size_t)B * C * H * W;
    DTCL_GPU_LOOP(e, n)
    {
        size_t bc = e / ((size_t)H * W);
        int k = (int)(e % ((size_t)H * W)), si = k / W, sj = k % W;
        const float *d = dy + plane(bc, C, ys, (size_t)Ho * Wo);
        const int32_t *a = argmax + bc * Ho * Wo;
        float g = 0;
        for (int i = si / 2; i <= (si + 1) / 2 && i < Ho; i++)
            for (int j = sj / 2; j <= (sj + 1) / 2 && j < Wo; j++)
                if (a[i * Wo + j] == k)
                    g += d[i * Wo + j];
        dx[e] += g;
    }
}

__global__ static void avgpool2_forward(float *y, size_t ys, const float *x, int B, int C, int H, int W)
{
    int Ho = H / 2, Wo = W / 2;
    size_t n = (size_t)B * C * Ho * Wo;
    DTCL_GPU_LOOP(o, n)
    {
        size_t bc = o / ((size_t)Ho * Wo);
        int q = (int)(o % ((size_t)Ho * Wo)), i = q / Wo, j = q % Wo;
        const float *a = x + bc * H * W + (size_t)(2 * i) * W + 2 * j;
        y[plane(bc, C, ys, (size_t)Ho * Wo) + q] = (a[0] + a[1] + a[W] + a[W + 1]) / 4.0f;
    }
}

__global__ static void avgpool2_backward(float *dx, const float *dy, size_t ys, int B, int C, int H, int W)
{
    /* forward: y = (x00 + x01 + x10 + x11) / 4; pixels past the last full window get nothing */
    int Ho = H / 2, Wo = W / 2;
    size_t n = (size_t)B * C * H * W;
    DTCL_GPU_LOOP(e, n)
    {
        size_t bc = e / ((size_t)H * W);
        int k = (int)(e % ((size_t)H * W)), i = k / W / 2, j = k % W / 2;
        if (i < Ho && j < Wo)
            dx[e] += dy[plane(bc, C, ys, (size_t)Ho * Wo) + i * Wo + j] / 4.0f;
    }
}

__global__ static void avgpool_forward(float *y, const float *x, int B, int C, int HW)
{
    size_t n = (size_t)B * C;
    DTCL_GPU_LOOP(bc, n)
    {
        double s = 0;
        for (int q = 0; q < HW; q++)
            s += x[bc * HW + q];
        y[bc] = (float)(s / HW);
    }
}

__global__ static void avgpool_backward(float *dx, const float *dy, int B, int C, int HW)
{
    /* forward: y = mean over HW */
    size_t n = (size_t)B * C * HW;
    DTCL_GPU_LOOP(e, n)
    dx[e] += dy[e / HW] / (float)HW;
}

static size_t dense(size_t ys, int C, int Ho, int Wo)
{
    return ys ? ys : (size_t)C * Ho * Wo;
}

extern "C" void dtcl_maxpool2_forward_gpu(float *y, int32_t *argmax, const float *x, int B, int C, int H, int W)
{
    DTCL_LAUNCH(maxpool2_forward, dtcl_gpu_blocks((size_t)B * C * (H / 2) * (W / 2)), DTCL_GPU_THREADS, y, argmax, x, B,
                C, H, W);
}

extern "C" void dtcl_maxpool2_backward_gpu(float *dx, const float *dy, const int32_t *argmax, int B, int C, int H,
                                           int W)
{
    DTCL_LAUNCH(maxpool2_backward, dtcl_gpu_blocks((size_t)B * C * (H / 2) * (W / 2)), DTCL_GPU_THREADS, dx, dy, argmax,
                B, C, H, W);
}

extern "C" void dtcl_maxpool3s2_forward_gpu(float *y, size_t ystride, int32_t *argmax, const float *x, int B, int C,
                                            int H, int W)
{
    int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
    DTCL_LAUNCH(maxpool3s2_forward, dtcl_gpu_blocks((size_t)B * C * Ho * Wo), DTCL_GPU_THREADS, y,
                dense(ystride, C, Ho, Wo), argmax, x, B, C, H, W);
}

extern "C" void dtcl_maxpool3s2_backward_gpu(float *dx, const float *dy, size_t ystride, const int32_t *argmax, int B,
                                             int C, int H, int W)
{
    int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
    DTCL_LAUNCH(maxpool3s2_backward, dtcl_gpu_blocks((size_t)B * C * H * W), DTCL_GPU_THREADS, dx, dy,
                dense(ystride, C, Ho, Wo), argmax, B, C, H, W);
}

extern "C" void dtcl_avgpool2_forward_gpu(float *y, size_t ystride, const float *x, int B, int C, int H, int W)
{
    DTCL_LAUNCH(avgpool2_forward, dtcl_gpu_blocks((size_t)B * C * (H / 2) * (W / 2)), DTCL_GPU_THREADS, y,
                dense(ystride, C, H / 2, W / 2), x, B, C, H, W);
}

extern "C" void dtcl_avgpool2_backward_gpu(float *dx, const float *dy, size_t ystride, int B, int C, int H, int W)
{
    DTCL_LAUNCH(avgpool2_backward, dtcl_gpu_blocks((size_t)B * C * H * W), DTCL_GPU_THREADS, dx, dy,
                dense(ystride, C, H / 2, W / 2), B, C, H, W);
}

extern "C" void dtcl_avgpool_forward_gpu(float *y, const float *x, int B, int C, int HW)
{
    DTCL_LAUNCH(avgpool_forward, dtcl_gpu_blocks((size_t)B * C), DTCL_GPU_THREADS, y, x, B, C, HW);
}

extern "C" void dtcl_avgpool_backward_gpu(float *dx, const float *dy, int B, int C, int HW)
{
    DTCL_LAUNCH(avgpool_backward, dtcl_gpu_blocks((size_t)B * C * HW), DTCL_GPU_THREADS, dx, dy, B, C, HW);
}
