/* pngio.h: PNG images as grey float32 in [0,1].
 * Read: any PNG (grey, grey+alpha, palette, RGB, RGBA; 1 to 16 bits); colour is
 * reduced to grey with libpng's default (Rec. 709) weights, alpha is dropped,
 * 16-bit samples keep their precision (x/65535). Write: 8- or 16-bit grey
 * (or 8-bit RGB for figures),
 * values clipped to [0,1] and rounded; atomic (temporary name, rename). */
#ifndef DTCL_PNGIO_H
#define DTCL_PNGIO_H

#include <stddef.h>

#include "base/error.h"

/* Decodes a PNG held in memory: *pixels (H,W), newly allocated. Never reads
 * outside buf; fuzzed (tests/fuzz_png.c). */
int dtcl_png_decode(const void *buf, size_t len, float **pixels, int *height, int *width, DtclError *err);
/* Reads PATH; messages begin with the path. */
int dtcl_png_load(const char *path, float **pixels, int *height, int *width, DtclError *err);
/* bits is 8 or 16. */
int dtcl_png_save(const char *path, const float *pixels, int height, int width, int bits,
                  DtclError *err);
/* 8-bit RGB, rgb (H,W,3) row by row; atomic like dtcl_png_save. */
int dtcl_png_save_rgb(const char *path, const unsigned char *rgb, int height, int width, DtclError *err);

#endif
