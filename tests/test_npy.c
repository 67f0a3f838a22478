/* test_npy.c: the .npy reader and writer: every accepted dtype, byte order
 * and layout, and a precise error for every malformed file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <unistd.h>

#include "io/npy.h"
#include "testutil.h"

/* A .npy file in memory: preamble v1.0, the dict padded to 64, then data. */
static size_t make_npy(unsigned char *buf, const char *dict, const void *data, size_t nbytes)
{
    size_t k = strlen(dict), total = (10 + k + 1 + 63) / 64 * 64, hlen = total - 10;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, dict, k);
    memset(buf + 10 + k, ' ', hlen - k - 1);
    buf[total - 1] = '\n';
    memcpy(buf + total, data, nbytes);
    return total + nbytes;
}

static void expect_error(const unsigned char *buf, size_t len, const char *needle)
{
    float *data;
    DtclNpyInfo info;
    DtclError err = {{0}};
    assert_int_equal(dtcl_npy_decode(buf, len, &data, &info, &err), -1);
    printf("  rejected: %s\n", err.msg);
    assert_non_null(strstr(err.msg, needle));
    assert_null(data);
}

static void test_roundtrip_float32(void **state)
{
    (void)state;
    char path[] = "/tmp/dtcl-test-npy-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    float a[24];
    for (int i = 0; i < 24; i++)
        a[i] = (float)i * 0.5f - 3.0f;
    int64_t shape[3] = {2, 3, 4};
    DtclError err;
    assert_int_equal(dtcl_npy_save(path, a, 3, shape, &err), 0);
    float *b;
    DtclNpyInfo info;
    assert_int_equal(dtcl_npy_load(path, &b, &info, &err), 0);
    assert_int_equal(info.rank, 3);
    assert_int_equal(info.shape[0], 2);
    assert_int_equal(info.shape[2], 4);
    assert_int_equal(info.data_offset % 64, 0);
    assert_int_equal(test_first_diff(a, b, 24), -1);
    free(b);
    unlink(path);
}

static void test_dtypes_and_layouts(void **state)
{
    (void)state;
    unsigned char buf[512];
    float *d;
    DtclNpyInfo info;
    DtclError err;
    /* float64 */
    double f8[3] = {0.25, -1.5, 1e10};
    size_t n = make_npy(buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", f8, sizeof f8);
    assert_int_equal(dtcl_npy_decode(buf, n, &d, &info, &err), 0);
    assert_true(d[0] == 0.25f && d[1] == -1.5f && d[2] == 1e10f);
    free(d);
    /* uint8 scaled to [0,1] */
    unsigned char u1[4] = {0, 51, 255, 128};
    n = make_npy(buf, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", u1, 4);
    assert_int_equal(dtcl_npy_decode(buf, n, &d, &info, &err), 0);
    assert_true(d[0] == 0.0f && d[1] == 0.2f && d[2] == 1.0f);
    free(d);
    /* uint16 scaled to [0,1] */
    uint16_t u2[2] = {65535, 0};
    n = make_npy(buf, "{'descr': '<u2', 'fortran_order': False, 'shape': (1, 1, 2, 1), }", u2, 4);
    assert_int_equal(dtcl_npy_decode(buf, n, &d, &info, &err), 0);
    assert_int_equal(info.rank, 4);
    assert_true(d[0] == 1.0f && d[1] == 0.0f);
    free(d);
    /* big-endian float32 */
    unsigned char be[8] = {0x3f, 0x80, 0, 0, 0xc0, 0x00, 0, 0}; /* 1.0, -2.0 */
    n = make_npy(buf, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", be, 8);
    assert_int_equal(dtcl_npy_decode(buf, n, &d, &info, &err), 0);
    assert_true(d[0] == 1.0f && d[1] == -2.0f);
    free(d);
    /* Fortran order: file holds column-major (2,3) [[0,1,2],[3,4,5]] as 0,3,1,4,2,5 */
    float fo[6] = {0, 3, 1, 4, 2, 5};
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", fo, sizeof fo);
    assert_int_equal(dtcl_npy_decode(buf, n, &d, &info, &err), 0);
    for (int i = 0; i < 6; i++)
        assert_true(d[i] == (float)i);
    free(d);
    /* header keys in another order, double quotes, version 2.0 */
    float one = 1;
    n = make_npy(buf, "{\"shape\": (1,), \"fortran_order\": False, \"descr\": \"<f4\"}", &one, 4);
    buf[6] = 2; /* v2 has a 4-byte header length: shift by hand */
    unsigned char v2[512];
    memcpy(v2, buf, 8);
    size_t hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    v2[8] = buf[8], v2[9] = buf[9], v2[10] = 0, v2[11] = 0;
    memcpy(v2 + 12, buf + 10, hlen + 4);
    assert_int_equal(dtcl_npy_decode(v2, 12 + hlen + 4, &d, &info, &err), 0);
    assert_true(d[0] == 1.0f);
    free(d);
}

static void test_malformed(void **state)
{
    (void)state;
    unsigned char buf[512];
    float data[8] = {0};
    size_t n;
    expect_error((const unsigned char *)"hello world, not npy", 20, "not a NumPy");
    expect_error((const unsigned char *)"\x93NUMPY\x01", 7, "not a NumPy");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", data, 32);
    expect_error(buf, n - 5, "truncated");
    expect_error(buf, 40, "truncated");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", data, 32);
    expect_error(buf, n, "unexpected bytes");
    n = make_npy(buf, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", data, 8);
    expect_error(buf, n, "dtype '<i4' is not supported");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 2), }", data, 8);
    expect_error(buf, n, "rank above 4");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data, 4);
    expect_error(buf, n, "scalar");
    n = make_npy(buf, "{'descr': '<f4', 'shape': (2,), }", data, 8);
    expect_error(buf, n, "missing 'fortran_order'");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", data, 8);
    expect_error(buf, n, "fortran_order");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999,), }", data, 8);
    expect_error(buf, n, "implausibly large");
    n = make_npy(buf, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", data, 8);
    expect_error(buf, n, "structured");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", data, 8);
    expect_error(buf, n, "unexpected key");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data, 8);
    buf[6] = 9;
    expect_error(buf, n, "version 9.0 is not supported");
}

static void test_load_names_file(void **state)
{
    (void)state;
    float *d;
    DtclNpyInfo info;
    DtclError err;
    assert_int_equal(dtcl_npy_load("/nonexistent/dir/images.npy", &d, &info, &err), -1);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/images.npy"));
    assert_non_null(strstr(err.msg, "cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_float32),
        cmocka_unit_test(test_dtypes_and_layouts),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_load_names_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
