/* transform_steps.h: the seven transformations one image at a time, as
 * forward/backward pairs (internal to the transform module; transform.c
 * composes them).
 *
 * Forward computes y = T(x; lambda) and, for ntan tangent directions,
 *   ty[t] = J_x tx[t] + J_lambda tlambda[t]
 * (tx[t] NULL means a zero image tangent; tlambda is (ntan,7)).
 * Backward accumulates dx += J_x^T dy (dx may be NULL) and
 * dlambda[k] += <dT/dlambda_k, dy> in double.
 * Images are (S,S); each step reads only the lambda entries it owns.
 */
#ifndef DTCL_TRANSFORM_STEPS_H
#define DTCL_TRANSFORM_STEPS_H

#include "transform/transform.h"

#ifdef __cplusplus /* the CUDA twin (src/gpu/transform_gpu.cu) reads the blur plan */
extern "C" {
#endif

/* ---- blur (transform_blur.c): y = g_sigma * x, sigma = sigma_max lambda0 */
DtclBlurPlan *dtcl_blur_plan_create(int S, float sigma_max);
void dtcl_blur_plan_free(DtclBlurPlan *bp);
size_t dtcl_blur_workspace_size(const DtclBlurPlan *bp); /* floats, per thread */
int dtcl_blur_radius(float sigma_max);
/* The padded side L and the kernel radius R of a plan (the CUDA twin pads the same way). */
void dtcl_blur_plan_size(const DtclBlurPlan *bp, int *L, int *R);
/* The normalised sampled Gaussian g (|t| <= R) and dg/dsigma, in double. */
void dtcl_blur_kernel(double *g, double *dg, int R, double sigma);
void dtcl_blur_forward(const DtclBlurPlan *bp, float *y, float *const *ty, const float *x,
                       const float *const *tx, const float *lambda, const float *tlambda, int ntan,
                       float *ws);
void dtcl_blur_backward(const DtclBlurPlan *bp, float *dx, double *dlambda, const float *dy,
                        const float *x, const float *lambda, float *ws);

/* ---- noise (transform_noise.c): y = x + scale lambda1 z */
void dtcl_noise_forward(float *y, float *const *ty, const float *x, const float *const *tx,
                        const float *z, const float *lambda, const float *tlambda, int ntan, int S,
                        const DtclTransformParams *p);
void dtcl_noise_backward(float *dx, double *dlambda, const float *dy, const float *z,
                         const float *lambda, int S, const DtclTransformParams *p);

/* ---- crop (transform_crop.c): y = x * S(a (w - max(|j - S l2|, |i - S l3|))) */
void dtcl_crop_forward(float *y, float *const *ty, const float *x, const float *const *tx,
                       const float *lambda, const float *tlambda, int ntan, int S,
                       const DtclTransformParams *p);
void dtcl_crop_backward(float *dx, double *dlambda, const float *dy, const float *x,
                        const float *lambda, int S, const DtclTransformParams *p);

/* ---- flips (transform_flip.c): y = (1 - l) x + l mirror(x); axis 1 mirrors
 * columns (hflip, lambda4), axis 0 mirrors rows (vflip, lambda5) */
void dtcl_flip_forward(float *y, float *const *ty, const float *x, const float *const *tx,
                       const float *lambda, const float *tlambda, int ntan, int S, int axis);
void dtcl_flip_backward(float *dx, double *dlambda, const float *dy, const float *x,
                        const float *lambda, int S, int axis);

/* ---- rotation (transform_rotate.c): y(i,j) = x bilinear at c + R(2 pi l6) u */
void dtcl_rotate_forward(float *y, float *const *ty, const float *x, const float *const *tx,
                         const float *lambda, const float *tlambda, int ntan, int S);
void dtcl_rotate_backward(float *dx, double *dlambda, const float *dy, const float *x,
                          const float *lambda, int S);

#ifdef __cplusplus
}
#endif

#endif
