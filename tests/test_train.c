/* test_train.c: `dtcl train`, `dtcl eval` and `dtcl demo` end to end on tiny
 * synthetic data (32x32, widths 4,8):
 *   every strategy runs and writes its run folder;
 *   random: the encoder's contrastive loss falls; proposed: M's Lambda moves;
 *   ssl with a1 = 0 and a large a0: M drives the contrastive loss up;
 *   a run stopped after 2 epochs and resumed to 4 ends bitwise equal to a run
 *   of 4 epochs, and so does one interrupted by SIGINT;
 *   supervised with every label reaches a validation-free test AUC >= 0.95 on
 *   an easy set; eval leaves the checkpoint untouched and writes eval.csv;
 *   the k-NN AUC on known cases; bad arguments exit 2 with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nets/checkpoint.h"
#include "data/dataset.h"
#include "eval/eval.h"
#include "eval/logreg.h"
#include "io/npy.h"
#include "testutil.h"

static char dir[256];
static const char *dtcl;

static int run(const char *args)
{
    char err[8192];
    int st = test_run_dtcl(dir, dtcl, err, sizeof err, args);
    if (st != 0)
        printf("  [%d] dtcl %s\n      %s", st, args, err);
    return st;
}

/* Column `name` of row `epoch` (1-based) of RUN/metrics.csv. */
static double metric(const char *runname, int epoch, const char *name)
{
    char path[512], line[8192], head[8192];
    snprintf(path, sizeof path, "%s/%s/metrics.csv", dir, runname);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(head, sizeof head, f));
    int col = -1, k = 0;
    for (char *t = strtok(head, ",\n"); t; t = strtok(NULL, ",\n"), k++)
        if (strcmp(t, name) == 0)
            col = k;
    assert_true(col >= 0);
    double v = NAN;
    while (fgets(line, sizeof line, f)) {
        if (atoi(line) != epoch)
            continue;
        k = 0;
        for (char *t = strtok(line, ",\n"); t; t = strtok(NULL, ",\n"), k++)
            if (k == col)
                v = atof(t);
    }
    fclose(f);
    return v;
}

static const char *common = "--batch 16 --widths 4,8 --threads 2 --quiet";

static void test_strategies(void **state)
{
    (void)state;
    static const char *const s[6] = {"random", "random-sup", "ssl", "proposed", "simclr", "supervised"};
    char args[1024];
    for (int k = 0; k < 6; k++) {
        snprintf(args, sizeof args, "train --data brain --strategy %s -o run-%s --epochs 2 %s", s[k], s[k], common);
        assert_int_equal(run(args), 0);
        snprintf(args, sizeof args, "%s/run-%s/checkpoints/epoch-002.safetensors", dir, s[k]);
        assert_int_equal(access(args, R_OK), 0);
        char name[64];
        snprintf(name, sizeof name, "run-%s", s[k]);
        printf("  %-11s L_E %.4f -> %.4f  L_NCE %.4f -> %.4f\n", s[k], metric(name, 1, "loss_e"),
               metric(name, 2, "loss_e"), metric(name, 1, "nce"), metric(name, 2, "nce"));
    }
}

static void test_behaviour(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args, "train --data brain --strategy random -o beh-random --epochs 8 %s", common);
    assert_int_equal(run(args), 0);
    double n1 = metric("beh-random", 1, "nce"), n8 = metric("beh-random", 8, "nce");
    printf("  random: L_NCE epoch 1 %.4f, epoch 8 %.4f\n", n1, n8);
    assert_true(n8 < n1);

    snprintf(args, sizeof args, "train --data brain --strategy proposed -o beh-proposed --epochs 4 %s", common);
    assert_int_equal(run(args), 0);
    double moved = 0;
    for (int k = 0; k < 7; k++) {
        char name[32];
        snprintf(name, sizeof name, "lambda%d_mean_c0", k);
        moved = fmax(moved, fabs(metric("beh-proposed", 4, name) - metric("beh-proposed", 1, name)));
    }
    printf("  proposed: the largest move of a class-0 lambda mean from epoch 1 to 4: %.4f\n", moved);
    assert_true(moved > 0.005);

    /* dot similarity: with cosine, the tiny encoder's embeddings sit near L_NCE's largest value (log(B - 1)
     * when all similarities are equal), leaving M nothing to raise */
    snprintf(args, sizeof args,
             "train --data brain --strategy ssl --alpha 10,0,1,0,0 --lr-m 1e-2 --lr-f 1e-7 --similarity dot -o beh-adv "
             "--epochs 4 %s",
             common);
    assert_int_equal(run(args), 0);
    double a1 = metric("beh-adv", 1, "nce"), a4 = metric("beh-adv", 4, "nce");
    printf("  ssl with a0 = 10, a1 = 0 (encoder nearly frozen): L_NCE epoch 1 %.4f, epoch 4 %.4f\n", a1, a4);
    assert_true(a4 > a1);
}

/* Every tensor of two checkpoints bitwise equal. */
static void same_checkpoints(const char *a, const char *b)
{
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/%s", dir, a);
    snprintf(pb, sizeof pb, "%s/%s", dir, b);
    DtclModel ma, mb;
    DtclError err;
    assert_int_equal(dtcl_checkpoint_load(pa, &ma, DTCL_CK_MODEL, &err), 0);
    assert_int_equal(dtcl_checkpoint_load(pb, &mb, DTCL_CK_MODEL, &err), 0);
    size_t np = ma.table.size[DTCL_FAMILY_PARAM];
    assert_int_equal(np, mb.table.size[DTCL_FAMILY_PARAM]);
    assert_int_equal(test_first_diff(ma.table.param, mb.table.param, np), -1);
    assert_int_equal(test_first_diff(ma.table.adam_v, mb.table.adam_v, np), -1);
    assert_int_equal(test_first_diff(ma.table.stat, mb.table.stat, ma.table.size[DTCL_FAMILY_STAT]), -1);
    assert_int_equal(ma.step_e, mb.step_e);
    printf("  %s == %s: %zu parameters, Adam state and statistics bitwise equal\n", a, b, np);
    dtcl_model_free(&ma);
    dtcl_model_free(&mb);
}

static void test_resume(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args, "train --data brain --strategy proposed -o whole --epochs 4 --save-every 2 %s",
             common);
    assert_int_equal(run(args), 0);
    snprintf(args, sizeof args, "train --data brain --strategy proposed -o parts --epochs 2 --save-every 2 %s",
             common);
    assert_int_equal(run(args), 0);
    assert_int_equal(run("train --resume parts --epochs 4 --quiet"), 0);
    same_checkpoints("whole/checkpoints/epoch-004.safetensors", "parts/checkpoints/epoch-004.safetensors");

    /* SIGINT at some point of the run (when does not matter), then resume */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd %s && ('%s' train --data brain --strategy proposed -o sig --epochs 4 --save-every 2 %s & p=$!; "
             "sleep 0.4; kill -INT $p; wait $p; echo $? > sig.rc)",
             dir, dtcl, common);
    assert_int_equal(system(cmd), 0);
    int st = run("train --resume sig --quiet");
    assert_int_equal(st, 0);
    same_checkpoints("whole/checkpoints/epoch-004.safetensors", "sig/checkpoints/epoch-004.safetensors");
    /* metrics.csv of the resumed runs: the same losses, row for row */
    for (int e = 1; e <= 4; e++)
        assert_true(metric("whole", e, "loss_e") == metric("parts", e, "loss_e"));
}

static void test_supervised_easy_and_eval(void **state)
{
    (void)state;
    char args[1024], ck[512];
    snprintf(args, sizeof args,
             "train --data easy --strategy supervised --label-fraction 1.0 -o sup --epochs 6 --lr-f 3e-3 %s", common);
    assert_int_equal(run(args), 0);
    snprintf(ck, sizeof ck, "%s/sup/checkpoints/epoch-006.safetensors", dir);
    struct stat before, after;
    assert_int_equal(stat(ck, &before), 0);
    DtclError err;
    DtclEvalRow rows[2];
    int n, epochs[2] = {0, 6};
    char runp[512];
    snprintf(runp, sizeof runp, "%s/sup", dir);
    DtclEvalOptions eo;
    dtcl_eval_options_default(&eo);
    eo.epochs = epochs;
    eo.nepochs = 2;
    assert_int_equal(dtcl_eval_run(runp, &eo, stdout, rows, 2, &n, &err), 0);
    assert_int_equal(n, 2);
    const DtclEvalRow *r = &rows[1];
    printf("  supervised, all labels, easy set, epoch 6: linear %.4f (%.4f), knn %.4f, probe10 %.4f, probe1 %.4f\n",
           r->mean[DTCL_PROTO_LINEAR], r->std[DTCL_PROTO_LINEAR], r->mean[DTCL_PROTO_KNN],
           r->mean[DTCL_PROTO_PROBE10], r->mean[DTCL_PROTO_PROBE1]);
    assert_true(r->mean[DTCL_PROTO_LINEAR] >= 0.95);
    assert_true(r->mean[DTCL_PROTO_PROBE10] >= 0.9); /* the probe sees 10% of the training labels */
    for (int p = 0; p < DTCL_NPROTOCOLS; p++)
        assert_false(isnan(r->mean[p]));
    assert_int_equal(stat(ck, &after), 0); /* the encoder is only read */
    assert_true(before.st_mtime == after.st_mtime && before.st_size == after.st_size);
    char csv[512];
    snprintf(csv, sizeof csv, "%s/sup/eval.csv", dir);
    assert_int_equal(access(csv, R_OK), 0);

    /* the per-image scores give back each test set's AUC */
    DtclEvalScores sc;
    assert_int_equal(dtcl_eval_scores_load(runp, 6, &sc, &err), 0);
    assert_true(dtcl_eval_complete(runp, 6));
    double worst = 0;
    for (int p = 0; p < DTCL_NPROTOCOLS; p++)
        for (int t = 0; t < 3; t++) {
            double s[4096];
            int8_t y[4096];
            int64_t m = 0;
            for (int64_t i = 0; i < sc.n; i++)
                if (sc.test[i] == t) {
                    s[m] = sc.score[p][i];
                    y[m++] = sc.label[i];
                }
            if (m)
                worst = fmax(worst, fabs(dtcl_auc(s, y, m) - r->auc[p][t]));
        }
    printf("  scores/epoch-006.csv: %lld test images; AUC recomputed from them, worst difference %.2g (tol 1e-6)\n",
           (long long)sc.n, worst);
    assert_true(worst <= 1e-6);
    dtcl_eval_scores_free(&sc);

    /* evaluating one protocol again keeps the others' columns */
    DtclEvalRow again;
    eo.epochs = epochs + 1;
    eo.nepochs = 1;
    eo.protocols = 1u << DTCL_PROTO_KNN;
    assert_int_equal(dtcl_eval_run(runp, &eo, NULL, &again, 1, &n, &err), 0);
    for (int p = 0; p < DTCL_NPROTOCOLS; p++)
        assert_true(again.mean[p] == r->mean[p]);
    DtclEvalRow back[4];
    assert_int_equal(dtcl_eval_read(runp, back, 4), 2);
    assert_true(back[1].mean[DTCL_PROTO_PROBE1] == again.mean[DTCL_PROTO_PROBE1]);
}

static void test_knn(void **state)
{
    (void)state;
    /* two clusters far apart: k-NN AUC 1; identical rows: every score ties, AUC 0.5 */
    enum { N = 30, D = 2 };
    float x[N * D], same[N * D];
    int8_t y[N];
    for (int i = 0; i < N; i++) {
        y[i] = (int8_t)(i % 2);
        x[i * D] = y[i] ? 5.0f + 0.01f * i : -5.0f - 0.01f * i;
        x[i * D + 1] = 0.1f * (float)(i % 3);
        same[i * D] = 1.0f;
        same[i * D + 1] = 1.0f;
    }
    double sa[N], sb[N];
    dtcl_knn_cv_scores(x, y, N, D, 3, 5, 1, sa);
    dtcl_knn_cv_scores(same, y, N, D, 3, 5, 1, sb);
    double a = dtcl_auc(sa, y, N), b = dtcl_auc(sb, y, N);
    printf("  k-NN AUC: separated %.3f, all rows equal %.3f\n", a, b);
    assert_true(a == 1.0);
    assert_true(fabs(b - 0.5) < 0.2);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    static const struct { const char *args, *needle; } cases[] = {
        {"train --data brain --strategy best -o x", "is not one of random"},
        {"train --data brain --strategy random -o x --epochs -3", "--epochs"},
        {"train --data nolabels --strategy supervised -o x --widths 4,8", "needs labels"},
        {"train --resume brain", "config.json"},
        {"train --data brain --strategy random -o run-random", "never overwritten"},
        {"eval brain", "config.json"},
        {"train --data brain --strategy random -o x --encoder resnet50", "is not fcn or densenet121"},
        {"train --data brain --strategy random -o x --encoder densenet121 --widths 4,8", "--widths applies"},
        {"train --data brain --strategy random -o x --init missing.safetensors", "no such file"},
        {"train --data brain --strategy random -o x --widths 4,16 --init run-random/checkpoints/epoch-002.safetensors",
         "holds a fcn encoder, 2 blocks, widths 4,8; the run's model has a fcn encoder, 2 blocks, widths 4,16"},
        {"train --data brain --strategy random -o x --encoder densenet121 --init "
         "run-random/checkpoints/epoch-002.safetensors", "the run's model has a densenet121 encoder"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[8192];
        int st = test_run_dtcl(dir, dtcl, err, sizeof err, cases[i].args);
        printf("  [%d] dtcl %s\n      %s", st, cases[i].args, err);
        assert_int_equal(st, 2);
        assert_non_null(strstr(err, cases[i].needle));
    }
    char x[512];
    snprintf(x, sizeof x, "%s/x", dir);
    assert_int_equal(access(x, F_OK), -1); /* no folder left behind */
}

/* --init: the new run's f starts as the file's f (epoch-000 holds it bit for
 * bit), the rest from the seed; and a densenet121 run trains and resumes. */
static void test_init_and_densenet(void **state)
{
    (void)state;
    char args[1024], a[512], b[512];
    snprintf(args, sizeof args, "train --data brain --strategy proposed -o run-init --epochs 1 --seed 9 --init "
             "run-simclr/checkpoints/epoch-002.safetensors %s", common);
    assert_int_equal(run(args), 0);
    snprintf(a, sizeof a, "%s/run-simclr/checkpoints/epoch-002.safetensors", dir);
    snprintf(b, sizeof b, "%s/run-init/checkpoints/epoch-000.safetensors", dir);
    DtclModel ma, mb;
    DtclError err;
    assert_int_equal(dtcl_checkpoint_load(a, &ma, DTCL_CK_MODEL, &err), 0);
    assert_int_equal(dtcl_checkpoint_load(b, &mb, DTCL_CK_MODEL, &err), 0);
    int f_same = 1, g_differs = 0;
    for (int i = 0; i < ma.table.n; i++) {
        const DtclTensorInfo *e = &ma.table.t[i];
        if (e->family == DTCL_FAMILY_COUNT)
            continue;
        const float *pa = (e->family == DTCL_FAMILY_PARAM ? ma.table.param : ma.table.stat) + e->offset;
        const float *pb = (e->family == DTCL_FAMILY_PARAM ? mb.table.param : mb.table.stat) + e->offset;
        int same = memcmp(pa, pb, sizeof(float) * e->count) == 0;
        if (strncmp(e->name, "f.", 2) == 0)
            f_same &= same;
        else if (strncmp(e->name, "g.", 2) == 0)
            g_differs |= !same;
    }
    assert_true(f_same);
    assert_true(g_differs);
    printf("  --init: f of epoch-000 bitwise the file's, g from the seed\n");
    dtcl_model_free(&ma);
    dtcl_model_free(&mb);
    snprintf(args, sizeof args, "train --data brain --strategy proposed -o run-dn --epochs 1 --batch 8 --encoder "
             "densenet121 --threads 2 --quiet");
    assert_int_equal(run(args), 0);
    assert_int_equal(run("train --resume run-dn --epochs 2 --quiet"), 0);
    snprintf(b, sizeof b, "%s/run-dn/checkpoints/epoch-002.safetensors", dir);
    assert_int_equal(dtcl_checkpoint_load(b, &mb, DTCL_CK_MODEL, &err), 0);
    assert_int_equal(mb.cfg.encoder, DTCL_ENCODER_DENSENET121);
    assert_true(mb.step_e > 0);
    printf("  densenet121: %lld encoder steps after a resume, L_E %.4f -> %.4f\n", (long long)mb.step_e,
           metric("run-dn", 1, "loss_e"), metric("run-dn", 2, "loss_e"));
    dtcl_model_free(&mb);
}

static void test_demo_quick(void **state)
{
    (void)state;
    assert_int_equal(run("demo --quick -o demo --threads 2"), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/demo/runs/demo.md", dir);
    char buf[8192];
    TEST_READ_TEXT(p, buf, sizeof buf);
    /* the untrained row, then each strategy with its paired difference and interval */
    assert_non_null(strstr(buf, "| untrained encoder (epoch 0) |"));
    static const char *const rows[] = {"| proposed | 10% |", "| simclr | 10% |", "| supervised | 10% |",
                                       "| supervised | 100% |"};
    for (size_t k = 0; k < sizeof rows / sizeof *rows; k++) {
        const char *r = strstr(buf, rows[k]);
        assert_non_null(r);
        assert_non_null(strchr(r, '['));
    }
    snprintf(p, sizeof p, "%s/demo/fig3-grid.png", dir);
    assert_int_equal(access(p, R_OK), 0);
    if (system("gnuplot --version > /dev/null 2>&1") == 0) {
        snprintf(p, sizeof p, "%s/demo/fig2.png", dir);
        assert_int_equal(access(p, R_OK), 0);
        snprintf(p, sizeof p, "%s/demo/fig3.png", dir);
        assert_int_equal(access(p, R_OK), 0);
    }
}

/* easy/: 400 images of 32x32 from 80 patients, noise, and a bright 8x8
 * square somewhere in the positives: what any working encoder separates. */
static int write_easy(void)
{
    enum { N = 400, S = 32 };
    static float img[N * S * S];
    char path[512];
    snprintf(path, sizeof path, "%s/easy", dir);
    if (mkdir(path, 0777) != 0)
        return -1;
    uint32_t state = 12345;
    for (int n = 0; n < N; n++) {
        int pos = n % 2, ci = 4 + (n * 7) % 20, cj = 4 + (n * 13) % 20;
        for (int q = 0; q < S * S; q++) {
            state = state * 1664525u + 1013904223u;
            float v = 0.3f + 0.2f * (float)(state >> 8) / 16777216.0f;
            int i = q / S, j = q % S;
            if (pos && i >= ci && i < ci + 8 && j >= cj && j < cj + 8)
                v = 0.95f;
            img[n * S * S + q] = v;
        }
    }
    int64_t shape[3] = {N, S, S};
    DtclError err;
    snprintf(path, sizeof path, "%s/easy/images.npy", dir);
    if (dtcl_npy_save(path, img, 3, shape, &err) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/easy/meta.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "id,patient,label\n");
    for (int n = 0; n < N; n++)
        fprintf(f, "i%d,p%d,%d\n", n, n / 5, n % 2);
    return fclose(f) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    /* brain: 12 patients x 20 slices of 32x32; easy (write_easy); nolabels:
     * brain without its labels */
    if (run("synth --kind brain -o brain --patients 12 --slices-per-patient 20 --size 32 --seed 3 --no-auc") != 0)
        return -1;
    if (write_easy() != 0)
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && mkdir nolabels && cp brain/images.npy nolabels/ && "
             "awk -F, 'NR==1{print $1\",\"$2\",\"$3; next}{print $1\",\"$2\",\"}' brain/meta.csv > nolabels/meta.csv",
             dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    dtcl = getenv("DTCL");
    if (!dtcl)
        return 77;
    if (test_tmpdir(dir, sizeof dir, "train") != 0)
        return 99;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strategies), cmocka_unit_test(test_behaviour), cmocka_unit_test(test_resume),
        cmocka_unit_test(test_supervised_easy_and_eval), cmocka_unit_test(test_knn),
        cmocka_unit_test(test_bad_arguments), cmocka_unit_test(test_init_and_densenet),
        cmocka_unit_test(test_demo_quick),
    };
    int rc = cmocka_run_group_tests(tests, setup, NULL);
    return dtcl_remove_tree(dir) == 0 ? rc : 99;
}
