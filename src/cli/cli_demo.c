/* cli_demo.c: `dtcl demo` shows the method end to end in a few minutes:
 * a synthetic brain set built so that training has something to add
 * (synth.h), the experiment "demo" (proposed, simclr, supervised with 10%
 * and 100% of the labels; experiment.h) trained and evaluated with a
 * progress line, the table of what training adds over the untrained
 * encoder with paired intervals (demo.md), and Fig. 2 and Fig. 3. It runs
 * the code of `dtcl synth`, `dtcl experiment` and `dtcl figures`, into a new
 * folder. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "base/clock.h"
#include "base/progress.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "eval/experiment.h"
#include "eval/figures.h"

static const char *demo_help =
    "Usage: dtcl demo [--quick] [--output DIR] [--threads N] [--quiet]\n"
    "Synthesise a brain-like dataset (2000 slices of 48x48 from 100 patients, ring-enhancing lesions\n"
    "that an untrained encoder does not give away; see dtcl synth --help), train proposed, simclr,\n"
    "and supervised with 10% and with 100% of the labels (6 epochs, f's learning rate 1e-3), evaluate\n"
    "every 2 epochs, and print what training adds over the untrained encoder, with 95% intervals.\n"
    "Writes DIR/fig2.png (AUC against epoch, a panel per protocol) and DIR/fig3.png (what each\n"
    "strategy does to the same slices, the lesions outlined). About 4 minutes on 2 cores; --quick\n"
    "takes under a minute on a smaller set and smaller networks. Everything is kept in DIR (default:\n"
    "dtcl-demo, or dtcl-demo-2, -3, ... when it exists).\n"
    "\n"
    "      --quick          400 slices of 32x32 from 40 patients, widths 8,16,32, 2 epochs\n"
    "  -o, --output DIR     the folder to create (never overwritten)\n"
    "  -t, --threads N      OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
    "  -q, --quiet          no progress line\n"
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

/* Prints a file on out. */
static void cat(const char *path, FILE *out)
{
    FILE *f = fopen(path, "r");
    char buf[4096];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, out);
    if (f)
        fclose(f);
}

int dtcl_cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {{"quick", no_argument, 0, 'Q'},         {"output", required_argument, 0, 'o'},
                                         {"threads", required_argument, 0, 't'}, {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *cmd = "demo", *outarg = NULL;
    long threads = 0;
    int quick = 0, quiet = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:t:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'Q': quick = 1; break;
        case 'o': outarg = optarg; break;
        case 't':
            if (dtcl_cli_int_option(cmd, "threads", optarg, 1, 1024, &threads) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 'q': quiet = 1; break;
        case 'h': dtcl_cli_help(demo_help); return DTCL_EXIT_OK;
        case ':': return dtcl_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return dtcl_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return dtcl_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    char dir[2048];
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
    dtcl_set_threads((int)threads);
    double t0 = dtcl_now_s();
    char data[2200], exp[2200];
    snprintf(data, sizeof data, "%s/brain", dir);
    snprintf(exp, sizeof exp, "%s/runs", dir);
    const char *patients = quick ? "40" : "100", *slices = quick ? "10" : "20", *size = quick ? "32" : "48";

    /* the progress of the whole demo: the set and the figures (a few seconds each), then the runs, whose
     * cost the experiment measures and adds */
    DtclProgress pg;
    dtcl_progress_begin(&pg, "dtcl demo", quiet, quick ? 4 : 15);
    dtcl_progress_task(&pg, quick ? 1 : 5, "synthetic brain slices into %s", data);
    const char *synth[] = {"synth", "--kind", "brain", "-o", data, "--patients", patients, "--slices-per-patient",
                           slices, "--size", size, "--seed", "1", "--no-auc", NULL};
    int rc = run_cmd(dtcl_cmd_synth, synth); /* prints what it wrote */
    fflush(stdout);
    dtcl_progress_task_end(&pg);
    if (rc != 0)
        return rc;

    DtclExperimentOptions o;
    dtcl_experiment_options_default(&o);
    snprintf(o.data, sizeof o.data, "%s", data);
    snprintf(o.out, sizeof o.out, "%s", exp);
    o.which = DTCL_EXP_DEMO;
    o.epochs = quick ? 2 : 6;
    o.eval_every = quick ? 1 : 2;
    o.repeats = 1;
    o.batch = quick ? 16 : 32;
    snprintf(o.widths, sizeof o.widths, "%s", quick ? "8,16,32" : "16,32,64,128");
    o.lr_f = 1e-3; /* ten times the paper's: the demo's few epochs are enough for supervised training */
    o.progress = &pg;
    int erc = dtcl_experiment_run(&o, NULL, &err);
    if (erc == 0)
        erc = dtcl_experiment_report(exp, DTCL_EXP_DEMO, NULL, &err);
    if (erc != 0) {
        dtcl_progress_end(&pg);
        if (erc == 1)
            return 130;
        fprintf(stderr, "dtcl %s: %s\n", cmd, err.msg);
        return erc == -1 ? DTCL_EXIT_INPUT : DTCL_EXIT_FAIL;
    }
    dtcl_progress_task(&pg, quick ? 1 : 5, "figures into %s", dir);
    DtclFiguresOptions fo = {-1, 4};
    FILE *flog = fopen("/dev/null", "w");
    int frc = dtcl_figures(exp, dir, &fo, flog, &err);
    if (flog)
        fclose(flog);
    dtcl_progress_task_end(&pg);
    dtcl_progress_end(&pg);

    char path[4400];
    snprintf(path, sizeof path, "%s/demo.md", exp);
    printf("\n");
    cat(path, stdout);
    printf("\nSynthetic data (dtcl synth --help): the numbers show what the method and its evaluation do, not the "
           "paper's results.\n%s: %.0f s. Runs, eval.csv, verdicts.md in %s/\n", quick ? "quick demo" : "demo",
           dtcl_now_s() - t0, exp);
    if (frc != 0) {
        fprintf(stderr, "dtcl %s: figures: %s\n", cmd, err.msg);
        return frc == -1 ? DTCL_EXIT_INPUT : DTCL_EXIT_FAIL;
    }
    printf("%s/fig2.png  AUC against epoch, a panel per protocol, the untrained encoder dotted\n"
           "%s/fig3.png  the same test slices transformed by each strategy, lesions outlined in red\n",
           dir, dir);
    return DTCL_EXIT_OK;
}
