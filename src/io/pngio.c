/* pngio.c: grey PNG read and write through libpng (see pngio.h). */
#include "io/pngio.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomicfile.h"
#include "io/image.h"

typedef struct {
    jmp_buf jmp;
    char msg[256];
} PngFailure;

static void on_png_error(png_structp png, png_const_charp msg)
{
    PngFailure *f = png_get_error_ptr(png);
    snprintf(f->msg, sizeof f->msg, "%s", msg);
    longjmp(f->jmp, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* benign (e.g. an unknown chunk); the image is still read */
}

typedef struct {
    const unsigned char *p;
    size_t len, pos;
} PngSource;

static void read_memory(png_structp png, png_bytep out, png_size_t n)
{
    PngSource *src = png_get_io_ptr(png);
    if (n > src->len - src->pos)
        png_error(png, "file ends early (truncated)");
    memcpy(out, src->p + src->pos, n);
    src->pos += n;
}

/* The decoder of both entry points: grey 1 reduces colour to grey with
 * libpng's weights (dtcl_png_decode), grey 0 keeps every sample. */
static int decode(const void *buf, size_t len, int grey, DtclImage *im, DtclError *err)
{
    memset(im, 0, sizeof *im);
    if (len < 8 || png_sig_cmp((png_const_bytep)buf, 0, 8) != 0)
        return dtcl_fail(err, "not a PNG file (bad signature)");
    PngSource src = {buf, len, 8};
    /* volatile: these change after setjmp and are read after longjmp */
    PngFailure fail;
    png_structp volatile png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &fail, on_png_error, on_png_warning);
    png_infop volatile info = png ? png_create_info_struct(png) : NULL;
    png_bytep volatile rows = NULL;
    png_bytepp volatile rowp = NULL;
    if (!png || !info) {
        png_structp p = png;
        png_destroy_read_struct(&p, NULL, NULL);
        return dtcl_fail(err, "out of memory in libpng");
    }
    if (setjmp(fail.jmp)) {
        png_structp p = png;
        png_infop i = info;
        png_destroy_read_struct(&p, &i, NULL);
        free(rows);
        free(rowp);
        return dtcl_fail(err, "corrupt PNG: %s", fail.msg);
    }
    png_set_read_fn(png, &src, read_memory);
    png_set_sig_bytes(png, 8);
    png_set_user_limits(png, 16384, 16384);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info), ctype = png_get_color_type(png, info);

    if (ctype == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (grey && (ctype & PNG_COLOR_MASK_ALPHA || png_get_valid(png, info, PNG_INFO_tRNS)))
        png_set_strip_alpha(png);
    if (grey && (ctype & PNG_COLOR_MASK_COLOR || ctype == PNG_COLOR_TYPE_PALETTE))
        png_set_rgb_to_gray_fixed(png, 1, -1, -1);
    if (depth == 16)
        png_set_swap(png); /* host order */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    int out_depth = png_get_bit_depth(png, info), ch = png_get_channels(png, info);
    if ((grey && ch != 1) || ch < 1 || ch > 4 || (out_depth != 8 && out_depth != 16))
        png_error(png, "unexpected layout after conversion");
    rows = malloc(rowbytes * h);
    rowp = malloc(sizeof(png_bytep) * h);
    if (!rows || !rowp)
        png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++)
        rowp[y] = rows + y * rowbytes;
    png_read_image(png, rowp);
    png_read_end(png, NULL);

    size_t per = (size_t)w * ch;
    float *out = DTCL_ALIGNED((size_t)h * per * sizeof(float));
    for (png_uint_32 y = 0; y < h; y++)
        for (size_t x = 0; x < per; x++) {
            if (out_depth == 8) {
                out[(size_t)y * per + x] = rowp[y][x] / 255.0f;
            } else {
                unsigned short v;
                memcpy(&v, rowp[y] + 2 * x, 2);
                out[(size_t)y * per + x] = v / 65535.0f;
            }
        }
    png_structp p = png;
    png_infop i = info;
    png_destroy_read_struct(&p, &i, NULL);
    free(rows);
    free(rowp);
    im->data = out;
    im->height = (int)h;
    im->width = (int)w;
    im->channels = ch;
    im->bits = out_depth;
    return 0;
}

int dtcl_png_decode(const void *buf, size_t len, float **pixels, int *height, int *width, DtclError *err)
{
    DtclImage im;
    *pixels = NULL;
    if (decode(buf, len, 1, &im, err) != 0)
        return -1;
    *pixels = im.data;
    *height = im.height;
    *width = im.width;
    return 0;
}

int dtcl_png_decode_image(const void *buf, size_t len, DtclImage *im, DtclError *err)
{
    return decode(buf, len, 0, im, err);
}

int dtcl_png_load(const char *path, float **pixels, int *height, int *width, DtclError *err)
{
    *pixels = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dtcl_fail(err, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return dtcl_fail(err, "%s: cannot read", path);
    }
    long n = ftell(f);
    rewind(f);
    if (n < 0 || n > (1L << 30)) {
        fclose(f);
        return dtcl_fail(err, "%s: cannot read (or larger than 1 GiB)", path);
    }
    unsigned char *buf = DTCL_MALLOC((size_t)n);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    int rc = dtcl_png_decode(buf, got, pixels, height, width, err);
    free(buf);
    return rc == 0 ? 0 : dtcl_fail_prefix(err, path);
}

/* Row y of the image as PNG samples (channels * width of them, bits deep). */
typedef void (*RowFill)(unsigned char *row, int y, int width, int bits, const void *src);

static int png_write(const char *path, int height, int width, int bits, int color, int channels, RowFill fill,
                     const void *src, DtclError *err)
{
    DtclOutFile out;
    if (dtcl_out_open(&out, path, err) != 0)
        return -1;
    PngFailure fail;
    png_structp volatile png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &fail, on_png_error, on_png_warning);
    png_infop volatile info = png ? png_create_info_struct(png) : NULL;
    unsigned char *volatile row = NULL;
    if (!png || !info) {
        dtcl_out_abort(&out);
        return dtcl_fail(err, "%s: out of memory in libpng", path);
    }
    if (setjmp(fail.jmp)) {
        png_structp p = png;
        png_infop i = info;
        png_destroy_write_struct(&p, &i);
        free(row);
        dtcl_out_abort(&out);
        return dtcl_fail(err, "%s: cannot write PNG: %s", path, fail.msg);
    }
    png_init_io(png, out.f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, bits, color, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    row = malloc((size_t)width * (size_t)channels * 2);
    if (!row)
        png_error(png, "out of memory");
    for (int y = 0; y < height; y++) {
        fill(row, y, width, bits, src);
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_structp p = png;
    png_infop i = info;
    png_destroy_write_struct(&p, &i);
    free(row);
    return dtcl_out_commit(&out, err);
}

static void fill_grey(unsigned char *row, int y, int width, int bits, const void *src)
{
    const float *pixels = src;
    const float maxv = bits == 8 ? 255.0f : 65535.0f;
    for (int x = 0; x < width; x++) {
        float v = pixels[(size_t)y * width + x];
        v = v != v ? 0.0f : v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        unsigned q = (unsigned)(v * maxv + 0.5f);
        if (bits == 8) {
            row[x] = (unsigned char)q;
        } else { /* PNG stores 16-bit samples big-endian */
            row[2 * x] = (unsigned char)(q >> 8);
            row[2 * x + 1] = (unsigned char)(q & 0xff);
        }
    }
}

int dtcl_png_save(const char *path, const float *pixels, int height, int width, int bits, DtclError *err)
{
    if (bits != 8 && bits != 16)
        return dtcl_fail(err, "%s: PNG bit depth must be 8 or 16", path);
    return png_write(path, height, width, bits, PNG_COLOR_TYPE_GRAY, 1, fill_grey, pixels, err);
}

static void fill_rgb(unsigned char *row, int y, int width, int bits, const void *src)
{
    (void)bits;
    memcpy(row, (const unsigned char *)src + (size_t)y * width * 3, (size_t)width * 3);
}

int dtcl_png_save_rgb(const char *path, const unsigned char *rgb, int height, int width, DtclError *err)
{
    return png_write(path, height, width, 8, PNG_COLOR_TYPE_RGB, 3, fill_rgb, rgb, err);
}
