/* figures.h: the paper's figures from an experiment folder (experiment.h) or
 * one run folder (train.h), as PNG files:
 *   fig2.png            linear evaluation AUC against epoch per strategy,
 *                       bands of one standard deviation, the supervised runs
 *                       as horizontal reference lines (paper Fig. 2); for a
 *                       run, auc.png: its three test sets and their mean
 *   fig3.png            the same test slices transformed by each strategy's
 *                       Lambda at one epoch, the tumour outlined in red when
 *                       the dataset has masks.npy (paper Fig. 3), labelled;
 *   fig3-grid.png       the same grid pixel for pixel, without labels;
 *   fig3-lambda.csv     the Lambda of every cell
 *   lambda-NAME.png     for runs with M: histograms of each lambda_k over the
 *                       labelled test images, per class, at that epoch
 *   lambda-NAME-training.png  mean and standard deviation of each lambda_k per
 *                       class over training (metrics.csv)
 * Plots go through gnuplot (pngcairo); the grid is written with libpng. */
#ifndef DTCL_FIGURES_H
#define DTCL_FIGURES_H

#include <stdio.h>

#include "base/error.h"

typedef struct {
    int epoch;   /* for fig3 and the histograms; -1: the last evaluated epoch */
    int images;  /* rows of fig3 (default 4) */
} DtclFiguresOptions;

/* Writes the figures of `path` (an experiment or a run folder) into outdir
 * (created if needed; files replaced atomically) and names them on log.
 * Returns 0; -1 with err on bad input (exit 2); -2 when gnuplot is missing
 * or fails (the libpng grid is still written; exit 1). */
int dtcl_figures(const char *path, const char *outdir, const DtclFiguresOptions *o, FILE *log, DtclError *err);

#endif
