/* transform.h: the differentiable transformation T_Lambda (paper section 2.2,
 * Table 1, Eq. 3; SPEC section 2).
 *
 * Lambda = (lambda0..lambda6) in [0,1]^7 per image:
 *   0 blur    Gaussian blur, sigma = sigma_max * lambda0 (sigma = 0: identity)
 *   1 noise   X + noise_scale * lambda1 * z,  z = sqrt(2) erfinv(2u - 1) (rng.h)
 *   2,3 crop  X * S(a (w - max(|j - S lambda2|, |i - S lambda3|))), S logistic,
 *             w the half-width (S/8), a the sharpness (1 per pixel)
 *   4 hflip   (1 - lambda4) X(i,j) + lambda4 X(i, S-1-j)
 *   5 vflip   (1 - lambda5) X(i,j) + lambda5 X(S-1-i, j)
 *   6 rotate  theta = 2 pi lambda6; out(i,j) = X bilinear at c + R(theta) u
 * applied in a configurable order (default blur, noise, crop, hflip, vflip,
 * rotate: the paper's R o Flip1 o Flip0 o Crop o N o G). Outside the image
 * every transformation sees zeros.
 *
 * Images are (N,S,S) float32, row-major: pixel (n,i,j) at n*S*S + i*S + j.
 * Lambda is (N,7). All entry points run OpenMP over images; each image is
 * computed by one thread in a fixed order, so results are bitwise the same
 * for any thread count.
 *
 * Three ways to differentiate, one code path each:
 *   jacobian  dT/dlambda_k for k = 0..6, through the whole composition
 *             (forward mode, seven tangents at once);
 *   jvp       J (dX, dLambda) for a direction (forward mode, one tangent);
 *   backward  vector-Jacobian products dX += J_X^T dY, dLambda += J_L^T dY
 *             (reverse mode; what training uses).
 */
#ifndef DTCL_TRANSFORM_H
#define DTCL_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus /* the CUDA twins (src/gpu) include it */
extern "C" {
#endif

#define DTCL_NLAMBDA 7
#define DTCL_PI 3.14159265358979323846

typedef enum {
    DTCL_STAGE_BLUR,
    DTCL_STAGE_NOISE,
    DTCL_STAGE_CROP,
    DTCL_STAGE_HFLIP,
    DTCL_STAGE_VFLIP,
    DTCL_STAGE_ROTATE,
    DTCL_NSTAGES
} DtclStage;

typedef struct {
    float sigma_max;       /* blur: sigma = sigma_max * lambda0; 2.0 */
    float noise_scale;     /* noise: standard deviation at lambda1 = 1; 0.1 */
    float crop_half_width; /* crop window half-width in pixels; <= 0 means S/8 */
    float crop_sharpness;  /* crop logistic slope per pixel; 1.0 */
} DtclTransformParams;

typedef struct DtclBlurPlan DtclBlurPlan;

typedef struct {
    int size; /* S */
    int nsteps;
    DtclStage order[DTCL_NSTAGES];
    DtclTransformParams p; /* crop_half_width resolved */
    DtclBlurPlan *blur;    /* FFTW plans, made once; NULL without a blur step */
} DtclTransform;

/* Which noise field z each image receives: the Philox stream
 * (seed, DTCL_RNG_NOISE, epoch, step, item[n]); item NULL means n. */
typedef struct {
    uint64_t seed;
    uint32_t epoch, step;
    const uint32_t *item; /* (N) */
} DtclNoiseSource;

extern const char *const dtcl_lambda_names[DTCL_NLAMBDA];
extern const char *const dtcl_default_order;

void dtcl_transform_params_default(DtclTransformParams *p);
/* "blur,noise,crop,hflip,vflip,rotate": each token at most once, 1 to 6 tokens. */
int dtcl_transform_parse_order(const char *s, DtclStage *order, int *nsteps, DtclError *err);
/* Writes the order back as tokens. */
const char *dtcl_transform_order_str(const DtclTransform *t, char *buf, size_t size);

int dtcl_transform_init(DtclTransform *t, int size, const DtclStage *order, int nsteps,
                        const DtclTransformParams *p, DtclError *err);
void dtcl_transform_free(DtclTransform *t);

/* Floats per image that forward saves for backward (step inputs, noise field). */
size_t dtcl_transform_saved_size(const DtclTransform *t);
/* Whether lambda index k acts in this order. */
int dtcl_transform_uses_lambda(const DtclTransform *t, int k);

/* y = T_Lambda(x). saved (N, saved_size) may be NULL when no backward follows. */
void dtcl_transform_forward(const DtclTransform *t,
                            float *y,               /* (N,S,S) */
                            float *saved,           /* (N,saved_size) or NULL */
                            const float *x,         /* (N,S,S) */
                            const float *lambda,    /* (N,7) */
                            const DtclNoiseSource *noise, int n);

/* jac[n,k] = dT/dlambda_k (x_n); y = T_Lambda(x) when y is not NULL. */
void dtcl_transform_jacobian(const DtclTransform *t,
                             float *jac,            /* (N,7,S,S) */
                             float *y,              /* (N,S,S) or NULL */
                             const float *x,        /* (N,S,S) */
                             const float *lambda,   /* (N,7) */
                             const DtclNoiseSource *noise, int n);

/* dy = J_X dx + J_Lambda dlambda; dx or dlambda NULL means zero. */
void dtcl_transform_jvp(const DtclTransform *t,
                        float *dy,                  /* (N,S,S) */
                        float *y,                   /* (N,S,S) or NULL */
                        const float *x,             /* (N,S,S) */
                        const float *lambda,        /* (N,7) */
                        const float *dx,            /* (N,S,S) or NULL */
                        const float *dlambda,       /* (N,7) or NULL */
                        const DtclNoiseSource *noise, int n);

/* dx += J_X^T dy and dlambda += J_Lambda^T dy (either may be NULL), from the
 * buffers forward saved. */
void dtcl_transform_backward(const DtclTransform *t,
                             float *dx,             /* (N,S,S) or NULL */
                             float *dlambda,        /* (N,7) or NULL */
                             const float *dy,       /* (N,S,S) */
                             const float *x,        /* (N,S,S) */
                             const float *lambda,   /* (N,7) */
                             const float *saved,    /* (N,saved_size) */
                             int n);

/* The angle 2 pi t as (sin, cos), exact at quarter turns, so that
 * lambda6 = 0.25 is numpy.rot90 exactly. */
void dtcl_sincos_turns(double t, double *s, double *c);

#ifdef __cplusplus
}
#endif

#endif
