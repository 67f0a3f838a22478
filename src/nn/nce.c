/* nce.c: L_NCE and NT-Xent with their gradients (see nce.h).
 * Both are a softmax cross-entropy over rows of a similarity matrix; the
 * gradient of row k is (softmax over its candidates - one-hot of its
 * positive) / rows, taken back through sim to both views. */
#include "nn/nce.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

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
static double core(const double *a, const double *b, int R, int C, int D, const double *target, const int *excl,
                   DtclSimilarity sim, double tau, double *ga, double *gb)
{
    double *an = DTCL_MALLOC(sizeof(double) * (size_t)R * D), *bn = DTCL_MALLOC(sizeof(double) * (size_t)C * D);
    double *na = DTCL_MALLOC(sizeof(double) * (size_t)R), *nb = DTCL_MALLOC(sizeof(double) * (size_t)C);
    normalise_rows(an, na, a, R, D, sim);
    normalise_rows(bn, nb, b, C, D, sim);
    double *srow = DTCL_MALLOC(sizeof(double) * (size_t)C);
    double *gan = ga ? DTCL_CALLOC((size_t)R * D, sizeof(double)) : NULL;
    double *gbn = gb ? DTCL_CALLOC((size_t)C * D, sizeof(double)) : NULL;
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
    free(an); free(bn); free(na); free(nb); free(srow); free(gan); free(gbn);
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

/* Builds the anchors, candidates and targets of each kind, and runs the core. */
static double run(const DtclNce *c, const double *zm, const double *z, const int8_t *labels, int B, int D,
                  double *gzm, double *gz)
{
    int *excl = DTCL_MALLOC(sizeof(int) * 2 * (size_t)B);
    double *target = DTCL_MALLOC(sizeof(double) * 4 * (size_t)B * B);
    int R = dtcl_nce_rows(c, labels, B, target, excl);
    double loss;
    if (c->kind == DTCL_NCE_PAPER) {
        loss = core(zm, z, B, B, D, target, excl, c->sim, c->tau, gzm, gz);
    } else {
        size_t n = (size_t)B * D;
        double *v = DTCL_MALLOC(sizeof(double) * 2 * n);
        memcpy(v, zm, sizeof(double) * n);
        memcpy(v + n, z, sizeof(double) * n);
        double *ga = gzm ? DTCL_CALLOC(2 * n, sizeof(double)) : NULL;
        double *gb = gzm ? DTCL_CALLOC(2 * n, sizeof(double)) : NULL;
        loss = core(v, v, R, R, D, target, excl, c->sim, c->tau, ga, gb);
        if (ga)
            for (size_t q = 0; q < n; q++) { /* each view is both an anchor and a candidate */
                gzm[q] += ga[q] + gb[q];
                gz[q] += ga[n + q] + gb[n + q];
            }
        free(v);
        free(ga);
        free(gb);
    }
    free(excl);
    free(target);
    return loss;
}

double dtcl_nce_loss_d(const DtclNce *c, const double *zm, const double *z, const int8_t *labels, int B, int D)
{
    return run(c, zm, z, labels, B, D, NULL, NULL);
}

double dtcl_nce_forward_backward(const DtclNce *c, float *dzm, float *dz, const float *zm, const float *z,
                                 const int8_t *labels, int B, int D)
{
    size_t n = (size_t)B * D;
    double *a = DTCL_MALLOC(sizeof(double) * n), *b = DTCL_MALLOC(sizeof(double) * n);
    for (size_t q = 0; q < n; q++)
        a[q] = zm[q], b[q] = z[q];
    double *ga = dzm ? DTCL_CALLOC(n, sizeof(double)) : NULL, *gb = dzm ? DTCL_CALLOC(n, sizeof(double)) : NULL;
    double loss = run(c, a, b, labels, B, D, ga, gb);
    if (dzm)
        for (size_t q = 0; q < n; q++) {
            dzm[q] += (float)ga[q];
            dz[q] += (float)gb[q];
        }
    free(a); free(b); free(ga); free(gb);
    return loss;
}
