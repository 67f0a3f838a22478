/* stages.h: the stages of T (blur, noise, crop, hflip, vflip, rotate), each a
 * row of one table (stages.c) that says what varies by stage: its name in
 * an order, the lambdas it owns, its off position, whether it moves pixels,
 * its forward and backward on one image (transform_<name>.c), its double
 * twin (transform_naive.c) and where it is not differentiable. transform.c
 * composes them through the table; order parsing, help text, simclr's draws
 * and the checks read it. The CUDA twins are the rows of the same index in
 * src/gpu/transform_gpu.cu's table. Adding a stage: its enum value
 * (transform.h), its file, its row here and there.
 *
 * The functions of each stage, one image at a time, as forward/backward pairs:
 * Forward computes y = T(x; lambda) and, for ntan tangent directions,
 *   ty[t] = J_x tx[t] + J_lambda tlambda[t]
 * (tx[t] NULL means a zero image tangent; tlambda is (ntan,7)).
 * Backward accumulates dx += J_x^T dy (dx may be NULL) and
 * dlambda[k] += <dT/dlambda_k, dy> in double.
 * Images are (S,S); each step reads only the lambda entries it owns.
 */
#ifndef DTCL_STAGES_H
#define DTCL_STAGES_H

#include "transform/transform.h"

#ifdef __cplusplus /* the CUDA twin (src/gpu/transform_gpu.cu) reads the table and the blur plan */
extern "C" {
#endif

/* One stage's arguments, for the table's uniform calls: forward reads x, tx,
 * z, lambda, tlambda and writes y, ty; backward reads dy, x, z, lambda and
 * adds to dx (may be NULL) and dlambda (7 doubles). ws: the blur's
 * per-thread workspace. */
typedef struct {
    const DtclTransform *t;
    float *y;
    float *const *ty;
    const float *x;
    const float *const *tx;
    const float *z;
    const float *lambda;
    const float *tlambda;
    int ntan;
    float *ws;
    float *dx;
    double *dlambda;
    const float *dy;
} DtclStageArgs;

typedef struct {
    const char *name;  /* its token in an order */
    int lambda[2];     /* the lambda indices it owns (-1: none) */
    float off[2];      /* the lambdas of its off position in simclr's draws */
    int off_identity;  /* 1: off is exactly the identity; 0 (the crop): an image drawn off takes T without it */
    int geometric;     /* moves pixels (a mask follows it: the figures' outlines) */
    void (*forward)(const DtclStageArgs *a);
    void (*backward)(const DtclStageArgs *a);
    /* the double twin on one image */
    void (*naive)(double *y, const double *x, const double *lambda, const float *z, const DtclTransform *t);
    /* whether central differences of step h around lambda cross none of its
     * kinks (margin 1e-4 pixel); NULL: differentiable everywhere */
    int (*kink_free)(const DtclTransform *t, const double *lambda, double h);
} DtclStageInfo;

extern const DtclStageInfo dtcl_stages[DTCL_NSTAGES];

/* "blur, noise, crop, hflip, vflip, rotate": the tokens, for help text. */
const char *dtcl_stage_list(void);

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
int dtcl_crop_kink_free(const DtclTransform *t, const double *lambda, double h);
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
int dtcl_rotate_kink_free(const DtclTransform *t, const double *lambda, double h);
void dtcl_rotate_forward(float *y, float *const *ty, const float *x, const float *const *tx,
                         const float *lambda, const float *tlambda, int ntan, int S);
void dtcl_rotate_backward(float *dx, double *dlambda, const float *dy, const float *x,
                          const float *lambda, int S);

#ifdef __cplusplus
}
#endif

#endif
