/* resize.h: anti-aliased resampling of a grey image to another size.
 * Separable triangle (tent) filter whose support widens with the reduction
 * factor, as PIL's antialiased bilinear: a downscale averages every input
 * pixel it covers instead of skipping some (no aliasing); an upscale is
 * bilinear interpolation. Pixel centres are aligned (x_in = (x_out + 0.5) s - 0.5,
 * s = in/out); weights near the border are renormalised. */
#ifndef DTCL_RESIZE_H
#define DTCL_RESIZE_H

/* out (oh,ow) from in (h,w). */
void dtcl_resize(float *out, int oh, int ow, const float *in, int h, int w);

#endif
