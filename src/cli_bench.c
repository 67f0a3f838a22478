/* cli_bench.c: `dtcl bench transform` times the transformation work that
 * training does (forward with saved buffers, dT/dlambda_k for k = 0..6, and
 * the vector-Jacobian products in x and Lambda) for a batch, and, when
 * python3 with torch is found, the same work by the PyTorch reference
 * (ref/bench_transform.py) in the same run; speed is reported as the ratio
 * of the two medians. No wall-clock number is compared with a constant. */
#include "config.h"

#include <fftw3.h>
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "rng.h"
#include "transform.h"

#ifdef HAVE_OPENBLAS_GET_CORENAME
char *openblas_get_corename(void);
#endif

static const char *bench_help =
    "Usage: dtcl bench transform [OPTIONS]\n"
    "Time T_Lambda's forward pass, its Jacobian dT/dlambda (7 columns) and its vector-Jacobian\n"
    "products for a batch, against the PyTorch reference (ref/) in the same run.\n"
    "\n"
    "      --sizes LIST     image sizes (default 64,128,240)\n"
    "      --batch N        images per batch (default 32)\n"
    "      --repeats N      timed repeats after one warm-up, at least 5 (default 7)\n"
    "  -t, --threads N      OpenMP threads, and PyTorch's (default: OMP_NUM_THREADS or all cores)\n"
    "      --no-torch       do not run the PyTorch reference\n"
    "  -h, --help           this text\n"
    "\n"
    "Environment: DTCL_PYTHON (interpreter with torch), DTCL_REF_DIR (folder of bench_transform.py),\n"
    "OPENBLAS_CORETYPE (forces OpenBLAS's kernels; dtcl does not override it).\n";

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char *ref_dir(void)
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
static const char *find_python(void)
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

static void print_machine(int threads)
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
    printf("cpu: %s; %d threads\n", model, threads);
    printf("openblas core: %s (OPENBLAS_CORETYPE %s%s)\n", core, forced ? "= " : "unset", forced ? forced : "");
    if (forced)
        printf("note: OPENBLAS_CORETYPE forces OpenBLAS's kernels; on AVX-512 machines Haswell halves sgemm speed\n");
    printf("fftw: %s\n", fftwf_version);
}

static int bench_transform(const int *sizes, int nsizes, int batch, int repeats, int use_torch)
{
    int threads = omp_get_max_threads();
    print_machine(threads);
    const char *py = use_torch ? find_python() : NULL, *rd = use_torch ? ref_dir() : NULL;
    if (use_torch && (!py || !rd))
        printf("pytorch reference: not run (%s)\n", !py ? "no python3 that imports torch; set DTCL_PYTHON"
                                                        : "ref/bench_transform.py not found; set DTCL_REF_DIR");
    printf("work per batch: forward (saving), dT/dlambda_k k=0..6, VJP in x and lambda; %d repeats after a warm-up\n\n",
           repeats);
    printf("%5s %5s %12s %12s %10s %12s %12s %10s\n", "S", "batch", "dtcl_min_ms", "dtcl_med_ms", "images/s",
           "torch_min_ms", "torch_med_ms", "speedup");
    DtclStepKind order[DTCL_NSTEP_KINDS];
    int nsteps;
    dtcl_transform_parse_order(dtcl_default_order, order, &nsteps, NULL);
    DtclTransformParams p;
    dtcl_transform_params_default(&p);
    for (int si = 0; si < nsizes; si++) {
        int S = sizes[si];
        DtclTransform t;
        DtclError err;
        if (dtcl_transform_init(&t, S, order, nsteps, &p, &err) != 0) {
            fprintf(stderr, "dtcl bench: %s\n", err.msg);
            return DTCL_EXIT_INPUT;
        }
        size_t NS = (size_t)batch * S * S;
        float *x = DTCL_ALIGNED(NS * 4), *dy = DTCL_ALIGNED(NS * 4), *lam = DTCL_ALIGNED((size_t)batch * 7 * 4);
        float *y = DTCL_ALIGNED(NS * 4), *saved = DTCL_ALIGNED(dtcl_transform_saved_size(&t) * batch * 4);
        float *jac = DTCL_ALIGNED(NS * 7 * 4), *dx = DTCL_ALIGNED(NS * 4), *dl = DTCL_ALIGNED((size_t)batch * 7 * 4);
        double *u = DTCL_MALLOC(sizeof(double) * NS);
        DtclStream s = {1, DTCL_RNG_TEST, 0, 0, 0};
        dtcl_rng_uniform(&s, u, NS);
        for (size_t i = 0; i < NS; i++) {
            x[i] = (float)u[i];
            dy[i] = (float)(2 * u[(i * 7919) % NS] - 1);
        }
        for (int i = 0; i < batch * 7; i++)
            lam[i] = 0.05f + 0.9f * (float)u[i * 13 % NS];
        double *ms = DTCL_MALLOC(sizeof(double) * repeats);
        for (int r = -1; r < repeats; r++) {
            DtclNoiseSource ns = {1, 0, (uint32_t)(r + 1), NULL};
            double t0 = now_ms();
            dtcl_transform_forward(&t, y, saved, x, lam, &ns, batch);
            dtcl_transform_jacobian(&t, jac, NULL, x, lam, &ns, batch);
            memset(dx, 0, NS * 4);
            memset(dl, 0, (size_t)batch * 7 * 4);
            dtcl_transform_backward(&t, dx, dl, dy, x, lam, saved, batch);
            if (r >= 0)
                ms[r] = now_ms() - t0;
        }
        qsort(ms, repeats, sizeof(double), cmp_double);
        double dmin = ms[0], dmed = ms[repeats / 2];
        printf("%5d %5d %12.2f %12.2f %10.0f", S, batch, dmin, dmed, batch / (dmed / 1e3));
        fflush(stdout);
        if (py && rd) {
            char cmd[9000], line[256] = "";
            snprintf(cmd, sizeof cmd, "'%s' '%s/bench_transform.py' --size %d --batch %d --repeats %d --threads %d",
                     py, rd, S, batch, repeats, threads);
            FILE *pp = popen(cmd, "r");
            double tmin = 0, tmed = 0;
            if (pp && fgets(line, sizeof line, pp) && sscanf(line, "%lf %lf", &tmin, &tmed) == 2)
                printf(" %12.2f %12.2f %9.2fx\n", tmin, tmed, tmed / dmed);
            else
                printf(" %12s %12s %10s\n", "failed", "-", "-");
            if (pp)
                pclose(pp);
        } else {
            printf(" %12s %12s %10s\n", "-", "-", "-");
        }
        free(x); free(dy); free(lam); free(y); free(saved); free(jac); free(dx); free(dl); free(u); free(ms);
        dtcl_transform_free(&t);
    }
    printf("\nspeedup = PyTorch median / dtcl median, both measured above in this run.\n");
    return DTCL_EXIT_OK;
}

int dtcl_cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sizes", required_argument, 0, 1},  {"batch", required_argument, 0, 2},
        {"repeats", required_argument, 0, 3}, {"threads", required_argument, 0, 't'},
        {"no-torch", no_argument, 0, 4},     {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *cmd = "bench";
    int sizes[16] = {64, 128, 240}, nsizes = 3, use_torch = 1;
    long batch = 32, repeats = 7, threads = 0;
    double list[16];
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":t:h", opts, NULL)) != -1) {
        switch (c) {
        case 1:
            nsizes = dtcl_parse_list(optarg, list, 16);
            if (nsizes <= 0)
                return dtcl_cli_usage_error(cmd, "--sizes '%s' is not a list of image sizes", optarg);
            for (int i = 0; i < nsizes; i++) {
                if (list[i] < 8 || list[i] > 1024 || list[i] != (int)list[i])
                    return dtcl_cli_usage_error(cmd, "--sizes: %g is not an integer from 8 to 1024", list[i]);
                sizes[i] = (int)list[i];
            }
            break;
        case 2:
            if (dtcl_parse_int(optarg, 1, 4096, &batch) != 0)
                return dtcl_cli_usage_error(cmd, "--batch '%s' is not an integer from 1 to 4096", optarg);
            break;
        case 3:
            if (dtcl_parse_int(optarg, 5, 1000, &repeats) != 0)
                return dtcl_cli_usage_error(cmd, "--repeats '%s' is not an integer from 5 to 1000", optarg);
            break;
        case 't':
            if (dtcl_parse_int(optarg, 1, 1024, &threads) != 0)
                return dtcl_cli_usage_error(cmd, "--threads '%s' is not an integer from 1 to 1024", optarg);
            break;
        case 4: use_torch = 0; break;
        case 'h': fputs(bench_help, stdout); return DTCL_EXIT_OK;
        case ':': return dtcl_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return dtcl_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return dtcl_cli_usage_error(cmd, "which benchmark? (available: transform)");
    if (strcmp(argv[optind], "transform") != 0)
        return dtcl_cli_usage_error(cmd, "unknown benchmark '%s' (available: transform)", argv[optind]);
    if (optind + 1 < argc)
        return dtcl_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    dtcl_set_threads((int)threads);
    return bench_transform(sizes, nsizes, (int)batch, (int)repeats, use_torch);
}
