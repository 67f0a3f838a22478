/* pool.h: pooling, NCHW, with PyTorch's semantics.
 *   max-pool 2x2, stride 2 (floor for odd sizes): y = max over the window; the
 *     first maximum in row-major order wins, and backward routes dy to it;
 *   global average pool: y (B,C) = mean over H W; dx += dy / (H W). */
#ifndef DTCL_POOL_H
#define DTCL_POOL_H

#include <stdint.h>

void dtcl_maxpool2_forward(float *y,        /* (B,C,H/2,W/2) */
                           int32_t *argmax, /* (B,C,H/2,W/2) saved: index in x */
                           const float *x,  /* (B,C,H,W) */
                           int B, int C, int H, int W);
void dtcl_maxpool2_backward(float *dx, const float *dy, const int32_t *argmax, int B, int C, int H, int W);

void dtcl_avgpool_forward(float *y /* (B,C) */, const float *x /* (B,C,HW) */, int B, int C, int HW);
void dtcl_avgpool_backward(float *dx, const float *dy, int B, int C, int HW);

#endif
