/* atomicfile.h: outputs are written to a temporary name beside the target,
 * flushed to disk, and renamed when complete, so that an interrupted or failed
 * command never leaves a half-written file where the user had a good one. */
#ifndef DTCL_ATOMICFILE_H
#define DTCL_ATOMICFILE_H

#include <stdio.h>

#include "base/error.h"

typedef struct {
    FILE *f;
    char *path; /* final name */
    char *tmp;  /* PATH.tmp.XXXXXX in the same directory */
} DtclOutFile;

/* Opens PATH.tmp.XXXXXX for writing. */
int dtcl_out_open(DtclOutFile *out, const char *path, DtclError *err);
/* Flushes, fsyncs, closes and renames onto the final name. */
int dtcl_out_commit(DtclOutFile *out, DtclError *err);
/* Closes and removes the temporary file; the final name is untouched. */
void dtcl_out_abort(DtclOutFile *out);

#endif
