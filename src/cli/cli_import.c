/* cli_import.c: `dtcl import brats' and `dtcl import images' build dataset
 * folders (import.h). SIGINT stops an import cleanly: its temporary folder
 * is removed and an existing dataset is left as it was. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "data/import.h"

static const char *import_help =
    "Usage: dtcl import brats ROOT -o DIR [--modality flair|t1|t1ce|t2] [--size S] [--black-max F] [--force]\n"
    "       dtcl import images DIR [--labels LABELS.csv] [--mask-suffix SUF] -o OUT [OPTIONS]\n"
    "Build a dataset folder (images.npy, meta.csv, masks.npy with masks) from BraTS volumes or from\n"
    "pictures (PNG, TIFF, JPEG).\n"
    "\n"
    "  -o, --output DIR        the dataset folder to create\n"
    "      --size S            image size after resizing (default 128)\n"
    "      --force             replace DIR if it exists\n"
    "  -q, --quiet             no progress line\n"
    "  -h, --help              this text\n"
    "brats:\n"
    "      --modality NAME     flair (default), t1, t1ce or t2 (2023: t2f, t1n, t1c, t2w)\n"
    "      --black-max F       drop slices with at least this fraction of black pixels (default 0.8)\n"
    "images:\n"
    "      --labels FILE       CSV with a file column (file, image or path, relative to DIR), label\n"
    "                          (0, 1 or empty) and optionally patient or patient_id; without it,\n"
    "                          every picture under DIR\n"
    "      --patient-regex RE  the patient: the first group of RE (PCRE2, as Python writes it) in\n"
    "                          the path relative to DIR, else in the file's name\n"
    "      --channel K         channel K (0-based) of multi-channel pictures (default: grey)\n"
    "      --mask-suffix SUF   NAME.ext's mask is NAMESUF.ext: label 1 when it has at least\n"
    "                          --mask-min-pixels non-zero pixels (default 1); masks.npy\n"
    "      --mask-min-pixels N (see --mask-suffix)\n"
    "      --normalise HOW     patient (default): (x - min)/(max - min) over each patient's\n"
    "                          images; none: the stored values (x/255, x/65535)\n";

static void on_sigint(int sig)
{
    (void)sig;
    dtcl_import_interrupted = 1;
}

int dtcl_cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},   {"size", required_argument, 0, 1},
        {"force", no_argument, 0, 2},            {"modality", required_argument, 0, 3},
        {"black-max", required_argument, 0, 4},  {"labels", required_argument, 0, 5},
        {"patient-regex", required_argument, 0, 6}, {"quiet", no_argument, 0, 'q'},
        {"channel", required_argument, 0, 7},    {"mask-suffix", required_argument, 0, 8},
        {"mask-min-pixels", required_argument, 0, 9}, {"normalise", required_argument, 0, 10},
        {"normalize", required_argument, 0, 10},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *cmd = "import", *out = NULL, *modality = "flair", *labels = NULL, *regex = NULL, *mask = NULL;
    long size = 128, channel = -1, min_pixels = 1;
    int normalise = 1, images_only = 0;
    double black_max = 0.8;
    int force = 0, quiet = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 1:
            if (dtcl_cli_int_option(cmd, "size", optarg, 8, 4096, &size) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 2: force = 1; break;
        case 3: modality = optarg; break;
        case 4:
            if (dtcl_parse_double(optarg, 0.0, 1.0, &black_max) != 0 || black_max <= 0.0)
                return dtcl_cli_usage_error(cmd, "--black-max '%s' is not a fraction in (0, 1]", optarg);
            break;
        case 5: labels = optarg; break;
        case 6: regex = optarg; break;
        case 7:
            if (dtcl_cli_int_option(cmd, "channel", optarg, 0, 3, &channel) != 0)
                return DTCL_EXIT_INPUT;
            images_only = 1;
            break;
        case 8:
            if (!optarg[0])
                return dtcl_cli_usage_error(cmd, "--mask-suffix must not be empty");
            mask = optarg;
            images_only = 1;
            break;
        case 9:
            if (dtcl_cli_int_option(cmd, "mask-min-pixels", optarg, 1, 1L << 30, &min_pixels) != 0)
                return DTCL_EXIT_INPUT;
            images_only = 1;
            break;
        case 10:
            if (strcmp(optarg, "patient") != 0 && strcmp(optarg, "none") != 0)
                return dtcl_cli_usage_error(cmd, "--normalise '%s' is not patient or none", optarg);
            normalise = strcmp(optarg, "patient") == 0;
            images_only = 1;
            break;
        case 'q': quiet = 1; break;
        case 'h': dtcl_cli_help(import_help); return DTCL_EXIT_OK;
        case ':': return dtcl_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return dtcl_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return dtcl_cli_usage_error(cmd, "expected 'brats ROOT' or 'images DIR'");
    const char *kind = argv[optind], *src = argv[optind + 1];
    if (!out)
        return dtcl_cli_usage_error(cmd, "-o DIR is required");
    DtclError err;
    if (dtcl_check_output_dir(out, &err) != 0)
        return dtcl_cli_input_error(cmd, &err);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    DtclProgress pg, *progress = &pg;
    dtcl_progress_begin(&pg, "dtcl import", quiet, 1);
    dtcl_progress_task(&pg, 1, "%s %s", kind, src);
    DtclImportStats st;
    int rc;
    if (strcmp(kind, "brats") == 0) {
        if (labels || regex || images_only)
            return dtcl_cli_usage_error(cmd, "--labels, --patient-regex, --channel, --mask-suffix, "
                                             "--mask-min-pixels and --normalise belong to 'import images'");
        DtclBratsOptions o = {modality, (int)size, black_max, force, progress};
        rc = dtcl_import_brats(src, out, &o, &st, &err);
    } else if (strcmp(kind, "images") == 0) {
        DtclImagesOptions o = {regex, (int)size, (int)channel, mask, min_pixels, normalise, force, progress};
        rc = dtcl_import_images(src, labels, out, &o, &st, &err);
    } else {
        return dtcl_cli_usage_error(cmd, "unknown source '%s' (expected brats or images)", kind);
    }
    dtcl_progress_end(&pg);
    if (rc != 0) {
        fprintf(stderr, "dtcl %s: %s\n", cmd, err.msg);
        return dtcl_import_interrupted ? 130 : DTCL_EXIT_INPUT;
    }
    printf("%s: %lld images from %d patient%s (%lld positive, %.1f%%), %lld read, %.2f s\n", out, (long long)st.kept,
           st.patients, st.patients == 1 ? "" : "s", (long long)st.positive,
           st.kept ? 100.0 * st.positive / st.kept : 0.0, (long long)st.slices_read, st.seconds);
    return DTCL_EXIT_OK;
}
