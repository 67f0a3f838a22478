/* test_image.c: the picture readers (io/image.h) on files written here with
 * libtiff and libjpeg, whose pixels are known: TIFF with every layout the
 * reader takes natively (8/16-bit and float, grey, min-is-white, RGB,
 * palette, contiguous or planar, strips or tiles, uncompressed, LZW with a
 * predictor, Deflate, PackBits) and one through libtiff's RGBA reader
 * (JPEG-compressed YCbCr); JPEG grey and colour; damaged files refused with
 * the path named; planes and grey conversion. 8/16-bit and float samples
 * must come back exactly; JPEG (lossy, quality 100) within 3/255.
 *
 * `test_image --write-seeds DIR` writes the fuzz seeds of tests/fuzz/tiff
 * and tests/fuzz/jpeg (DIR/tiff, DIR/jpeg). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <jpeglib.h>

#include "data/dataset.h"
#include "io/image.h"
#include "testutil.h"

static char tmp[256];

typedef struct {
    const char *name;
    uint16_t bps, spp, format, photo, planar, compression, predictor;
    uint32_t tile; /* 0: strips (3 rows each) */
} Layout;

enum { W = 19, H = 13 }; /* odd, so that strips and tiles end part-way */

/* the value of sample s of pixel (y, x) in [0,1], on the layout's grid */
static double value(const Layout *l, int y, int x, int s)
{
    if (l->photo == PHOTOMETRIC_YCBCR)
        s = 0; /* grey content in RGB, as medical pictures often are: chroma subsampling costs nothing */
    double v = 0.5 + 0.45 * sin(0.37 * y + 0.61 * x + 1.3 * s + 0.05 * y * x); /* smooth, for JPEG */
    if (l->format == SAMPLEFORMAT_IEEEFP)
        return v;
    double top = l->bps == 8 ? 255 : 65535;
    return round(v * top) / top;
}

static void put(const Layout *l, unsigned char *buf, size_t i, double v)
{
    if (l->format == SAMPLEFORMAT_IEEEFP) {
        float f = (float)v;
        memcpy(buf + 4 * i, &f, 4);
    } else if (l->bps == 8) {
        buf[i] = (unsigned char)lround(v * 255);
    } else {
        uint16_t u = (uint16_t)lround(v * 65535);
        memcpy(buf + 2 * i, &u, 2);
    }
}

static void write_tiff(const char *path, const Layout *l)
{
    TIFF *t = TIFFOpen(path, "w");
    assert_non_null(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, W);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, H);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, l->bps);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, l->spp);
    TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, l->format);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, l->photo);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, l->planar);
    TIFFSetField(t, TIFFTAG_COMPRESSION, l->compression);
    if (l->predictor)
        TIFFSetField(t, TIFFTAG_PREDICTOR, l->predictor);
    if (l->spp == 4 || l->spp == 2) {
        uint16_t extra = EXTRASAMPLE_UNASSALPHA;
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &extra);
    }
    if (l->photo == PHOTOMETRIC_PALETTE) {
        static uint16_t r[256], g[256], b[256];
        for (int k = 0; k < 256; k++) {
            r[k] = (uint16_t)(k * 257);
            g[k] = (uint16_t)((255 - k) * 257);
            b[k] = (uint16_t)((k * 7 % 256) * 257);
        }
        TIFFSetField(t, TIFFTAG_COLORMAP, r, g, b);
    }
    if (l->compression == COMPRESSION_JPEG) {
        TIFFSetField(t, TIFFTAG_JPEGQUALITY, 100);
        TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    }
    int planes = l->planar == PLANARCONFIG_SEPARATE ? l->spp : 1, nsamp = planes > 1 ? 1 : l->spp;
    size_t bytes = l->bps / 8;
    if (l->tile) {
        TIFFSetField(t, TIFFTAG_TILEWIDTH, l->tile);
        TIFFSetField(t, TIFFTAG_TILELENGTH, l->tile);
        unsigned char *buf = calloc((size_t)l->tile * l->tile * nsamp, bytes);
        for (int p = 0; p < planes; p++)
            for (uint32_t y = 0; y < H; y += l->tile)
                for (uint32_t x = 0; x < W; x += l->tile) {
                    memset(buf, 0, (size_t)l->tile * l->tile * nsamp * bytes);
                    for (uint32_t r = 0; r < l->tile && y + r < H; r++)
                        for (uint32_t c = 0; c < l->tile && x + c < W; c++)
                            for (int s = 0; s < nsamp; s++)
                                put(l, buf, ((size_t)r * l->tile + c) * nsamp + s,
                                    value(l, (int)(y + r), (int)(x + c), planes > 1 ? p : s));
                    assert_true(TIFFWriteTile(t, buf, x, y, 0, (uint16_t)p) >= 0);
                }
        free(buf);
    } else {
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 3);
        unsigned char *buf = calloc((size_t)W * 3 * nsamp, bytes);
        uint32_t strips = (H + 2) / 3;
        for (int p = 0; p < planes; p++)
            for (uint32_t k = 0; k < strips; k++) {
                uint32_t rows = k * 3 + 3 <= H ? 3 : H - k * 3;
                for (uint32_t r = 0; r < rows; r++)
                    for (int c = 0; c < W; c++)
                        for (int s = 0; s < nsamp; s++)
                            put(l, buf, ((size_t)r * W + c) * nsamp + s,
                                value(l, (int)(k * 3 + r), c, planes > 1 ? p : s));
                assert_true(TIFFWriteEncodedStrip(t, (uint32_t)p * strips + k, buf,
                                                  (tmsize_t)((size_t)rows * W * nsamp * bytes)) >= 0);
            }
        free(buf);
    }
    TIFFClose(t);
}

static const Layout layouts[] = {
    {"grey 8-bit", 8, 1, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, PLANARCONFIG_CONTIG, COMPRESSION_NONE, 0, 0},
    {"grey 16-bit LZW", 16, 1, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, PLANARCONFIG_CONTIG, COMPRESSION_LZW, 2, 0},
    {"grey min-is-white", 8, 1, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISWHITE, PLANARCONFIG_CONTIG, COMPRESSION_NONE, 0, 0},
    {"grey float", 32, 1, SAMPLEFORMAT_IEEEFP, PHOTOMETRIC_MINISBLACK, PLANARCONFIG_CONTIG, COMPRESSION_ADOBE_DEFLATE, 3,
     0},
    {"grey+alpha 16-bit", 16, 2, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, PLANARCONFIG_CONTIG, COMPRESSION_NONE, 0,
     0},
    {"RGB 8-bit LZW", 8, 3, SAMPLEFORMAT_UINT, PHOTOMETRIC_RGB, PLANARCONFIG_CONTIG, COMPRESSION_LZW, 2, 0},
    {"RGB planar PackBits", 8, 3, SAMPLEFORMAT_UINT, PHOTOMETRIC_RGB, PLANARCONFIG_SEPARATE, COMPRESSION_PACKBITS, 0,
     0},
    {"RGBA 16-bit Deflate", 16, 4, SAMPLEFORMAT_UINT, PHOTOMETRIC_RGB, PLANARCONFIG_CONTIG, COMPRESSION_ADOBE_DEFLATE, 0,
     0},
    {"RGB tiles 16x16", 8, 3, SAMPLEFORMAT_UINT, PHOTOMETRIC_RGB, PLANARCONFIG_CONTIG, COMPRESSION_NONE, 0, 16},
    {"grey 16-bit tiles planar", 16, 1, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, PLANARCONFIG_SEPARATE,
     COMPRESSION_LZW, 0, 16},
    {"palette 8-bit", 8, 1, SAMPLEFORMAT_UINT, PHOTOMETRIC_PALETTE, PLANARCONFIG_CONTIG, COMPRESSION_NONE, 0, 0},
};

static void test_tiff_layouts(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof layouts / sizeof layouts[0]; k++) {
        const Layout *l = &layouts[k];
        char path[512];
        snprintf(path, sizeof path, "%s/layout%zu.tif", tmp, k);
        write_tiff(path, l);
        DtclImage im;
        DtclError err;
        if (dtcl_image_load(path, &im, &err) != 0)
            fail_msg("%s: %s", l->name, err.msg);
        int C = l->photo == PHOTOMETRIC_PALETTE ? 3 : l->spp;
        assert_int_equal(im.width, W);
        assert_int_equal(im.height, H);
        assert_int_equal(im.channels, C);
        double worst = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int s = 0; s < C; s++) {
                    double want;
                    if (l->photo == PHOTOMETRIC_PALETTE) {
                        int idx = (int)lround(value(l, y, x, 0) * 255);
                        int v[3] = {idx, 255 - idx, idx * 7 % 256};
                        want = v[s] * 257 / 65535.0;
                    } else {
                        want = value(l, y, x, s);
                        if (l->photo == PHOTOMETRIC_MINISWHITE)
                            want = 1 - want;
                    }
                    worst = fmax(worst, fabs(im.data[((size_t)y * W + x) * C + s] - want));
                }
        printf("  %-26s %d channels, worst |error| %.2e\n", l->name, C, worst);
        assert_true(worst <= 1e-6);
        dtcl_image_free(&im);
    }
}

static void test_tiff_rgba_fallback(void **state)
{
    (void)state; /* JPEG-compressed YCbCr TIFF: libtiff's RGBA reader, lossy */
    Layout l = {"RGB JPEG-in-TIFF", 8, 3, SAMPLEFORMAT_UINT, PHOTOMETRIC_YCBCR, PLANARCONFIG_CONTIG, COMPRESSION_JPEG, 0,
                16};
    char path[512];
    snprintf(path, sizeof path, "%s/ycbcr.tif", tmp);
    write_tiff(path, &l);
    DtclImage im;
    DtclError err;
    if (dtcl_image_load(path, &im, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(im.channels, 3);
    double sum = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int s = 0; s < 3; s++)
                sum += fabs(im.data[((size_t)y * W + x) * 3 + s] - value(&l, y, x, s));
    printf("  JPEG-compressed YCbCr TIFF of grey content: mean |error| %.4f (lossy; tolerance 0.02)\n",
           sum / (W * H * 3));
    assert_true(sum / (W * H * 3) < 0.02);
    dtcl_image_free(&im);
}

static void write_jpeg(const char *path, int comps, int quality)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    jpeg_stdio_dest(&c, f);
    c.image_width = W;
    c.image_height = H;
    c.input_components = comps;
    c.in_color_space = comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    if (comps == 3) { /* no chroma subsampling: quality 100 is then near exact */
        for (int k = 0; k < 3; k++)
            c.comp_info[k].h_samp_factor = c.comp_info[k].v_samp_factor = 1;
    }
    jpeg_start_compress(&c, TRUE);
    unsigned char row[W * 3];
    Layout l = {"", 8, (uint16_t)comps, SAMPLEFORMAT_UINT, 0, 0, 0, 0, 0};
    while (c.next_scanline < H) {
        for (int x = 0; x < W; x++)
            for (int s = 0; s < comps; s++)
                row[x * comps + s] = (unsigned char)lround(value(&l, (int)c.next_scanline, x, s) * 255);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static void test_jpeg(void **state)
{
    (void)state;
    for (int comps = 1; comps <= 3; comps += 2) {
        char path[512];
        snprintf(path, sizeof path, "%s/pic%d.jpg", tmp, comps);
        write_jpeg(path, comps, 100);
        DtclImage im;
        DtclError err;
        if (dtcl_image_load(path, &im, &err) != 0)
            fail_msg("%s", err.msg);
        assert_int_equal(im.channels, comps);
        Layout l = {"", 8, (uint16_t)comps, SAMPLEFORMAT_UINT, 0, 0, 0, 0, 0};
        double worst = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int s = 0; s < comps; s++)
                    worst = fmax(worst, fabs(im.data[((size_t)y * W + x) * comps + s] - value(&l, y, x, s)));
        printf("  JPEG %s, quality 100: worst |error| %.4f (tolerance 3/255 = %.4f)\n", comps == 1 ? "grey" : "RGB",
               worst, 3 / 255.0);
        assert_true(worst <= 3 / 255.0 + 1e-6);
        dtcl_image_free(&im);
    }
}

static void test_planes(void **state)
{
    (void)state;
    float px[2 * 3] = {1, 0, 0, 0.5f, 0.5f, 0.5f};
    DtclImage im = {1, 2, 3, 8, px};
    float out[2];
    DtclError err;
    assert_int_equal(dtcl_image_plane(&im, -1, out, &err), 0);
    assert_float_equal(out[0], 0.2126f, 1e-6);
    assert_float_equal(out[1], 0.5f, 1e-6);
    assert_int_equal(dtcl_image_plane(&im, 1, out, &err), 0);
    assert_float_equal(out[0], 0.0f, 0);
    assert_int_equal(dtcl_image_plane(&im, 3, out, &err), -1);
    printf("  refused: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "channel 3 of a picture with 3"));
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(p, 1, n, f);
    fclose(f);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*n + 1);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static void test_damaged(void **state)
{
    (void)state;
    char good[512], bad[512];
    snprintf(good, sizeof good, "%s/layout1.tif", tmp);
    write_tiff(good, &layouts[1]);
    size_t n;
    unsigned char *b = read_bytes(good, &n);
    snprintf(bad, sizeof bad, "%s/truncated.tif", tmp);
    write_bytes(bad, b, n / 3);
    DtclImage im;
    DtclError err;
    struct {
        const char *file;
        const void *data;
        size_t len;
        const char *needle;
    } cases[] = {
        {"truncated.tif", b, n / 3, "truncated.tif: corrupt TIFF"},
        {"header.tif", "II*\0\x08\0\0\0\x01\0", 10, "header.tif: corrupt TIFF"},
        {"text.tif", "MM not a tiff at all", 20, "text.tif: not a TIFF file"},
        {"short.jpg", "\xff\xd8\xff\xe0\0\x10JFIF", 10, "short.jpg: corrupt JPEG"},
        {"unknown.png", "GIF89a", 6, "unknown.png: not a PNG, TIFF or JPEG file"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(bad, sizeof bad, "%s/%s", tmp, cases[k].file);
        write_bytes(bad, cases[k].data, cases[k].len);
        assert_int_equal(dtcl_image_load(bad, &im, &err), -1);
        printf("  refused: %s\n", err.msg);
        assert_non_null(strstr(err.msg, cases[k].needle));
    }
    /* a JPEG cut short: the rows it holds, then an error or grey rows, never a crash */
    snprintf(good, sizeof good, "%s/pic3.jpg", tmp);
    write_jpeg(good, 3, 90);
    free(b);
    b = read_bytes(good, &n);
    for (size_t cut = 20; cut < n; cut += n / 7) {
        snprintf(bad, sizeof bad, "%s/cut.jpg", tmp);
        write_bytes(bad, b, cut);
        if (dtcl_image_load(bad, &im, &err) == 0)
            dtcl_image_free(&im);
    }
    free(b);
}

/* tests/fuzz/tiff and tests/fuzz/jpeg: one file of each layout */
static int write_seeds(const char *dir)
{
    char d[4096], path[4300];
    snprintf(d, sizeof d, "%s/tiff", dir);
    mkdir(d, 0755);
    for (size_t k = 0; k < sizeof layouts / sizeof layouts[0]; k++) {
        snprintf(path, sizeof path, "%s/seed-%zu.tif", d, k);
        write_tiff(path, &layouts[k]);
    }
    Layout y = {"", 8, 3, SAMPLEFORMAT_UINT, PHOTOMETRIC_YCBCR, PLANARCONFIG_CONTIG, COMPRESSION_JPEG, 0, 16};
    snprintf(path, sizeof path, "%s/seed-ycbcr-jpeg.tif", d);
    write_tiff(path, &y);
    snprintf(d, sizeof d, "%s/jpeg", dir);
    mkdir(d, 0755);
    snprintf(path, sizeof path, "%s/seed-grey.jpg", d);
    write_jpeg(path, 1, 90);
    snprintf(path, sizeof path, "%s/seed-rgb.jpg", d);
    write_jpeg(path, 3, 75);
    return 0;
}

int main(int argc, char **argv)
{
    TIFFSetWarningHandler(NULL);
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
        return write_seeds(argv[2]);
    snprintf(tmp, sizeof tmp, "test_image.tmp.XXXXXX");
    if (!mkdtemp(tmp))
        return 99;
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_tiff_layouts), cmocka_unit_test(test_tiff_rgba_fallback),
                                       cmocka_unit_test(test_jpeg), cmocka_unit_test(test_planes),
                                       cmocka_unit_test(test_damaged)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (!getenv("DTCL_TEST_KEEP"))
        dtcl_remove_tree(tmp);
    return rc;
}
