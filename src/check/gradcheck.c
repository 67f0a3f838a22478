/* gradcheck.c: finite-difference and adjoint checks of T_Lambda (see gradcheck.h). */
#include "check/gradcheck.h"
#include "transform/stages.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/bce.h"
#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/pool.h"
#include "nn/nce.h"
#include "base/rng.h"
#include "transform/transform_naive.h"

void dtcl_check_add(DtclCheckTable *tab, const char *component, const char *check, double err, double tol)
{
    if (tab->n == tab->cap) {
        tab->cap = tab->cap ? 2 * tab->cap : 64;
        DtclCheckRow *r = realloc(tab->rows, sizeof(DtclCheckRow) * tab->cap);
        if (!r) {
            fprintf(stderr, "dtcl: out of memory (%s:%d)\n", __FILE__, __LINE__);
            exit(1);
        }
        tab->rows = r;
    }
    DtclCheckRow *r = &tab->rows[tab->n++];
    snprintf(r->component, sizeof r->component, "%s", component);
    snprintf(r->check, sizeof r->check, "%s", check);
    r->err = err;
    r->tol = tol;
    r->ok = err <= tol; /* NaN fails */
}

int dtcl_check_failures(const DtclCheckTable *tab)
{
    int bad = 0;
    for (int i = 0; i < tab->n; i++)
        bad += !tab->rows[i].ok;
    return bad;
}

void dtcl_check_print(const DtclCheckTable *tab, FILE *f)
{
    fprintf(f, "%-38s %-34s %12s %10s  %s\n", "component", "check", "worst_rel", "tolerance", "ok");
    for (int i = 0; i < tab->n; i++) {
        const DtclCheckRow *r = &tab->rows[i];
        fprintf(f, "%-38s %-34s %12.3e %10.1e  %s\n", r->component, r->check, r->err, r->tol,
                r->ok ? "ok" : "FAIL");
    }
}

void dtcl_check_free(DtclCheckTable *tab)
{
    free(tab->rows);
    memset(tab, 0, sizeof *tab);
}

void dtcl_gradcheck_config_default(DtclGradcheckConfig *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->size = 24;
    cfg->batch = 3;
    cfg->seed = 1;
    cfg->h = 1e-6;
    dtcl_transform_params_default(&cfg->params);
}

/* ---- kinks: each stage knows its own (stages.h) */

int dtcl_transform_kink_free(const DtclTransform *t, const double *lambda, double h)
{
    for (int s = 0; s < t->nsteps; s++) {
        const DtclStageInfo *st = &dtcl_stages[t->order[s]];
        if (st->kink_free && !st->kink_free(t, lambda, h))
            return 0;
    }
    return 1;
}

/* ---- helpers */

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

static double dotd(const double *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static double norm(const float *a, size_t n) { return sqrt(dot(a, a, n)); }

/* |a - b| relative to the larger of |a|, |b| and the typical size of a random
 * inner product of n terms, ||u|| ||w|| / sqrt(n) (scale = ||u|| ||w||). */
static double scalar_err(double a, double b, double scale, size_t n)
{
    double den = fmax(fmax(fabs(a), fabs(b)), scale / sqrt((double)n));
    return den > 0 ? fabs(a - b) / den : fabs(a - b);
}

static void uniform(float *out, size_t n, uint64_t seed, uint32_t item, float lo, float hi)
{
    DtclStream s = {seed, DTCL_RNG_TEST, 0, 0, item};
    dtcl_rng_uniform_range(&s, out, n, lo, hi);
}

int dtcl_gradcheck_transform(DtclCheckTable *tab, const char *component, const DtclStage *order,
                             int nsteps, const DtclGradcheckConfig *cfg, DtclError *err)
{
    DtclTransform t;
    if (dtcl_transform_init(&t, cfg->size, order, nsteps, &cfg->params, err) != 0)
        return -1;
    int N = cfg->batch, S = cfg->size;
    size_t SS = (size_t)S * S, NS = (size_t)N * SS, SV = dtcl_transform_saved_size(&t);
    double h = cfg->h;
    DtclNoiseSource noise = {cfg->seed, 0, 0, NULL};

    float *x = DTCL_ALIGNED(NS * 4), *w = DTCL_ALIGNED(NS * 4), *v = DTCL_ALIGNED(NS * 4);
    float *lam = DTCL_ALIGNED(N * DTCL_NLAMBDA * 4), *vlam = DTCL_ALIGNED(N * DTCL_NLAMBDA * 4);
    if (cfg->image)
        for (int n = 0; n < N; n++)
            memcpy(x + n * SS, cfg->image, SS * 4);
    else
        uniform(x, NS, cfg->seed, 1, 0.0f, 1.0f);
    uniform(w, NS, cfg->seed, 2, -1.0f, 1.0f);
    uniform(v, NS, cfg->seed, 3, -1.0f, 1.0f);
    uniform(vlam, (size_t)N * DTCL_NLAMBDA, cfg->seed, 4, -1.0f, 1.0f);

    /* points away from kinks: lambda in [0.05, 0.95]^7 (lambda0 in [0.25, 0.95]),
     * redrawn until kink-free */
    for (int n = 0; n < N; n++) {
        int tries = 0;
        for (;; tries++) {
            if (tries == 2000) {
                dtcl_transform_free(&t);
                free(x); free(w); free(v); free(lam); free(vlam);
                return dtcl_fail(err, "%s: no kink-free point found in 2000 draws (size %d, h %g)", component, S, h);
            }
            uniform(lam + n * DTCL_NLAMBDA, DTCL_NLAMBDA, cfg->seed, 1000u + (uint32_t)(n * 2000 + tries), 0.05f, 0.95f);
            double ld[DTCL_NLAMBDA];
            for (int k = 0; k < DTCL_NLAMBDA; k++)
                ld[k] = lam[n * DTCL_NLAMBDA + k];
            /* sigma >= 0.5 pixel: below it dT/dsigma is vanishingly small (e^(-1/2 sigma^2)) */
            float *l0 = lam + n * DTCL_NLAMBDA;
            l0[0] = 0.25f + (l0[0] - 0.05f) * (0.70f / 0.90f);
            ld[0] = l0[0];
            if (dtcl_transform_kink_free(&t, ld, h))
                break;
        }
    }

    /* the fast path: forward, Jacobian, backward (VJP), JVP */
    float *y = DTCL_ALIGNED(NS * 4), *saved = DTCL_ALIGNED((SV ? SV : 1) * N * 4);
    float *jac = DTCL_ALIGNED(NS * DTCL_NLAMBDA * 4), *jv = DTCL_ALIGNED(NS * 4);
    float *dx = DTCL_CALLOC(NS, 4), *dlam = DTCL_CALLOC((size_t)N * DTCL_NLAMBDA, 4);
    dtcl_transform_forward(&t, y, saved, x, lam, &noise, N);
    dtcl_transform_jacobian(&t, jac, NULL, x, lam, &noise, N);
    dtcl_transform_backward(&t, dx, dlam, w, x, lam, saved, N);
    dtcl_transform_jvp(&t, jv, NULL, x, lam, v, vlam, &noise, N);

    /* the naive twin, and its central differences */
    double *xd = DTCL_MALLOC(SS * 8), *yd = DTCL_MALLOC(SS * 8), *yp = DTCL_MALLOC(SS * 8),
           *ym = DTCL_MALLOC(SS * 8), *fd = DTCL_MALLOC(SS * 8);
    float *z = DTCL_MALLOC(SS * 4), *fdf = DTCL_MALLOC(SS * 4);
    double fwd_num = 0, fwd_den = 0;
    double col_num[DTCL_NLAMBDA] = {0}, col_den[DTCL_NLAMBDA] = {0};
    double worst_vjp_l = 0, worst_vjp_x = 0, worst_adj = 0;
    for (int n = 0; n < N; n++) {
        const float *xn = x + n * SS, *wn = w + n * SS, *vn = v + n * SS;
        double ld[DTCL_NLAMBDA];
        for (int k = 0; k < DTCL_NLAMBDA; k++)
            ld[k] = lam[n * DTCL_NLAMBDA + k];
        dtcl_transform_noise(&t, z, &noise, n);
        for (size_t q = 0; q < SS; q++)
            xd[q] = xn[q];
        dtcl_transform_naive(&t, yd, xd, ld, z);
        for (size_t q = 0; q < SS; q++) {
            double d = y[n * SS + q] - yd[q];
            fwd_num += d * d;
            fwd_den += yd[q] * yd[q];
        }
        /* dT/dlambda_k by central differences; the VJP in lambda against them */
        for (int k = 0; k < DTCL_NLAMBDA; k++) {
            if (!dtcl_transform_uses_lambda(&t, k))
                continue;
            double l0 = ld[k];
            ld[k] = l0 + h;
            dtcl_transform_naive(&t, yp, xd, ld, z);
            ld[k] = l0 - h;
            dtcl_transform_naive(&t, ym, xd, ld, z);
            ld[k] = l0;
            const float *jk = jac + ((size_t)n * DTCL_NLAMBDA + k) * SS;
            for (size_t q = 0; q < SS; q++) {
                fd[q] = (yp[q] - ym[q]) / (2 * h);
                fdf[q] = (float)fd[q];
                col_num[k] += (jk[q] - fd[q]) * (jk[q] - fd[q]);
                col_den[k] += fd[q] * fd[q];
            }
            double b = dotd(fd, wn, SS);
            double e = scalar_err(dlam[n * DTCL_NLAMBDA + k], b, norm(fdf, SS) * norm(wn, SS), SS);
            worst_vjp_l = fmax(worst_vjp_l, e);
        }
        /* the VJP in x against a central difference along v (T is affine in x) */
        const double hx = 1e-3;
        for (size_t q = 0; q < SS; q++)
            xd[q] = xn[q] + hx * vn[q];
        dtcl_transform_naive(&t, yp, xd, ld, z);
        for (size_t q = 0; q < SS; q++)
            xd[q] = xn[q] - hx * vn[q];
        dtcl_transform_naive(&t, ym, xd, ld, z);
        for (size_t q = 0; q < SS; q++)
            fd[q] = (yp[q] - ym[q]) / (2 * hx);
        double a = dot(dx + n * SS, vn, SS), b = dotd(fd, wn, SS);
        worst_vjp_x = fmax(worst_vjp_x, scalar_err(a, b, norm(dx + n * SS, SS) * norm(vn, SS), SS));
        /* the adjoint identity between forward and reverse mode */
        double lhs = dot(jv + n * SS, wn, SS);
        double rhs = dot(vn, dx + n * SS, SS) + dot(vlam + n * DTCL_NLAMBDA, dlam + n * DTCL_NLAMBDA, DTCL_NLAMBDA);
        worst_adj = fmax(worst_adj, scalar_err(lhs, rhs, norm(jv + n * SS, SS) * norm(wn, SS), SS));
    }

    dtcl_check_add(tab, component, "forward: fast vs naive double", sqrt(fwd_num / fmax(fwd_den, 1e-300)), 1e-5);
    for (int k = 0; k < DTCL_NLAMBDA; k++) {
        if (!dtcl_transform_uses_lambda(&t, k))
            continue;
        char name[48];
        snprintf(name, sizeof name, "dT/dlambda%d (%s) vs FD", k, dtcl_lambda_names[k]);
        dtcl_check_add(tab, component, name, sqrt(col_num[k] / fmax(col_den[k], 1e-300)), 1e-4);
    }
    dtcl_check_add(tab, component, "VJP lambda vs FD", worst_vjp_l, 1e-4);
    dtcl_check_add(tab, component, "VJP x vs FD", worst_vjp_x, 1e-4);
    dtcl_check_add(tab, component, "adjoint <Jv,w> = <v,J^T w>", worst_adj, 1e-5);

    free(x); free(w); free(v); free(lam); free(vlam); free(y); free(saved); free(jac); free(jv);
    free(dx); free(dlam); free(xd); free(yd); free(yp); free(ym); free(fd); free(z); free(fdf);
    dtcl_transform_free(&t);
    return 0;
}

void dtcl_gradcheck_cases(DtclTransformCase cases[DTCL_GRADCHECK_CASES])
{
    for (int k = 0; k < DTCL_NSTAGES; k++) {
        DtclTransformCase *c = &cases[k];
        snprintf(c->name, sizeof c->name, "%s", dtcl_stages[k].name);
        c->order[0] = (DtclStage)k;
        c->nsteps = 1;
    }
    DtclTransformCase *d = &cases[DTCL_NSTAGES], *r = d + 1;
    snprintf(d->name, sizeof d->name, "T (default order)");
    snprintf(r->name, sizeof r->name, "T (reversed order)");
    dtcl_transform_parse_order(dtcl_default_order, d->order, &d->nsteps, NULL);
    r->nsteps = d->nsteps;
    for (int s = 0; s < d->nsteps; s++)
        r->order[s] = d->order[d->nsteps - 1 - s];
}

int dtcl_gradcheck_transforms(DtclCheckTable *tab, const DtclGradcheckConfig *cfg, DtclError *err)
{
    DtclTransformCase cases[DTCL_GRADCHECK_CASES];
    dtcl_gradcheck_cases(cases);
    for (int k = 0; k < DTCL_GRADCHECK_CASES; k++)
        if (dtcl_gradcheck_transform(tab, cases[k].name, cases[k].order, cases[k].nsteps, cfg, err) != 0)
            return -1;
    return 0;
}

/* ---- losses */

static double rel_l2(const float *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num / fmax(den, 1e-300));
}

int dtcl_gradcheck_losses(DtclCheckTable *tab, const DtclGradcheckConfig *cfg, DtclError *err)
{
    (void)err;
    enum { B = 6, D = 8 };
    const size_t n = (size_t)B * D;
    const double h = 1e-6;
    struct { const char *name; DtclNce c; } kinds[] = {
        {"L_NCE (paper, dot)", {DTCL_NCE_PAPER, DTCL_SIM_DOT, 1.0}},
        {"L_NCE (paper, cosine)", {DTCL_NCE_PAPER, DTCL_SIM_COSINE, 0.5}},
        {"NT-Xent (cosine)", {DTCL_NCE_SIMCLR, DTCL_SIM_COSINE, 0.5}},
        {"SupCon (cosine)", {DTCL_NCE_SUPCON, DTCL_SIM_COSINE, 0.2}},
    };
    float zm[B * D], z[B * D], gzm[B * D], gz[B * D];
    int8_t labels[B] = {1, 0, -1, 1, 0, 1};
    uniform(zm, n, cfg->seed, 50, -1.0f, 1.0f);
    uniform(z, n, cfg->seed, 51, -1.0f, 1.0f);
    double a[B * D], b[B * D], fa[B * D], fb[B * D];
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        memset(gzm, 0, sizeof gzm);
        memset(gz, 0, sizeof gz);
        dtcl_nce_forward_backward(&kinds[k].c, gzm, gz, zm, z, labels, B, D, NULL);
        for (size_t q = 0; q < n; q++)
            a[q] = zm[q], b[q] = z[q];
        for (size_t q = 0; q < n; q++) { /* every coordinate of both views */
            double keep = a[q];
            a[q] = keep + h;
            double lp = dtcl_nce_loss_d(&kinds[k].c, a, b, labels, B, D);
            a[q] = keep - h;
            double lm = dtcl_nce_loss_d(&kinds[k].c, a, b, labels, B, D);
            a[q] = keep;
            fa[q] = (lp - lm) / (2 * h);
            keep = b[q];
            b[q] = keep + h;
            lp = dtcl_nce_loss_d(&kinds[k].c, a, b, labels, B, D);
            b[q] = keep - h;
            lm = dtcl_nce_loss_d(&kinds[k].c, a, b, labels, B, D);
            b[q] = keep;
            fb[q] = (lp - lm) / (2 * h);
        }
        dtcl_check_add(tab, kinds[k].name, "dL/dzm vs FD", rel_l2(gzm, fa, n), 1e-5);
        dtcl_check_add(tab, kinds[k].name, "dL/dz vs FD", rel_l2(gz, fb, n), 1e-5);
    }
    /* BCE: the labelled images only */
    float x[B], gx[B] = {0};
    int8_t mask[B] = {1, 1, 1, 0, 1, 1};
    uniform(x, B, cfg->seed, 52, -3.0f, 3.0f);
    dtcl_bce_forward_backward(gx, x, labels, mask, B);
    double fx[B];
    for (int i = 0; i < B; i++) {
        float keep = x[i];
        /* the loss is evaluated in double inside; perturb in float by a representable step */
        float hp = keep + 1e-3f, hm = keep - 1e-3f;
        x[i] = hp;
        double lp = dtcl_bce_forward_backward(NULL, x, labels, mask, B);
        x[i] = hm;
        double lm = dtcl_bce_forward_backward(NULL, x, labels, mask, B);
        x[i] = keep;
        fx[i] = (lp - lm) / ((double)hp - (double)hm);
    }
    dtcl_check_add(tab, "BCE (labelled only)", "dL/dx vs FD", rel_l2(gx, fx, B), 1e-5);
    return 0;
}

/* ---- layers */

enum { LAYER_BN, LAYER_RELU, LAYER_LOGISTIC, LAYER_MAXPOOL, LAYER_AVGPOOL, LAYER_LINEAR, LAYER_CONV3, LAYER_CONV1,
       NLAYERS };
static const char *const layer_names[NLAYERS] = {"BatchNorm2d (train)", "ReLU", "logistic", "max-pool 2x2",
                                                 "global avg pool", "Linear", "conv 3x3 (im2col)", "conv 1x1"};

/* Geometry of the test: x (B,C,H,W) or (B,NIN) for Linear; params: BN gamma,
 * beta (C each); Linear weight (NOUT,NIN), bias (NOUT). */
enum { LB = 3, LC = 2, LH = 4, LW = 6, NIN = 5, NOUT = 4 };

static size_t layer_in(int k) { return k == LAYER_LINEAR ? (size_t)LB * NIN : (size_t)LB * LC * LH * LW; }
static size_t layer_out(int k)
{
    return k == LAYER_LINEAR ? (size_t)LB * NOUT : k == LAYER_MAXPOOL ? (size_t)LB * LC * (LH / 2) * (LW / 2)
           : k == LAYER_AVGPOOL ? (size_t)LB * LC : layer_in(k);
}
static size_t layer_params(int k)
{
    return k == LAYER_BN ? 2 * LC : k == LAYER_LINEAR ? (size_t)NOUT * NIN + NOUT
           : k == LAYER_CONV3 ? (size_t)LC * LC * 9 + LC : k == LAYER_CONV1 ? (size_t)LC * LC + LC : 0;
}

/* Convolutions LC -> LC channels, bias included; workspace for one thread. */
static DtclConvShape layer_conv(int k)
{
    DtclConvShape s = {.B = LB, .C = LC, .O = LC, .H = LH, .W = LW, .k = k == LAYER_CONV3 ? 3 : 1, .threads = 1};
    return s;
}
static float conv_work[2048];

static void layer_forward(int k, float *y, const float *x, const float *p)
{
    size_t n = layer_in(k);
    float xhat[LB * LC * LH * LW], is[LC];
    int32_t am[LB * LC * LH * LW];
    switch (k) {
    case LAYER_BN: dtcl_batchnorm_forward_train(y, xhat, is, NULL, NULL, x, p, p + LC, LB, LC, LH * LW, 0.1f, 1e-5f); break;
    case LAYER_RELU: dtcl_relu_forward(y, x, n); break;
    case LAYER_LOGISTIC: dtcl_logistic_forward(y, x, n); break;
    case LAYER_MAXPOOL: dtcl_maxpool2_forward(y, am, x, LB, LC, LH, LW); break;
    case LAYER_AVGPOOL: dtcl_avgpool_forward(y, x, LB, LC, LH * LW); break;
    case LAYER_CONV3:
    case LAYER_CONV1: {
        DtclConvShape s = layer_conv(k);
        dtcl_conv2d_forward(y, x, p, p + layer_params(k) - LC, &s, conv_work);
        break;
    }
    default: dtcl_linear_forward(y, x, p, p + NOUT * NIN, LB, NIN, NOUT); break;
    }
}

/* dx, dp (+=) for upstream w. */
static void layer_backward(int k, float *dx, float *dp, const float *w, const float *x, const float *p)
{
    size_t n = layer_in(k);
    float y[LB * LC * LH * LW], xhat[LB * LC * LH * LW], is[LC];
    int32_t am[LB * LC * LH * LW];
    switch (k) {
    case LAYER_BN:
        dtcl_batchnorm_forward_train(y, xhat, is, NULL, NULL, x, p, p + LC, LB, LC, LH * LW, 0.1f, 1e-5f);
        dtcl_batchnorm_backward(dx, dp, dp + LC, w, xhat, is, p, LB, LC, LH * LW);
        break;
    case LAYER_RELU: dtcl_relu_backward(dx, w, x, n); break;
    case LAYER_LOGISTIC:
        dtcl_logistic_forward(y, x, n);
        dtcl_logistic_backward(dx, w, y, n);
        break;
    case LAYER_MAXPOOL:
        dtcl_maxpool2_forward(y, am, x, LB, LC, LH, LW);
        dtcl_maxpool2_backward(dx, w, am, LB, LC, LH, LW);
        break;
    case LAYER_AVGPOOL: dtcl_avgpool_backward(dx, w, LB, LC, LH * LW); break;
    case LAYER_CONV3:
    case LAYER_CONV1: {
        DtclConvShape s = layer_conv(k);
        dtcl_conv2d_backward(dx, dp, dp + layer_params(k) - LC, w, x, p, &s, conv_work);
        break;
    }
    default: dtcl_linear_backward(dx, dp, dp + NOUT * NIN, w, x, p, LB, NIN, NOUT); break;
    }
}

int dtcl_gradcheck_layers(DtclCheckTable *tab, const DtclGradcheckConfig *cfg, DtclError *err)
{
    (void)err;
    enum { MAXN = LB * LC * LH * LW, MAXP = LC * LC * 9 + LC };
    const float h = 3e-3f; /* below the 0.05 ReLU margin and half the 0.01 max-pool gaps */
    for (int k = 0; k < NLAYERS; k++) {
        size_t n = layer_in(k), m = layer_out(k), np = layer_params(k);
        float x[MAXN], v[MAXN], w[MAXN], p[MAXP + 1], vp[MAXP + 1], dx[MAXN] = {0}, dp[MAXP + 1] = {0};
        float xs[MAXN], ps[MAXP + 1], y[MAXN];
        uniform(x, n, cfg->seed, 60 + (uint32_t)k, -2.0f, 2.0f);
        uniform(v, n, cfg->seed, 70 + (uint32_t)k, -1.0f, 1.0f);
        uniform(w, m, cfg->seed, 80 + (uint32_t)k, -1.0f, 1.0f);
        uniform(p, np + 1, cfg->seed, 90 + (uint32_t)k, 0.5f, 1.5f);
        uniform(vp, np + 1, cfg->seed, 100 + (uint32_t)k, -1.0f, 1.0f);
        if (k == LAYER_RELU) /* away from the kink at 0 */
            for (size_t i = 0; i < n; i++)
                x[i] = x[i] >= 0 ? x[i] + 0.05f : x[i] - 0.05f;
        if (k == LAYER_MAXPOOL) /* distinct values, 0.01 apart: no tie crosses within +-h */
            for (size_t i = 0; i < n; i++)
                x[i] = 0.01f * (float)((i * 37) % n) - 0.5f;
        layer_backward(k, dx, dp, w, x, p);
        double analytic = dot(dx, v, n) + (np ? dot(dp, vp, np) : 0.0);
        double side[2];
        for (int s = 0; s < 2; s++) {
            float sg = s ? -h : h;
            for (size_t i = 0; i < n; i++)
                xs[i] = x[i] + sg * v[i];
            for (size_t i = 0; i < np; i++)
                ps[i] = p[i] + sg * vp[i];
            layer_forward(k, y, xs, np ? ps : p);
            side[s] = dot(y, w, m);
        }
        /* the step actually taken is h up to float rounding of x + h v, which the
         * tolerance covers */
        double fd = (side[0] - side[1]) / (2.0 * h);
        double scale = sqrt(dot(dx, dx, n) + (np ? dot(dp, dp, np) : 0.0)) *
                       sqrt(dot(v, v, n) + (np ? dot(vp, vp, np) : 0.0));
        dtcl_check_add(tab, layer_names[k], np ? "directional: inputs and parameters" : "directional: inputs",
                       scalar_err(analytic, fd, scale, n + np), 1e-3);
    }
    return 0;
}
