/* cli_eval.c: `dtcl eval RUN` runs the linear evaluation (SPEC section 6) on
 * a run's checkpoints; see eval.h. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "eval/eval.h"

static const char *eval_help =
    "Usage: dtcl eval RUN [--data DIR] [--epochs all|N,M,...] [--protocols LIST] [--device cpu|cuda]\n"
    "                     [--threads N] [--quiet]\n"
    "Evaluate a run's checkpoints on its hold-out test sets (test0..test2). h = f(X) in evaluation mode,\n"
    "projection head removed; each protocol scores every test image, a test set's AUC is that of its\n"
    "scores, and the table gives the mean and std over the test sets:\n"
    "  linear   the paper's linear evaluation (section 2.4): an L2 logistic regression on h, standardised,\n"
    "           stratified 3-fold cross-validation inside each test set (the headline)\n"
    "  linear-grouped  the same with whole patients in each fold (the paper's folds put slices of one\n"
    "           patient on both sides)\n"
    "  knn      the same folds with a 10-nearest-neighbour classifier (cosine similarity)\n"
    "  probe10  the logistic regression fitted on the training images a 10% run sees the labels of\n"
    "           (the run's label seed), scored on each test set\n"
    "  probe1   the same with 1% of the training labels (a subset of probe10's)\n"
    "Writes RUN/eval.csv (epoch, then PREFIXtest0..2, PREFIXmean, PREFIXstd for each protocol, the\n"
    "prefix empty for linear, grouped_, knn_, probe10_, probe1_) and RUN/scores/epoch-NNN.csv (every\n"
    "test image's score: id,test,patient,label, a column per protocol). Features are cached in\n"
    "RUN/features/.\n"
    "\n"
    "  -d, --data DIR        dataset (default: the run's; its split.csv, or the run's seeded split)\n"
    "  -e, --epochs LIST     all (default), or epochs such as 0,50,100\n"
    "  -p, --protocols LIST  all (default), or some of {protocols}; the others keep what an earlier\n"
    "                        evaluation wrote\n"
    "      --device NAME     cpu (default) or cuda: h = f(X) on the GPU (a build with --enable-cuda);\n"
    "                        its features are cached apart from the CPU's\n"
    "      --allow-tf32      let cuBLAS use TF32 tensor cores on the GPU (off by default: float32)\n"
    "  -t, --threads N       OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
    "  -q, --quiet           no progress line on stderr (the table still goes to stdout)\n"
    "  -h, --help            this text\n";

int dtcl_cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, 0, 'd'}, {"epochs", required_argument, 0, 'e'},
                                         {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
                                         {"device", required_argument, 0, 1},   {"allow-tf32", no_argument, 0, 2},
                                         {"protocols", required_argument, 0, 'p'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {0, 0, 0, 0}};
    const char *cmd = "eval", *data = NULL, *eps = NULL;
    long threads = 0;
    int c;
    unsigned protocols = ~0u;
    int quiet = 0;
    char msg[512];
    DtclDevice device = DTCL_DEVICE_CPU;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":d:e:p:t:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'e': eps = optarg; break;
        case 'q': quiet = 1; break;
        case 'p':
            protocols = dtcl_protocol_parse(optarg, msg, sizeof msg);
            if (!protocols)
                return dtcl_cli_usage_error(cmd, "--protocols: %s", msg);
            break;
        case 't':
            if (dtcl_cli_int_option(cmd, "threads", optarg, 1, 1024, &threads) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 1:
            if (dtcl_cli_device_option(cmd, optarg, &device) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 2: dtcl_device_allow_tf32(1); break;
        case 'h': dtcl_cli_help(eval_help); return DTCL_EXIT_OK;
        case ':': return dtcl_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return dtcl_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc)
        return dtcl_cli_usage_error(cmd, "expected one RUN folder");
    int epochs[256], ne = 0;
    if (eps && strcmp(eps, "all") != 0) {
        double v[256];
        ne = dtcl_parse_list(eps, v, 256);
        if (ne <= 0)
            return dtcl_cli_usage_error(cmd, "--epochs '%s' is not 'all' or a list of epochs", eps);
        for (int i = 0; i < ne; i++) {
            if (v[i] < 0 || v[i] > 100000 || v[i] != (int)v[i])
                return dtcl_cli_usage_error(cmd, "--epochs: %g is not an epoch number", v[i]);
            epochs[i] = (int)v[i];
        }
    }
    dtcl_set_threads((int)threads);
    DtclError err;
    DtclProgress pg;
    dtcl_progress_begin(&pg, "dtcl eval", quiet, 1);
    dtcl_progress_task(&pg, 1, "%s", argv[optind]);
    DtclEvalOptions o;
    dtcl_eval_options_default(&o);
    o.data = data;
    o.device = device;
    o.epochs = epochs;
    o.nepochs = ne;
    o.protocols = protocols;
    o.progress = &pg;
    int rc = dtcl_eval_run(argv[optind], &o, stdout, NULL, 0, NULL, &err);
    dtcl_progress_end(&pg);
    if (rc != 0)
        return dtcl_cli_input_error(cmd, &err);
    return DTCL_EXIT_OK;
}
