/* csv.h: comma-separated tables with a header line (RFC 4180: fields may be
 * quoted, "" inside quotes is a quote, CRLF or LF line ends, an optional
 * UTF-8 byte-order mark). Used for meta.csv, split.csv and label files
 * (SPEC section 5). The parser works on memory, reports the line and what
 * was expected, never reads outside its buffer, and is fuzzed. */
#ifndef DTCL_CSV_H
#define DTCL_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "base/error.h"

typedef struct {
    int ncols;
    size_t nrows;   /* data rows, the header excluded */
    char **cells;   /* (nrows + 1, ncols): row 0 is the header */
    size_t *line;   /* (nrows + 1): the line each row starts on, for messages */
    char *text;     /* storage of the cells */
} DtclCsv;

int dtcl_csv_parse(const char *data, size_t len, DtclCsv *csv, DtclError *err);
/* Reads PATH; messages begin with the path. */
int dtcl_csv_load(const char *path, DtclCsv *csv, DtclError *err);
void dtcl_csv_free(DtclCsv *csv);

/* Index of the header column NAME, or -1. */
int dtcl_csv_column(const DtclCsv *csv, const char *name);
/* The cell of data row `row` (0-based) and column `col`. */
static inline const char *dtcl_csv_cell(const DtclCsv *csv, size_t row, int col)
{
    return csv->cells[(row + 1) * (size_t)csv->ncols + (size_t)col];
}

/* Writes one field, quoted when it holds a comma, a quote or a line break. */
void dtcl_csv_write_field(FILE *f, const char *s);

#endif
