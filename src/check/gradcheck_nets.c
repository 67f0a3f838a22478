/* gradcheck_nets.c: the networks' derivatives against finite differences
 * (gradcheck.h): the fcn and densenet121 encoders in training mode, M, the heads g and p, and
 * the composed path that the M step differentiates,
 *   Lambda = M(X) -> X_M = T(X, Lambda) -> f -> g, p -> L_M = -a0 L_NCE + a1 BCE,
 * with respect to M's weights (through the analytic derivatives of T).
 *
 * Each network gets a scalar L (a random projection <out, w> of its output,
 * or L_M itself), its gradient by the float32 backward that training uses,
 * and rows comparing <grad, v> with the central difference
 * (L(theta + h v) - L(theta - h v)) / 2h of the double-precision twin
 * (nets_naive.c, transform_naive.c), h = 1e-6: one row along a direction
 * through every input and parameter at once, then one row per parameter
 * tensor. The networks are small (widths 3,4; M 3,4; 4 images of 16x16;
 * a densenet121 encoder with stem 4, growth 3, layers 1-2-1-1 on 32x32).
 * The scalar relative error (gradcheck.h) is typically 1e-7. Its tolerance,
 * 2e-2, leaves room for the rare unit whose ReLU or max-pool decision differs
 * between the float32 pass and the double twin (over 200 seeds, 11 of 6800
 * rows exceeded 2e-4, the worst 1.0e-2); a wrong derivative gives 0.1 to 1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/gradcheck.h"
#include "nets/nets_naive.h"
#include "base/rng.h"
#include "train/step.h"

#define NET_TOL 2e-2
#define NET_H 1e-6

enum { NB = 4, NS = 16 };

static void fill(float *out, size_t n, uint64_t seed, uint32_t item, float lo, float hi)
{
    DtclStream s = {seed, DTCL_RNG_TEST, 0, 0, item};
    dtcl_rng_uniform_range(&s, out, n, lo, hi);
}

static double dotf(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* What a check evaluates: the gradient of L by the float32 code (parameters
 * into md's gradient family, the input into dx), and L itself by the double
 * twin at parameters P and input x. */
typedef struct NetCase NetCase;
struct NetCase {
    const char *name;
    DtclModel *md;
    DtclStepPlan *plan;
    const DtclStepConfig *sc;
    const DtclNoiseSource *noise;
    float *x, *dx;           /* the input; dx NULL when the input is not checked */
    size_t nx;               /* its length */
    const int8_t *labels;
    const float *w;          /* the output projection */
    size_t pbegin, pend;     /* the parameter range this network owns */
    void (*grad)(NetCase *c);
    double (*loss)(NetCase *c, const double *P, const double *x);
};

static double dotfd(const float *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* either encoder, through the dispatch */
static void grad_encoder(NetCase *c)
{
    dtcl_encoder_forward_train(&c->plan->view[0], &c->md->f, c->x, 0, &c->plan->fp);
    dtcl_encoder_backward(c->dx, 1, c->w, &c->md->f, &c->plan->view[0], &c->plan->fp);
}

/* DenseNet at its smallest side */
enum { DS = 32 };

/* <w, f(x)> by the double twin of the case's encoder (fcn on NS x NS, DenseNet on DS x DS) */
static double loss_encoder(NetCase *c, const double *P, const double *x)
{
    size_t n = (size_t)NB * dtcl_encoder_dim(&c->md->f);
    double *h = DTCL_MALLOC(sizeof(double) * n);
    if (c->md->f.kind == DTCL_ENCODER_DENSENET121)
        dtcl_densenet_forward_naive(h, c->md, P, x, NB, DS);
    else
        dtcl_fcn_forward_naive(h, c->md, P, x, NB, NS);
    double l = dotfd(c->w, h, n);
    free(h);
    return l;
}

static void grad_mnet(NetCase *c)
{
    dtcl_mnet_forward(&c->plan->mp, &c->md->m, c->x);
    dtcl_mnet_backward(c->w, &c->md->m, &c->plan->mp);
}

static double loss_mnet(NetCase *c, const double *P, const double *x)
{
    double lam[NB * DTCL_NLAMBDA];
    dtcl_mnet_forward_naive(lam, c->md, P, x, NB, NS);
    return dotfd(c->w, lam, NB * DTCL_NLAMBDA);
}

/* g and p read a representation (NB, d) held in c->x; L = <z, w> + <logit, w'> */
static void grad_heads(NetCase *c)
{
    DtclModel *md = c->md;
    int Z = md->g.zdim;
    dtcl_projection_forward(c->plan->z[0], c->plan->v[0], c->x, &md->g, NB);
    dtcl_projection_backward(c->dx, 1, c->w, c->x, c->plan->v[0], &md->g, NB, c->plan->scratch);
    dtcl_classifier_backward(c->dx, 1, c->w + (size_t)NB * Z, c->x, &md->p, NB);
}

static double loss_heads(NetCase *c, const double *P, const double *x)
{
    int Z = c->md->g.zdim;
    double *z = DTCL_MALLOC(sizeof(double) * NB * Z), logit[NB];
    dtcl_heads_forward_naive(z, logit, c->md, P, x, NB);
    double l = dotfd(c->w, z, (size_t)NB * Z) + dotfd(c->w + (size_t)NB * Z, logit, NB);
    free(z);
    return l;
}

static void grad_mstep(NetCase *c)
{
    DtclStepLosses l;
    dtcl_step_forward_proposed(c->plan, c->sc, c->noise, c->x, c->labels, &l);
    dtcl_step_m_backward(c->plan, c->sc, c->x);
}

static double loss_mstep(NetCase *c, const double *P, const double *x)
{
    return dtcl_mstep_loss_naive(c->md, P, c->plan->tr, c->noise, c->sc, x, c->labels, NB, NS);
}

/* <grad, v> against the central difference of the double twin along v over
 * the parameters [b, e) (and the input when with_x); v drawn from `item`. */
static void directional(DtclCheckTable *tab, NetCase *c, const char *what, size_t b, size_t e, int with_x,
                        uint64_t seed, uint32_t item)
{
    DtclTable *t = &c->md->table;
    size_t np = e - b, nall = t->size[DTCL_FAMILY_PARAM], nx = c->nx;
    float *vp = DTCL_MALLOC(sizeof(float) * (np + 1)), *vx = DTCL_MALLOC(sizeof(float) * nx);
    double *P = DTCL_MALLOC(sizeof(double) * nall), *xd = DTCL_MALLOC(sizeof(double) * nx);
    fill(vp, np, seed, item, -1, 1);
    fill(vx, nx, seed, item + 1, -1, 1);
    memset(t->grad, 0, sizeof(float) * nall);
    if (c->dx)
        memset(c->dx, 0, sizeof(float) * nx);
    c->grad(c);
    double analytic = dotf(t->grad + b, vp, np) + (with_x ? dotf(c->dx, vx, nx) : 0.0);
    double gn = dotf(t->grad + b, t->grad + b, np) + (with_x ? dotf(c->dx, c->dx, nx) : 0.0);
    double vn = dotf(vp, vp, np) + (with_x ? dotf(vx, vx, nx) : 0.0);
    double side[2];
    for (int s = 0; s < 2; s++) {
        double h = s ? -NET_H : NET_H;
        for (size_t i = 0; i < nall; i++)
            P[i] = t->param[i];
        for (size_t i = 0; i < np; i++)
            P[b + i] += h * vp[i];
        for (size_t i = 0; i < nx; i++)
            xd[i] = c->x[i] + (with_x ? h * vx[i] : 0.0);
        side[s] = c->loss(c, P, xd);
    }
    double fd = (side[0] - side[1]) / (2.0 * NET_H);
    double den = fmax(fmax(fabs(analytic), fabs(fd)), sqrt(gn * vn / (double)(np + (with_x ? nx : 0))));
    dtcl_check_add(tab, c->name, what, den > 0 ? fabs(analytic - fd) / den : fabs(analytic - fd), NET_TOL);
    free(vp);
    free(vx);
    free(P);
    free(xd);
}

/* The whole-network row, then one row per parameter tensor in [pbegin, pend). */
static void check_network(DtclCheckTable *tab, NetCase *c, uint64_t seed, uint32_t item)
{
    DtclTable *t = &c->md->table;
    directional(tab, c, c->dx ? "directional: input and all weights" : "directional: all weights", c->pbegin,
                c->pend, c->dx != NULL, seed, item);
    for (int i = 0; i < t->n; i++) {
        const DtclTensorInfo *e = &t->t[i];
        if (e->family != DTCL_FAMILY_PARAM || e->offset < c->pbegin || e->offset >= c->pend)
            continue;
        char what[DTCL_NAME_MAX + 8];
        const char *dot = strchr(e->name, '.');
        snprintf(what, sizeof what, "d/d %.40s", dot ? dot + 1 : e->name);
        directional(tab, c, what, e->offset, e->offset + e->count, 0, seed, item + 10 + (uint32_t)i);
    }
}

static size_t tensor_offset(const DtclModel *md, const char *name)
{
    const DtclTensorInfo *e = dtcl_table_find(&md->table, name);
    return e ? e->offset : 0;
}

/* BatchNorm weights drawn in [0.5, 1.5], biases in [bias_lo, bias_lo + 1] */
static void fill_batchnorm(DtclTable *t, uint64_t seed, float bias_lo)
{
    for (int i = 0; i < t->n; i++)
        if (dtcl_model_is_batchnorm(t, i)) {
            float lo = strstr(t->t[i].name, ".bias") ? bias_lo : 0.5f;
            fill(t->param + t->t[i].offset, t->t[i].count, seed, 200 + (uint32_t)i, lo, lo + 1.0f);
        }
}

/* M 3,4; g 6 -> 5: the small networks beside either encoder */
static void small_heads(DtclModelConfig *mc)
{
    mc->mwidths[0] = 3;
    mc->mwidths[1] = 4;
    mc->hidden = 6;
    mc->zdim = 5;
}

/* The densenet121 encoder's layers at small widths (stem 4, growth 3,
 * bottleneck 6, layers 1-2-1-1) on NB images of DS x DS: every kind of
 * layer (7x7 stride-2 stem, 3x3 stride-2 max-pool, the concatenation, the
 * transitions' 2x2 average pool, BatchNorm from kept statistics). */
static int check_densenet(DtclCheckTable *tab, const DtclGradcheckConfig *cfg)
{
    DtclModelConfig mc;
    dtcl_model_config_default(&mc);
    mc.encoder = DTCL_ENCODER_DENSENET121;
    mc.dn = (DtclDensenetConfig){.init = 4, .growth = 3, .bn_size = 2, .layers = {1, 2, 1, 1}};
    small_heads(&mc);
    DtclModel md;
    dtcl_model_init(&md, &mc);
    dtcl_model_reset(&md, cfg->seed);
    DtclTable *t = &md.table;
    /* BatchNorm weights in [0.5, 1.5], biases in [-0.5, 0.5]: with positive biases every ReLU of
     * the stem passes, and since only BatchNorms read the stem's output, which cancel a
     * per-channel shift, d/d norm0.bias would be zero up to rounding, a ratio of noise */
    fill_batchnorm(t, cfg->seed, -0.5f);
    DtclStepPlan plan;
    dtcl_step_plan(&plan, &md, NULL, NB, DS, 1);
    size_t nx = (size_t)NB * DS * DS, nh = (size_t)NB * dtcl_encoder_dim(&md.f);
    float *x = DTCL_MALLOC(sizeof(float) * nx), *dx = DTCL_MALLOC(sizeof(float) * nx);
    float *w = DTCL_MALLOC(sizeof(float) * nh);
    fill(x, nx, cfg->seed, 310, 0, 1);
    fill(w, nh, cfg->seed, 311, -1, 1);
    NetCase c = {"densenet121 encoder (small)", &md, &plan, NULL, NULL, x, dx, nx, NULL, w, 0,
                 dtcl_table_find(t, "g.fc0.weight")->offset, grad_encoder, loss_encoder};
    check_network(tab, &c, cfg->seed, 1000);
    free(x);
    free(dx);
    free(w);
    dtcl_step_plan_free(&plan);
    dtcl_model_free(&md);
    return 0;
}

int dtcl_gradcheck_networks(DtclCheckTable *tab, const DtclGradcheckConfig *cfg, DtclError *err)
{
    DtclModelConfig mc;
    dtcl_model_config_default(&mc);
    dtcl_model_parse_widths("3,4", &mc, NULL);
    small_heads(&mc);
    DtclModel md;
    dtcl_model_init(&md, &mc);
    dtcl_model_reset(&md, cfg->seed);
    DtclTable *t = &md.table;
    /* BatchNorm affine parameters away from 1 and 0, so that their gradients matter */
    fill_batchnorm(t, cfg->seed, 0.5f);
    DtclStage order[DTCL_NSTAGES];
    int nsteps;
    dtcl_transform_parse_order(dtcl_default_order, order, &nsteps, NULL);
    DtclTransform tr;
    DtclTransformParams tp = cfg->params;
    if (dtcl_transform_init(&tr, NS, order, nsteps, &tp, err) != 0) {
        dtcl_model_free(&md);
        return -1;
    }
    DtclStepPlan plan;
    dtcl_step_plan(&plan, &md, &tr, NB, NS, 1);
    DtclStepConfig sc;
    dtcl_step_config_default(&sc);
    DtclNoiseSource noise = {cfg->seed, 0, 0, NULL};
    static const int8_t labels[NB] = {1, 0, -1, 1};
    size_t nx = (size_t)NB * NS * NS;
    float *x = DTCL_MALLOC(sizeof(float) * nx), *dx = DTCL_MALLOC(sizeof(float) * nx);
    float *w = DTCL_MALLOC(sizeof(float) * NB * 256);
    fill(x, nx, cfg->seed, 300, 0, 1);
    fill(w, (size_t)NB * 256, cfg->seed, 301, -1, 1);

    size_t g0 = tensor_offset(&md, "g.fc0.weight"), nh = (size_t)NB * dtcl_encoder_dim(&md.f);
    float *h = DTCL_MALLOC(sizeof(float) * nh);
    fill(h, nh, cfg->seed, 302, -1, 1); /* the heads read a representation (NB, d) */
    NetCase cases[4] = {
        {"fcn encoder (train mode)", &md, &plan, &sc, &noise, x, dx, nx, labels, w, 0, g0, grad_encoder, loss_encoder},
        {"M (conv, pool, logistic)", &md, &plan, &sc, &noise, x, NULL, nx, labels, w, md.m_begin, md.m_end, grad_mnet,
         loss_mnet},
        {"heads g and p", &md, &plan, &sc, &noise, h, dx, nh, labels, w, g0, md.enc_end, grad_heads, loss_heads},
        {"M step M->T->f->g,p->L_M", &md, &plan, &sc, &noise, x, NULL, nx, labels, w, md.m_begin, md.m_end,
         grad_mstep, loss_mstep},
    };
    int rc = 0;
    for (int k = 0; k < 3; k++)
        check_network(tab, &cases[k], cfg->seed, 400 + 100 * (uint32_t)k);
    /* The M step at a Lambda that no finite difference takes across a kink of
     * the crop's max-norm or of the bilinear sampler (Lambda = 1/2, where M
     * starts, sits on both): M's head bias is drawn until M(X) is kink-free. */
    int found = 0;
    for (int attempt = 0; attempt < 50 && !found; attempt++) {
        fill(md.m.b[2], DTCL_NLAMBDA, cfg->seed, 600 + (uint32_t)attempt, -2, 2);
        dtcl_mnet_forward(&plan.mp, &md.m, x);
        found = 1;
        for (int n = 0; n < NB && found; n++) {
            double lam[DTCL_NLAMBDA];
            for (int k = 0; k < DTCL_NLAMBDA; k++)
                lam[k] = plan.mp.lambda[n * DTCL_NLAMBDA + k];
            found = dtcl_transform_kink_free(&tr, lam, 1e-4);
        }
    }
    if (found)
        check_network(tab, &cases[3], cfg->seed, 700);
    if (rc == 0)
        rc = check_densenet(tab, cfg);
    else
        rc = dtcl_fail(err, "gradcheck networks: no kink-free Lambda for the M step in 50 draws (seed %llu)",
                       (unsigned long long)cfg->seed);
    free(h);
    free(x);
    free(dx);
    free(w);
    dtcl_step_plan_free(&plan);
    dtcl_transform_free(&tr);
    dtcl_model_free(&md);
    return rc;
}
