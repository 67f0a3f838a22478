/* tensors.c: the tensor table and the activation arena (see tensors.h). */
#include "nn/tensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

static DtclTensorInfo *table_next(DtclTable *t, const char *name, DtclFamily fam, int rank, const int64_t *shape)
{
    if (t->bound) {
        DtclTensorInfo *e = &t->t[t->cursor++];
        return e; /* the second walk repeats the first, tensor by tensor */
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        DtclTensorInfo *g = realloc(t->t, sizeof *g * t->cap);
        if (!g) {
            fprintf(stderr, "dtcl: %s:%d: out of memory\n", __FILE__, __LINE__);
            exit(DTCL_EXIT_FAIL);
        }
        t->t = g;
    }
    DtclTensorInfo *e = &t->t[t->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->family = fam;
    e->rank = rank;
    e->count = 1;
    for (int d = 0; d < rank; d++) {
        e->shape[d] = shape[d];
        e->count *= (size_t)shape[d];
    }
    e->offset = t->size[fam];
    t->size[fam] += e->count;
    return e;
}

void dtcl_table_param(DtclTable *t, const char *name, int rank, const int64_t *shape, float **param, float **grad)
{
    DtclTensorInfo *e = table_next(t, name, DTCL_FAMILY_PARAM, rank, shape);
    *param = t->bound ? t->param + e->offset : NULL;
    if (grad)
        *grad = t->bound ? t->grad + e->offset : NULL;
}

void dtcl_table_stat(DtclTable *t, const char *name, int rank, const int64_t *shape, float **stat)
{
    DtclTensorInfo *e = table_next(t, name, DTCL_FAMILY_STAT, rank, shape);
    *stat = t->bound ? t->stat + e->offset : NULL;
}

void dtcl_table_counter(DtclTable *t, const char *name, int64_t **counter)
{
    DtclTensorInfo *e = table_next(t, name, DTCL_FAMILY_COUNT, 0, NULL);
    *counter = t->bound ? t->counter + e->offset : NULL;
}

void dtcl_table_alloc(DtclTable *t)
{
    size_t np = t->size[DTCL_FAMILY_PARAM] ? t->size[DTCL_FAMILY_PARAM] : 1;
    t->param = DTCL_CALLOC(np, sizeof(float));
    t->grad = DTCL_CALLOC(np, sizeof(float));
    t->adam_m = DTCL_CALLOC(np, sizeof(float));
    t->adam_v = DTCL_CALLOC(np, sizeof(float));
    t->stat = DTCL_CALLOC(t->size[DTCL_FAMILY_STAT] + 1, sizeof(float));
    t->counter = DTCL_CALLOC(t->size[DTCL_FAMILY_COUNT] + 1, sizeof(int64_t));
    t->bound = 1;
    t->cursor = 0;
}

void dtcl_table_free(DtclTable *t)
{
    free(t->t);
    free(t->param);
    free(t->grad);
    free(t->adam_m);
    free(t->adam_v);
    free(t->stat);
    free(t->counter);
    memset(t, 0, sizeof *t);
}

const DtclTensorInfo *dtcl_table_find(const DtclTable *t, const char *name)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->t[i].name, name) == 0)
            return &t->t[i];
    return NULL;
}

float *dtcl_arena_take(DtclArena *a, size_t n)
{
    n = (n + 15) / 16 * 16;
    float *p = a->base ? a->base + a->used : NULL;
    a->used += n;
    return p;
}

void dtcl_arena_alloc(DtclArena *a)
{
    a->size = a->used;
    a->base = DTCL_ALIGNED(sizeof(float) * (a->size ? a->size : 16));
    memset(a->base, 0, sizeof(float) * (a->size ? a->size : 16));
    a->used = 0;
}

void dtcl_arena_free(DtclArena *a)
{
    free(a->base);
    memset(a, 0, sizeof *a);
}
