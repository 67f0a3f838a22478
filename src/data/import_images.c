/* import_images.c: a folder of pictures (PNG, TIFF, JPEG: chest X-rays, MRI
 * slices) to a dataset (SPEC section 5).
 *
 * Which images: with --labels, the CSV's rows (a file column, file, image or
 * path, relative to DIR; a label column, 0, 1 or empty; optionally a patient
 * column, patient or patient_id); without it, every picture under DIR, in
 * the order of their paths (numbers compared as numbers). Files whose name
 * ends in the mask suffix before the extension are masks, not images.
 *
 * Patients: the CSV's column, or the first group of --patient-regex (PCRE2:
 * \d, \w, lazy quantifiers...) matched against the path relative to DIR,
 * else against the file's base name; without either, each image is its own
 * patient.
 *
 * Masks (--mask-suffix SUF): NAME.ext's mask is NAMESUF.ext. Label 1 when
 * it has at least --mask-min-pixels non-zero pixels at its own resolution
 * (0 otherwise; a CSV's label wins when there is one); its share of each
 * pixel after resizing goes to masks.npy. A missing mask or one of another
 * size stops the import, naming it, before anything is written.
 *
 * Pixels: one channel (--channel K) or the grey picture (image.h), then
 * scaled per patient: (x - min) / (max - min) over all of that patient's
 * images (a constant patient: 0), as the BraTS importer scales a volume;
 * --normalise none keeps the file's values (8-bit x/255, 16-bit x/65535).
 * Pictures are padded (black) to a square and resized (anti-aliased) to
 * S x S. meta.csv records each image's source file and the scaling. */
#define _POSIX_C_SOURCE 200809L
#define PCRE2_CODE_UNIT_WIDTH 8
#include "data/import.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "data/dataset.h"
#include "io/csv.h"
#include "io/image.h"

/* ------------------------------------------------------------ names */

static int has_picture_ext(const char *name)
{
    static const char *ext[] = {".png", ".tif", ".tiff", ".jpg", ".jpeg"};
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    for (size_t k = 0; k < sizeof ext / sizeof ext[0]; k++)
        if (strcasecmp(dot, ext[k]) == 0)
            return 1;
    return 0;
}

/* Whether path (without extension) ends in suffix: a mask. */
static int is_mask(const char *path, const char *suffix)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    size_t n = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path), m = strlen(suffix);
    return m > 0 && n >= m && strncmp(path + n - m, suffix, m) == 0;
}

/* NAME.ext -> NAMESUF.ext */
static void mask_name(char *out, size_t size, const char *path, const char *suffix)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        dot = path + strlen(path);
    snprintf(out, size, "%.*s%s%s", (int)(dot - path), path, suffix, dot);
}

/* strcmp with runs of digits compared as numbers: slice_2 before slice_10 */
static int natural_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0' && isdigit((unsigned char)a[1]))
                a++;
            while (*b == '0' && isdigit((unsigned char)b[1]))
                b++;
            size_t na = 0, nb = 0;
            while (isdigit((unsigned char)a[na]))
                na++;
            while (isdigit((unsigned char)b[nb]))
                nb++;
            if (na != nb)
                return na < nb ? -1 : 1;
            int c = strncmp(a, b, na);
            if (c)
                return c;
            a += na;
            b += nb;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int cmp_natural(const void *a, const void *b)
{
    return natural_cmp(*(char *const *)a, *(char *const *)b);
}

typedef struct {
    char **v;
    size_t n, cap;
} Names;

static void names_add(Names *s, const char *name)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->v = realloc(s->v, sizeof(char *) * s->cap);
        if (!s->v) {
            fprintf(stderr, "dtcl: out of memory listing files\n");
            exit(DTCL_EXIT_FAIL);
        }
    }
    s->v[s->n++] = strdup(name);
}

/* Every picture under root/rel (hidden entries skipped), relative paths. */
static int walk(const char *root, const char *rel, Names *out, int depth, DtclError *err)
{
    char dir[8192];
    snprintf(dir, sizeof dir, "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d)
        return dtcl_fail(err, "%s: cannot open the folder", dir);
    if (depth > 32) {
        closedir(d);
        return dtcl_fail(err, "%s: folders nested more than 32 deep", dir);
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[8192], full[16640];
        if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name) >= sizeof sub)
            continue; /* a path longer than 8 KiB: not a picture of ours */
        snprintf(full, sizeof full, "%s/%s", root, sub);
        struct stat sb;
        if (stat(full, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            rc = walk(root, sub, out, depth + 1, err);
        else if (S_ISREG(sb.st_mode) && has_picture_ext(e->d_name))
            names_add(out, sub);
    }
    closedir(d);
    return rc;
}

/* ------------------------------------------------------------ patients */

typedef struct {
    pcre2_code *re;
    pcre2_match_data *md;
} Pattern;

static int pattern_compile(Pattern *p, const char *re, DtclError *err)
{
    int code;
    PCRE2_SIZE at;
    p->re = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &code, &at, NULL);
    if (!p->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return dtcl_fail(err, "--patient-regex '%s': %s at position %zu ('%.8s')", re, (const char *)msg, (size_t)at,
                         re + (at < strlen(re) ? at : strlen(re)));
    }
    p->md = pcre2_match_data_create_from_pattern(p->re, NULL);
    return 0;
}

static void pattern_free(Pattern *p)
{
    if (p->md)
        pcre2_match_data_free(p->md);
    if (p->re)
        pcre2_code_free(p->re);
}

/* The first group (or the whole match) of the pattern in s, newly
 * allocated; NULL when it does not match. */
static char *pattern_patient(Pattern *p, const char *s)
{
    int n = pcre2_match(p->re, (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0, 0, p->md, NULL);
    if (n < 1)
        return NULL;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
    int g = n >= 2 && ov[2] != PCRE2_UNSET ? 1 : 0;
    return strndup(s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
}

/* ------------------------------------------------------------ the import */

/* One image to import: its file, patient, CSV label (-1: none or unknown),
 * and what its mask says. */
typedef struct {
    char *file;    /* relative to DIR */
    char *patient;
    int label;     /* from the CSV: 0, 1, -1 unknown; -2: no CSV */
    int mask_label;
    int patient_k; /* index into the patients' ranges */
    size_t line;   /* its line in the CSV (0: none) */
} Item;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_item_file(const void *a, const void *b)
{
    return strcmp((*(const Item *const *)a)->file, (*(const Item *const *)b)->file);
}

static const char *first_column(const DtclCsv *csv, const char *const *names, int *col)
{
    for (int k = 0; names[k]; k++)
        if ((*col = dtcl_csv_column(csv, names[k])) >= 0)
            return names[k];
    return NULL;
}

/* The items from the CSV: every row checked before anything is read. */
static int items_from_csv(const char *dir, const char *labels_csv, Pattern *pat, Item **items, size_t *count,
                          DtclError *err)
{
    static const char *file_cols[] = {"file", "image", "path", NULL}, *patient_cols[] = {"patient", "patient_id", NULL};
    DtclCsv csv;
    if (dtcl_csv_load(labels_csv, &csv, err) != 0)
        return -1;
    int cf = -1, cp = -1, cl = dtcl_csv_column(&csv, "label");
    if (!first_column(&csv, file_cols, &cf) || cl < 0) {
        dtcl_csv_free(&csv);
        return dtcl_fail(err, "%s: the header lacks %s (expected file (or image, path), label[, patient or patient_id])",
                         labels_csv, cl < 0 ? "'label'" : "a file column");
    }
    first_column(&csv, patient_cols, &cp);
    size_t n = csv.nrows;
    Item *it = DTCL_CALLOC(n + 1, sizeof(Item));
    int rc = n == 0 ? dtcl_fail(err, "%s: no rows (expected one row per image)", labels_csv) : 0;
    for (size_t r = 0; r < n && rc == 0; r++) {
        const char *file = dtcl_csv_cell(&csv, r, cf), *lab = dtcl_csv_cell(&csv, r, cl);
        size_t line = csv.line[r + 1];
        if (strcmp(lab, "0") != 0 && strcmp(lab, "1") != 0 && lab[0]) {
            rc = dtcl_fail(err, "%s: line %zu: label '%s' (expected 0, 1, or empty when unknown)", labels_csv, line,
                           lab);
            break;
        }
        char path[8192];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, file);
        if (!file[0] || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            rc = dtcl_fail(err, "%s: line %zu: file '%s' is not in %s", labels_csv, line, file, dir);
            break;
        }
        it[r].file = strdup(file);
        it[r].line = line;
        it[r].label = lab[0] ? lab[0] - '0' : -1;
        if (cp >= 0 && !pat->re) {
            it[r].patient = strdup(dtcl_csv_cell(&csv, r, cp));
            if (!it[r].patient[0])
                rc = dtcl_fail(err, "%s: line %zu: empty patient", labels_csv, line);
        }
    }
    dtcl_csv_free(&csv);
    *items = it;
    *count = n;
    return rc;
}

static int items_from_folder(const char *dir, const char *mask_suffix, Item **items, size_t *count, DtclError *err)
{
    Names all = {0};
    int rc = walk(dir, "", &all, 0, err);
    if (rc == 0)
        qsort(all.v, all.n, sizeof(char *), cmp_natural);
    Item *it = DTCL_CALLOC(all.n + 1, sizeof(Item));
    size_t n = 0;
    for (size_t k = 0; k < all.n; k++) {
        if (rc == 0 && !(mask_suffix && is_mask(all.v[k], mask_suffix))) {
            it[n].file = all.v[k];
            it[n++].label = -2;
        } else {
            free(all.v[k]);
        }
    }
    free(all.v);
    if (rc == 0 && n == 0)
        rc = dtcl_fail(err, "%s: no PNG, TIFF or JPEG pictures%s", dir, mask_suffix ? " other than masks" : "");
    *items = it;
    *count = n;
    return rc;
}

/* Patients from the pattern or the file names, then the duplicates check. */
static int assign_patients(Item *it, size_t n, Pattern *pat, const char *where, DtclError *err)
{
    for (size_t r = 0; r < n; r++) {
        if (it[r].patient)
            continue;
        const char *base = strrchr(it[r].file, '/') ? strrchr(it[r].file, '/') + 1 : it[r].file;
        if (pat->re) {
            if (!(it[r].patient = pattern_patient(pat, it[r].file)) &&
                !(it[r].patient = pattern_patient(pat, base)))
                return dtcl_fail(err, "%s: --patient-regex does not match '%s' (nor its base name)", where,
                                 it[r].file);
            if (!it[r].patient[0])
                return dtcl_fail(err, "%s: --patient-regex gives an empty patient for '%s'", where, it[r].file);
        } else {
            const char *dot = strrchr(base, '.');
            it[r].patient = strndup(base, dot ? (size_t)(dot - base) : strlen(base));
        }
    }
    const Item **order = DTCL_MALLOC(sizeof(Item *) * (n + 1));
    for (size_t r = 0; r < n; r++)
        order[r] = &it[r];
    qsort(order, n, sizeof(Item *), cmp_item_file);
    int rc = 0;
    for (size_t r = 1; r < n && rc == 0; r++)
        if (strcmp(order[r]->file, order[r - 1]->file) == 0) {
            size_t a = order[r - 1]->line < order[r]->line ? order[r - 1]->line : order[r]->line;
            size_t b = order[r - 1]->line < order[r]->line ? order[r]->line : order[r - 1]->line;
            rc = dtcl_fail(err, "%s: file '%s' is listed twice (lines %zu and %zu)", where, order[r]->file, a, b);
        }
    free(order);
    return rc;
}

/* One plane of a picture file: pixels (H,W), newly allocated. */
static int load_plane(const char *dir, const char *file, int channel, float **px, int *h, int *w, DtclError *err)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    DtclImage im;
    *px = NULL;
    if (dtcl_image_load(path, &im, err) != 0)
        return -1;
    *px = DTCL_MALLOC(sizeof(float) * (size_t)im.height * im.width + 1);
    int rc = dtcl_image_plane(&im, channel, *px, err);
    if (rc != 0) {
        dtcl_fail_prefix(err, path);
        free(*px);
        *px = NULL;
    }
    *h = im.height;
    *w = im.width;
    dtcl_image_free(&im);
    return rc;
}

/* The first pass: every mask read (its label), every image's range read
 * into its patient's, every size checked. Nothing is written yet. */
static int first_pass(const char *dir, const DtclImagesOptions *o, Item *it, size_t n, double *lo, double *hi,
                      DtclError *err)
{
    int rc = 0;
    for (size_t r = 0; r < n && rc == 0; r++) {
        float *px;
        int h, w;
        if (load_plane(dir, it[r].file, o->channel, &px, &h, &w, err) != 0)
            return -1;
        double a = INFINITY, b = -INFINITY;
        for (size_t q = 0; q < (size_t)h * w; q++)
            if (px[q] == px[q]) { /* NaN (a float TIFF's) does not count */
                a = fmin(a, px[q]);
                b = fmax(b, px[q]);
            }
        free(px);
        int k = it[r].patient_k;
        lo[k] = fmin(lo[k], a);
        hi[k] = fmax(hi[k], b);
        if (o->mask_suffix) {
            char mname[8192];
            mask_name(mname, sizeof mname, it[r].file, o->mask_suffix);
            float *mk;
            int mh, mw;
            char mpath[8300];
            snprintf(mpath, sizeof mpath, "%s/%s", dir, mname);
            struct stat sb;
            if (stat(mpath, &sb) != 0)
                return dtcl_fail(err, "%s: the mask of %s is missing (expected %s)", mpath, it[r].file, mname);
            if (load_plane(dir, mname, -1, &mk, &mh, &mw, err) != 0)
                return -1;
            if (mh != h || mw != w) {
                free(mk);
                return dtcl_fail(err, "%s: mask of %dx%d pixels for an image of %dx%d (%s)", mpath, mw, mh, w, h,
                                 it[r].file);
            }
            long on = 0;
            for (size_t q = 0; q < (size_t)h * w; q++)
                on += mk[q] > 0.0f;
            free(mk);
            it[r].mask_label = on >= o->mask_min_pixels;
        }
        if (o->progress)
            dtcl_progress_update(o->progress, (double)(r + 1) / (double)n * 2 / 3, 0, "reading %zu/%zu images%s",
                                 r + 1, n, o->mask_suffix ? " and masks" : "");
        if (dtcl_import_interrupted)
            rc = dtcl_fail(err, "interrupted; nothing was written");
    }
    return rc;
}

int dtcl_import_images(const char *dir, const char *labels_csv, const char *out, const DtclImagesOptions *o,
                       DtclImportStats *st, DtclError *err)
{
    memset(st, 0, sizeof *st);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    Pattern pat = {0};
    if (o->patient_regex && pattern_compile(&pat, o->patient_regex, err) != 0)
        return -1;
    Item *it = NULL;
    size_t n = 0;
    int rc = labels_csv ? items_from_csv(dir, labels_csv, &pat, &it, &n, err)
                        : items_from_folder(dir, o->mask_suffix, &it, &n, err);
    if (rc == 0)
        rc = assign_patients(it, n, &pat, labels_csv ? labels_csv : dir, err);
    /* patients: distinct names, each image its patient's index */
    char **pn = DTCL_MALLOC(sizeof(char *) * (n + 1));
    size_t np = 0;
    if (rc == 0) {
        for (size_t r = 0; r < n; r++)
            pn[r] = it[r].patient;
        qsort(pn, n, sizeof(char *), cmp_str);
        for (size_t r = 0; r < n; r++)
            if (r == 0 || strcmp(pn[r], pn[np - 1]) != 0)
                pn[np++] = pn[r];
        for (size_t r = 0; r < n; r++) {
            char **hit = bsearch(&it[r].patient, pn, np, sizeof(char *), cmp_str);
            it[r].patient_k = (int)(hit - pn);
        }
    }
    double *lo = DTCL_MALLOC(sizeof(double) * (np + 1)), *hi = DTCL_MALLOC(sizeof(double) * (np + 1));
    for (size_t k = 0; k < np; k++) {
        lo[k] = INFINITY;
        hi[k] = -INFINITY;
    }
    if (rc == 0)
        rc = first_pass(dir, o, it, n, lo, hi, err);
    DtclDatasetWriter *w = NULL;
    if (rc == 0) {
        static const char *extra[3] = {"source", "scale_min", "scale_max"};
        w = dtcl_dataset_writer_open(out, o->size, o->force, extra, 3, err);
        rc = w ? 0 : -1;
    }
    float *img = DTCL_MALLOC(sizeof(float) * (size_t)o->size * o->size);
    float *msk = DTCL_MALLOC(sizeof(float) * (size_t)o->size * o->size);
    for (size_t r = 0; r < n && rc == 0; r++) {
        float *px;
        int h, wd;
        if (load_plane(dir, it[r].file, o->channel, &px, &h, &wd, err) != 0) {
            rc = -1;
            break;
        }
        int k = it[r].patient_k;
        double a = 0, b = 1;
        if (o->normalise) {
            a = lo[k];
            b = hi[k];
            double span = b > a ? b - a : 0;
            for (size_t q = 0; q < (size_t)h * wd; q++)
                px[q] = span > 0 && px[q] == px[q] ? (float)((px[q] - a) / span) : 0.0f;
        }
        dtcl_square_resize(img, o->size, px, h, wd, 0.0f);
        free(px);
        int label = it[r].label >= -1 ? it[r].label : o->mask_suffix ? it[r].mask_label : -1;
        char sa[32], sb[32];
        snprintf(sa, sizeof sa, "%.9g", a);
        snprintf(sb, sizeof sb, "%.9g", b);
        const char *extra[3] = {it[r].file, sa, sb};
        rc = dtcl_dataset_writer_add(w, img, it[r].file, it[r].patient, label, extra, err);
        if (rc == 0 && o->mask_suffix) {
            char mname[8192];
            mask_name(mname, sizeof mname, it[r].file, o->mask_suffix);
            float *mk;
            int mh, mw;
            rc = load_plane(dir, mname, -1, &mk, &mh, &mw, err);
            if (rc == 0) {
                for (size_t q = 0; q < (size_t)mh * mw; q++)
                    mk[q] = mk[q] > 0.0f ? 1.0f : 0.0f;
                dtcl_square_resize(msk, o->size, mk, mh, mw, 0.0f);
                free(mk);
                rc = dtcl_dataset_writer_add_mask(w, msk, err);
            }
        }
        st->kept++;
        st->slices_read++;
        st->positive += label == 1;
        if (o->progress)
            dtcl_progress_update(o->progress, (2 + (double)(r + 1) / (double)n) / 3, 0, "writing %zu/%zu images", r + 1,
                                 n);
        if (dtcl_import_interrupted)
            rc = dtcl_fail(err, "interrupted; nothing was written to %s", out);
    }
    free(img);
    free(msk);
    if (rc == 0) {
        st->patients = (int)np;
        rc = dtcl_dataset_writer_commit(w, err);
        w = NULL;
    }
    if (w)
        dtcl_dataset_writer_abort(w);
    for (size_t r = 0; r < n; r++) {
        free(it[r].file);
        free(it[r].patient);
    }
    free(it);
    free(pn);
    free(lo);
    free(hi);
    pattern_free(&pat);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    st->seconds = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    return rc;
}
