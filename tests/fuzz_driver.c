/* fuzz_driver.c: a deterministic stand-in for libFuzzer's main. It replays
 * the files named on the command line, then mutates a built-in corpus of
 * valid .npy files (every dtype, byte order, Fortran order, version 2.0)
 * ITERATIONS times (default 20000, or $DTCL_FUZZ_ITERATIONS) with Philox-driven
 * bit flips, byte overwrites, truncations, insertions and header-token swaps,
 * and feeds each result to the fuzz target. Exits 0 when nothing crashed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t make_npy(uint8_t *buf, const char *dict, size_t nbytes, int version)
{
    size_t k = strlen(dict), pre = version == 1 ? 10 : 12;
    size_t total = (pre + k + 1 + 63) / 64 * 64, hlen = total - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)version;
    buf[7] = 0;
    buf[8] = (uint8_t)(hlen & 0xff);
    buf[9] = (uint8_t)(hlen >> 8);
    if (version != 1)
        buf[10] = buf[11] = 0;
    memcpy(buf + pre, dict, k);
    memset(buf + pre + k, ' ', hlen - k - 1);
    buf[total - 1] = '\n';
    for (size_t i = 0; i < nbytes; i++)
        buf[total + i] = (uint8_t)(i * 29 + 7);
    return total + nbytes;
}

static const char *tokens[] = {"<f4", ">f4", "<f8", "|u1", "<u2", "<i4", "True", "False", "(", ")", ",", "'",
                               "999999999999", "0", "-1", "{", "}", ":", "shape", "descr"};

int main(int argc, char **argv)
{
    static uint8_t corpus[6][1024], buf[4096];
    size_t len[6];
    len[0] = make_npy(corpus[0], "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24, 1);
    len[1] = make_npy(corpus[1], "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 2), }", 48, 1);
    len[2] = make_npy(corpus[2], "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 2, 2), }", 8, 1);
    len[3] = make_npy(corpus[3], "{'descr': '>u2', 'fortran_order': False, 'shape': (5,), }", 10, 1);
    len[4] = make_npy(corpus[4], "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 16, 2);
    len[5] = make_npy(corpus[5], "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2, 2), }", 32, 3);

    for (int a = 1; a < argc; a++) { /* replay files */
        FILE *f = fopen(argv[a], "rb");
        if (!f) {
            fprintf(stderr, "fuzz_npy: cannot open %s\n", argv[a]);
            return 2;
        }
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }

    long iterations = 20000;
    const char *env = getenv("DTCL_FUZZ_ITERATIONS");
    if (env)
        iterations = atol(env);
    for (long it = 0; it < iterations; it++) {
        DtclStream s = {2024, DTCL_RNG_TEST, 0, 0, (uint32_t)it};
        uint32_t r[4];
        dtcl_rng_block(&s, 0, r);
        int c = (int)(r[0] % 6);
        size_t n = len[c];
        memcpy(buf, corpus[c], n);
        int nmut = 1 + (int)(r[1] % 4);
        for (int m = 0; m < nmut; m++) {
            uint32_t q[4];
            dtcl_rng_block(&s, (uint32_t)(m + 1), q);
            size_t pos = n ? q[1] % n : 0;
            switch (q[0] % 6) {
            case 0: buf[pos] ^= (uint8_t)(1u << (q[2] % 8)); break;               /* bit flip */
            case 1: buf[pos] = (uint8_t)q[2]; break;                               /* byte */
            case 2: n = q[2] % (n + 1); break;                                     /* truncate */
            case 3:                                                                /* insert */
                if (n + 1 < sizeof buf) {
                    memmove(buf + pos + 1, buf + pos, n - pos);
                    buf[pos] = (uint8_t)q[2];
                    n++;
                }
                break;
            case 4: { /* overwrite with a header token */
                const char *t = tokens[q[2] % (sizeof tokens / sizeof *tokens)];
                size_t tl = strlen(t);
                if (pos + tl <= n)
                    memcpy(buf + pos, t, tl);
                break;
            }
            default: /* the header length field */
                buf[8 + q[2] % 4] = (uint8_t)q[3];
                break;
            }
        }
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("fuzz_npy: %d replayed, %ld mutated inputs, no crash\n", argc - 1, iterations);
    return 0;
}
