/* step_gpu.cu: the M step and the encoder step on the GPU, the twin of
 * step.c (see step_gpu.h): the same sequence, each call by its CUDA twin. */
#include <cuda_runtime.h>
#include <string.h>

#include "gpu/adam_gpu.h"
#include "gpu/bce_gpu.h"
#include "gpu/layer_ops_gpu.h"
#include "gpu/launch_gpu.h"
#include "gpu/memory_gpu.h"
#include "gpu/nce_gpu.h"
#include "gpu/step_gpu.h"

/* step.c's layout with the GPU plans' workspace sizes, on the device arena */
static void step_layout(DtclStepGpu *s, int with_m)
{
    DtclStepPlan *p = &s->p;
    DtclModel *md = &s->mg.dev;
    DtclArena *a = &p->arena;
    int B = p->B, S = p->S;
    /* the CPU's layer sequences (fcn.c, densenet.c) with the GPU's primitives */
    if (md->f.kind == DTCL_ENCODER_DENSENET121)
        dtcl_densenet_plan_ops(&p->fp.dn, &md->f.dn, B, S, 1, dtcl_layer_ops_gpu(), a);
    else
        dtcl_fcn_plan_ops(&p->fp.fcn, &md->f.fcn, B, S, 1, dtcl_layer_ops_gpu(), a);
    dtcl_step_take_views(p, md);
    s->x = dtcl_arena_take(a, (size_t)B * S * S);
    s->xtmp = dtcl_arena_take(a, (size_t)B * S * S);
    s->lambda = dtcl_arena_take(a, (size_t)B * DTCL_NLAMBDA);
    s->crop_on = (uint8_t *)dtcl_arena_take(a, ((size_t)B + 3) / 4);
    if (with_m) {
        dtcl_mnet_plan_ops(&p->mp, &md->m, B, S, 1, dtcl_layer_ops_gpu(), a);
        p->tsaved = dtcl_arena_take(a, (size_t)B * dtcl_transform_saved_size(p->tr));
        p->dxm = dtcl_arena_take(a, (size_t)B * S * S);
        p->dlambda = dtcl_arena_take(a, (size_t)B * DTCL_NLAMBDA);
    }
}

extern "C" int dtcl_step_gpu_init(DtclStepGpu *s, DtclModel *md, const DtclTransform *tr, const DtclTransform *nocrop,
                                  int with_m, int B, int S, DtclError *err)
{
    memset(s, 0, sizeof *s);
    s->host = md;
    if (dtcl_model_gpu_init(&s->mg, md, err) != 0)
        return -1;
    DtclStepPlan *p = &s->p;
    p->B = B;
    p->S = S;
    p->threads = 1;
    p->tr = with_m ? tr : NULL;
    step_layout(s, with_m); /* counting walk */
    int Z = md->g.zdim;
    if (dtcl_gpu_arena_alloc(&p->arena, err) != 0 ||
        dtcl_gpu_alloc(&s->nce_work, dtcl_nce_work_size_gpu(B, Z), err) != 0 ||
        dtcl_gpu_alloc(&s->bce_work, dtcl_bce_work_size_gpu(B), err) != 0)
        goto fail;
    step_layout(s, with_m); /* binding walk */
    {
        const DtclTransform *t[2] = {tr, nocrop};
        for (int k = 0; k < 2 && t[k]; k++) {
            if (dtcl_transform_gpu_init(&s->tg[k], t[k], B, err) != 0)
                goto fail;
            s->ntr = k + 1;
        }
    }
    return dtcl_gpu_check("planning the training step", err) == 0 ? 0 : (dtcl_step_gpu_free(s), -1);
fail:
    dtcl_step_gpu_free(s);
    return -1;
}

extern "C" void dtcl_step_gpu_free(DtclStepGpu *s)
{
    for (int k = 0; k < s->ntr; k++)
        dtcl_transform_gpu_free(&s->tg[k]);
    dtcl_gpu_free(s->nce_work);
    dtcl_gpu_free(s->bce_work);
    dtcl_gpu_arena_free(&s->p.arena);
    if (s->host)
        dtcl_model_gpu_free(&s->mg);
    memset(s, 0, sizeof *s);
}

extern "C" int dtcl_step_gpu_sync(DtclStepGpu *s, DtclError *err)
{
    return dtcl_gpu_check("the training step", err) == 0 ? dtcl_model_gpu_download(s->host, &s->mg, err) : -1;
}

extern "C" int dtcl_step_gpu_upload(DtclStepGpu *s, DtclError *err)
{
    return dtcl_model_gpu_upload(&s->mg, s->host, err);
}

static size_t batch_floats(const DtclStepGpu *s)
{
    return (size_t)s->p.B * s->p.S * s->p.S;
}

/* f on the device: encoder.c's dispatch, whose plan holds the GPU's layer
 * primitives */
static void encoder_forward_train(DtclStepGpu *s, int v, const float *x)
{
    dtcl_encoder_forward_train(&s->p.view[v], &s->mg.dev.f, x, 1, &s->p.fp);
}

static void encoder_backward(DtclStepGpu *s, float *dx, int param_grads, int v)
{
    dtcl_encoder_backward(dx, param_grads, s->p.dh[v], &s->mg.dev.f, &s->p.view[v], &s->p.fp);
}

/* the host batch into the device buffer (NULL: it is there already) */
static void put(float *dev, const float *host, size_t n)
{
    if (host)
        dtcl_gpu_upload(dev, host, sizeof(float) * n, NULL);
}

/* xm[b] = crop_on[b] ? xm[b] : alt[b] */
__global__ static void choose(float *xm, const float *alt, const uint8_t *crop_on, size_t SS, int B)
{
    DTCL_GPU_LOOP(e, (size_t)B * SS)
    if (!crop_on[e / SS])
        xm[e] = alt[e];
}

extern "C" void dtcl_step_transform_gpu(DtclStepGpu *s, const float *x, const float *lambda,
                                        const DtclNoiseSource *noise, const uint8_t *crop_on)
{
    int B = s->p.B;
    size_t SS = (size_t)s->p.S * s->p.S;
    put(s->x, x, batch_floats(s));
    put(s->lambda, lambda, (size_t)B * DTCL_NLAMBDA);
    dtcl_transform_forward_gpu(&s->tg[0], s->p.xm, NULL, s->x, s->lambda, noise, B);
    if (crop_on && s->ntr > 1) { /* every image through both; each keeps its own (same noise field) */
        dtcl_transform_forward_gpu(&s->tg[1], s->xtmp, NULL, s->x, s->lambda, noise, B);
        dtcl_gpu_upload(s->crop_on, crop_on, (size_t)B, NULL);
        DTCL_LAUNCH(choose, dtcl_gpu_blocks((size_t)B * SS), DTCL_GPU_THREADS, s->p.xm, s->xtmp, s->crop_on, SS, B);
    }
}

/* f on X then on X_M (running statistics updated), g and p on both; the
 * losses and their unweighted gradients dzn, dbce (step.c's forward_views) */
static void forward_views(DtclStepGpu *s, const DtclStepConfig *c, const int8_t *labels, DtclStepLosses *out)
{
    DtclStepPlan *p = &s->p;
    DtclModel *md = &s->mg.dev;
    int B = p->B, Z = md->g.zdim;
    const float *in[2] = {s->x, p->xm};
    for (int v = 0; v < 2; v++) {
        encoder_forward_train(s, v, in[v]);
        dtcl_projection_forward(p->z[v], p->v[v], p->view[v].h, &md->g, B);
        dtcl_classifier_forward(p->logit[v], p->view[v].h, &md->p, B);
        DTCL_CUDA(cudaMemset(p->dzn[v], 0, sizeof(float) * B * Z));
        DTCL_CUDA(cudaMemset(p->dbce[v], 0, sizeof(float) * B));
    }
    out->nce =
        dtcl_nce_forward_backward_gpu(&c->nce, p->dzn[1], p->dzn[0], p->z[1], p->z[0], labels, B, Z, s->nce_work);
    out->bce_m = dtcl_bce_forward_backward_gpu(p->dbce[1], p->logit[1], labels, NULL, B, s->bce_work);
    out->bce = dtcl_bce_forward_backward_gpu(p->dbce[0], p->logit[0], labels, NULL, B, s->bce_work);
    const double *a = c->alpha;
    out->loss_m = -a[0] * out->nce + a[1] * out->bce_m;
    out->loss_e = a[2] * out->nce + a[3] * out->bce_m + a[4] * out->bce;
}

__global__ static void scale(float *y, const float *x, double sc, size_t n)
{
    DTCL_GPU_LOOP(i, n)
    y[i] = (float)(sc * x[i]);
}

/* step.c's heads_backward */
static void heads_backward(DtclStepGpu *s, int v, double a_nce, double a_bce, int param_grads)
{
    DtclStepPlan *p = &s->p;
    DtclModel *md = &s->mg.dev;
    int B = p->B, Z = md->g.zdim, d = dtcl_encoder_dim(&md->f);
    DTCL_LAUNCH(scale, dtcl_gpu_blocks((size_t)B * Z), DTCL_GPU_THREADS, p->dz[v], p->dzn[v], a_nce, (size_t)B * Z);
    DTCL_LAUNCH(scale, dtcl_gpu_blocks(B), DTCL_GPU_THREADS, p->dlogit[v], p->dbce[v], a_bce, (size_t)B);
    DTCL_CUDA(cudaMemset(p->dh[v], 0, sizeof(float) * B * d));
    dtcl_projection_backward(p->dh[v], param_grads, p->dz[v], p->view[v].h, p->v[v], &md->g, B, p->scratch);
    dtcl_classifier_backward(p->dh[v], param_grads, p->dlogit[v], p->view[v].h, &md->p, B);
}

static void adam(const DtclAdam *a, DtclModel *md, size_t begin, size_t end, int64_t t)
{
    DtclTable *tb = &md->table;
    dtcl_adam_step_gpu(a, tb->param + begin, tb->adam_m + begin, tb->adam_v + begin, tb->grad + begin, end - begin, t);
}

static void encoder_backward_and_update(DtclStepGpu *s, const DtclStepConfig *c)
{
    DtclModel *md = &s->mg.dev;
    const double *a = c->alpha;
    DTCL_CUDA(cudaMemset(md->table.grad + md->enc_begin, 0, sizeof(float) * (md->enc_end - md->enc_begin)));
    heads_backward(s, 0, a[2], a[4], 1);
    heads_backward(s, 1, a[2], a[3], 1);
    for (int v = 0; v < 2; v++)
        encoder_backward(s, NULL, 1, v);
    md->step_e++;
    adam(&c->adam_e, md, md->enc_begin, md->enc_end, md->step_e);
}

extern "C" void dtcl_step_encoder_gpu(DtclStepGpu *s, const DtclStepConfig *c, const float *x, const float *xm,
                                      const int8_t *labels, DtclStepLosses *out)
{
    put(s->x, x, batch_floats(s));
    put(s->p.xm, xm, batch_floats(s));
    forward_views(s, c, labels, out);
    encoder_backward_and_update(s, c);
}

extern "C" void dtcl_step_supervised_gpu(DtclStepGpu *s, const DtclStepConfig *c, const float *xm, const int8_t *labels,
                                         DtclStepLosses *out)
{
    DtclStepPlan *p = &s->p;
    DtclModel *md = &s->mg.dev;
    int B = p->B, d = dtcl_encoder_dim(&md->f);
    put(p->xm, xm, batch_floats(s));
    memset(out, 0, sizeof *out);
    encoder_forward_train(s, 1, p->xm);
    dtcl_classifier_forward(p->logit[1], p->view[1].h, &md->p, B);
    DTCL_CUDA(cudaMemset(p->dlogit[1], 0, sizeof(float) * B));
    out->bce_m = out->loss_e = dtcl_bce_forward_backward_gpu(p->dlogit[1], p->logit[1], labels, NULL, B, s->bce_work);
    DTCL_CUDA(cudaMemset(md->table.grad + md->enc_begin, 0, sizeof(float) * (md->enc_end - md->enc_begin)));
    DTCL_CUDA(cudaMemset(p->dh[1], 0, sizeof(float) * B * d));
    dtcl_classifier_backward(p->dh[1], 1, p->dlogit[1], p->view[1].h, &md->p, B);
    encoder_backward(s, NULL, 1, 1);
    md->step_e++; /* g's gradient is zero: Adam leaves it where it is */
    adam(&c->adam_e, md, md->enc_begin, md->enc_end, md->step_e);
}

extern "C" void dtcl_step_proposed_gpu(DtclStepGpu *s, const DtclStepConfig *c, const DtclNoiseSource *noise,
                                       const float *x, const int8_t *labels, DtclStepLosses *out, float *lambda_out)
{
    DtclStepPlan *p = &s->p;
    DtclModel *md = &s->mg.dev;
    int B = p->B;
    size_t NS = batch_floats(s);
    put(s->x, x, NS);
    /* M proposes Lambda; T makes X_M; the shared forward pass */
    dtcl_mnet_forward(&p->mp, &md->m, s->x);
    dtcl_transform_forward_gpu(&s->tg[0], p->xm, p->tsaved, s->x, p->mp.lambda, noise, B);
    forward_views(s, c, labels, out);
    /* the M step: dL_M/dX_M through p, g and f (no weight gradients), then
     * through T to Lambda and M's weights */
    heads_backward(s, 1, -c->alpha[0], c->alpha[1], 0);
    DTCL_CUDA(cudaMemset(p->dxm, 0, sizeof(float) * NS));
    encoder_backward(s, p->dxm, 0, 1);
    DTCL_CUDA(cudaMemset(p->dlambda, 0, sizeof(float) * B * DTCL_NLAMBDA));
    dtcl_transform_backward_gpu(&s->tg[0], NULL, p->dlambda, p->dxm, s->x, p->mp.lambda, p->tsaved, B);
    DTCL_CUDA(cudaMemset(md->table.grad + md->m_begin, 0, sizeof(float) * (md->m_end - md->m_begin)));
    dtcl_mnet_backward(p->dlambda, &md->m, &p->mp);
    md->step_m++;
    adam(&c->adam_m, md, md->m_begin, md->m_end, md->step_m);
    /* the encoder step on the same X_M, from the same forward pass */
    encoder_backward_and_update(s, c);
    if (lambda_out)
        dtcl_gpu_download(lambda_out, p->mp.lambda, sizeof(float) * B * DTCL_NLAMBDA, NULL);
}

extern "C" void dtcl_step_embed_gpu(DtclStepGpu *s, float *h, const float *x, int n)
{
    DtclStepPlan *p = &s->p;
    DtclModel *md = &s->mg.dev;
    int d = dtcl_encoder_dim(&md->f);
    dtcl_gpu_upload(s->x, x, sizeof(float) * n * p->S * p->S, NULL);
    const float *hd = p->dh[0];
    if (md->f.kind == DTCL_ENCODER_DENSENET121) { /* in the first view's buffers, as on the CPU */
        dtcl_densenet_forward_eval(&p->view[0].dn, &md->f.dn, s->x, n, &p->fp.dn);
        hd = p->view[0].h;
    } else {
        dtcl_fcn_forward_eval(p->dh[0], &md->f.fcn, s->x, n, &p->fp.fcn);
    }
    dtcl_gpu_download(h, hd, sizeof(float) * n * d, NULL);
}
