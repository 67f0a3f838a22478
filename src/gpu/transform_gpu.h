/* transform_gpu.h: the CUDA twin of transform.h: T_Lambda and its
 * vector-Jacobian product on the GPU, for a batch at a time.
 *
 * The same composition as transform.c, step by step over the whole batch:
 * each step is one or two kernels whose per-pixel formulas are the CPU's
 * (transform_pixel.h); the blur multiplies the spectrum of one batched cuFFT
 * transform (padded as the CPU pads, dtcl_blur_plan_size); the noise field is
 * drawn on the device from the same Philox stream and the same quantile
 * (rng_quantile.h). Per-image sums (dlambda) are fixed trees in double, so
 * reruns are bitwise equal. saved has the CPU's layout, so either side's
 * forward can feed the other's backward in the tests.
 *
 * Forward-mode derivatives (dtcl_transform_jacobian, _jvp) stay on the CPU:
 * training uses the reverse mode only.
 *
 * x, y, saved, lambda, dy, dx, dlambda are device pointers; the noise
 * source (and its item array) is on the host. */
#ifndef DTCL_TRANSFORM_GPU_H
#define DTCL_TRANSFORM_GPU_H

#include <stdint.h>

#include "base/error.h"
#include "transform/transform.h"

#ifdef __cplusplus
extern "C" {
#endif

/* the cuFFT plans: r2c of nmax images, r2c of 2 nmax (dy and x at once), c2r of nmax */
enum { DTCL_FFT_FWD, DTCL_FFT_TWO, DTCL_FFT_INV, DTCL_FFT_PLANS };

typedef struct {
    const DtclTransform *t; /* the host transformation: order and parameters */
    int nmax;               /* the most images one call takes */
    int L, R;               /* blur: padded side and kernel radius; 0 without a blur step */
    int fft[DTCL_FFT_PLANS];       /* cuFFT plans (cufftHandle) */
    int nfft;                      /* how many of them are made */
    float *real, *spec_a, *spec_b; /* (2 nmax, L, L), (2 nmax, L, L/2+1) complex, (nmax, L, L/2+1) complex */
    double *G, *dG;                /* (nmax, L): the kernel's spectrum per image */
    float *val[2], *grad[2], *z;   /* (nmax, S, S) each */
    double *dl;                    /* (nmax, 7) */
    uint32_t *item;                /* (nmax) */
} DtclTransformGpu;

/* Device buffers and cuFFT plans for t, for calls of at most nmax images. */
int dtcl_transform_gpu_init(DtclTransformGpu *g, const DtclTransform *t, int nmax, DtclError *err);
void dtcl_transform_gpu_free(DtclTransformGpu *g);

/* y = T_Lambda(x); saved (n, dtcl_transform_saved_size) may be NULL. */
void dtcl_transform_forward_gpu(DtclTransformGpu *g, float *y, float *saved, const float *x, const float *lambda,
                                const DtclNoiseSource *noise, int n);

/* dx += J_X^T dy and dlambda += J_Lambda^T dy (either may be NULL), from the
 * buffers forward saved. */
void dtcl_transform_backward_gpu(DtclTransformGpu *g, float *dx, float *dlambda, const float *dy, const float *x,
                                 const float *lambda, const float *saved, int n);

#ifdef __cplusplus
}
#endif

#endif
