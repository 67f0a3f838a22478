/* tensors.h: named tensors carved out of one allocation per family (STYLE:
 * parameters, gradients, Adam m, Adam v, running statistics, counters; and
 * the activations in an arena).
 *
 * A network declares its tensors by walking a layout function twice: the
 * first walk (nothing allocated) records names, shapes and offsets; after
 * dtcl_table_alloc the second walk hands out views. One function per network
 * therefore holds the names (SPEC section 3) and the shapes, once. */
#ifndef DTCL_TENSORS_H
#define DTCL_TENSORS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus /* the CUDA twins (src/gpu) include it */
extern "C" {
#endif

#define DTCL_NAME_MAX 96
#define DTCL_TENSOR_MAX_RANK 4

typedef enum {
    DTCL_FAMILY_PARAM, /* trained float32: has a gradient and Adam moments */
    DTCL_FAMILY_STAT,  /* float32 state that is not trained: BatchNorm running statistics */
    DTCL_FAMILY_COUNT  /* int64 counters: BatchNorm num_batches_tracked */
} DtclFamily;

typedef struct {
    char name[DTCL_NAME_MAX];
    DtclFamily family;
    int rank;
    int64_t shape[DTCL_TENSOR_MAX_RANK];
    size_t offset, count; /* in its family, in elements */
} DtclTensorInfo;

typedef struct {
    DtclTensorInfo *t;
    int n, cap;
    int bound;        /* second walk: views are handed out */
    int cursor;       /* tensors seen in this walk */
    size_t size[3];   /* elements per family */
    float *param, *grad, *adam_m, *adam_v; /* (size[PARAM]) each, one allocation */
    float *stat;      /* (size[STAT]) */
    int64_t *counter; /* (size[COUNT]) */
} DtclTable;

/* The layout functions call these; before dtcl_table_alloc they record and
 * set the views to NULL, afterwards they set the views. grad may be NULL. */
void dtcl_table_param(DtclTable *t, const char *name, int rank, const int64_t *shape, float **param, float **grad);
void dtcl_table_stat(DtclTable *t, const char *name, int rank, const int64_t *shape, float **stat);
void dtcl_table_counter(DtclTable *t, const char *name, int64_t **counter);

/* Allocates every family (zeroed) and starts the binding walk. */
void dtcl_table_alloc(DtclTable *t);
void dtcl_table_free(DtclTable *t);
const DtclTensorInfo *dtcl_table_find(const DtclTable *t, const char *name);

/* The activation arena: the same two walks, over one float allocation. */
typedef struct {
    float *base;
    size_t size, used;
} DtclArena;

/* n floats (rounded up to 16, 64-byte aligned); NULL in the counting walk. */
float *dtcl_arena_take(DtclArena *a, size_t n);
void dtcl_arena_alloc(DtclArena *a); /* after the counting walk */
void dtcl_arena_free(DtclArena *a);

#ifdef __cplusplus
}
#endif

#endif
