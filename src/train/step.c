/* step.c: the M step, the encoder step and the supervised step (paper Eq. 1;
 * see step.h), written once over the backend table: every tensor operation
 * below is a call of p->be, the CPU's or the GPU's. */
#include "train/step.h"

#include <stdlib.h>
#include <string.h>

void dtcl_step_config_default(DtclStepConfig *c)
{
    static const double alpha[5] = {1, 10, 1, 1, 1};
    memset(c, 0, sizeof *c);
    c->nce.kind = DTCL_NCE_PAPER;
    c->nce.sim = DTCL_SIM_COSINE; /* SPEC section 4 */
    c->nce.tau = 1.0;
    memcpy(c->alpha, alpha, sizeof alpha);
    dtcl_adam_default(&c->adam_e, 1e-4);
    dtcl_adam_default(&c->adam_m, 1e-3);
}

/* ------------------------------------------------------------ the plan */

/* Both walks over the arena: f's plan, both views' saved buffers, the heads'
 * and losses' buffers, the batch, then M's plan and T's buffers. */
static void layout(DtclStepPlan *p, int with_m)
{
    DtclArena *a = &p->arena;
    const DtclModel *md = p->md;
    int B = p->B, S = p->S, d = dtcl_encoder_dim(&md->f), hid = md->g.hidden, Z = md->g.zdim;
    size_t NS = (size_t)B * S * S;
    dtcl_encoder_plan_on(&p->fp, &md->f, B, S, p->threads, p->be, a);
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
    p->x = dtcl_arena_take(a, NS);
    p->xm = dtcl_arena_take(a, NS);
    p->xalt = dtcl_arena_take(a, NS);
    p->lambda = dtcl_arena_take(a, (size_t)B * DTCL_NLAMBDA);
    p->crop_on = (uint8_t *)dtcl_arena_take(a, ((size_t)B + 3) / 4);
    if (with_m) {
        dtcl_mnet_plan_on(&p->mp, &md->m, B, S, p->threads, p->be, a);
        p->tsaved = dtcl_arena_take(a, (size_t)B * dtcl_transform_saved_size(p->tr));
        p->dxm = dtcl_arena_take(a, NS);
        p->dlambda = dtcl_arena_take(a, (size_t)B * DTCL_NLAMBDA);
    }
}

int dtcl_step_plan_init(DtclStepPlan *p, DtclDevice dev, DtclModel *md, const DtclTransform *tr,
                        const DtclTransform *nocrop, int with_m, int B, int S, int threads, DtclError *err)
{
    memset(p, 0, sizeof *p);
    p->be = dtcl_device_backend(dev);
    if (!p->be)
        return dtcl_fail(err, "--device %s: this dtcl was built without it", dtcl_device_name(dev));
    p->host = md;
    p->md = md;
    if (!p->be->host_memory) {
        if (dtcl_model_mirror(&p->mirror, md, p->be, err) != 0)
            return -1;
        p->md = &p->mirror;
    }
    p->B = B;
    p->S = S;
    p->threads = threads;
    p->tr = with_m ? tr : NULL;
    const DtclBackend *be = p->be;
    layout(p, with_m); /* counting walk */
    int Z = p->md->g.zdim;
    if (dtcl_backend_arena_alloc(be, &p->arena, err) != 0 || !(p->nce_work = be->nce_work_create(B, Z, err)) ||
        !(p->bce_work = be->bce_work_create(B, err)))
        goto fail;
    layout(p, with_m); /* binding walk */
    const DtclTransform *t[2] = {tr, nocrop};
    for (int k = 0; k < 2; k++)
        if (t[k] && !(p->tplan[k] = be->transform_plan(t[k], B, err)))
            goto fail;
    if (be->check("planning the training step", err) == 0)
        return 0;
fail:
    dtcl_step_plan_free(p);
    return -1;
}

void dtcl_step_plan(DtclStepPlan *p, DtclModel *md, const DtclTransform *tr, int B, int S, int threads)
{
    dtcl_step_plan_init(p, DTCL_DEVICE_CPU, md, tr, NULL, tr != NULL, B, S, threads, NULL);
}

void dtcl_step_plan_free(DtclStepPlan *p)
{
    const DtclBackend *be = p->be;
    if (!be)
        return;
    for (int k = 0; k < 2; k++)
        if (p->tplan[k])
            be->transform_plan_free(p->tplan[k]);
    if (p->nce_work)
        be->nce_work_free(p->nce_work);
    if (p->bce_work)
        be->bce_work_free(p->bce_work);
    if (p->arena.base)
        dtcl_backend_arena_free(be, &p->arena);
    if (p->md == &p->mirror)
        dtcl_model_mirror_free(&p->mirror, be);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------ the sequences */

/* f on X then on X_M (running statistics updated), g and p on both; the
 * losses and their unweighted gradients dzn, dbce. */
static void forward_views(DtclStepPlan *p, const DtclStepConfig *c, const float *x, const float *xm,
                          const int8_t *labels, DtclStepLosses *out)
{
    const DtclBackend *be = p->be;
    DtclModel *md = p->md;
    int B = p->B, Z = md->g.zdim;
    const float *in[2] = {x, xm};
    for (int v = 0; v < 2; v++) {
        dtcl_encoder_forward_train(&p->view[v], &md->f, in[v], 1, &p->fp);
        dtcl_projection_forward(p->z[v], p->v[v], p->view[v].h, &md->g, B);
        dtcl_classifier_forward(p->logit[v], p->view[v].h, &md->p, B);
        be->zero(p->dzn[v], (size_t)B * Z);
        be->zero(p->dbce[v], B);
    }
    out->nce = be->nce(&c->nce, p->dzn[1], p->dzn[0], p->z[1], p->z[0], labels, B, Z, p->nce_work);
    out->bce_m = be->bce(p->dbce[1], p->logit[1], labels, NULL, B, p->bce_work);
    out->bce = be->bce(p->dbce[0], p->logit[0], labels, NULL, B, p->bce_work);
    const double *a = c->alpha;
    out->loss_m = -a[0] * out->nce + a[1] * out->bce_m;
    out->loss_e = a[2] * out->nce + a[3] * out->bce_m + a[4] * out->bce;
}

/* Upstream gradients at z and the logit of view v, weighted; then g and p
 * backward into dh[v]. */
static void heads_backward(DtclStepPlan *p, int v, double a_nce, double a_bce, int param_grads)
{
    const DtclBackend *be = p->be;
    DtclModel *md = p->md;
    int B = p->B, Z = md->g.zdim, d = dtcl_encoder_dim(&md->f);
    be->scale(p->dz[v], p->dzn[v], a_nce, (size_t)B * Z);
    be->scale(p->dlogit[v], p->dbce[v], a_bce, B);
    be->zero(p->dh[v], (size_t)B * d);
    dtcl_projection_backward(p->dh[v], param_grads, p->dz[v], p->view[v].h, p->v[v], &md->g, B, p->scratch);
    dtcl_classifier_backward(p->dh[v], param_grads, p->dlogit[v], p->view[v].h, &md->p, B);
}

/* Adam over one range of the parameter family, the range's step count t */
static void adam(DtclStepPlan *p, const DtclAdam *a, size_t begin, size_t end, int64_t t)
{
    DtclTable *tb = &p->md->table;
    p->be->adam_step(a, tb->param + begin, tb->adam_m + begin, tb->adam_v + begin, tb->grad + begin, end - begin, t);
}

static void encoder_backward_and_update(DtclStepPlan *p, const DtclStepConfig *c)
{
    DtclModel *md = p->md;
    const double *a = c->alpha;
    p->be->zero(md->table.grad + md->enc_begin, md->enc_end - md->enc_begin);
    heads_backward(p, 0, a[2], a[4], 1);
    heads_backward(p, 1, a[2], a[3], 1);
    for (int v = 0; v < 2; v++)
        dtcl_encoder_backward(NULL, 1, p->dh[v], &md->f, &p->view[v], &p->fp);
    md->step_e++;
    adam(p, &c->adam_e, md->enc_begin, md->enc_end, md->step_e);
}

static void encoder_step(DtclStepPlan *p, const DtclStepConfig *c, const int8_t *labels, DtclStepLosses *out)
{
    forward_views(p, c, p->x, p->xm, labels, out);
    encoder_backward_and_update(p, c);
}

/* f on X_M, p, BCE over the labelled images; backward; Adam on f and p */
static void supervised_step(DtclStepPlan *p, const DtclStepConfig *c, const int8_t *labels, DtclStepLosses *out)
{
    const DtclBackend *be = p->be;
    DtclModel *md = p->md;
    int B = p->B, d = dtcl_encoder_dim(&md->f);
    dtcl_encoder_forward_train(&p->view[1], &md->f, p->xm, 1, &p->fp);
    dtcl_classifier_forward(p->logit[1], p->view[1].h, &md->p, B);
    be->zero(p->dlogit[1], B);
    out->bce_m = out->loss_e = be->bce(p->dlogit[1], p->logit[1], labels, NULL, B, p->bce_work);
    be->zero(md->table.grad + md->enc_begin, md->enc_end - md->enc_begin);
    be->zero(p->dh[1], (size_t)B * d);
    dtcl_classifier_backward(p->dh[1], 1, p->dlogit[1], p->view[1].h, &md->p, B);
    dtcl_encoder_backward(NULL, 1, p->dh[1], &md->f, &p->view[1], &p->fp);
    md->step_e++; /* g's gradient is zero: Adam leaves it where it is */
    adam(p, &c->adam_e, md->enc_begin, md->enc_end, md->step_e);
}

void dtcl_step_forward_proposed(DtclStepPlan *p, const DtclStepConfig *c, const DtclNoiseSource *noise,
                                const float *x, const int8_t *labels, DtclStepLosses *out)
{
    /* M proposes Lambda; T makes X_M */
    dtcl_mnet_forward(&p->mp, &p->md->m, x);
    p->be->transform_forward(p->tplan[0], p->xm, p->tsaved, x, p->mp.lambda, noise, p->B);
    forward_views(p, c, x, p->xm, labels, out);
}

void dtcl_step_m_backward(DtclStepPlan *p, const DtclStepConfig *c, const float *x)
{
    const DtclBackend *be = p->be;
    DtclModel *md = p->md;
    int B = p->B, S = p->S;
    /* dL_M/dX_M through p, g and f (no weight gradients), then through T to
     * Lambda and M's weights */
    heads_backward(p, 1, -c->alpha[0], c->alpha[1], 0);
    be->zero(p->dxm, (size_t)B * S * S);
    dtcl_encoder_backward(p->dxm, 0, p->dh[1], &md->f, &p->view[1], &p->fp);
    be->zero(p->dlambda, (size_t)B * DTCL_NLAMBDA);
    be->transform_backward(p->tplan[0], NULL, p->dlambda, p->dxm, x, p->mp.lambda, p->tsaved, B);
    be->zero(md->table.grad + md->m_begin, md->m_end - md->m_begin);
    dtcl_mnet_backward(p->dlambda, &md->m, &p->mp);
}

static void proposed_step(DtclStepPlan *p, const DtclStepConfig *c, const DtclNoiseSource *noise,
                          const int8_t *labels, DtclStepLosses *out)
{
    DtclModel *md = p->md;
    dtcl_step_forward_proposed(p, c, noise, p->x, labels, out);
    /* the M step */
    dtcl_step_m_backward(p, c, p->x);
    md->step_m++;
    adam(p, &c->adam_m, md->m_begin, md->m_end, md->step_m);
    /* the encoder step on the same X_M, from the same forward pass */
    encoder_backward_and_update(p, c);
}

/* X_M = T_Lambda(X) for the drawn Lambda; simclr's crop-off images take the
 * crop-less T's output instead (every image through both: per image the same
 * values, as each image's T is computed alone with its own noise field) */
static int augment(DtclStepPlan *p, const DtclNoiseSource *ns, const float *x, const float *lambda,
                   const uint8_t *crop_on, DtclError *err)
{
    const DtclBackend *be = p->be;
    int B = p->B;
    size_t SS = (size_t)p->S * p->S;
    if (be->upload(p->x, x, sizeof(float) * B * SS, err) != 0 ||
        be->upload(p->lambda, lambda, sizeof(float) * B * DTCL_NLAMBDA, err) != 0)
        return -1;
    be->transform_forward(p->tplan[0], p->xm, NULL, p->x, p->lambda, ns, B);
    if (crop_on && p->tplan[1]) {
        if (be->upload(p->crop_on, crop_on, (size_t)B, err) != 0)
            return -1;
        be->transform_forward(p->tplan[1], p->xalt, NULL, p->x, p->lambda, ns, B);
        be->choose(p->xm, p->xalt, p->crop_on, SS, B);
    }
    return 0;
}

/* ------------------------------------------------------------ the host's side */

static size_t batch_bytes(const DtclStepPlan *p)
{
    return sizeof(float) * (size_t)p->B * p->S * p->S;
}

int dtcl_step_proposed(DtclStepPlan *p, const DtclStepConfig *c, const DtclNoiseSource *ns, const float *x,
                       const int8_t *labels, DtclStepLosses *out, float *lambda_out, DtclError *err)
{
    memset(out, 0, sizeof *out);
    if (x && p->be->upload(p->x, x, batch_bytes(p), err) != 0)
        return -1;
    proposed_step(p, c, ns, labels, out);
    if (lambda_out && p->be->download(lambda_out, p->mp.lambda, sizeof(float) * p->B * DTCL_NLAMBDA, err) != 0)
        return -1;
    return p->be->check("the proposed step", err);
}

int dtcl_step_encoder(DtclStepPlan *p, const DtclStepConfig *c, const float *x, const float *xm,
                      const int8_t *labels, DtclStepLosses *out, DtclError *err)
{
    memset(out, 0, sizeof *out);
    if ((x && p->be->upload(p->x, x, batch_bytes(p), err) != 0) ||
        (xm && p->be->upload(p->xm, xm, batch_bytes(p), err) != 0))
        return -1;
    encoder_step(p, c, labels, out);
    return p->be->check("the encoder step", err);
}

int dtcl_step_augmented(DtclStepPlan *p, const DtclStepConfig *c, const DtclNoiseSource *ns, const float *x,
                        const float *lambda, const uint8_t *crop_on, int supervised, const int8_t *labels,
                        DtclStepLosses *out, DtclError *err)
{
    memset(out, 0, sizeof *out);
    if (augment(p, ns, x, lambda, crop_on, err) != 0)
        return -1;
    if (supervised)
        supervised_step(p, c, labels, out);
    else
        encoder_step(p, c, labels, out);
    return p->be->check(supervised ? "the supervised step" : "the encoder step", err);
}

int dtcl_step_transform(DtclStepPlan *p, const DtclNoiseSource *ns, const float *x, const float *lambda,
                        const uint8_t *crop_on, float *xm, DtclError *err)
{
    if (augment(p, ns, x, lambda, crop_on, err) != 0 || p->be->download(xm, p->xm, batch_bytes(p), err) != 0)
        return -1;
    return p->be->check("the transformation", err);
}

/* h (n,d) = f(x) in evaluation mode on the device, into hd (DenseNet works
 * in the first view's buffers) */
static const float *embed(DtclStepPlan *p, const float *x, int n, float *hd)
{
    dtcl_encoder_forward_eval(hd, &p->md->f, x, n, &p->fp, &p->view[0]);
    return hd;
}

int dtcl_step_embed(DtclStepPlan *p, float *h, const float *x, int n, DtclError *err)
{
    int d = dtcl_encoder_dim(&p->md->f);
    if (p->be->upload(p->x, x, sizeof(float) * n * p->S * p->S, err) != 0)
        return -1;
    const float *hd = embed(p, p->x, n, p->dh[0]);
    if (p->be->download(h, hd, sizeof(float) * n * d, err) != 0)
        return -1;
    return p->be->check("the encoder", err);
}

int dtcl_step_logits(DtclStepPlan *p, float *logit, const float *x, int n, DtclError *err)
{
    if (p->be->upload(p->x, x, sizeof(float) * n * p->S * p->S, err) != 0)
        return -1;
    const float *hd = embed(p, p->x, n, p->dh[0]);
    dtcl_classifier_forward(p->logit[0], hd, &p->md->p, n);
    if (p->be->download(logit, p->logit[0], sizeof(float) * n, err) != 0)
        return -1;
    return p->be->check("the classifier", err);
}

int dtcl_step_sync(DtclStepPlan *p, DtclError *err)
{
    if (p->md == p->host)
        return 0;
    return p->be->check("the training step", err) == 0 ? dtcl_model_mirror_download(p->host, p->md, p->be, err) : -1;
}

int dtcl_step_upload(DtclStepPlan *p, DtclError *err)
{
    return p->md == p->host ? 0 : dtcl_model_mirror_upload(p->md, p->host, p->be, err);
}

int dtcl_step_wait(DtclStepPlan *p, DtclError *err)
{
    return p->be->check("the training step", err);
}

int dtcl_step_embed_all(DtclDevice dev, float *h, DtclModel *md, const float *x, int64_t n, int S, int batch,
                        int threads, DtclError *err)
{
    const DtclBackend *be = dtcl_device_backend(dev);
    if (!be)
        return dtcl_fail(err, "--device %s: this dtcl was built without it", dtcl_device_name(dev));
    if (be->host_memory)
        return dtcl_encoder_embed_on(be, h, &md->f, x, n, S, batch, threads, err);
    DtclModel mirror;
    if (dtcl_model_mirror(&mirror, md, be, err) != 0)
        return -1;
    int rc = dtcl_encoder_embed_on(be, h, &mirror.f, x, n, S, batch, threads, err);
    dtcl_model_mirror_free(&mirror, be);
    return rc;
}
