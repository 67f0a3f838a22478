/* image.h: pictures from files (PNG, TIFF, JPEG) with every sample kept, as
 * float32 in [0,1]: 8-bit samples x/255, 16-bit x/65535, 32-bit floats as
 * they are. The format is recognised by the file's first bytes, not its
 * name. Decoders read from memory, never outside it, refuse pictures over
 * 16384 x 16384 or with more than 4 samples per pixel, and are fuzzed
 * (tests/fuzz_tiff.c, tests/fuzz_jpeg.c, tests/fuzz_png.c). */
#ifndef DTCL_IMAGE_H
#define DTCL_IMAGE_H

#include <stddef.h>

#include "base/error.h"

typedef struct {
    int height, width;
    int channels; /* samples per pixel, 1 to 4: grey, grey+alpha, RGB, RGBA (or 4 of a TIFF) */
    int bits;     /* per sample in the file: 8, 16 or 32 */
    float *data;  /* (H,W,C) interleaved, in [0,1] */
} DtclImage;

/* TIFF (libtiff: any compression it reads, strips or tiles, contiguous or
 * planar samples, 8/16-bit unsigned or 32-bit float, grey (min-is-black or
 * min-is-white), RGB, palette; other 8-bit layouts through libtiff's RGBA
 * reader). The first directory only. */
int dtcl_tiff_decode(const void *buf, size_t len, DtclImage *im, DtclError *err);
/* JPEG (libjpeg-turbo): baseline or progressive, grey or colour (RGB). */
int dtcl_jpeg_decode(const void *buf, size_t len, DtclImage *im, DtclError *err);
/* PNG (libpng), every colour type, samples kept (palette expanded to RGB). */
int dtcl_png_decode_image(const void *buf, size_t len, DtclImage *im, DtclError *err);

/* Any of the three by its signature; messages begin with the path. */
int dtcl_image_load(const char *path, DtclImage *im, DtclError *err);
void dtcl_image_free(DtclImage *im);

/* One plane (H,W) into out: channel k (0-based), or with k = -1 the grey
 * image: the grey sample, or Rec. 709 luma 0.2126 R + 0.7152 G + 0.0722 B
 * (alpha dropped). -1 with err when k is not a channel of the image. */
int dtcl_image_plane(const DtclImage *im, int k, float *out, DtclError *err);

#endif
