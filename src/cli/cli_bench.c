/* cli_bench.c: `dtcl bench transform` times the transformation work that
 * training does (forward with saved buffers, dT/dlambda_k for k = 0..6, and
 * the vector-Jacobian products in x and Lambda) for a batch, and, when
 * python3 with torch is found, the same work by the PyTorch reference
 * (ref/bench_transform.py) in the same run; speed is reported as the ratio
 * of the two medians. No wall-clock number is compared with a constant. */
#define _DEFAULT_SOURCE
#include "config.h"

#include <fftw3.h>
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cli/bench.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "data/dataset.h"
#include "backend/device.h"
#include "backend/device.h"
#include "data/import.h"
#include "base/rng.h"
#include "transform/transform.h"

#ifdef HAVE_OPENBLAS_GET_CORENAME
char *openblas_get_corename(void);
#endif

static const char *bench_help =
    "Usage: dtcl bench transform [OPTIONS]\n"
    "       dtcl bench train-step [OPTIONS]\n"
    "       dtcl bench import ROOT [--repeats N]\n"
    "       dtcl bench dataset [--gb G] [--size S] [--batch N]\n"
    "transform: time T_Lambda's forward pass, its Jacobian dT/dlambda (7 columns) and its\n"
    "vector-Jacobian products for a batch, against the PyTorch reference (ref/) in the same run.\n"
    "train-step: time the encoder step and the whole `proposed' step (M step, then encoder step)\n"
    "of SPEC section 4, and the same steps in PyTorch; also the sgemm rate, the convolutions' share\n"
    "(fcn) and the peak memory each side adds.\n"
    "import: time `dtcl import brats ROOT' per patient (one modality and one segmentation).\n"
    "dataset: build batches from a memory-mapped dataset of G GiB (a sparse file, larger than\n"
    "memory by default) and report how much of the file the batches touched.\n"
    "\n"
    "      --gb G           dataset size in GiB for `dataset' (default 32)\n"
    "      --sizes LIST     image sizes (default 64,128,240; train-step: 64,128, or 224 with\n"
    "                       densenet121; with --device cuda: 128,240)\n"
    "      --batch LIST     images per batch (default 32; train-step with densenet121: 16; with\n"
    "                       --device cuda: 32,256)\n"
    "      --device NAME    cpu (default) or cuda: transform and train-step on the GPU, PyTorch on the\n"
    "                       same GPU when its torch has CUDA; also the GPU memory used\n"
    "      --allow-tf32     let cuBLAS use TF32 tensor cores on the GPU (off by default: float32)\n"
    "      --encoder NAME   train-step's encoder: fcn or densenet121 (default fcn)\n"
    "      --size S         image size for `dataset' (default 128)\n"
    "      --repeats N      timed repeats after one warm-up, at least 5 (default 7; import: 3)\n"
    "  -t, --threads N      OpenMP threads, and PyTorch's (default: OMP_NUM_THREADS or all cores)\n"
    "      --no-torch       do not run the PyTorch reference\n"
    "  -h, --help           this text\n"
    "\n"
    "Environment: DTCL_PYTHON (interpreter with torch), DTCL_REF_DIR (folder of bench_transform.py),\n"
    "OPENBLAS_CORETYPE (forces OpenBLAS's kernels; dtcl does not override it).\n";

int dtcl_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

const char *dtcl_bench_ref_dir(void)
{
    static char dir[4096];
    const char *cands[3] = {getenv("DTCL_REF_DIR"), DTCL_SRCDIR "/ref", DTCL_PKGDATADIR "/ref"};
    for (int i = 0; i < 3; i++) {
        if (!cands[i])
            continue;
        snprintf(dir, sizeof dir, "%s/bench_transform.py", cands[i]);
        if (access(dir, R_OK) == 0) {
            snprintf(dir, sizeof dir, "%s", cands[i]);
            return dir;
        }
    }
    return NULL;
}

/* An interpreter that imports torch, or NULL. */
const char *dtcl_bench_python(void)
{
    static char found[1024];
    const char *cands[3] = {getenv("DTCL_PYTHON"), "python3", "/usr/bin/python3"};
    for (int i = 0; i < 3; i++) {
        if (!cands[i])
            continue;
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "'%s' -c 'import torch' >/dev/null 2>&1", cands[i]);
        if (system(cmd) == 0) {
            snprintf(found, sizeof found, "%s", cands[i]);
            return found;
        }
    }
    return NULL;
}

int dtcl_bench_ref(const char *py, const char *rd, const char *script, const char *args, double *min_ms,
                   double *median_ms, double *peak_mib)
{
    char cmd[9000], line[256] = "", version[64];
    int threads;
    double peak = -1;
    snprintf(cmd, sizeof cmd, "'%s' '%s/%s' %s", py, rd, script, args);
    FILE *pp = popen(cmd, "r");
    int ok = pp && fgets(line, sizeof line, pp) &&
             sscanf(line, "%lf %lf %63s %d %lf", min_ms, median_ms, version, &threads, &peak) >= 2;
    if (peak_mib)
        *peak_mib = peak;
    if (pp)
        pclose(pp);
    return ok ? 0 : -1;
}

int dtcl_bench_torch_has(const char *py, DtclDevice dev)
{
    if (dev == DTCL_DEVICE_CPU)
        return 1;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' "
                              ">/dev/null 2>&1", py);
    return system(cmd) == 0;
}

void dtcl_bench_machine(int threads)
{
    char model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0) {
                char *c = strchr(line, ':');
                if (c) {
                    snprintf(model, sizeof model, "%s", c + 2);
                    model[strcspn(model, "\n")] = 0;
                }
                break;
            }
        fclose(f);
    }
    const char *forced = getenv("OPENBLAS_CORETYPE");
#ifdef HAVE_OPENBLAS_GET_CORENAME
    const char *core = openblas_get_corename();
#else
    const char *core = "unknown";
#endif
    printf("cpu: %s; %d thread%s\n", model, threads, threads == 1 ? "" : "s");
    printf("openblas core: %s (OPENBLAS_CORETYPE %s%s)\n", core, forced ? "= " : "unset", forced ? forced : "");
    if (forced)
        printf("note: OPENBLAS_CORETYPE forces OpenBLAS's kernels; on AVX-512 machines Haswell halves sgemm speed\n");
    printf("fftw: %s\n", fftwf_version);
    char gpu[256];
    printf("devices: %s\n", dtcl_device_describe(gpu, sizeof gpu));
}

/* The inputs of one timed batch: images, Lambda away from the kinks, dy. */
static void transform_inputs(float *x, float *lam, float *dy, int batch, int S)
{
    size_t NS = (size_t)batch * S * S;
    double *u = DTCL_MALLOC(sizeof(double) * NS);
    DtclStream s = {1, DTCL_RNG_TEST, 0, 0, 0};
    dtcl_rng_uniform(&s, u, NS);
    for (size_t i = 0; i < NS; i++) {
        x[i] = (float)u[i];
        dy[i] = (float)(2 * u[(i * 7919) % NS] - 1);
    }
    for (int i = 0; i < batch * 7; i++)
        lam[i] = 0.05f + 0.9f * (float)u[i * 13 % NS];
    free(u);
}

/* min and median ms of the transformation work on dev: on the CPU the
 * forward pass, the Jacobian (7 columns) and the VJPs; on the GPU the forward
 * pass and the VJPs (the work of a training step; forward mode stays on the
 * CPU), with the batch resident on the device. */
static int time_transform(DtclDevice dev, const DtclTransform *t, int batch, int repeats, double *dmin, double *dmed,
                          double *mib, DtclError *err)
{
    int S = t->size;
    size_t NS = (size_t)batch * S * S;
    float *x = DTCL_ALIGNED(NS * 4), *dy = DTCL_ALIGNED(NS * 4), *lam = DTCL_ALIGNED((size_t)batch * 7 * 4);
    transform_inputs(x, lam, dy, batch, S);
    size_t used0 = 0, used1 = 0, total;
    dtcl_device_memory(dev, &used0, &total);
    DtclTransformRun *run = dtcl_transform_run_create(dtcl_device_backend(dev), t, x, lam, dy, batch, err);
    float *jac = dev == DTCL_DEVICE_CPU ? DTCL_ALIGNED(NS * 7 * 4) : NULL;
    double *ms = DTCL_MALLOC(sizeof(double) * repeats);
    int rc = run ? 0 : -1;
    for (int r = -1; r < repeats && rc == 0; r++) {
        DtclNoiseSource ns = {1, 0, (uint32_t)(r + 1), NULL};
        double t0 = dtcl_now_ms();
        rc = dtcl_transform_run_vjp(run, &ns, err);
        if (jac)
            dtcl_transform_jacobian(t, jac, NULL, x, lam, &ns, batch);
        if (r >= 0)
            ms[r] = dtcl_now_ms() - t0;
    }
    *mib = dtcl_device_memory(dev, &used1, &total) == 0 ? ((double)used1 - (double)used0) / 1048576.0 : -1;
    if (rc == 0) {
        qsort(ms, repeats, sizeof(double), dtcl_cmp_double);
        *dmin = ms[0];
        *dmed = ms[repeats / 2];
    }
    dtcl_transform_run_free(run);
    free(x); free(dy); free(lam); free(jac); free(ms);
    return rc;
}

static int bench_transform(DtclDevice dev, const int *sizes, int nsizes, const int *batches, int nbatches,
                           int repeats, int use_torch)
{
    int threads = omp_get_max_threads();
    dtcl_bench_machine(threads);
    const char *py = use_torch ? dtcl_bench_python() : NULL, *rd = use_torch ? dtcl_bench_ref_dir() : NULL;
    if (use_torch && (!py || !rd))
        printf("pytorch reference: not run (%s)\n", !py ? "no python3 that imports torch; set DTCL_PYTHON"
                                                        : "ref/bench_transform.py not found; set DTCL_REF_DIR");
    if (py && rd && !dtcl_bench_torch_has(py, dev)) {
        printf("pytorch reference: not run (%s's torch has no CUDA device)\n", py);
        py = NULL;
    }
    if (dev == DTCL_DEVICE_CPU)
        printf("work per batch: forward (saving), dT/dlambda_k k=0..6, VJP in x and lambda; %d repeats after a "
               "warm-up\n\n", repeats);
    else
        printf("work per batch, on the GPU: forward (saving), VJP in x and lambda (the training step's share); %d "
               "repeats after a warm-up\n\n", repeats);
    printf("%5s %5s %12s %12s %10s %12s %12s %10s%s\n", "S", "batch", "dtcl_min_ms", "dtcl_med_ms", "images/s",
           "torch_min_ms", "torch_med_ms", "speedup", dev == DTCL_DEVICE_CPU ? "" : "   gpu_MiB");
    DtclStage order[DTCL_NSTAGES];
    int nsteps;
    dtcl_transform_parse_order(dtcl_default_order, order, &nsteps, NULL);
    DtclTransformParams p;
    dtcl_transform_params_default(&p);
    for (int si = 0; si < nsizes; si++)
        for (int bi = 0; bi < nbatches; bi++) {
            int S = sizes[si], batch = batches[bi];
            DtclTransform t;
            DtclError err;
            double dmin, dmed, mib;
            if (dtcl_transform_init(&t, S, order, nsteps, &p, &err) != 0) {
                fprintf(stderr, "dtcl bench: %s\n", err.msg);
                return DTCL_EXIT_INPUT;
            }
            int rc = time_transform(dev, &t, batch, repeats, &dmin, &dmed, &mib, &err);
            dtcl_transform_free(&t);
            if (rc != 0) {
                fprintf(stderr, "dtcl bench: %s\n", err.msg);
                return DTCL_EXIT_FAIL;
            }
            printf("%5d %5d %12.2f %12.2f %10.0f", S, batch, dmin, dmed, batch / (dmed / 1e3));
            fflush(stdout);
            if (py && rd) {
                char args[256];
                double tmin, tmed;
                snprintf(args, sizeof args, "--size %d --batch %d --repeats %d --threads %d --device %s", S, batch,
                         repeats, threads, dtcl_device_name(dev));
                if (dtcl_bench_ref(py, rd, "bench_transform.py", args, &tmin, &tmed, NULL) == 0)
                    printf(" %12.2f %12.2f %9.2fx", tmin, tmed, tmed / dmed);
                else
                    printf(" %12s %12s %10s", "failed", "-", "-");
            } else {
                printf(" %12s %12s %10s", "-", "-", "-");
            }
            if (dev != DTCL_DEVICE_CPU)
                printf(" %9.0f", mib);
            printf("\n");
        }
    printf("\nspeedup = PyTorch median / dtcl median, both measured above in this run%s.\n",
           dev == DTCL_DEVICE_CPU ? "" : " on the same GPU; gpu_MiB: device memory dtcl's buffers and cuFFT plans took");
    return DTCL_EXIT_OK;
}

/* Seconds per BraTS patient: the whole import (read, slice, scale, resize, write). */
static int bench_import(const char *root, int repeats)
{
    char tmpl[] = "/tmp/dtcl-bench-import-XXXXXX";
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "dtcl bench: cannot create a temporary folder in /tmp\n");
        return DTCL_EXIT_FAIL;
    }
    char out[512];
    snprintf(out, sizeof out, "%s/ds", tmpl);
    double best = 1e300, total = 0;
    DtclImportStats st = {0};
    for (int r = 0; r < repeats; r++) {
        DtclBratsOptions o = {"flair", 128, 0.8, 1, 0};
        DtclError err;
        double t0 = dtcl_now_ms();
        if (dtcl_import_brats(root, out, &o, &st, &err) != 0) {
            fprintf(stderr, "dtcl bench: %s\n", err.msg);
            dtcl_remove_tree(tmpl);
            return DTCL_EXIT_INPUT;
        }
        double ms = dtcl_now_ms() - t0;
        best = ms < best ? ms : best;
        total += ms;
    }
    dtcl_remove_tree(tmpl);
    printf("import brats %s: %d patients, %lld slices read, %lld kept, S = 128\n", root, st.patients,
           (long long)st.slices_read, (long long)st.kept);
    printf("  best of %d: %.3f s in all, %.3f s per patient (FLAIR + segmentation); mean %.3f s per patient\n",
           repeats, best / 1e3, best / 1e3 / st.patients, total / repeats / 1e3 / st.patients);
    return DTCL_EXIT_OK;
}

/* Pages of a mapping resident in memory (mincore). */
static long resident_pages(void *map, size_t len)
{
    long psize = sysconf(_SC_PAGESIZE);
    size_t np = (len + (size_t)psize - 1) / (size_t)psize;
    unsigned char *vec = DTCL_MALLOC(np);
    long n = 0;
    if (mincore(map, len, vec) == 0)
        for (size_t i = 0; i < np; i++)
            n += vec[i] & 1;
    free(vec);
    return n;
}

/* Batches from a dataset larger than memory: a sparse images.npy (holes read
 * as zeros, so this measures what the loader touches, not the disk). */
static int bench_dataset(double gb, int S, int batch, int nbatches)
{
    char tmpl[] = "/tmp/dtcl-bench-dataset-XXXXXX";
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "dtcl bench: cannot create a temporary folder in /tmp\n");
        return DTCL_EXIT_FAIL;
    }
    size_t SS = (size_t)S * S;
    int64_t n = (int64_t)(gb * 1073741824.0 / (double)(SS * 4));
    char path[600];
    snprintf(path, sizeof path, "%s/images.npy", tmpl);
    FILE *f = fopen(path, "wb");
    char dict[128];
    int k = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %d, %d), }",
                     (long long)n, S, S);
    unsigned char hdr[128];
    memset(hdr, ' ', sizeof hdr);
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = 118;
    hdr[9] = 0;
    memcpy(hdr + 10, dict, (size_t)k);
    hdr[127] = '\n';
    int ok = f && fwrite(hdr, 1, 128, f) == 128 && fflush(f) == 0 &&
             ftruncate(fileno(f), (off_t)(128 + (size_t)n * SS * 4)) == 0;
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "%s/meta.csv", tmpl);
    f = ok ? fopen(path, "w") : NULL;
    if (f) {
        fputs("id,patient,label\n", f);
        for (int64_t i = 0; i < n; i++)
            fprintf(f, "i%lld,p%lld,%d\n", (long long)i, (long long)(i / 100), (int)(i & 1));
        ok = fclose(f) == 0;
    }
    if (!ok) {
        fprintf(stderr, "dtcl bench: cannot write the sparse dataset in %s\n", tmpl);
        dtcl_remove_tree(tmpl);
        return DTCL_EXIT_FAIL;
    }
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    double ram = (double)pages * psize;
    DtclDataset ds;
    DtclError err;
    double t0 = dtcl_now_ms();
    if (dtcl_dataset_open(&ds, tmpl, &err) != 0) {
        fprintf(stderr, "dtcl bench: %s\n", err.msg);
        dtcl_remove_tree(tmpl);
        return DTCL_EXIT_FAIL;
    }
    double open_ms = dtcl_now_ms() - t0;
    float *x = DTCL_ALIGNED(SS * 4 * (size_t)batch);
    int64_t *idx = DTCL_MALLOC(sizeof(int64_t) * (size_t)batch);
    double *u = DTCL_MALLOC(sizeof(double) * (size_t)batch);
    double *ms = DTCL_MALLOC(sizeof(double) * (size_t)nbatches);
    long r0 = resident_pages(ds.map, ds.map_len);
    for (int b = 0; b < nbatches; b++) {
        DtclStream s = {1, DTCL_RNG_TEST, 0, (uint32_t)b, 0};
        dtcl_rng_uniform(&s, u, (size_t)batch);
        for (int i = 0; i < batch; i++)
            idx[i] = (int64_t)(u[i] * (double)n) % n;
        double t = dtcl_now_ms();
        dtcl_dataset_load(&ds, x, idx, batch);
        ms[b] = dtcl_now_ms() - t;
    }
    long touched = resident_pages(ds.map, ds.map_len) - r0;
    qsort(ms, (size_t)nbatches, sizeof(double), dtcl_cmp_double);
    double file = (double)ds.map_len;
    printf("dataset: %lld images of %dx%d float32 = %.1f GiB (memory %.1f GiB), memory-mapped, opened in %.0f ms\n",
           (long long)n, S, S, file / 1073741824.0, ram / 1073741824.0, open_ms);
    printf("  %d batches of %d random images: median %.3f ms, max %.3f ms per batch\n", nbatches, batch,
           ms[nbatches / 2], ms[nbatches - 1]);
    printf("  pages of the file in memory after the batches: %ld (%.1f MiB) = %.3f%% of the file; the batches\n"
           "  needed %.1f MiB (the memory-mapped loader reads only the images it is asked for)\n", touched,
           touched * (double)psize / 1048576.0, 100.0 * touched * psize / file,
           (double)nbatches * batch * SS * 4 / 1048576.0);
    free(x);
    free(idx);
    free(u);
    free(ms);
    dtcl_dataset_close(&ds);
    dtcl_remove_tree(tmpl);
    return DTCL_EXIT_OK;
}

/* --sizes and --batch: up to 16 integers from lo to hi into out; their
 * count, or -1 after the usage message. */
static int int_list_option(const char *cmd, const char *name, const char *what, const char *arg, int lo, int hi,
                           int out[16])
{
    double list[16];
    int n = dtcl_parse_list(arg, list, 16);
    if (n <= 0) {
        dtcl_cli_usage_error(cmd, "%s '%s' is not a list of %s", name, arg, what);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (list[i] < lo || list[i] > hi || list[i] != (int)list[i]) {
            dtcl_cli_usage_error(cmd, "%s: %g is not an integer from %d to %d", name, list[i], lo, hi);
            return -1;
        }
        out[i] = (int)list[i];
    }
    return n;
}

int dtcl_cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sizes", required_argument, 0, 1},  {"batch", required_argument, 0, 2},
        {"repeats", required_argument, 0, 3}, {"threads", required_argument, 0, 't'},
        {"no-torch", no_argument, 0, 4},     {"gb", required_argument, 0, 5},
        {"size", required_argument, 0, 6},   {"help", no_argument, 0, 'h'},
        {"encoder", required_argument, 0, 7}, {"device", required_argument, 0, 8},
        {"allow-tf32", no_argument, 0, 9},   {0, 0, 0, 0}};
    const char *cmd = "bench";
    int sizes[16] = {64, 128, 240}, nsizes = 3, use_torch = 1, sizes_set = 0;
    static const int train_sizes[2] = {64, 128}, dn_sizes[1] = {224};
    static const int gpu_sizes[2] = {128, 240}, gpu_batches[2] = {32, 256}; /* issue #7's grid */
    long batch = 32, repeats = 7, threads = 0, size = 128;
    int batches[16] = {32}, nbatches = 1, batch_set = 0;
    DtclDevice device = DTCL_DEVICE_CPU;
    DtclEncoderKind encoder = DTCL_ENCODER_FCN;
    double gb = 32;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":t:h", opts, NULL)) != -1) {
        switch (c) {
        case 1:
            if ((nsizes = int_list_option(cmd, "--sizes", "image sizes", optarg, 8, 1024, sizes)) < 0)
                return DTCL_EXIT_INPUT;
            sizes_set = 1;
            break;
        case 2:
            if ((nbatches = int_list_option(cmd, "--batch", "batch sizes", optarg, 1, 4096, batches)) < 0)
                return DTCL_EXIT_INPUT;
            batch = batches[0];
            batch_set = 1;
            break;
        case 8:
            if (dtcl_cli_device_option(cmd, optarg, &device) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 9: dtcl_device_allow_tf32(1); break;
        case 7:
            if (dtcl_cli_encoder_option(cmd, optarg, &encoder) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 3:
            if (dtcl_cli_int_option(cmd, "repeats", optarg, 5, 1000, &repeats) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 't':
            if (dtcl_cli_int_option(cmd, "threads", optarg, 1, 1024, &threads) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 4: use_torch = 0; break;
        case 5:
            if (dtcl_parse_double(optarg, 0.001, 4096, &gb) != 0)
                return dtcl_cli_usage_error(cmd, "--gb '%s' is not a size in GiB from 0.001 to 4096", optarg);
            break;
        case 6:
            if (dtcl_cli_int_option(cmd, "size", optarg, 8, 1024, &size) != 0)
                return DTCL_EXIT_INPUT;
            break;
        case 'h': dtcl_cli_help(bench_help); return DTCL_EXIT_OK;
        case ':': return dtcl_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return dtcl_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return dtcl_cli_usage_error(cmd, "which benchmark? (available: transform, train-step, import, dataset)");
    const char *which = argv[optind];
    dtcl_set_threads((int)threads);
    if (strcmp(which, "import") == 0) {
        if (optind + 2 != argc)
            return dtcl_cli_usage_error(cmd, "bench import needs one ROOT (the BraTS folder)");
        return bench_import(argv[optind + 1], repeats == 7 ? 3 : (int)repeats);
    }
    if (optind + 1 < argc)
        return dtcl_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    if (strcmp(which, "dataset") == 0)
        return bench_dataset(gb, (int)size, (int)batch, 200);
    if (strcmp(which, "train-step") == 0) {
        int dn = encoder == DTCL_ENCODER_DENSENET121, least = dn ? 32 : 16;
        for (int i = 0; sizes_set && i < nsizes; i++)
            if (sizes[i] < least)
                return dtcl_cli_usage_error(cmd, "--sizes: %d is too small for the %s encoder (train-step needs %d "
                                                 "or more)", sizes[i], dtcl_encoder_name(encoder), least);
        if (!batch_set && device == DTCL_DEVICE_CPU)
            batches[0] = dtcl_encoder_default_batch(encoder);
        if (device != DTCL_DEVICE_CPU)
            return dtcl_bench_train_step(device, sizes_set ? sizes : gpu_sizes, sizes_set ? nsizes : 2,
                                         batch_set ? batches : gpu_batches, batch_set ? nbatches : 2, (int)repeats,
                                         use_torch, encoder);
        const int *def = dn ? dn_sizes : train_sizes;
        return dtcl_bench_train_step(device, sizes_set ? sizes : def, sizes_set ? nsizes : (dn ? 1 : 2), batches,
                                     nbatches, (int)repeats, use_torch, encoder);
    }
    if (strcmp(which, "transform") != 0)
        return dtcl_cli_usage_error(cmd, "unknown benchmark '%s' (available: transform, train-step, import, dataset)",
                                    which);
    if (device != DTCL_DEVICE_CPU)
        return bench_transform(device, sizes_set ? sizes : gpu_sizes, sizes_set ? nsizes : 2,
                               batch_set ? batches : gpu_batches, batch_set ? nbatches : 2, (int)repeats, use_torch);
    return bench_transform(device, sizes, nsizes, batches, nbatches, (int)repeats, use_torch);
}
