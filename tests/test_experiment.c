/* test_experiment.c: `dtcl experiment` and `dtcl figures` end to end on a
 * tiny synthetic brain set (16x16, widths 4,8):
 *   `experiment all --budget` trains and evaluates all 14 configurations x 2
 *   repeats, writes results.csv, summary.csv and the four markdown tables
 *   (with the paper's numbers beside, every protocol, the untrained
 *   encoder), and summary.csv's means are the means of the runs' eval.csv
 *   rows; verdicts.csv has every claim under every protocol, and its paired
 *   delta is the difference of the runs' AUCs;
 *   rerunning skips everything; a run whose last epochs are removed is
 *   resumed and gives back the same eval.csv bit for bit; changed settings
 *   are refused with exit 2; a budget that shrinks the training set is
 *   recorded so that a rerun finds the runs finished;
 *   `figures` writes every figure as a PNG of the expected size, for the
 *   experiment and for one run; the grid outlines the tumour (red pixels);
 *   bad input exits 2 with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/csv.h"
#include "io/pngio.h"
#include "testutil.h"

static char dir[256];
static const char *dtcl;
static char last_err[8192];
static int gnuplot;

static int run(const char *args)
{
    int st = test_run_dtcl(dir, dtcl, last_err, sizeof last_err, args);
    if (st != 0)
        printf("  [%d] dtcl %s\n      %s", st, args, last_err);
    return st;
}

static int exists(const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return access(p, F_OK) == 0;
}

/* The width and height in a PNG's IHDR; fails unless the file is a PNG. */
static void png_size(const char *rel, int *w, int *h)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    unsigned char b[24];
    FILE *f = fopen(p, "rb");
    if (!f)
        fail_msg("%s: missing", p);
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_int_equal(n, 24);
    assert_memory_equal(b, sig, 8);
    assert_memory_equal(b + 12, "IHDR", 4);
    *w = (b[16] << 24) | (b[17] << 16) | (b[18] << 8) | b[19];
    *h = (b[20] << 24) | (b[21] << 16) | (b[22] << 8) | b[23];
}

static void expect_png(const char *rel, int w, int h)
{
    int pw, ph;
    png_size(rel, &pw, &ph);
    printf("  %-44s %dx%d\n", rel, pw, ph);
    assert_int_equal(pw, w);
    assert_int_equal(ph, h);
}

/* A column of RUN/eval.csv at an epoch. */
static double eval_cell(const char *run, int epoch, const char *column)
{
    char p[512];
    DtclCsv ev;
    DtclError err;
    snprintf(p, sizeof p, "%s/%s/eval.csv", dir, run);
    assert_int_equal(dtcl_csv_load(p, &ev, &err), 0);
    int e = dtcl_csv_column(&ev, "epoch"), c = dtcl_csv_column(&ev, column);
    assert_true(e >= 0 && c >= 0);
    double v = NAN;
    for (size_t i = 0; i < ev.nrows; i++)
        if (atoi(dtcl_csv_cell(&ev, i, e)) == epoch)
            v = atof(dtcl_csv_cell(&ev, i, c));
    dtcl_csv_free(&ev);
    return v;
}

/* verdicts.csv: every claim of the paper under every protocol; the paired
 * delta of proposed against simclr equals the difference of their runs'
 * mean AUCs (each repeat's test sets all present), inside its interval. */
static void check_verdicts(int last)
{
    char p[512];
    DtclCsv v;
    DtclError err;
    snprintf(p, sizeof p, "%s/exp/verdicts.csv", dir);
    assert_int_equal(dtcl_csv_load(p, &v, &err), 0);
    int ca = dtcl_csv_column(&v, "a"), cb = dtcl_csv_column(&v, "b"), cpr = dtcl_csv_column(&v, "protocol"),
        ce = dtcl_csv_column(&v, "epoch"), cd = dtcl_csv_column(&v, "delta"), clo = dtcl_csv_column(&v, "lo"),
        chi = dtcl_csv_column(&v, "hi"), cv = dtcl_csv_column(&v, "verdict");
    int final_rows = 0, found = 0;
    for (size_t i = 0; i < v.nrows; i++) {
        if (atoi(dtcl_csv_cell(&v, i, ce)) != last)
            continue;
        final_rows++;
        double d = atof(dtcl_csv_cell(&v, i, cd)), lo = atof(dtcl_csv_cell(&v, i, clo)),
               hi = atof(dtcl_csv_cell(&v, i, chi));
        assert_true(lo <= d && d <= hi);
        const char *verdict = dtcl_csv_cell(&v, i, cv);
        assert_true(strcmp(verdict, "holds") == 0 || strcmp(verdict, "reversed") == 0 ||
                    strcmp(verdict, "not resolved") == 0);
        if (strcmp(dtcl_csv_cell(&v, i, ca), "proposed") == 0 && strcmp(dtcl_csv_cell(&v, i, cb), "simclr") == 0 &&
            strcmp(dtcl_csv_cell(&v, i, cpr), "linear") == 0) {
            double want = 0;
            for (int r = 0; r < 2; r++) {
                char ra[64], rb[64];
                snprintf(ra, sizeof ra, "exp/proposed/%d", r);
                snprintf(rb, sizeof rb, "exp/simclr/%d", r);
                want += (eval_cell(ra, last, "mean") - eval_cell(rb, last, "mean")) / 2;
            }
            printf("  verdicts.csv, proposed - simclr (linear): %+.6f [%+.6f, %+.6f] %s; from eval.csv %+.6f\n", d,
                   lo, hi, verdict, want);
            assert_true(fabs(d - want) < 2e-6);
            found = 1;
        }
    }
    dtcl_csv_free(&v);
    /* 14 claims and 14 configurations against their epoch 0, under 5 protocols */
    printf("  verdicts.csv: %d rows after the last epoch (expected %d)\n", final_rows, (14 + 14) * 5);
    assert_int_equal(final_rows, (14 + 14) * 5);
    assert_true(found);
}

static const char *exp_args = "experiment all --data brain -o exp --widths 4,8 --batch 8 --repeats 2 --epochs 40 "
                              "--eval-every 10 --budget 0.4 --threads 2";

static void test_all_with_budget(void **state)
{
    (void)state;
    assert_int_equal(run(exp_args), 0);
    assert_non_null(strstr(last_err, "--budget scaled epochs 40 ->"));
    assert_non_null(strstr(last_err, "estimated time for what is left"));
    static const char *const files[] = {"exp/experiment.json", "exp/results.csv", "exp/summary.csv",
                                        "exp/table2.md",       "exp/fig2.md",     "exp/order.md",
                                        "exp/supcon.md",       "exp/verdicts.md", "exp/verdicts.csv"};
    for (size_t k = 0; k < sizeof files / sizeof *files; k++)
        assert_true(exists(files[k]));
    static const char *const configs[] = {"proposed", "proposed-a0.1-10-0.1-10-10", "proposed-a0.1-10-1-1-1",
                                          "random-sup-a1-1-1", "random-sup-a0.1-10-10", "random-sup", "simclr",
                                          "random", "ssl", "supervised-10", "supervised-100", "simclr-order2",
                                          "proposed-order2", "supcon-10"};
    char p[512];
    for (size_t k = 0; k < sizeof configs / sizeof *configs; k++)
        for (int r = 0; r < 2; r++) {
            snprintf(p, sizeof p, "exp/%s/%d/eval.csv", configs[k], r);
            assert_true(exists(p));
        }
    char md[16384];
    snprintf(p, sizeof p, "%s/exp/table2.md", dir);
    TEST_READ_TEXT(p, md, sizeof md);
    assert_non_null(strstr(md, "0.884 (0.042)")); /* the paper's column */
    assert_non_null(strstr(md, "a0 = 0.1, a1,3,4 = 10, a2 = 0.1"));
    assert_null(strstr(md, "–"));                 /* every row has a result */
    assert_non_null(strstr(md, "| untrained encoder (epoch 0) |"));
    assert_non_null(strstr(md, "probe, 1% labels"));
    snprintf(p, sizeof p, "%s/exp/supcon.md", dir);
    TEST_READ_TEXT(p, md, sizeof md);
    assert_non_null(strstr(md, "0.52 (0.12)"));
    snprintf(p, sizeof p, "%s/exp/order.md", dir);
    TEST_READ_TEXT(p, md, sizeof md);
    assert_non_null(strstr(md, "rotate,vflip,hflip,crop,noise,blur"));

    /* summary.csv's mean for proposed at the last epoch = the mean of its runs' eval.csv rows */
    DtclCsv sum, ev;
    DtclError err;
    snprintf(p, sizeof p, "%s/exp/summary.csv", dir);
    assert_int_equal(dtcl_csv_load(p, &sum, &err), 0);
    int cc = dtcl_csv_column(&sum, "configuration"), ce = dtcl_csv_column(&sum, "epoch");
    int cm = dtcl_csv_column(&sum, "auc_mean"), cn = dtcl_csv_column(&sum, "repeats");
    int cp = dtcl_csv_column(&sum, "protocol");
    int last = -1;
    double reported = NAN;
    for (size_t i = 0; i < sum.nrows; i++)
        if (strcmp(dtcl_csv_cell(&sum, i, cc), "proposed") == 0 && strcmp(dtcl_csv_cell(&sum, i, cp), "linear") == 0 &&
            atoi(dtcl_csv_cell(&sum, i, ce)) > last) {
            last = atoi(dtcl_csv_cell(&sum, i, ce));
            reported = atof(dtcl_csv_cell(&sum, i, cm));
            assert_int_equal(atoi(dtcl_csv_cell(&sum, i, cn)), 2);
        }
    dtcl_csv_free(&sum);
    assert_true(last >= 4);
    double s = 0;
    for (int r = 0; r < 2; r++) {
        snprintf(p, sizeof p, "%s/exp/proposed/%d/eval.csv", dir, r);
        assert_int_equal(dtcl_csv_load(p, &ev, &err), 0);
        int e = dtcl_csv_column(&ev, "epoch"), m = dtcl_csv_column(&ev, "mean");
        for (size_t i = 0; i < ev.nrows; i++)
            if (atoi(dtcl_csv_cell(&ev, i, e)) == last)
                s += atof(dtcl_csv_cell(&ev, i, m));
        dtcl_csv_free(&ev);
    }
    printf("  proposed after %d epochs: summary %.6f, mean of the runs %.6f (tolerance 2e-6)\n", last, reported, s / 2);
    assert_true(fabs(reported - s / 2) <= 2e-6);
    check_verdicts(last);
}

static void test_skip_and_resume(void **state)
{
    (void)state;
    assert_int_equal(run(exp_args), 0);
    assert_non_null(strstr(last_err, "0 to train or evaluate"));
    assert_null(strstr(last_err, ": training"));
    /* an unfinished run: its newest checkpoints and its evaluation removed */
    char p[1024], before[65536], after[65536];
    snprintf(p, sizeof p, "%s/exp/ssl/1/eval.csv", dir);
    TEST_READ_TEXT(p, before, sizeof before);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd %s/exp/ssl/1/checkpoints && ls epoch-*.safetensors | sort | tail -1 > ../../../../newest.txt",
             dir);
    assert_int_equal(system(cmd), 0);
    snprintf(p, sizeof p, "%s/newest.txt", dir);
    char newest[256];
    TEST_READ_TEXT(p, newest, sizeof newest);
    newest[strcspn(newest, "\n")] = 0;
    snprintf(p, sizeof p, "%s/exp/ssl/1/checkpoints/%s", dir, newest);
    assert_int_equal(unlink(p), 0);
    snprintf(p, sizeof p, "%s/exp/ssl/1/checkpoints/last.safetensors", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/exp/ssl/1/eval.csv", dir);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(run(exp_args), 0);
    assert_non_null(strstr(last_err, "1 to train or evaluate"));
    assert_non_null(strstr(last_err, "ssl r1: resuming"));
    TEST_READ_TEXT(p, after, sizeof after);
    printf("  ssl/1 resumed from before %s: eval.csv %s\n", newest, strcmp(before, after) == 0 ? "identical" : "differs");
    assert_string_equal(before, after);
    /* other settings than experiment.json's are refused */
    assert_int_equal(run("experiment fig2 --data brain -o exp --epochs 7"), 2);
    assert_non_null(strstr(last_err, "experiment.json"));
    assert_non_null(strstr(last_err, "--epochs"));
    /* `report' rewrites the tables alone */
    snprintf(p, sizeof p, "%s/exp/fig2.md", dir);
    unlink(p);
    assert_int_equal(run("experiment report exp"), 0);
    assert_true(exists("exp/fig2.md"));
}

/* A budget too small for 4 epochs also shrinks the training set; the runs
 * then record that share, and a rerun still finds them finished. */
static void test_budget_shrinks_the_training_set(void **state)
{
    (void)state;
    const char *args = "experiment supcon --data brain -o exp2 --widths 4,8 --batch 8 --repeats 1 --epochs 40 "
                       "--budget 0.01 --threads 2";
    assert_int_equal(run(args), 0);
    const char *t = strstr(last_err, "training images ");
    long before = 0, after = 0;
    if (t && sscanf(t, "training images %ld -> %ld", &before, &after) == 2) {
        char p[512], line[256];
        snprintf(p, sizeof p, "%s/exp2/proposed/0/split.csv", dir);
        FILE *f = fopen(p, "r");
        assert_non_null(f);
        long ntrain = 0, rows = 0;
        while (fgets(line, sizeof line, f)) {
            ntrain += strstr(line, ",train,") != NULL;
            rows++;
        }
        fclose(f);
        /* the images left out of training are in no split: absent from split.csv */
        assert_int_equal(rows - 1, 16 * 12 - (before - after));
        printf("  --budget 0.01: training images %ld -> %ld; split.csv of a run: %ld\n", before, after, ntrain);
        assert_true(after < before);
        assert_int_equal(ntrain, after);
    } else {
        printf("  --budget 0.01 fitted without shrinking the training set on this machine\n");
    }
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(last_err, "0 to train or evaluate"));
}

static void test_figures(void **state)
{
    (void)state;
    int rc = run("figures exp -o figs");
    assert_int_equal(rc, gnuplot ? 0 : 1);
    /* 16x16 slices drawn 8 times larger: cells of 128, gaps of 4; 4 rows, original + 5 strategies */
    int W = 6 * 128 + 7 * 4, H = 4 * 128 + 5 * 4;
    expect_png("figs/fig3-grid.png", W, H);
    assert_true(exists("figs/fig3-lambda.csv"));
    if (!gnuplot) {
        printf("  gnuplot is not installed: only the grid was checked\n");
        return;
    }
    expect_png("figs/fig2.png", 2400, 1400);
    expect_png("figs/fig3.png", W + 260, H + 150);
    static const char *const m[] = {"proposed", "proposed-a0.1-10-0.1-10-10", "proposed-a0.1-10-1-1-1", "ssl",
                                    "proposed-order2"};
    for (size_t k = 0; k < sizeof m / sizeof *m; k++) {
        char a[256], b[256];
        snprintf(a, sizeof a, "figs/lambda-%s.png", m[k]);
        snprintf(b, sizeof b, "figs/lambda-%s-training.png", m[k]);
        expect_png(a, 1600, 820);
        expect_png(b, 1600, 820);
    }
    /* one run */
    assert_int_equal(run("figures exp/proposed/0 -o runfigs --images 2"), 0);
    expect_png("runfigs/auc.png", 1000, 700);
    expect_png("runfigs/fig3-grid.png", 2 * 128 + 3 * 4, 2 * 128 + 3 * 4);
    expect_png("runfigs/lambda-proposed.png", 1600, 820);
}

/* Red pixels (R high, G and B low) in the grid: the outline of masks.npy. */
static void test_outline(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/figs/fig3-grid.png", dir);
    float *grey;
    int h, w;
    DtclError err;
    assert_int_equal(dtcl_png_load(cmd, &grey, &h, &w, &err), 0);
    /* pure grey cells give grey = R = G = B; the red outline (230,20,20) gives about 0.27 surrounded by
     * brain tissue: look for pixels whose grey level is exactly Rec. 709's of (230,20,20) */
    double red = (0.2126 * 230 + 0.7152 * 20 + 0.0722 * 20) / 255;
    long nred = 0;
    for (long i = 0; i < (long)h * w; i++)
        nred += fabs(grey[i] - red) < 0.5 / 255;
    free(grey);
    printf("  outline-coloured pixels in the grid: %ld\n", nred);
    assert_true(nred > 20);
}

static void test_bad_input(void **state)
{
    (void)state;
    assert_int_equal(run("experiment all --data nowhere -o x1"), 2);
    assert_non_null(strstr(last_err, "nowhere"));
    assert_int_equal(run("experiment all --data brain -o brain"), 2); /* not empty, not an experiment */
    assert_non_null(strstr(last_err, "experiment.json"));
    assert_int_equal(run("experiment table3 --data brain -o x2"), 2);
    assert_int_equal(run("experiment all --data brain -o x3 --budget -1"), 2);
    assert_int_equal(run("figures brain -o x4"), 2);
    assert_non_null(strstr(last_err, "neither an experiment folder"));
    assert_int_equal(run("experiment report brain"), 2);
    assert_false(exists("x1") || exists("x2") || exists("x3") || exists("x4/fig2.png"));
}

int main(void)
{
    dtcl = getenv("DTCL");
    if (!dtcl) {
        fprintf(stderr, "DTCL (the dtcl binary) is not set; run through make check\n");
        return 77;
    }
    if (test_tmpdir(dir, sizeof dir, "experiment") != 0)
        return 99;
    gnuplot = system("gnuplot --version > /dev/null 2>&1") == 0;
    /* `make -j2 check' runs two tests at once: OpenMP threads that spin while they wait would slow
     * each other tenfold and throw --budget's timing off (no result depends on it) */
    setenv("OMP_WAIT_POLICY", "passive", 0);
    char err[4096];
    if (test_run_dtcl(dir, dtcl, err, sizeof err,
                      "synth --kind brain -o brain --patients 16 --slices-per-patient 12 --size 16 --seed 3 --no-auc") != 0) {
        fprintf(stderr, "synth failed: %s\n", err);
        return 99;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_with_budget), cmocka_unit_test(test_skip_and_resume),
        cmocka_unit_test(test_budget_shrinks_the_training_set),
        cmocka_unit_test(test_figures),         cmocka_unit_test(test_outline),
        cmocka_unit_test(test_bad_input),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (!failed) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            return 99;
    }
    return failed;
}
