/* dataset.c: dataset folders, read and written (see dataset.h). */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include "data/dataset.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomicfile.h"

const char *const dtcl_split_names[DTCL_NSPLITS] = {"train", "val", "test0", "test1", "test2"};

/* ---- reading */


typedef struct {
    const char **keys;
    int64_t i;
} KeyIndex;

static int cmp_key(const void *a, const void *b)
{
    const KeyIndex *x = a, *y = b;
    int c = strcmp(x->keys[x->i], y->keys[y->i]);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Sorts group numbers (in .i) by their first image index. */
static const int64_t *group_first; /* set only during the sort below */
static int cmp_group_first(const void *a, const void *b)
{
    int64_t x = group_first[((const KeyIndex *)a)->i], y = group_first[((const KeyIndex *)b)->i];
    return (x > y) - (x < y);
}

static void qsort_r_groups(KeyIndex *groups, int n, const int64_t *first)
{
    group_first = first;
    qsort(groups, (size_t)n, sizeof *groups, cmp_group_first);
    group_first = NULL;
}

/* Index of key in sorted[], or -1. */
static int64_t find_key(const KeyIndex *sorted, int64_t n, const char *key)
{
    int64_t lo = 0, hi = n - 1;
    while (lo <= hi) {
        int64_t mid = (lo + hi) / 2;
        int c = strcmp(sorted[mid].keys[sorted[mid].i], key);
        if (c == 0)
            return sorted[mid].i;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static int map_images(DtclDataset *ds, const char *path, DtclError *err)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return dtcl_fail(err, "%s: cannot open: %s (a dataset folder holds images.npy, meta.csv and "
                              "optionally split.csv)", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        close(fd);
        return dtcl_fail(err, "%s: empty or unreadable", path);
    }
    ds->map_len = (size_t)st.st_size;
    ds->map = mmap(NULL, ds->map_len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (ds->map == MAP_FAILED) {
        ds->map = NULL;
        return dtcl_fail(err, "%s: cannot map: %s", path, strerror(errno));
    }
    /* batches are drawn at random: no readahead around each image */
    madvise(ds->map, ds->map_len, MADV_RANDOM);
    if (dtcl_npy_parse_header(ds->map, ds->map_len, &ds->info, err) != 0)
        return dtcl_fail_prefix(err, path);
    char shp[96];
    dtcl_npy_shape_str(&ds->info, shp, sizeof shp);
    if (ds->info.rank != 3 || ds->info.shape[1] != ds->info.shape[2] || ds->info.shape[1] < 2)
        return dtcl_fail(err, "%s: shape %s; expected (N, S, S) square images", path, shp);
    if (ds->info.type == DTCL_NPY_F64)
        return dtcl_fail(err, "%s: float64 images; expected float32, uint8 or uint16 (convert with "
                              "numpy's astype('float32'))", path);
    if (ds->info.fortran_order)
        return dtcl_fail(err, "%s: Fortran order; expected C order (save numpy.ascontiguousarray(x))", path);
    ds->n = ds->info.shape[0];
    ds->size = (int)ds->info.shape[1];
    ds->pixels = (const unsigned char *)ds->map + ds->info.data_offset;
    return 0;
}

static int read_meta(DtclDataset *ds, const char *path, DtclError *err)
{
    if (dtcl_csv_load(path, &ds->meta, err) != 0)
        return -1;
    int ci = dtcl_csv_column(&ds->meta, "id"), cp = dtcl_csv_column(&ds->meta, "patient"),
        cl = dtcl_csv_column(&ds->meta, "label");
    if (ci < 0 || cp < 0 || cl < 0)
        return dtcl_fail(err, "%s: the header lacks %s (expected id,patient,label)", path,
                         ci < 0 ? "'id'" : cp < 0 ? "'patient'" : "'label'");
    if ((int64_t)ds->meta.nrows != ds->n)
        return dtcl_fail(err, "%s: %zu rows, but images.npy holds %lld images (one row per image, in order)", path,
                         ds->meta.nrows, (long long)ds->n);
    ds->id = DTCL_MALLOC(sizeof(char *) * (size_t)(ds->n + 1));
    ds->patient = DTCL_MALLOC(sizeof(char *) * (size_t)(ds->n + 1));
    ds->label = DTCL_MALLOC((size_t)ds->n + 1);
    for (int64_t r = 0; r < ds->n; r++) {
        ds->id[r] = dtcl_csv_cell(&ds->meta, r, ci);
        ds->patient[r] = dtcl_csv_cell(&ds->meta, r, cp);
        const char *l = dtcl_csv_cell(&ds->meta, r, cl);
        if (!ds->id[r][0])
            return dtcl_fail(err, "%s: line %zu: empty id", path, ds->meta.line[r + 1]);
        if (!ds->patient[r][0])
            return dtcl_fail(err, "%s: line %zu: empty patient (use the image id for unrelated images)", path,
                             ds->meta.line[r + 1]);
        if (strcmp(l, "0") == 0)
            ds->label[r] = 0;
        else if (strcmp(l, "1") == 0)
            ds->label[r] = 1;
        else if (!l[0])
            ds->label[r] = -1;
        else
            return dtcl_fail(err, "%s: line %zu: label '%s' (expected 0, 1, or empty when unknown)", path,
                             ds->meta.line[r + 1], l);
    }
    /* unique ids */
    KeyIndex *k = DTCL_MALLOC(sizeof(KeyIndex) * (size_t)(ds->n + 1));
    for (int64_t r = 0; r < ds->n; r++)
        k[r] = (KeyIndex){ds->id, r};
    qsort(k, (size_t)ds->n, sizeof *k, cmp_key);
    for (int64_t r = 1; r < ds->n; r++)
        if (strcmp(ds->id[k[r].i], ds->id[k[r - 1].i]) == 0) {
            int rc = dtcl_fail(err, "%s: id '%s' appears twice (lines %zu and %zu); ids must be unique", path,
                               ds->id[k[r].i], ds->meta.line[k[r - 1].i + 1], ds->meta.line[k[r].i + 1]);
            free(k);
            return rc;
        }
    free(k);
    /* patients, numbered in order of first appearance */
    KeyIndex *p = DTCL_MALLOC(sizeof(KeyIndex) * (size_t)(ds->n + 1));
    for (int64_t r = 0; r < ds->n; r++)
        p[r] = (KeyIndex){ds->patient, r};
    qsort(p, (size_t)ds->n, sizeof *p, cmp_key);
    ds->patient_of = DTCL_MALLOC(sizeof(int) * (size_t)(ds->n + 1));
    int *first_of_group = DTCL_MALLOC(sizeof(int) * (size_t)(ds->n + 1));
    int64_t g = -1;
    for (int64_t r = 0; r < ds->n; r++) {
        if (r == 0 || strcmp(ds->patient[p[r].i], ds->patient[p[r - 1].i]) != 0)
            first_of_group[++g] = (int)p[r].i; /* smallest index: sorted by (key, index) */
        ds->patient_of[p[r].i] = (int)g;
    }
    /* renumber groups by first appearance: sort the groups by their first image */
    int ng = (int)(g + 1);
    KeyIndex *firsts = DTCL_MALLOC(sizeof(KeyIndex) * (size_t)(ng + 1));
    int64_t *first_index = DTCL_MALLOC(sizeof(int64_t) * (size_t)(ng + 1));
    int *rank = DTCL_MALLOC(sizeof(int) * (size_t)(ng + 1));
    for (int i = 0; i < ng; i++)
        first_index[i] = first_of_group[i];
    for (int i = 0; i < ng; i++)
        firsts[i] = (KeyIndex){NULL, i};
    qsort_r_groups(firsts, ng, first_index);
    for (int i = 0; i < ng; i++)
        rank[firsts[i].i] = i;
    for (int64_t r = 0; r < ds->n; r++)
        ds->patient_of[r] = rank[ds->patient_of[r]];
    ds->npatients = ng;
    free(p);
    free(first_of_group);
    free(firsts);
    free(first_index);
    free(rank);
    return 0;
}

static int read_split(DtclDataset *ds, const char *path, DtclError *err)
{
    DtclCsv s;
    if (dtcl_csv_load(path, &s, err) != 0)
        return -1;
    int ci = dtcl_csv_column(&s, "id"), cs = dtcl_csv_column(&s, "split"), cl = dtcl_csv_column(&s, "labelled");
    if (ci < 0 || cs < 0) {
        dtcl_csv_free(&s);
        return dtcl_fail(err, "%s: the header lacks %s (expected id,split[,labelled])", path, ci < 0 ? "'id'" : "'split'");
    }
    ds->split = DTCL_MALLOC((size_t)ds->n + 1);
    ds->labelled = DTCL_CALLOC((size_t)ds->n + 1, 1);
    memset(ds->split, DTCL_SPLIT_NONE, (size_t)ds->n + 1);
    KeyIndex *k = DTCL_MALLOC(sizeof(KeyIndex) * (size_t)(ds->n + 1));
    for (int64_t r = 0; r < ds->n; r++)
        k[r] = (KeyIndex){ds->id, r};
    qsort(k, (size_t)ds->n, sizeof *k, cmp_key);
    int rc = 0;
    for (size_t r = 0; r < s.nrows && rc == 0; r++) {
        const char *id = dtcl_csv_cell(&s, r, ci), *sp = dtcl_csv_cell(&s, r, cs);
        int64_t i = find_key(k, ds->n, id);
        int which = -1;
        for (int q = 0; q < DTCL_NSPLITS; q++)
            if (strcmp(sp, dtcl_split_names[q]) == 0)
                which = q;
        if (i < 0)
            rc = dtcl_fail(err, "%s: line %zu: id '%s' is not in meta.csv", path, s.line[r + 1], id);
        else if (which < 0)
            rc = dtcl_fail(err, "%s: line %zu: split '%s' (expected train, val, test0, test1 or test2)", path,
                           s.line[r + 1], sp);
        else if (ds->split[i] != DTCL_SPLIT_NONE)
            rc = dtcl_fail(err, "%s: line %zu: id '%s' is assigned twice", path, s.line[r + 1], id);
        else {
            ds->split[i] = (int8_t)which;
            if (cl >= 0) {
                const char *l = dtcl_csv_cell(&s, r, cl);
                if (strcmp(l, "1") == 0 && which == DTCL_SPLIT_TRAIN && ds->label[i] >= 0)
                    ds->labelled[i] = 1;
                else if (strcmp(l, "1") == 0)
                    rc = dtcl_fail(err, "%s: line %zu: labelled=1 for '%s', which is %s (only train images with a "
                                        "known label may be labelled)", path, s.line[r + 1], id,
                                   which != DTCL_SPLIT_TRAIN ? "not in train" : "unlabelled in meta.csv");
                else if (strcmp(l, "0") != 0 && l[0])
                    rc = dtcl_fail(err, "%s: line %zu: labelled '%s' (expected 0 or 1)", path, s.line[r + 1], l);
            }
        }
    }
    free(k);
    dtcl_csv_free(&s);
    ds->has_split = rc == 0;
    return rc;
}

int dtcl_dataset_open(DtclDataset *ds, const char *dir, DtclError *err)
{
    memset(ds, 0, sizeof *ds);
    ds->dir = strdup(dir);
    char path[4096];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        dtcl_dataset_close(ds);
        return dtcl_fail(err, "%s: not a folder (a dataset is a folder with images.npy and meta.csv)", dir);
    }
    snprintf(path, sizeof path, "%s/images.npy", dir);
    if (map_images(ds, path, err) != 0) {
        dtcl_dataset_close(ds);
        return -1;
    }
    snprintf(path, sizeof path, "%s/meta.csv", dir);
    if (read_meta(ds, path, err) != 0) {
        dtcl_dataset_close(ds);
        return -1;
    }
    snprintf(path, sizeof path, "%s/split.csv", dir);
    if (stat(path, &st) == 0 && read_split(ds, path, err) != 0) {
        dtcl_dataset_close(ds);
        return -1;
    }
    return 0;
}

void dtcl_dataset_close(DtclDataset *ds)
{
    if (ds->map)
        munmap(ds->map, ds->map_len);
    dtcl_csv_free(&ds->meta);
    free(ds->dir);
    free(ds->id);
    free(ds->patient);
    free(ds->label);
    free(ds->patient_of);
    free(ds->split);
    free(ds->labelled);
    memset(ds, 0, sizeof *ds);
}

void dtcl_dataset_load(const DtclDataset *ds, float *out, const int64_t *index, int n)
{
    size_t SS = (size_t)ds->size * ds->size;
    for (int b = 0; b < n; b++) {
        float *o = out + (size_t)b * SS;
        size_t base = (size_t)index[b] * SS;
        const DtclNpyInfo *in = &ds->info;
        if (in->type == DTCL_NPY_F32 && !in->big_endian) {
            memcpy(o, ds->pixels + base * 4, SS * 4);
        } else if (in->type == DTCL_NPY_U8) {
            for (size_t q = 0; q < SS; q++)
                o[q] = ds->pixels[base + q] / 255.0f;
        } else {
            for (size_t q = 0; q < SS; q++) {
                const unsigned char *p = ds->pixels + (base + q) * (in->type == DTCL_NPY_U16 ? 2 : 4);
                if (in->type == DTCL_NPY_U16) {
                    uint16_t v;
                    memcpy(&v, p, 2);
                    if (in->big_endian)
                        v = __builtin_bswap16(v);
                    o[q] = v / 65535.0f;
                } else {
                    uint32_t v;
                    memcpy(&v, p, 4);
                    v = __builtin_bswap32(v);
                    memcpy(&o[q], &v, 4);
                }
            }
        }
    }
}

void dtcl_dataset_print_info(const DtclDataset *ds, FILE *f)
{
    int64_t pos = 0, neg = 0, unk = 0;
    for (int64_t i = 0; i < ds->n; i++)
        ds->label[i] == 1 ? pos++ : ds->label[i] == 0 ? neg++ : unk++;
    fprintf(f, "dataset    %s\n", ds->dir);
    fprintf(f, "images     %lld x %d x %d, %s, %.1f MB\n", (long long)ds->n, ds->size, ds->size,
            dtcl_npy_type_name(ds->info.type), ds->map_len / 1e6);
    fprintf(f, "labels     %lld positive (%.1f%%), %lld negative, %lld unknown\n", (long long)pos,
            pos + neg ? 100.0 * pos / (pos + neg) : 0.0, (long long)neg, (long long)unk);
    int *count = DTCL_CALLOC((size_t)ds->npatients + 1, sizeof(int));
    for (int64_t i = 0; i < ds->n; i++)
        count[ds->patient_of[i]]++;
    int mn = ds->n ? (int)ds->n : 0, mx = 0;
    for (int p = 0; p < ds->npatients; p++) {
        mn = count[p] < mn ? count[p] : mn;
        mx = count[p] > mx ? count[p] : mx;
    }
    fprintf(f, "patients   %d (%d to %d images each)\n", ds->npatients, ds->npatients ? mn : 0, mx);
    if (!ds->has_split) {
        fprintf(f, "split      none (split.csv absent: training draws one from its seed; see dtcl split)\n");
        free(count);
        return;
    }
    int64_t sn[DTCL_NSPLITS + 1] = {0}, sp[DTCL_NSPLITS + 1] = {0}, lab = 0;
    int8_t *where = DTCL_MALLOC((size_t)ds->npatients + 1);
    memset(where, -2, (size_t)ds->npatients + 1);
    int crossing = 0;
    for (int64_t i = 0; i < ds->n; i++) {
        int s = ds->split[i] < 0 ? DTCL_NSPLITS : ds->split[i];
        sn[s]++;
        sp[s] += ds->label[i] == 1;
        lab += ds->labelled[i];
        int p = ds->patient_of[i];
        if (where[p] == -2)
            where[p] = (int8_t)s;
        else if (where[p] != s && where[p] != -3) {
            where[p] = -3;
            crossing++;
        }
    }
    fprintf(f, "split     ");
    for (int s = 0; s < DTCL_NSPLITS; s++)
        fprintf(f, " %s %lld (%.0f%% positive);", dtcl_split_names[s], (long long)sn[s], sn[s] ? 100.0 * sp[s] / sn[s] : 0.0);
    fprintf(f, " unassigned %lld\n", (long long)sn[DTCL_NSPLITS]);
    fprintf(f, "labelled   %lld train images (%.1f%% of train) may show their label to training\n", (long long)lab,
            sn[0] ? 100.0 * lab / sn[0] : 0.0);
    fprintf(f, "patients   %s\n", crossing ? "NOT disjoint across splits" : "disjoint across splits");
    if (crossing)
        fprintf(f, "warning    %d patient(s) have images in more than one split\n", crossing);
    free(where);
    free(count);
}

/* ---- writing */

struct DtclDatasetWriter {
    char *dir, *tmp;
    int size, force, nextra;
    DtclNpyWriter *images, *masks;
    DtclOutFile meta;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int dtcl_remove_tree(const char *path) { return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

DtclDatasetWriter *dtcl_dataset_writer_open(const char *dir, int size, int force, const char *const *extra,
                                            int nextra, DtclError *err)
{
    struct stat st;
    if (stat(dir, &st) == 0 && !force) {
        dtcl_fail(err, "%s already exists (give --force to replace it; nothing was written)", dir);
        return NULL;
    }
    DtclDatasetWriter *w = DTCL_CALLOC(1, sizeof *w);
    w->dir = strdup(dir);
    size_t n = strlen(dir);
    while (n > 1 && w->dir[n - 1] == '/')
        w->dir[--n] = 0;
    w->tmp = DTCL_MALLOC(n + 16);
    snprintf(w->tmp, n + 16, "%s.tmp.XXXXXX", w->dir);
    if (!mkdtemp(w->tmp)) {
        dtcl_fail(err, "%s: cannot create a folder beside it: %s", dir, strerror(errno));
        free(w->dir);
        free(w->tmp);
        free(w);
        return NULL;
    }
    w->size = size;
    w->force = force;
    w->nextra = nextra;
    char path[4200];
    snprintf(path, sizeof path, "%s/images.npy", w->tmp);
    w->images = dtcl_npy_writer_open(path, size, size, err);
    snprintf(path, sizeof path, "%s/meta.csv", w->tmp);
    if (!w->images || dtcl_out_open(&w->meta, path, err) != 0) {
        dtcl_dataset_writer_abort(w);
        return NULL;
    }
    fputs("id,patient,label", w->meta.f);
    for (int e = 0; e < nextra; e++) {
        fputc(',', w->meta.f);
        dtcl_csv_write_field(w->meta.f, extra[e]);
    }
    fputc('\n', w->meta.f);
    return w;
}

int dtcl_dataset_writer_add(DtclDatasetWriter *w, const float *image, const char *id, const char *patient,
                            int label, const char *const *extra_values, DtclError *err)
{
    if (dtcl_npy_writer_append(w->images, image, err) != 0)
        return -1;
    dtcl_csv_write_field(w->meta.f, id);
    fputc(',', w->meta.f);
    dtcl_csv_write_field(w->meta.f, patient);
    fprintf(w->meta.f, label < 0 ? "," : ",%d", label);
    for (int e = 0; e < w->nextra; e++) {
        fputc(',', w->meta.f);
        dtcl_csv_write_field(w->meta.f, extra_values[e]);
    }
    fputc('\n', w->meta.f);
    return 0;
}

int dtcl_dataset_writer_add_mask(DtclDatasetWriter *w, const float *mask, DtclError *err)
{
    int64_t n = dtcl_npy_writer_count(w->images), nm = w->masks ? dtcl_npy_writer_count(w->masks) : 0;
    if (nm != n - 1)
        return dtcl_fail(err, "%s: mask %lld given for image %lld; expected one mask after each image", w->dir,
                         (long long)nm, (long long)(n - 1));
    if (!w->masks) {
        char path[4200];
        snprintf(path, sizeof path, "%s/masks.npy", w->tmp);
        if (!(w->masks = dtcl_npy_writer_open(path, w->size, w->size, err)))
            return -1;
    }
    return dtcl_npy_writer_append(w->masks, mask, err);
}

int64_t dtcl_dataset_writer_count(const DtclDatasetWriter *w) { return dtcl_npy_writer_count(w->images); }

const char *dtcl_dataset_writer_tmpdir(const DtclDatasetWriter *w) { return w->tmp; }

int dtcl_dataset_writer_commit(DtclDatasetWriter *w, DtclError *err)
{
    int rc = 0;
    if (w->masks && dtcl_npy_writer_count(w->masks) != dtcl_npy_writer_count(w->images))
        rc = dtcl_fail(err, "%s: %lld masks for %lld images", w->dir, (long long)dtcl_npy_writer_count(w->masks),
                       (long long)dtcl_npy_writer_count(w->images));
    if (rc == 0 && w->masks)
        rc = dtcl_npy_writer_close(w->masks, err);
    w->masks = NULL;
    if (rc == 0)
        rc = dtcl_npy_writer_close(w->images, err);
    else
        dtcl_npy_writer_abort(w->images);
    w->images = NULL;
    if (rc == 0)
        rc = dtcl_out_commit(&w->meta, err);
    struct stat st;
    char *old = NULL;
    if (rc == 0 && stat(w->dir, &st) == 0) {
        if (!w->force)
            rc = dtcl_fail(err, "%s appeared while importing; not replaced (give --force)", w->dir);
        else {
            size_t n = strlen(w->dir) + 16;
            old = DTCL_MALLOC(n);
            snprintf(old, n, "%s.old.%ld", w->dir, (long)getpid());
            if (rename(w->dir, old) != 0)
                rc = dtcl_fail(err, "%s: cannot move the existing folder aside: %s", w->dir, strerror(errno));
        }
    }
    if (rc == 0 && rename(w->tmp, w->dir) != 0)
        rc = dtcl_fail(err, "%s: cannot rename %s onto it: %s", w->dir, w->tmp, strerror(errno));
    if (rc != 0) {
        if (old)
            rename(old, w->dir);
        dtcl_dataset_writer_abort(w);
        free(old);
        return -1;
    }
    if (old)
        dtcl_remove_tree(old);
    free(old);
    free(w->dir);
    free(w->tmp);
    free(w);
    return 0;
}

void dtcl_dataset_writer_abort(DtclDatasetWriter *w)
{
    if (!w)
        return;
    dtcl_npy_writer_abort(w->images);
    dtcl_npy_writer_abort(w->masks);
    if (w->meta.f)
        dtcl_out_abort(&w->meta);
    dtcl_remove_tree(w->tmp);
    free(w->dir);
    free(w->tmp);
    free(w);
}
