/* nets_naive.c: the networks in double precision (see nets_naive.h). */
#include "nets/nets_naive.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/conv.h"
#include "base/error.h"
#include "transform/transform_naive.h"

/* The double view of a float parameter tensor of md. */
#define PV(md, P, ptr) ((P) + ((ptr) - (md)->table.param))

static void conv_stride(double *y, const double *x, const double *w, const double *bias, int B, int C, int O, int H,
                        int k, int stride)
{
    DtclConvShape s = {.B = B, .C = C, .O = O, .H = H, .W = H, .k = k, .threads = 1, .stride = stride};
    dtcl_conv2d_forward_naive_d(y, x, w, bias, &s);
}

static void conv(double *y, const double *x, const double *w, const double *bias, int B, int C, int O, int H, int k)
{
    conv_stride(y, x, w, bias, B, C, O, H, k, 1);
}

static void batchnorm_relu(double *y, const double *gamma, const double *beta, int B, int C, int HW)
{
    for (int c = 0; c < C; c++) {
        double s = 0, s2 = 0, N = (double)B * HW;
        for (int b = 0; b < B; b++)
            for (int q = 0; q < HW; q++)
                s += y[((size_t)b * C + c) * HW + q];
        double mu = s / N;
        for (int b = 0; b < B; b++)
            for (int q = 0; q < HW; q++) {
                double d = y[((size_t)b * C + c) * HW + q] - mu;
                s2 += d * d;
            }
        double is = 1.0 / sqrt(s2 / N + DTCL_BN_EPS);
        for (int b = 0; b < B; b++)
            for (int q = 0; q < HW; q++) {
                double *e = &y[((size_t)b * C + c) * HW + q];
                *e = fmax(gamma[c] * (*e - mu) * is + beta[c], 0.0);
            }
    }
}

static void relu(double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = fmax(y[i], 0.0);
}

static void maxpool(double *y, const double *x, int B, int C, int H)
{
    int h = H / 2;
    for (int bc = 0; bc < B * C; bc++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < h; j++) {
                const double *r = x + (size_t)bc * H * H + (size_t)(2 * i) * H + 2 * j;
                y[(size_t)bc * h * h + i * h + j] = fmax(fmax(r[0], r[1]), fmax(r[H], r[H + 1]));
            }
}

static void avgpool(double *y, const double *x, int B, int C, int HW)
{
    for (int bc = 0; bc < B * C; bc++) {
        double s = 0;
        for (int q = 0; q < HW; q++)
            s += x[(size_t)bc * HW + q];
        y[bc] = s / HW;
    }
}

static void linear(double *y, const double *x, const double *w, const double *b, int B, int nin, int nout)
{
    for (int i = 0; i < B; i++)
        for (int o = 0; o < nout; o++) {
            double t = b[o];
            for (int k = 0; k < nin; k++)
                t += w[(size_t)o * nin + k] * x[(size_t)i * nin + k];
            y[(size_t)i * nout + o] = t;
        }
}

void dtcl_fcn_forward_naive(double *h, const DtclModel *md, const double *P, const double *x, int B, int S)
{
    const DtclFcn *f = &md->f.fcn;
    size_t most = (size_t)B * S * S;
    for (int b = 0; b < f->nblocks; b++) {
        size_t n = (size_t)B * f->widths[b] * (S >> b) * (S >> b);
        most = n > most ? n : most;
    }
    double *buf[2] = {DTCL_MALLOC(sizeof(double) * most), DTCL_MALLOC(sizeof(double) * most)};
    const double *in = x; /* each layer reads `in` and writes the other buffer */
    int cin = 1, k = 0;
    for (int b = 0; b < f->nblocks; b++) {
        int H = S >> b, C = f->widths[b];
        for (int c = 0; c < 2; c++, k ^= 1) {
            conv(buf[k], in, PV(md, P, f->blk[b].conv[c]), NULL, B, c ? C : cin, C, H, 3);
            batchnorm_relu(buf[k], PV(md, P, f->blk[b].gamma[c]), PV(md, P, f->blk[b].beta[c]), B, C, H * H);
            in = buf[k];
        }
        maxpool(buf[k], in, B, C, H);
        in = buf[k];
        k ^= 1;
        cin = C;
    }
    int Hl = (S >> (f->nblocks - 1)) / 2;
    avgpool(h, in, B, dtcl_fcn_dim(f), Hl * Hl);
    free(buf[0]);
    free(buf[1]);
}

/* max-pool 3x3, stride 2, padding 1: Ho = (H - 1)/2 + 1 */
static void maxpool3s2(double *y, const double *x, int B, int C, int H)
{
    int h = (H - 1) / 2 + 1;
    for (int bc = 0; bc < B * C; bc++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < h; j++) {
                double m = -INFINITY;
                for (int si = 2 * i - 1; si <= 2 * i + 1; si++)
                    for (int sj = 2 * j - 1; sj <= 2 * j + 1; sj++)
                        if (si >= 0 && si < H && sj >= 0 && sj < H)
                            m = fmax(m, x[(size_t)bc * H * H + (size_t)si * H + sj]);
                y[(size_t)bc * h * h + i * h + j] = m;
            }
}

static void avgpool2(double *y, const double *x, int B, int C, int H)
{
    int h = H / 2;
    for (int bc = 0; bc < B * C; bc++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < h; j++) {
                const double *r = x + (size_t)bc * H * H + (size_t)(2 * i) * H + 2 * j;
                y[(size_t)bc * h * h + i * h + j] = (r[0] + r[1] + r[H] + r[H + 1]) / 4;
            }
}

/* relu(norm(x)) of C channels (B,C,HW) into y, x unchanged */
static void norm_relu_copy(double *y, const double *x, const DtclModel *md, const double *P, const DtclDnNorm *n,
                           int B, int C, int HW)
{
    for (size_t i = 0; i < (size_t)B * C * HW; i++)
        y[i] = x[i];
    batchnorm_relu(y, PV(md, P, n->gamma), PV(md, P, n->beta), B, C, HW);
}

void dtcl_densenet_forward_naive(double *h, const DtclModel *md, const double *P, const double *x, int B, int S)
{
    const DtclDensenet *f = &md->f.dn;
    const DtclDensenetConfig *c = &f->cfg;
    int bG = c->bn_size * c->growth, H0 = (S - 1) / 2 + 1, H = (H0 - 1) / 2 + 1, C = c->init, l = 0;
    /* a bound on every tensor: no stage is wider than the stem, the bottleneck and every
     * layer's channels together, nor larger than the stem's side */
    size_t wide = (size_t)c->init + bG;
    for (int k = 0; k < DTCL_DN_BLOCKS; k++)
        wide += (size_t)c->layers[k] * c->growth;
    size_t big = (size_t)B * wide * H0 * H0;
    double *feat = DTCL_MALLOC(sizeof(double) * big), *t0 = DTCL_MALLOC(sizeof(double) * big);
    double *t1 = DTCL_MALLOC(sizeof(double) * big), *cat = DTCL_MALLOC(sizeof(double) * big);
    conv_stride(t0, x, PV(md, P, f->conv0), NULL, B, 1, C, S, 7, 2);
    batchnorm_relu(t0, PV(md, P, f->norm0.gamma), PV(md, P, f->norm0.beta), B, C, H0 * H0);
    maxpool3s2(feat, t0, B, C, H0); /* feat: (B, C, H, H), the features so far */
    for (int k = 0; k < DTCL_DN_BLOCKS; k++) {
        int HW = H * H;
        for (int j = 0; j < c->layers[k]; j++, l++) {
            const DtclDnLayer *y = &f->layer[l];
            norm_relu_copy(t0, feat, md, P, &y->norm1, B, C, HW);
            conv(t1, t0, PV(md, P, y->conv1), NULL, B, C, bG, H, 1);
            batchnorm_relu(t1, PV(md, P, y->norm2.gamma), PV(md, P, y->norm2.beta), B, bG, HW);
            conv(t0, t1, PV(md, P, y->conv2), NULL, B, bG, c->growth, H, 3);
            /* cat = [feat, t0] along the channels */
            for (int b = 0; b < B; b++) {
                memcpy(cat + (size_t)b * (C + c->growth) * HW, feat + (size_t)b * C * HW, sizeof(double) * C * HW);
                memcpy(cat + ((size_t)b * (C + c->growth) + C) * HW, t0 + (size_t)b * c->growth * HW,
                       sizeof(double) * c->growth * HW);
            }
            C += c->growth;
            memcpy(feat, cat, sizeof(double) * (size_t)B * C * HW);
        }
        if (k == DTCL_DN_BLOCKS - 1)
            break;
        norm_relu_copy(t0, feat, md, P, &f->tnorm[k], B, C, HW);
        conv(t1, t0, PV(md, P, f->tconv[k]), NULL, B, C, C / 2, H, 1);
        C /= 2;
        avgpool2(feat, t1, B, C, H);
        H /= 2;
    }
    norm_relu_copy(t0, feat, md, P, &f->norm5, B, C, H * H);
    avgpool(h, t0, B, C, H * H);
    free(feat);
    free(t0);
    free(t1);
    free(cat);
}

void dtcl_mnet_forward_naive(double *lambda, const DtclModel *md, const double *P, const double *x, int B, int S)
{
    const DtclMnet *m = &md->m;
    int C0 = m->widths[0], C1 = m->widths[1], S2 = S / 2, S4 = S2 / 2;
    double *r0 = DTCL_MALLOC(sizeof(double) * B * C0 * S * S), *p0 = DTCL_MALLOC(sizeof(double) * B * C0 * S2 * S2);
    double *r1 = DTCL_MALLOC(sizeof(double) * B * C1 * S2 * S2), *p1 = DTCL_MALLOC(sizeof(double) * B * C1 * S4 * S4);
    double *hd = DTCL_MALLOC(sizeof(double) * B * DTCL_NLAMBDA * S4 * S4);
    conv(r0, x, PV(md, P, m->w[0]), PV(md, P, m->b[0]), B, 1, C0, S, 3);
    relu(r0, (size_t)B * C0 * S * S);
    maxpool(p0, r0, B, C0, S);
    conv(r1, p0, PV(md, P, m->w[1]), PV(md, P, m->b[1]), B, C0, C1, S2, 3);
    relu(r1, (size_t)B * C1 * S2 * S2);
    maxpool(p1, r1, B, C1, S2);
    conv(hd, p1, PV(md, P, m->w[2]), PV(md, P, m->b[2]), B, C1, DTCL_NLAMBDA, S4, 1);
    avgpool(lambda, hd, B, DTCL_NLAMBDA, S4 * S4);
    for (int i = 0; i < B * DTCL_NLAMBDA; i++)
        lambda[i] = 1.0 / (1.0 + exp(-lambda[i]));
    free(r0);
    free(p0);
    free(r1);
    free(p1);
    free(hd);
}

void dtcl_heads_forward_naive(double *z, double *logit, const DtclModel *md, const double *P, const double *h,
                              int B)
{
    const DtclProjection *g = &md->g;
    double *v = DTCL_MALLOC(sizeof(double) * B * g->hidden);
    linear(v, h, PV(md, P, g->w0), PV(md, P, g->b0), B, g->d, g->hidden);
    relu(v, (size_t)B * g->hidden);
    linear(z, v, PV(md, P, g->w1), PV(md, P, g->b1), B, g->hidden, g->zdim);
    linear(logit, h, PV(md, P, md->p.w), PV(md, P, md->p.b), B, md->p.d, 1);
    free(v);
}

double dtcl_mstep_loss_naive(const DtclModel *md, const double *P, const DtclTransform *tr,
                             const DtclNoiseSource *noise, const DtclStepConfig *c, const double *x,
                             const int8_t *labels, int B, int S)
{
    int d = dtcl_encoder_dim(&md->f), Z = md->g.zdim;
    size_t SS = (size_t)S * S;
    double *lam = DTCL_MALLOC(sizeof(double) * B * DTCL_NLAMBDA), *xm = DTCL_MALLOC(sizeof(double) * B * SS);
    float *zf = DTCL_MALLOC(sizeof(float) * SS);
    dtcl_mnet_forward_naive(lam, md, P, x, B, S);
    for (int n = 0; n < B; n++) {
        dtcl_transform_noise(tr, zf, noise, n);
        dtcl_transform_naive(tr, xm + n * SS, x + n * SS, lam + n * DTCL_NLAMBDA, zf);
    }
    double *h = DTCL_MALLOC(sizeof(double) * B * d), *hm = DTCL_MALLOC(sizeof(double) * B * d);
    double *z = DTCL_MALLOC(sizeof(double) * B * Z), *zm = DTCL_MALLOC(sizeof(double) * B * Z);
    double *logit = DTCL_MALLOC(sizeof(double) * B), *logm = DTCL_MALLOC(sizeof(double) * B);
    dtcl_fcn_forward_naive(h, md, P, x, B, S);
    dtcl_fcn_forward_naive(hm, md, P, xm, B, S);
    dtcl_heads_forward_naive(z, logit, md, P, h, B);
    dtcl_heads_forward_naive(zm, logm, md, P, hm, B);
    double nce = dtcl_nce_loss_d(&c->nce, zm, z, labels, B, Z), bce = 0;
    int known = 0;
    for (int i = 0; i < B; i++)
        if (labels[i] >= 0) {
            double xv = logm[i];
            bce += fmax(xv, 0.0) - xv * labels[i] + log1p(exp(-fabs(xv)));
            known++;
        }
    bce = known ? bce / known : 0.0;
    free(lam); free(xm); free(zf); free(h); free(hm); free(z); free(zm); free(logit); free(logm);
    return -c->alpha[0] * nce + c->alpha[1] * bce;
}
