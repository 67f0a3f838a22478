/* cli_synth.c: `dtcl synth' writes a synthetic dataset (synth.h) and reports
 * how hard it is: the AUC of a logistic regression, 3-fold cross-validated
 * with whole patients in each fold (logreg.h), on raw pixels and on the
 * representation h = f(X) of an untrained fcn encoder (what training must
 * improve on). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "base/clock.h"

#include "cli/cli.h"
#include "cli/commands.h"
#include "data/dataset.h"
#include "eval/logreg.h"
#include "data/synth.h"
#include "train/run.h"
#include "train/step.h"

static const char *synth_help =
    "Usage: dtcl synth --kind brain|chest -o DIR [--patients P] [--slices-per-patient K] [--size S] [--seed N]\n"
    "Write a synthetic dataset folder (images.npy, meta.csv, masks.npy), reproducible from the seed,\n"
    "and report its difficulty: the AUC of a logistic regression (3-fold, patient-grouped) on raw\n"
    "pixels, and on the features of an untrained fcn encoder (what training has to improve on).\n"
    "\n"
    "      --kind brain|chest        MRI-like axial slices or radiograph-like images (default brain)\n"
    "  -o, --output DIR              the dataset folder to create\n"
    "      --patients P              synthetic patients (default 40)\n"
    "      --slices-per-patient K    slices (brain) or images (chest) per patient (default 50)\n"
    "      --size S                  image size (default 64)\n"
    "  -s, --seed N                  (default 0)\n"
    "      --widths LIST             the untrained encoder's widths (default 16,32,64,128, the demo's)\n"
    "      --no-auc                  skip the difficulty report\n"
    "      --force                   replace DIR if it exists\n"
    "  -h, --help                    this text\n";

int dtcl_cmd_synth(int argc, char **argv)
{
    static const struct option opts[] = {
        {"kind", required_argument, 0, 1},     {"output", required_argument, 0, 'o'},
        {"patients", required_argument, 0, 2}, {"slices-per-patient", required_argument, 0, 3},
        {"size", required_argument, 0, 4},     {"seed", required_argument, 0, 's'},
        {"no-auc", no_argument, 0, 5},         {"force", no_argument, 0, 6},
        {"widths", required_argument, 0, 7},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *cmd = "synth", *out = NULL;
    DtclSynthKind kind = DTCL_SYNTH_BRAIN;
    long patients = 40, per = 50, size = 64;
    uint64_t seed = 0;
    int auc = 1, force = 0, c;
    const char *widths = "16,32,64,128";
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 1:
            if (strcmp(optarg, "brain") == 0)
                kind = DTCL_SYNTH_BRAIN;
            else if (strcmp(optarg, "chest") == 0)
                kind = DTCL_SYNTH_CHEST;
            else
                return dtcl_cli_usage_error(cmd, "--kind '%s' (expected brain or chest)", optarg);
            break;
        case 'o': out = optarg; break;
        case 2:
            if (dtcl_cli_int_option(cmd, "patients", optarg, 1, 1000000, &patients) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 3:
            if (dtcl_cli_int_option(cmd, "slices-per-patient", optarg, 1, 10000, &per) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 4:
            if (dtcl_cli_int_option(cmd, "size", optarg, 16, 1024, &size) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 's':
            if (dtcl_parse_u64(optarg, &seed) != 0)
                return dtcl_cli_usage_error(cmd, "--seed '%s' is not a non-negative integer", optarg);
            break;
        case 5: auc = 0; break;
        case 6: force = 1; break;
        case 7: widths = optarg; break;
        case 'h': dtcl_cli_help(synth_help); return DTCL_EXIT_OK;
        case ':': return dtcl_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return dtcl_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return dtcl_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!out)
        return dtcl_cli_usage_error(cmd, "-o DIR is required");
    DtclError err;
    if (dtcl_check_output_dir(out, &err) != 0)
        return dtcl_cli_input_error(cmd, &err);
    const char *kind_name = kind == DTCL_SYNTH_BRAIN ? "brain" : "chest";
    static const char *extra[2] = {"source", "slice"};
    DtclDatasetWriter *w = dtcl_dataset_writer_open(out, (int)size, force, extra, 2, &err);
    if (!w)
        return dtcl_cli_input_error(cmd, &err);
    DtclSynth *s = dtcl_synth_create(kind, (int)size, seed);
    size_t SS = (size_t)size * size;
    float *img = DTCL_ALIGNED(SS * sizeof(float)), *mask = DTCL_ALIGNED(SS * sizeof(float));
    long pos = 0;
    int rc = 0;
    char source[32];
    snprintf(source, sizeof source, "synth-%s", kind_name);
    for (long p = 0; p < patients && rc == 0; p++)
        for (long k = 0; k < per && rc == 0; k++) {
            int label = dtcl_synth_image(s, img, mask, (int)p, (int)k, (int)per);
            pos += label;
            char id[64], pid[32], ks[32];
            snprintf(pid, sizeof pid, "%s%04ld", kind_name, p);
            snprintf(id, sizeof id, "%s_%03ld", pid, k);
            snprintf(ks, sizeof ks, "%ld", k);
            const char *ev[2] = {source, ks};
            rc = dtcl_dataset_writer_add(w, img, id, pid, label, ev, &err);
            if (rc == 0 && mask)
                rc = dtcl_dataset_writer_add_mask(w, mask, &err);
        }
    free(img);
    free(mask);
    dtcl_synth_free(s);
    if (rc != 0 || dtcl_dataset_writer_commit(w, &err) != 0) {
        if (rc != 0)
            dtcl_dataset_writer_abort(w);
        fprintf(stderr, "dtcl %s: %s\n", cmd, err.msg);
        return DTCL_EXIT_FAIL;
    }
    long n = patients * per;
    printf("%s: %ld %s images of %ldx%ld from %ld patients, %ld positive (%.1f%%), seed %llu\n", out, n, kind_name,
           size, size, patients, pos, 100.0 * pos / n, (unsigned long long)seed);
    if (!auc)
        return DTCL_EXIT_OK;
    DtclDataset ds;
    if (dtcl_dataset_open(&ds, out, &err) != 0)
        return dtcl_cli_input_error(cmd, &err);
    if (pos == 0 || pos == n || ds.npatients < 3) {
        printf("difficulty: not measured (needs both classes and at least 3 patients)\n");
        dtcl_dataset_close(&ds);
        return DTCL_EXIT_OK;
    }
    float *x = DTCL_ALIGNED(sizeof(float) * (size_t)n * SS);
    int64_t *idx = DTCL_MALLOC(sizeof(int64_t) * (size_t)n);
    for (long i = 0; i < n; i++)
        idx[i] = i;
    dtcl_dataset_load(&ds, x, idx, (int)n);
    double t0 = dtcl_now_s();
    double a = dtcl_logreg_cv_auc(x, ds.label, ds.patient_of, n, (int)SS, 3, seed);
    printf("difficulty: logistic regression on raw pixels, 3-fold patient-grouped AUC %.3f (%.1f s)\n", a,
           dtcl_now_s() - t0);
    /* the same on h = f(X) of the fcn encoder as a run drawn from seed 1 starts (the demo's runs) */
    DtclTrainConfig tc;
    dtcl_train_config_default(&tc, DTCL_STRATEGY_SUPERVISED);
    snprintf(tc.widths, sizeof tc.widths, "%s", widths);
    tc.seed = 1;
    DtclModel md;
    rc = dtcl_run_model(&tc, (int)size, &md, &err);
    if (rc == 0) {
        t0 = dtcl_now_s();
        int d = dtcl_encoder_dim(&md.f);
        float *h = DTCL_MALLOC(sizeof(float) * (size_t)n * d);
        rc = dtcl_step_embed_all(DTCL_DEVICE_CPU, h, &md, x, n, (int)size, 64, omp_get_max_threads(), &err);
        if (rc == 0) {
            double b = dtcl_logreg_cv_auc(h, ds.label, ds.patient_of, n, d, 3, seed);
            printf("difficulty: logistic regression on an untrained fcn encoder (widths %s, seed 1), 3-fold "
                   "patient-grouped AUC %.3f (%.1f s)\n", widths, b, dtcl_now_s() - t0);
        }
        free(h);
        dtcl_model_free(&md);
    }
    free(x);
    free(idx);
    dtcl_dataset_close(&ds);
    if (rc != 0)
        return dtcl_cli_input_error(cmd, &err);
    return DTCL_EXIT_OK;
}
