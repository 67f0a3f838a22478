/* dataset.h: the dataset folder of SPEC section 5.
 *   images.npy  (N,S,S) float32, uint8 or uint16 (integers scaled to [0,1]),
 *               memory-mapped: a batch reads only its own images;
 *   meta.csv    id,patient,label[,more columns]; label 0, 1 or empty (unknown);
 *   split.csv   optional: id,split[,labelled]; split in train, val, test0,
 *               test1, test2; labelled 1 marks the train images whose labels
 *               training may see.
 *   masks.npy   optional: (N,S,S) float32 in [0,1], the tumour's share of each
 *               pixel (the BraTS importer and synthetic brains write it;
 *               `dtcl figures` outlines it; training never reads it).
 * Opening validates everything and names the file, line and field of any
 * problem. Writing goes to DIR.tmp.XXXXXX, renamed to DIR when complete. */
#ifndef DTCL_DATASET_H
#define DTCL_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "io/csv.h"
#include "base/error.h"
#include "io/npy.h"

typedef enum { DTCL_SPLIT_NONE = -1, DTCL_SPLIT_TRAIN, DTCL_SPLIT_VAL, DTCL_SPLIT_TEST0, DTCL_SPLIT_TEST1,
               DTCL_SPLIT_TEST2, DTCL_NSPLITS } DtclSplit;
extern const char *const dtcl_split_names[DTCL_NSPLITS];

typedef struct {
    char *dir;
    int64_t n;          /* images */
    int size;           /* S */
    DtclNpyInfo info;   /* of images.npy */
    const unsigned char *pixels; /* the mapped data */
    void *map;
    size_t map_len;
    DtclCsv meta;
    const char **id, **patient; /* (N) into meta */
    int8_t *label;      /* (N) 0, 1, or -1 unknown */
    int npatients;
    int *patient_of;    /* (N) patient index 0..npatients-1, in order of first appearance */
    int has_split;
    int8_t *split;      /* (N) DtclSplit */
    int8_t *labelled;   /* (N) 1 when training may see the label */
} DtclDataset;

int dtcl_dataset_open(DtclDataset *ds, const char *dir, DtclError *err);
void dtcl_dataset_close(DtclDataset *ds);
/* out (n,S,S) float32 <- images index[0..n-1], converted from the mapped file. */
void dtcl_dataset_load(const DtclDataset *ds, float *out, const int64_t *index, int n);
/* The summary `dtcl info` prints. */
void dtcl_dataset_print_info(const DtclDataset *ds, FILE *f);

/* ---- writing */
typedef struct DtclDatasetWriter DtclDatasetWriter;
/* Refuses an existing DIR unless force; extra names the meta.csv columns
 * after id,patient,label (may be NULL with nextra 0). */
DtclDatasetWriter *dtcl_dataset_writer_open(const char *dir, int size, int force, const char *const *extra,
                                            int nextra, DtclError *err);
/* Appends one image (S,S) and its meta.csv row; label -1 writes an empty label. */
int dtcl_dataset_writer_add(DtclDatasetWriter *w, const float *image, const char *id, const char *patient,
                            int label, const char *const *extra_values, DtclError *err);
/* Optional: the tumour mask (S,S) in [0,1] of the image just added, into
 * masks.npy beside images.npy (figures outline it). Either every image gets
 * one or none does. */
int dtcl_dataset_writer_add_mask(DtclDatasetWriter *w, const float *mask, DtclError *err);
int64_t dtcl_dataset_writer_count(const DtclDatasetWriter *w);
/* The temporary folder, where extra files (split.csv) may be written before commit. */
const char *dtcl_dataset_writer_tmpdir(const DtclDatasetWriter *w);
int dtcl_dataset_writer_commit(DtclDatasetWriter *w, DtclError *err); /* frees w */
void dtcl_dataset_writer_abort(DtclDatasetWriter *w);                   /* frees w */

/* Removes a folder tree (the writer's temporary or replaced folders). */
int dtcl_remove_tree(const char *path);

#endif
