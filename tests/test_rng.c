/* test_rng.c: Philox4x32-10 against Random123's known-answer vectors, the
 * uniform's range, the normal quantile, and the stream layout (SPEC section 8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/rng.h"
#include "testutil.h"

#include <Random123/philox.h>

static void test_philox_known_answers(void **state)
{
    (void)state;
    /* Random123 kat_vectors: philox4x32 10 rounds */
    philox4x32_ctr_t c0 = {{0, 0, 0, 0}};
    philox4x32_key_t k0 = {{0, 0}};
    philox4x32_ctr_t r = philox4x32(c0, k0);
    assert_int_equal(r.v[0], 0x6627e8d5u);
    assert_int_equal(r.v[1], 0xe169c58du);
    assert_int_equal(r.v[2], 0xbc57ac4cu);
    assert_int_equal(r.v[3], 0x9b00dbd8u);
    philox4x32_ctr_t c1 = {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}};
    philox4x32_key_t k1 = {{0xffffffffu, 0xffffffffu}};
    r = philox4x32(c1, k1);
    assert_int_equal(r.v[0], 0x408f276du);
    assert_int_equal(r.v[1], 0x41c83b0eu);
    assert_int_equal(r.v[2], 0xa20bc7c6u);
    assert_int_equal(r.v[3], 0x6d5451fdu);
    philox4x32_ctr_t c2 = {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    philox4x32_key_t k2 = {{0xa4093822u, 0x299f31d0u}};
    r = philox4x32(c2, k2);
    assert_int_equal(r.v[0], 0xd16cfe09u);
    assert_int_equal(r.v[1], 0x94fdccebu);
    assert_int_equal(r.v[2], 0x5001e420u);
    assert_int_equal(r.v[3], 0x24126ea1u);
}

static void test_counter_layout(void **state)
{
    (void)state;
    /* counter = (block, item, step, purpose << 24 | epoch), key = (seed lo, seed hi) */
    DtclStream s = {0x0000000500000007ull, DTCL_RNG_NOISE, 3, 9, 42};
    uint32_t w[4];
    dtcl_rng_block(&s, 2, w);
    philox4x32_ctr_t c = {{2, 42, 9, (4u << 24) | 3u}};
    philox4x32_key_t k = {{7, 5}};
    philox4x32_ctr_t r = philox4x32(c, k);
    for (int i = 0; i < 4; i++)
        assert_int_equal(w[i], r.v[i]);
}

static void test_uniform_open_interval(void **state)
{
    (void)state;
    enum { N = 1 << 16 };
    double *u = malloc(sizeof(double) * N);
    DtclStream s = {123, DTCL_RNG_TEST, 0, 0, 0};
    dtcl_rng_uniform(&s, u, N);
    double mean = 0;
    for (int i = 0; i < N; i++) {
        assert_true(u[i] > 0.0 && u[i] < 1.0);
        mean += u[i];
    }
    mean /= N;
    printf("  uniform mean %.5f (expected 0.5 +- %.5f)\n", mean, 4 * sqrt(1.0 / 12 / N));
    assert_true(fabs(mean - 0.5) < 4 * sqrt(1.0 / 12 / N));
    free(u);
}

static void test_normal_quantile(void **state)
{
    (void)state;
    /* reference values of PHI^-1 */
    struct { double u, z; } ref[] = {{0.5, 0.0},
                                     {0.975, 1.959963984540054},
                                     {0.025, -1.959963984540054},
                                     {0.8413447460685429, 1.0},
                                     {1e-6, -4.753424308822899},
                                     {0.999999, 4.753424308822899},
                                     {0.01, -2.326347874040841}};
    for (size_t i = 0; i < sizeof ref / sizeof *ref; i++) {
        double z = dtcl_normal_quantile(ref[i].u);
        double err = fabs(z - ref[i].z) / fmax(1.0, fabs(ref[i].z));
        printf("  PHI^-1(%g) = %.15g (reference %.15g, rel err %.2e, tolerance 2e-9)\n", ref[i].u, z, ref[i].z, err);
        assert_true(err < 2e-9);
    }
}

static void test_streams_differ_and_repeat(void **state)
{
    (void)state;
    float a[64], b[64], c[64];
    DtclStream s1 = {1, DTCL_RNG_NOISE, 0, 0, 0}, s2 = {1, DTCL_RNG_NOISE, 0, 0, 1};
    dtcl_rng_normal(&s1, a, 64);
    dtcl_rng_normal(&s1, b, 64);
    dtcl_rng_normal(&s2, c, 64);
    assert_int_equal(test_first_diff(a, b, 64), -1);
    assert_true(test_first_diff(a, c, 64) >= 0);
    /* a prefix of a stream is the same numbers */
    float d[7];
    dtcl_rng_normal(&s1, d, 7);
    assert_int_equal(test_first_diff(a, d, 7), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_known_answers), cmocka_unit_test(test_counter_layout),
        cmocka_unit_test(test_uniform_open_interval), cmocka_unit_test(test_normal_quantile),
        cmocka_unit_test(test_streams_differ_and_repeat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
