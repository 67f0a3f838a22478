/* dispatch.c: CPU or GPU for the steps and the evaluation (see dispatch.h). */
#include "config.h"

#include "train/dispatch.h"

#include <stdlib.h>
#include <string.h>

#ifdef DTCL_HAVE_CUDA
#include "gpu/memory_gpu.h"
#include "gpu/step_gpu.h"
#include "gpu/transform_gpu.h"
#endif

int dtcl_stepper_init(DtclStepper *s, DtclDevice dev, DtclModel *md, const DtclTransform *tr,
                      const DtclTransform *nocrop, int with_m, int B, int S, int threads, DtclError *err)
{
    memset(s, 0, sizeof *s);
    s->device = dev;
    s->md = md;
    s->tr = tr;
    s->nocrop = nocrop;
    s->B = B;
    s->S = S;
    if (dev == DTCL_DEVICE_CUDA) {
#ifdef DTCL_HAVE_CUDA
        s->gpu = DTCL_CALLOC(1, sizeof *s->gpu);
        if (dtcl_step_gpu_init(s->gpu, md, tr, nocrop, with_m, B, S, err) != 0) {
            free(s->gpu);
            s->gpu = NULL;
            return -1;
        }
        s->xm = DTCL_ALIGNED((size_t)B * S * S * 4);
        return 0;
#else
        return dtcl_fail(err, "this dtcl was built without CUDA (configure --enable-cuda)");
#endif
    }
    dtcl_step_plan(&s->plan, md, with_m ? tr : NULL, B, S, threads);
    size_t NS = (size_t)B * S * S;
    s->xm = DTCL_ALIGNED(NS * 4);
    s->xtmp = DTCL_ALIGNED(NS * 4);
    s->ytmp = DTCL_ALIGNED(NS * 4);
    s->ltmp = DTCL_ALIGNED((size_t)B * DTCL_NLAMBDA * 4);
    s->itmp = DTCL_MALLOC(sizeof(uint32_t) * (size_t)B);
    return 0;
}

void dtcl_stepper_free(DtclStepper *s)
{
#ifdef DTCL_HAVE_CUDA
    if (s->gpu) {
        dtcl_step_gpu_free(s->gpu);
        free(s->gpu);
    }
#endif
    if (s->plan.B)
        dtcl_step_plan_free(&s->plan);
    free(s->xm);
    free(s->xtmp);
    free(s->ytmp);
    free(s->ltmp);
    free(s->itmp);
    memset(s, 0, sizeof *s);
}

void dtcl_stepper_proposed(DtclStepper *s, const DtclStepConfig *c, const DtclNoiseSource *ns, const float *x,
                           const int8_t *labels, DtclStepLosses *out, float *lambda_out)
{
    memset(out, 0, sizeof *out);
#ifdef DTCL_HAVE_CUDA
    if (s->gpu) {
        dtcl_step_proposed_gpu(s->gpu, c, ns, x, labels, out, lambda_out);
        return;
    }
#endif
    dtcl_step_proposed(s->md, &s->plan, c, ns, x, labels, out);
    if (lambda_out)
        memcpy(lambda_out, s->plan.mp.lambda, sizeof(float) * s->B * DTCL_NLAMBDA);
}

void dtcl_stepper_encoder(DtclStepper *s, const DtclStepConfig *c, const float *x, const float *xm,
                          const int8_t *labels, DtclStepLosses *out)
{
    memset(out, 0, sizeof *out);
#ifdef DTCL_HAVE_CUDA
    if (s->gpu) {
        dtcl_step_encoder_gpu(s->gpu, c, x, xm, labels, out);
        return;
    }
#endif
    dtcl_step_encoder(s->md, &s->plan, c, x, xm, labels, out);
}

/* X_M = T(X, Lambda) on the CPU; simclr's crop-off images go through the
 * transformation without the crop: each group gathered, transformed,
 * scattered back, every image keeping its noise field (named by its item) */
static void transform_cpu(DtclStepper *s, const DtclNoiseSource *ns, const float *x, const float *lambda,
                          const uint8_t *crop_on)
{
    int B = s->B;
    size_t SS = (size_t)s->S * s->S;
    if (!crop_on || !s->nocrop) {
        dtcl_transform_forward(s->tr, s->xm, NULL, x, lambda, ns, B);
        return;
    }
    for (int on = 0; on < 2; on++) {
        int n = 0;
        for (int b = 0; b < B; b++)
            if (!crop_on[b] == !on) {
                memcpy(s->xtmp + n * SS, x + b * SS, SS * sizeof(float));
                memcpy(s->ltmp + n * DTCL_NLAMBDA, lambda + b * DTCL_NLAMBDA, DTCL_NLAMBDA * sizeof(float));
                s->itmp[n++] = ns->item ? ns->item[b] : (uint32_t)b;
            }
        if (n == 0)
            continue;
        DtclNoiseSource sub = *ns;
        sub.item = s->itmp;
        dtcl_transform_forward(on ? s->tr : s->nocrop, s->ytmp, NULL, s->xtmp, s->ltmp, &sub, n);
        for (int b = 0, k = 0; b < B; b++)
            if (!crop_on[b] == !on)
                memcpy(s->xm + b * SS, s->ytmp + (k++) * SS, SS * sizeof(float));
    }
}

void dtcl_stepper_augmented(DtclStepper *s, const DtclStepConfig *c, const DtclNoiseSource *ns, const float *x,
                            const float *lambda, const uint8_t *crop_on, int supervised, const int8_t *labels,
                            DtclStepLosses *out)
{
    memset(out, 0, sizeof *out);
#ifdef DTCL_HAVE_CUDA
    if (s->gpu) {
        dtcl_step_transform_gpu(s->gpu, x, lambda, ns, crop_on);
        if (supervised)
            dtcl_step_supervised_gpu(s->gpu, c, NULL, labels, out);
        else
            dtcl_step_encoder_gpu(s->gpu, c, NULL, NULL, labels, out);
        return;
    }
#endif
    transform_cpu(s, ns, x, lambda, crop_on);
    if (supervised)
        dtcl_step_supervised(s->md, &s->plan, c, s->xm, labels, out);
    else
        dtcl_step_encoder(s->md, &s->plan, c, x, s->xm, labels, out);
}

void dtcl_stepper_transform(DtclStepper *s, const DtclNoiseSource *ns, const float *x, const float *lambda,
                            const uint8_t *crop_on)
{
#ifdef DTCL_HAVE_CUDA
    if (s->gpu) {
        dtcl_step_transform_gpu(s->gpu, x, lambda, ns, crop_on);
        dtcl_gpu_download(s->xm, s->gpu->p.xm, sizeof(float) * s->B * s->S * s->S, NULL);
        return;
    }
#endif
    transform_cpu(s, ns, x, lambda, crop_on);
}

void dtcl_stepper_eval(DtclStepper *s, float *h, const float *x, int n)
{
#ifdef DTCL_HAVE_CUDA
    if (s->gpu) {
        dtcl_step_embed_gpu(s->gpu, h, x, n);
        return;
    }
#endif
    dtcl_encoder_forward_eval(h, &s->md->f, x, n, &s->plan.fp, &s->plan.view[0]);
}

int dtcl_stepper_sync(DtclStepper *s, DtclError *err)
{
#ifdef DTCL_HAVE_CUDA
    if (s->gpu)
        return dtcl_step_gpu_sync(s->gpu, err);
#endif
    (void)s;
    (void)err;
    return 0;
}

int dtcl_stepper_wait(DtclStepper *s, DtclError *err)
{
#ifdef DTCL_HAVE_CUDA
    if (s->gpu)
        return dtcl_gpu_check("the training step", err);
#endif
    (void)s;
    (void)err;
    return 0;
}

int dtcl_stepper_upload(DtclStepper *s, DtclError *err)
{
#ifdef DTCL_HAVE_CUDA
    if (s->gpu)
        return dtcl_step_gpu_upload(s->gpu, err);
#endif
    (void)s;
    (void)err;
    return 0;
}

/* the most images one GPU transformation call takes: its buffers stay small */
#define GPU_TRANSFORM_CHUNK 256

int dtcl_dispatch_transform(DtclDevice dev, const DtclTransform *t, float *y, const float *x, const float *lambda,
                            const DtclNoiseSource *ns, int n, DtclError *err)
{
    if (dev == DTCL_DEVICE_CPU) {
        dtcl_transform_forward(t, y, NULL, x, lambda, ns, n);
        return 0;
    }
#ifdef DTCL_HAVE_CUDA
    int chunk = n < GPU_TRANSFORM_CHUNK ? n : GPU_TRANSFORM_CHUNK;
    size_t SS = (size_t)t->size * t->size;
    DtclTransformGpu g;
    float *dx = NULL, *dy = NULL, *dl = NULL;
    if (dtcl_transform_gpu_init(&g, t, chunk, err) != 0)
        return -1;
    int rc = dtcl_gpu_alloc((void **)&dx, sizeof(float) * SS * chunk, err) == 0 &&
                     dtcl_gpu_alloc((void **)&dy, sizeof(float) * SS * chunk, err) == 0 &&
                     dtcl_gpu_alloc((void **)&dl, sizeof(float) * DTCL_NLAMBDA * chunk, err) == 0
                 ? 0
                 : -1;
    uint32_t *item = DTCL_MALLOC(sizeof(uint32_t) * (size_t)chunk);
    for (int first = 0; first < n && rc == 0; first += chunk) {
        int m = n - first < chunk ? n - first : chunk;
        /* image i keeps its stream: item[i] = ns->item[i], or i */
        for (int i = 0; i < m; i++)
            item[i] = ns && ns->item ? ns->item[first + i] : (uint32_t)(first + i);
        DtclNoiseSource sub = {ns ? ns->seed : 0, ns ? ns->epoch : 0, ns ? ns->step : 0, item};
        rc = dtcl_gpu_upload(dx, x + first * SS, sizeof(float) * SS * m, err);
        if (rc == 0)
            rc = dtcl_gpu_upload(dl, lambda + (size_t)first * DTCL_NLAMBDA, sizeof(float) * DTCL_NLAMBDA * m, err);
        if (rc == 0) {
            dtcl_transform_forward_gpu(&g, dy, NULL, dx, dl, &sub, m);
            rc = dtcl_gpu_check("the transformation", err);
        }
        if (rc == 0)
            rc = dtcl_gpu_download(y + first * SS, dy, sizeof(float) * SS * m, err);
    }
    free(item);
    dtcl_gpu_free(dx);
    dtcl_gpu_free(dy);
    dtcl_gpu_free(dl);
    dtcl_transform_gpu_free(&g);
    return rc;
#else
    (void)t; (void)y; (void)x; (void)lambda; (void)ns; (void)n;
    return dtcl_fail(err, "this dtcl was built without CUDA (configure --enable-cuda)");
#endif
}

/* The buffers of dtcl_transform_run: on the host or the device. */
struct DtclTransformRun {
    DtclDevice dev;
    const DtclTransform *t;
    int n;
    float *x, *lambda, *dy, *y, *saved, *dx, *dl;
#ifdef DTCL_HAVE_CUDA
    DtclTransformGpu g;
#endif
};

DtclTransformRun *dtcl_transform_run_create(DtclDevice dev, const DtclTransform *t, const float *x,
                                            const float *lambda, const float *dy, int n, DtclError *err)
{
    size_t SS = (size_t)t->size * t->size, SV = dtcl_transform_saved_size(t), NL = (size_t)n * DTCL_NLAMBDA;
    DtclTransformRun *r = DTCL_CALLOC(1, sizeof *r);
    r->dev = dev;
    r->t = t;
    r->n = n;
    /* x, lambda, dy, then y, saved, dx, dlambda */
    size_t size[7] = {SS * n, NL, SS * n, SS * n, SV * n + 1, SS * n, NL};
    float **buf[7] = {&r->x, &r->lambda, &r->dy, &r->y, &r->saved, &r->dx, &r->dl};
    const float *in[3] = {x, lambda, dy};
    if (dev == DTCL_DEVICE_CPU) {
        for (int k = 0; k < 7; k++)
            *buf[k] = DTCL_ALIGNED(sizeof(float) * size[k]);
        for (int k = 0; k < 3; k++)
            memcpy(*buf[k], in[k], sizeof(float) * size[k]);
        return r;
    }
#ifdef DTCL_HAVE_CUDA
    int rc = dtcl_transform_gpu_init(&r->g, t, n, err);
    for (int k = 0; k < 7 && rc == 0; k++)
        rc = dtcl_gpu_alloc((void **)buf[k], sizeof(float) * size[k], err);
    for (int k = 0; k < 3 && rc == 0; k++)
        rc = dtcl_gpu_upload(*buf[k], in[k], sizeof(float) * size[k], err);
    if (rc == 0)
        return r;
    dtcl_transform_run_free(r);
#else
    (void)SV;
    free(r);
    dtcl_fail(err, "this dtcl was built without CUDA (configure --enable-cuda)");
#endif
    return NULL;
}

void dtcl_transform_run_free(DtclTransformRun *r)
{
    if (!r)
        return;
    float *buf[7] = {r->x, r->lambda, r->dy, r->y, r->saved, r->dx, r->dl};
    for (int k = 0; k < 7; k++) {
#ifdef DTCL_HAVE_CUDA
        if (r->dev == DTCL_DEVICE_CUDA) {
            dtcl_gpu_free(buf[k]);
            continue;
        }
#endif
        free(buf[k]);
    }
#ifdef DTCL_HAVE_CUDA
    if (r->dev == DTCL_DEVICE_CUDA)
        dtcl_transform_gpu_free(&r->g);
#endif
    free(r);
}

int dtcl_transform_run_vjp(DtclTransformRun *r, const DtclNoiseSource *ns, DtclError *err)
{
    size_t NS = (size_t)r->n * r->t->size * r->t->size, NL = (size_t)r->n * DTCL_NLAMBDA;
#ifdef DTCL_HAVE_CUDA
    if (r->dev == DTCL_DEVICE_CUDA) {
        if (dtcl_gpu_zero(r->dx, sizeof(float) * NS, err) != 0 || dtcl_gpu_zero(r->dl, sizeof(float) * NL, err) != 0)
            return -1;
        dtcl_transform_forward_gpu(&r->g, r->y, r->saved, r->x, r->lambda, ns, r->n);
        dtcl_transform_backward_gpu(&r->g, r->dx, r->dl, r->dy, r->x, r->lambda, r->saved, r->n);
        return dtcl_gpu_check("the transformation's vector-Jacobian product", err);
    }
#endif
    (void)err;
    memset(r->dx, 0, sizeof(float) * NS);
    memset(r->dl, 0, sizeof(float) * NL);
    dtcl_transform_forward(r->t, r->y, r->saved, r->x, r->lambda, ns, r->n);
    dtcl_transform_backward(r->t, r->dx, r->dl, r->dy, r->x, r->lambda, r->saved, r->n);
    return 0;
}

int dtcl_transform_run_results(const DtclTransformRun *r, float *y, float *dx, float *dlambda, DtclError *err)
{
    size_t NS = (size_t)r->n * r->t->size * r->t->size, NL = (size_t)r->n * DTCL_NLAMBDA;
#ifdef DTCL_HAVE_CUDA
    if (r->dev == DTCL_DEVICE_CUDA)
        return dtcl_gpu_download(y, r->y, sizeof(float) * NS, err) != 0 ||
                       dtcl_gpu_download(dx, r->dx, sizeof(float) * NS, err) != 0 ||
                       dtcl_gpu_download(dlambda, r->dl, sizeof(float) * NL, err) != 0
                   ? -1
                   : 0;
#endif
    (void)err;
    memcpy(y, r->y, sizeof(float) * NS);
    memcpy(dx, r->dx, sizeof(float) * NS);
    memcpy(dlambda, r->dl, sizeof(float) * NL);
    return 0;
}

int dtcl_dispatch_embed(DtclDevice dev, float *h, DtclModel *md, const float *x, int64_t n, int S, int batch,
                        int threads, DtclError *err)
{
    if (dev == DTCL_DEVICE_CPU) {
        dtcl_encoder_embed(h, &md->f, x, n, S, batch, threads);
        return 0;
    }
    DtclStepper st;
    if (dtcl_stepper_init(&st, dev, md, NULL, NULL, 0, batch, S, threads, err) != 0)
        return -1;
    int d = dtcl_encoder_dim(&md->f);
    size_t SS = (size_t)S * S;
    for (int64_t first = 0; first < n; first += batch) {
        int m = n - first < batch ? (int)(n - first) : batch;
        dtcl_stepper_eval(&st, h + first * d, x + first * SS, m);
    }
    int rc = dtcl_stepper_sync(&st, err); /* reports a failed kernel */
    dtcl_stepper_free(&st);
    return rc;
}
