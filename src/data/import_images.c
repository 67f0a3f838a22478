/* import_images.c: a folder of PNG images (chest X-rays) and a CSV of labels
 * to a dataset (SPEC section 5). The CSV has the columns file (relative to
 * DIR) and label (0, 1, or empty when unknown), and optionally patient;
 * without it, --patient-regex derives the patient from the file's base name
 * (its first parenthesised group, else the whole match; NIH ChestX-ray14's
 * 00000231_013.png is patient 00000231 with '^([0-9]+)_'), and without that
 * every image is its own patient. Images of any PNG colour type become grey,
 * are padded (black) to a square and resized (anti-aliased) to S x S. The
 * CSV is checked completely before anything is written. */
#define _POSIX_C_SOURCE 200809L
#include "data/import.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "io/csv.h"
#include "data/dataset.h"
#include "io/pngio.h"

/* qsort comparators: strings through one or through two pointers */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int cmp_ptr_str(const void *a, const void *b) { return strcmp(**(char *const *const *)a, **(char *const *const *)b); }

int dtcl_import_images(const char *dir, const char *labels_csv, const char *out, const DtclImagesOptions *o,
                       DtclImportStats *st, DtclError *err)
{
    memset(st, 0, sizeof *st);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    DtclCsv csv;
    if (dtcl_csv_load(labels_csv, &csv, err) != 0)
        return -1;
    int cf = dtcl_csv_column(&csv, "file"), cl = dtcl_csv_column(&csv, "label"), cp = dtcl_csv_column(&csv, "patient");
    if (cf < 0 || cl < 0) {
        dtcl_csv_free(&csv);
        return dtcl_fail(err, "%s: the header lacks '%s' (expected file,label[,patient])", labels_csv,
                         cf < 0 ? "file" : "label");
    }
    regex_t re;
    int have_re = 0;
    if (o->patient_regex && cp < 0) {
        int e = regcomp(&re, o->patient_regex, REG_EXTENDED);
        if (e != 0) {
            char msg[256];
            regerror(e, &re, msg, sizeof msg);
            dtcl_csv_free(&csv);
            return dtcl_fail(err, "--patient-regex '%s': %s", o->patient_regex, msg);
        }
        have_re = 1;
    }
    size_t n = csv.nrows;
    char **patient = DTCL_CALLOC(n + 1, sizeof(char *));
    int rc = 0;
    /* everything about the CSV first: labels, files, duplicates, patients */
    for (size_t r = 0; r < n && rc == 0; r++) {
        const char *file = dtcl_csv_cell(&csv, r, cf), *lab = dtcl_csv_cell(&csv, r, cl);
        size_t line = csv.line[r + 1];
        if (strcmp(lab, "0") != 0 && strcmp(lab, "1") != 0 && lab[0]) {
            rc = dtcl_fail(err, "%s: line %zu: label '%s' (expected 0, 1, or empty when unknown)", labels_csv, line, lab);
            break;
        }
        char path[8192];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, file);
        if (!file[0] || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            rc = dtcl_fail(err, "%s: line %zu: file '%s' is not in %s", labels_csv, line, file, dir);
            break;
        }
        const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        if (cp >= 0) {
            patient[r] = strdup(dtcl_csv_cell(&csv, r, cp));
            if (!patient[r][0])
                rc = dtcl_fail(err, "%s: line %zu: empty patient", labels_csv, line);
        } else if (have_re) {
            regmatch_t m[2];
            if (regexec(&re, base, 2, m, 0) != 0) {
                rc = dtcl_fail(err, "%s: line %zu: --patient-regex '%s' does not match '%s'", labels_csv, line,
                               o->patient_regex, base);
                break;
            }
            regmatch_t g = m[1].rm_so >= 0 ? m[1] : m[0];
            patient[r] = strndup(base + g.rm_so, (size_t)(g.rm_eo - g.rm_so));
            if (!patient[r][0])
                rc = dtcl_fail(err, "%s: line %zu: --patient-regex gives an empty patient for '%s'", labels_csv, line, base);
        } else {
            const char *dot = strrchr(base, '.');
            patient[r] = strndup(base, dot ? (size_t)(dot - base) : strlen(base));
        }
    }
    if (rc == 0) { /* duplicate files */
        const char ***ptr = DTCL_MALLOC(sizeof(char **) * (n + 1));
        const char **files = DTCL_MALLOC(sizeof(char *) * (n + 1));
        for (size_t r = 0; r < n; r++) {
            files[r] = dtcl_csv_cell(&csv, r, cf);
            ptr[r] = &files[r];
        }
        qsort(ptr, n, sizeof *ptr, cmp_ptr_str);
        for (size_t r = 1; r < n && rc == 0; r++)
            if (strcmp(*ptr[r], *ptr[r - 1]) == 0)
                rc = dtcl_fail(err, "%s: file '%s' is listed twice (lines %zu and %zu)", labels_csv, *ptr[r],
                               csv.line[(size_t)(ptr[r - 1] - files) + 1], csv.line[(size_t)(ptr[r] - files) + 1]);
        free(ptr);
        free(files);
    }
    if (rc == 0 && n == 0)
        rc = dtcl_fail(err, "%s: no rows (expected one row per image)", labels_csv);
    DtclDatasetWriter *w = NULL;
    if (rc == 0) {
        static const char *extra[1] = {"source"};
        w = dtcl_dataset_writer_open(out, o->size, o->force, extra, 1, err);
        rc = w ? 0 : -1;
    }
    float *img = DTCL_MALLOC(sizeof(float) * (size_t)o->size * o->size);
    for (size_t r = 0; r < n && rc == 0; r++) {
        const char *file = dtcl_csv_cell(&csv, r, cf), *lab = dtcl_csv_cell(&csv, r, cl);
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, file);
        float *px;
        int h, wd;
        if (dtcl_png_load(path, &px, &h, &wd, err) != 0) {
            rc = -1;
            break;
        }
        dtcl_square_resize(img, o->size, px, h, wd, 0.0f);
        free(px);
        const char *extra[1] = {file};
        rc = dtcl_dataset_writer_add(w, img, file, patient[r], lab[0] ? lab[0] - '0' : -1, extra, err);
        st->kept++;
        st->slices_read++;
        st->positive += lab[0] == '1';
        if (o->progress && (r % 50 == 0 || r + 1 == n))
            fprintf(stderr, "\r%zu/%zu images", r + 1, n);
        if (dtcl_import_interrupted)
            rc = dtcl_fail(err, "interrupted; nothing was written to %s", out);
    }
    if (o->progress)
        fputc('\n', stderr);
    free(img);
    if (rc == 0) {
        /* patients: distinct names */
        char **sorted = DTCL_MALLOC(sizeof(char *) * (n + 1));
        memcpy(sorted, patient, sizeof(char *) * n);
        qsort(sorted, n, sizeof(char *), cmp_str);
        st->patients = 0;
        for (size_t r = 0; r < n; r++)
            st->patients += r == 0 || strcmp(sorted[r], sorted[r - 1]) != 0;
        free(sorted);
        rc = dtcl_dataset_writer_commit(w, err);
        w = NULL;
    }
    if (w)
        dtcl_dataset_writer_abort(w);
    for (size_t r = 0; r < n; r++)
        free(patient[r]);
    free(patient);
    if (have_re)
        regfree(&re);
    dtcl_csv_free(&csv);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    st->seconds = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    return rc;
}
