/* test_cli.c: `dtcl transform` end to end. Every bad input the issue lists
 * (missing, truncated or garbage files, wrong dtype, rank or shape, a Lambda
 * count other than 7, lambda outside [0,1], an unknown order token) exits
 * with status 2 and a message that names the problem, and leaves an
 * existing output untouched; --jacobian agrees with finite differences of
 * `dtcl transform` itself; the same seed gives the same noise; --device is
 * checked by every command that takes it; `dtcl bench train-step` prints
 * figures that agree with each other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"

#include "data/dataset.h"
#include "backend/device.h"
#include "io/npy.h"
#include "testutil.h"

static char dir[256];
static const char *dtcl;

/* Runs `dtcl ARGS` with stderr captured; returns the exit status. */
static int run(char *errbuf, size_t errsize, const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return test_run_dtcl(dir, dtcl, errbuf, errsize, args);
}

static void expect(int status, const char *needle, const char *fmt, const char *arg)
{
    char err[4096], args[2048];
    snprintf(args, sizeof args, fmt, arg);
    int st = run(err, sizeof err, "%s", args);
    printf("  [%d] dtcl %s\n      %s", st, args, err);
    assert_int_equal(st, status);
    if (needle)
        assert_non_null(strstr(err, needle));
}

static void write_file(const char *name, const void *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(data, 1, n, f);
    fclose(f);
}

static void save(const char *name, const float *a, int rank, int64_t d0, int64_t d1, int64_t d2)
{
    char path[512];
    int64_t shape[3] = {d0, d1, d2};
    DtclError err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(dtcl_npy_save(path, a, rank, shape, &err), 0);
}

static float *load(const char *name, DtclNpyInfo *info)
{
    char path[512];
    float *d;
    DtclError err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (dtcl_npy_load(path, &d, info, &err) != 0)
        fail_msg("%s", err.msg);
    return d;
}

static int setup(void **state)
{
    (void)state;
    dtcl = getenv("DTCL");
    if (!dtcl)
        dtcl = "./dtcl";
    assert_int_equal(test_tmpdir(dir, sizeof dir, "cli"), 0);
    enum { S = 32 };
    float img[3 * S * S];
    for (int n = 0; n < 3; n++)
        for (int i = 0; i < S; i++)
            for (int j = 0; j < S; j++) {
                double r = hypot(i - 14.0 - n, j - 17.0);
                img[(n * S + i) * S + j] = (float)(0.2 + 0.6 / (1.0 + exp((r - 9.0) / 3.0)) + 0.1 * sin(0.25 * i + 0.15 * j));
            }
    save("one.npy", img, 2, S, S, 0);
    save("three.npy", img, 3, 3, S, S);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return dtcl_remove_tree(dir);
}

#define LAM "--lambda 0.3,0.5,0.45,0.55,0.2,0.7,0.1"

static void test_bad_input(void **state)
{
    (void)state;
    unsigned char junk[200];
    for (int i = 0; i < 200; i++)
        junk[i] = (unsigned char)(i * 37 + 11);
    write_file("garbage.npy", junk, sizeof junk);
    /* a valid header promising (32,32) float32 with half the data */
    char path[512];
    snprintf(path, sizeof path, "%s/one.npy", dir);
    FILE *f = fopen(path, "rb");
    unsigned char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    write_file("truncated.npy", buf, n / 2);
    assert_int_equal(memcmp(buf + 11, "'descr': '<f4'", 14), 0);
    memcpy(buf + 21, "<i4", 3); /* '<f4' -> '<i4' at the same place */
    write_file("int32.npy", buf, n);
    float r4[128] = {0};
    char rp[512];
    int64_t shape4[4] = {1, 2, 8, 8};
    DtclError err;
    snprintf(rp, sizeof rp, "%s/rank4.npy", dir);
    assert_int_equal(dtcl_npy_save(rp, r4, 4, shape4, &err), 0);
    save("nonsquare.npy", r4, 2, 8, 8 - 1, 0);
    float nan_img[16] = {0};
    nan_img[5] = NAN;
    save("nan.npy", nan_img, 2, 4, 4, 0);
    float lam6[18] = {0}, lambad[21] = {0};
    lambad[9] = 1.5f;
    save("lam6.npy", lam6, 2, 3, 6, 0);
    save("lambad.npy", lambad, 2, 3, 7, 0);
    write_file("bad.png", "\x89PNG\r\n\x1a\n garbage", 17);

    expect(2, "missing.npy: cannot open", "transform -i missing.npy -o out.npy " LAM, "");
    expect(2, "not a NumPy", "transform -i garbage.npy -o out.npy " LAM, "");
    expect(2, "truncated", "transform -i truncated.npy -o out.npy " LAM, "");
    expect(2, "dtype '<i4' is not supported", "transform -i int32.npy -o out.npy " LAM, "");
    expect(2, "expected one square image", "transform -i rank4.npy -o out.npy " LAM, "");
    expect(2, "expected one square image", "transform -i nonsquare.npy -o out.npy " LAM, "");
    expect(2, "non-finite value at image 0, row 1, column 1", "transform -i nan.npy -o out.npy " LAM, "");
    expect(2, "corrupt PNG", "transform -i bad.png -o out.npy " LAM, "");
    expect(2, "has 6 values; expected exactly 7", "transform -i one.npy -o out.npy --lambda %s", "1,0,0,0,0,0");
    expect(2, "has 8 values", "transform -i one.npy -o out.npy --lambda %s", "0,0,0,0,0,0,0,0");
    expect(2, "not a comma-separated list", "transform -i one.npy -o out.npy --lambda %s", "0,0,x,0,0,0,0");
    expect(2, "lambda6 (rotate) = 1.5 is outside [0,1]", "transform -i one.npy -o out.npy --lambda %s", "0,0,0,0,0,0,1.5");
    expect(2, "lambda0 (blur) = -0.1 is outside [0,1]", "transform -i one.npy -o out.npy --lambda %s", "-0.1,0,0,0,0,0,0");
    expect(2, "outside [0,1]", "transform -i one.npy -o out.npy --lambda %s", "nan,0,0,0,0,0,0");
    expect(2, "unknown transformation 'zoom'", "transform -i one.npy -o out.npy " LAM " --order %s", "blur,zoom");
    expect(2, "appears twice", "transform -i one.npy -o out.npy " LAM " --order %s", "blur,blur");
    expect(2, "expected (3, 7)", "transform -i three.npy -o out.npy --lambda-file %s", "lam6.npy");
    expect(2, "row 1, lambda2 (crop_x) = 1.5 is outside [0,1]", "transform -i three.npy -o out.npy --lambda-file %s", "lambad.npy");
    expect(2, "give exactly one of", "transform -i one.npy -o out.npy%s", "");
    expect(2, "are required", "transform -i one.npy " LAM "%s", "");
    expect(2, "unknown option '--bogus'", "transform --bogus -i one.npy -o out.npy " LAM "%s", "");
    expect(2, "needs a value", "transform -i one.npy -o out.npy " LAM " --seed%s", "");
    expect(2, "--threads '0'", "transform -i one.npy -o out.npy " LAM " --threads %s", "0");
    expect(2, "--seed '-3'", "transform -i one.npy -o out.npy " LAM " --seed %s", "-3");
    expect(2, "a PNG holds one image", "transform -i three.npy -o out.png " LAM "%s", "");
    expect(2, "unknown output type", "transform -i one.npy -o out.tiff " LAM "%s", "");
    expect(2, "does not exist", "transform -i one.npy -o no/such/dir/out.npy " LAM "%s", "");
    expect(2, "must name a .npy", "transform -i one.npy -o out.npy " LAM " --jacobian %s", "j.png");
    expect(2, "unknown command 'transfrom'", "transfrom%s", "");
    /* the dataset commands */
    expect(2, "not a folder", "import brats %s -o ds", "no-such-root");
    write_file("labels.csv", "file,label\nabsent.png,1\n", 24);
    expect(2, "line 2: file 'absent.png' is not in", "import images . --labels %s -o ds", "labels.csv");
    /* without --labels every picture of the folder is read: the broken one is named */
    expect(2, "bad.png: corrupt PNG", "import images .%s -o ds", "");
    expect(2, "--channel '7' is not an integer from 0 to 3", "import images . --channel %s -o ds", "7");
    expect(2, "--normalise 'zscore' is not patient or none", "import images . --normalise %s -o ds", "zscore");
    expect(2, "belong to 'import images'", "import brats . --mask-suffix %s -o ds", "_mask");
    expect(2, "modality 'pd'", "import brats . -o ds --modality %s", "pd");
    expect(2, "no-such-dataset: not a folder", "info %s", "no-such-dataset");
    expect(2, "not a NumPy", "info %s", "garbage.npy");
    expect(2, "--kind 'heart'", "synth -o s --kind %s", "heart");
    expect(0, NULL, "synth -o s --patients 4 --slices-per-patient 10 --size 16 --no-auc%s", "");
    expect(2, "already exists (give --force", "synth -o s --patients 4 --slices-per-patient 10 --size 16%s", "");
    expect(2, "4 patients cannot make 3 patient-disjoint test sets", "split %s", "s");
    expect(0, NULL, "split s --test-sets 1%s", "");
    expect(2, "split.csv already exists", "split %s --test-sets 1", "s");
    expect(0, NULL, "transform --help%s", "");
}

static void test_output_kept_on_failure(void **state)
{
    (void)state;
    write_file("keep.npy", "precious", 8);
    expect(2, "outside [0,1]", "transform -i one.npy -o keep.npy --lambda %s", "2,0,0,0,0,0,0");
    char path[512], buf[16] = {0};
    snprintf(path, sizeof path, "%s/keep.npy", dir);
    FILE *f = fopen(path, "rb");
    assert_int_equal(fread(buf, 1, 15, f), 8);
    fclose(f);
    assert_string_equal(buf, "precious");
    /* success replaces it, and no temporary file is left behind */
    expect(0, NULL, "transform -i one.npy -o keep.npy " LAM "%s", "");
    struct stat st;
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(stat(path, &st), 0);
    printf("  output mode %03o (expected %03o, from the umask)\n", st.st_mode & 0777, 0666 & ~mask);
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask);
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        assert_null(strstr(e->d_name, ".tmp."));
    closedir(d);
}

static void test_outputs_and_seed(void **state)
{
    (void)state;
    expect(0, NULL, "transform -i one.npy -o a.npy -j ja.npy " LAM " --seed %s", "5");
    expect(0, NULL, "transform -i one.npy -o b.npy " LAM " --seed %s", "5");
    expect(0, NULL, "transform -i one.npy -o c.npy " LAM " --seed %s", "6");
    expect(0, NULL, "transform -i one.npy -o a.png --png-bits 16 " LAM "%s", "");
    DtclNpyInfo ia, ib, ic, ij;
    float *a = load("a.npy", &ia), *b = load("b.npy", &ib), *c = load("c.npy", &ic), *j = load("ja.npy", &ij);
    assert_int_equal(ia.rank, 2);
    assert_int_equal(ij.rank, 3);
    assert_int_equal(ij.shape[0], 7);
    assert_int_equal(test_first_diff(a, b, ia.count), -1); /* same seed, same noise */
    assert_true(test_first_diff(a, c, ia.count) >= 0);
    free(a); free(b); free(c); free(j);
    expect(0, NULL, "transform -i three.npy -o s.npy -j js.npy " LAM "%s", "");
    DtclNpyInfo is;
    float *s = load("js.npy", &is);
    assert_int_equal(is.rank, 4);
    assert_int_equal(is.shape[0], 3);
    assert_int_equal(is.shape[1], 7);
    free(s);
}

/* --jacobian against central differences of `dtcl transform` outputs (float32). */
static void test_jacobian_vs_cli_differences(void **state)
{
    (void)state;
    /* the crop centre (14.25, 18.5) is 0.25 pixel or more from every kink of
     * the max-norm (|j - cx| = 0, |i - cy| = 0, |j - cx| = |i - cy|), far more
     * than the S h = 0.064 pixel that the differences move it */
    const double lam[7] = {0.37, 0.52, 14.25 / 32, 18.5 / 32, 0.23, 0.71, 0.13}, h = 2e-3;
    char list[256], err[4096];
    snprintf(list, sizeof list, "%.7f,%.7f,%.7f,%.7f,%.7f,%.7f,%.7f", lam[0], lam[1], lam[2], lam[3], lam[4], lam[5], lam[6]);
    assert_int_equal(run(err, sizeof err, "transform -i one.npy -o y.npy -j j.npy --seed 3 --crop-sharpness 0.5 --lambda %s", list), 0);
    DtclNpyInfo ij;
    float *jac = load("j.npy", &ij);
    size_t SS = ij.count / 7;
    for (int k = 0; k < 7; k++) {
        double l[2][7];
        for (int s = 0; s < 2; s++) {
            memcpy(l[s], lam, sizeof lam);
            l[s][k] += (s ? -1 : 1) * (k == 6 ? h / 20 : h);
            snprintf(list, sizeof list, "%.7f,%.7f,%.7f,%.7f,%.7f,%.7f,%.7f", l[s][0], l[s][1], l[s][2], l[s][3],
                     l[s][4], l[s][5], l[s][6]);
            assert_int_equal(run(err, sizeof err, "transform -i one.npy -o %s.npy --seed 3 --crop-sharpness 0.5 --lambda %s", s ? "m" : "p", list), 0);
        }
        DtclNpyInfo ip, im;
        float *yp = load("p.npy", &ip), *ym = load("m.npy", &im);
        double *fd = malloc(sizeof(double) * SS);
        for (size_t q = 0; q < SS; q++)
            fd[q] = ((double)yp[q] - ym[q]) / (2 * (k == 6 ? h / 20 : h));
        /* float32 outputs and h = 2e-3 limit the differences to ~1e-3; for the
         * rotation (h = 1e-4) the pixels whose sample crosses a bilinear cell
         * boundary within +-h (derivative jumps: the image's second differences)
         * to 2e-2 on this image (a wrong 2 pi, sign or cell gives errors of 0.8 to 2;
         * the exact check at kink-free points is test_transform's gradcheck) */
        double tol = k == 6 ? 5e-2 : 5e-3;
        char what[64];
        snprintf(what, sizeof what, "--jacobian column %d vs CLI differences", k);
        assert_true(test_rel_l2(what, jac + k * SS, fd, SS, tol) < tol);
        free(yp); free(ym); free(fd);
    }
    free(jac);
}

/* --device: a name other than cpu or cuda is a usage error; cuda is refused,
 * naming what is missing, by a build without CUDA or on a machine without a
 * GPU (with a GPU present, only the bad name is checked). Nothing is written. */
static void test_device_option(void **state)
{
    (void)state;
    const char *cmds[7] = {"transform -i one.npy -o dev.npy " LAM, "train -d none -S proposed -o devrun",
                           "eval devrun", "embed -c none -i one.npy -o dev.npy", "gradcheck --only noise",
                           "bench transform --no-torch", "experiment fig2 -d none -o devrun"};
    for (int k = 0; k < 7; k++) {
        char args[512];
        snprintf(args, sizeof args, "%s --device gpu", cmds[k]);
        expect(2, "--device 'gpu' is not cpu or cuda", "%s", args);
        if (dtcl_device_cuda_available())
            continue;
        snprintf(args, sizeof args, "%s --device cuda", cmds[k]);
#ifdef DTCL_HAVE_CUDA
        expect(2, "--device cuda: no CUDA device is present", "%s", args);
#else
        expect(2, "--device cuda: this dtcl was built without CUDA (configure --enable-cuda)", "%s", args);
#endif
    }
    char path[512];
    snprintf(path, sizeof path, "%s/dev.npy", dir);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof path, "%s/devrun", dir);
    assert_int_equal(access(path, F_OK), -1);
}

/* `dtcl bench train-step` runs both steps and its figures agree with each
 * other: min <= median, images/s = batch / median, vs_enc = the step's median
 * over the encoder step's, the convolutions' rate over the two sgemm rates
 * (all to the printed rounding). Nothing about speed. */
static void test_bench_train_step(void **state)
{
    (void)state;
    char cmd[1024], path[512], out[8192];
    snprintf(cmd, sizeof cmd, "cd %s && '%s' bench train-step --sizes 16 --batch 8 --repeats 5 --no-torch -t 1 >bench.txt",
             dir, dtcl);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/bench.txt", dir);
    TEST_READ_TEXT(path, out, sizeof out);
    static const char *const names[2] = {"encoder", "proposed"};
    double med[2] = {0, 0};
    for (int w = 0; w < 2; w++) {
        char needle[64];
        snprintf(needle, sizeof needle, "   16     8 %s ", names[w]);
        const char *line = strstr(out, needle);
        assert_non_null(line);
        double mn, ips, vs;
        assert_int_equal(sscanf(line + strlen(needle), "%lf %lf %lf - - - %lfx", &mn, &med[w], &ips, &vs), 4);
        printf("  %s: min %.1f ms, median %.1f ms, %.1f images/s, vs_enc %.2fx\n", names[w], mn, med[w], ips, vs);
        assert_true(mn > 0 && mn <= med[w]);
        /* the medians are printed to 0.05 ms, the rates to 0.05 and 0.005 */
        assert_true(fabs(ips - 8 / (med[w] / 1e3)) <= 0.05 + 1.01 * ips * 0.05 / med[w]);
        assert_true(fabs(vs - med[w] / med[0]) <= 0.005 + 1.01 * vs * (0.05 / med[w] + 0.05 / med[0]));
    }
    /* the convolutions' rate as printed fractions of the two sgemm rates */
    double sgemm, cr, pct, pct_own, own;
    const char *head = strstr(out, "sgemm: "), *conv = strstr(out, "   16     8 conv layers alone: ");
    assert_non_null(head);
    assert_non_null(conv);
    assert_int_equal(sscanf(head, "sgemm: %lf GFLOP/s", &sgemm), 1);
    assert_int_equal(sscanf(conv + strlen("   16     8 conv layers alone: "),
                            "%lf GFLOP/s = %lf%% of sgemm; %lf%% of the %lf GFLOP/s", &cr, &pct, &pct_own, &own), 4);
    printf("  conv %.1f GFLOP/s: %.0f%% of sgemm %.1f, %.0f%% of %.1f at the layers' shapes\n", cr, pct, sgemm,
           pct_own, own);
    assert_true(cr > 0 && sgemm > 0 && own > 0);
    assert_true(fabs(pct - 100 * cr / sgemm) <= 0.5 + 0.1 * pct / cr + 1e-9);
    assert_true(fabs(pct_own - 100 * cr / own) <= 0.5 + 0.1 * pct_own / cr + 0.1 * pct_own / own + 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_output_kept_on_failure),
        cmocka_unit_test(test_outputs_and_seed),
        cmocka_unit_test(test_jacobian_vs_cli_differences),
        cmocka_unit_test(test_device_option),
        cmocka_unit_test(test_bench_train_step),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
