/* cli_train.c: `dtcl train` trains one strategy of the paper's comparison
 * into a run folder, or continues one (--resume); see train.h. */
#define _DEFAULT_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "train/train.h"

static const char *train_help =
    "Usage: dtcl train --data DIR --strategy NAME -o RUN [OPTIONS]\n"
    "       dtcl train --resume RUN [--epochs N] [--threads N] [--quiet]\n"
    "Train the encoder (and, for ssl and proposed, the transformation network M) with one strategy of\n"
    "the paper: per batch M proposes Lambda (or it is drawn), T makes X_M, the M step, then the encoder\n"
    "step. RUN receives config.json, split.csv, metrics.csv and checkpoints/.\n"
    "\n"
    "  -d, --data DIR           dataset folder (images.npy, meta.csv, optional split.csv)\n"
    "  -S, --strategy NAME      {strategies}\n"
    "  -o, --output RUN         the run folder to create (never overwritten)\n"
    "  -r, --resume RUN         continue RUN from its newest checkpoint\n"
    "      --alpha LIST         a0,a1,a2,a3,a4 (default: the strategy's row of SPEC section 4)\n"
    "      --lr-f X             learning rate of f, g and p (default 1e-4)\n"
    "      --lr-m X             learning rate of M (default 1e-3 when a1 > 0, else 1e-4)\n"
    "  -b, --batch N            images per batch (default 32; 16 with densenet121)\n"
    "  -e, --epochs N           epochs (default 100)\n"
    "      --label-fraction X   labelled share of training when the split is drawn (default 0.1)\n"
    "      --tau X              temperature of the similarity (default 1)\n"
    "      --similarity NAME    cosine (default: L2-normalised embeddings, as SimCLR) or dot (the\n"
    "                           paper's formula read literally; unbounded below with --nce paper)\n"
    "      --nce NAME           paper, simclr, or supcon (Khosla et al.: the labelled images of a\n"
    "                           class are positives of each other) (default paper)\n"
    "      --order LIST         order of T's stages, each stage at most once\n"
    "                           (default {order})\n"
    "      --encoder NAME       fcn (the MRI encoder) or densenet121 (the chest X-ray encoder)\n"
    "                           (default fcn)\n"
    "      --widths LIST        the fcn encoder's widths (default 32,64,128,256)\n"
    "      --init FILE          start f from the f.* tensors of FILE (safetensors: a dtcl checkpoint,\n"
    "                           or weights converted by ref/convert_densenet.py) instead of the seed\n"
    "  -s, --seed N             seed of initialisation, split, shuffling and draws (default 1)\n"
    "      --split-seed N       seed of the drawn train/val/test split instead (default: --seed)\n"
    "      --label-seed N       seed of the labelled subset instead; with a split.csv, redraws its\n"
    "                           labelled column (default: --seed, or split.csv's column)\n"
    "      --train-fraction X   train on this share of the training images, drawn from the split\n"
    "                           seed (default 1)\n"
    "      --save-every N       keep checkpoints/epoch-NNN every N epochs (default 10); the last\n"
    "                           epoch is always kept; checkpoints/last.safetensors holds the state of the\n"
    "                           latest epoch between kept ones\n"
    "      --device NAME        cpu (default) or cuda: the steps and the validation on the GPU\n"
    "                           (a build with --enable-cuda)\n"
    "      --allow-tf32         let cuBLAS use TF32 tensor cores on the GPU (off by default: float32)\n"
    "  -t, --threads N          OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
    "  -q, --quiet              no progress lines\n"
    "  -h, --help               this text\n";

static void on_sigint(int sig)
{
    (void)sig;
    dtcl_train_stop = 1;
}

int dtcl_cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'},     {"strategy", required_argument, 0, 'S'},
        {"output", required_argument, 0, 'o'},   {"resume", required_argument, 0, 'r'},
        {"alpha", required_argument, 0, 1},      {"lr-f", required_argument, 0, 2},
        {"lr-m", required_argument, 0, 3},       {"batch", required_argument, 0, 'b'},
        {"epochs", required_argument, 0, 'e'},   {"label-fraction", required_argument, 0, 4},
        {"tau", required_argument, 0, 5},        {"similarity", required_argument, 0, 6},
        {"nce", required_argument, 0, 7},        {"order", required_argument, 0, 8},
        {"widths", required_argument, 0, 9},     {"seed", required_argument, 0, 's'},
        {"save-every", required_argument, 0, 10}, {"device", required_argument, 0, 11},
        {"threads", required_argument, 0, 't'},  {"quiet", no_argument, 0, 'q'},
        {"split-seed", required_argument, 0, 12}, {"label-seed", required_argument, 0, 13},
        {"train-fraction", required_argument, 0, 14}, {"encoder", required_argument, 0, 15},
        {"init", required_argument, 0, 16},      {"allow-tf32", no_argument, 0, 17},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *cmd = "train", *data = NULL, *strategy = NULL, *out = NULL, *resume = NULL, *alpha = NULL;
    DtclTrainConfig c;
    dtcl_train_config_default(&c, DTCL_STRATEGY_PROPOSED);
    long batch = -1, epochs = -1, threads = 0, save_every = -1;
    double lr_f = -1, lr_m = -1, frac = -1, tau = -1, train_frac = -1;
    uint64_t split_seed = 0, label_seed = 0;
    const char *sim = NULL, *nce = NULL, *order = NULL, *widths = NULL, *encoder = NULL, *init = NULL;
    uint64_t seed = 1;
    int seed_set = 0, quiet = 0, other = 0, tf32 = 0, ch;
    DtclDevice device = DTCL_DEVICE_CPU;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":d:S:o:r:b:e:s:t:qh", opts, NULL)) != -1) {
        other += ch != 'e' && ch != 't' && ch != 'q' && ch != 'r' && ch != 11 && ch != 17;
        switch (ch) {
        case 'd': data = optarg; break;
        case 'S': strategy = optarg; break;
        case 'o': out = optarg; break;
        case 'r': resume = optarg; break;
        case 1: alpha = optarg; break;
        case 2:
            if (dtcl_parse_double(optarg, 1e-12, 10, &lr_f) != 0)
                return dtcl_cli_usage_error(cmd, "--lr-f '%s' is not a number in (0, 10]", optarg);
            break;
        case 3:
            if (dtcl_parse_double(optarg, 1e-12, 10, &lr_m) != 0)
                return dtcl_cli_usage_error(cmd, "--lr-m '%s' is not a number in (0, 10]", optarg);
            break;
        case 'b':
            if (dtcl_cli_int_option(cmd, "batch", optarg, 2, 4096, &batch) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 'e':
            if (dtcl_cli_int_option(cmd, "epochs", optarg, 0, 100000, &epochs) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 4:
            if (dtcl_parse_double(optarg, 0, 1, &frac) != 0)
                return dtcl_cli_usage_error(cmd, "--label-fraction '%s' is not a number from 0 to 1", optarg);
            break;
        case 5:
            if (dtcl_parse_double(optarg, 1e-6, 1e6, &tau) != 0)
                return dtcl_cli_usage_error(cmd, "--tau '%s' is not a positive number", optarg);
            break;
        case 6: sim = optarg; break;
        case 7: nce = optarg; break;
        case 8: order = optarg; break;
        case 9: widths = optarg; break;
        case 15: encoder = optarg; break;
        case 16: init = optarg; break;
        case 's':
            if (dtcl_parse_u64(optarg, &seed) != 0)
                return dtcl_cli_usage_error(cmd, "--seed '%s' is not a non-negative integer", optarg);
            seed_set = 1;
            break;
        case 10:
            if (dtcl_cli_int_option(cmd, "save-every", optarg, 1, 100000, &save_every) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 12:
        case 13:
            if (dtcl_parse_u64(optarg, ch == 12 ? &split_seed : &label_seed) != 0 || (ch == 12 ? split_seed : label_seed) == 0)
                return dtcl_cli_usage_error(cmd, "--%s '%s' is not a positive integer",
                                            ch == 12 ? "split-seed" : "label-seed", optarg);
            break;
        case 14:
            if (dtcl_parse_double(optarg, 1e-6, 1, &train_frac) != 0)
                return dtcl_cli_usage_error(cmd, "--train-fraction '%s' is not a number in (0, 1]", optarg);
            break;
        case 11:
            if (dtcl_cli_device_option(cmd, optarg, &device) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 17: tf32 = 1; break;
        case 't':
            if (dtcl_cli_int_option(cmd, "threads", optarg, 1, 1024, &threads) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 'q': quiet = 1; break;
        case 'h': dtcl_cli_help(train_help); return DTCL_EXIT_OK;
        case ':': return dtcl_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return dtcl_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return dtcl_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    DtclError err;
    if (resume) {
        if (other)
            return dtcl_cli_usage_error(cmd, "--resume takes only --epochs, --threads, --device, --allow-tf32 and "
                                             "--quiet: the rest is in the run's config.json");
        if (dtcl_train_config_load(resume, &c, &err) != 0)
            return dtcl_cli_input_error(cmd, &err);
        out = resume;
    } else {
        if (!data || !strategy || !out)
            return dtcl_cli_usage_error(cmd, "--data, --strategy and --output are required (or --resume RUN)");
        DtclStrategy st;
        if (dtcl_strategy_parse(strategy, &st) != 0)
            return dtcl_cli_usage_error(cmd, "--strategy '%s' is not one of %s", strategy, dtcl_strategy_list());
        dtcl_train_config_default(&c, st);
        /* config.json records the absolute path: eval and resume may run elsewhere */
        char *abs = realpath(data, NULL);
        snprintf(c.data, sizeof c.data, "%s", abs ? abs : data);
        free(abs);
        if (alpha) {
            double a[5];
            if (dtcl_parse_list(alpha, a, 5) != 5)
                return dtcl_cli_usage_error(cmd, "--alpha '%s' is not five numbers a0,a1,a2,a3,a4", alpha);
            for (int k = 0; k < 5; k++) {
                if (!(a[k] >= 0 && a[k] <= 1e6))
                    return dtcl_cli_usage_error(cmd, "--alpha: %g is not a number from 0 to 1e6", a[k]);
                c.alpha[k] = a[k];
            }
        }
        if (lr_f > 0)
            c.lr_f = lr_f;
        if (lr_m > 0)
            c.lr_m = lr_m;
        if (encoder && dtcl_cli_encoder_option(cmd, encoder, &c.encoder) != 0)
            return DTCL_EXIT_INPUT;
        if (widths && c.encoder != DTCL_ENCODER_FCN)
            return dtcl_cli_usage_error(cmd, "--widths applies to the fcn encoder only");
        c.batch = dtcl_encoder_default_batch(c.encoder);
        if (init && dtcl_cli_file_option(cmd, "init", init, c.init, sizeof c.init) != 0)
            return DTCL_EXIT_INPUT;
        if (batch > 0)
            c.batch = (int)batch;
        if (frac >= 0)
            c.label_fraction = frac;
        if (tau > 0)
            c.nce.tau = tau;
        if (sim && dtcl_similarity_parse(sim, &c.nce.sim) != 0)
            return dtcl_cli_usage_error(cmd, "--similarity '%s' is not dot or cosine", sim);
        if (nce && dtcl_nce_kind_parse(nce, &c.nce.kind) != 0)
            return dtcl_cli_usage_error(cmd, "--nce '%s' is not paper, simclr or supcon", nce);
        if (order) {
            DtclStage o[DTCL_NSTAGES];
            int n;
            if (dtcl_transform_parse_order(order, o, &n, &err) != 0)
                return dtcl_cli_usage_error(cmd, "--order: %s", err.msg);
            snprintf(c.order, sizeof c.order, "%s", order);
        }
        if (widths) {
            DtclModelConfig mc;
            if (dtcl_model_parse_widths(widths, &mc, &err) != 0)
                return dtcl_cli_usage_error(cmd, "--%s", err.msg);
            snprintf(c.widths, sizeof c.widths, "%s", widths);
        }
        if (seed_set)
            c.seed = seed;
        c.split_seed = split_seed;
        c.label_seed = label_seed;
        if (train_frac > 0)
            c.train_fraction = train_frac;
        if (save_every > 0)
            c.save_every = (int)save_every;
    }
    if (epochs >= 0)
        c.epochs = (int)epochs;
    c.quiet = quiet;
    c.device = device;
    dtcl_device_allow_tf32(tf32);
    dtcl_set_threads((int)threads);
    signal(SIGINT, on_sigint);
    int interrupted;
    int rc = dtcl_train_run(&c, out, resume != NULL, &interrupted, &err);
    signal(SIGINT, SIG_DFL);
    if (rc == -1)
        return dtcl_cli_input_error(cmd, &err);
    if (rc == -2) {
        fprintf(stderr, "dtcl %s: %s\n", cmd, err.msg);
        return DTCL_EXIT_FAIL;
    }
    return interrupted ? 130 : DTCL_EXIT_OK;
}
