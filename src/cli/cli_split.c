/* cli_split.c: `dtcl split DATASET' writes DATASET/split.csv (split.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "data/dataset.h"
#include "data/split.h"

static const char *split_help =
    "Usage: dtcl split DATASET [--test-sets 3] [--test-size N] [--val-fraction F] [--label-fraction F] [--seed S]\n"
    "Write DATASET/split.csv: patient-disjoint test sets stratified by label, a validation set, the\n"
    "training set, and the labelled subset of training (the images whose labels training may see).\n"
    "\n"
    "      --test-sets T       hold-out test sets, 0 to 3 (default 3)\n"
    "      --test-size N       images per test set (default min(1000, N/10))\n"
    "      --val-fraction F    of the images left after the test sets (default 0.1)\n"
    "      --label-fraction F  of the training images of each class (default 0.1)\n"
    "  -s, --seed S            (default 0)\n"
    "      --force             replace an existing split.csv\n"
    "  -h, --help              this text\n";

int dtcl_cmd_split(int argc, char **argv)
{
    static const struct option opts[] = {
        {"test-sets", required_argument, 0, 1}, {"test-size", required_argument, 0, 2},
        {"val-fraction", required_argument, 0, 3}, {"label-fraction", required_argument, 0, 4},
        {"seed", required_argument, 0, 's'},     {"force", no_argument, 0, 5},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *cmd = "split";
    DtclSplitOptions o;
    dtcl_split_options_default(&o);
    long v;
    int force = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
        switch (c) {
        case 1:
            if (dtcl_cli_int_option(cmd, "test-sets", optarg, 0, 3, &v) != 0)
                return DTCL_EXIT_INPUT;
            o.test_sets = (int)v;
            break;
        case 2:
            if (dtcl_parse_int(optarg, 1, 1L << 40, &v) != 0)
                return dtcl_cli_usage_error(cmd, "--test-size '%s' is not a positive integer", optarg);
            o.test_size = v;
            break;
        case 3:
            if (dtcl_parse_double(optarg, 0, 0.9, &o.val_fraction) != 0)
                return dtcl_cli_usage_error(cmd, "--val-fraction '%s' is not a fraction in [0, 0.9]", optarg);
            break;
        case 4:
            if (dtcl_parse_double(optarg, 1e-6, 1, &o.label_fraction) != 0)
                return dtcl_cli_usage_error(cmd, "--label-fraction '%s' is not a fraction in (0, 1]", optarg);
            break;
        case 's':
            if (dtcl_parse_u64(optarg, &o.seed) != 0)
                return dtcl_cli_usage_error(cmd, "--seed '%s' is not a non-negative integer", optarg);
            break;
        case 5: force = 1; break;
        case 'h': dtcl_cli_help(split_help); return DTCL_EXIT_OK;
        case ':': return dtcl_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return dtcl_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return dtcl_cli_usage_error(cmd, "expected one DATASET folder");
    const char *dir = argv[optind];
    char path[4200];
    snprintf(path, sizeof path, "%s/split.csv", dir);
    struct stat st;
    if (stat(path, &st) == 0 && !force) {
        fprintf(stderr, "dtcl %s: %s already exists (give --force to replace it)\n", cmd, path);
        return DTCL_EXIT_INPUT;
    }
    DtclError err;
    DtclDataset ds;
    if (dtcl_dataset_open(&ds, dir, &err) != 0)
        return dtcl_cli_input_error(cmd, &err);
    int8_t *split = DTCL_MALLOC((size_t)ds.n + 1), *lab = DTCL_MALLOC((size_t)ds.n + 1);
    int rc = dtcl_split_make(&ds, &o, split, lab, &err);
    if (rc == 0)
        rc = dtcl_split_write(path, &ds, split, lab, &err);
    free(split);
    free(lab);
    dtcl_dataset_close(&ds);
    if (rc != 0)
        return dtcl_cli_input_error(cmd, &err);
    if (dtcl_dataset_open(&ds, dir, &err) != 0) /* read back what was written, and show it */
        return dtcl_cli_input_error(cmd, &err);
    dtcl_dataset_print_info(&ds, stdout);
    dtcl_dataset_close(&ds);
    return DTCL_EXIT_OK;
}
