/* model_gpu.cu: the model's device mirror (see model_gpu.h). */
#include <string.h>

#include "gpu/layer_ops_gpu.h"
#include "gpu/memory_gpu.h"
#include "gpu/model_gpu.h"

static size_t nparam(const DtclTable *t)
{
    return t->size[DTCL_FAMILY_PARAM] ? t->size[DTCL_FAMILY_PARAM] : 1;
}

static size_t nstat(const DtclTable *t)
{
    return t->size[DTCL_FAMILY_STAT] + 1;
}

extern "C" int dtcl_model_gpu_init(DtclModelGpu *g, DtclModel *host, DtclError *err)
{
    memset(g, 0, sizeof *g);
    g->dev = *host; /* shares the host's tensor descriptions and counters */
    DtclTable *t = &g->dev.table;
    t->param = t->grad = t->adam_m = t->adam_v = t->stat = NULL;
    float **fam[4] = {&t->param, &t->grad, &t->adam_m, &t->adam_v};
    for (int k = 0; k < 4; k++)
        if (dtcl_gpu_alloc((void **)fam[k], sizeof(float) * nparam(t), err) != 0) {
            dtcl_model_gpu_free(g);
            return -1;
        }
    if (dtcl_gpu_alloc((void **)&t->stat, sizeof(float) * nstat(t), err) != 0) {
        dtcl_model_gpu_free(g);
        return -1;
    }
    dtcl_model_bind(&g->dev);
    g->dev.g.ops = g->dev.p.ops = dtcl_layer_ops_gpu(); /* the heads run where their tensors are */
    if (dtcl_model_gpu_upload(g, host, err) != 0) {
        dtcl_model_gpu_free(g);
        return -1;
    }
    return 0;
}

extern "C" int dtcl_model_gpu_upload(DtclModelGpu *g, const DtclModel *host, DtclError *err)
{
    const DtclTable *h = &host->table;
    DtclTable *t = &g->dev.table;
    size_t np = sizeof(float) * nparam(h);
    if (dtcl_gpu_upload(t->param, h->param, np, err) != 0 || dtcl_gpu_upload(t->grad, h->grad, np, err) != 0 ||
        dtcl_gpu_upload(t->adam_m, h->adam_m, np, err) != 0 || dtcl_gpu_upload(t->adam_v, h->adam_v, np, err) != 0 ||
        dtcl_gpu_upload(t->stat, h->stat, sizeof(float) * nstat(h), err) != 0)
        return -1;
    g->dev.step_e = host->step_e;
    g->dev.step_m = host->step_m;
    return 0;
}

extern "C" int dtcl_model_gpu_download(DtclModel *host, const DtclModelGpu *g, DtclError *err)
{
    DtclTable *h = &host->table;
    const DtclTable *t = &g->dev.table;
    size_t np = sizeof(float) * nparam(h);
    if (dtcl_gpu_download(h->param, t->param, np, err) != 0 || dtcl_gpu_download(h->grad, t->grad, np, err) != 0 ||
        dtcl_gpu_download(h->adam_m, t->adam_m, np, err) != 0 ||
        dtcl_gpu_download(h->adam_v, t->adam_v, np, err) != 0 ||
        dtcl_gpu_download(h->stat, t->stat, sizeof(float) * nstat(h), err) != 0)
        return -1;
    host->step_e = g->dev.step_e;
    host->step_m = g->dev.step_m;
    return 0;
}

extern "C" void dtcl_model_gpu_free(DtclModelGpu *g)
{
    DtclTable *t = &g->dev.table;
    dtcl_gpu_free(t->param);
    dtcl_gpu_free(t->grad);
    dtcl_gpu_free(t->adam_m);
    dtcl_gpu_free(t->adam_v);
    dtcl_gpu_free(t->stat);
    memset(g, 0, sizeof *g); /* the tensor descriptions and counters are the host's */
}
