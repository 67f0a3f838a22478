/* cli_info.c: `dtcl info PATH' validates and describes a dataset folder
 * (dataset.h) or a .npy file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nets/checkpoint.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "data/dataset.h"
#include "io/nifti.h"
#include "io/npy.h"
#include "io/safetensors.h"

static const char *info_help =
    "Usage: dtcl info PATH\n"
    "Validate and describe a dataset folder (images.npy, meta.csv, optional split.csv): counts,\n"
    "image size, label balance, patients, split sizes. PATH may also be a .npy file or a\n"
    "NIfTI volume (.nii, .nii.gz): dimensions, orientation, intensity range, axial slices; or a\n"
    "checkpoint (.safetensors): its tensors, their dtypes and shapes, and its metadata.\n"
    "Exit status 2, with the file, line and field, when something is wrong.\n"
    "\n"
    "  -h, --help    this text\n";

int dtcl_cmd_info(int argc, char **argv)
{
    const char *cmd = "info";
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        dtcl_cli_help(info_help);
        return DTCL_EXIT_OK;
    }
    if (argc != 2)
        return dtcl_cli_usage_error(cmd, "expected one PATH (a dataset folder or a .npy file)");
    DtclError err;
    if (dtcl_has_ext(argv[1], "npy")) {
        float *d;
        DtclNpyInfo info;
        if (dtcl_npy_load(argv[1], &d, &info, &err) != 0)
            return dtcl_cli_input_error(cmd, &err);
        char s[96];
        double lo = info.count ? d[0] : 0, hi = lo, sum = 0;
        for (size_t i = 0; i < info.count; i++) {
            lo = d[i] < lo ? d[i] : lo;
            hi = d[i] > hi ? d[i] : hi;
            sum += d[i];
        }
        printf("%s: %s %s, %s order, min %g, max %g, mean %g\n", argv[1], dtcl_npy_type_name(info.type),
               dtcl_npy_shape_str(&info, s, sizeof s), info.fortran_order ? "Fortran" : "C", lo, hi,
               info.count ? sum / info.count : 0.0);
        free(d);
        return DTCL_EXIT_OK;
    }
    size_t len = strlen(argv[1]);
    if (len > 12 && strcmp(argv[1] + len - 12, ".safetensors") == 0) {
        DtclSafetensors st;
        if (dtcl_st_open(argv[1], &st, &err) != 0)
            return dtcl_cli_input_error(cmd, &err);
        printf("%s:\n", argv[1]);
        dtcl_st_print(&st, stdout);
        DtclModelConfig c;
        int is_model = dtcl_checkpoint_config(&st, &c, &err) == 0, has_m = dtcl_st_find(&st, "m.conv0.weight") != NULL;
        dtcl_st_close(&st);
        if (!is_model)
            return DTCL_EXIT_OK; /* some other safetensors file */
        /* a model: check every tensor dtcl would read */
        DtclModel md;
        if (dtcl_checkpoint_load(argv[1], &md, has_m ? DTCL_CK_MODEL : DTCL_CK_ENCODER, &err) != 0)
            return dtcl_cli_input_error(cmd, &err);
        char desc[160];
        int d = dtcl_model_dim(&c);
        printf("model: %s, representation d = %d; images at least %dx%d\n", dtcl_model_describe(&c, desc, sizeof desc),
               d, dtcl_model_min_size(&c), dtcl_model_min_size(&c));
        if (has_m)
            printf("       M widths %d,%d; g %d -> %d -> %d; p %d -> 1; Adam steps: encoder %lld, M %lld\n",
                   c.mwidths[0], c.mwidths[1], d, c.hidden, c.zdim, d, (long long)md.step_e, (long long)md.step_m);
        else
            printf("       encoder only (f.*): enough for `dtcl embed'\n");
        dtcl_model_free(&md);
        return DTCL_EXIT_OK;
    }
    if ((len > 4 && strcmp(argv[1] + len - 4, ".nii") == 0) || (len > 7 && strcmp(argv[1] + len - 7, ".nii.gz") == 0)) {
        DtclVolume v;
        if (dtcl_nifti_load(argv[1], &v, &err) != 0)
            return dtcl_cli_input_error(cmd, &err);
        size_t n = (size_t)(v.dim[0] * v.dim[1] * v.dim[2]);
        float lo = v.data[0], hi = v.data[0];
        for (size_t i = 0; i < n; i++) {
            lo = v.data[i] < lo ? v.data[i] : lo;
            hi = v.data[i] > hi ? v.data[i] : hi;
        }
        printf("%s: %lld x %lld x %lld, orientation %s (array axes i j k), axial axis %c: %lld slices of %lld x %lld, "
               "intensities %g to %g\n", argv[1], (long long)v.dim[0], (long long)v.dim[1], (long long)v.dim[2],
               v.orientation, "ijk"[v.axial], (long long)dtcl_volume_nslices(&v), (long long)v.dim[v.row_axis],
               (long long)v.dim[v.col_axis], lo, hi);
        dtcl_volume_free(&v);
        return DTCL_EXIT_OK;
    }
    DtclDataset ds;
    if (dtcl_dataset_open(&ds, argv[1], &err) != 0)
        return dtcl_cli_input_error(cmd, &err);
    dtcl_dataset_print_info(&ds, stdout);
    dtcl_dataset_close(&ds);
    return DTCL_EXIT_OK;
}
