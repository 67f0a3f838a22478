/* rng.c: Philox streams and the normal quantile (see rng.h). */
#include "base/rng.h"

#include <math.h>
#include <stdlib.h>
#include <Random123/philox.h>
#include <Random123/u01fixedpt.h>

#include "base/error.h"
#include "base/rng_quantile.h"

void dtcl_rng_block(const DtclStream *s, uint32_t block, uint32_t out[4])
{
    philox4x32_ctr_t c = {{block, s->item, s->step, (s->purpose << 24) | (s->epoch & 0xffffffu)}};
    philox4x32_key_t k = {{(uint32_t)s->seed, (uint32_t)(s->seed >> 32)}};
    philox4x32_ctr_t r = philox4x32(c, k);
    for (int i = 0; i < 4; i++)
        out[i] = r.v[i];
}

void dtcl_rng_uniform(const DtclStream *s, double *u, size_t n)
{
    uint32_t w[4];
    for (size_t b = 0; b * 4 < n; b++) {
        dtcl_rng_block(s, (uint32_t)b, w);
        for (size_t i = 0; i < 4 && b * 4 + i < n; i++)
            u[b * 4 + i] = u01fixedpt_open_open_32_double(w[i]);
    }
}

double dtcl_normal_quantile(double u)
{
    return dtcl_normal_quantile_hd(u);
}

void dtcl_rng_normal(const DtclStream *s, float *z, size_t n)
{
    uint32_t w[4];
    for (size_t blk = 0; blk * 4 < n; blk++) {
        dtcl_rng_block(s, (uint32_t)blk, w);
        for (size_t i = 0; i < 4 && blk * 4 + i < n; i++)
            z[blk * 4 + i] = (float)dtcl_normal_quantile(u01fixedpt_open_open_32_double(w[i]));
    }
}

void dtcl_rng_uniform_range(const DtclStream *s, float *out, size_t n, float lo, float hi)
{
    double *u = DTCL_MALLOC(sizeof(double) * (n ? n : 1));
    dtcl_rng_uniform(s, u, n);
    for (size_t i = 0; i < n; i++)
        out[i] = lo + (hi - lo) * (float)u[i];
    free(u);
}
