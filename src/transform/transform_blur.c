/* transform_blur.c: Gaussian blur G(X, lambda0) = g_sigma * X, sigma =
 * sigma_max lambda0 (paper Table 1; SPEC section 2), and its derivatives.
 *
 * Discretisation. The kernel is the sampled Gaussian truncated at
 * R = ceil(6 sigma_max) and normalised to sum 1:
 *   g(t) = exp(-t^2 / 2 sigma^2) / sum_{|s| <= R} exp(-s^2 / 2 sigma^2),  |t| <= R,
 * applied separably along rows and columns as a linear convolution with
 * zeros outside the image. At t = R the Gaussian is below exp(-18) = 1.5e-8
 * of its peak, under float32 resolution. dg/dsigma is the exact derivative of
 * this g, so dT/dlambda0 is exact for the discretisation. sigma = 0 is the
 * identity, bit for bit, and its derivative there is 0.
 *
 * Computation. Each image is zero-padded to L x L, L >= S + R (L a product of
 * 2, 3, 5, 7), so the circular convolution of the FFT equals the linear one
 * on the S x S output: no wrap-around at all. The kernel's DFT is real,
 * G(m) = g(0) + 2 sum_t g(t) cos(2 pi m t / L), and separable: the 2-D filter
 * is G(m1) G(m2). An image's value and its live tangents form a stack of
 * slices that one batched FFTW plan transforms in a single call: plans for 1
 * to 8 slices each way are made once, with FFTW_ESTIMATE (deterministic), and
 * executed through the new-array interface by every thread on its own
 * workspace.
 *
 * The operator B_sigma (pad, convolve, crop) is symmetric, so J_x^T = B_sigma;
 * <dB/dsigma x, dy> is evaluated by Parseval on the half spectrum of the r2c
 * transform. A direct (double, spatial) convolution stays beside this one in
 * transform_naive.c, and the tests hold one against the other.
 */
#include "transform/stages.h"
#include "transform/transform_pixel.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the most slices one call transforms: the value and DTCL_NLAMBDA tangents */
#define BLUR_MAX_SLICES (1 + DTCL_NLAMBDA)

struct DtclBlurPlan {
    int S, L, nc, R; /* image size, padded size, L/2+1 columns of the spectrum, kernel radius */
    float sigma_max;
    fftwf_plan r2c[BLUR_MAX_SLICES + 1], c2r[BLUR_MAX_SLICES + 1]; /* [k]: k slices at once */
    double *cosine; /* (L, R+1): cos(2 pi m t / L) */
    /* workspace layout, in floats, each part 64-byte aligned: real (slices,L,L),
     * spectra A and B (slices,L,nc) complex, G and dG (L) double */
    size_t real_dist, cplx_dist; /* floats between slices */
    size_t off_real, off_a, off_b, off_g, off_dg, ws_size;
};

int dtcl_blur_radius(float sigma_max)
{
    int r = (int)ceil(6.0 * sigma_max);
    return r < 1 ? 1 : r;
}

static int good_fft_size(int n)
{
    for (;; n++) {
        int m = n;
        for (int f = 2; f <= 7; f++)
            while (m % f == 0)
                m /= f;
        if (m == 1 && n % 2 == 0)
            return n;
    }
}

static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

DtclBlurPlan *dtcl_blur_plan_create(int S, float sigma_max)
{
    DtclBlurPlan *bp = DTCL_CALLOC(1, sizeof *bp);
    bp->S = S;
    bp->R = dtcl_blur_radius(sigma_max);
    bp->L = good_fft_size(S + bp->R);
    bp->nc = bp->L / 2 + 1;
    bp->sigma_max = sigma_max;
    int L = bp->L, nc = bp->nc, R = bp->R;

    bp->real_dist = (size_t)L * L;     /* L even: slices stay 16-byte aligned */
    bp->cplx_dist = (size_t)2 * L * nc;
    bp->off_real = 0;
    bp->off_a = round16(BLUR_MAX_SLICES * bp->real_dist);
    bp->off_b = bp->off_a + round16(BLUR_MAX_SLICES * bp->cplx_dist);
    bp->off_g = bp->off_b + round16(BLUR_MAX_SLICES * bp->cplx_dist);
    bp->off_dg = bp->off_g + round16((size_t)2 * L); /* L doubles */
    bp->ws_size = bp->off_dg + round16((size_t)2 * L);

    /* FFTW's planner is not thread-safe: all plans are made here, once */
    float *ws = DTCL_ALIGNED(bp->ws_size * sizeof(float));
    int n[2] = {L, L};
    for (int k = 1; k <= BLUR_MAX_SLICES; k++) {
        bp->r2c[k] = fftwf_plan_many_dft_r2c(2, n, k, ws + bp->off_real, NULL, 1, (int)bp->real_dist,
                                             (fftwf_complex *)(ws + bp->off_a), NULL, 1, (int)(bp->cplx_dist / 2),
                                             FFTW_ESTIMATE);
        bp->c2r[k] = fftwf_plan_many_dft_c2r(2, n, k, (fftwf_complex *)(ws + bp->off_b), NULL, 1,
                                             (int)(bp->cplx_dist / 2), ws + bp->off_real, NULL, 1,
                                             (int)bp->real_dist, FFTW_ESTIMATE);
        if (!bp->r2c[k] || !bp->c2r[k]) {
            free(ws);
            dtcl_blur_plan_free(bp);
            return NULL;
        }
    }
    free(ws);
    bp->cosine = DTCL_MALLOC((size_t)L * (R + 1) * sizeof(double));
    for (int m = 0; m < L; m++)
        for (int t = 0; t <= R; t++)
            bp->cosine[m * (R + 1) + t] = cos(2.0 * DTCL_PI * (double)((long)m * t % L) / L);
    return bp;
}

void dtcl_blur_plan_free(DtclBlurPlan *bp)
{
    if (!bp)
        return;
    for (int k = 1; k <= BLUR_MAX_SLICES; k++) {
        if (bp->r2c[k])
            fftwf_destroy_plan(bp->r2c[k]);
        if (bp->c2r[k])
            fftwf_destroy_plan(bp->c2r[k]);
    }
    free(bp->cosine);
    free(bp);
}

size_t dtcl_blur_workspace_size(const DtclBlurPlan *bp) { return bp->ws_size; }

void dtcl_blur_plan_size(const DtclBlurPlan *bp, int *L, int *R)
{
    *L = bp->L;
    *R = bp->R;
}

void dtcl_blur_kernel(double *g, double *dg, int R, double sigma)
{
    dtcl_blur_kernel_hd(g, dg, R, sigma);
}

/* G(m) and dG/dsigma(m), m < L: the real DFT of the symmetric kernel. */
static void kernel_spectrum(const DtclBlurPlan *bp, double sigma, double *G, double *dG)
{
    int R = bp->R;
    double g[2 * 64 + 1], dg[2 * 64 + 1];
    dtcl_blur_kernel(g, dg, R, sigma);
    for (int m = 0; m < bp->L; m++) {
        const double *cs = bp->cosine + (size_t)m * (R + 1);
        double a = g[R], b = dg[R];
        for (int t = 1; t <= R; t++) {
            a += 2.0 * g[R + t] * cs[t];
            b += 2.0 * dg[R + t] * cs[t];
        }
        G[m] = a;
        dG[m] = b;
    }
}

static void pad(const DtclBlurPlan *bp, float *real, const float *img) /* (L,L) <- (S,S) */
{
    int S = bp->S, L = bp->L;
    memset(real, 0, sizeof(float) * (size_t)L * L);
    for (int i = 0; i < S; i++)
        memcpy(real + (size_t)i * L, img + (size_t)i * S, sizeof(float) * S);
}

static void crop_out(const DtclBlurPlan *bp, float *img, const float *real, int accumulate)
{
    int S = bp->S, L = bp->L;
    for (int i = 0; i < S; i++) {
        const float *r = real + (size_t)i * L;
        float *o = img + (size_t)i * S;
        if (accumulate)
            for (int j = 0; j < S; j++)
                o[j] += r[j];
        else
            memcpy(o, r, sizeof(float) * S);
    }
}

/* out = a * scale(m1,m2) [+ out] where scale = G(m1)G(m2)/L^2 (or its sigma-derivative,
 * dG(m1)G(m2) + G(m1)dG(m2), times dscale). */
static void spectral_filter(const DtclBlurPlan *bp, float *out, const float *a, const double *G,
                            const double *dG, double dscale, int accumulate)
{
    int L = bp->L, nc = bp->nc;
    double inv = 1.0 / ((double)L * L);
    for (int m1 = 0; m1 < L; m1++)
        for (int m2 = 0; m2 < nc; m2++) {
            double k = dG ? dscale * (dG[m1] * G[m2] + G[m1] * dG[m2]) * inv : G[m1] * G[m2] * inv;
            float kf = (float)k;
            size_t e = 2 * ((size_t)m1 * nc + m2);
            if (accumulate) {
                out[e] += a[e] * kf;
                out[e + 1] += a[e + 1] * kf;
            } else {
                out[e] = a[e] * kf;
                out[e + 1] = a[e + 1] * kf;
            }
        }
}

void dtcl_blur_forward(const DtclBlurPlan *bp, float *y, float *const *ty, const float *x,
                       const float *const *tx, const float *lambda, const float *tlambda, int ntan,
                       float *ws)
{
    size_t SS = (size_t)bp->S * bp->S;
    double sigma = (double)(bp->sigma_max * lambda[0]);
    if (sigma == 0.0) { /* identity, and d/dsigma = 0 at sigma = 0 */
        memcpy(y, x, sizeof(float) * SS);
        for (int t = 0; t < ntan; t++) {
            if (tx[t])
                memcpy(ty[t], tx[t], sizeof(float) * SS);
            else
                memset(ty[t], 0, sizeof(float) * SS);
        }
        return;
    }
    float *real = ws + bp->off_real, *A = ws + bp->off_a, *B = ws + bp->off_b;
    double *G = (double *)(ws + bp->off_g), *dG = (double *)(ws + bp->off_dg);
    kernel_spectrum(bp, sigma, G, dG);

    /* one batched r2c: slice 0 is x, then every nonzero image tangent */
    int nin = 1, in_slice[DTCL_NLAMBDA];
    pad(bp, real, x);
    for (int t = 0; t < ntan; t++) {
        in_slice[t] = tx[t] ? nin : -1;
        if (tx[t])
            pad(bp, real + (size_t)nin++ * bp->real_dist, tx[t]);
    }
    fftwf_execute_dft_r2c(bp->r2c[nin], real, (fftwf_complex *)A);

    /* output spectra: y = B_sigma x;  ty = B_sigma tx + dsigma dB/dsigma x */
    spectral_filter(bp, B, A, G, NULL, 0, 0);
    for (int t = 0; t < ntan; t++) {
        float *Bt = B + (size_t)(1 + t) * bp->cplx_dist;
        double dsigma = (double)bp->sigma_max * tlambda[t * DTCL_NLAMBDA + 0];
        if (in_slice[t] >= 0)
            spectral_filter(bp, Bt, A + (size_t)in_slice[t] * bp->cplx_dist, G, NULL, 0, 0);
        else
            memset(Bt, 0, sizeof(float) * bp->cplx_dist);
        if (dsigma != 0.0)
            spectral_filter(bp, Bt, A, G, dG, dsigma, 1);
    }
    /* one batched c2r for the value and all tangents */
    fftwf_execute_dft_c2r(bp->c2r[1 + ntan], (fftwf_complex *)B, real);
    crop_out(bp, y, real, 0);
    for (int t = 0; t < ntan; t++)
        crop_out(bp, ty[t], real + (size_t)(1 + t) * bp->real_dist, 0);
}

void dtcl_blur_backward(const DtclBlurPlan *bp, float *dx, double *dlambda, const float *dy,
                        const float *x, const float *lambda, float *ws)
{
    /* forward: y = B_sigma x (pad, multiply the spectrum by G(m1) G(m2), crop) */
    int L = bp->L, nc = bp->nc;
    size_t SS = (size_t)bp->S * bp->S;
    double sigma = (double)(bp->sigma_max * lambda[0]);
    if (sigma == 0.0) {
        if (dx)
            for (size_t p = 0; p < SS; p++)
                dx[p] += dy[p];
        return;
    }
    float *real = ws + bp->off_real, *A = ws + bp->off_a, *B = ws + bp->off_b;
    double *G = (double *)(ws + bp->off_g), *dG = (double *)(ws + bp->off_dg);
    kernel_spectrum(bp, sigma, G, dG);

    /* one batched r2c: slice 0 is dy, slice 1 is x when dsigma is wanted */
    pad(bp, real, dy);
    if (dlambda)
        pad(bp, real + bp->real_dist, x);
    fftwf_execute_dft_r2c(bp->r2c[dlambda ? 2 : 1], real, (fftwf_complex *)A);
    if (dlambda) {
        /* <dB/dsigma x, dy> = (1/L^2) sum_m K'(m) Re(X^(m) conj(dY^(m))), the half
         * spectrum's inner columns counted twice (Hermitian symmetry). */
        const float *X = A + bp->cplx_dist; /* X^; A holds dY^ */
        double acc = 0;
        for (int m1 = 0; m1 < L; m1++) {
            double row = 0;
            for (int m2 = 0; m2 < nc; m2++) {
                size_t e = 2 * ((size_t)m1 * nc + m2);
                double w = (m2 == 0 || 2 * m2 == L) ? 1.0 : 2.0;
                double kd = dG[m1] * G[m2] + G[m1] * dG[m2];
                row += w * kd * ((double)X[e] * A[e] + (double)X[e + 1] * A[e + 1]);
            }
            acc += row;
        }
        dlambda[0] += (double)bp->sigma_max * acc / ((double)L * L);
    }
    if (dx) { /* dx += B_sigma^T dy = B_sigma dy */
        spectral_filter(bp, B, A, G, NULL, 0, 0);
        fftwf_execute_dft_c2r(bp->c2r[1], (fftwf_complex *)B, real);
        crop_out(bp, dx, real, 1);
    }
}
