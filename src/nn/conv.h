/* conv.h: 2-D convolution, kernel k x k with k odd, zero padding p = (k-1)/2
 * and stride s (1 unless asked), PyTorch's nn.Conv2d layout (SPEC section 3:
 * the 3x3 convolutions of f and M, M's 1x1 head; DenseNet-121's 7x7 stride-2
 * stem, 1x1 and 3x3 convolutions).
 *   y[b,o,i,j] = bias[o] + sum_{c,u,v} w[o,c,u,v] x[b,c,s i+u-p,s j+v-p]
 * The output is Ho x Wo = ceil(H/s) x ceil(W/s) (H x W at stride 1).
 *   dx += conv^T(dy, w),  dw += sum_b dy (x)^T,  dbias += sum dy
 *
 * Letters: B images, C input channels, O output channels, H W the image,
 * K = C k k the im2col rows.
 *
 * The fast path lowers each image to columns (im2col, (K, H W)) and calls one
 * single-threaded OpenBLAS sgemm per image; OpenMP runs over images. The input
 * gradient is itself a convolution, of dy with the flipped, transposed
 * weights, through columns of dy: a (C, O k k) x (O k k, H W) product that
 * accumulates straight into dx (no scatter). At stride s > 1, and when x has
 * far fewer channels than y (4 C <= O, as in a first layer), the input
 * gradient goes through columns of dx instead: W^T dy_b, added back into dx
 * (col2im). The
 * weight gradient is summed per fixed group of images (DTCL_CONV_GROUPS) and
 * the group sums are added in group order, so every result is bitwise the
 * same for any thread count. The naive direct convolution beside it, in
 * double, is what the tests hold the fast path against. */
#ifndef DTCL_CONV_H
#define DTCL_CONV_H

#include <stddef.h>

#ifdef __cplusplus /* the CUDA twins (src/gpu) include it */
extern "C" {
#endif

#define DTCL_CONV_GROUPS 4

typedef struct {
    int B, C, O, H, W, k;
    int threads;      /* threads the workspace holds; the loops use at most this many */
    int stride;       /* 0 or 1: stride 1 */
    size_t xstride;   /* floats from one image of x (and dx) to the next; 0: C H W */
    size_t ystride;   /* the same for y (and dy); 0: O Ho Wo. DenseNet's blocks read
                         and write channel ranges of one wider tensor this way. */
} DtclConvShape;

/* The output's side for an input side n. */
int dtcl_conv2d_out(const DtclConvShape *s, int n);

/* Floats of workspace that forward and backward need: im2col columns for
 * each thread and the per-group weight gradients. */
size_t dtcl_conv2d_work_size(const DtclConvShape *s);

void dtcl_conv2d_forward(float *y,            /* (B,O,Ho,Wo) */
                         const float *x,      /* (B,C,H,W) */
                         const float *weight, /* (O,C,k,k) */
                         const float *bias,   /* (O) or NULL */
                         const DtclConvShape *s, float *work);

/* dx, dbias may be NULL. */
void dtcl_conv2d_backward(float *dx,          /* (B,C,H,W) or NULL */
                          float *dweight,     /* (O,C,k,k) */
                          float *dbias,       /* (O) or NULL */
                          const float *dy,    /* (B,O,Ho,Wo) */
                          const float *x,     /* (B,C,H,W) */
                          const float *weight, const DtclConvShape *s, float *work);

/* Only dx += conv^T(dy, w): the M step's input gradient (no weight gradient). */
void dtcl_conv2d_backward_data(float *dx, const float *dy, const float *weight, const DtclConvShape *s,
                               float *work);

/* The direct loops, in double: the reference the tests use. The _d form
 * takes and gives double (the networks' double twin, nets_naive.c); the
 * float form rounds its result. They take dense tensors (strides 0) at any
 * stride s. */
void dtcl_conv2d_forward_naive_d(double *y, const double *x, const double *weight, const double *bias,
                                 const DtclConvShape *s);
void dtcl_conv2d_forward_naive(float *y, const float *x, const float *weight, const float *bias,
                               const DtclConvShape *s);
void dtcl_conv2d_backward_naive(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                                const float *weight, const DtclConvShape *s);

#ifdef __cplusplus
}
#endif

#endif
