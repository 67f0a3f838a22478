/* encoder.c: the dispatch between the two encoders (see encoder.h). */
#include "nets/encoder.h"

#include <string.h>

const char *dtcl_encoder_name(DtclEncoderKind k)
{
    return k == DTCL_ENCODER_DENSENET121 ? "densenet121" : "fcn";
}

int dtcl_encoder_parse(const char *s, DtclEncoderKind *k)
{
    if (strcmp(s, "fcn") == 0)
        *k = DTCL_ENCODER_FCN;
    else if (strcmp(s, "densenet121") == 0)
        *k = DTCL_ENCODER_DENSENET121;
    else
        return -1;
    return 0;
}

int dtcl_encoder_default_batch(DtclEncoderKind k)
{
    return k == DTCL_ENCODER_DENSENET121 ? 16 : 32;
}

void dtcl_encoder_layout(DtclEncoder *f, DtclTable *t)
{
    if (f->kind == DTCL_ENCODER_DENSENET121)
        dtcl_densenet_layout(&f->dn, t);
    else
        dtcl_fcn_layout(&f->fcn, t);
}

int dtcl_encoder_dim(const DtclEncoder *f)
{
    return f->kind == DTCL_ENCODER_DENSENET121 ? dtcl_densenet_dim(&f->dn.cfg) : dtcl_fcn_dim(&f->fcn);
}

void dtcl_encoder_plan(DtclEncoderPlan *p, const DtclEncoder *f, int B, int S, int threads, DtclArena *a)
{
    if (f->kind == DTCL_ENCODER_DENSENET121) {
        dtcl_densenet_plan(&p->dn, &f->dn, B, S, threads, a);
    } else {
        dtcl_fcn_plan(&p->fcn, &f->fcn, B, S, threads, a);
    }
}

void dtcl_encoder_saved(DtclEncoderSaved *s, const DtclEncoderPlan *p, const DtclEncoder *f, DtclArena *a)
{
    memset(s, 0, sizeof *s);
    if (f->kind == DTCL_ENCODER_DENSENET121) {
        dtcl_densenet_saved(&s->dn, &p->dn, &f->dn, 0, a);
        s->h = s->dn.h;
    } else {
        dtcl_fcn_saved(&s->fcn, &p->fcn, &f->fcn, a);
        s->h = s->fcn.h;
    }
}

void dtcl_encoder_forward_train(DtclEncoderSaved *s, const DtclEncoder *f, const float *x, int update_stats,
                                DtclEncoderPlan *p)
{
    if (f->kind == DTCL_ENCODER_DENSENET121)
        dtcl_densenet_forward_train(&s->dn, &f->dn, x, update_stats, &p->dn);
    else
        dtcl_fcn_forward_train(&s->fcn, &f->fcn, x, update_stats, &p->fcn);
}

void dtcl_encoder_forward_eval(float *h, const DtclEncoder *f, const float *x, int n, DtclEncoderPlan *p,
                               DtclEncoderSaved *scratch)
{
    if (f->kind == DTCL_ENCODER_DENSENET121) {
        dtcl_densenet_forward_eval(&scratch->dn, &f->dn, x, n, &p->dn);
        memcpy(h, scratch->dn.h, sizeof(float) * (size_t)n * dtcl_encoder_dim(f));
    } else {
        dtcl_fcn_forward_eval(h, &f->fcn, x, n, &p->fcn);
    }
}

void dtcl_encoder_embed(float *h, const DtclEncoder *f, const float *x, int64_t n, int S, int batch, int threads)
{
    DtclArena a = {0};
    DtclEncoderPlan p;
    DtclEncoderSaved s;
    for (int walk = 0; walk < 2; walk++) { /* counting, then binding */
        if (walk)
            dtcl_arena_alloc(&a);
        dtcl_encoder_plan(&p, f, batch, S, threads, &a);
        if (f->kind == DTCL_ENCODER_DENSENET121) { /* one conv1 output shared by the layers */
            memset(&s, 0, sizeof s);
            dtcl_densenet_saved(&s.dn, &p.dn, &f->dn, 1, &a);
        }
    }
    int d = dtcl_encoder_dim(f);
    for (int64_t i = 0; i < n; i += batch) {
        int m = n - i < batch ? (int)(n - i) : batch;
        dtcl_encoder_forward_eval(h + i * d, f, x + i * (int64_t)S * S, m, &p, &s);
    }
    dtcl_arena_free(&a);
}

void dtcl_encoder_backward(float *dx, int param_grads, const float *dh, const DtclEncoder *f,
                           const DtclEncoderSaved *s, DtclEncoderPlan *p)
{
    if (f->kind == DTCL_ENCODER_DENSENET121)
        dtcl_densenet_backward(dx, param_grads, dh, &f->dn, &s->dn, &p->dn);
    else
        dtcl_fcn_backward(dx, param_grads, dh, &f->fcn, &s->fcn, &p->fcn);
}
