/* cli_transform.c: `dtcl transform` applies T_Lambda (SPEC section 2) to one
 * image or a stack, and with --jacobian writes dT/dlambda_k, k = 0..6,
 * computed by the analytic code that training uses. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "backend/device.h"
#include "io/npy.h"
#include "transform/transform.h"

static const char *transform_help =
    "Usage: dtcl transform -i IN -o OUT (--lambda L0,...,L6 | --lambda-file L.npy) [OPTIONS]\n"
    "Apply the differentiable transformation T_Lambda to an image (S x S) or a stack (N x S x S).\n"
    "\n"
    "  -i, --input FILE         .npy (S,S) or (N,S,S), or a square .png\n"
    "  -o, --output FILE        .npy, or .png for a single image\n"
    "  -l, --lambda LIST        the 7 parameters in [0,1]: blur, noise, crop_x, crop_y,\n"
    "                           hflip, vflip, rotate (applied to every image)\n"
    "  -L, --lambda-file FILE   .npy of shape (N,7): one Lambda per image\n"
    "      --order LIST         order of application, each stage at most once\n"
    "                           (default {order})\n"
    "  -s, --seed N             seed of the noise field (default 0); image n uses stream n\n"
    "  -j, --jacobian FILE      write dT/dlambda_k as float32 .npy, (7,S,S) or (N,7,S,S)\n"
    "      --sigma-max X        blur sigma at lambda0 = 1, pixels (default 2)\n"
    "      --noise-scale X      noise standard deviation at lambda1 = 1 (default 0.1)\n"
    "      --crop-half-width X  crop window half-width, pixels (default S/8)\n"
    "      --crop-sharpness X   crop logistic slope per pixel (default 1)\n"
    "      --png-bits 8|16      bit depth of a PNG output (default 8; values clipped to [0,1])\n"
    "      --device NAME        cpu (default) or cuda: T on the GPU (a build with --enable-cuda);\n"
    "                           --jacobian (forward mode) is computed on the CPU either way\n"
    "  -t, --threads N          OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
    "  -h, --help               this text\n";

int dtcl_cmd_transform(int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, 0, 'i'},      {"output", required_argument, 0, 'o'},
        {"lambda", required_argument, 0, 'l'},     {"lambda-file", required_argument, 0, 'L'},
        {"order", required_argument, 0, 'O'},      {"seed", required_argument, 0, 's'},
        {"jacobian", required_argument, 0, 'j'},   {"sigma-max", required_argument, 0, 1},
        {"noise-scale", required_argument, 0, 2},  {"crop-half-width", required_argument, 0, 3},
        {"crop-sharpness", required_argument, 0, 4}, {"png-bits", required_argument, 0, 5},
        {"threads", required_argument, 0, 't'},    {"help", no_argument, 0, 'h'},
        {"device", required_argument, 0, 6},       {0, 0, 0, 0}};
    const char *cmd = "transform", *in = NULL, *out = NULL, *lambda_arg = NULL, *lambda_file = NULL;
    const char *order_arg = dtcl_default_order, *jac_path = NULL;
    uint64_t seed = 0;
    long threads = 0, png_bits = 8;
    DtclDevice device = DTCL_DEVICE_CPU;
    DtclTransformParams params;
    dtcl_transform_params_default(&params);
    double v;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":i:o:l:L:s:j:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case 'l': lambda_arg = optarg; break;
        case 'L': lambda_file = optarg; break;
        case 'O': order_arg = optarg; break;
        case 'j': jac_path = optarg; break;
        case 's':
            if (dtcl_parse_u64(optarg, &seed) != 0)
                return dtcl_cli_usage_error(cmd, "--seed '%s' is not a non-negative integer", optarg);
            break;
        case 't':
            if (dtcl_cli_int_option(cmd, "threads", optarg, 1, 1024, &threads) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 6:
            if (dtcl_cli_device_option(cmd, optarg, &device) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 1:
            if (dtcl_parse_double(optarg, 0, 10, &v) != 0)
                return dtcl_cli_usage_error(cmd, "--sigma-max '%s' is not a number from 0 to 10", optarg);
            params.sigma_max = (float)v;
            break;
        case 2:
            if (dtcl_parse_double(optarg, 0, 10, &v) != 0)
                return dtcl_cli_usage_error(cmd, "--noise-scale '%s' is not a number from 0 to 10", optarg);
            params.noise_scale = (float)v;
            break;
        case 3:
            if (dtcl_parse_double(optarg, 0, 8192, &v) != 0)
                return dtcl_cli_usage_error(cmd, "--crop-half-width '%s' is not a number of pixels >= 0", optarg);
            params.crop_half_width = (float)v;
            break;
        case 4:
            if (dtcl_parse_double(optarg, 1e-6, 100, &v) != 0)
                return dtcl_cli_usage_error(cmd, "--crop-sharpness '%s' is not a number in (0, 100]", optarg);
            params.crop_sharpness = (float)v;
            break;
        case 5:
            if (dtcl_parse_int(optarg, 8, 16, &png_bits) != 0 || (png_bits != 8 && png_bits != 16))
                return dtcl_cli_usage_error(cmd, "--png-bits '%s' must be 8 or 16", optarg);
            break;
        case 'h': dtcl_cli_help(transform_help); return DTCL_EXIT_OK;
        case ':': return dtcl_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return dtcl_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return dtcl_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!in || !out)
        return dtcl_cli_usage_error(cmd, "both -i IN and -o OUT are required");
    if (!lambda_arg == !lambda_file)
        return dtcl_cli_usage_error(cmd, "give exactly one of --lambda and --lambda-file");
    if (jac_path && !dtcl_has_ext(jac_path, "npy"))
        return dtcl_cli_usage_error(cmd, "--jacobian '%s' must name a .npy file", jac_path);
    if (!dtcl_has_ext(out, "npy") && !dtcl_has_ext(out, "png"))
        return dtcl_cli_usage_error(cmd, "-o '%s': unknown output type (expected .npy or .png)", out);

    DtclError err;
    if (dtcl_check_output_path(out, &err) != 0 || (jac_path && dtcl_check_output_path(jac_path, &err) != 0))
        return dtcl_cli_input_error(cmd, &err);
    DtclStage order[DTCL_NSTAGES];
    int nsteps;
    if (dtcl_transform_parse_order(order_arg, order, &nsteps, &err) != 0)
        return dtcl_cli_usage_error(cmd, "--order: %s", err.msg);

    double lam1[64];
    if (lambda_arg) {
        int k = dtcl_parse_list(lambda_arg, lam1, 64);
        if (k < 0)
            return dtcl_cli_usage_error(cmd, "--lambda '%s' is not a comma-separated list of numbers", lambda_arg);
        if (k != DTCL_NLAMBDA)
            return dtcl_cli_usage_error(cmd, "--lambda '%s' has %d values; expected exactly 7 numbers in [0,1] "
                                             "(blur, noise, crop_x, crop_y, hflip, vflip, rotate)", lambda_arg, k);
        for (k = 0; k < DTCL_NLAMBDA; k++)
            if (!(lam1[k] >= 0.0 && lam1[k] <= 1.0))
                return dtcl_cli_usage_error(cmd, "--lambda: lambda%d (%s) = %g is outside [0,1]", k,
                                            dtcl_lambda_names[k], lam1[k]);
    }

    float *x = NULL, *lambda = NULL;
    int n, S, single;
    if (dtcl_load_images(in, &x, &n, &S, &single, &err) != 0)
        return dtcl_cli_input_error(cmd, &err);
    int status = DTCL_EXIT_INPUT;
    float *y = NULL, *jac = NULL;
    DtclTransform t;
    int have_t = 0;
    if (lambda_file) {
        DtclNpyInfo info;
        char shp[96];
        if (dtcl_npy_load(lambda_file, &lambda, &info, &err) != 0) {
            dtcl_cli_input_error(cmd, &err);
            goto done;
        }
        dtcl_npy_shape_str(&info, shp, sizeof shp);
        int ok = (info.rank == 2 && info.shape[0] == n && info.shape[1] == DTCL_NLAMBDA) ||
                 (info.rank == 1 && n == 1 && info.shape[0] == DTCL_NLAMBDA);
        if (!ok) {
            fprintf(stderr, "dtcl %s: %s: shape %s; expected (%d, 7): one Lambda per image of %s\n", cmd,
                    lambda_file, shp, n, in);
            goto done;
        }
        for (int i = 0; i < n * DTCL_NLAMBDA; i++)
            if (!(lambda[i] >= 0.0f && lambda[i] <= 1.0f)) {
                fprintf(stderr, "dtcl %s: %s: row %d, lambda%d (%s) = %g is outside [0,1]\n", cmd, lambda_file,
                        i / DTCL_NLAMBDA, i % DTCL_NLAMBDA, dtcl_lambda_names[i % DTCL_NLAMBDA], lambda[i]);
                goto done;
            }
    } else {
        lambda = DTCL_MALLOC(sizeof(float) * (size_t)n * DTCL_NLAMBDA);
        for (int i = 0; i < n * DTCL_NLAMBDA; i++)
            lambda[i] = (float)lam1[i % DTCL_NLAMBDA];
    }
    if (dtcl_has_ext(out, "png") && n != 1) {
        fprintf(stderr, "dtcl %s: -o %s: a PNG holds one image and %s has %d; write .npy instead\n", cmd, out, in, n);
        goto done;
    }
    if (dtcl_transform_init(&t, S, order, nsteps, &params, &err) != 0) {
        dtcl_cli_input_error(cmd, &err);
        goto done;
    }
    have_t = 1;
    dtcl_set_threads((int)threads);
    size_t SS = (size_t)S * S;
    DtclNoiseSource noise = {seed, 0, 0, NULL};
    y = DTCL_ALIGNED(SS * n * sizeof(float));
    if (jac_path) { /* forward mode: the CPU */
        jac = DTCL_ALIGNED(SS * n * DTCL_NLAMBDA * sizeof(float));
        dtcl_transform_jacobian(&t, jac, device == DTCL_DEVICE_CPU ? y : NULL, x, lambda, &noise, n);
    }
    if ((!jac_path || device != DTCL_DEVICE_CPU) &&
        dtcl_backend_transform(dtcl_device_backend(device), &t, y, x, lambda, &noise, n, &err) != 0) {
        fprintf(stderr, "dtcl %s: %s\n", cmd, err.msg);
        status = DTCL_EXIT_FAIL;
        goto done;
    }
    status = DTCL_EXIT_FAIL;
    if (dtcl_save_images(out, y, n, S, single, (int)png_bits, &err) != 0) {
        fprintf(stderr, "dtcl %s: %s\n", cmd, err.msg);
        goto done;
    }
    if (jac_path) {
        int64_t shape[4] = {n, DTCL_NLAMBDA, S, S};
        int rc = single ? dtcl_npy_save(jac_path, jac, 3, shape + 1, &err) : dtcl_npy_save(jac_path, jac, 4, shape, &err);
        if (rc != 0) {
            fprintf(stderr, "dtcl %s: %s\n", cmd, err.msg);
            goto done;
        }
    }
    status = DTCL_EXIT_OK;
done:
    if (have_t)
        dtcl_transform_free(&t);
    free(x);
    free(lambda);
    free(y);
    free(jac);
    return status;
}
