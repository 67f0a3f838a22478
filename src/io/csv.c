/* csv.c: RFC 4180 tables (see csv.h). */
#include "io/csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Growable arrays of cell pointers and row lines. */
typedef struct {
    char **cells;
    size_t ncells, cap;
    size_t *lines;
    size_t nrows, lcap;
} Builder;

static void push_cell(Builder *b, char *cell)
{
    if (b->ncells == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->cells = realloc(b->cells, sizeof(char *) * b->cap);
        if (!b->cells) {
            fprintf(stderr, "dtcl: out of memory (%s:%d)\n", __FILE__, __LINE__);
            exit(1);
        }
    }
    b->cells[b->ncells++] = cell;
}

static void push_row(Builder *b, size_t line)
{
    if (b->nrows == b->lcap) {
        b->lcap = b->lcap ? 2 * b->lcap : 16;
        b->lines = realloc(b->lines, sizeof(size_t) * b->lcap);
        if (!b->lines) {
            fprintf(stderr, "dtcl: out of memory (%s:%d)\n", __FILE__, __LINE__);
            exit(1);
        }
    }
    b->lines[b->nrows++] = line;
}

static int parse_fail(Builder *b, char *text)
{
    free(b->cells);
    free(b->lines);
    free(text);
    return -1;
}

int dtcl_csv_parse(const char *data, size_t len, DtclCsv *csv, DtclError *err)
{
    memset(csv, 0, sizeof *csv);
    size_t pos = 0, line = 1, t = 0;
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        pos = 3; /* byte-order mark */
    if (memchr(data, 0, len))
        return dtcl_fail(err, "holds a NUL byte (expected text)");
    /* cells are copied, unquoted, into one buffer no longer than the input */
    char *text = DTCL_MALLOC(len + 1);
    Builder b = {0};
    int ncols = -1;
    while (pos < len) { /* one row */
        size_t row_line = line;
        int col = 0;
        for (;;) { /* one field */
            char *cell = text + t;
            if (pos < len && data[pos] == '"') {
                size_t qline = line;
                pos++;
                for (;;) {
                    if (pos >= len) {
                        dtcl_fail(err, "line %zu: a quoted field is never closed", qline);
                        return parse_fail(&b, text);
                    }
                    if (data[pos] == '"' && pos + 1 < len && data[pos + 1] == '"') {
                        text[t++] = '"';
                        pos += 2;
                    } else if (data[pos] == '"') {
                        pos++;
                        break;
                    } else {
                        line += data[pos] == '\n';
                        text[t++] = data[pos++];
                    }
                }
                if (pos < len && data[pos] != ',' && data[pos] != '\n' && data[pos] != '\r') {
                    dtcl_fail(err, "line %zu: text after a closing quote (expected a comma or the end of the line)", line);
                    return parse_fail(&b, text);
                }
            } else {
                while (pos < len && data[pos] != ',' && data[pos] != '\n' && data[pos] != '\r')
                    text[t++] = data[pos++];
            }
            text[t++] = 0;
            push_cell(&b, cell);
            col++;
            if (pos < len && data[pos] == ',') {
                pos++;
                continue; /* another field, possibly empty */
            }
            if (pos < len && data[pos] == '\r')
                pos++;
            if (pos < len && data[pos] == '\n')
                pos++;
            line++;
            break;
        }
        if (col == 1 && b.cells[b.ncells - 1][0] == 0 && ncols != 1) { /* a blank line */
            b.ncells--;
            continue;
        }
        if (ncols < 0) {
            ncols = col;
        } else if (col != ncols) {
            dtcl_fail(err, "line %zu has %d field%s; the header has %d", row_line, col, col == 1 ? "" : "s", ncols);
            return parse_fail(&b, text);
        }
        push_row(&b, row_line);
    }
    if (b.nrows == 0) {
        dtcl_fail(err, "empty file (expected a header line such as id,patient,label)");
        return parse_fail(&b, text);
    }
    csv->ncols = ncols;
    csv->nrows = b.nrows - 1;
    csv->cells = b.cells;
    csv->line = b.lines;
    csv->text = text;
    return 0;
}

int dtcl_csv_load(const char *path, DtclCsv *csv, DtclError *err)
{
    memset(csv, 0, sizeof *csv);
    FILE *f = fopen(path, "rb");
    if (!f)
        return dtcl_fail(err, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = DTCL_MALLOC(cap);
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        cap *= 2;
        char *nb = realloc(buf, cap);
        if (!nb) {
            free(buf);
            fclose(f);
            return dtcl_fail(err, "%s: too large to read", path);
        }
        buf = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return dtcl_fail(err, "%s: read error", path);
    }
    int rc = dtcl_csv_parse(buf, n, csv, err);
    free(buf);
    return rc == 0 ? 0 : dtcl_fail_prefix(err, path);
}

void dtcl_csv_free(DtclCsv *csv)
{
    free(csv->cells);
    free(csv->line);
    free(csv->text);
    memset(csv, 0, sizeof *csv);
}

int dtcl_csv_column(const DtclCsv *csv, const char *name)
{
    for (int c = 0; c < csv->ncols; c++)
        if (strcmp(csv->cells[c], name) == 0)
            return c;
    return -1;
}

void dtcl_csv_write_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
