/* image.c: a picture file of any of the formats by its signature, and its
 * planes (see image.h). */
#include "io/image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dtcl_image_load(const char *path, DtclImage *im, DtclError *err)
{
    memset(im, 0, sizeof *im);
    FILE *f = fopen(path, "rb");
    if (!f)
        return dtcl_fail(err, "%s: cannot open: %s", path, strerror(errno));
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n < 0 || n > (1L << 30) || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return dtcl_fail(err, "%s: cannot read (or larger than 1 GiB)", path);
    }
    unsigned char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return dtcl_fail(err, "%s: cannot read", path);
    }
    fclose(f);
    int rc;
    if (n >= 8 && memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0)
        rc = dtcl_png_decode_image(buf, (size_t)n, im, err);
    else if (n >= 2 && buf[0] == 0xFF && buf[1] == 0xD8)
        rc = dtcl_jpeg_decode(buf, (size_t)n, im, err);
    else if (n >= 4 && (memcmp(buf, "II", 2) == 0 || memcmp(buf, "MM", 2) == 0))
        rc = dtcl_tiff_decode(buf, (size_t)n, im, err);
    else
        rc = dtcl_fail(err, "not a PNG, TIFF or JPEG file (unknown signature)");
    free(buf);
    if (rc != 0)
        dtcl_fail_prefix(err, path);
    return rc;
}

void dtcl_image_free(DtclImage *im)
{
    free(im->data);
    memset(im, 0, sizeof *im);
}

int dtcl_image_plane(const DtclImage *im, int k, float *out, DtclError *err)
{
    size_t n = (size_t)im->height * im->width;
    int C = im->channels;
    if (k >= C || k < -1)
        return dtcl_fail(err, "channel %d of a picture with %d (expected 0 to %d)", k, C, C - 1);
    if (k >= 0 || C <= 2) { /* one channel, or the grey sample of grey (+ alpha) */
        int c = k >= 0 ? k : 0;
        for (size_t q = 0; q < n; q++)
            out[q] = im->data[q * C + c];
        return 0;
    }
    for (size_t q = 0; q < n; q++) { /* Rec. 709 luma; alpha dropped */
        const float *p = im->data + q * C;
        out[q] = 0.2126f * p[0] + 0.7152f * p[1] + 0.0722f * p[2];
    }
    return 0;
}
