/* pngio.h: PNG images as grey float32 in [0,1].
 * Read: any PNG (grey, grey+alpha, palette, RGB, RGBA; 1 to 16 bits); colour is
 * reduced to grey with libpng's default (Rec. 709) weights, alpha is dropped,
 * 16-bit samples keep their precision (x/65535). Write: 8- or 16-bit grey,
 * values clipped to [0,1] and rounded; atomic (temporary name, rename). */
#ifndef DTCL_PNGIO_H
#define DTCL_PNGIO_H

#include "error.h"

/* *pixels (H,W), newly allocated. */
int dtcl_png_load(const char *path, float **pixels, int *height, int *width, DtclError *err);
/* bits is 8 or 16. */
int dtcl_png_save(const char *path, const float *pixels, int height, int width, int bits,
                  DtclError *err);

#endif
