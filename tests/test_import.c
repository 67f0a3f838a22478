/* test_import.c: the importers and the dataset folder.
 * - Synthetic NIfTI volumes written with niftilib in several orientations:
 *   slices come out anterior-to-posterior and right-to-left whatever the
 *   file's orientation; black slices are dropped; labels follow the
 *   segmentation; a 4-D volume, a file that is not NIfTI, a truncated
 *   .nii.gz, a missing modality or segmentation and mismatched dimensions are
 *   refused with the file named; an existing dataset is kept without --force.
 * - Real BraTS 2018 cases (skipped when $DTCL_REALDATA is absent): every kept
 *   slice and every label equal those derived independently in
 *   slice_labels.csv from the segmentation.
 * - Real NIH chest X-rays: 1000 images, labels and patient ids from labels.csv,
 *   the patients by a Python-style pattern ('^0*(\d+)_').
 * - Pictures with masks (TIFF written here): labels from the masks at their
 *   own resolution and --mask-min-pixels, masks.npy, --channel, the
 *   per-patient min-max scaling; a missing or mis-sized mask refused, naming
 *   it, nothing written; a pattern that does not compile names the position.
 * - Real LGG (3 patients of kaggle_3m, TIFF, one LZW-compressed): 71 slices,
 *   every label equal to slice_labels.csv's; Kermany chest X-rays (JPEG,
 *   labels.csv with image and patient_id columns): 300 of them.
 * - dataset validation: duplicate ids, bad labels, split ids not in meta.csv. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h> /* before niftilib, whose DT_UNKNOWN macro would break its enum */
#include <nifti2_io.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/csv.h"
#include "data/dataset.h"
#include "data/import.h"
#include "io/npy.h"
#include "io/pngio.h"
#include "testutil.h"

#include <math.h>
#include <tiffio.h>

static char tmp[256];

static int setup(void **state)
{
    (void)state;
    assert_int_equal(test_tmpdir(tmp, sizeof tmp, "import"), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return dtcl_remove_tree(tmp);
}

/* A volume nx x ny x nz (int16) whose voxel value encodes its position in
 * patient space: value = 1 + 100 * (anterior-to-posterior index) + (right-to-left index),
 * with the array axes mapped to patient axes by `perm` and `flip`. A slab of
 * slices at the inferior end is left black. */
static void write_volume(const char *path, int ax[3], int flip[3], int n[3], int seg)
{
    int64_t dims[8] = {3, n[0], n[1], n[2], 1, 1, 1, 1};
    nifti_image *nim = nifti_make_new_nim(dims, DT_INT16, 1);
    /* patient axis p of array axis a: 0 x (R->L uses -x in RAS), 1 y, 2 z */
    nifti_dmat44 m;
    memset(&m, 0, sizeof m);
    for (int a = 0; a < 3; a++)
        m.m[ax[a]][a] = flip[a] ? -1.0 : 1.0;
    m.m[3][3] = 1;
    nim->sform_code = NIFTI_XFORM_SCANNER_ANAT;
    nim->sto_xyz = m;
    nim->qform_code = 0;
    int16_t *d = nim->data;
    for (int k = 0; k < n[2]; k++)
        for (int j = 0; j < n[1]; j++)
            for (int i = 0; i < n[0]; i++) {
                int idx[3] = {i, j, k}, pos[3];
                for (int a = 0; a < 3; a++) /* position along RAS+ axis ax[a] */
                    pos[ax[a]] = flip[a] ? n[a] - 1 - idx[a] : idx[a];
                /* RAS: x grows to the Right... our value uses R->L and A->P indices */
                int rl = pos[0], ap = pos[1], is = pos[2];
                int nx = 0, ny = 0;
                for (int a = 0; a < 3; a++) {
                    if (ax[a] == 0) nx = n[a];
                    if (ax[a] == 1) ny = n[a];
                }
                int r2l = nx - 1 - rl, a2p = ny - 1 - ap;
                int16_t v = (int16_t)(is < 2 ? 0 : 1 + 100 * a2p + r2l);
                if (seg)
                    v = (int16_t)(is >= 4 && is <= 5 && a2p == 1 && r2l == 2 ? 2 : 0);
                d[(size_t)k * n[1] * n[0] + (size_t)j * n[0] + i] = v;
            }
    assert_int_equal(nifti_set_filenames(nim, path, 0, 1), 0);
    nifti_image_write(nim);
    nifti_image_free(nim);
}

static void make_patient(const char *root, const char *pid, int ax[3], int flip[3], int n[3])
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/%s", root, pid);
    mkdir(root, 0755);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/%s_flair.nii.gz", dir, pid);
    write_volume(path, ax, flip, n, 0);
    snprintf(path, sizeof path, "%s/%s_seg.nii.gz", dir, pid);
    write_volume(path, ax, flip, n, 1);
}

static void test_orientations(void **state)
{
    (void)state;
    /* RAS, LPS-like, and a permuted layout with the axial axis first */
    struct { int ax[3], flip[3], n[3]; } cases[] = {
        {{0, 1, 2}, {0, 0, 0}, {6, 5, 8}},
        {{0, 1, 2}, {1, 1, 0}, {6, 5, 8}},
        {{2, 0, 1}, {0, 1, 1}, {8, 6, 5}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char root[512], out[512];
        snprintf(root, sizeof root, "%s/orient%zu", tmp, c);
        snprintf(out, sizeof out, "%s/ds%zu", tmp, c);
        make_patient(root, "P1", cases[c].ax, cases[c].flip, cases[c].n);
        DtclBratsOptions o = {"flair", 6, 0.8, 0, 0};
        DtclImportStats st;
        DtclError err;
        if (dtcl_import_brats(root, out, &o, &st, &err) != 0)
            fail_msg("%s", err.msg);
        DtclDataset ds;
        if (dtcl_dataset_open(&ds, out, &err) != 0)
            fail_msg("%s", err.msg);
        printf("  layout %zu: %lld slices kept of %lld (2 black dropped), %lld positive\n", c, (long long)ds.n,
               (long long)st.slices_read, (long long)st.positive);
        assert_int_equal(ds.n, 6);  /* 8 axial slices, the 2 inferior ones black */
        assert_int_equal(st.positive, 2);
        /* slice 0 kept is is = 2 (inferior first when the axial axis runs I->S) */
        float img[36];
        int64_t i0 = 0;
        dtcl_dataset_load(&ds, img, &i0, 1);
        /* the volume is 6 (R-L) x 5 (A-P): padded to 6 x 6 (half a row of black
         * above and below: one row below), resized 6 -> 6: identity. Row r is
         * anterior-to-posterior, column c right-to-left: values grow with both. */
        int mono = 1;
        for (int r = 1; r < 5; r++)
            for (int cc = 1; cc < 6; cc++)
                mono &= img[r * 6 + cc] > img[r * 6 + cc - 1] && img[r * 6 + cc] > img[(r - 1) * 6 + cc];
        assert_true(mono);
        dtcl_dataset_close(&ds);
    }
}

static void expect_import_error(const char *root, const char *needle)
{
    char out[512];
    snprintf(out, sizeof out, "%s/bad-out", tmp);
    DtclBratsOptions o = {"flair", 8, 0.8, 0, 0};
    DtclImportStats st;
    DtclError err;
    assert_int_equal(dtcl_import_brats(root, out, &o, &st, &err), -1);
    printf("  rejected: %s\n", err.msg);
    assert_non_null(strstr(err.msg, needle));
    struct stat sb;
    assert_int_not_equal(stat(out, &sb), 0); /* nothing written */
}

static void test_bad_volumes(void **state)
{
    (void)state;
    int ax[3] = {0, 1, 2}, fl[3] = {0, 0, 0}, n[3] = {6, 5, 8};
    char root[512], path[700];
    /* missing segmentation */
    snprintf(root, sizeof root, "%s/noseg", tmp);
    make_patient(root, "P", ax, fl, n);
    snprintf(path, sizeof path, "%s/P/P_seg.nii.gz", root);
    unlink(path);
    expect_import_error(root, "no segmentation");
    /* missing modality */
    snprintf(root, sizeof root, "%s/nomod", tmp);
    make_patient(root, "P", ax, fl, n);
    snprintf(path, sizeof path, "%s/P/P_flair.nii.gz", root);
    unlink(path);
    expect_import_error(root, "no flair volume");
    /* different dimensions */
    snprintf(root, sizeof root, "%s/dims", tmp);
    make_patient(root, "P", ax, fl, n);
    int n2[3] = {6, 5, 7};
    snprintf(path, sizeof path, "%s/P/P_seg.nii.gz", root);
    write_volume(path, ax, fl, n2, 1);
    expect_import_error(root, "expected the same dimensions");
    /* not NIfTI */
    snprintf(root, sizeof root, "%s/notnifti", tmp);
    make_patient(root, "P", ax, fl, n);
    snprintf(path, sizeof path, "%s/P/P_flair.nii.gz", root);
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < 400; i++)
        fputc('x', f);
    fclose(f);
    expect_import_error(root, "not a NIfTI file");
    /* truncated .nii.gz: keep half of the compressed bytes */
    snprintf(root, sizeof root, "%s/trunc", tmp);
    make_patient(root, "P", ax, fl, n);
    snprintf(path, sizeof path, "%s/P/P_flair.nii.gz", root);
    struct stat sb;
    stat(path, &sb);
    assert_int_equal(truncate(path, sb.st_size / 2), 0);
    expect_import_error(root, "P_flair.nii.gz");
    /* a 4-D volume */
    snprintf(root, sizeof root, "%s/fourd", tmp);
    make_patient(root, "P", ax, fl, n);
    snprintf(path, sizeof path, "%s/P/P_flair.nii.gz", root);
    int64_t dims[8] = {4, 6, 5, 8, 3, 1, 1, 1};
    nifti_image *nim = nifti_make_new_nim(dims, DT_INT16, 1);
    nifti_set_filenames(nim, path, 0, 1);
    nifti_image_write(nim);
    nifti_image_free(nim);
    expect_import_error(root, "a 4-D volume (6x5x8x3); expected one 3-D volume");
}

static void test_existing_output_kept(void **state)
{
    (void)state;
    int ax[3] = {0, 1, 2}, fl[3] = {0, 0, 0}, n[3] = {6, 5, 8};
    char root[512], out[512], marker[600];
    snprintf(root, sizeof root, "%s/keep", tmp);
    snprintf(out, sizeof out, "%s/keep-out", tmp);
    make_patient(root, "P", ax, fl, n);
    mkdir(out, 0755);
    snprintf(marker, sizeof marker, "%s/mine.txt", out);
    FILE *f = fopen(marker, "w");
    fputs("precious", f);
    fclose(f);
    DtclBratsOptions o = {"flair", 8, 0.8, 0, 0};
    DtclImportStats st;
    DtclError err;
    assert_int_equal(dtcl_import_brats(root, out, &o, &st, &err), -1);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "--force"));
    struct stat sb;
    assert_int_equal(stat(marker, &sb), 0);
    o.force = 1;
    assert_int_equal(dtcl_import_brats(root, out, &o, &st, &err), 0);
    assert_int_not_equal(stat(marker, &sb), 0); /* replaced as a whole */
    DtclDataset ds;
    assert_int_equal(dtcl_dataset_open(&ds, out, &err), 0);
    dtcl_dataset_close(&ds);
}

/* BraTS 2023 names: <id>-t2f.nii.gz is the FLAIR, <id>-seg.nii.gz the segmentation;
 * uncompressed .nii is read too. */
static void test_brats2023_names(void **state)
{
    (void)state;
    int ax[3] = {0, 1, 2}, fl[3] = {1, 1, 0}, n[3] = {6, 5, 8};
    char root[512], dir[600], path[700], out[512];
    snprintf(root, sizeof root, "%s/b2023", tmp);
    snprintf(dir, sizeof dir, "%s/BraTS-GLI-00000-000", root);
    mkdir(root, 0755);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/BraTS-GLI-00000-000-t2f.nii.gz", dir);
    write_volume(path, ax, fl, n, 0);
    snprintf(path, sizeof path, "%s/BraTS-GLI-00000-000-seg.nii", dir);
    write_volume(path, ax, fl, n, 1);
    snprintf(path, sizeof path, "%s/BraTS-GLI-00000-000-t1n.nii.gz", dir);
    write_volume(path, ax, fl, n, 0);
    snprintf(out, sizeof out, "%s/b2023-out", tmp);
    DtclBratsOptions o = {"flair", 8, 0.8, 0, 0};
    DtclImportStats st;
    DtclError err;
    if (dtcl_import_brats(root, out, &o, &st, &err) != 0)
        fail_msg("%s", err.msg);
    printf("  BraTS 2023 names: %d patient, %lld slices kept, %lld positive\n", st.patients, (long long)st.kept,
           (long long)st.positive);
    assert_int_equal(st.kept, 6);
    assert_int_equal(st.positive, 2);
    DtclDataset ds;
    assert_int_equal(dtcl_dataset_open(&ds, out, &err), 0);
    int cs = dtcl_csv_column(&ds.meta, "source");
    assert_string_equal(dtcl_csv_cell(&ds.meta, 0, cs), "BraTS-GLI-00000-000/BraTS-GLI-00000-000-t2f.nii.gz");
    dtcl_dataset_close(&ds);
}

/* An interrupted import (the SIGINT handler sets the flag) removes its
 * temporary folder and writes nothing. */
static void test_interrupted_import(void **state)
{
    (void)state;
    int ax[3] = {0, 1, 2}, fl[3] = {0, 0, 0}, n[3] = {6, 5, 8};
    char root[512], out[512];
    snprintf(root, sizeof root, "%s/intr", tmp);
    snprintf(out, sizeof out, "%s/intr-out", tmp);
    make_patient(root, "P1", ax, fl, n);
    make_patient(root, "P2", ax, fl, n);
    dtcl_import_interrupted = 1;
    DtclBratsOptions o = {"flair", 8, 0.8, 0, 0};
    DtclImportStats st;
    DtclError err;
    assert_int_equal(dtcl_import_brats(root, out, &o, &st, &err), -1);
    dtcl_import_interrupted = 0;
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "interrupted"));
    DIR *d = opendir(tmp);
    struct dirent *e;
    while ((e = readdir(d)))
        assert_null(strstr(e->d_name, "intr-out")); /* neither the dataset nor its temporary folder */
    closedir(d);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_dataset_validation(void **state)
{
    (void)state;
    char dir[512], p[600];
    snprintf(dir, sizeof dir, "%s/val", tmp);
    mkdir(dir, 0755);
    float img[3 * 4 * 4] = {0};
    int64_t shape[3] = {3, 4, 4};
    DtclError err;
    snprintf(p, sizeof p, "%s/images.npy", dir);
    assert_int_equal(dtcl_npy_save(p, img, 3, shape, &err), 0);
    snprintf(p, sizeof p, "%s/meta.csv", dir);
    struct { const char *meta, *split, *needle; } cases[] = {
        {"id,patient,label\na,p,1\nb,p,0\na,q,1\n", NULL, "id 'a' appears twice (lines 2 and 4)"},
        {"id,patient,label\na,p,1\nb,p,2\nc,q,1\n", NULL, "line 3: label '2'"},
        {"id,patient,label\na,p,1\nb,p,0\n", NULL, "2 rows, but images.npy holds 3 images"},
        {"id,patient\na,p\nb,p\nc,q\n", NULL, "lacks 'label'"},
        {"id,patient,label\na,p,1\nb,p,0\nc,q,\n", "id,split\na,train\nz,test0\n", "line 3: id 'z' is not in meta.csv"},
        {"id,patient,label\na,p,1\nb,p,0\nc,q,\n", "id,split\na,training\n", "split 'training'"},
        {"id,patient,label\na,p,1\nb,p,0\nc,q,\n", "id,split,labelled\nc,train,1\n", "unlabelled in meta.csv"},
    };
    char sp[600];
    snprintf(sp, sizeof sp, "%s/split.csv", dir);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        write_text(p, cases[c].meta);
        unlink(sp);
        if (cases[c].split)
            write_text(sp, cases[c].split);
        DtclDataset ds;
        assert_int_equal(dtcl_dataset_open(&ds, dir, &err), -1);
        printf("  rejected: %s\n", err.msg);
        assert_non_null(strstr(err.msg, cases[c].needle));
    }
    write_text(p, "id,patient,label\na,p,1\nb,p,0\nc,q,\n");
    write_text(sp, "id,split,labelled\na,train,1\nb,val,0\nc,test0,\n");
    DtclDataset ds;
    if (dtcl_dataset_open(&ds, dir, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(ds.npatients, 2);
    assert_int_equal(ds.split[2], DTCL_SPLIT_TEST0);
    assert_int_equal(ds.labelled[0], 1);
    assert_int_equal(ds.label[2], -1);
    dtcl_dataset_close(&ds);
}

static void test_images_bad_input(void **state)
{
    (void)state;
    char dir[512], p[700], csv[600], out[600];
    snprintf(dir, sizeof dir, "%s/pngs", tmp);
    mkdir(dir, 0755);
    float img[12] = {0, 0.5f, 1, 0.25f, 0, 0.5f, 1, 0.25f, 0, 0.5f, 1, 0.25f};
    DtclError err;
    snprintf(p, sizeof p, "%s/a.png", dir);
    assert_int_equal(dtcl_png_save(p, img, 3, 4, 8, &err), 0); /* 3 x 4: padded to a square */
    snprintf(p, sizeof p, "%s/b.png", dir);
    assert_int_equal(dtcl_png_save(p, img, 3, 4, 16, &err), 0);
    snprintf(p, sizeof p, "%s/broken.png", dir);
    write_text(p, "\x89PNG\r\n\x1a\n not really");
    snprintf(csv, sizeof csv, "%s/labels.csv", tmp);
    snprintf(out, sizeof out, "%s/pngs-out", tmp);
    struct { const char *text, *regex, *needle; } cases[] = {
        {"file,label\na.png,1\nmissing.png,0\n", NULL, "line 3: file 'missing.png' is not in"},
        {"file,label\na.png,1\na.png,0\n", NULL, "file 'a.png' is listed twice (lines 2 and 3)"},
        {"file,label\na.png,yes\n", NULL, "line 2: label 'yes'"},
        {"file,label\na.png,1\nbroken.png,0\n", NULL, "broken.png: corrupt PNG"},
        {"name,label\na.png,1\n", NULL, "lacks a file column"},
        {"file,label\na.png,1\n", "^([0-9]+)_", "does not match 'a.png'"},
        {"file,label\na.png,1\n", "([", "--patient-regex '(['"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        write_text(csv, cases[c].text);
        DtclImagesOptions o = {.patient_regex = cases[c].regex, .size = 8, .channel = -1};
        DtclImportStats st;
        assert_int_equal(dtcl_import_images(dir, csv, out, &o, &st, &err), -1);
        printf("  rejected: %s\n", err.msg);
        assert_non_null(strstr(err.msg, cases[c].needle));
        struct stat sb;
        assert_int_not_equal(stat(out, &sb), 0);
    }
    write_text(csv, "file,label,patient\na.png,1,x\nb.png,,x\n");
    DtclImagesOptions o = {.size = 8, .channel = -1}; /* --normalise none: the stored values */
    DtclImportStats st;
    if (dtcl_import_images(dir, csv, out, &o, &st, &err) != 0)
        fail_msg("%s", err.msg);
    DtclDataset ds;
    assert_int_equal(dtcl_dataset_open(&ds, out, &err), 0);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.npatients, 1);
    assert_int_equal(ds.label[1], -1);
    float got[2 * 64];
    int64_t idx[2] = {0, 1};
    dtcl_dataset_load(&ds, got, idx, 2);
    /* 8- and 16-bit sources agree; the padding rows are black */
    double worst = 0;
    for (int q = 0; q < 64; q++)
        worst = fmax(worst, fabs(got[q] - got[64 + q]));
    printf("  8- vs 16-bit PNG after import: worst difference %.4f (< 1/255)\n", worst);
    assert_true(worst < 1.0 / 255);
    assert_true(got[0] == 0.0f);
    dtcl_dataset_close(&ds);
}

static const char *realdata(void)
{
    const char *r = getenv("DTCL_REALDATA");
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s", r ? r : "../shared/realdata");
    struct stat sb;
    return stat(buf, &sb) == 0 ? buf : NULL;
}

static void test_real_brats(void **state)
{
    (void)state;
    const char *rd = realdata();
    if (!rd)
        skip();
    char root[4200], out[512], labels[4200];
    snprintf(root, sizeof root, "%s/brats/brainy-brats2018", rd);
    snprintf(labels, sizeof labels, "%s/brats/slice_labels.csv", rd);
    snprintf(out, sizeof out, "%s/brats-real", tmp);
    DtclBratsOptions o = {"flair", 64, 0.8, 0, 0};
    DtclImportStats st;
    DtclError err;
    if (dtcl_import_brats(root, out, &o, &st, &err) != 0)
        fail_msg("%s", err.msg);
    printf("  imported %d patients: %lld of %lld slices kept, %lld positive, %.2f s\n", st.patients,
           (long long)st.kept, (long long)st.slices_read, (long long)st.positive, st.seconds);
    DtclDataset ds;
    if (dtcl_dataset_open(&ds, out, &err) != 0)
        fail_msg("%s", err.msg);
    /* expected, from the independent per-slice counts: kept iff the black
     * (zero, the volumes' minimum) fraction is below 0.8 */
    DtclCsv ref;
    if (dtcl_csv_load(labels, &ref, &err) != 0)
        fail_msg("%s", err.msg);
    int cc = dtcl_csv_column(&ref, "case"), cz = dtcl_csv_column(&ref, "slice_index"),
        cb = dtcl_csv_column(&ref, "brain_voxels"), cl = dtcl_csv_column(&ref, "label");
    int cs = dtcl_csv_column(&ds.meta, "slice");
    int64_t expected = 0, matched = 0, label_ok = 0;
    for (size_t r = 0; r < ref.nrows; r++) {
        if (atol(dtcl_csv_cell(&ref, r, cb)) <= 0.2 * 240 * 240)
            continue;
        expected++;
        for (int64_t i = 0; i < ds.n; i++)
            if (strcmp(ds.patient[i], dtcl_csv_cell(&ref, r, cc)) == 0 &&
                strcmp(dtcl_csv_cell(&ds.meta, (size_t)i, cs), dtcl_csv_cell(&ref, r, cz)) == 0) {
                matched++;
                label_ok += ds.label[i] == atoi(dtcl_csv_cell(&ref, r, cl));
            }
    }
    printf("  slice_labels.csv: %lld slices expected, dataset has %lld, %lld matched, %lld labels equal\n",
           (long long)expected, (long long)ds.n, (long long)matched, (long long)label_ok);
    assert_int_equal(expected, ds.n);
    assert_int_equal(matched, expected);
    assert_int_equal(label_ok, expected);
    dtcl_csv_free(&ref);
    dtcl_dataset_close(&ds);
}


/* an 8-bit TIFF of w x h pixels and spp samples: sample s of pixel q is f(q, s) */
static void write_tiff8(const char *path, int w, int h, int spp, int (*f)(int q, int s))
{
    TIFF *t = TIFFOpen(path, "w");
    assert_non_null(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, spp == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, h);
    unsigned char *buf = malloc((size_t)w * h * spp);
    for (int q = 0; q < w * h; q++)
        for (int s = 0; s < spp; s++)
            buf[q * spp + s] = (unsigned char)f(q, s);
    assert_true(TIFFWriteEncodedStrip(t, 0, buf, (tmsize_t)w * h * spp) >= 0);
    free(buf);
    TIFFClose(t);
}

/* channel 1 holds the image (0..200 across it), channels 0 and 2 noise */
static int slice_a(int q, int s)
{
    return s == 1 ? q * 200 / 63 : (q * 37 + s * 11) % 256;
}

static int slice_b(int q, int s)
{
    return s == 1 ? 50 + q : 255 - q; /* 50..113 in channel 1 */
}

static int mask_three(int q, int s)
{
    return q == 5 || q == 6 || q == 40 ? 255 : 0;
}

static int mask_empty(int q, int s)
{
    return 0;
}

/* p1/p1_1.tif (mask: 3 pixels), p1/p1_2.tif (empty mask), p2/p2_1.tif (mask: 3) */
static void make_mri_folder(const char *dir)
{
    char p[700];
    const char *sub[2] = {"p1", "p2"};
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/%s", dir, sub[k]);
        mkdir(p, 0755);
    }
    snprintf(p, sizeof p, "%s/p1/p1_1.tif", dir);
    write_tiff8(p, 8, 8, 3, slice_a);
    snprintf(p, sizeof p, "%s/p1/p1_1_mask.tif", dir);
    write_tiff8(p, 8, 8, 1, mask_three);
    snprintf(p, sizeof p, "%s/p1/p1_10.tif", dir);
    write_tiff8(p, 8, 8, 3, slice_b);
    snprintf(p, sizeof p, "%s/p1/p1_10_mask.tif", dir);
    write_tiff8(p, 8, 8, 1, mask_empty);
    snprintf(p, sizeof p, "%s/p2/p2_1.tif", dir);
    write_tiff8(p, 8, 8, 3, slice_b);
    snprintf(p, sizeof p, "%s/p2/p2_1_mask.tif", dir);
    write_tiff8(p, 8, 8, 1, mask_three);
}

static void test_pictures_with_masks(void **state)
{
    (void)state;
    char dir[512], out[600];
    snprintf(dir, sizeof dir, "%s/mri", tmp);
    mkdir(dir, 0755);
    make_mri_folder(dir);
    snprintf(out, sizeof out, "%s/mri-out", tmp);
    DtclImagesOptions o = {.patient_regex = "^(p\\d+)/", .size = 8, .channel = 1, .mask_suffix = "_mask",
                           .mask_min_pixels = 1, .normalise = 1};
    DtclImportStats st;
    DtclError err;
    if (dtcl_import_images(dir, NULL, out, &o, &st, &err) != 0)
        fail_msg("%s", err.msg);
    DtclDataset ds;
    if (dtcl_dataset_open(&ds, out, &err) != 0)
        fail_msg("%s", err.msg);
    printf("  %lld images, %d patients, labels %d %d %d, ids %s %s %s\n", (long long)ds.n, ds.npatients, ds.label[0],
           ds.label[1], ds.label[2], ds.id[0], ds.id[1], ds.id[2]);
    assert_int_equal(ds.n, 3);
    assert_int_equal(ds.npatients, 2);
    /* masks are not images; paths in natural order: p1_1 before p1_10 */
    assert_string_equal(ds.id[0], "p1/p1_1.tif");
    assert_string_equal(ds.id[1], "p1/p1_10.tif");
    assert_string_equal(ds.patient[0], "p1");
    assert_string_equal(ds.patient[2], "p2");
    assert_int_equal(ds.label[0], 1);
    assert_int_equal(ds.label[1], 0);
    assert_int_equal(ds.label[2], 1);
    /* patient p1 spans 0..200 over its two slices: slice a maps to 0..1,
     * slice b (50..113) to 0.25..0.565; p2 alone: slice b to 0..1 */
    float a[64], b[64], c[64];
    int64_t idx[3] = {0, 1, 2};
    float *all = malloc(sizeof(float) * 64 * 3);
    dtcl_dataset_load(&ds, all, idx, 3);
    memcpy(a, all, sizeof a);
    memcpy(b, all + 64, sizeof b);
    memcpy(c, all + 128, sizeof c);
    free(all);
    assert_float_equal(a[0], 0.0f, 1e-6);
    assert_float_equal(a[63], 1.0f, 1e-6);
    assert_float_equal(b[0], 50.0f / 200.0f, 1e-6);
    assert_float_equal(b[63], 113.0f / 200.0f, 1e-6);
    assert_float_equal(c[0], 0.0f, 1e-6);
    assert_float_equal(c[63], 1.0f, 1e-6);
    char mp[700];
    snprintf(mp, sizeof mp, "%s/masks.npy", out);
    float *masks;
    DtclNpyInfo mi;
    if (dtcl_npy_load(mp, &masks, &mi, &err) != 0)
        fail_msg("%s", err.msg);
    double on = 0;
    for (int q = 0; q < 64; q++)
        on += masks[q];
    free(masks);
    assert_float_equal(on, 3.0, 1e-5); /* the mask at 8x8 kept its 3 pixels */
    dtcl_dataset_close(&ds);
    /* two mask pixels needed: slice 0 (3) stays 1 */
    o.mask_min_pixels = 4;
    o.force = 1;
    if (dtcl_import_images(dir, NULL, out, &o, &st, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(st.positive, 0);
}

static void test_pictures_bad_masks(void **state)
{
    (void)state;
    char dir[512], out[600], p[700];
    snprintf(dir, sizeof dir, "%s/mri-bad", tmp);
    mkdir(dir, 0755);
    make_mri_folder(dir);
    snprintf(out, sizeof out, "%s/mri-bad-out", tmp);
    DtclImagesOptions o = {.patient_regex = "^(p\\d+)/", .size = 8, .channel = 1, .mask_suffix = "_mask",
                           .mask_min_pixels = 1, .normalise = 1};
    DtclImportStats st;
    DtclError err;
    struct stat sb;
    snprintf(p, sizeof p, "%s/p2/p2_1_mask.tif", dir);
    write_tiff8(p, 4, 8, 1, mask_three); /* mis-sized */
    assert_int_equal(dtcl_import_images(dir, NULL, out, &o, &st, &err), -1);
    printf("  refused: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "p2/p2_1_mask.tif: mask of 4x8 pixels for an image of 8x8"));
    assert_int_not_equal(stat(out, &sb), 0);
    unlink(p); /* missing */
    assert_int_equal(dtcl_import_images(dir, NULL, out, &o, &st, &err), -1);
    printf("  refused: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "the mask of p2/p2_1.tif is missing (expected p2/p2_1_mask.tif)"));
    assert_int_not_equal(stat(out, &sb), 0);
    o.mask_suffix = NULL;
    o.channel = 3; /* the pictures have 3 */
    assert_int_equal(dtcl_import_images(dir, NULL, out, &o, &st, &err), -1);
    printf("  refused: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "p1_1.tif: channel 3 of a picture with 3"));
    o.channel = -1;
    o.patient_regex = "^(p\\d+/";
    assert_int_equal(dtcl_import_images(dir, NULL, out, &o, &st, &err), -1);
    printf("  refused: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "at position 7"));
    o.patient_regex = "^(q\\d+)/";
    assert_int_equal(dtcl_import_images(dir, NULL, out, &o, &st, &err), -1);
    printf("  refused: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "does not match 'p1/p1_1.tif'"));
    assert_int_not_equal(stat(out, &sb), 0);
}

static void test_real_lgg(void **state)
{
    (void)state;
    const char *rd = realdata();
    if (!rd)
        skip();
    char dir[4200], labels[4200], out[512];
    snprintf(dir, sizeof dir, "%s/lgg-kaggle3m-sample/kaggle_3m", rd);
    snprintf(labels, sizeof labels, "%s/lgg-kaggle3m-sample/slice_labels.csv", rd);
    snprintf(out, sizeof out, "%s/lgg-real", tmp);
    DtclImagesOptions o = {.patient_regex = "^(TCGA_[A-Z0-9]+_[A-Z0-9]+)_", .size = 64, .channel = 1,
                           .mask_suffix = "_mask", .mask_min_pixels = 1, .normalise = 1};
    DtclImportStats st;
    DtclError err;
    if (dtcl_import_images(dir, NULL, out, &o, &st, &err) != 0)
        fail_msg("%s", err.msg);
    DtclDataset ds;
    if (dtcl_dataset_open(&ds, out, &err) != 0)
        fail_msg("%s", err.msg);
    DtclCsv ref;
    assert_int_equal(dtcl_csv_load(labels, &ref, &err), 0);
    int ci = dtcl_csv_column(&ref, "image"), cl = dtcl_csv_column(&ref, "label"), cp = dtcl_csv_column(&ref, "patient");
    int64_t same = 0, found = 0, pos = 0;
    for (size_t r = 0; r < ref.nrows; r++) {
        const char *img = dtcl_csv_cell(&ref, r, ci) + strlen("kaggle_3m/");
        for (int64_t i = 0; i < ds.n; i++)
            if (strcmp(ds.id[i], img) == 0) {
                found++;
                same += ds.label[i] == atoi(dtcl_csv_cell(&ref, r, cl)) &&
                        strcmp(ds.patient[i], dtcl_csv_cell(&ref, r, cp)) == 0;
            }
    }
    for (int64_t i = 0; i < ds.n; i++)
        pos += ds.label[i] == 1;
    printf("  %lld slices of %d patients (%lld with tumour); %lld of slice_labels.csv's %zu found, %lld with its "
           "label and patient; %.2f s\n", (long long)ds.n, ds.npatients, (long long)pos, (long long)found, ref.nrows,
           (long long)same, st.seconds);
    assert_int_equal(ds.n, (int64_t)ref.nrows);
    assert_int_equal(found, (int64_t)ref.nrows);
    assert_int_equal(same, (int64_t)ref.nrows);
    assert_int_equal(ds.npatients, 3);
    dtcl_csv_free(&ref);
    dtcl_dataset_close(&ds);
}

static void test_real_kermany(void **state)
{
    (void)state;
    const char *rd = realdata();
    if (!rd)
        skip();
    char dir[4200], labels[4200], sub[512], out[512], line[1024];
    snprintf(dir, sizeof dir, "%s/kermany-cxr-224", rd);
    snprintf(labels, sizeof labels, "%s/kermany-cxr-224/labels.csv", rd);
    /* the first 150 rows and the last 150 (normal, then pneumonia) */
    snprintf(sub, sizeof sub, "%s/kermany-labels.csv", tmp);
    FILE *in = fopen(labels, "r"), *o = fopen(sub, "w");
    assert_non_null(in);
    int n = 0;
    char *rows[6000];
    while (fgets(line, sizeof line, in) && n < 6000)
        rows[n++] = strdup(line);
    fclose(in);
    fputs(rows[0], o);
    for (int r = 1; r < n; r++)
        if (r <= 150 || r >= n - 150)
            fputs(rows[r], o);
    fclose(o);
    for (int r = 0; r < n; r++)
        free(rows[r]);
    snprintf(out, sizeof out, "%s/kermany-real", tmp);
    DtclImagesOptions op = {.size = 64, .channel = -1, .normalise = 1};
    DtclImportStats st;
    DtclError err;
    if (dtcl_import_images(dir, sub, out, &op, &st, &err) != 0)
        fail_msg("%s", err.msg);
    DtclDataset ds;
    if (dtcl_dataset_open(&ds, out, &err) != 0)
        fail_msg("%s", err.msg);
    DtclCsv ref;
    assert_int_equal(dtcl_csv_load(sub, &ref, &err), 0);
    int cp = dtcl_csv_column(&ref, "patient_id"), cl = dtcl_csv_column(&ref, "label");
    int64_t ok = 0, pos = 0;
    for (int64_t i = 0; i < ds.n; i++) {
        ok += strcmp(ds.patient[i], dtcl_csv_cell(&ref, (size_t)i, cp)) == 0 &&
              ds.label[i] == atoi(dtcl_csv_cell(&ref, (size_t)i, cl));
        pos += ds.label[i] == 1;
    }
    printf("  %lld JPEG images of %d patients (%lld pneumonia), %lld with labels.csv's patient and label; %.2f s\n",
           (long long)ds.n, ds.npatients, (long long)pos, (long long)ok, st.seconds);
    assert_int_equal(ds.n, 300);
    assert_int_equal(ok, 300);
    assert_int_equal(pos, 150);
    dtcl_csv_free(&ref);
    dtcl_dataset_close(&ds);
}

static void test_real_chest(void **state)
{
    (void)state;
    const char *rd = realdata();
    if (!rd)
        skip();
    char dir[4200], labels[4200], out[512];
    snprintf(dir, sizeof dir, "%s/nih-cxr-1000", rd);
    snprintf(labels, sizeof labels, "%s/nih-cxr-1000/labels.csv", rd);
    snprintf(out, sizeof out, "%s/chest-real", tmp);
    DtclImagesOptions o = {.patient_regex = "^0*(\\d+)_", .size = 64, .channel = -1}; /* as Python writes it */
    DtclImportStats st;
    DtclError err;
    if (dtcl_import_images(dir, labels, out, &o, &st, &err) != 0)
        fail_msg("%s", err.msg);
    DtclDataset ds;
    if (dtcl_dataset_open(&ds, out, &err) != 0)
        fail_msg("%s", err.msg);
    DtclCsv ref;
    assert_int_equal(dtcl_csv_load(labels, &ref, &err), 0);
    int cp = dtcl_csv_column(&ref, "patient_id"), cl = dtcl_csv_column(&ref, "label");
    int64_t pos = 0, patient_ok = 0, label_ok = 0;
    for (int64_t i = 0; i < ds.n; i++) {
        pos += ds.label[i] == 1;
        patient_ok += atol(ds.patient[i]) == atol(dtcl_csv_cell(&ref, (size_t)i, cp));
        label_ok += ds.label[i] == atoi(dtcl_csv_cell(&ref, (size_t)i, cl));
    }
    printf("  %lld images, %d patients, %lld positive; patients equal to labels.csv: %lld, labels: %lld; %.2f s\n",
           (long long)ds.n, ds.npatients, (long long)pos, (long long)patient_ok, (long long)label_ok, st.seconds);
    assert_int_equal(ds.n, 1000);
    assert_int_equal(pos, 500);
    assert_int_equal(patient_ok, 1000);
    assert_int_equal(label_ok, 1000);
    dtcl_csv_free(&ref);
    dtcl_dataset_close(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orientations),    cmocka_unit_test(test_bad_volumes),
        cmocka_unit_test(test_existing_output_kept), cmocka_unit_test(test_dataset_validation),
        cmocka_unit_test(test_interrupted_import), cmocka_unit_test(test_brats2023_names),
        cmocka_unit_test(test_images_bad_input),
        cmocka_unit_test(test_pictures_with_masks), cmocka_unit_test(test_pictures_bad_masks),
        cmocka_unit_test(test_real_brats),      cmocka_unit_test(test_real_chest),
        cmocka_unit_test(test_real_lgg),        cmocka_unit_test(test_real_kermany),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
