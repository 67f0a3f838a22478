/* jpegio.c: JPEG pictures through libjpeg-turbo, from memory (see image.h):
 * grey stays grey, colour (YCbCr or RGB) comes as RGB; CMYK is refused. */
#include "io/image.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#define MAX_SIDE 16384
#define MAX_SAMPLES ((size_t)1 << 27)

typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];
} Failure;

static void on_error(j_common_ptr c)
{
    Failure *f = (Failure *)c->err;
    c->err->format_message(c, f->msg);
    longjmp(f->jmp, 1);
}

static void on_message(j_common_ptr c)
{
    (void)c; /* warnings (corrupt data recovered, extraneous bytes): the picture is still read */
}

int dtcl_jpeg_decode(const void *buf, size_t len, DtclImage *im, DtclError *err)
{
    memset(im, 0, sizeof *im);
    const unsigned char *b = buf;
    if (len < 4 || b[0] != 0xFF || b[1] != 0xD8)
        return dtcl_fail(err, "not a JPEG file (bad signature)");
    struct jpeg_decompress_struct cinfo;
    Failure fail;
    /* volatile: changed after setjmp, read after longjmp */
    unsigned char *volatile row = NULL;
    float *volatile px = NULL;
    cinfo.err = jpeg_std_error(&fail.mgr);
    fail.mgr.error_exit = on_error;
    fail.mgr.output_message = on_message;
    fail.msg[0] = 0;
    if (setjmp(fail.jmp)) {
        jpeg_destroy_decompress(&cinfo);
        free(row);
        free(px);
        return dtcl_fail(err, "corrupt JPEG: %s", fail.msg);
    }
    jpeg_create_decompress(&cinfo);
    cinfo.mem->max_memory_to_use = (long)1 << 30;
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.image_width < 1 || cinfo.image_height < 1 || cinfo.image_width > MAX_SIDE ||
        cinfo.image_height > MAX_SIDE) {
        snprintf(fail.msg, sizeof fail.msg, "%ux%u pixels (expected 1 to %d on a side)", cinfo.image_width,
                 cinfo.image_height, MAX_SIDE);
        longjmp(fail.jmp, 1);
    }
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        snprintf(fail.msg, sizeof fail.msg, "CMYK pictures are not read (expected grey or colour)");
        longjmp(fail.jmp, 1);
    }
    cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int ch = cinfo.output_components;
    size_t w = cinfo.output_width, h = cinfo.output_height;
    if (ch != 1 && ch != 3) {
        snprintf(fail.msg, sizeof fail.msg, "%d components after decoding (expected 1 or 3)", ch);
        longjmp(fail.jmp, 1);
    }
    if (w * h * (size_t)ch > MAX_SAMPLES) {
        snprintf(fail.msg, sizeof fail.msg, "%zux%zu pixels is too large", w, h);
        longjmp(fail.jmp, 1);
    }
    row = malloc(w * (size_t)ch);
    px = malloc(sizeof(float) * w * h * (size_t)ch);
    if (!row || !px) {
        snprintf(fail.msg, sizeof fail.msg, "out of memory");
        longjmp(fail.jmp, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW r = row;
        size_t y = cinfo.output_scanline;
        if (jpeg_read_scanlines(&cinfo, &r, 1) != 1) {
            snprintf(fail.msg, sizeof fail.msg, "file ends early (truncated)");
            longjmp(fail.jmp, 1);
        }
        for (size_t x = 0; x < w * (size_t)ch; x++)
            px[y * w * ch + x] = row[x] / 255.0f;
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    im->data = px;
    im->height = (int)h;
    im->width = (int)w;
    im->channels = ch;
    im->bits = 8;
    return 0;
}
