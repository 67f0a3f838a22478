/* test_safetensors.c: checkpoints (SPEC section 7). A round trip of every
 * dtype keeps bytes and metadata; a file written independently (Python's
 * json and struct, as safetensors.torch.save_file lays it out) is read; and
 * a missing tensor, a wrong dtype or shape, a truncated body, overlapping or
 * holed data and a malformed header are refused with the tensor or the byte
 * offset named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <unistd.h>

#include "io/safetensors.h"
#include "testutil.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    strcpy(path, "/tmp/dtcl-test-st-XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return unlink(path);
}

static void test_roundtrip(void **state)
{
    (void)state;
    float w[2 * 3] = {1, -2, 3.5f, 4, 5, 6};
    int64_t step = 42;
    double d[2] = {0.25, -8};
    uint8_t u[3] = {1, 2, 255};
    DtclStEntry e[4] = {{"m.conv0.weight", DTCL_ST_F32, 2, {2, 3}, w},
                        {"adam.step", DTCL_ST_I64, 0, {0}, &step},
                        {"x.f64", DTCL_ST_F64, 1, {2}, d},
                        {"x.u8", DTCL_ST_U8, 1, {3}, u}};
    const char *k[2] = {"epoch", "config"}, *v[2] = {"7", "{\"tau\": 1}"};
    DtclError err;
    assert_int_equal(dtcl_st_save(path, e, 4, k, v, 2, &err), 0);
    DtclSafetensors st;
    if (dtcl_st_open(path, &st, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(st.ntensors, 4);
    assert_int_equal(st.header_len % 8, 0);
    assert_string_equal(dtcl_st_meta(&st, "config"), "{\"tau\": 1}");
    assert_string_equal(dtcl_st_meta(&st, "epoch"), "7");
    float w2[6];
    int64_t shape[2] = {2, 3};
    assert_int_equal(dtcl_st_read(&st, "m.conv0.weight", DTCL_ST_F32, 2, shape, w2, &err), 0);
    assert_int_equal(memcmp(w, w2, sizeof w), 0);
    int64_t step2;
    assert_int_equal(dtcl_st_read(&st, "adam.step", DTCL_ST_I64, 0, NULL, &step2, &err), 0);
    assert_int_equal(step2, 42);
    /* refusals name the tensor and what was expected */
    int64_t wrong[2] = {3, 2};
    assert_int_equal(dtcl_st_read(&st, "m.conv0.weight", DTCL_ST_F32, 2, wrong, w2, &err), -1);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "tensor 'm.conv0.weight' has shape [2, 3]; expected [3, 2]"));
    assert_int_equal(dtcl_st_read(&st, "x.f64", DTCL_ST_F32, 1, shape, w2, &err), -1);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "tensor 'x.f64' is F64; expected F32"));
    assert_int_equal(dtcl_st_read(&st, "g.fc0.weight", DTCL_ST_F32, 2, shape, w2, &err), -1);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "tensor 'g.fc0.weight' is missing (expected F32 [2, 3])"));
    dtcl_st_close(&st);
}

/* A file as safetensors.torch.save_file writes it, built by hand. */
static size_t build(unsigned char *buf, const char *json, const void *data, size_t nbytes)
{
    uint64_t n = strlen(json);
    memcpy(buf, &n, 8);
    memcpy(buf + 8, json, n);
    memcpy(buf + 8 + n, data, nbytes);
    return 8 + n + nbytes;
}

static void expect_refused(const unsigned char *buf, size_t len, const char *needle)
{
    DtclSafetensors st;
    DtclError err;
    assert_int_equal(dtcl_st_parse(buf, len, &st, &err), -1);
    printf("  refused: %s\n", err.msg);
    assert_non_null(strstr(err.msg, needle));
}

static void test_malformed(void **state)
{
    (void)state;
    unsigned char buf[1024];
    float data[4] = {1, 2, 3, 4};
    size_t n;
    n = build(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", data, 16);
    DtclSafetensors st;
    DtclError err;
    assert_int_equal(dtcl_st_parse(buf, n, &st, &err), 0); /* the valid one */
    dtcl_st_close(&st);
    expect_refused(buf, n - 4, "tensor 'a': its bytes [0, 16) lie beyond the 12 bytes of data (truncated file?)");
    expect_refused(buf, 20, "header length");
    expect_refused((const unsigned char *)"PK\3\4 zip file", 14, "header length");
    n = build(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}", data, 16);
    expect_refused(buf, n, "malformed JSON header");
    n = build(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", data, 16);
    expect_refused(buf, n, "tensor 'a': F32 [2, 2] needs 16 bytes, data_offsets give 12");
    n = build(buf, "{\"a\":{\"dtype\":\"Q8\",\"shape\":[2],\"data_offsets\":[0,2]}}", data, 2);
    expect_refused(buf, n, "dtype \"Q8\" is not supported");
    n = build(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", data, 12);
    expect_refused(buf, n, "tensor 'b' begins at data byte 4, expected 8 (it overlaps the previous one)");
    n = build(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data, 8);
    expect_refused(buf, n, "tensor 'a' begins at data byte 4, expected 0 (a hole before it)");
    n = build(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data, 8);
    expect_refused(buf, n, "cover 4 bytes of data but the file holds 8");
    n = build(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", data, 4);
    expect_refused(buf, n, "shape holds something other than a non-negative integer");
    n = build(buf, "{\"__metadata__\":{\"epoch\":3}}", data, 0);
    expect_refused(buf, n, "__metadata__ value of 'epoch' is not a string");
    n = build(buf, "{\"__metadata__\":{\"a\":\"1\"},\"__metadata__\":{\"b\":\"2\"}}", data, 0);
    expect_refused(buf, n, "__metadata__ appears twice");
    n = build(buf, "[1,2]", data, 0);
    expect_refused(buf, n, "does not begin with '{'");
    n = build(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", data, 4);
    expect_refused(buf, n, "text after the JSON header");
}

static void test_open_names_file(void **state)
{
    (void)state;
    DtclSafetensors st;
    DtclError err;
    FILE *f = fopen(path, "wb");
    fputs("garbage, not a checkpoint", f);
    fclose(f);
    assert_int_equal(dtcl_st_open(path, &st, &err), -1);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_malformed),
                                       cmocka_unit_test(test_open_names_file)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
