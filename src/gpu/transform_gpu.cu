/* transform_gpu.cu: T_Lambda and its vector-Jacobian product on the GPU, the
 * twin of transform.c and transform_<name>.c (see transform_gpu.h).
 *
 * Each step runs over the whole batch: image i of a batch argument starts at
 * p + i * stride (the saved buffers interleave the steps per image, as on the
 * CPU); gradients and noise fields are (n,S,S). Per-pixel kernels take one
 * thread per pixel; the kernels that also sum over an image (dlambda) take
 * one block per image and sum in double through a fixed tree. */
#include <cuda_runtime.h>
#include <cufft.h>
#include <string.h>

#include <Random123/philox.h>
#include <Random123/u01fixedpt.h>

#include "gpu/launch_gpu.h"
#include "gpu/memory_gpu.h"
#include "base/rng.h"
#include "base/rng_quantile.h"
#include "gpu/transform_gpu.h"
#include "transform/transform_pixel.h"
#include "transform/stages.h"

#define THREADS DTCL_GPU_THREADS
#define NL DTCL_NLAMBDA
#define BLUR_MAX_R 64 /* sigma_max <= 10 gives R <= 60 */

/* ---------------------------------------------------------------- noise */

/* z for image i: element k of the Philox stream (seed, noise, epoch, step,
 * item[i]) as a standard normal, as dtcl_rng_normal draws it. */
__global__ static void noise_field(float *z, size_t zs, uint64_t seed, uint32_t epoch, uint32_t step,
                                   const uint32_t *item, int n, size_t SS)
{
    size_t nb = (SS + 3) / 4;
    DTCL_GPU_LOOP(e, (size_t)n * nb)
    {
        size_t i = e / nb;
        uint32_t b = (uint32_t)(e % nb);
        philox4x32_ctr_t c = {
            {b, item ? item[i] : (uint32_t)i, step, ((uint32_t)DTCL_RNG_NOISE << 24) | (epoch & 0xffffffu)}};
        philox4x32_key_t k = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
        philox4x32_ctr_t r = philox4x32(c, k);
        for (int w = 0; w < 4 && (size_t)b * 4 + w < SS; w++)
            z[i * zs + (size_t)b * 4 + w] = (float)dtcl_normal_quantile_hd(u01fixedpt_open_open_32_double(r.v[w]));
    }
}

__global__ static void noise_forward(float *y, size_t ys, const float *x, size_t xs, const float *z, size_t zs,
                                     const float *lambda, float scale, int n, size_t SS)
{
    DTCL_GPU_LOOP(e, (size_t)n * SS)
    {
        size_t i = e / SS, q = e % SS;
        float a = scale * lambda[i * NL + 1];
        y[i * ys + q] = x[i * xs + q] + a * z[i * zs + q];
    }
}

/* forward: y = x + scale lambda1 z */
__global__ static void noise_backward(float *dx, double *dl, const float *dy, const float *z, size_t zs, float scale,
                                      size_t SS)
{
    __shared__ double sh[THREADS];
    size_t i = blockIdx.x;
    double acc = 0;
    for (size_t q = threadIdx.x; q < SS; q += THREADS) {
        float g = dy[i * SS + q];
        if (dx)
            dx[i * SS + q] += g;
        acc += (double)g * z[i * zs + q];
    }
    double t = dtcl_gpu_block_sum(acc, sh);
    if (dl && threadIdx.x == 0)
        dl[i * NL + 1] += scale * t;
}

/* ---------------------------------------------------------------- crop */

__global__ static void crop_forward(float *y, size_t ys, const float *x, size_t xs, const float *lambda, float w,
                                    float a, int n, int S)
{
    size_t SS = (size_t)S * S;
    DTCL_GPU_LOOP(e, (size_t)n * SS)
    {
        size_t i = e / SS, q = e % SS;
        float fS = (float)S, cx = fS * lambda[i * NL + 2], cy = fS * lambda[i * NL + 3];
        float m, dm2, dm3;
        dtcl_crop_mask_hd((int)(q / S), (int)(q % S), cx, cy, w, a, fS, &m, &dm2, &dm3);
        y[i * ys + q] = x[i * xs + q] * m;
    }
}

/* forward: y = x m */
__global__ static void crop_backward(float *dx, double *dl, const float *dy, const float *x, size_t xs,
                                     const float *lambda, float w, float a, int S)
{
    __shared__ double sh[THREADS];
    size_t i = blockIdx.x, SS = (size_t)S * S;
    float fS = (float)S, cx = fS * lambda[i * NL + 2], cy = fS * lambda[i * NL + 3];
    double acc2 = 0, acc3 = 0;
    for (size_t q = threadIdx.x; q < SS; q += THREADS) {
        float m, dm2, dm3, g = dy[i * SS + q], xv = x[i * xs + q];
        dtcl_crop_mask_hd((int)(q / S), (int)(q % S), cx, cy, w, a, fS, &m, &dm2, &dm3);
        if (dx)
            dx[i * SS + q] += g * m;
        acc2 += (double)g * xv * dm2;
        acc3 += (double)g * xv * dm3;
    }
    double t2 = dtcl_gpu_block_sum(acc2, sh), t3 = dtcl_gpu_block_sum(acc3, sh);
    if (dl && threadIdx.x == 0) {
        dl[i * NL + 2] += t2;
        dl[i * NL + 3] += t3;
    }
}

/* ---------------------------------------------------------------- flips */

__device__ static size_t mirror(size_t q, int S, int axis)
{
    int i = (int)(q / S), j = (int)(q % S);
    return axis == 1 ? (size_t)i * S + (S - 1 - j) : (size_t)(S - 1 - i) * S + j;
}

__global__ static void flip_forward(float *y, size_t ys, const float *x, size_t xs, const float *lambda, int n, int S,
                                    int axis)
{
    size_t SS = (size_t)S * S;
    DTCL_GPU_LOOP(e, (size_t)n * SS)
    {
        size_t i = e / SS, q = e % SS, mq = mirror(q, S, axis);
        float l = lambda[i * NL + (axis == 1 ? 4 : 5)], r = 1.0f - l;
        y[i * ys + q] = r * x[i * xs + q] + l * x[i * xs + mq];
    }
}

/* forward: y[q] = (1 - l) x[q] + l x[mirror(q)] */
__global__ static void flip_backward(float *dx, double *dl, const float *dy, const float *x, size_t xs,
                                     const float *lambda, int S, int axis)
{
    __shared__ double sh[THREADS];
    size_t i = blockIdx.x, SS = (size_t)S * S;
    int k = axis == 1 ? 4 : 5;
    float l = lambda[i * NL + k], r = 1.0f - l;
    const float *g = dy + i * SS, *xi = x + i * xs;
    double acc = 0;
    for (size_t q = threadIdx.x; q < SS; q += THREADS) {
        size_t mq = mirror(q, S, axis);
        if (dx)
            dx[i * SS + q] += r * g[q] + l * g[mq];
        acc += (double)g[q] * (xi[mq] - xi[q]);
    }
    double t = dtcl_gpu_block_sum(acc, sh);
    if (dl && threadIdx.x == 0)
        dl[i * NL + k] += t;
}

/* ---------------------------------------------------------------- rotation */

__device__ static void angle(const float *lambda, float *st, float *ct)
{
    double sd, cd;
    dtcl_sincos_turns_hd(lambda[6], &sd, &cd);
    *st = (float)sd;
    *ct = (float)cd;
}

__global__ static void rotate_forward(float *y, size_t ys, const float *x, size_t xs, const float *lambda, int n, int S)
{
    size_t SS = (size_t)S * S;
    float c = 0.5f * (float)(S - 1);
    DTCL_GPU_LOOP(e, (size_t)n * SS)
    {
        size_t i = e / SS, q = e % SS;
        float st, ct, v[4];
        angle(lambda + i * NL, &st, &ct);
        DtclRotSample s = dtcl_rot_sample_hd((int)(q / S), (int)(q % S), c, st, ct);
        dtcl_rot_corners_hd(x + i * xs, &s, S, v);
        y[i * ys + q] = dtcl_rot_bilinear_hd(v, &s);
    }
}

/* dlambda6 += <dR/dlambda6, dy>, one block per image */
__global__ static void rotate_dlambda(double *dl, const float *dy, const float *x, size_t xs, const float *lambda,
                                      int S)
{
    __shared__ double sh[THREADS];
    size_t i = blockIdx.x, SS = (size_t)S * S;
    float st, ct, c = 0.5f * (float)(S - 1);
    angle(lambda + i * NL, &st, &ct);
    double acc = 0;
    for (size_t q = threadIdx.x; q < SS; q += THREADS) {
        float v[4];
        DtclRotSample s = dtcl_rot_sample_hd((int)(q / S), (int)(q % S), c, st, ct);
        dtcl_rot_corners_hd(x + i * xs, &s, S, v);
        acc += (double)dy[i * SS + q] * dtcl_rot_dvalue_hd(v, &s);
    }
    double t = dtcl_gpu_block_sum(acc, sh);
    if (threadIdx.x == 0)
        dl[i * NL + 6] += t;
}

/* dx += J_x^T dy by gathering: input pixel (r, col) collects the output
 * pixels whose sample cell has it as a corner. Their samples p lie within 1 of
 * (col, r) in each coordinate, so the pixels lie within sqrt(2) of the
 * inverse rotation of (col, r): a 6 x 6 window holds them all. They are
 * visited in increasing output index, the order in which the CPU scatters. */
__global__ static void rotate_dx(float *dx, const float *dy, const float *lambda, int n, int S)
{
    size_t SS = (size_t)S * S;
    float c = 0.5f * (float)(S - 1);
    DTCL_GPU_LOOP(e, (size_t)n * SS)
    {
        size_t i = e / SS, q = e % SS;
        int r = (int)(q / S), col = (int)(q % S);
        float st, ct;
        angle(lambda + i * NL, &st, &ct);
        float ux = (float)col - c, uy = (float)r - c;
        int j0 = (int)floorf(c + (ct * ux + st * uy)) - 2, i0 = (int)floorf(c + (-st * ux + ct * uy)) - 2;
        const float *g = dy + i * SS;
        float acc = dx[i * SS + q];
        for (int oi = max(i0, 0); oi <= min(i0 + 5, S - 1); oi++)
            for (int oj = max(j0, 0); oj <= min(j0 + 5, S - 1); oj++) {
                DtclRotSample s = dtcl_rot_sample_hd(oi, oj, c, st, ct);
                float w = dtcl_rot_weight_hd(&s, r, col);
                if (w != 0.0f)
                    acc += w * g[(size_t)oi * S + oj];
            }
        dx[i * SS + q] = acc;
    }
}

/* ---------------------------------------------------------------- blur */

/* G(m) and dG/dsigma(m) per image: the real DFT of the symmetric kernel. */
__global__ static void blur_spectrum(double *G, double *dG, const float *lambda, float smax, int R, int L, int n)
{
    DTCL_GPU_LOOP(e, (size_t)n * L)
    {
        size_t i = e / L;
        int m = (int)(e % L);
        double sigma = (double)(smax * lambda[i * NL + 0]);
        if (sigma == 0.0) { /* the identity: not filtered */
            G[e] = 1.0;
            dG[e] = 0.0;
            continue;
        }
        double g[2 * BLUR_MAX_R + 1], dg[2 * BLUR_MAX_R + 1];
        dtcl_blur_kernel_hd(g, dg, R, sigma);
        double a = g[R], b = dg[R];
        for (int t = 1; t <= R; t++) {
            double cs = cos(2.0 * DTCL_PI * (double)((long)m * t % L) / L);
            a += 2.0 * g[R + t] * cs;
            b += 2.0 * dg[R + t] * cs;
        }
        G[e] = a;
        dG[e] = b;
    }
}

/* (L,L) slices <- (S,S) images, zeros around */
__global__ static void blur_pad(float *real, const float *x, size_t xs, int n, int S, int L)
{
    size_t LL = (size_t)L * L;
    DTCL_GPU_LOOP(e, (size_t)n * LL)
    {
        size_t i = e / LL;
        int r = (int)(e / L % L), c = (int)(e % L);
        real[e] = r < S && c < S ? x[i * xs + (size_t)r * S + c] : 0.0f;
    }
}

/* out = a G(m1) G(m2) / L^2, per image */
__global__ static void blur_filter(float *out, const float *a, const double *G, int L, int nc, int n)
{
    size_t per = (size_t)L * nc;
    double inv = 1.0 / ((double)L * L);
    DTCL_GPU_LOOP(e, (size_t)n * per)
    {
        size_t i = e / per;
        int m1 = (int)(e / nc % L), m2 = (int)(e % nc);
        float kf = (float)(G[i * L + m1] * G[i * L + m2] * inv);
        out[2 * e] = a[2 * e] * kf;
        out[2 * e + 1] = a[2 * e + 1] * kf;
    }
}

/* y (=, or += when accumulate) the cropped slice, or x itself where sigma = 0 */
__global__ static void blur_out(float *y, size_t ys, const float *real, const float *x, size_t xs, const float *lambda,
                                float smax, int n, int S, int L, int accumulate)
{
    size_t SS = (size_t)S * S;
    DTCL_GPU_LOOP(e, (size_t)n * SS)
    {
        size_t i = e / SS, q = e % SS;
        double sigma = (double)(smax * lambda[i * NL + 0]);
        float v = sigma == 0.0 ? x[i * xs + q] : real[((size_t)i * L + q / S) * L + q % S];
        if (accumulate)
            y[i * ys + q] += v;
        else
            y[i * ys + q] = v;
    }
}

/* dlambda0 += sigma_max <dB/dsigma x, dy> by Parseval on the half spectra
 * (A: dy's, X: x's), one block per image */
__global__ static void blur_dsigma(double *dl, const float *A, const float *X, const double *G, const double *dG,
                                   const float *lambda, float smax, int L, int nc)
{
    __shared__ double sh[THREADS];
    size_t i = blockIdx.x, per = (size_t)L * nc;
    if ((double)(smax * lambda[i * NL + 0]) == 0.0)
        return; /* the whole block: d/dsigma = 0 at sigma = 0 */
    const float *a = A + 2 * i * per, *x = X + 2 * i * per;
    const double *Gi = G + i * L, *dGi = dG + i * L;
    double acc = 0;
    for (size_t e = threadIdx.x; e < per; e += THREADS) {
        int m1 = (int)(e / nc), m2 = (int)(e % nc);
        double w = (m2 == 0 || 2 * m2 == L) ? 1.0 : 2.0;
        double kd = dGi[m1] * Gi[m2] + Gi[m1] * dGi[m2];
        acc += w * kd * ((double)x[2 * e] * a[2 * e] + (double)x[2 * e + 1] * a[2 * e + 1]);
    }
    double t = dtcl_gpu_block_sum(acc, sh);
    if (threadIdx.x == 0)
        dl[i * NL + 0] += (double)smax * t / ((double)L * L);
}

static void blur_forward(DtclTransformGpu *g, float *y, size_t ys, const float *x, size_t xs, const float *lambda,
                         int n)
{
    int S = g->t->size, L = g->L, nc = L / 2 + 1;
    float smax = g->t->p.sigma_max;
    DTCL_LAUNCH(blur_spectrum, dtcl_gpu_blocks((size_t)n * L), THREADS, g->G, g->dG, lambda, smax, g->R, L, n);
    DTCL_LAUNCH(blur_pad, dtcl_gpu_blocks((size_t)n * L * L), THREADS, g->real, x, xs, n, S, L);
    DTCL_CUFFT(cufftExecR2C(g->fft[DTCL_FFT_FWD], g->real, (cufftComplex *)g->spec_a));
    DTCL_LAUNCH(blur_filter, dtcl_gpu_blocks((size_t)n * L * nc), THREADS, g->spec_b, g->spec_a, g->G, L, nc, n);
    DTCL_CUFFT(cufftExecC2R(g->fft[DTCL_FFT_INV], (cufftComplex *)g->spec_b, g->real));
    DTCL_LAUNCH(blur_out, dtcl_gpu_blocks((size_t)n * S * S), THREADS, y, ys, g->real, x, xs, lambda, smax, n, S, L, 0);
}

static void blur_backward(DtclTransformGpu *g, float *dx, double *dl, const float *dy, const float *x, size_t xs,
                          const float *lambda, int n)
{
    int S = g->t->size, L = g->L, nc = L / 2 + 1;
    size_t SS = (size_t)S * S, LL = (size_t)L * L, per = (size_t)L * nc;
    float smax = g->t->p.sigma_max;
    DTCL_LAUNCH(blur_spectrum, dtcl_gpu_blocks((size_t)n * L), THREADS, g->G, g->dG, lambda, smax, g->R, L, n);
    /* slices 0.. hold dy; slices nmax.. hold x when dsigma is wanted */
    DTCL_LAUNCH(blur_pad, dtcl_gpu_blocks((size_t)n * LL), THREADS, g->real, dy, SS, n, S, L);
    if (dl) {
        DTCL_LAUNCH(blur_pad, dtcl_gpu_blocks((size_t)n * LL), THREADS, g->real + (size_t)g->nmax * LL, x, xs, n, S, L);
        DTCL_CUFFT(cufftExecR2C(g->fft[DTCL_FFT_TWO], g->real, (cufftComplex *)g->spec_a));
        DTCL_LAUNCH(blur_dsigma, n, THREADS, dl, g->spec_a, g->spec_a + 2 * (size_t)g->nmax * per, g->G, g->dG, lambda,
                    smax, L, nc);
    } else {
        DTCL_CUFFT(cufftExecR2C(g->fft[DTCL_FFT_FWD], g->real, (cufftComplex *)g->spec_a));
    }
    if (dx) { /* dx += B_sigma^T dy = B_sigma dy */
        DTCL_LAUNCH(blur_filter, dtcl_gpu_blocks((size_t)n * per), THREADS, g->spec_b, g->spec_a, g->G, L, nc, n);
        DTCL_CUFFT(cufftExecC2R(g->fft[DTCL_FFT_INV], (cufftComplex *)g->spec_b, g->real));
        DTCL_LAUNCH(blur_out, dtcl_gpu_blocks((size_t)n * SS), THREADS, dx, SS, g->real, dy, SS, lambda, smax, n, S, L,
                    1);
    }
}

/* ---------------------------------------------------------------- composition */

static int has_noise(const DtclTransform *t)
{
    for (int s = 0; s < t->nsteps; s++)
        if (t->order[s] == DTCL_STAGE_NOISE)
            return 1;
    return 0;
}

extern "C" int dtcl_transform_gpu_init(DtclTransformGpu *g, const DtclTransform *t, int nmax, DtclError *err)
{
    memset(g, 0, sizeof *g);
    g->t = t;
    g->nmax = nmax;
    size_t NS = (size_t)nmax * t->size * t->size;
    for (int k = 0; k < 2; k++)
        if (dtcl_gpu_alloc((void **)&g->val[k], NS * sizeof(float), err) != 0 ||
            dtcl_gpu_alloc((void **)&g->grad[k], NS * sizeof(float), err) != 0)
            goto fail;
    if (dtcl_gpu_alloc((void **)&g->z, NS * sizeof(float), err) != 0 ||
        dtcl_gpu_alloc((void **)&g->dl, (size_t)nmax * NL * sizeof(double), err) != 0 ||
        dtcl_gpu_alloc((void **)&g->item, (size_t)nmax * sizeof(uint32_t), err) != 0)
        goto fail;
    if (t->blur) {
        int L, R;
        dtcl_blur_plan_size(t->blur, &L, &R);
        size_t LL = (size_t)L * L, per = (size_t)L * (L / 2 + 1);
        if (dtcl_gpu_alloc((void **)&g->real, 2 * nmax * LL * sizeof(float), err) != 0 ||
            dtcl_gpu_alloc((void **)&g->spec_a, 2 * nmax * per * sizeof(cufftComplex), err) != 0 ||
            dtcl_gpu_alloc((void **)&g->spec_b, nmax * per * sizeof(cufftComplex), err) != 0 ||
            dtcl_gpu_alloc((void **)&g->G, (size_t)nmax * L * sizeof(double), err) != 0 ||
            dtcl_gpu_alloc((void **)&g->dG, (size_t)nmax * L * sizeof(double), err) != 0)
            goto fail;
        int dims[2] = {L, L}, batch[DTCL_FFT_PLANS] = {nmax, 2 * nmax, nmax};
        cufftType type[DTCL_FFT_PLANS] = {CUFFT_R2C, CUFFT_R2C, CUFFT_C2R};
        for (; g->nfft < DTCL_FFT_PLANS; g->nfft++)
            if (DTCL_CUFFT(cufftPlanMany(&g->fft[g->nfft], 2, dims, NULL, 1, 0, NULL, 1, 0, type[g->nfft],
                                         batch[g->nfft])) != 0) {
                char buf[512];
                dtcl_fail(err, "cuFFT could not plan %d transforms of %dx%d: %s", batch[g->nfft], L, L,
                          dtcl_gpu_take_failure(buf, sizeof buf));
                goto fail;
            }
        g->L = L;
        g->R = R;
    }
    return 0;
fail:
    dtcl_transform_gpu_free(g);
    return -1;
}

extern "C" void dtcl_transform_gpu_free(DtclTransformGpu *g)
{
    for (int k = 0; k < g->nfft; k++)
        DTCL_CUFFT(cufftDestroy(g->fft[k]));
    float *f[] = {g->val[0], g->val[1], g->grad[0], g->grad[1], g->z, g->real, g->spec_a, g->spec_b};
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
        dtcl_gpu_free(f[k]);
    dtcl_gpu_free(g->G);
    dtcl_gpu_free(g->dG);
    dtcl_gpu_free(g->dl);
    dtcl_gpu_free(g->item);
    memset(g, 0, sizeof *g);
}

/* ---------------------------------------------------------------- the stages' table */

/* One stage over the batch: image i of x at x + i xs, of y at y + i ys, its
 * noise field at z + i zs; dy, dx (n,S,S); dl (n,7) in double. dx or dl may
 * be NULL in backward. */
struct StageArgs {
    DtclTransformGpu *g;
    float *y;
    size_t ys;
    const float *x;
    size_t xs;
    const float *z;
    size_t zs;
    const float *lambda;
    int n;
    float *dx;
    double *dl;
    const float *dy;
};

static unsigned pixel_blocks(const StageArgs &a)
{
    return dtcl_gpu_blocks((size_t)a.n * a.g->t->size * a.g->t->size);
}

static void blur_fwd(const StageArgs &a)
{
    blur_forward(a.g, a.y, a.ys, a.x, a.xs, a.lambda, a.n);
}

static void blur_bwd(const StageArgs &a)
{
    blur_backward(a.g, a.dx, a.dl, a.dy, a.x, a.xs, a.lambda, a.n);
}

static void noise_fwd(const StageArgs &a)
{
    const DtclTransform *t = a.g->t;
    DTCL_LAUNCH(noise_forward, pixel_blocks(a), THREADS, a.y, a.ys, a.x, a.xs, a.z, a.zs, a.lambda, t->p.noise_scale,
                a.n, (size_t)t->size * t->size);
}

static void noise_bwd(const StageArgs &a)
{
    const DtclTransform *t = a.g->t;
    DTCL_LAUNCH(noise_backward, a.n, THREADS, a.dx, a.dl, a.dy, a.z, a.zs, t->p.noise_scale,
                (size_t)t->size * t->size);
}

static void crop_fwd(const StageArgs &a)
{
    const DtclTransform *t = a.g->t;
    DTCL_LAUNCH(crop_forward, pixel_blocks(a), THREADS, a.y, a.ys, a.x, a.xs, a.lambda, t->p.crop_half_width,
                t->p.crop_sharpness, a.n, t->size);
}

static void crop_bwd(const StageArgs &a)
{
    const DtclTransform *t = a.g->t;
    DTCL_LAUNCH(crop_backward, a.n, THREADS, a.dx, a.dl, a.dy, a.x, a.xs, a.lambda, t->p.crop_half_width,
                t->p.crop_sharpness, t->size);
}

static void hflip_fwd(const StageArgs &a)
{
    DTCL_LAUNCH(flip_forward, pixel_blocks(a), THREADS, a.y, a.ys, a.x, a.xs, a.lambda, a.n, a.g->t->size, 1);
}

static void hflip_bwd(const StageArgs &a)
{
    DTCL_LAUNCH(flip_backward, a.n, THREADS, a.dx, a.dl, a.dy, a.x, a.xs, a.lambda, a.g->t->size, 1);
}

static void vflip_fwd(const StageArgs &a)
{
    DTCL_LAUNCH(flip_forward, pixel_blocks(a), THREADS, a.y, a.ys, a.x, a.xs, a.lambda, a.n, a.g->t->size, 0);
}

static void vflip_bwd(const StageArgs &a)
{
    DTCL_LAUNCH(flip_backward, a.n, THREADS, a.dx, a.dl, a.dy, a.x, a.xs, a.lambda, a.g->t->size, 0);
}

static void rotate_fwd(const StageArgs &a)
{
    DTCL_LAUNCH(rotate_forward, pixel_blocks(a), THREADS, a.y, a.ys, a.x, a.xs, a.lambda, a.n, a.g->t->size);
}

static void rotate_bwd(const StageArgs &a)
{
    if (a.dl)
        DTCL_LAUNCH(rotate_dlambda, a.n, THREADS, a.dl, a.dy, a.x, a.xs, a.lambda, a.g->t->size);
    if (a.dx)
        DTCL_LAUNCH(rotate_dx, pixel_blocks(a), THREADS, a.dx, a.dy, a.lambda, a.n, a.g->t->size);
}

/* The CUDA twins of stages.c's rows, in the same order (DtclStage). */
static const struct {
    void (*forward)(const StageArgs &a);
    void (*backward)(const StageArgs &a);
} twins[] = {{blur_fwd, blur_bwd},   {noise_fwd, noise_bwd},   {crop_fwd, crop_bwd},
             {hflip_fwd, hflip_bwd}, {vflip_fwd, vflip_bwd}, {rotate_fwd, rotate_bwd}};
static_assert(sizeof twins / sizeof twins[0] == DTCL_NSTAGES, "a CUDA twin for every stage of stages.c");

extern "C" void dtcl_transform_forward_gpu(DtclTransformGpu *g, float *y, float *saved, const float *x,
                                           const float *lambda, const DtclNoiseSource *ns, int n)
{
    const DtclTransform *t = g->t;
    size_t SS = (size_t)t->size * t->size, SV = dtcl_transform_saved_size(t);
    const float *z = NULL;
    size_t zs = SS;
    if (has_noise(t)) {
        float *zb = saved ? saved + (size_t)(t->nsteps - 1) * SS : g->z;
        zs = saved ? SV : SS;
        const uint32_t *item = NULL;
        if (ns && ns->item) {
            dtcl_gpu_upload(g->item, ns->item, sizeof(uint32_t) * n, NULL);
            item = g->item;
        }
        DTCL_LAUNCH(noise_field, dtcl_gpu_blocks((size_t)n * ((SS + 3) / 4)), THREADS, zb, zs, ns ? ns->seed : 0,
                    ns ? ns->epoch : 0, ns ? ns->step : 0, item, n, SS);
        z = zb;
    }
    const float *cur = x;
    size_t curs = SS;
    for (int s = 0; s < t->nsteps; s++) {
        int last = s == t->nsteps - 1;
        float *out = g->val[s % 2];
        size_t outs = SS;
        if (last && y)
            out = y;
        else if (saved && !last) {
            out = saved + (size_t)s * SS;
            outs = SV;
        }
        StageArgs a = {g, out, outs, cur, curs, z, zs, lambda, n, NULL, NULL, NULL};
        twins[t->order[s]].forward(a);
        cur = out;
        curs = outs;
    }
}

__global__ static void add_dlambda(float *dlambda, const double *dl, size_t n)
{
    DTCL_GPU_LOOP(i, n)
    dlambda[i] += (float)dl[i];
}

extern "C" void dtcl_transform_backward_gpu(DtclTransformGpu *g, float *dx, float *dlambda, const float *dy,
                                            const float *x, const float *lambda, const float *saved, int n)
{
    const DtclTransform *t = g->t;
    size_t SS = (size_t)t->size * t->size, SV = dtcl_transform_saved_size(t);
    const float *z = has_noise(t) ? saved + (size_t)(t->nsteps - 1) * SS : NULL;
    double *dl = dlambda ? g->dl : NULL;
    if (dl)
        DTCL_CUDA(cudaMemset(dl, 0, sizeof(double) * n * NL));
    float *gc = g->grad[0], *gn = g->grad[1];
    DTCL_CUDA(cudaMemcpy(gc, dy, sizeof(float) * n * SS, cudaMemcpyDeviceToDevice));
    for (int s = t->nsteps - 1; s >= 0; s--) {
        const float *in = s == 0 ? x : saved + (size_t)(s - 1) * SS;
        float *target = s == 0 ? dx : gn;
        if (s > 0)
            DTCL_CUDA(cudaMemset(gn, 0, sizeof(float) * n * SS));
        StageArgs a = {g, NULL, 0, in, s == 0 ? SS : SV, z, SV, lambda, n, target, dl, gc};
        twins[t->order[s]].backward(a);
        float *tmp = gc;
        gc = gn;
        gn = tmp;
    }
    if (dl)
        DTCL_LAUNCH(add_dlambda, dtcl_gpu_blocks((size_t)n * NL), THREADS, dlambda, dl, (size_t)n * NL);
}
