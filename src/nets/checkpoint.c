/* checkpoint.c: saving and loading the model as safetensors (see checkpoint.h). */
#include "nets/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK_MAX_META 32

int dtcl_checkpoint_save(const char *path, const DtclModel *md, const char *const *meta_keys,
                         const char *const *meta_values, int nmeta, DtclError *err)
{
    const DtclTable *t = &md->table;
    int nparam = 0;
    for (int i = 0; i < t->n; i++)
        nparam += t->t[i].family == DTCL_FAMILY_PARAM;
    int n = t->n + 2 * nparam, k = 0;
    DtclStEntry *e = DTCL_CALLOC((size_t)n, sizeof *e);
    char (*names)[DTCL_NAME_MAX + 8] = DTCL_CALLOC((size_t)2 * nparam + 1, sizeof *names);
    int nn = 0;
    for (int i = 0; i < t->n; i++) {
        const DtclTensorInfo *ti = &t->t[i];
        DtclStEntry *x = &e[k++];
        x->name = ti->name;
        x->rank = ti->rank;
        memcpy(x->shape, ti->shape, sizeof(int64_t) * ti->rank);
        if (ti->family == DTCL_FAMILY_COUNT) {
            x->dtype = DTCL_ST_I64;
            x->data = t->counter + ti->offset;
            continue;
        }
        x->dtype = DTCL_ST_F32;
        x->data = (ti->family == DTCL_FAMILY_PARAM ? t->param : t->stat) + ti->offset;
        if (ti->family != DTCL_FAMILY_PARAM)
            continue;
        for (int mv = 0; mv < 2; mv++) {
            DtclStEntry *y = &e[k++];
            *y = *x;
            snprintf(names[nn], sizeof names[nn], "adam.%c.%s", mv ? 'v' : 'm', ti->name);
            y->name = names[nn++];
            y->data = (mv ? t->adam_v : t->adam_m) + ti->offset;
        }
    }
    char version[16], se[32], sm[32], widths[160] = "", mw[32];
    snprintf(version, sizeof version, "%d", DTCL_CHECKPOINT_VERSION);
    snprintf(se, sizeof se, "%lld", (long long)md->step_e);
    snprintf(sm, sizeof sm, "%lld", (long long)md->step_m);
    dtcl_encoders[md->cfg.encoder].widths(&md->cfg, widths, sizeof widths);
    snprintf(mw, sizeof mw, "%d,%d", md->cfg.mwidths[0], md->cfg.mwidths[1]);
    const char *keys[CK_MAX_META] = {"format", "format_version", "adam_step_encoder", "adam_step_m", "encoder",
                                     "widths", "m_widths"};
    const char *vals[CK_MAX_META] = {DTCL_CHECKPOINT_FORMAT, version, se, sm, dtcl_encoder_name(md->cfg.encoder),
                                     widths, mw};
    int nm = 7;
    for (int i = 0; i < nmeta && nm < CK_MAX_META; i++, nm++) {
        keys[nm] = meta_keys[i];
        vals[nm] = meta_values[i];
    }
    int rc = dtcl_st_save(path, e, k, keys, vals, nm, err);
    free(names);
    free(e);
    return rc;
}

static const DtclStTensor *find_rank(const DtclSafetensors *st, const char *name, int rank)
{
    const DtclStTensor *t = dtcl_st_find(st, name);
    return t && t->rank == rank ? t : NULL;
}

/* DenseNet's structure from its tensors: the stem's width, the growth and
 * bottleneck from block 1's first layer, the layers by counting. */
static int densenet_config(const DtclSafetensors *st, const DtclStTensor *conv0, DtclDensenetConfig *c,
                           DtclError *err)
{
    if (conv0->shape[1] != 1 || conv0->shape[2] != 7 || conv0->shape[3] != 7 || conv0->shape[0] < 1 ||
        conv0->shape[0] > 4096)
        return dtcl_fail(err, "tensor 'f.conv0.weight' has shape [%lld, %lld, %lld, %lld]; expected [I, 1, 7, 7] "
                              "(a one-channel stem: ref/convert_densenet.py sums torchvision's RGB stem)",
                         (long long)conv0->shape[0], (long long)conv0->shape[1], (long long)conv0->shape[2],
                         (long long)conv0->shape[3]);
    const DtclStTensor *c1 = find_rank(st, "f.denseblock1.denselayer1.conv1.weight", 4);
    const DtclStTensor *c2 = find_rank(st, "f.denseblock1.denselayer1.conv2.weight", 4);
    if (!c1 || !c2)
        return dtcl_fail(err, "tensor 'f.denseblock1.denselayer1.conv%d.weight' (F32, 4 dimensions) is missing",
                         c1 ? 2 : 1);
    c->init = (int)conv0->shape[0];
    c->growth = (int)c2->shape[0];
    if (c->growth < 1 || c->growth > 4096 || c1->shape[0] < 1 || c1->shape[0] % c->growth)
        return dtcl_fail(err, "tensors 'f.denseblock1.denselayer1.conv1.weight' (%lld outputs) and '...conv2.weight' "
                              "(%lld outputs): expected a bottleneck that is a multiple of the growth",
                         (long long)c1->shape[0], (long long)c2->shape[0]);
    c->bn_size = (int)(c1->shape[0] / c->growth);
    int total = 0;
    for (int k = 0; k < DTCL_DN_BLOCKS; k++) {
        int j = 0;
        for (;; j++) {
            char name[DTCL_NAME_MAX];
            snprintf(name, sizeof name, "f.denseblock%d.denselayer%d.conv1.weight", k + 1, j + 1);
            if (!find_rank(st, name, 4))
                break;
        }
        if (j == 0)
            return dtcl_fail(err, "tensor 'f.denseblock%d.denselayer1.conv1.weight' (F32, 4 dimensions) is missing",
                             k + 1);
        total += j;
        if (total > DTCL_DN_MAX_LAYERS)
            return dtcl_fail(err, "more than %d dense layers: not a DenseNet dtcl can hold", DTCL_DN_MAX_LAYERS);
        c->layers[k] = j;
    }
    return 0;
}

int dtcl_checkpoint_config(const DtclSafetensors *st, DtclModelConfig *c, DtclError *err)
{
    dtcl_model_config_default(c);
    const DtclStTensor *conv0 = find_rank(st, "f.conv0.weight", 4);
    if (conv0) {
        c->encoder = DTCL_ENCODER_DENSENET121;
        if (densenet_config(st, conv0, &c->dn, err) != 0)
            return -1;
    }
    int n = 0;
    for (; n < DTCL_FCN_MAX_BLOCKS; n++) {
        char name[DTCL_NAME_MAX];
        snprintf(name, sizeof name, "f.blocks.%d.conv0.weight", n);
        const DtclStTensor *t = find_rank(st, name, 4);
        if (!t)
            break;
        if (t->shape[0] < 1 || t->shape[0] > 4096)
            return dtcl_fail(err, "tensor '%s' has %lld output channels; expected 1 to 4096", name,
                             (long long)t->shape[0]);
        c->widths[n] = (int)t->shape[0];
    }
    if (n == 0 && !conv0)
        return dtcl_fail(err, "no encoder: neither 'f.blocks.0.conv0.weight' (fcn) nor 'f.conv0.weight' "
                              "(densenet121) is present (F32, 4 dimensions)");
    if (n > 0 && conv0)
        return dtcl_fail(err, "two encoders: both 'f.blocks.0.conv0.weight' (fcn) and 'f.conv0.weight' "
                              "(densenet121) are present");
    if (n > 0)
        c->nblocks = n;
    const DtclStTensor *m0 = find_rank(st, "m.conv0.weight", 4), *m1 = find_rank(st, "m.conv1.weight", 4);
    const DtclStTensor *g0 = find_rank(st, "g.fc0.weight", 2), *g1 = find_rank(st, "g.fc1.weight", 2);
    if (m0 && m1 && m0->shape[0] >= 1 && m0->shape[0] <= 4096 && m1->shape[0] >= 1 && m1->shape[0] <= 4096) {
        c->mwidths[0] = (int)m0->shape[0];
        c->mwidths[1] = (int)m1->shape[0];
    }
    if (g0 && g1 && g0->shape[0] >= 1 && g0->shape[0] <= 65536 && g1->shape[0] >= 1 && g1->shape[0] <= 65536) {
        c->hidden = (int)g0->shape[0];
        c->zdim = (int)g1->shape[0];
    }
    return 0;
}

static int read_tensor(const DtclSafetensors *st, const DtclTable *t, const DtclTensorInfo *ti, DtclError *err)
{
    if (ti->family == DTCL_FAMILY_COUNT) {
        /* optional (SPEC section 3): PyTorch writes it, older files may not */
        if (!dtcl_st_find(st, ti->name))
            return 0;
        return dtcl_st_read(st, ti->name, DTCL_ST_I64, 0, ti->shape, t->counter + ti->offset, err);
    }
    float *dst = (ti->family == DTCL_FAMILY_PARAM ? t->param : t->stat) + ti->offset;
    return dtcl_st_read(st, ti->name, DTCL_ST_F32, ti->rank, ti->shape, dst, err);
}

static int read_adam(const DtclSafetensors *st, DtclModel *md, DtclError *err)
{
    const DtclTable *t = &md->table;
    char name[DTCL_NAME_MAX + 8];
    snprintf(name, sizeof name, "adam.m.%s", t->t[0].name);
    int present = dtcl_st_find(st, name) != NULL;
    for (int i = 0; i < t->n; i++) {
        const DtclTensorInfo *ti = &t->t[i];
        if (ti->family != DTCL_FAMILY_PARAM)
            continue;
        for (int mv = 0; mv < 2; mv++) {
            snprintf(name, sizeof name, "adam.%c.%s", mv ? 'v' : 'm', ti->name);
            if (!present) {
                if (dtcl_st_find(st, name))
                    return dtcl_fail(err, "tensor '%s' is present but 'adam.m.%s' is missing: the Adam state "
                                          "must be complete or absent", name, t->t[0].name);
                continue;
            }
            float *dst = (mv ? t->adam_v : t->adam_m) + ti->offset;
            if (dtcl_st_read(st, name, DTCL_ST_F32, ti->rank, ti->shape, dst, err) != 0)
                return -1;
        }
    }
    if (!present)
        return 0;
    const char *se = dtcl_st_meta(st, "adam_step_encoder"), *sm = dtcl_st_meta(st, "adam_step_m");
    char *end;
    if (!se || !sm)
        return dtcl_fail(err, "the Adam state needs the metadata 'adam_step_encoder' and 'adam_step_m'");
    md->step_e = strtoll(se, &end, 10);
    if (*end || md->step_e < 0)
        return dtcl_fail(err, "metadata 'adam_step_encoder' is '%s'; expected a count", se);
    md->step_m = strtoll(sm, &end, 10);
    if (*end || md->step_m < 0)
        return dtcl_fail(err, "metadata 'adam_step_m' is '%s'; expected a count", sm);
    return 0;
}

int dtcl_checkpoint_load(const char *path, DtclModel *md, DtclCheckpointPart part, DtclError *err)
{
    DtclSafetensors st;
    if (dtcl_st_open(path, &st, err) != 0)
        return -1;
    DtclModelConfig c;
    int rc = dtcl_checkpoint_config(&st, &c, err);
    if (rc == 0) {
        dtcl_model_init(md, &c);
        const DtclTable *t = &md->table;
        for (int i = 0; i < t->n && rc == 0; i++) {
            const DtclTensorInfo *ti = &t->t[i];
            if (part == DTCL_CK_ENCODER && strncmp(ti->name, "f.", 2) != 0)
                continue;
            rc = read_tensor(&st, t, ti, err);
        }
        if (rc == 0 && part == DTCL_CK_MODEL)
            rc = read_adam(&st, md, err);
        if (rc != 0)
            dtcl_model_free(md);
    }
    dtcl_st_close(&st);
    if (rc != 0) {
        dtcl_fail_prefix(err, path);
        return -1;
    }
    return 0;
}

static int same_encoder(const DtclModelConfig *a, const DtclModelConfig *b)
{
    return a->encoder == b->encoder && dtcl_encoders[a->encoder].same(a, b);
}

int dtcl_checkpoint_load_encoder(const char *path, DtclModel *md, DtclError *err)
{
    DtclSafetensors st;
    if (dtcl_st_open(path, &st, err) != 0)
        return -1;
    DtclModelConfig c;
    int rc = dtcl_checkpoint_config(&st, &c, err);
    if (rc == 0 && !same_encoder(&c, &md->cfg)) {
        char have[160], want[160];
        rc = dtcl_fail(err, "holds a %s; the run's model has a %s", dtcl_model_describe(&c, have, sizeof have),
                       dtcl_model_describe(&md->cfg, want, sizeof want));
    }
    const DtclTable *t = &md->table;
    for (int i = 0; i < t->n && rc == 0; i++)
        if (strncmp(t->t[i].name, "f.", 2) == 0)
            rc = read_tensor(&st, t, &t->t[i], err);
    dtcl_st_close(&st);
    if (rc != 0) {
        dtcl_fail_prefix(err, path);
        return -1;
    }
    return 0;
}
