/* split.h: patient-disjoint splits of a dataset (paper section 3; SPEC
 * section 5): T hold-out test sets (the paper: 3 of 1000 slices), a
 * validation set, the training set, and the labelled subset of training
 * (--label-fraction, 10% in the paper) whose labels training may see. */
#ifndef DTCL_SPLIT_H
#define DTCL_SPLIT_H

#include <stdint.h>

#include "data/dataset.h"
#include "base/error.h"

typedef struct {
    int test_sets;         /* 0 to 3 */
    int64_t test_size;     /* images per test set; 0: min(1000, N/10) */
    double val_fraction;   /* of the images left after the test sets */
    double label_fraction; /* of the training images with a known label */
    uint64_t seed;
} DtclSplitOptions;

void dtcl_split_options_default(DtclSplitOptions *o);

/* split[i] in DtclSplit, labelled[i] in {0,1}, for every image of ds.
 * Patients are visited in an order drawn from the seed (Philox, purpose
 * split); each goes to the test set that is least full and whose positive
 * rate it brings closest to the dataset's, until every test set holds
 * test_size images; of 64 such orders the one whose test sets come nearest
 * their size and the dataset's positive rate is kept. The remaining patients
 * go to validation until val_fraction of them, then to training. The labelled subset takes round(f n) images of each class
 * of training, drawn per image. */
int dtcl_split_make(const DtclDataset *ds, const DtclSplitOptions *o, int8_t *split, int8_t *labelled,
                    DtclError *err);

/* labelled[i] = 1 for round(fraction n_c) training images of each class c
 * (at least one when the class is present), drawn per image from the seed. */
void dtcl_split_draw_labelled(const DtclDataset *ds, const int8_t *split, double fraction, uint64_t seed,
                              int8_t *labelled);

/* Keeps round(fraction n) of the n training images, drawn per image from the
 * seed, the labelled ones first; the others become DTCL_SPLIT_NONE and
 * unlabelled (a smaller training set, same validation and test sets:
 * `dtcl experiment --budget`). */
void dtcl_split_subsample_train(const DtclDataset *ds, int8_t *split, int8_t *labelled, double fraction,
                                uint64_t seed);

/* Writes split.csv (id,split,labelled) atomically; images in no split
 * (DTCL_SPLIT_NONE) are left out, as dataset.h reads them. */
int dtcl_split_write(const char *path, const DtclDataset *ds, const int8_t *split, const int8_t *labelled,
                     DtclError *err);

#endif
