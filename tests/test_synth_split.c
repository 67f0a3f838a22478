/* test_synth_split.c: synthetic sets, splits and the linear classifier.
 * - synth: the same seed gives bitwise the same images, another seed others;
 *   40-60% positive; brain slices are at least 20% black; a raw-pixel
 *   logistic regression stays well below AUC 0.99 (not trivially separable).
 * - logreg: the AUC of known scores (ties counted half), a separable problem
 *   learned (AUC 1), a random one not (AUC near 0.5).
 * - split: patient-disjoint, every test set near its size, positive rates
 *   near the dataset's, the labelled subset round(f n) of each training
 *   class, deterministic from the seed; split.csv read back identically. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <unistd.h>

#include "data/dataset.h"
#include "eval/logreg.h"
#include "base/rng.h"
#include "data/split.h"
#include "data/synth.h"
#include "testutil.h"

static char tmp[256];

static int setup(void **state)
{
    (void)state;
    assert_int_equal(test_tmpdir(tmp, sizeof tmp, "synth"), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return dtcl_remove_tree(tmp);
}

/* Writes P x K images of a kind into DIR through the dataset writer. */
static void make_set(const char *dir, DtclSynthKind kind, int P, int K, int S, uint64_t seed)
{
    DtclError err;
    DtclDatasetWriter *w = dtcl_dataset_writer_open(dir, S, 1, NULL, 0, &err);
    assert_non_null(w);
    DtclSynth *s = dtcl_synth_create(kind, S, seed);
    float *img = malloc(sizeof(float) * S * S);
    for (int p = 0; p < P; p++)
        for (int k = 0; k < K; k++) {
            int label = dtcl_synth_image(s, img, NULL, p, k, K);
            char id[64], pid[32];
            snprintf(pid, sizeof pid, "p%03d", p);
            snprintf(id, sizeof id, "p%03d_%03d", p, k);
            assert_int_equal(dtcl_dataset_writer_add(w, img, id, pid, label, NULL, &err), 0);
        }
    free(img);
    dtcl_synth_free(s);
    assert_int_equal(dtcl_dataset_writer_commit(w, &err), 0);
}

static void check_kind(DtclSynthKind kind, const char *name)
{
    enum { P = 24, K = 20, S = 32 };
    char a[512], b[512], c[512];
    snprintf(a, sizeof a, "%s/%s-a", tmp, name);
    snprintf(b, sizeof b, "%s/%s-b", tmp, name);
    snprintf(c, sizeof c, "%s/%s-c", tmp, name);
    make_set(a, kind, P, K, S, 7);
    make_set(b, kind, P, K, S, 7);
    make_set(c, kind, P, K, S, 8);
    DtclDataset da, db, dc;
    DtclError err;
    assert_int_equal(dtcl_dataset_open(&da, a, &err), 0);
    assert_int_equal(dtcl_dataset_open(&db, b, &err), 0);
    assert_int_equal(dtcl_dataset_open(&dc, c, &err), 0);
    size_t n = (size_t)P * K * S * S;
    assert_int_equal(memcmp(da.pixels, db.pixels, n * 4), 0);
    assert_int_not_equal(memcmp(da.pixels, dc.pixels, n * 4), 0);
    int64_t pos = 0;
    double black = 0;
    for (int64_t i = 0; i < da.n; i++) {
        pos += da.label[i];
        const float *im = (const float *)da.pixels + i * S * S;
        int z = 0;
        for (int q = 0; q < S * S; q++)
            z += im[q] == 0.0f;
        black = fmax(black, 0) + (double)z / (S * S) / (double)da.n;
    }
    double frac = (double)pos / da.n;
    float *x = malloc(n * 4);
    memcpy(x, da.pixels, n * 4);
    double auc = dtcl_logreg_cv_auc(x, da.label, da.patient_of, da.n, S * S, 3, 1);
    printf("  %s: %lld images, %.1f%% positive (40-60%%), mean black fraction %.2f, raw-pixel AUC %.3f (< 0.99)\n",
           name, (long long)da.n, 100 * frac, black, auc);
    assert_true(frac >= 0.4 && frac <= 0.6);
    assert_true(auc < 0.99 && auc > 0.5);
    if (kind == DTCL_SYNTH_BRAIN)
        assert_true(black >= 0.2);
    free(x);
    dtcl_dataset_close(&da);
    dtcl_dataset_close(&db);
    dtcl_dataset_close(&dc);
}

static void test_synth_brain(void **state)
{
    (void)state;
    check_kind(DTCL_SYNTH_BRAIN, "brain");
}

static void test_synth_chest(void **state)
{
    (void)state;
    check_kind(DTCL_SYNTH_CHEST, "chest");
}

static void test_auc_and_logreg(void **state)
{
    (void)state;
    double s[6] = {0.1, 0.4, 0.35, 0.8, 0.4, 0.9};
    int8_t y[6] = {0, 0, 1, 1, 1, 0};
    /* pairs (pos, neg): 0.35>0.1, 0.35<0.4, 0.35<0.9; 0.8>0.1,0.4, <0.9; 0.4>0.1, =0.4 (half), <0.9 -> 4.5 of 9 */
    double a = dtcl_auc(s, y, 6);
    printf("  AUC of the hand example %.6f (expected 0.5)\n", a);
    assert_true(fabs(a - 0.5) < 1e-12);
    enum { N = 300, D = 5 };
    float x[N * D];
    int8_t lab[N];
    double u[N * D];
    DtclStream st = {3, DTCL_RNG_TEST, 0, 0, 0};
    dtcl_rng_uniform(&st, u, N * D);
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < D; k++)
            x[i * D + k] = (float)u[i * D + k];
        lab[i] = x[i * D] + 0.5f * x[i * D + 1] > 0.75f;
    }
    double sep = dtcl_logreg_cv_auc(x, lab, NULL, N, D, 3, 1);
    for (int i = 0; i < N; i++)
        lab[i] = u[(i * 7) % (N * D)] > 0.5;
    for (int i = 0; i < N; i++)
        x[i * D] = (float)u[(i * 13 + 5) % (N * D)];
    double rnd = dtcl_logreg_cv_auc(x, lab, NULL, N, D, 3, 1);
    printf("  cross-validated AUC: linearly separable %.3f (> 0.97), random labels %.3f (0.35-0.65)\n", sep, rnd);
    assert_true(sep > 0.97);
    assert_true(rnd > 0.35 && rnd < 0.65);
}

static void test_split(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/split-set", tmp);
    make_set(dir, DTCL_SYNTH_BRAIN, 40, 25, 16, 11);
    DtclDataset ds;
    DtclError err;
    assert_int_equal(dtcl_dataset_open(&ds, dir, &err), 0);
    DtclSplitOptions o;
    dtcl_split_options_default(&o);
    o.seed = 5;
    int8_t *sp = malloc(ds.n), *lb = malloc(ds.n), *sp2 = malloc(ds.n), *lb2 = malloc(ds.n);
    assert_int_equal(dtcl_split_make(&ds, &o, sp, lb, &err), 0);
    assert_int_equal(dtcl_split_make(&ds, &o, sp2, lb2, &err), 0);
    assert_int_equal(memcmp(sp, sp2, ds.n), 0); /* deterministic */
    assert_int_equal(memcmp(lb, lb2, ds.n), 0);
    /* patient-disjoint */
    int *where = malloc(sizeof(int) * ds.npatients);
    for (int p = 0; p < ds.npatients; p++)
        where[p] = -9;
    for (int64_t i = 0; i < ds.n; i++) {
        int p = ds.patient_of[i];
        assert_true(where[p] == -9 || where[p] == sp[i]);
        where[p] = sp[i];
    }
    int64_t cnt[DTCL_NSPLITS] = {0}, pos[DTCL_NSPLITS] = {0}, allpos = 0, trc[2] = {0}, labc[2] = {0};
    for (int64_t i = 0; i < ds.n; i++) {
        cnt[sp[i]]++;
        pos[sp[i]] += ds.label[i];
        allpos += ds.label[i];
        if (sp[i] == DTCL_SPLIT_TRAIN) {
            trc[ds.label[i]]++;
            labc[ds.label[i]] += lb[i];
        } else {
            assert_int_equal(lb[i], 0);
        }
    }
    double rate = (double)allpos / ds.n;
    printf("  rate %.3f;", rate);
    for (int s = 0; s < DTCL_NSPLITS; s++)
        printf(" %s %lld (%.3f)", dtcl_split_names[s], (long long)cnt[s], cnt[s] ? (double)pos[s] / cnt[s] : 0);
    printf("; labelled %lld of %lld negatives, %lld of %lld positives\n", (long long)labc[0], (long long)trc[0],
           (long long)labc[1], (long long)trc[1]);
    for (int t = DTCL_SPLIT_TEST0; t <= DTCL_SPLIT_TEST2; t++) {
        assert_true(cnt[t] >= 100 && cnt[t] < 100 + 25); /* N/10 = 100, whole patients of 25 */
        assert_true(fabs((double)pos[t] / cnt[t] - rate) < 0.1);
    }
    assert_true(cnt[DTCL_SPLIT_VAL] > 0 && cnt[DTCL_SPLIT_TRAIN] > cnt[DTCL_SPLIT_VAL]);
    for (int c = 0; c < 2; c++)
        assert_int_equal(labc[c], llround(0.1 * trc[c]));
    /* written and read back */
    char path[600];
    snprintf(path, sizeof path, "%s/split.csv", dir);
    assert_int_equal(dtcl_split_write(path, &ds, sp, lb, &err), 0);
    DtclDataset back;
    assert_int_equal(dtcl_dataset_open(&back, dir, &err), 0);
    assert_int_equal(memcmp(back.split, sp, ds.n), 0);
    assert_int_equal(memcmp(back.labelled, lb, ds.n), 0);
    dtcl_dataset_close(&back);
    /* too few patients */
    o.test_size = 0;
    DtclDataset small = ds;
    small.npatients = 3;
    assert_int_equal(dtcl_split_make(&small, &o, sp, lb, &err), -1);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "cannot make 3 patient-disjoint test sets"));
    free(sp); free(lb); free(sp2); free(lb2); free(where);
    dtcl_dataset_close(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synth_brain), cmocka_unit_test(test_synth_chest),
        cmocka_unit_test(test_auc_and_logreg), cmocka_unit_test(test_split),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
