/* tiffio.c: TIFF pictures through libtiff, from memory (see image.h). The
 * samples are read as the file stores them, strip by strip or tile by tile,
 * contiguous or one plane per sample; libtiff undoes the compression and the
 * byte order. Layouts outside that (YCbCr, 1-bit, 12-bit, ...) go through
 * libtiff's own RGBA reader, 8 bits per sample. */
#include "io/image.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

/* the most samples one picture may hold (512 MiB of floats): a header that
 * claims more is refused before anything is allocated */
#define MAX_SAMPLES ((size_t)1 << 27)
#define MAX_SIDE 16384

/* libtiff reports through process-wide handlers: the last error is kept */
static char last_error[256];

static void on_error(const char *module, const char *fmt, va_list ap)
{
    (void)module;
    vsnprintf(last_error, sizeof last_error, fmt, ap);
}

static void on_warning(const char *module, const char *fmt, va_list ap)
{
    (void)module, (void)fmt, (void)ap; /* unknown tags and the like: the picture is still read */
}

typedef struct {
    const unsigned char *p;
    tmsize_t len, pos;
} Source;

static tmsize_t src_read(thandle_t h, void *out, tmsize_t n)
{
    Source *s = h;
    if (n < 0 || s->pos >= s->len)
        return 0;
    if (n > s->len - s->pos)
        n = s->len - s->pos;
    memcpy(out, s->p + s->pos, (size_t)n);
    s->pos += n;
    return n;
}

static tmsize_t src_write(thandle_t h, void *in, tmsize_t n)
{
    (void)h, (void)in, (void)n;
    return 0;
}

static toff_t src_seek(thandle_t h, toff_t off, int whence)
{
    Source *s = h;
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (int64_t)s->pos : (int64_t)s->len;
    int64_t to = base + (int64_t)off;
    if (to < 0)
        return (toff_t)-1;
    s->pos = to > s->len ? s->len : (tmsize_t)to;
    return (toff_t)to;
}

static int src_close(thandle_t h)
{
    (void)h;
    return 0;
}

static toff_t src_size(thandle_t h)
{
    return (toff_t)((Source *)h)->len;
}

static int src_map(thandle_t h, void **base, toff_t *size)
{
    (void)h, (void)base, (void)size;
    return 0;
}

static void src_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h, (void)base, (void)size;
}

typedef struct {
    uint32_t w, h;
    uint16_t bps, spp, planar, photo, format;
    uint16_t *cmap[3]; /* palette */
} Layout;

/* sample value (stored at raw, index i) as a float in [0,1] */
static float sample(const Layout *l, const unsigned char *raw, size_t i)
{
    if (l->bps == 8)
        return raw[i] / 255.0f;
    if (l->bps == 16) {
        uint16_t v;
        memcpy(&v, raw + 2 * i, 2);
        return v / 65535.0f;
    }
    float f;
    memcpy(&f, raw + 4 * i, 4);
    return f;
}

/* Copies a rectangle of samples (rows x cols starting at row y0, column
 * x0; `stride` samples per row in raw, `nsamp` samples per pixel there)
 * into the picture: sample s0 of raw goes to channel c0, and so on. */
static void place(const Layout *l, float *out, const unsigned char *raw, uint32_t y0, uint32_t x0, uint32_t rows,
                  uint32_t cols, size_t stride, int nsamp, int c0)
{
    for (uint32_t r = 0; r < rows && y0 + r < l->h; r++)
        for (uint32_t c = 0; c < cols && x0 + c < l->w; c++)
            for (int s = 0; s < nsamp; s++) {
                float v = sample(l, raw, (size_t)r * stride + (size_t)c * nsamp + s);
                out[((size_t)(y0 + r) * l->w + x0 + c) * l->spp + c0 + s] = v;
            }
}

static int read_native(TIFF *tif, const Layout *l, float *out)
{
    int planes = l->planar == PLANARCONFIG_SEPARATE ? l->spp : 1, nsamp = planes > 1 ? 1 : l->spp;
    int ok = 1;
    if (TIFFIsTiled(tif)) {
        uint32_t tw = 0, th = 0;
        if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw) || !TIFFGetField(tif, TIFFTAG_TILELENGTH, &th) || tw == 0 ||
            th == 0 || (size_t)tw * th * nsamp > MAX_SAMPLES) {
            snprintf(last_error, sizeof last_error, "bad tile size %ux%u", tw, th);
            return -1;
        }
        tmsize_t tsize = TIFFTileSize(tif);
        if (tsize <= 0 || (size_t)tsize < (size_t)tw * th * nsamp * (l->bps / 8)) {
            snprintf(last_error, sizeof last_error, "tiles smaller than their pixels");
            return -1;
        }
        unsigned char *buf = _TIFFmalloc(tsize);
        if (!buf)
            return -1;
        for (int p = 0; p < planes && ok; p++)
            for (uint32_t y = 0; y < l->h && ok; y += th)
                for (uint32_t x = 0; x < l->w && ok; x += tw) {
                    if (TIFFReadTile(tif, buf, x, y, 0, (uint16_t)p) < 0)
                        ok = 0;
                    else
                        place(l, out, buf, y, x, th, tw, (size_t)tw * nsamp, nsamp, p);
                }
        _TIFFfree(buf);
        return ok ? 0 : -1;
    }
    uint32_t rps = 0;
    TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
    if (rps == 0 || rps > l->h)
        rps = l->h;
    tmsize_t ssize = TIFFStripSize(tif);
    if (ssize <= 0 || (size_t)ssize < (size_t)rps * l->w * nsamp * (l->bps / 8)) {
        snprintf(last_error, sizeof last_error, "strips smaller than their rows");
        return -1;
    }
    unsigned char *buf = _TIFFmalloc(ssize);
    if (!buf)
        return -1;
    uint32_t per_plane = (l->h + rps - 1) / rps;
    for (int p = 0; p < planes && ok; p++)
        for (uint32_t k = 0; k < per_plane && ok; k++) {
            if (TIFFReadEncodedStrip(tif, (uint32_t)p * per_plane + k, buf, ssize) < 0)
                ok = 0;
            else
                place(l, out, buf, k * rps, 0, rps, l->w, (size_t)l->w * nsamp, nsamp, p);
        }
    _TIFFfree(buf);
    return ok ? 0 : -1;
}

int dtcl_tiff_decode(const void *buf, size_t len, DtclImage *im, DtclError *err)
{
    memset(im, 0, sizeof *im);
    static const unsigned char le[4] = {'I', 'I', 42, 0}, be[4] = {'M', 'M', 0, 42}, le8[4] = {'I', 'I', 43, 0},
                               be8[4] = {'M', 'M', 0, 43};
    if (len < 8 || (memcmp(buf, le, 4) && memcmp(buf, be, 4) && memcmp(buf, le8, 4) && memcmp(buf, be8, 4)))
        return dtcl_fail(err, "not a TIFF file (bad signature)");
    TIFFSetErrorHandler(on_error);
    TIFFSetWarningHandler(on_warning);
    last_error[0] = 0;
    Source src = {buf, (tmsize_t)len, 0};
    TIFF *tif = TIFFClientOpen("memory", "rm", (thandle_t)&src, src_read, src_write, src_seek, src_close, src_size,
                               src_map, src_unmap);
    if (!tif)
        return dtcl_fail(err, "corrupt TIFF: %s", last_error[0] ? last_error : "unreadable header");
    Layout l = {0};
    int rc = 0;
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &l.w) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &l.h))
        rc = dtcl_fail(err, "corrupt TIFF: no image width or length");
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &l.bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &l.spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &l.planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &l.format);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &l.photo))
        l.photo = l.spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
    if (rc == 0 && (l.w < 1 || l.h < 1 || l.w > MAX_SIDE || l.h > MAX_SIDE))
        rc = dtcl_fail(err, "TIFF of %ux%u pixels (expected 1 to %d on a side)", l.w, l.h, MAX_SIDE);
    if (rc == 0 && (l.spp < 1 || l.spp > 4))
        rc = dtcl_fail(err, "TIFF with %u samples per pixel (expected 1 to 4)", l.spp);
    int native = (l.format == SAMPLEFORMAT_UINT && (l.bps == 8 || l.bps == 16)) ||
                 (l.format == SAMPLEFORMAT_IEEEFP && l.bps == 32);
    int photo_ok = l.photo == PHOTOMETRIC_MINISBLACK || l.photo == PHOTOMETRIC_MINISWHITE ||
                   l.photo == PHOTOMETRIC_RGB || (l.photo == PHOTOMETRIC_PALETTE && l.spp == 1 && l.bps <= 16);
    if (rc == 0 && native && photo_ok && l.photo == PHOTOMETRIC_PALETTE &&
        (l.format != SAMPLEFORMAT_UINT || !TIFFGetField(tif, TIFFTAG_COLORMAP, &l.cmap[0], &l.cmap[1], &l.cmap[2])))
        photo_ok = 0;
    int channels = l.photo == PHOTOMETRIC_PALETTE && photo_ok && native ? 3 : l.spp;
    if (rc == 0 && native && photo_ok) {
        if ((size_t)l.w * l.h * l.spp > MAX_SAMPLES) {
            rc = dtcl_fail(err, "TIFF of %ux%u pixels and %u samples is too large", l.w, l.h, l.spp);
        } else {
            float *raw = DTCL_ALIGNED(sizeof(float) * (size_t)l.w * l.h * l.spp);
            if (read_native(tif, &l, raw) != 0) {
                free(raw);
                rc = dtcl_fail(err, "corrupt TIFF: %s", last_error[0] ? last_error : "unreadable data");
            } else {
                size_t n = (size_t)l.w * l.h;
                if (l.photo == PHOTOMETRIC_MINISWHITE && l.format == SAMPLEFORMAT_UINT)
                    for (size_t q = 0; q < n * l.spp; q++)
                        raw[q] = 1.0f - raw[q];
                if (l.photo == PHOTOMETRIC_PALETTE) { /* indices to the colour map's RGB */
                    float *rgb = DTCL_ALIGNED(sizeof(float) * n * 3);
                    uint32_t ncol = 1u << l.bps, top = l.bps == 8 ? 255 : 65535;
                    for (size_t q = 0; q < n; q++) {
                        uint32_t idx = (uint32_t)(raw[q] * top + 0.5f);
                        idx = idx < ncol ? idx : ncol - 1;
                        for (int c = 0; c < 3; c++)
                            rgb[3 * q + c] = l.cmap[c][idx] / 65535.0f;
                    }
                    free(raw);
                    raw = rgb;
                }
                im->data = raw;
                im->channels = channels;
                im->bits = l.bps;
            }
        }
    } else if (rc == 0) { /* libtiff's RGBA reader: 8 bits per sample */
        if ((size_t)l.w * l.h * 4 > MAX_SAMPLES) {
            rc = dtcl_fail(err, "TIFF of %ux%u pixels is too large", l.w, l.h);
        } else {
            uint32_t *rgba = _TIFFmalloc((tmsize_t)sizeof(uint32_t) * l.w * l.h);
            if (!rgba || !TIFFReadRGBAImageOriented(tif, l.w, l.h, rgba, ORIENTATION_TOPLEFT, 0)) {
                rc = dtcl_fail(err, "TIFF layout not read (%u bits, %u samples, photometric %u): %s", l.bps, l.spp,
                               l.photo, last_error[0] ? last_error : "unsupported");
            } else {
                size_t n = (size_t)l.w * l.h;
                float *px = DTCL_ALIGNED(sizeof(float) * n * 3);
                for (size_t q = 0; q < n; q++) {
                    px[3 * q] = TIFFGetR(rgba[q]) / 255.0f;
                    px[3 * q + 1] = TIFFGetG(rgba[q]) / 255.0f;
                    px[3 * q + 2] = TIFFGetB(rgba[q]) / 255.0f;
                }
                im->data = px;
                im->channels = 3;
                im->bits = 8;
            }
            if (rgba)
                _TIFFfree(rgba);
        }
    }
    TIFFClose(tif);
    if (rc == 0) {
        im->height = (int)l.h;
        im->width = (int)l.w;
    }
    return rc;
}
