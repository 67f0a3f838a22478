/* protocol.c: the evaluation protocols' table and their scores (see protocol.h). */
#include "eval/protocol.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "data/split.h"
#include "eval/logreg.h"

const DtclProtocolInfo dtcl_protocols[DTCL_NPROTOCOLS] = {
    [DTCL_PROTO_LINEAR] = {"linear", "", "linear (paper)", 0, 0},
    [DTCL_PROTO_LINEAR_GROUPED] = {"linear-grouped", "grouped_", "linear, patient folds", 0, 1},
    [DTCL_PROTO_KNN] = {"knn", "knn_", "kNN", 0, 0},
    [DTCL_PROTO_PROBE10] = {"probe10", "probe10_", "probe, 10% labels", 0.10, 0},
    [DTCL_PROTO_PROBE1] = {"probe1", "probe1_", "probe, 1% labels", 0.01, 0},
};

unsigned dtcl_protocol_parse(const char *list, char *msg, int size)
{
    if (strcmp(list, "all") == 0)
        return (1u << DTCL_NPROTOCOLS) - 1;
    unsigned mask = 0;
    const char *p = list;
    while (1) {
        size_t len = strcspn(p, ",");
        int found = -1;
        for (int k = 0; k < DTCL_NPROTOCOLS; k++)
            if (strlen(dtcl_protocols[k].name) == len && strncmp(p, dtcl_protocols[k].name, len) == 0)
                found = k;
        if (found < 0) {
            snprintf(msg, (size_t)size, "'%.*s' is not one of %s, or all", (int)len, p, dtcl_protocol_names());
            return 0;
        }
        mask |= 1u << found;
        if (!p[len])
            return mask;
        p += len + 1;
    }
}

const char *dtcl_protocol_names(void)
{
    static char buf[256];
    if (!buf[0])
        for (int k = 0; k < DTCL_NPROTOCOLS; k++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", k ? ", " : "", dtcl_protocols[k].name);
    return buf;
}

/* Standardises the columns of x (n,d) in place (mean 0, variance 1; constant columns to 0). */
static void standardise(float *x, int64_t n, int d)
{
    for (int j = 0; j < d; j++) {
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < n; i++)
            s += x[i * d + j];
        double m = n ? s / n : 0;
        for (int64_t i = 0; i < n; i++)
            s2 += (x[i * d + j] - m) * (x[i * d + j] - m);
        double sd = n ? sqrt(s2 / n) : 0;
        for (int64_t i = 0; i < n; i++)
            x[i * d + j] = sd > 0 ? (float)((x[i * d + j] - m) / sd) : 0.0f;
    }
}

void dtcl_knn_cv_scores(const float *x, const int8_t *y, int64_t n, int d, int folds, int k, uint64_t seed,
                        double *score)
{
    int *fold = DTCL_MALLOC(sizeof(int) * (size_t)(n + 1));
    dtcl_cv_folds(y, NULL, n, folds, seed, fold); /* the logistic regression's folds */
    double *norm = DTCL_MALLOC(sizeof(double) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < d; j++)
            s += (double)x[i * d + j] * x[i * d + j];
        norm[i] = sqrt(s) > 0 ? sqrt(s) : 1;
    }
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < n; i++) {
        double best[64];
        int8_t lab[64];
        int kk = k < 64 ? k : 64, m = 0;
        for (int64_t j = 0; j < n; j++) {
            if (fold[j] == fold[i])
                continue;
            double s = 0;
            for (int c = 0; c < d; c++)
                s += (double)x[i * d + c] * x[j * d + c];
            s /= norm[i] * norm[j];
            if (m < kk || s > best[m - 1]) { /* insert into the sorted top k */
                int p = m < kk ? m++ : m - 1;
                while (p > 0 && best[p - 1] < s) {
                    best[p] = best[p - 1];
                    lab[p] = lab[p - 1];
                    p--;
                }
                best[p] = s;
                lab[p] = y[j];
            }
        }
        double pos = 0;
        for (int q = 0; q < m; q++)
            pos += lab[q] == 1;
        score[i] = m ? pos / m : 0.5;
    }
    free(fold);
    free(norm);
}

void dtcl_protocol_cv_scores(DtclProtocol p, const float *h, const int8_t *y, const int *patient, int64_t n, int d,
                             uint64_t seed, double *score)
{
    float *x = DTCL_MALLOC(sizeof(float) * (size_t)n * d + 1); // (n,d)
    memcpy(x, h, sizeof(float) * (size_t)n * d);
    standardise(x, n, d);
    if (p == DTCL_PROTO_KNN)
        dtcl_knn_cv_scores(x, y, n, d, DTCL_EVAL_FOLDS, DTCL_EVAL_KNN, seed, score);
    else
        dtcl_logreg_cv_scores(x, y, dtcl_protocols[p].grouped ? patient : NULL, n, d, DTCL_EVAL_FOLDS, seed, score);
    free(x);
}

void dtcl_protocol_probe_scores(const float *htr, const int8_t *ytr, int64_t ntr, const float *h, int64_t n, int d,
                                double *score)
{
    dtcl_logreg_fit_predict(htr, ytr, ntr, d, h, n, score); /* standardised with the training rows' statistics */
}

void dtcl_protocol_probe_images(DtclProtocol p, const DtclDataset *ds, const int8_t *split, uint64_t seed,
                                int8_t *labelled)
{
    dtcl_split_draw_labelled(ds, split, dtcl_protocols[p].label_fraction, seed, labelled);
}
