/* safetensors.h: checkpoints in the safetensors format (SPEC section 7):
 *   8 bytes  N, the header length, unsigned little-endian
 *   N bytes  a JSON object: "name": {"dtype": "F32", "shape": [..],
 *            "data_offsets": [begin, end]} for each tensor, and optionally
 *            "__metadata__": {string: string}; padded with spaces
 *   the data, each tensor's bytes at [begin, end) from the start of the data,
 *            little-endian, C order, covering the buffer without holes.
 * The header is parsed with cJSON. Reading validates everything and names
 * the tensor or the byte offset of any problem; it never reads outside the
 * file and is fuzzed (tests/fuzz_safetensors.c). Writing is atomic. */
#ifndef DTCL_SAFETENSORS_H
#define DTCL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"

#define DTCL_ST_MAX_RANK 8

typedef enum { DTCL_ST_F32, DTCL_ST_F64, DTCL_ST_F16, DTCL_ST_BF16, DTCL_ST_I64, DTCL_ST_I32, DTCL_ST_I16,
               DTCL_ST_I8, DTCL_ST_U8, DTCL_ST_BOOL, DTCL_ST_NTYPES } DtclStDtype;

typedef struct {
    char *name;
    DtclStDtype dtype;
    int rank;
    int64_t shape[DTCL_ST_MAX_RANK];
    size_t begin, end; /* byte range in the data */
} DtclStTensor;

typedef struct {
    void *map;             /* the mapped file (NULL when parsed from memory) */
    size_t map_len;
    const unsigned char *data; /* the data buffer */
    size_t data_len;
    size_t header_len;
    DtclStTensor *tensors; /* sorted by name */
    int ntensors;
    char **meta_keys, **meta_values; /* __metadata__, in file order */
    int nmeta;
} DtclSafetensors;

const char *dtcl_st_dtype_name(DtclStDtype t);
size_t dtcl_st_dtype_size(DtclStDtype t);

/* Parses and validates a whole file held in memory (buf must outlive st). */
int dtcl_st_parse(const void *buf, size_t len, DtclSafetensors *st, DtclError *err);
/* Maps PATH and parses it; messages begin with the path. */
int dtcl_st_open(const char *path, DtclSafetensors *st, DtclError *err);
void dtcl_st_close(DtclSafetensors *st);

const DtclStTensor *dtcl_st_find(const DtclSafetensors *st, const char *name);
/* The metadata value of key, or NULL. */
const char *dtcl_st_meta(const DtclSafetensors *st, const char *key);
/* Copies tensor `name` into out after checking that it exists and has this
 * dtype and shape; the message names the tensor and what was expected. */
int dtcl_st_read(const DtclSafetensors *st, const char *name, DtclStDtype dtype, int rank, const int64_t *shape,
                 void *out, DtclError *err);

/* One tensor to write. */
typedef struct {
    const char *name;
    DtclStDtype dtype;
    int rank;
    int64_t shape[DTCL_ST_MAX_RANK];
    const void *data;
} DtclStEntry;

/* Writes the tensors (in the given order) and the metadata pairs
 * atomically: temporary file, fsync, rename. */
int dtcl_st_save(const char *path, const DtclStEntry *entries, int n, const char *const *meta_keys,
                 const char *const *meta_values, int nmeta, DtclError *err);

/* "name dtype shape" lines and the metadata, for `dtcl info`. */
void dtcl_st_print(const DtclSafetensors *st, FILE *f);

#endif
