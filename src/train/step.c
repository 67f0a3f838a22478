/* step.c: the M step and the encoder step (paper Eq. 1; see step.h). */
#include "train/step.h"

#include <string.h>

#include "nn/bce.h"

void dtcl_step_config_default(DtclStepConfig *c)
{
    static const double alpha[5] = {1, 10, 1, 1, 1};
    memset(c, 0, sizeof *c);
    c->nce.kind = DTCL_NCE_PAPER;
    c->nce.sim = DTCL_SIM_DOT;
    c->nce.tau = 1.0;
    memcpy(c->alpha, alpha, sizeof alpha);
    dtcl_adam_default(&c->adam_e, 1e-4);
    dtcl_adam_default(&c->adam_m, 1e-3);
}

void dtcl_step_take_views(DtclStepPlan *p, const DtclModel *md)
{
    DtclArena *a = &p->arena;
    int B = p->B, S = p->S, d = dtcl_encoder_dim(&md->f), hid = md->g.hidden, Z = md->g.zdim;
    for (int v = 0; v < 2; v++) {
        dtcl_encoder_saved(&p->view[v], &p->fp, &md->f, a);
        p->v[v] = dtcl_arena_take(a, (size_t)B * hid);
        p->z[v] = dtcl_arena_take(a, (size_t)B * Z);
        p->logit[v] = dtcl_arena_take(a, B);
        p->dzn[v] = dtcl_arena_take(a, (size_t)B * Z);
        p->dbce[v] = dtcl_arena_take(a, B);
        p->dz[v] = dtcl_arena_take(a, (size_t)B * Z);
        p->dlogit[v] = dtcl_arena_take(a, B);
        p->dh[v] = dtcl_arena_take(a, (size_t)B * d);
    }
    p->scratch = dtcl_arena_take(a, (size_t)B * hid);
    p->xm = dtcl_arena_take(a, (size_t)B * S * S);
}

static void step_layout(DtclStepPlan *p, const DtclModel *md)
{
    DtclArena *a = &p->arena;
    int B = p->B, S = p->S;
    dtcl_encoder_plan(&p->fp, &md->f, B, S, p->threads, a);
    dtcl_step_take_views(p, md);
    if (p->tr) {
        dtcl_mnet_plan(&p->mp, &md->m, B, S, p->threads, a);
        p->tsaved = dtcl_arena_take(a, (size_t)B * dtcl_transform_saved_size(p->tr));
        p->dxm = dtcl_arena_take(a, (size_t)B * S * S);
        p->dlambda = dtcl_arena_take(a, (size_t)B * DTCL_NLAMBDA);
    }
}

void dtcl_step_plan(DtclStepPlan *p, const DtclModel *md, const DtclTransform *tr, int B, int S, int threads)
{
    memset(p, 0, sizeof *p);
    p->B = B;
    p->S = S;
    p->threads = threads;
    p->tr = tr;
    step_layout(p, md); /* counting walk */
    dtcl_arena_alloc(&p->arena);
    step_layout(p, md); /* binding walk */
}

void dtcl_step_plan_free(DtclStepPlan *p)
{
    dtcl_arena_free(&p->arena);
    memset(p, 0, sizeof *p);
}

/* f on X then on X_M (running statistics updated), g and p on both; the
 * losses and their unweighted gradients dzn, dbce. */
static void forward_views(DtclModel *md, DtclStepPlan *p, const DtclStepConfig *c, const float *x,
                          const float *xm, const int8_t *labels, DtclStepLosses *out)
{
    int B = p->B, Z = md->g.zdim;
    const float *in[2] = {x, xm};
    for (int v = 0; v < 2; v++) {
        dtcl_encoder_forward_train(&p->view[v], &md->f, in[v], 1, &p->fp);
        dtcl_projection_forward(p->z[v], p->v[v], p->view[v].h, &md->g, B);
        dtcl_classifier_forward(p->logit[v], p->view[v].h, &md->p, B);
        memset(p->dzn[v], 0, sizeof(float) * B * Z);
        memset(p->dbce[v], 0, sizeof(float) * B);
    }
    out->nce = dtcl_nce_forward_backward(&c->nce, p->dzn[1], p->dzn[0], p->z[1], p->z[0], labels, B, Z);
    out->bce_m = dtcl_bce_forward_backward(p->dbce[1], p->logit[1], labels, NULL, B);
    out->bce = dtcl_bce_forward_backward(p->dbce[0], p->logit[0], labels, NULL, B);
    const double *a = c->alpha;
    out->loss_m = -a[0] * out->nce + a[1] * out->bce_m;
    out->loss_e = a[2] * out->nce + a[3] * out->bce_m + a[4] * out->bce;
}

static void scale(float *y, const float *x, double s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (float)(s * x[i]);
}

/* Upstream gradients at z and the logit of view v, weighted; then g and p
 * backward into dh[v]. */
static void heads_backward(DtclModel *md, DtclStepPlan *p, int v, double a_nce, double a_bce, int param_grads)
{
    int B = p->B, Z = md->g.zdim, d = dtcl_encoder_dim(&md->f);
    scale(p->dz[v], p->dzn[v], a_nce, (size_t)B * Z);
    scale(p->dlogit[v], p->dbce[v], a_bce, B);
    memset(p->dh[v], 0, sizeof(float) * B * d);
    dtcl_projection_backward(p->dh[v], param_grads, p->dz[v], p->view[v].h, p->v[v], &md->g, B, p->scratch);
    dtcl_classifier_backward(p->dh[v], param_grads, p->dlogit[v], p->view[v].h, &md->p, B);
}

static void encoder_backward_and_update(DtclModel *md, DtclStepPlan *p, const DtclStepConfig *c)
{
    const double *a = c->alpha;
    DtclTable *t = &md->table;
    size_t n = md->enc_end - md->enc_begin;
    memset(t->grad + md->enc_begin, 0, sizeof(float) * n);
    heads_backward(md, p, 0, a[2], a[4], 1);
    heads_backward(md, p, 1, a[2], a[3], 1);
    for (int v = 0; v < 2; v++)
        dtcl_encoder_backward(NULL, 1, p->dh[v], &md->f, &p->view[v], &p->fp);
    md->step_e++;
    dtcl_adam_step(&c->adam_e, t->param + md->enc_begin, t->adam_m + md->enc_begin, t->adam_v + md->enc_begin,
                   t->grad + md->enc_begin, n, md->step_e);
}

void dtcl_step_encoder(DtclModel *md, DtclStepPlan *p, const DtclStepConfig *c, const float *x, const float *xm,
                       const int8_t *labels, DtclStepLosses *out)
{
    forward_views(md, p, c, x, xm, labels, out);
    encoder_backward_and_update(md, p, c);
}

void dtcl_step_supervised(DtclModel *md, DtclStepPlan *p, const DtclStepConfig *c, const float *xm,
                          const int8_t *labels, DtclStepLosses *out)
{
    int B = p->B, d = dtcl_encoder_dim(&md->f);
    DtclTable *t = &md->table;
    memset(out, 0, sizeof *out);
    dtcl_encoder_forward_train(&p->view[1], &md->f, xm, 1, &p->fp);
    dtcl_classifier_forward(p->logit[1], p->view[1].h, &md->p, B);
    memset(p->dlogit[1], 0, sizeof(float) * B);
    out->bce_m = out->loss_e = dtcl_bce_forward_backward(p->dlogit[1], p->logit[1], labels, NULL, B);
    size_t n = md->enc_end - md->enc_begin;
    memset(t->grad + md->enc_begin, 0, sizeof(float) * n);
    memset(p->dh[1], 0, sizeof(float) * B * d);
    dtcl_classifier_backward(p->dh[1], 1, p->dlogit[1], p->view[1].h, &md->p, B);
    dtcl_encoder_backward(NULL, 1, p->dh[1], &md->f, &p->view[1], &p->fp);
    md->step_e++; /* g's gradient is zero: Adam leaves it where it is */
    dtcl_adam_step(&c->adam_e, t->param + md->enc_begin, t->adam_m + md->enc_begin, t->adam_v + md->enc_begin,
                   t->grad + md->enc_begin, n, md->step_e);
}

void dtcl_step_forward_proposed(DtclModel *md, DtclStepPlan *p, const DtclStepConfig *c,
                                const DtclNoiseSource *noise, const float *x, const int8_t *labels,
                                DtclStepLosses *out)
{
    /* M proposes Lambda; T makes X_M */
    dtcl_mnet_forward(&p->mp, &md->m, x);
    dtcl_transform_forward(p->tr, p->xm, p->tsaved, x, p->mp.lambda, noise, p->B);
    forward_views(md, p, c, x, p->xm, labels, out);
}

void dtcl_step_m_backward(DtclModel *md, DtclStepPlan *p, const DtclStepConfig *c, const float *x)
{
    int B = p->B, S = p->S;
    DtclTable *t = &md->table;
    /* dL_M/dX_M through p, g and f (no weight gradients), then through T to
     * Lambda and M's weights */
    heads_backward(md, p, 1, -c->alpha[0], c->alpha[1], 0);
    memset(p->dxm, 0, sizeof(float) * B * S * S);
    dtcl_encoder_backward(p->dxm, 0, p->dh[1], &md->f, &p->view[1], &p->fp);
    memset(p->dlambda, 0, sizeof(float) * B * DTCL_NLAMBDA);
    dtcl_transform_backward(p->tr, NULL, p->dlambda, p->dxm, x, p->mp.lambda, p->tsaved, B);
    memset(t->grad + md->m_begin, 0, sizeof(float) * (md->m_end - md->m_begin));
    dtcl_mnet_backward(p->dlambda, &md->m, &p->mp);
}

void dtcl_step_proposed(DtclModel *md, DtclStepPlan *p, const DtclStepConfig *c, const DtclNoiseSource *noise,
                        const float *x, const int8_t *labels, DtclStepLosses *out)
{
    DtclTable *t = &md->table;
    dtcl_step_forward_proposed(md, p, c, noise, x, labels, out);
    /* the M step */
    dtcl_step_m_backward(md, p, c, x);
    md->step_m++;
    dtcl_adam_step(&c->adam_m, t->param + md->m_begin, t->adam_m + md->m_begin, t->adam_v + md->m_begin,
                   t->grad + md->m_begin, md->m_end - md->m_begin, md->step_m);
    /* the encoder step on the same X_M, from the same forward pass */
    encoder_backward_and_update(md, p, c);
}
