/* npy.h: NumPy's .npy format (versions 1.0, 2.0, 3.0).
 *
 * Read: float32, float64, uint8, uint16, either byte order, C or Fortran
 * order, ranks 1 to 4, converted to C-order float32. Integer types are image
 * intensities and are scaled to [0,1] (x/255, x/65535), as SPEC section 5 says
 * of images.npy. Write: float32, little-endian, C order, version 1.0.
 * The decoder never reads outside the buffer it is given and reports what it
 * found and what it expected; it is fuzzed (tests/fuzz_npy.c).
 */
#ifndef DTCL_NPY_H
#define DTCL_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define DTCL_NPY_MAX_RANK 4

typedef enum { DTCL_NPY_F32, DTCL_NPY_F64, DTCL_NPY_U8, DTCL_NPY_U16 } DtclNpyType;

typedef struct {
    DtclNpyType type;
    int big_endian;
    int fortran_order;
    int rank;
    int64_t shape[DTCL_NPY_MAX_RANK];
    size_t count;       /* product of shape */
    size_t data_offset; /* bytes from the start of the file to the data */
} DtclNpyInfo;

/* Parses the header at the start of buf (len bytes) and checks that the data
 * that follows has exactly the size the shape and type call for. */
int dtcl_npy_parse_header(const void *buf, size_t len, DtclNpyInfo *info, DtclError *err);

/* Parses buf and converts its data to a newly allocated float32 array. */
int dtcl_npy_decode(const void *buf, size_t len, float **data, DtclNpyInfo *info, DtclError *err);

/* Reads PATH (memory-mapped) into a newly allocated float32 array; messages
 * begin with the path. */
int dtcl_npy_load(const char *path, float **data, DtclNpyInfo *info, DtclError *err);

/* Writes a float32 array atomically (temporary name, fsync, rename). */
int dtcl_npy_save(const char *path, const float *data, int rank, const int64_t *shape,
                  DtclError *err);

/* A float32 array of shape (N, d1, d2) written image by image when N is not
 * known in advance: a fixed-size header is written first and rewritten with
 * the final N on close. Atomic like dtcl_npy_save. */
typedef struct DtclNpyWriter DtclNpyWriter;
DtclNpyWriter *dtcl_npy_writer_open(const char *path, int64_t d1, int64_t d2, DtclError *err);
int dtcl_npy_writer_append(DtclNpyWriter *w, const float *item, DtclError *err); /* one (d1,d2) item */
int64_t dtcl_npy_writer_count(const DtclNpyWriter *w);
int dtcl_npy_writer_close(DtclNpyWriter *w, DtclError *err); /* commits; frees w */
void dtcl_npy_writer_abort(DtclNpyWriter *w);                  /* removes the temporary file; frees w */

/* "(3, 64, 64)" into buf. */
const char *dtcl_npy_shape_str(const DtclNpyInfo *info, char *buf, size_t size);
const char *dtcl_npy_type_name(DtclNpyType type);

#endif
