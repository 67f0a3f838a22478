/* encoder.c: the dispatch between the two encoders (see encoder.h). */
#include "nets/encoder.h"

#include <stdio.h>
#include <string.h>

#include "nets/model.h"

/* ---- the configuration of each encoder */

static int fcn_dim(const DtclModelConfig *c)
{
    return c->widths[c->nblocks - 1];
}

static int fcn_min_size(const DtclModelConfig *c)
{
    return 1 << c->nblocks;
}

static void fcn_widths(const DtclModelConfig *c, char *buf, size_t size)
{
    buf[0] = 0;
    for (int b = 0; b < c->nblocks; b++)
        snprintf(buf + strlen(buf), size - strlen(buf), "%s%d", b ? "," : "", c->widths[b]);
}

static void fcn_describe(const DtclModelConfig *c, char *buf, size_t size)
{
    char w[160];
    fcn_widths(c, w, sizeof w);
    snprintf(buf, size, "fcn encoder, %d blocks, widths %s", c->nblocks, w);
}

static int fcn_same(const DtclModelConfig *a, const DtclModelConfig *b)
{
    return a->nblocks == b->nblocks && memcmp(a->widths, b->widths, sizeof(int) * (size_t)a->nblocks) == 0;
}

static int densenet_dim(const DtclModelConfig *c)
{
    return dtcl_densenet_dim(&c->dn);
}

static int densenet_min_size(const DtclModelConfig *c)
{
    return dtcl_densenet_min_size();
}

static void densenet_describe(const DtclModelConfig *c, char *buf, size_t size)
{
    const DtclDensenetConfig *d = &c->dn;
    snprintf(buf, size, "densenet121 encoder (stem %d, growth %d, bottleneck %d, layers %d-%d-%d-%d)", d->init,
             d->growth, d->bn_size * d->growth, d->layers[0], d->layers[1], d->layers[2], d->layers[3]);
}

static void densenet_widths(const DtclModelConfig *c, char *buf, size_t size)
{
    const DtclDensenetConfig *dn = &c->dn;
    snprintf(buf, size, "stem %d, growth %d, bn_size %d, layers %d,%d,%d,%d", dn->init, dn->growth, dn->bn_size,
             dn->layers[0], dn->layers[1], dn->layers[2], dn->layers[3]);
}

static int densenet_same(const DtclModelConfig *a, const DtclModelConfig *b)
{
    return memcmp(&a->dn, &b->dn, sizeof a->dn) == 0;
}

const DtclEncoderInfo dtcl_encoders[DTCL_NENCODERS] = {
    [DTCL_ENCODER_FCN] = {"fcn", "MRI slices", 32, fcn_dim, fcn_min_size, fcn_describe, fcn_widths, fcn_same},
    [DTCL_ENCODER_DENSENET121] = {"densenet121", "chest X-rays", 16, densenet_dim, densenet_min_size,
                                  densenet_describe, densenet_widths, densenet_same},
};

const char *dtcl_encoder_name(DtclEncoderKind k)
{
    return dtcl_encoders[k].name;
}

int dtcl_encoder_parse(const char *s, DtclEncoderKind *k)
{
    for (int i = 0; i < DTCL_NENCODERS; i++)
        if (strcmp(s, dtcl_encoders[i].name) == 0) {
            *k = (DtclEncoderKind)i;
            return 0;
        }
    return -1;
}

const char *dtcl_encoder_list(void)
{
    static char list[DTCL_NENCODERS * 24];
    if (!list[0])
        for (int k = 0; k < DTCL_NENCODERS; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                     k == 0 ? "" : k == DTCL_NENCODERS - 1 ? " or " : ", ", dtcl_encoders[k].name);
    return list;
}

int dtcl_encoder_default_batch(DtclEncoderKind k)
{
    return dtcl_encoders[k].default_batch;
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
    dtcl_encoder_plan_on(p, f, B, S, threads, &dtcl_backend_cpu, a);
}

void dtcl_encoder_plan_on(DtclEncoderPlan *p, const DtclEncoder *f, int B, int S, int threads,
                          const DtclBackend *be, DtclArena *a)
{
    if (f->kind == DTCL_ENCODER_DENSENET121)
        dtcl_densenet_plan_on(&p->dn, &f->dn, B, S, threads, be, a);
    else
        dtcl_fcn_plan_on(&p->fcn, &f->fcn, B, S, threads, be, a);
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
        p->dn.be->copy(h, scratch->dn.h, sizeof(float) * (size_t)n * dtcl_encoder_dim(f));
    } else {
        dtcl_fcn_forward_eval(h, &f->fcn, x, n, &p->fcn);
    }
}

int dtcl_encoder_embed_on(const DtclBackend *be, float *h, const DtclEncoder *f, const float *x, int64_t n, int S,
                          int batch, int threads, DtclError *err)
{
    DtclArena a = {0};
    DtclEncoderPlan p;
    DtclEncoderSaved s;
    float *xd = NULL, *hd = NULL;
    int d = dtcl_encoder_dim(f), rc = 0;
    size_t SS = (size_t)S * S;
    for (int walk = 0; walk < 2; walk++) { /* counting, then binding */
        if (walk && dtcl_backend_arena_alloc(be, &a, err) != 0)
            return -1;
        dtcl_encoder_plan_on(&p, f, batch, S, threads, be, &a);
        if (f->kind == DTCL_ENCODER_DENSENET121) { /* one conv1 output shared by the layers */
            memset(&s, 0, sizeof s);
            dtcl_densenet_saved(&s.dn, &p.dn, &f->dn, 1, &a);
        }
        if (!be->host_memory) { /* the batch and h on the device */
            xd = dtcl_arena_take(&a, (size_t)batch * SS);
            hd = dtcl_arena_take(&a, (size_t)batch * d);
        }
    }
    for (int64_t i = 0; i < n && rc == 0; i += batch) {
        int m = n - i < batch ? (int)(n - i) : batch;
        if (be->host_memory) {
            dtcl_encoder_forward_eval(h + i * d, f, x + i * (int64_t)SS, m, &p, &s);
            continue;
        }
        rc = be->upload(xd, x + i * (int64_t)SS, sizeof(float) * m * SS, err);
        if (rc == 0) {
            dtcl_encoder_forward_eval(hd, f, xd, m, &p, &s);
            rc = be->download(h + i * d, hd, sizeof(float) * (size_t)m * d, err);
        }
    }
    if (rc == 0)
        rc = be->check("the encoder", err);
    dtcl_backend_arena_free(be, &a);
    return rc;
}

void dtcl_encoder_backward(float *dx, int param_grads, const float *dh, const DtclEncoder *f,
                           const DtclEncoderSaved *s, DtclEncoderPlan *p)
{
    if (f->kind == DTCL_ENCODER_DENSENET121)
        dtcl_densenet_backward(dx, param_grads, dh, &f->dn, &s->dn, &p->dn);
    else
        dtcl_fcn_backward(dx, param_grads, dh, &f->fcn, &s->fcn, &p->fcn);
}
