/* cli_figures.c: `dtcl figures` draws the paper's figures from an experiment
 * or a run folder; see figures.h. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "eval/figures.h"

static const char *figures_help =
    "Usage: dtcl figures RUN_OR_EXPERIMENT -o DIR [--epoch E] [--images N]\n"
    "Draw the paper's figures as PNG files in DIR: fig2.png (AUC against epoch per strategy, bands of\n"
    "one standard deviation, supervised reference lines; auc.png for a single run), fig3.png and\n"
    "fig3-grid.png (test slices transformed by each strategy's Lambda, tumour outlined in red when the\n"
    "dataset has masks.npy), fig3-lambda.csv, and for runs with M lambda-NAME.png (histograms of each\n"
    "lambda_k per class) and lambda-NAME-training.png (per class over training). Needs gnuplot\n"
    "(pngcairo) for everything but the grid.\n"
    "\n"
    "  -o, --output DIR     the folder for the figures (created if needed; files replaced)\n"
    "  -e, --epoch E        the epoch of fig3 and the histograms (default: the last saved)\n"
    "      --images N       rows of fig3 (default 4, at most 64)\n"
    "  -t, --threads N      OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
    "  -h, --help           this text\n";

int dtcl_cmd_figures(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, 0, 'o'}, {"epoch", required_argument, 0, 'e'},
                                         {"images", required_argument, 0, 1},   {"threads", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *cmd = "figures", *out = NULL;
    DtclFiguresOptions o = {-1, 4};
    long v, threads = 0;
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":o:e:t:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'e':
            if (dtcl_cli_int_option(cmd, "epoch", optarg, 0, 100000, &v) != 0)
                return DTCL_EXIT_INPUT;
            o.epoch = (int)v;
            break;
        case 1:
            if (dtcl_cli_int_option(cmd, "images", optarg, 1, 64, &v) != 0)
                return DTCL_EXIT_INPUT;
            o.images = (int)v;
            break;
        case 't':
            if (dtcl_cli_int_option(cmd, "threads", optarg, 1, 1024, &threads) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 'h': dtcl_cli_help(figures_help); return DTCL_EXIT_OK;
        case ':': return dtcl_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return dtcl_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return dtcl_cli_usage_error(cmd, optind >= argc ? "which run or experiment folder?" : "unexpected argument '%s'",
                                    argv[argc - 1]);
    if (!out)
        return dtcl_cli_usage_error(cmd, "--output DIR is required");
    dtcl_set_threads((int)threads);
    DtclError err;
    int rc = dtcl_figures(argv[optind], out, &o, stdout, &err);
    if (rc == -1)
        return dtcl_cli_input_error(cmd, &err);
    if (rc == -2) {
        fprintf(stderr, "dtcl %s: %s\n", cmd, err.msg);
        return DTCL_EXIT_FAIL;
    }
    return DTCL_EXIT_OK;
}
