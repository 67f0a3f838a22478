/* cli_experiment.c: `dtcl experiment` runs the paper's experiments (Table 2,
 * Fig. 2, the order ablation, SupCon) at any scale; see experiment.h. */
#define _DEFAULT_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "eval/experiment.h"
#include "nets/model.h"
#include "train/train.h"

static const char *experiment_help =
    "Usage: dtcl experiment table2|fig2|order|supcon|all|demo --data DIR -o OUT [OPTIONS]\n"
    "       dtcl experiment report OUT\n"
    "Train and evaluate the configurations of one of the paper's experiments, each repeated over\n"
    "supervision sets, into OUT/<configuration>/<repeat>/, under every protocol of `dtcl eval' (the\n"
    "paper's linear evaluation, kNN, probes on 10% and 1% of the labels), and write OUT/results.csv,\n"
    "summary.csv, a markdown table per experiment beside the paper's numbers with the untrained\n"
    "encoder as a row, and verdicts.md/.csv: each of the paper's comparisons as a paired AUC\n"
    "difference with a 95% interval (bootstrap over test patients, spread over repeats) and a\n"
    "verdict. Rerunning the command skips finished runs and resumes unfinished ones; `report' only\n"
    "rewrites the tables and verdicts.\n"
    "  table2  proposed and random-sup with the paper's alpha rows, and simclr\n"
    "  fig2    random, random-sup, ssl, proposed, simclr; supervised with 10% and 100% labels\n"
    "  order   simclr and proposed with the default and the reversed order of T's steps\n"
    "  supcon  the supervised contrastive loss with 10% labels, and proposed\n"
    "  all     the four\n"
    "  demo    proposed, simclr, supervised with 10% and 100% labels (what `dtcl demo' runs)\n"
    "\n"
    "  -d, --data DIR         dataset folder (images.npy, meta.csv, optional split.csv)\n"
    "  -o, --output OUT       the experiment folder (new or empty, or one to continue)\n"
    "  -e, --epochs N         epochs of every run (default 100, the paper's)\n"
    "      --eval-every K     checkpoints evaluated every K epochs, 0 and the last included (default 10)\n"
    "      --repeats R        supervision sets per configuration (default 3)\n"
    "  -b, --batch N          images per batch (default 32; 16 with densenet121)\n"
    "      --encoder NAME     fcn or densenet121 (default fcn)\n"
    "      --widths LIST      the fcn encoder's widths (default 32,64,128,256)\n"
    "      --init FILE        every run's f starts from FILE's f.* tensors (see dtcl train --init)\n"
    "      --similarity NAME  cosine (default) or dot, for every run (see dtcl train)\n"
    "      --tau X            temperature of the similarity (default 1)\n"
    "      --nce NAME         paper (default) or simclr: the contrastive loss of every run but the\n"
    "                         SupCon configuration\n"
    "      --lr-f X           f's learning rate in every run (default 1e-4, the paper's)\n"
    "  -s, --seed N           base seed: repeat r uses N + r; the split always uses N (default 1)\n"
    "      --budget MINUTES   time a few steps, then scale epochs (and, if needed, the training set)\n"
    "                         so that the whole experiment fits in MINUTES; says what it scaled\n"
    "      --device NAME      cpu (default) or cuda: train and evaluate on the GPU (see dtcl train)\n"
    "      --allow-tf32       let cuBLAS use TF32 tensor cores on the GPU (off by default: float32)\n"
    "  -t, --threads N        OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
    "  -q, --quiet            no progress line on stderr (a live line on a terminal: the run, its step,\n"
    "                         images/s, the ETA of the run and of the whole experiment; else a line per\n"
    "                         run and one a minute)\n"
    "  -h, --help             this text\n";

static volatile int stop_requested;

static void on_sigint(int sig)
{
    (void)sig;
    dtcl_train_stop = 1;
    stop_requested = 1;
}

int dtcl_cmd_experiment(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'},  {"output", required_argument, 0, 'o'},
        {"epochs", required_argument, 0, 'e'}, {"eval-every", required_argument, 0, 1},
        {"repeats", required_argument, 0, 2}, {"batch", required_argument, 0, 'b'},
        {"widths", required_argument, 0, 3},  {"seed", required_argument, 0, 's'},
        {"budget", required_argument, 0, 4},  {"threads", required_argument, 0, 't'},
        {"encoder", required_argument, 0, 5}, {"init", required_argument, 0, 6},
        {"device", required_argument, 0, 7}, {"allow-tf32", no_argument, 0, 8},
        {"similarity", required_argument, 0, 9}, {"tau", required_argument, 0, 10},
        {"nce", required_argument, 0, 11},    {"quiet", no_argument, 0, 'q'},
        {"lr-f", required_argument, 0, 12},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    const char *cmd = "experiment", *data = NULL, *out = NULL;
    DtclExperimentOptions o;
    dtcl_experiment_options_default(&o);
    long v, threads = 0;
    double budget;
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":d:o:e:b:s:t:qh", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': data = optarg; break;
        case 'o': out = optarg; break;
        case 'e':
            if (dtcl_cli_int_option(cmd, "epochs", optarg, 1, 100000, &v) != 0)
                return DTCL_EXIT_INPUT;
            o.epochs = (int)v;
            o.given_epochs = 1;
            break;
        case 1:
            if (dtcl_cli_int_option(cmd, "eval-every", optarg, 1, 100000, &v) != 0)
                return DTCL_EXIT_INPUT;
            o.eval_every = (int)v;
            o.given_eval_every = 1;
            break;
        case 2:
            if (dtcl_cli_int_option(cmd, "repeats", optarg, 1, 100, &v) != 0)
                return DTCL_EXIT_INPUT;
            o.repeats = (int)v;
            break;
        case 'b':
            if (dtcl_cli_int_option(cmd, "batch", optarg, 2, 4096, &v) != 0)
                return DTCL_EXIT_INPUT;
            o.batch = (int)v;
            o.given_batch = 1;
            break;
        case 3: {
            DtclModelConfig mc;
            DtclError e;
            if (dtcl_model_parse_widths(optarg, &mc, &e) != 0)
                return dtcl_cli_usage_error(cmd, "--%s", e.msg);
            snprintf(o.widths, sizeof o.widths, "%s", optarg);
            o.given_widths = 1;
            break;
        }
        case 's':
            if (dtcl_parse_u64(optarg, &o.seed) != 0 || o.seed == 0 || o.seed > (1ULL << 62))
                return dtcl_cli_usage_error(cmd, "--seed '%s' is not an integer from 1 to 2^62", optarg);
            o.given_seed = 1;
            break;
        case 4:
            if (dtcl_parse_double(optarg, 0.01, 1e7, &budget) != 0)
                return dtcl_cli_usage_error(cmd, "--budget '%s' is not a number of minutes from 0.01 to 1e7", optarg);
            o.budget_minutes = budget;
            break;
        case 5:
            if (dtcl_cli_encoder_option(cmd, optarg, &o.encoder) != 0)
                return DTCL_EXIT_INPUT;
            o.given_encoder = 1;
            break;
        case 6:
            if (dtcl_cli_file_option(cmd, "init", optarg, o.init, sizeof o.init) != 0)
                return DTCL_EXIT_INPUT;
            o.given_init = 1;
            break;
        case 't':
            if (dtcl_cli_int_option(cmd, "threads", optarg, 1, 1024, &threads) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 7:
            if (dtcl_cli_device_option(cmd, optarg, &o.device) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 8: dtcl_device_allow_tf32(1); break;
        case 9:
            if (dtcl_similarity_parse(optarg, &o.nce.sim) != 0)
                return dtcl_cli_usage_error(cmd, "--similarity '%s' is not dot or cosine", optarg);
            o.given_nce = 1;
            break;
        case 10:
            if (dtcl_parse_double(optarg, 1e-3, 1e3, &o.nce.tau) != 0)
                return dtcl_cli_usage_error(cmd, "--tau '%s' is not a number from 0.001 to 1000", optarg);
            o.given_nce = 1;
            break;
        case 11:
            if (dtcl_nce_kind_parse(optarg, &o.nce.kind) != 0 || o.nce.kind == DTCL_NCE_SUPCON)
                return dtcl_cli_usage_error(cmd, "--nce '%s' is not paper or simclr (SupCon is its own "
                                                 "configuration)", optarg);
            o.given_nce = 1;
            break;
        case 'q': o.quiet = 1; break;
        case 12:
            if (dtcl_parse_double(optarg, 1e-12, 0.999999, &o.lr_f) != 0)
                return dtcl_cli_usage_error(cmd, "--lr-f '%s' is not a learning rate in (0, 1)", optarg);
            o.given_lr_f = 1;
            break;
        case 'h': dtcl_cli_help(experiment_help); return DTCL_EXIT_OK;
        case ':': return dtcl_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return dtcl_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return dtcl_cli_usage_error(cmd, "which experiment? table2, fig2, order, supcon, all, demo (or report OUT)");
    const char *name = argv[optind++];
    DtclError err;
    if (strcmp(name, "report") == 0) {
        if (optind >= argc && !out)
            return dtcl_cli_usage_error(cmd, "report needs the experiment folder");
        const char *dir = out ? out : argv[optind++];
        if (optind < argc)
            return dtcl_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
        if (dtcl_experiment_report(dir, -1, stdout, &err) != 0)
            return dtcl_cli_input_error(cmd, &err);
        return DTCL_EXIT_OK;
    }
    o.which = dtcl_experiment_parse(name);
    if (!o.which)
        return dtcl_cli_usage_error(cmd, "'%s' is not table2, fig2, order, supcon, all, demo or report", name);
    if (optind < argc)
        return dtcl_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!data || !out)
        return dtcl_cli_usage_error(cmd, "--data and --output are required");
    if (o.given_widths && o.encoder != DTCL_ENCODER_FCN)
        return dtcl_cli_usage_error(cmd, "--widths applies to the fcn encoder only");
    snprintf(o.data, sizeof o.data, "%s", data);
    snprintf(o.out, sizeof o.out, "%s", out);
    dtcl_set_threads((int)threads);
    signal(SIGINT, on_sigint);
    int rc = dtcl_experiment_run(&o, stderr, &err);
    signal(SIGINT, SIG_DFL);
    if (rc == -1)
        return dtcl_cli_input_error(cmd, &err);
    DtclError rerr;
    if (dtcl_experiment_report(o.out, o.which, rc == 1 ? NULL : stdout, &rerr) != 0) {
        fprintf(stderr, "dtcl %s: %s\n", cmd, rerr.msg);
        return DTCL_EXIT_FAIL;
    }
    if (rc == -2) {
        fprintf(stderr, "dtcl %s: %s\n", cmd, err.msg);
        return DTCL_EXIT_FAIL;
    }
    return rc == 1 || stop_requested ? 130 : DTCL_EXIT_OK;
}
