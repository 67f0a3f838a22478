/* test_png.c: grey PNG write and read (8 and 16 bit), colour reduced to
 * grey, and corrupt files refused with the file's name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <png.h>
#include <unistd.h>

#include "io/pngio.h"
#include "testutil.h"

static void temp_path(char *path)
{
    strcpy(path, "/tmp/dtcl-test-png-XXXXXX");
    int fd = mkstemp(path);
    close(fd);
}

static void test_roundtrip(void **state)
{
    (void)state;
    enum { H = 5, W = 7 };
    float a[H * W];
    for (int i = 0; i < H * W; i++)
        a[i] = (float)i / (H * W - 1);
    a[3] = -0.5f; /* clipped */
    a[4] = 2.0f;
    char path[64];
    temp_path(path);
    DtclError err;
    for (int bits = 8; bits <= 16; bits += 8) {
        assert_int_equal(dtcl_png_save(path, a, H, W, bits, &err), 0);
        float *b;
        int h, w;
        assert_int_equal(dtcl_png_load(path, &b, &h, &w, &err), 0);
        assert_int_equal(h, H);
        assert_int_equal(w, W);
        double worst = 0, q = bits == 8 ? 255.0 : 65535.0;
        for (int i = 0; i < H * W; i++) {
            float c = a[i] < 0 ? 0 : a[i] > 1 ? 1 : a[i];
            worst = fmax(worst, fabs(b[i] - c));
        }
        printf("  %d-bit round trip: worst error %.3e (tolerance %.3e, half a quantum)\n", bits, worst, 0.5 / q + 1e-7);
        assert_true(worst <= 0.5 / q + 1e-7);
        free(b);
    }
    unlink(path);
}

static void test_rgb_to_grey(void **state)
{
    (void)state;
    char path[64];
    temp_path(path);
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, 2, 1, 8, PNG_COLOR_TYPE_RGBA, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    unsigned char row[8] = {100, 100, 100, 255, 255, 255, 255, 128}; /* grey content, as NIH's RGBA files */
    png_write_row(png, row);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    float *b;
    int h, w;
    DtclError err;
    assert_int_equal(dtcl_png_load(path, &b, &h, &w, &err), 0);
    printf("  RGBA grey pixels read as %.6f %.6f (expected %.6f 1)\n", b[0], b[1], 100 / 255.0);
    assert_true(fabs(b[0] - 100 / 255.0) < 1.0 / 255);
    assert_true(fabs(b[1] - 1.0) < 1e-6);
    free(b);
    unlink(path);
}

static void test_corrupt(void **state)
{
    (void)state;
    char path[64];
    temp_path(path);
    float a[16] = {0};
    DtclError err;
    assert_int_equal(dtcl_png_save(path, a, 4, 4, 8, &err), 0);
    /* keep the signature and IHDR, cut the rest */
    assert_int_equal(truncate(path, 40), 0);
    float *b;
    int h, w;
    assert_int_equal(dtcl_png_load(path, &b, &h, &w, &err), -1);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, path));
    FILE *f = fopen(path, "wb");
    fputs("GIF89a not a png", f);
    fclose(f);
    assert_int_equal(dtcl_png_load(path, &b, &h, &w, &err), -1);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "not a PNG"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_rgb_to_grey),
        cmocka_unit_test(test_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
