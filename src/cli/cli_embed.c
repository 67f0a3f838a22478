/* cli_embed.c: `dtcl embed` writes the representations h = f(X) of a set of
 * images in evaluation mode (running statistics, no transformation, the
 * projection head removed: paper section 2.4, SPEC section 6), from a
 * checkpoint that holds at least the f.* tensors: a dtcl checkpoint, or a
 * file written by safetensors.torch.save_file from a PyTorch module with
 * SPEC section 3's names. The widths come from the tensors' shapes. */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "nets/checkpoint.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "data/dataset.h"
#include "train/step.h"
#include "io/npy.h"

static const char *embed_help =
    "Usage: dtcl embed --checkpoint CK -i IMAGES -o H.npy [OPTIONS]\n"
    "Write the representations h = f(X) (N x d float32) of the encoder f in CK, in evaluation mode\n"
    "(BatchNorm running statistics, no transformation, no projection head).\n"
    "\n"
    "  -c, --checkpoint FILE  a .safetensors file with the f.* tensors (dtcl's or PyTorch's)\n"
    "  -i, --input PATH       images: .npy (N,S,S) or (S,S), float32, or a dataset folder\n"
    "  -o, --output FILE      .npy (N,d), written atomically\n"
    "  -b, --batch N          images per forward pass (default 64)\n"
    "      --encoder NAME     fcn or densenet121: refuse a checkpoint that holds the other (the\n"
    "                         encoder is always read from the tensors)\n"
    "      --device NAME      cpu (default) or cuda: f on the GPU (a build with --enable-cuda)\n"
    "      --allow-tf32       let cuBLAS use TF32 tensor cores on the GPU (off by default: float32)\n"
    "  -t, --threads N        OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
    "  -h, --help             this text\n";

/* The images of a .npy file or of a dataset folder, as float32 in [0,1]. */
static int load_input(const char *path, float **x, int64_t *n, int *S, DtclError *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        DtclDataset ds;
        if (dtcl_dataset_open(&ds, path, err) != 0)
            return -1;
        *n = ds.n;
        *S = ds.size;
        *x = DTCL_MALLOC(sizeof(float) * (size_t)ds.n * ds.size * ds.size + 1);
        int64_t *idx = DTCL_MALLOC(sizeof(int64_t) * 1024);
        for (int64_t i = 0; i < ds.n; i += 1024) {
            int m = ds.n - i < 1024 ? (int)(ds.n - i) : 1024;
            for (int k = 0; k < m; k++)
                idx[k] = i + k;
            dtcl_dataset_load(&ds, *x + i * ds.size * ds.size, idx, m);
        }
        free(idx);
        dtcl_dataset_close(&ds);
        return 0;
    }
    int ni, single;
    if (dtcl_load_images(path, x, &ni, S, &single, err) != 0)
        return -1;
    *n = ni;
    return 0;
}

int dtcl_cmd_embed(int argc, char **argv)
{
    static const struct option opts[] = {
        {"checkpoint", required_argument, 0, 'c'}, {"input", required_argument, 0, 'i'},
        {"output", required_argument, 0, 'o'},     {"batch", required_argument, 0, 'b'},
        {"threads", required_argument, 0, 't'},    {"help", no_argument, 0, 'h'},
        {"encoder", required_argument, 0, 1},      {"device", required_argument, 0, 2},
        {"allow-tf32", no_argument, 0, 3},         {0, 0, 0, 0}};
    const char *cmd = "embed", *ck = NULL, *in = NULL, *out = NULL;
    long batch = 64, threads = 0;
    int c, want_encoder = -1;
    DtclEncoderKind kind;
    DtclDevice device = DTCL_DEVICE_CPU;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":c:i:o:b:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': ck = optarg; break;
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case 'b':
            if (dtcl_cli_int_option(cmd, "batch", optarg, 1, 65536, &batch) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 't':
            if (dtcl_cli_int_option(cmd, "threads", optarg, 1, 1024, &threads) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 1:
            if (dtcl_cli_encoder_option(cmd, optarg, &kind) != 0)
                return DTCL_EXIT_INPUT;
            want_encoder = (int)kind;
            break;
        case 2:
            if (dtcl_cli_device_option(cmd, optarg, &device) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 3: dtcl_device_allow_tf32(1); break;
        case 'h': dtcl_cli_help(embed_help); return DTCL_EXIT_OK;
        case ':': return dtcl_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return dtcl_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return dtcl_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!ck || !in || !out)
        return dtcl_cli_usage_error(cmd, "--checkpoint, --input and --output are required");
    dtcl_set_threads((int)threads);
    DtclError err;
    if (dtcl_check_output_path(out, &err) != 0)
        return dtcl_cli_input_error(cmd, &err);
    DtclModel md;
    if (dtcl_checkpoint_load(ck, &md, DTCL_CK_ENCODER, &err) != 0)
        return dtcl_cli_input_error(cmd, &err);
    if (want_encoder >= 0 && (int)md.cfg.encoder != want_encoder) {
        fprintf(stderr, "dtcl %s: %s: holds a %s encoder; --encoder asked for %s\n", cmd, ck,
                dtcl_encoder_name(md.cfg.encoder), dtcl_encoder_name((DtclEncoderKind)want_encoder));
        dtcl_model_free(&md);
        return DTCL_EXIT_INPUT;
    }
    float *x = NULL;
    int64_t n;
    int S;
    if (load_input(in, &x, &n, &S, &err) != 0) {
        dtcl_model_free(&md);
        return dtcl_cli_input_error(cmd, &err);
    }
    int need = dtcl_model_min_size(&md.cfg);
    if (S < need || n < 1) {
        char desc[160];
        fprintf(stderr, "dtcl %s: %s: images of %dx%d; the %s in %s needs at least %dx%d\n", cmd, in, S, S,
                dtcl_model_describe(&md.cfg, desc, sizeof desc), ck, need, need);
        free(x);
        dtcl_model_free(&md);
        return DTCL_EXIT_INPUT;
    }
    int d = dtcl_encoder_dim(&md.f);
    float *h = DTCL_MALLOC(sizeof(float) * (size_t)n * d);
    int rc =
        dtcl_step_embed_all(device, h, &md, x, n, S, (int)(batch < n ? batch : n), omp_get_max_threads(), &err);
    int64_t shape[2] = {n, d};
    if (rc == 0)
        rc = dtcl_npy_save(out, h, 2, shape, &err);
    free(h);
    free(x);
    dtcl_model_free(&md);
    if (rc != 0) {
        fprintf(stderr, "dtcl %s: %s\n", cmd, err.msg);
        return DTCL_EXIT_FAIL;
    }
    fprintf(stderr, "dtcl embed: %lld images of %dx%d -> %s (%lld x %d)\n", (long long)n, S, S, out, (long long)n, d);
    return DTCL_EXIT_OK;
}
