/* pool.h: pooling, NCHW, with PyTorch's semantics.
 *   max-pool 2x2, stride 2 (floor for odd sizes): y = max over the window; the
 *     first maximum in row-major order wins, and backward routes dy to it;
 *   max-pool 3x3, stride 2, padding 1 (DenseNet's stem): the same over the
 *     window's pixels inside the image; the output is ceil(H/2) x ceil(W/2);
 *   average pool 2x2, stride 2 (DenseNet's transitions, floor for odd
 *     sizes): y = (x00 + x01 + x10 + x11) / 4; dx += dy / 4;
 *   global average pool: y (B,C) = mean over H W; dx += dy / (H W).
 * DenseNet's pools write into (and read their gradient from) a channel
 * range of a wider tensor: ystride is the floats from one image of y (and
 * dy) to the next, 0 for dense. */
#ifndef DTCL_POOL_H
#define DTCL_POOL_H

#include <stddef.h>
#include <stdint.h>

void dtcl_maxpool2_forward(float *y,        /* (B,C,H/2,W/2) */
                           int32_t *argmax, /* (B,C,H/2,W/2) saved: index in x */
                           const float *x,  /* (B,C,H,W) */
                           int B, int C, int H, int W);
void dtcl_maxpool2_backward(float *dx, const float *dy, const int32_t *argmax, int B, int C, int H, int W);

void dtcl_maxpool3s2_forward(float *y, size_t ystride, int32_t *argmax /* dense (B,C,Ho,Wo) */, const float *x,
                             int B, int C, int H, int W);
void dtcl_maxpool3s2_backward(float *dx, const float *dy, size_t ystride, const int32_t *argmax, int B, int C, int H,
                              int W);

void dtcl_avgpool2_forward(float *y, size_t ystride, const float *x, int B, int C, int H, int W);
void dtcl_avgpool2_backward(float *dx, const float *dy, size_t ystride, int B, int C, int H, int W);

void dtcl_avgpool_forward(float *y /* (B,C) */, const float *x /* (B,C,HW) */, int B, int C, int HW);
void dtcl_avgpool_backward(float *dx, const float *dy, int B, int C, int HW);

#endif
