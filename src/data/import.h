/* import.h: the importers that build dataset folders (SPEC section 5) from
 * the files users bring: BraTS volumes (import_brats.c) and folders of
 * pictures (PNG, TIFF, JPEG) with a CSV of labels or masks beside them
 * (import_images.c). Both write through
 * DtclDatasetWriter: a temporary folder renamed at the end. */
#ifndef DTCL_IMPORT_H
#define DTCL_IMPORT_H

#include <stdint.h>

#include "base/error.h"
#include "base/progress.h"

typedef struct {
    const char *modality; /* flair, t1, t1ce or t2 */
    int size;             /* output S */
    double black_max;     /* drop slices with at least this fraction of black pixels */
    int force;            /* replace an existing output folder */
    DtclProgress *progress; /* the command's progress (base/progress.h): a task per patient; or NULL */
} DtclBratsOptions;

typedef struct {
    const char *patient_regex; /* PCRE2; NULL: a patient column, or each image its own patient */
    int size;
    int channel;               /* the picture's channel k (0-based), or -1: grey */
    const char *mask_suffix;   /* NAME.ext's mask is NAME<suffix>.ext; NULL: no masks */
    long mask_min_pixels;      /* label 1 from this many non-zero mask pixels */
    int normalise;             /* 1: (x - min)/(max - min) over each patient's images; 0: as stored */
    int force;
    DtclProgress *progress; /* the command's progress: reading (2/3 of it) and writing; or NULL */
} DtclImagesOptions;

typedef struct {
    int patients;
    int64_t slices_read, kept, positive;
    double seconds;
} DtclImportStats;

/* 1 from a SIGINT handler stops an import, which then removes its
 * temporary folder. */
extern volatile int dtcl_import_interrupted;

int dtcl_import_brats(const char *root, const char *out, const DtclBratsOptions *o, DtclImportStats *st,
                      DtclError *err);
/* labels_csv NULL: every picture under dir (masks excepted). */
int dtcl_import_images(const char *dir, const char *labels_csv, const char *out, const DtclImagesOptions *o,
                       DtclImportStats *st, DtclError *err);

/* The image pasted, centred, on a square of `fill', then resized to S x S. */
void dtcl_square_resize(float *out, int S, const float *in, int rows, int cols, float fill);

#endif
