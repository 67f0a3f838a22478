/* main.c: `dtcl COMMAND [OPTIONS]` (SPEC section 10). Exit status 0 on
 * success, 1 on failure at run time, 2 on bad usage or bad input. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "backend/device.h"
#include "base/error.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"transform", dtcl_cmd_transform, "apply T_Lambda to images; write dT/dlambda with --jacobian"},
    {"gradcheck", dtcl_cmd_gradcheck, "check every derivative against finite differences"},
    {"synth", dtcl_cmd_synth, "write a synthetic brain or chest dataset, reproducible from a seed"},
    {"import", dtcl_cmd_import, "build a dataset from BraTS volumes or PNG images"},
    {"split", dtcl_cmd_split, "write patient-disjoint test, validation and training splits"},
    {"info", dtcl_cmd_info, "validate and describe a dataset folder or a .npy file"},
    {"demo", dtcl_cmd_demo, "the whole method on a synthetic set in minutes (--quick: under one)"},
    {"train", dtcl_cmd_train, "train a strategy (proposed, ssl, random, simclr, ...) into a run folder"},
    {"eval", dtcl_cmd_eval, "the paper's linear evaluation (AUC per test set) of a run's checkpoints"},
    {"experiment", dtcl_cmd_experiment, "the paper's experiments (Table 2, Fig. 2, order, SupCon), resumable"},
    {"figures", dtcl_cmd_figures, "PNG figures (Fig. 2 curves, Fig. 3 image grids, what M learned)"},
    {"embed", dtcl_cmd_embed, "write the representations h = f(X) of a checkpoint's encoder"},
    {"bench", dtcl_cmd_bench, "measure speed against the PyTorch reference in the same run"},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: dtcl COMMAND [OPTIONS]\n"
               "Contrastive learning with transformations optimised through their derivatives\n"
               "(Ruppli et al., 2022).\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nEvery command takes --help. Manual: man dtcl, man dtcl-COMMAND.\n"
               "Exit status: 0 success, 1 failure at run time, 2 bad usage or bad input.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return DTCL_EXIT_INPUT;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return DTCL_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        char dev[256];
        printf("dtcl %s\nbuild: %s\ndevices: %s\n", PACKAGE_VERSION, DTCL_BUILD_OPTIONS,
               dtcl_device_describe(dev, sizeof dev));
        return DTCL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dtcl: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return DTCL_EXIT_INPUT;
}
