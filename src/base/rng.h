/* rng.h: the one random number generator of dtcl (SPEC section 8).
 *
 * Philox4x32-10 from Random123, keyed by the run seed. The 128-bit counter
 * names what the numbers are for, so that a number never depends on the
 * thread count or on the position of an image in a batch:
 *   key     = (seed & 0xffffffff, seed >> 32)
 *   counter = (block, item, step, purpose << 24 | epoch)
 * Element k of a stream is word k % 4 of the block k / 4. A uniform is
 * u = (w + 0.5) / 2^32 in (0,1) (Random123's u01fixedpt_open_open_32_double),
 * a standard normal is z = sqrt(2) erfinv(2u - 1) = PHI^-1(u), evaluated in
 * double (Acklam's rational approximation, relative error below 1.2e-9) and
 * rounded to float32.
 */
#ifndef DTCL_RNG_H
#define DTCL_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DTCL_RNG_INIT = 1,    /* weight initialisation */
    DTCL_RNG_SPLIT = 2,   /* train/val/test split, labelled subset */
    DTCL_RNG_LAMBDA = 3,  /* random strategies' Lambda */
    DTCL_RNG_NOISE = 4,   /* the noise transformation's field z */
    DTCL_RNG_AUGMENT = 5, /* simclr/supervised on-off draws */
    DTCL_RNG_SYNTH = 6,   /* synthetic datasets */
    DTCL_RNG_SHUFFLE = 7, /* the order of the training images in an epoch */
    DTCL_RNG_BOOTSTRAP = 8, /* the test patients a bootstrap replicate draws (eval/stats.h) */
    DTCL_RNG_TEST = 255   /* tests, gradcheck and benchmarks */
} DtclRngPurpose;

typedef struct {
    uint64_t seed;
    uint32_t purpose; /* DtclRngPurpose, < 256 */
    uint32_t epoch;   /* < 2^24 */
    uint32_t step;
    uint32_t item;    /* e.g. the image's index in the dataset */
} DtclStream;

/* The 4 words of block `block` of stream s. */
void dtcl_rng_block(const DtclStream *s, uint32_t block, uint32_t out[4]);
/* u[k], k < n: element k of s as a uniform in (0,1). */
void dtcl_rng_uniform(const DtclStream *s, double *u, size_t n);
/* out[k] = lo + (hi - lo) u[k] in float32, u[k] element k of s as a uniform. */
void dtcl_rng_uniform_range(const DtclStream *s, float *out, size_t n, float lo, float hi);
/* z[k], k < n: element k of s as a standard normal, float32. */
void dtcl_rng_normal(const DtclStream *s, float *z, size_t n);
/* PHI^-1(u) for u in (0,1). */
double dtcl_normal_quantile(double u);

#endif
