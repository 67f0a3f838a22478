/* conv_gpu.cu: convolution on the GPU by batched im2col and cuBLAS, the twin
 * of conv.c (see conv_gpu.h). Row-major matrices are handed to cuBLAS as
 * their column-major transposes: Y_b = W col_b becomes Y_b^T = col_b^T W^T. */
#include "gpu/blas_gpu.h"
#include "gpu/conv_gpu.h"
#include "gpu/launch_gpu.h"

#define THREADS DTCL_GPU_THREADS

struct Geo {
    int B, C, O, H, W, k, p, st, Ho, Wo;
    size_t HW, K, xs, ys;
};

static Geo geometry(const DtclConvShape *s)
{
    Geo g;
    g.B = s->B;
    g.C = s->C;
    g.O = s->O;
    g.H = s->H;
    g.W = s->W;
    g.k = s->k;
    g.p = (s->k - 1) / 2;
    g.st = s->stride > 1 ? s->stride : 1;
    g.Ho = (s->H - 1) / g.st + 1;
    g.Wo = (s->W - 1) / g.st + 1;
    g.HW = (size_t)g.Ho * g.Wo;
    g.K = (size_t)s->C * s->k * s->k;
    g.xs = s->xstride ? s->xstride : (size_t)s->C * s->H * s->W;
    g.ys = s->ystride ? s->ystride : (size_t)s->O * g.HW;
    return g;
}

/* 1x1 at stride 1: the image itself is its columns */
static int direct(const Geo &g)
{
    return g.k == 1 && g.st == 1;
}

__global__ static void im2col(float *col, const float *x, Geo g)
{
    size_t n = (size_t)g.B * g.K * g.HW;
    DTCL_GPU_LOOP(e, n)
    {
        size_t b = e / (g.K * g.HW), r = e / g.HW % g.K, q = e % g.HW;
        int c = (int)(r / (g.k * g.k)), u = (int)(r / g.k % g.k), v = (int)(r % g.k);
        int si = g.st * (int)(q / g.Wo) + u - g.p, sj = g.st * (int)(q % g.Wo) + v - g.p;
        col[e] = si < 0 || si >= g.H || sj < 0 || sj >= g.W ? 0.0f : x[b * g.xs + ((size_t)c * g.H + si) * g.W + sj];
    }
}

/* dx[b, c, si, sj] += the columns' entries that im2col took from it */
__global__ static void col2im(float *dx, const float *col, Geo g)
{
    size_t n = (size_t)g.B * g.C * g.H * g.W;
    DTCL_GPU_LOOP(e, n)
    {
        size_t b = e / ((size_t)g.C * g.H * g.W);
        int c = (int)(e / ((size_t)g.H * g.W) % g.C), si = (int)(e / g.W % g.H), sj = (int)(e % g.W);
        const float *cb = col + b * g.K * g.HW;
        float t = 0;
        for (int u = 0; u < g.k; u++) {
            int ni = si + g.p - u; /* = st i */
            if (ni < 0 || ni % g.st || ni / g.st >= g.Ho)
                continue;
            for (int v = 0; v < g.k; v++) {
                int nj = sj + g.p - v;
                if (nj < 0 || nj % g.st || nj / g.st >= g.Wo)
                    continue;
                t += cb[((size_t)(c * g.k + u) * g.k + v) * g.HW + (size_t)(ni / g.st) * g.Wo + nj / g.st];
            }
        }
        dx[b * g.xs + (size_t)c * g.H * g.W + (size_t)si * g.W + sj] += t;
    }
}

__global__ static void fill_bias(float *y, const float *bias, Geo g)
{
    size_t n = (size_t)g.B * g.O * g.HW;
    DTCL_GPU_LOOP(e, n)
    {
        size_t b = e / (g.O * g.HW), o = e / g.HW % g.O;
        y[b * g.ys + o * g.HW + e % g.HW] = bias ? bias[o] : 0.0f;
    }
}

/* dbias[o] += sum over images and pixels of dy, in double, one block per o, a fixed tree */
__global__ static void bias_grad(float *dbias, const float *dy, Geo g)
{
    __shared__ double sh[THREADS];
    int o = blockIdx.x;
    size_t N = (size_t)g.B * g.HW;
    double s = 0;
    for (size_t e = threadIdx.x; e < N; e += THREADS)
        s += dy[(e / g.HW) * g.ys + (size_t)o * g.HW + e % g.HW];
    double t = dtcl_gpu_block_sum(s, sh);
    if (threadIdx.x == 0)
        dbias[o] += (float)t;
}

extern "C" size_t dtcl_conv2d_work_size_gpu(const DtclConvShape *s)
{
    Geo g = geometry(s);
    return direct(g) ? 0 : (size_t)g.B * g.K * g.HW;
}

/* x's columns: x itself (1x1, stride 1) with its image stride, or built in work */
static const float *columns(const float *x, const Geo &g, float *work, long long *stride)
{
    if (direct(g)) {
        *stride = (long long)g.xs;
        return x;
    }
    DTCL_LAUNCH(im2col, dtcl_gpu_blocks((size_t)g.B * g.K * g.HW), DTCL_GPU_THREADS, work, x, g);
    *stride = (long long)(g.K * g.HW);
    return work;
}

extern "C" void dtcl_conv2d_forward_gpu(float *y, const float *x, const float *weight, const float *bias,
                                        const DtclConvShape *s, float *work)
{
    Geo g = geometry(s);
    long long cs;
    const float *col = columns(x, g, work, &cs);
    float one = 1.0f, beta = 0.0f;
    if (bias) {
        DTCL_LAUNCH(fill_bias, dtcl_gpu_blocks((size_t)g.B * g.O * g.HW), DTCL_GPU_THREADS, y, bias, g);
        beta = 1.0f;
    }
    /* Y_b^T (HW x O) = col_b^T (HW x K) W^T (K x O) */
    DTCL_CUBLAS(cublasSgemmStridedBatched(dtcl_gpu_blas(), CUBLAS_OP_N, CUBLAS_OP_N, (int)g.HW, g.O, (int)g.K, &one,
                                          col, (int)g.HW, cs, weight, (int)g.K, 0, &beta, y, (int)g.HW, (long long)g.ys,
                                          g.B));
}

/* dx += W^T dy_b for every image */
static void backward_data(float *dx, const float *dy, const float *weight, const Geo &g, float *work)
{
    float one = 1.0f, zero = 0.0f;
    if (direct(g)) { /* dx_b^T (HW x C) += dy_b^T (HW x O) W (O x C) */
        DTCL_CUBLAS(cublasSgemmStridedBatched(dtcl_gpu_blas(), CUBLAS_OP_N, CUBLAS_OP_T, (int)g.HW, g.C, g.O, &one, dy,
                                              (int)g.HW, (long long)g.ys, weight, (int)g.K, 0, &one, dx, (int)g.HW,
                                              (long long)g.xs, g.B));
        return;
    }
    /* dcol_b^T (HW x K) = dy_b^T (HW x O) W (O x K), then gathered into dx */
    DTCL_CUBLAS(cublasSgemmStridedBatched(dtcl_gpu_blas(), CUBLAS_OP_N, CUBLAS_OP_T, (int)g.HW, (int)g.K, g.O, &one, dy,
                                          (int)g.HW, (long long)g.ys, weight, (int)g.K, 0, &zero, work, (int)g.HW,
                                          (long long)(g.K * g.HW), g.B));
    DTCL_LAUNCH(col2im, dtcl_gpu_blocks((size_t)g.B * g.C * g.H * g.W), DTCL_GPU_THREADS, dx, work, g);
}

extern "C" void dtcl_conv2d_backward_gpu(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                                         const float *weight, const DtclConvShape *s, float *work)
{
    Geo g = geometry(s);
    long long cs;
    const float *col = columns(x, g, work, &cs);
    float one = 1.0f;
    /* dW^T (K x O) += col_b (K x HW) dy_b^T (HW x O), image by image in order */
    for (int b = 0; b < g.B; b++)
        DTCL_CUBLAS(cublasSgemm(dtcl_gpu_blas(), CUBLAS_OP_T, CUBLAS_OP_N, (int)g.K, g.O, (int)g.HW, &one, col + b * cs,
                                (int)g.HW, dy + b * g.ys, (int)g.HW, &one, dweight, (int)g.K));
    if (dbias)
        DTCL_LAUNCH(bias_grad, g.O, THREADS, dbias, dy, g);
    if (dx)
        backward_data(dx, dy, weight, g, work); /* the columns of x are no longer needed */
}

extern "C" void dtcl_conv2d_backward_data_gpu(float *dx, const float *dy, const float *weight, const DtclConvShape *s,
                                              float *work)
{
    backward_data(dx, dy, weight, geometry(s), work);
}
