/* nce.c: L_NCE and NT-Xent with their gradients (see nce.h).
 * Both are a softmax cross-entropy over rows of a similarity matrix; the
 * gradient of row k is (softmax over its candidates - one-hot of its
 * positive) / rows, taken back through sim to both views. */
#include "nn/nce.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

const char *const dtcl_nce_kind_names[3] = {"paper", "simclr", "supcon"};
const char *const dtcl_similarity_names[2] = {"dot", "cosine"};

int dtcl_nce_kind_parse(const char *s, DtclNceKind *k)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, dtcl_nce_kind_names[i]) == 0) {
            *k = (DtclNceKind)i;
            return 0;
        }
    return -1;
}

int dtcl_similarity_parse(const char *s, DtclSimilarity *m)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(s, dtcl_similarity_names[i]) == 0) {
            *m = (DtclSimilarity)i;
            return 0;
        }
    return -1;
}

double dtcl_nce_floor(const DtclNce *c, int B)
{
    return c->kind == DTCL_NCE_PAPER ? -2.0 / c->tau + log((double)(B > 1 ? B - 1 : 1)) : 0.0;
}

/* out (rows,D) = x / |x| row by row (cosine), or x (dot); norm (rows) the divisors. */
static void normalise_rows(double *out, double *norm, const double *x, int rows, int D, DtclSimilarity sim)
{
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int d = 0; d < D; d++)
            s += x[(size_t)r * D + d] * x[(size_t)r * D + d];
        norm[r] = sim == DTCL_SIM_COSINE ? fmax(sqrt(s), 1e-12) : 1.0;
        for (int d = 0; d < D; d++)
            out[(size_t)r * D + d] = x[(size_t)r * D + d] / norm[r];
    }
}

/* The shared core in double. a (R,D) anchors, b (C,D) candidates; for row r
 * the candidates are all c except excl[r] (or none when -1), and target
 * (R,C) holds the weights of its positives (summing to 1): row r's loss is
 * log sum_{c != excl} exp s_rc - sum_c target_rc s_rc. ga (R,D), gb (C,D) receive the gradients when not NULL (+=).
 * Cosine similarity normalises a and b first and takes the gradient back
 * through the normalisation. */
/* What one call needs for B images of D features, made once: the doubles of
 * the views, their normalised copies and norms, a row of similarities, the
 * gradients before and after the normalisation, the rows' targets. */
struct DtclNceWork {
    int B, D;
    double *a, *b, *ga, *gb;         /* (2B,D) each: the views and their gradients */
    double *an, *bn, *na, *nb, *srow; /* (2B,D), (2B,D), (2B), (2B), (2B) */
    double *gan, *gbn;               /* (2B,D) each */
    double *target;                  /* (2B,2B) */
    int *excl;                       /* (2B) */
};

DtclNceWork *dtcl_nce_work_create(int B, int D)
{
    DtclNceWork *w = DTCL_CALLOC(1, sizeof *w);
    size_t V = 2 * (size_t)B, VD = V * D;
    w->B = B;
    w->D = D;
    double **vd[8] = {&w->a, &w->b, &w->ga, &w->gb, &w->an, &w->bn, &w->gan, &w->gbn};
    for (int k = 0; k < 8; k++)
        *vd[k] = DTCL_MALLOC(sizeof(double) * (VD ? VD : 1));
    w->na = DTCL_MALLOC(sizeof(double) * V);
    w->nb = DTCL_MALLOC(sizeof(double) * V);
    w->srow = DTCL_MALLOC(sizeof(double) * V);
    w->target = DTCL_MALLOC(sizeof(double) * V * V);
    w->excl = DTCL_MALLOC(sizeof(int) * V);
    return w;
}

void dtcl_nce_work_free(DtclNceWork *w)
{
    if (!w)
        return;
    double *f[13] = {w->a, w->b, w->ga, w->gb, w->an, w->bn, w->gan, w->gbn, w->na, w->nb, w->srow, w->target};
    for (int k = 0; k < 12; k++)
        free(f[k]);
    free(w->excl);
    free(w);
}

static double core(const double *a, const double *b, int R, int C, int D, const double *target, const int *excl,
                   DtclSimilarity sim, double tau, double *ga, double *gb, DtclNceWork *w)
{
    double *an = w->an, *bn = w->bn, *na = w->na, *nb = w->nb, *srow = w->srow;
    normalise_rows(an, na, a, R, D, sim);
    normalise_rows(bn, nb, b, C, D, sim);
    double *gan = ga ? w->gan : NULL, *gbn = gb ? w->gbn : NULL;
    if (gan)
        memset(gan, 0, sizeof(double) * (size_t)R * D);
    if (gbn)
        memset(gbn, 0, sizeof(double) * (size_t)C * D);
    double loss = 0;
    for (int r = 0; r < R; r++) {
        double mx = -INFINITY;
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int d = 0; d < D; d++)
                s += an[(size_t)r * D + d] * bn[(size_t)c * D + d];
            srow[c] = s / tau;
            if (c != excl[r] && srow[c] > mx)
                mx = srow[c];
        }
        double sum = 0;
        for (int c = 0; c < C; c++)
            if (c != excl[r])
                sum += exp(srow[c] - mx);
        double lse = mx + log(sum), tgt = 0;
        for (int c = 0; c < C; c++)
            tgt += target[(size_t)r * C + c] * srow[c];
        loss += lse - tgt;
        if (!gan && !gbn)
            continue;
        for (int c = 0; c < C; c++) { /* dL/ds_rc, divided by the row count below */
            double g = (c != excl[r] ? exp(srow[c] - lse) : 0.0) - target[(size_t)r * C + c];
            if (g == 0.0)
                continue;
            g /= (double)R * tau;
            for (int d = 0; d < D; d++) {
                if (gan)
                    gan[(size_t)r * D + d] += g * bn[(size_t)c * D + d];
                if (gbn)
                    gbn[(size_t)c * D + d] += g * an[(size_t)r * D + d];
            }
        }
    }
    /* through the normalisation: d(x/|x|)/dx^T g = (g - (xhat.g) xhat) / |x| */
    for (int side = 0; side < 2; side++) {
        double *gn = side ? gbn : gan, *out = side ? gb : ga, *xn = side ? bn : an, *nn = side ? nb : na;
        int rows = side ? C : R;
        if (!gn)
            continue;
        for (int r = 0; r < rows; r++) {
            double dotp = 0;
            if (sim == DTCL_SIM_COSINE)
                for (int d = 0; d < D; d++)
                    dotp += xn[(size_t)r * D + d] * gn[(size_t)r * D + d];
            for (int d = 0; d < D; d++)
                out[(size_t)r * D + d] += (gn[(size_t)r * D + d] - dotp * xn[(size_t)r * D + d]) / nn[r];
        }
    }
    return loss / R;
}

int dtcl_nce_rows(const DtclNce *c, const int8_t *labels, int B, double *target, int *excl)
{
    if (c->kind == DTCL_NCE_PAPER) {
        /* row i: anchor zm_i, candidates z_j; the positive z_i is the target and,
         * as in the paper's Eq. 2, left out of the log-sum-exp (j != i) */
        memset(target, 0, sizeof(double) * (size_t)B * B);
        for (int i = 0; i < B; i++) {
            excl[i] = i;
            target[(size_t)i * B + i] = 1.0;
        }
        return B;
    }
    /* simclr and supcon: the 2B views against themselves, self excluded; the
     * positives (in the log-sum-exp too) are the other view of the same image,
     * and for supcon every view whose image has the same known label */
    int V = 2 * B;
    memset(target, 0, sizeof(double) * (size_t)V * V);
    for (int k = 0; k < V; k++) {
        excl[k] = k;
        int npos = 0;
        for (int pass = 0; pass < 2; pass++)
            for (int l = 0; l < V; l++) {
                if (l == k)
                    continue;
                int same = l % B == k % B;
                if (c->kind == DTCL_NCE_SUPCON && labels && labels[k % B] >= 0)
                    same |= labels[l % B] == labels[k % B];
                if (!same)
                    continue;
                if (pass == 0)
                    npos++;
                else
                    target[(size_t)k * V + l] = 1.0 / npos;
            }
    }
    return V;
}

/* Builds the anchors, candidates and targets of each kind, and runs the core.
 * zm, z (B,D) in w->a and w->b; gradients, when wanted, into w->ga, w->gb. */
static double run(const DtclNce *c, const int8_t *labels, int B, int D, int grads, DtclNceWork *w)
{
    int R = dtcl_nce_rows(c, labels, B, w->target, w->excl);
    size_t n = (size_t)B * D;
    if (c->kind == DTCL_NCE_PAPER) {
        if (grads) {
            memset(w->ga, 0, sizeof(double) * n);
            memset(w->gb, 0, sizeof(double) * n);
        }
        return core(w->a, w->b, B, B, D, w->target, w->excl, c->sim, c->tau, grads ? w->ga : NULL,
                    grads ? w->gb : NULL, w);
    }
    /* the 2B views v = (zm; z) against themselves: w->a holds v, w->b the
     * views' gradient as candidates; each view is both an anchor and a
     * candidate, so its gradient is the sum */
    memcpy(w->a + n, w->b, sizeof(double) * n);
    double *ga = w->ga, *gb = w->gb;
    if (grads) {
        memset(ga, 0, sizeof(double) * 2 * n);
        memset(gb, 0, sizeof(double) * 2 * n);
    }
    double loss = core(w->a, w->a, R, R, D, w->target, w->excl, c->sim, c->tau, grads ? ga : NULL,
                       grads ? gb : NULL, w);
    if (grads)
        for (size_t q = 0; q < 2 * n; q++)
            ga[q] += gb[q]; /* ga: dL/dv, v = (zm; z) */
    return loss;
}

double dtcl_nce_loss_d(const DtclNce *c, const double *zm, const double *z, const int8_t *labels, int B, int D)
{
    DtclNceWork *w = dtcl_nce_work_create(B, D);
    memcpy(w->a, zm, sizeof(double) * (size_t)B * D);
    memcpy(w->b, z, sizeof(double) * (size_t)B * D);
    double loss = run(c, labels, B, D, 0, w);
    dtcl_nce_work_free(w);
    return loss;
}

double dtcl_nce_forward_backward(const DtclNce *c, float *dzm, float *dz, const float *zm, const float *z,
                                 const int8_t *labels, int B, int D, DtclNceWork *work)
{
    DtclNceWork *w = work ? work : dtcl_nce_work_create(B, D);
    size_t n = (size_t)B * D;
    for (size_t q = 0; q < n; q++)
        w->a[q] = zm[q], w->b[q] = z[q];
    double loss = run(c, labels, B, D, dzm != NULL, w);
    if (dzm) {
        /* paper: ga, gb are dL/dzm, dL/dz; the view kinds: ga is dL/d(zm; z) */
        const double *gzm = w->ga, *gz = c->kind == DTCL_NCE_PAPER ? w->gb : w->ga + n;
        for (size_t q = 0; q < n; q++) {
            dzm[q] += (float)gzm[q];
            dz[q] += (float)gz[q];
        }
    }
    if (!work)
        dtcl_nce_work_free(w);
    return loss;
}
