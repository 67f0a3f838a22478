/* cli_gradcheck.c: `dtcl gradcheck` runs every derivative check of
 * gradcheck.h and prints one row per check; exit 1 on any failure. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "check/gradcheck.h"
#include "transform/stages.h"

static const char *gradcheck_help =
    "Usage: dtcl gradcheck [OPTIONS]\n"
    "Check every derivative: T_Lambda (dT/dlambda_k and the vector-Jacobian products), the losses,\n"
    "the layers, the networks (f, M, g, p, per tensor) and the M step's path M(X) -> T -> f -> g -> L,\n"
    "against central finite differences (in double) of a naive double-precision twin, at random\n"
    "points away from kinks, and the adjoint identity <Jv,w> = <v,J^T w> between the forward-mode\n"
    "and reverse-mode code. One row per check; exit status 1 on any failure.\n"
    "\n"
    "      --size S         image size of the checks (default 24, 4 to 64)\n"
    "      --batch N        images per check (default 3)\n"
    "  -s, --seed N         seed of points, images and directions (default 1)\n"
    "      --only NAME      only this component: {stages}, T, losses,\n"
    "                       layers, networks\n"
    "      --image FILE     use the centre S x S patch of this image (.png or .npy) instead of noise\n"
    "      --device NAME    cpu (default), or cuda: then also the GPU's derivatives against the CPU's\n"
    "                       (the transformation's vector-Jacobian products, every gradient of a\n"
    "                       proposed step; values 1e-5, gradients 1e-4), in rows named cuda ...\n"
    "  -t, --threads N      OpenMP threads\n"
    "  -h, --help           this text\n";

int dtcl_cmd_gradcheck(int argc, char **argv)
{
    static const struct option opts[] = {
        {"size", required_argument, 0, 1},  {"batch", required_argument, 0, 2},
        {"seed", required_argument, 0, 's'}, {"only", required_argument, 0, 3},
        {"image", required_argument, 0, 4}, {"threads", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},      {"device", required_argument, 0, 5},
        {0, 0, 0, 0}};
    const char *cmd = "gradcheck", *only = NULL, *image = NULL;
    DtclGradcheckConfig cfg;
    dtcl_gradcheck_config_default(&cfg);
    long v, threads = 0;
    int c;
    DtclDevice device = DTCL_DEVICE_CPU;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":s:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 1:
            if (dtcl_cli_int_option(cmd, "size", optarg, 4, 64, &v) != 0)
                return DTCL_EXIT_INPUT;
            cfg.size = (int)v;
            break;
        case 2:
            if (dtcl_cli_int_option(cmd, "batch", optarg, 1, 64, &v) != 0)
                return DTCL_EXIT_INPUT;
            cfg.batch = (int)v;
            break;
        case 's':
            if (dtcl_parse_u64(optarg, &cfg.seed) != 0)
                return dtcl_cli_usage_error(cmd, "--seed '%s' is not a non-negative integer", optarg);
            break;
        case 3: only = optarg; break;
        case 4: image = optarg; break;
        case 5:
            if (dtcl_cli_device_option(cmd, optarg, &device) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 't':
            if (dtcl_cli_int_option(cmd, "threads", optarg, 1, 1024, &threads) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 'h': dtcl_cli_help(gradcheck_help); return DTCL_EXIT_OK;
        case ':': return dtcl_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return dtcl_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return dtcl_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    DtclStage one = DTCL_NSTAGES;
    if (only && strcmp(only, "T") != 0 && strcmp(only, "losses") != 0 && strcmp(only, "layers") != 0 &&
        strcmp(only, "networks") != 0) {
        for (int k = 0; k < DTCL_NSTAGES; k++)
            if (strcmp(only, dtcl_stages[k].name) == 0)
                one = (DtclStage)k;
        if (one == DTCL_NSTAGES)
            return dtcl_cli_usage_error(cmd, "--only '%s' is not one of %s, T, losses, layers, networks", only,
                                        dtcl_stage_list());
    }
    dtcl_set_threads((int)threads);

    DtclError err;
    float *patch = NULL, *pixels = NULL;
    if (image) {
        int n, S, single;
        if (dtcl_load_images(image, &pixels, &n, &S, &single, &err) != 0)
            return dtcl_cli_input_error(cmd, &err);
        if (S < cfg.size) {
            free(pixels);
            fprintf(stderr, "dtcl %s: %s: images of %d x %d are smaller than --size %d\n", cmd, image, S, S, cfg.size);
            return DTCL_EXIT_INPUT;
        }
        patch = DTCL_MALLOC(sizeof(float) * cfg.size * cfg.size);
        int off = (S - cfg.size) / 2;
        for (int i = 0; i < cfg.size; i++)
            memcpy(patch + i * cfg.size, pixels + (size_t)(off + i) * S + off, sizeof(float) * cfg.size);
        free(pixels);
        cfg.image = patch;
    }

    DtclCheckTable tab = {0};
    int rc;
    if (!only) {
        rc = dtcl_gradcheck_transforms(&tab, &cfg, &err);
        if (rc == 0)
            rc = dtcl_gradcheck_losses(&tab, &cfg, &err);
        if (rc == 0)
            rc = dtcl_gradcheck_layers(&tab, &cfg, &err);
        if (rc == 0)
            rc = dtcl_gradcheck_networks(&tab, &cfg, &err);
    } else if (strcmp(only, "networks") == 0) {
        rc = dtcl_gradcheck_networks(&tab, &cfg, &err);
    } else if (strcmp(only, "layers") == 0) {
        rc = dtcl_gradcheck_layers(&tab, &cfg, &err);
    } else if (strcmp(only, "losses") == 0) {
        rc = dtcl_gradcheck_losses(&tab, &cfg, &err);
    } else if (one != DTCL_NSTAGES) {
        rc = dtcl_gradcheck_transform(&tab, dtcl_stages[one].name, &one, 1, &cfg, &err);
    } else {
        DtclStage order[DTCL_NSTAGES];
        int n;
        dtcl_transform_parse_order(dtcl_default_order, order, &n, NULL);
        rc = dtcl_gradcheck_transform(&tab, "T (default order)", order, n, &cfg, &err);
    }
    if (rc == 0 && device != DTCL_DEVICE_CPU)
        rc = dtcl_gradcheck_device(&tab, device, &cfg, &err);
    free(patch);
    if (rc != 0) {
        fprintf(stderr, "dtcl %s: %s\n", cmd, err.msg);
        dtcl_check_free(&tab);
        return DTCL_EXIT_FAIL;
    }
    dtcl_check_print(&tab, stdout);
    int bad = dtcl_check_failures(&tab);
    printf("%d checks, %d failed (size %d, batch %d, seed %llu)\n", tab.n, bad, cfg.size, cfg.batch,
           (unsigned long long)cfg.seed);
    dtcl_check_free(&tab);
    return bad ? DTCL_EXIT_FAIL : DTCL_EXIT_OK;
}
