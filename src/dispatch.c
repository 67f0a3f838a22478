/* dispatch.c: CPU or GPU for the steps and the evaluation (see dispatch.h). */
#include "config.h"

#include "dispatch.h"

#include <stdlib.h>
#include <string.h>

#ifdef DTCL_HAVE_CUDA
#include "gpu/memory_gpu.h"
#include "gpu/step_gpu.h"
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
