/* transform_naive.h: T_Lambda in double precision, written plainly (direct
 * spatial convolution for the blur, no FFT, no tangents), for one image.
 * It is the slow twin of transform.c: gradcheck differentiates it by central
 * finite differences, and the tests hold the fast path against it. */
#ifndef DTCL_TRANSFORM_NAIVE_H
#define DTCL_TRANSFORM_NAIVE_H

#include "transform/transform.h"

/* y = T_lambda(x) for one (S,S) image; z is the image's noise field (S,S)
 * (dtcl_transform_noise), unused without a noise step. */
void dtcl_transform_naive(const DtclTransform *t, double *y, const double *x, const double *lambda,
                          const float *z);

/* Each stage alone (the table's naive column, stages.h). */
void dtcl_blur_naive(double *y, const double *x, const double *lambda, const float *z, const DtclTransform *t);
void dtcl_noise_naive(double *y, const double *x, const double *lambda, const float *z, const DtclTransform *t);
void dtcl_crop_naive(double *y, const double *x, const double *lambda, const float *z, const DtclTransform *t);
void dtcl_hflip_naive(double *y, const double *x, const double *lambda, const float *z, const DtclTransform *t);
void dtcl_vflip_naive(double *y, const double *x, const double *lambda, const float *z, const DtclTransform *t);
void dtcl_rotate_naive(double *y, const double *x, const double *lambda, const float *z, const DtclTransform *t);

/* z = the noise field image n receives (as forward draws it). */
void dtcl_transform_noise(const DtclTransform *t, float *z, const DtclNoiseSource *noise, int n);

#endif
