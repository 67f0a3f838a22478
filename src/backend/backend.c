/* backend.c: what is written once over the backend table (see backend.h):
 * arenas on a device, and the transformation run outside training. */
#include "backend/backend.h"

#include <stdlib.h>
#include <string.h>

int dtcl_backend_arena_alloc(const DtclBackend *be, DtclArena *a, DtclError *err)
{
    a->size = a->used ? a->used : 16;
    a->base = be->alloc(sizeof(float) * a->size, err);
    if (!a->base)
        return -1;
    be->zero(a->base, a->size);
    a->used = 0;
    return 0;
}

void dtcl_backend_arena_free(const DtclBackend *be, DtclArena *a)
{
    be->free(a->base);
    a->base = NULL;
    a->size = a->used = 0;
}

/* the most images one call sends to the device: its buffers stay small */
#define TRANSFORM_CHUNK 256

int dtcl_backend_transform(const DtclBackend *be, const DtclTransform *t, float *y, const float *x,
                           const float *lambda, const DtclNoiseSource *ns, int n, DtclError *err)
{
    if (be->host_memory) { /* no copies: the whole batch at once */
        void *plan = be->transform_plan(t, n, err);
        be->transform_forward(plan, y, NULL, x, lambda, ns, n);
        be->transform_plan_free(plan);
        return 0;
    }
    int chunk = n < TRANSFORM_CHUNK ? n : TRANSFORM_CHUNK;
    size_t SS = (size_t)t->size * t->size;
    void *plan = be->transform_plan(t, chunk, err);
    if (!plan)
        return -1;
    float *dx = be->alloc(sizeof(float) * SS * chunk, err), *dy = dx ? be->alloc(sizeof(float) * SS * chunk, err) : NULL;
    float *dl = dy ? be->alloc(sizeof(float) * DTCL_NLAMBDA * chunk, err) : NULL;
    int rc = dl ? 0 : -1;
    uint32_t *item = DTCL_MALLOC(sizeof(uint32_t) * (size_t)chunk);
    for (int first = 0; first < n && rc == 0; first += chunk) {
        int m = n - first < chunk ? n - first : chunk;
        /* image i keeps its stream: item[i] = ns->item[i], or i */
        for (int i = 0; i < m; i++)
            item[i] = ns && ns->item ? ns->item[first + i] : (uint32_t)(first + i);
        DtclNoiseSource sub = {ns ? ns->seed : 0, ns ? ns->epoch : 0, ns ? ns->step : 0, item};
        rc = be->upload(dx, x + first * SS, sizeof(float) * SS * m, err);
        if (rc == 0)
            rc = be->upload(dl, lambda + (size_t)first * DTCL_NLAMBDA, sizeof(float) * DTCL_NLAMBDA * m, err);
        if (rc == 0) {
            be->transform_forward(plan, dy, NULL, dx, dl, &sub, m);
            rc = be->check("the transformation", err);
        }
        if (rc == 0)
            rc = be->download(y + first * SS, dy, sizeof(float) * SS * m, err);
    }
    free(item);
    be->free(dx);
    be->free(dy);
    be->free(dl);
    be->transform_plan_free(plan);
    return rc;
}

/* x, lambda, dy in; y, saved, dx, dlambda out; all on the device */
enum { RUN_X, RUN_LAMBDA, RUN_DY, RUN_Y, RUN_SAVED, RUN_DX, RUN_DL, RUN_BUFFERS };

struct DtclTransformRun {
    const DtclBackend *be;
    const DtclTransform *t;
    int n;
    void *plan;
    float *buf[RUN_BUFFERS];
    size_t size[RUN_BUFFERS]; /* floats */
};

DtclTransformRun *dtcl_transform_run_create(const DtclBackend *be, const DtclTransform *t, const float *x,
                                            const float *lambda, const float *dy, int n, DtclError *err)
{
    size_t SS = (size_t)t->size * t->size, NL = (size_t)n * DTCL_NLAMBDA;
    DtclTransformRun *r = DTCL_CALLOC(1, sizeof *r);
    r->be = be;
    r->t = t;
    r->n = n;
    size_t size[RUN_BUFFERS] = {SS * n, NL, SS * n, SS * n, dtcl_transform_saved_size(t) * n + 1, SS * n, NL};
    const float *in[3] = {x, lambda, dy};
    memcpy(r->size, size, sizeof size);
    r->plan = be->transform_plan(t, n, err);
    int rc = r->plan ? 0 : -1;
    for (int k = 0; k < RUN_BUFFERS && rc == 0; k++)
        rc = (r->buf[k] = be->alloc(sizeof(float) * size[k], err)) ? 0 : -1;
    for (int k = 0; k < 3 && rc == 0; k++)
        rc = be->upload(r->buf[k], in[k], sizeof(float) * size[k], err);
    if (rc == 0)
        return r;
    dtcl_transform_run_free(r);
    return NULL;
}

void dtcl_transform_run_free(DtclTransformRun *r)
{
    if (!r)
        return;
    for (int k = 0; k < RUN_BUFFERS; k++)
        if (r->buf[k])
            r->be->free(r->buf[k]);
    if (r->plan)
        r->be->transform_plan_free(r->plan);
    free(r);
}

int dtcl_transform_run_vjp(DtclTransformRun *r, const DtclNoiseSource *ns, DtclError *err)
{
    const DtclBackend *be = r->be;
    float **b = r->buf;
    be->zero(b[RUN_DX], r->size[RUN_DX]);
    be->zero(b[RUN_DL], r->size[RUN_DL]);
    be->transform_forward(r->plan, b[RUN_Y], b[RUN_SAVED], b[RUN_X], b[RUN_LAMBDA], ns, r->n);
    be->transform_backward(r->plan, b[RUN_DX], b[RUN_DL], b[RUN_DY], b[RUN_X], b[RUN_LAMBDA], b[RUN_SAVED], r->n);
    return be->check("the transformation's vector-Jacobian product", err);
}

int dtcl_transform_run_results(const DtclTransformRun *r, float *y, float *dx, float *dlambda, DtclError *err)
{
    const DtclBackend *be = r->be;
    return be->download(y, r->buf[RUN_Y], sizeof(float) * r->size[RUN_Y], err) != 0 ||
                   be->download(dx, r->buf[RUN_DX], sizeof(float) * r->size[RUN_DX], err) != 0 ||
                   be->download(dlambda, r->buf[RUN_DL], sizeof(float) * r->size[RUN_DL], err) != 0
               ? -1
               : 0;
}
