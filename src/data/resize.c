/* resize.c: separable antialiased resampling (see resize.h). */
#include "data/resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

typedef struct {
    int first, count; /* input samples [first, first + count) */
    float *w;         /* their weights, summing to 1 */
} Taps;

/* Filter taps of every output sample along one axis: n inputs to m outputs. */
static Taps *make_taps(int n, int m, float **store)
{
    double scale = (double)n / m, support = scale > 1 ? scale : 1.0;
    int maxc = (int)ceil(2 * support) + 2;
    Taps *t = DTCL_MALLOC(sizeof(Taps) * m);
    *store = DTCL_MALLOC(sizeof(float) * (size_t)m * maxc);
    for (int o = 0; o < m; o++) {
        double c = (o + 0.5) * scale - 0.5;
        int lo = (int)floor(c - support) + 1, hi = (int)ceil(c + support) - 1;
        if (lo < 0)
            lo = 0;
        if (hi > n - 1)
            hi = n - 1;
        t[o].first = lo;
        t[o].count = hi - lo + 1;
        t[o].w = *store + (size_t)o * maxc;
        double sum = 0;
        for (int i = lo; i <= hi; i++) {
            double wt = 1.0 - fabs(i - c) / support;
            t[o].w[i - lo] = (float)(wt > 0 ? wt : 0);
            sum += t[o].w[i - lo];
        }
        for (int i = 0; i < t[o].count; i++)
            t[o].w[i] = sum > 0 ? (float)(t[o].w[i] / sum) : 0.0f;
    }
    return t;
}

void dtcl_resize(float *out, int oh, int ow, const float *in, int h, int w)
{
    if (oh == h && ow == w) {
        memcpy(out, in, sizeof(float) * (size_t)h * w);
        return;
    }
    float *sx, *sy;
    Taps *tx = make_taps(w, ow, &sx), *ty = make_taps(h, oh, &sy);
    float *tmp = DTCL_MALLOC(sizeof(float) * (size_t)h * ow);
    for (int r = 0; r < h; r++) /* along rows */
        for (int o = 0; o < ow; o++) {
            const float *src = in + (size_t)r * w + tx[o].first;
            double acc = 0;
            for (int k = 0; k < tx[o].count; k++)
                acc += (double)tx[o].w[k] * src[k];
            tmp[(size_t)r * ow + o] = (float)acc;
        }
    for (int o = 0; o < oh; o++) /* along columns */
        for (int c = 0; c < ow; c++) {
            double acc = 0;
            for (int k = 0; k < ty[o].count; k++)
                acc += (double)ty[o].w[k] * tmp[(size_t)(ty[o].first + k) * ow + c];
            out[(size_t)o * ow + c] = (float)acc;
        }
    free(tmp);
    free(tx);
    free(ty);
    free(sx);
    free(sy);
}
