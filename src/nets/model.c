/* model.c: the networks' tensor table and initialisation (see model.h). */
#include "nets/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"

void dtcl_model_config_default(DtclModelConfig *c)
{
    static const int widths[4] = {32, 64, 128, 256};
    memset(c, 0, sizeof *c);
    c->encoder = DTCL_ENCODER_FCN;
    c->nblocks = 4;
    memcpy(c->widths, widths, sizeof widths);
    dtcl_densenet_config_121(&c->dn);
    c->mwidths[0] = 16;
    c->mwidths[1] = 32;
    c->hidden = 256;
    c->zdim = 128;
}

int dtcl_model_parse_widths(const char *s, DtclModelConfig *c, DtclError *err)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long w = strtol(p, &end, 10);
        if (end == p || w < 1 || w > 4096 || (*end && *end != ','))
            return dtcl_fail(err, "widths '%s': expected 1 to %d comma-separated integers in 1..4096", s,
                             DTCL_FCN_MAX_BLOCKS);
        if (n == DTCL_FCN_MAX_BLOCKS)
            return dtcl_fail(err, "widths '%s': at most %d blocks", s, DTCL_FCN_MAX_BLOCKS);
        c->widths[n++] = (int)w;
        p = *end ? end + 1 : end;
        if (*end && !*p)
            return dtcl_fail(err, "widths '%s': trailing comma", s);
    }
    if (n == 0)
        return dtcl_fail(err, "widths '%s': expected at least one width", s);
    c->nblocks = n;
    return 0;
}

int dtcl_model_dim(const DtclModelConfig *c)
{
    return dtcl_encoders[c->encoder].dim(c);
}

const char *dtcl_model_describe(const DtclModelConfig *c, char *buf, size_t size)
{
    dtcl_encoders[c->encoder].describe(c, buf, size);
    return buf;
}

int dtcl_model_min_size(const DtclModelConfig *c)
{
    int m = dtcl_encoders[c->encoder].min_size(c);
    return m < 4 ? 4 : m; /* M pools twice */
}

static void model_layout(DtclModel *md)
{
    DtclTable *t = &md->table;
    dtcl_encoder_layout(&md->f, t);
    dtcl_projection_layout(&md->g, t);
    dtcl_classifier_layout(&md->p, t);
    if (!t->bound) /* the ranges come from the counting walk */
        md->enc_end = t->size[DTCL_FAMILY_PARAM];
    dtcl_mnet_layout(&md->m, t);
    if (!t->bound)
        md->m_end = t->size[DTCL_FAMILY_PARAM];
}

void dtcl_model_init(DtclModel *md, const DtclModelConfig *c)
{
    memset(md, 0, sizeof *md);
    md->cfg = *c;
    md->f.kind = c->encoder;
    md->f.fcn.nblocks = c->nblocks;
    memcpy(md->f.fcn.widths, c->widths, sizeof c->widths);
    md->f.dn.cfg = c->dn;
    md->g.d = md->p.d = dtcl_model_dim(c);
    md->g.hidden = c->hidden;
    md->g.zdim = c->zdim;
    md->m.widths[0] = c->mwidths[0];
    md->m.widths[1] = c->mwidths[1];
    model_layout(md);
    dtcl_table_alloc(&md->table);
    model_layout(md);
    md->enc_begin = 0;
    md->m_begin = md->enc_end;
}

void dtcl_model_bind(DtclModel *md)
{
    md->table.cursor = 0;
    model_layout(md);
}

void dtcl_model_free(DtclModel *md)
{
    dtcl_table_free(&md->table);
    memset(md, 0, sizeof *md);
}

/* The mirror's families: parameters, gradients, Adam m and v (one size),
 * running statistics (another); at least one float each. */
enum { FAM_PARAM, FAM_GRAD, FAM_M, FAM_V, FAM_STAT, NFAM };

static float **family(DtclTable *t, int k)
{
    float **f[NFAM] = {&t->param, &t->grad, &t->adam_m, &t->adam_v, &t->stat};
    return f[k];
}

static size_t family_bytes(const DtclTable *t, int k)
{
    size_t n = k == FAM_STAT ? t->size[DTCL_FAMILY_STAT] : t->size[DTCL_FAMILY_PARAM];
    return sizeof(float) * (n ? n : 1);
}

int dtcl_model_mirror(DtclModel *dev, DtclModel *host, const DtclBackend *be, DtclError *err)
{
    *dev = *host; /* shares host's tensor descriptions and counters */
    DtclTable *t = &dev->table;
    for (int k = 0; k < NFAM; k++)
        *family(t, k) = NULL;
    for (int k = 0; k < NFAM; k++)
        if (!(*family(t, k) = be->alloc(family_bytes(t, k), err))) {
            dtcl_model_mirror_free(dev, be);
            return -1;
        }
    dtcl_model_bind(dev);
    dev->g.be = dev->p.be = be; /* the heads run where their tensors are */
    if (dtcl_model_mirror_upload(dev, host, be, err) != 0) {
        dtcl_model_mirror_free(dev, be);
        return -1;
    }
    return 0;
}

int dtcl_model_mirror_upload(DtclModel *dev, const DtclModel *host, const DtclBackend *be, DtclError *err)
{
    for (int k = 0; k < NFAM; k++)
        if (be->upload(*family(&dev->table, k), *family((DtclTable *)&host->table, k),
                       family_bytes(&host->table, k), err) != 0)
            return -1;
    dev->step_e = host->step_e;
    dev->step_m = host->step_m;
    return 0;
}

int dtcl_model_mirror_download(DtclModel *host, const DtclModel *dev, const DtclBackend *be, DtclError *err)
{
    for (int k = 0; k < NFAM; k++)
        if (be->download(*family(&host->table, k), *family((DtclTable *)&dev->table, k),
                         family_bytes(&host->table, k), err) != 0)
            return -1;
    host->step_e = dev->step_e;
    host->step_m = dev->step_m;
    return 0;
}

void dtcl_model_mirror_free(DtclModel *dev, const DtclBackend *be)
{
    for (int k = 0; k < NFAM; k++)
        if (*family(&dev->table, k))
            be->free(*family(&dev->table, k));
    memset(dev, 0, sizeof *dev); /* the tensor descriptions and counters are the host's */
}

/* PyTorch's fan_in: weight shape[1] times the kernel, or the bias's weight's. */
static size_t fan_in(const DtclTable *t, int i)
{
    const DtclTensorInfo *e = &t->t[i];
    if (e->rank == 1) /* a bias follows its weight */
        e = &t->t[i - 1];
    size_t f = (size_t)e->shape[1];
    for (int d = 2; d < e->rank; d++)
        f *= (size_t)e->shape[d];
    return f;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int dtcl_model_is_batchnorm(const DtclTable *t, int i)
{
    const DtclTensorInfo *e = &t->t[i];
    const char *dot = strrchr(e->name, '.');
    if (e->family != DTCL_FAMILY_PARAM || !dot)
        return 0;
    char name[DTCL_NAME_MAX + 16];
    snprintf(name, sizeof name, "%.*s.running_mean", (int)(dot - e->name), e->name);
    return dtcl_table_find(t, name) != NULL;
}

void dtcl_model_reset(DtclModel *md, uint64_t seed)
{
    DtclTable *t = &md->table;
    for (int i = 0; i < t->n; i++) {
        const DtclTensorInfo *e = &t->t[i];
        if (e->family == DTCL_FAMILY_COUNT) {
            t->counter[e->offset] = 0;
            continue;
        }
        if (e->family == DTCL_FAMILY_STAT) {
            float v = ends_with(e->name, "running_var") ? 1.0f : 0.0f;
            for (size_t k = 0; k < e->count; k++)
                t->stat[e->offset + k] = v;
            continue;
        }
        float *w = t->param + e->offset;
        if (dtcl_model_is_batchnorm(t, i)) { /* BatchNorm weight 1, bias 0 */
            float v = ends_with(e->name, ".weight") ? 1.0f : 0.0f;
            for (size_t k = 0; k < e->count; k++)
                w[k] = v;
            continue;
        }
        /* kaiming_uniform(a = sqrt 5): bound sqrt(6 / ((1 + 5) fan_in)) = 1/sqrt(fan_in); bias the same */
        double bound = 1.0 / sqrt((double)fan_in(t, i));
        DtclStream s = {seed, DTCL_RNG_INIT, 0, 0, (uint32_t)i};
        double *u = DTCL_MALLOC(sizeof(double) * e->count);
        dtcl_rng_uniform(&s, u, e->count);
        for (size_t k = 0; k < e->count; k++)
            w[k] = (float)(bound * (2.0 * u[k] - 1.0));
        free(u);
    }
    size_t np = t->size[DTCL_FAMILY_PARAM];
    memset(t->grad, 0, sizeof(float) * np);
    memset(t->adam_m, 0, sizeof(float) * np);
    memset(t->adam_v, 0, sizeof(float) * np);
    md->step_e = md->step_m = 0;
}

void dtcl_model_zero_grad(DtclModel *md)
{
    memset(md->table.grad, 0, sizeof(float) * md->table.size[DTCL_FAMILY_PARAM]);
}
