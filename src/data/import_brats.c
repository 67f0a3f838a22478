/* import_brats.c: BraTS volumes to a dataset of axial slices (paper section
 * 2.3; SPEC section 5). ROOT holds one folder per patient, as the BraTS
 * releases lay them out:
 *   2018-2021  <id>/<id>_{flair,t1,t1ce,t2,seg}.nii[.gz]
 *   2023       <id>/<id>-{t2f,t1n,t1c,t2w,seg}.nii[.gz]
 * For each patient: the chosen modality and the segmentation, of the same
 * dimensions and orientation; per-volume min-max scaling; each axial slice
 * (radiological orientation, nifti.h) kept unless at least black_max of its
 * pixels equal the volume's minimum (judged on the original slice); label 1
 * when the segmentation slice has any voxel > 0; the slice padded to a square
 * and resized (anti-aliased) to S x S. meta.csv gets source (the modality
 * file, relative to ROOT) and slice (the axial index in the volume); masks.npy
 * the tumour's share of each pixel (segmentation > 0, resized alike). */
#define _POSIX_C_SOURCE 200809L
#include "data/import.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/clock.h"
#include "data/dataset.h"
#include "io/nifti.h"
#include "data/resize.h"

volatile int dtcl_import_interrupted = 0;

void dtcl_square_resize(float *out, int S, const float *in, int rows, int cols, float fill)
{
    int n = rows > cols ? rows : cols;
    if (n == rows && n == cols) {
        dtcl_resize(out, S, S, in, rows, cols);
        return;
    }
    float *sq = DTCL_MALLOC(sizeof(float) * (size_t)n * n);
    for (size_t q = 0; q < (size_t)n * n; q++)
        sq[q] = fill;
    int r0 = (n - rows) / 2, c0 = (n - cols) / 2;
    for (int r = 0; r < rows; r++)
        memcpy(sq + (size_t)(r0 + r) * n + c0, in + (size_t)r * cols, sizeof(float) * cols);
    dtcl_resize(out, S, S, sq, n, n);
    free(sq);
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names of the entries of dir (files if want_dirs is 0, folders if 1). */
static char **list_dir(const char *dir, int want_dirs, int *count)
{
    DIR *d = opendir(dir);
    *count = 0;
    if (!d)
        return NULL;
    int cap = 64;
    char **names = DTCL_MALLOC(sizeof(char *) * cap);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[8192];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || (want_dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
            continue;
        if (*count == cap) {
            cap *= 2;
            names = realloc(names, sizeof(char *) * cap);
            if (!names)
                exit(1);
        }
        names[(*count)++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)*count, sizeof(char *), cmp_names);
    return names;
}

static void free_list(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The file of `what' (a modality, or "seg") among files: NULL if none; err on two. */
static const char *find_file(char **files, int nfiles, const char *what, const char *folder, DtclError *err, int *ambiguous)
{
    static const char *names2023[][2] = {{"flair", "t2f"}, {"t1", "t1n"}, {"t1ce", "t1c"}, {"t2", "t2w"}, {"seg", "seg"}};
    const char *alt = what;
    for (size_t i = 0; i < sizeof names2023 / sizeof *names2023; i++)
        if (strcmp(what, names2023[i][0]) == 0)
            alt = names2023[i][1];
    char suf[4][32];
    snprintf(suf[0], 32, "_%s.nii.gz", what);
    snprintf(suf[1], 32, "_%s.nii", what);
    snprintf(suf[2], 32, "-%s.nii.gz", alt);
    snprintf(suf[3], 32, "-%s.nii", alt);
    const char *found = NULL;
    *ambiguous = 0;
    for (int f = 0; f < nfiles; f++)
        for (int k = 0; k < 4; k++)
            if (ends_with(files[f], suf[k])) {
                if (found && found != files[f]) {
                    dtcl_fail(err, "%s: two files could be the %s volume: %s and %s", folder, what, found, files[f]);
                    *ambiguous = 1;
                    return NULL;
                }
                found = files[f];
            }
    return found;
}

static int has_nifti(char **files, int n)
{
    for (int f = 0; f < n; f++)
        if (ends_with(files[f], ".nii") || ends_with(files[f], ".nii.gz"))
            return 1;
    return 0;
}

/* One patient folder into the writer. */
static int import_patient(DtclDatasetWriter *w, const char *pid, const char *folder,
                          char **files, int nfiles, const DtclBratsOptions *o, DtclImportStats *st, DtclError *err)
{
    int amb;
    const char *mod = find_file(files, nfiles, o->modality, folder, err, &amb);
    if (amb)
        return -1;
    if (!mod)
        return dtcl_fail(err, "%s: no %s volume (expected %s_%s.nii[.gz], or the BraTS 2023 name)", folder,
                         o->modality, pid, o->modality);
    const char *seg = find_file(files, nfiles, "seg", folder, err, &amb);
    if (amb)
        return -1;
    if (!seg)
        return dtcl_fail(err, "%s: no segmentation (expected %s_seg.nii[.gz] or %s-seg.nii[.gz]; the labels come "
                              "from it)", folder, pid, pid);
    char mpath[16640], spath[16640]; /* folder (8192) + / + name (8192) */
    snprintf(mpath, sizeof mpath, "%s/%s", folder, mod);
    snprintf(spath, sizeof spath, "%s/%s", folder, seg);
    DtclVolume vm, vs;
    if (dtcl_nifti_load(mpath, &vm, err) != 0)
        return -1;
    if (dtcl_nifti_load(spath, &vs, err) != 0) {
        dtcl_volume_free(&vm);
        return -1;
    }
    int rc = 0;
    if (vm.dim[0] != vs.dim[0] || vm.dim[1] != vs.dim[1] || vm.dim[2] != vs.dim[2])
        rc = dtcl_fail(err, "%s is %lldx%lldx%lld but %s is %lldx%lldx%lld; expected the same dimensions", mpath,
                       (long long)vm.dim[0], (long long)vm.dim[1], (long long)vm.dim[2], spath, (long long)vs.dim[0],
                       (long long)vs.dim[1], (long long)vs.dim[2]);
    else if (strcmp(vm.orientation, vs.orientation) != 0)
        rc = dtcl_fail(err, "%s is oriented %s but %s is %s; expected the same orientation", mpath, vm.orientation,
                       spath, vs.orientation);
    if (rc != 0) {
        dtcl_volume_free(&vm);
        dtcl_volume_free(&vs);
        return -1;
    }
    size_t nvox = (size_t)(vm.dim[0] * vm.dim[1] * vm.dim[2]);
    float lo = vm.data[0], hi = vm.data[0];
    for (size_t i = 1; i < nvox; i++) {
        lo = vm.data[i] < lo ? vm.data[i] : lo;
        hi = vm.data[i] > hi ? vm.data[i] : hi;
    }
    int64_t nz = dtcl_volume_nslices(&vm);
    int rows, cols;
    size_t plane = (size_t)(nvox / (size_t)nz);
    float *sl = DTCL_MALLOC(sizeof(float) * plane), *sg = DTCL_MALLOC(sizeof(float) * plane);
    float *img = DTCL_MALLOC(sizeof(float) * (size_t)o->size * o->size);
    float *msk = DTCL_MALLOC(sizeof(float) * (size_t)o->size * o->size);
    char source[8192];
    snprintf(source, sizeof source, "%s/%s", pid, mod);
    for (int64_t z = 0; z < nz && rc == 0; z++) {
        st->slices_read++;
        dtcl_volume_slice(&vm, z, sl, &rows, &cols);
        size_t npx = (size_t)rows * cols, black = 0;
        for (size_t q = 0; q < npx; q++)
            black += sl[q] == lo;
        if (hi == lo || (double)black >= o->black_max * (double)npx)
            continue;
        dtcl_volume_slice(&vs, z, sg, &rows, &cols);
        int label = 0;
        for (size_t q = 0; q < npx; q++) {
            label |= sg[q] > 0;
            sg[q] = sg[q] > 0;
        }
        float scale = 1.0f / (hi - lo);
        for (size_t q = 0; q < npx; q++)
            sl[q] = (sl[q] - lo) * scale;
        dtcl_square_resize(img, o->size, sl, rows, cols, 0.0f);
        char id[4096], zs[32];
        snprintf(id, sizeof id, "%s_s%03lld", pid, (long long)z);
        snprintf(zs, sizeof zs, "%lld", (long long)z);
        const char *extra[2] = {source, zs};
        dtcl_square_resize(msk, o->size, sg, rows, cols, 0.0f);
        rc = dtcl_dataset_writer_add(w, img, id, pid, label, extra, err);
        if (rc == 0)
            rc = dtcl_dataset_writer_add_mask(w, msk, err);
        st->kept++;
        st->positive += label;
    }
    free(sl);
    free(sg);
    free(img);
    free(msk);
    dtcl_volume_free(&vm);
    dtcl_volume_free(&vs);
    return rc;
}

int dtcl_import_brats(const char *root, const char *out, const DtclBratsOptions *o, DtclImportStats *st,
                      DtclError *err)
{
    memset(st, 0, sizeof *st);
    double t0 = dtcl_now_s();
    static const char *mods[] = {"flair", "t1", "t1ce", "t2"};
    int ok = 0;
    for (size_t m = 0; m < 4; m++)
        ok |= strcmp(o->modality, mods[m]) == 0;
    if (!ok)
        return dtcl_fail(err, "modality '%s' (expected flair, t1, t1ce or t2)", o->modality);
    struct stat sst;
    if (stat(root, &sst) != 0 || !S_ISDIR(sst.st_mode))
        return dtcl_fail(err, "%s: not a folder (expected the BraTS folder holding one folder per patient)", root);
    /* the patients: sub-folders holding NIfTI files; ROOT itself when it holds them */
    int nfolders, nfiles;
    char **folders = list_dir(root, 1, &nfolders);
    char **rootfiles = list_dir(root, 0, &nfiles);
    int single = has_nifti(rootfiles, nfiles);
    free_list(rootfiles, nfiles);
    int npat = single ? 1 : nfolders;
    if (npat == 0) {
        free_list(folders, nfolders);
        return dtcl_fail(err, "%s: no patient folders (expected <id>/<id>_%s.nii.gz and <id>/<id>_seg.nii.gz)", root,
                         o->modality);
    }
    static const char *extra[2] = {"source", "slice"};
    DtclDatasetWriter *w = dtcl_dataset_writer_open(out, o->size, o->force, extra, 2, err);
    if (!w) {
        free_list(folders, nfolders);
        return -1;
    }
    int rc = 0;
    for (int p = 0; p < npat && rc == 0; p++) {
        char folder[8192];
        const char *pid;
        if (single) {
            snprintf(folder, sizeof folder, "%s", root);
            pid = strrchr(root, '/') ? strrchr(root, '/') + 1 : root;
        } else {
            snprintf(folder, sizeof folder, "%s/%s", root, folders[p]);
            pid = folders[p];
        }
        int nf;
        char **files = list_dir(folder, 0, &nf);
        if (!has_nifti(files, nf)) { /* not a patient folder */
            free_list(files, nf);
            continue;
        }
        rc = import_patient(w, pid, folder, files, nf, o, st, err);
        free_list(files, nf);
        st->patients++;
        if (o->progress)
            dtcl_progress_update(o->progress, (double)(p + 1) / npat, 0, "patient %d/%d %s: %lld slices kept of %lld",
                                 p + 1, npat, pid, (long long)st->kept, (long long)st->slices_read);
        if (dtcl_import_interrupted)
            rc = dtcl_fail(err, "interrupted; nothing was written to %s", out);
    }
    free_list(folders, nfolders);
    if (rc == 0 && st->patients == 0)
        rc = dtcl_fail(err, "%s: no folder holds NIfTI files (expected one folder per patient)", root);
    if (rc == 0 && st->kept == 0)
        rc = dtcl_fail(err, "%s: every slice was dropped as black (--black-max %.2f)", root, o->black_max);
    if (rc != 0) {
        dtcl_dataset_writer_abort(w);
        return -1;
    }
    rc = dtcl_dataset_writer_commit(w, err);
    st->seconds = dtcl_now_s() - t0;
    return rc;
}
