/* nifti.h: 3-D NIfTI-1/NIfTI-2 volumes (.nii, .nii.gz) as float32, read
 * with niftilib after dtcl's own check of the header, and their axial
 * slices in one orientation whatever the file's (SPEC section 5).
 *
 * Orientation: from the sform (else the qform, else NIfTI's default), the
 * array axis that runs inferior-superior is the axial axis; each axial slice
 * is laid out in the radiological convention: rows run anterior to
 * posterior, columns run from the patient's right to the patient's left. */
#ifndef DTCL_NIFTI_H
#define DTCL_NIFTI_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* What the first bytes of a NIfTI file say. */
typedef struct {
    int version;       /* 1 or 2 */
    int swapped;       /* other byte order than the host */
    int64_t dim[8];    /* dim[0] = number of dimensions */
    int datatype;      /* NIFTI DT_* code */
    int64_t vox_offset;
} DtclNiftiHeader;

/* Checks the header at the start of buf (decompressed): size field, magic,
 * dimensions, data type. Never reads outside buf; fuzzed. */
int dtcl_nifti_parse_header(const void *buf, size_t len, DtclNiftiHeader *h, DtclError *err);

typedef struct {
    int64_t dim[3];   /* array dimensions, i fastest */
    float *data;      /* (dim2, dim1, dim0), scl_slope/scl_inter applied */
    int axial;        /* the array axis (0, 1, 2) that runs inferior-superior */
    int row_axis, col_axis;   /* in-plane axes of an axial slice */
    int row_flip, col_flip;   /* reverse them to get anterior-to-posterior, right-to-left */
    char orientation[32];     /* e.g. "R2L A2P I2S" */
} DtclVolume;

/* Reads a 3-D volume (a 4-D one with a single time point is accepted);
 * messages begin with the path and say what was expected. */
int dtcl_nifti_load(const char *path, DtclVolume *v, DtclError *err);
void dtcl_volume_free(DtclVolume *v);

int64_t dtcl_volume_nslices(const DtclVolume *v);
/* Slice `index` along the axial axis, (rows, cols) into out. */
void dtcl_volume_slice(const DtclVolume *v, int64_t index, float *out, int *rows, int *cols);

#endif
