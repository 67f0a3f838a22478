/* cli_demo.c: `dtcl demo` shows the method end to end in minutes: a
 * synthetic brain-like dataset, four trainings (proposed, simclr, supervised
 * at 10% and at 100% of the labels), the linear evaluation of each, and a
 * table shaped like the paper's Table 1 (strategy, AUC mean (std) over the
 * three test sets). It runs the same code as `dtcl synth`, `dtcl train` and
 * `dtcl eval`, into a new folder. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "eval/eval.h"

static const char *demo_help =
    "Usage: dtcl demo [--quick] [--output DIR] [--threads N]\n"
    "Synthesise a brain-like dataset (2000 slices of 64x64 from 40 patients), train proposed, simclr,\n"
    "and supervised with 10% and with 100% of the labels, evaluate each with the paper's linear\n"
    "protocol, and print a table like the paper's. About 10 minutes on 2 cores; --quick takes under a\n"
    "minute on a smaller set and smaller networks. Everything is kept in DIR (default: dtcl-demo, or\n"
    "dtcl-demo-2, -3, ... when it exists): the dataset, the four run folders and demo.txt.\n"
    "\n"
    "      --quick          320 slices of 32x32, widths 8,16,32, 3 epochs\n"
    "  -o, --output DIR     the folder to create (never overwritten)\n"
    "  -t, --threads N      OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
    "  -h, --help           this text\n";

static int run_cmd(int (*fn)(int, char **), const char *const *args)
{
    char *argv[64];
    int argc = 0;
    while (args[argc] && argc < 63) {
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;
    return fn(argc, argv);
}

int dtcl_cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {{"quick", no_argument, 0, 'Q'}, {"output", required_argument, 0, 'o'},
                                         {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *cmd = "demo", *outarg = NULL;
    long threads = 0;
    int quick = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'Q': quick = 1; break;
        case 'o': outarg = optarg; break;
        case 't':
            if (dtcl_cli_int_option(cmd, "threads", optarg, 1, 1024, &threads) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 'h': dtcl_cli_help(demo_help); return DTCL_EXIT_OK;
        case ':': return dtcl_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return dtcl_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return dtcl_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    char dir[4096];
    if (outarg) {
        if (access(outarg, F_OK) == 0)
            return dtcl_cli_usage_error(cmd, "%s exists; the demo writes into a new folder", outarg);
        snprintf(dir, sizeof dir, "%s", outarg);
    } else {
        snprintf(dir, sizeof dir, "dtcl-demo");
        for (int k = 2; access(dir, F_OK) == 0 && k < 1000; k++)
            snprintf(dir, sizeof dir, "dtcl-demo-%d", k);
    }
    DtclError err;
    if (dtcl_check_output_dir(dir, &err) != 0)
        return dtcl_cli_input_error(cmd, &err);
    if (mkdir(dir, 0777) != 0) {
        fprintf(stderr, "dtcl %s: %s: cannot create the folder\n", cmd, dir);
        return DTCL_EXIT_FAIL;
    }
    char thr[32], data[4200], runs[4][4300];
    snprintf(thr, sizeof thr, "%ld", threads > 0 ? threads : 0L);
    snprintf(data, sizeof data, "%s/brain", dir);
    const char *patients = quick ? "16" : "40", *slices = quick ? "20" : "50", *size = quick ? "32" : "64";
    const char *widths = quick ? "8,16,32" : "16,32,64,128", *epochs = quick ? "3" : "8", *batch = quick ? "16" : "32";
    time_t t0 = time(NULL);
    fprintf(stderr, "dtcl demo: synthetic brain slices into %s\n", data);
    const char *synth[] = {"synth", "--kind", "brain", "-o", data, "--patients", patients, "--slices-per-patient",
                           slices, "--size", size, "--seed", "1", NULL};
    int rc = run_cmd(dtcl_cmd_synth, synth);
    static const char *const names[4] = {"proposed", "simclr", "supervised", "supervised"};
    static const char *const fractions[4] = {"0.1", "0.1", "0.1", "1.0"};
    static const char *const labels[4] = {"10%", "10%", "10%", "100%"};
    DtclEvalRow rows[4][2];
    for (int k = 0; k < 4 && rc == 0; k++) {
        snprintf(runs[k], sizeof runs[k], "%s/%s-%s", dir, names[k], k == 3 ? "100" : "10");
        fprintf(stderr, "dtcl demo: training %s with %s of the labels (%s epochs)\n", names[k], labels[k], epochs);
        const char *train[] = {"train", "--data", data, "--strategy", names[k], "-o", runs[k], "--epochs", epochs,
                               "--batch", batch, "--widths", widths, "--label-fraction", fractions[k],
                               "--save-every", epochs, "--seed", "1", "--quiet",
                               threads > 0 ? "--threads" : NULL, thr, NULL};
        rc = run_cmd(dtcl_cmd_train, train);
        if (rc != 0)
            break;
        int eps[2] = {0, atoi(epochs)}, nr;
        DtclEvalOptions eo;
        dtcl_eval_options_default(&eo);
        eo.epochs = eps;
        eo.nepochs = 2;
        if (dtcl_eval_run(runs[k], &eo, NULL, rows[k], 2, &nr, &err) != 0) {
            fprintf(stderr, "dtcl %s: %s\n", cmd, err.msg);
            rc = DTCL_EXIT_FAIL;
        }
    }
    if (rc != 0)
        return rc;
    char path[4300];
    snprintf(path, sizeof path, "%s/demo.txt", dir);
    FILE *f = fopen(path, "w");
    for (int pass = 0; pass < 2; pass++) {
        FILE *o = pass ? f : stdout;
        if (!o)
            continue;
        fprintf(o, "\nLinear evaluation on the three test sets (AUC, mean (std)), after %s epochs;\n"
                   "the untrained encoder (epoch 0) for reference. Synthetic data, so the numbers show the\n"
                   "pipeline working, not the paper's results.\n\n", epochs);
        fprintf(o, "%-12s %-7s %-16s %-16s %-8s\n", "strategy", "labels", "AUC", "AUC at epoch 0", "kNN AUC");
        for (int k = 0; k < 4; k++)
            fprintf(o, "%-12s %-7s %.3f (%.3f)    %.3f (%.3f)    %.3f\n", names[k], labels[k],
                    rows[k][1].mean[DTCL_PROTO_LINEAR], rows[k][1].std[DTCL_PROTO_LINEAR],
                    rows[k][0].mean[DTCL_PROTO_LINEAR], rows[k][0].std[DTCL_PROTO_LINEAR],
                    rows[k][1].mean[DTCL_PROTO_KNN]);
        fprintf(o, "\n%s: %ld s; runs, metrics.csv and eval.csv in %s/\n", quick ? "quick demo" : "demo",
                (long)(time(NULL) - t0), dir);
    }
    if (f)
        fclose(f);
    return DTCL_EXIT_OK;
}
