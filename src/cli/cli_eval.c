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
    "Usage: dtcl eval RUN [--data DIR] [--epochs all|N,M,...] [--device cpu|cuda] [--threads N]\n"
    "The paper's linear evaluation of a run's checkpoints: for each hold-out test set (test0..test2),\n"
    "h = f(X) in evaluation mode, standardised; an L2 logistic regression with stratified 3-fold\n"
    "cross-validation inside the test set; the AUC of the held-out folds; mean and std over the sets;\n"
    "and knn_mean, the same with a 10-nearest-neighbour classifier. Prints a table and writes\n"
    "RUN/eval.csv (epoch,test0,test1,test2,mean,std,knn_mean). Features are cached in RUN/features/.\n"
    "\n"
    "  -d, --data DIR        dataset (default: the run's; its split.csv, or the run's seeded split)\n"
    "  -e, --epochs LIST     all (default), or epochs such as 0,50,100\n"
    "      --device NAME     cpu (default) or cuda: h = f(X) on the GPU (a build with --enable-cuda);\n"
    "                        its features are cached apart from the CPU's\n"
    "      --allow-tf32      let cuBLAS use TF32 tensor cores on the GPU (off by default: float32)\n"
    "  -t, --threads N       OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
    "  -h, --help            this text\n";

int dtcl_cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, 0, 'd'}, {"epochs", required_argument, 0, 'e'},
                                         {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
                                         {"device", required_argument, 0, 1},   {"allow-tf32", no_argument, 0, 2},
                                         {0, 0, 0, 0}};
    const char *cmd = "eval", *data = NULL, *eps = NULL;
    long threads = 0;
    int c;
    DtclDevice device = DTCL_DEVICE_CPU;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":d:e:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'e': eps = optarg; break;
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
    if (dtcl_eval_run(argv[optind], data, device, epochs, ne, stdout, NULL, 0, NULL, &err) != 0)
        return dtcl_cli_input_error(cmd, &err);
    return DTCL_EXIT_OK;
}
