/* fuzz_driver.c: a deterministic stand-in for libFuzzer's main, linked with
 * one fuzz target (tests/fuzz_<name>.c). It replays every file of
 * $DTCL_SRCDIR/tests/fuzz/<name>/ (the seeds, and the inputs the fuzzers
 * found, kept as regression tests), then mutates them ITERATIONS times
 * ($DTCL_FUZZ_ITERATIONS, default 20000) with Philox-driven bit flips, byte
 * overwrites, truncations, insertions, duplications and token splices, and
 * feeds each result to the target. Exit 0 when nothing crashed; the
 * sanitisers of a sanitiser build turn any overrun into a failure. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the target"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_FILES = 256, MAX_LEN = 1 << 20 };

static const char *tokens[] = {"\x93NUMPY", "IHDR", "IDAT", "IEND", "PLTE", "tRNS", "n+1", "ni1", "n+2", "<f4", ">f4",
                               "|u1", "True", "False", "(", ")", ",", "\"", "\n", "\r\n", "\xff\xff\xff\x7f",
                               "\x00\x00\x00\x00", "999999999999", "-1", "shape", "id,patient,label",
                               "II*\x00", "MM\x00*", "\x01\x01\x03\x00", "\xff\xd8", "\xff\xc0", "\xff\xc2",
                               "\xff\xc4", "\xff\xda", "\xff\xd9", "\xff\xdb"};

int main(void)
{
    const char *src = getenv("DTCL_SRCDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/%s", src ? src : ".", FUZZ_NAME);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "fuzz_%s: cannot open %s\n", FUZZ_NAME, dir);
        return 99;
    }
    static uint8_t *files[MAX_FILES];
    static size_t lens[MAX_FILES];
    int nfiles = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nfiles < MAX_FILES) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".md"))
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        files[nfiles] = malloc(MAX_LEN);
        lens[nfiles] = fread(files[nfiles], 1, MAX_LEN, f);
        fclose(f);
        LLVMFuzzerTestOneInput(files[nfiles], lens[nfiles]); /* replay */
        nfiles++;
    }
    closedir(d);
    if (nfiles == 0) {
        fprintf(stderr, "fuzz_%s: no seed files in %s\n", FUZZ_NAME, dir);
        return 99;
    }
    long iterations = 20000;
    const char *env = getenv("DTCL_FUZZ_ITERATIONS");
    if (env)
        iterations = atol(env);
    uint8_t *buf = malloc(2 * MAX_LEN);
    for (long it = 0; it < iterations; it++) {
        DtclStream s = {2024, DTCL_RNG_TEST, 0, 0, (uint32_t)it};
        uint32_t r[4];
        dtcl_rng_block(&s, 0, r);
        int c = (int)(r[0] % nfiles);
        size_t n = lens[c];
        memcpy(buf, files[c], n);
        int nmut = 1 + (int)(r[1] % 4);
        for (int m = 0; m < nmut; m++) {
            uint32_t q[4];
            dtcl_rng_block(&s, (uint32_t)(m + 1), q);
            size_t pos = n ? q[1] % n : 0;
            switch (q[0] % 7) {
            case 0: if (n) buf[pos] ^= (uint8_t)(1u << (q[2] % 8)); break;        /* bit flip */
            case 1: if (n) buf[pos] = (uint8_t)q[2]; break;                          /* byte */
            case 2: n = q[2] % (n + 1); break;                                        /* truncate */
            case 3:                                                                   /* insert */
                if (n + 1 < MAX_LEN) {
                    memmove(buf + pos + 1, buf + pos, n - pos);
                    buf[pos] = (uint8_t)q[2];
                    n++;
                }
                break;
            case 4: { /* splice a token */
                const char *t = tokens[q[2] % (sizeof tokens / sizeof *tokens)];
                size_t tl = strlen(t);
                if (pos + tl <= n)
                    memcpy(buf + pos, t, tl);
                break;
            }
            case 5: { /* duplicate a run */
                size_t len = q[2] % 64;
                if (pos + len <= n && n + len < MAX_LEN) {
                    memmove(buf + pos + len, buf + pos, n - pos);
                    n += len;
                }
                break;
            }
            default: /* a 32-bit field set to an extreme */
                if (pos + 4 <= n) {
                    uint32_t v = q[2] % 3 == 0 ? 0 : q[2] % 3 == 1 ? 0xffffffffu : q[3];
                    memcpy(buf + pos, &v, 4);
                }
                break;
            }
        }
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("fuzz_%s: %d files replayed, %ld mutated inputs, no crash\n", FUZZ_NAME, nfiles, iterations);
    for (int i = 0; i < nfiles; i++)
        free(files[i]);
    free(buf);
    return 0;
}
