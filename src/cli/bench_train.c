/* bench_train.c: `dtcl bench train-step` times SPEC section 4's steps for a
 * batch of the default networks, with the fcn or the densenet121 encoder:
 *   (a) the encoder step: f on X and X_M, g, p, L_NCE and both BCE terms,
 *       backward, Adam;
 *   (b) the whole `proposed` step: M proposes Lambda, T, the M step, then the
 *       encoder step on the same X_M (one shared forward pass);
 * and, when python3 imports torch, the same steps by ref/bench_train.py in
 * the same run, reported as ratios of medians. It also measures the machine's
 * sgemm rate (one single-threaded sgemm per thread, as the convolutions call
 * it) and the rate the fcn encoder's convolutions reach on their own; and the
 * peak resident memory each side adds for its model and steps (Linux:
 * VmHWM after resetting it through /proc/self/clear_refs, less VmRSS
 * before). */
#define _DEFAULT_SOURCE
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench.h"
#include "nn/conv.h"
#include "base/error.h"
#include "base/rng.h"
#include "train/step.h"
#include "train/step.h"

static void fill_uniform(float *x, size_t n, uint32_t item)
{
    DtclStream s = {1, DTCL_RNG_TEST, 0, 0, item};
    dtcl_rng_uniform_range(&s, x, n, 0.0f, 1.0f);
}

/* GFLOP/s of one 1024^3 sgemm per thread, all threads at once (best of 5). */
static double sgemm_rate(int threads)
{
    const int n = 1024;
    size_t nn = (size_t)n * n;
    float *a = DTCL_ALIGNED(sizeof(float) * nn * 3 * threads);
    fill_uniform(a, nn * 3 * threads, 7);
    double best = 1e300;
    for (int r = 0; r < 5; r++) {
        double t0 = dtcl_now_ms();
#pragma omp parallel num_threads(threads)
        {
            float *m = a + (size_t)omp_get_thread_num() * 3 * nn;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, m, n, m + nn, n, 0.0f, m + 2 * nn, n);
        }
        double t = dtcl_now_ms() - t0;
        best = t < best ? t : best;
    }
    free(a);
    return 2.0 * n * nn * threads / (best * 1e6);
}

/* Convolution c of the fcn encoder's block b at batch B and side S. */
static DtclConvShape fcn_conv_shape(const DtclModel *md, int b, int c, int B, int S, int threads)
{
    const int *w = md->f.fcn.widths;
    return (DtclConvShape){.B = B, .C = c ? w[b] : (b ? w[b - 1] : 1), .O = w[b], .H = S >> b, .W = S >> b, .k = 3,
                           .threads = threads};
}

/* GFLOP/s of f's convolutions alone at batch B and side S: forward,
 * backward with input and weight gradients (the first without input
 * gradient), best of 3. */
static double conv_rate(const DtclModel *md, int B, int S, int threads)
{
    double flops = 0, ms = 0;
    for (int b = 0; b < md->f.fcn.nblocks; b++)
        for (int c = 0; c < 2; c++) {
            DtclConvShape s = fcn_conv_shape(md, b, c, B, S, threads);
            int H = s.H;
            size_t nx = (size_t)B * s.C * H * H, ny = (size_t)B * s.O * H * H, nw = (size_t)s.O * s.C * 9;
            float *x = DTCL_ALIGNED(4 * nx), *dx = DTCL_ALIGNED(4 * nx), *y = DTCL_ALIGNED(4 * ny);
            float *w = DTCL_ALIGNED(4 * nw), *dw = DTCL_ALIGNED(4 * nw);
            float *work = DTCL_ALIGNED(4 * dtcl_conv2d_work_size(&s));
            fill_uniform(x, nx, 1);
            fill_uniform(w, nw, 2);
            memset(dx, 0, 4 * nx);
            memset(dw, 0, 4 * nw);
            double best = 1e300, mac = (double)B * H * H * s.O * s.C * 9;
            int first = b == 0 && c == 0;
            for (int r = 0; r < 3; r++) {
                double t0 = dtcl_now_ms();
                dtcl_conv2d_forward(y, x, w, NULL, &s, work);
                dtcl_conv2d_backward(first ? NULL : dx, dw, NULL, y, x, w, &s, work);
                double t = dtcl_now_ms() - t0;
                best = t < best ? t : best;
            }
            flops += 2 * mac * (first ? 2 : 3);
            ms += best;
            free(x); free(dx); free(y); free(w); free(dw); free(work);
        }
    return flops / (ms * 1e6);
}

/* GFLOP/s of the very sgemm calls that f's convolutions make at batch B and
 * side S, on ready matrices (no im2col, no weight flip, no group sums): per
 * image, the forward (O, HW, 9C), the weight gradient (O, 9C, HW; transposed
 * B) and, but for the first layer, the input gradient (C, HW, 9O); threads
 * take the images in turn, one single-threaded sgemm each, best of 3. The
 * ceiling that im2col with OpenBLAS has at these shapes. */
static double layer_sgemm_rate(const DtclModel *md, int B, int S, int threads)
{
    double flops = 0, ms = 0;
    for (int b = 0; b < md->f.fcn.nblocks; b++)
        for (int c = 0; c < 2; c++) {
            DtclConvShape s = fcn_conv_shape(md, b, c, B, S, threads);
            int HW = s.H * s.W, O = s.O, C = s.C, K = 9 * C, Ko = 9 * O;
            int first = b == 0 && c == 0;
            /* per thread: columns (K or Ko rows, HW), weights and their gradient (O K each), output
               (O or C rows, HW) */
            size_t ncol = (size_t)(K > Ko ? K : Ko) * HW;
            size_t per = ncol + 2 * (size_t)O * K + (size_t)(O > C ? O : C) * HW;
            float *a = DTCL_ALIGNED(sizeof(float) * per * threads);
            fill_uniform(a, per * threads, 3);
            double best = 1e300;
            for (int r = 0; r < 3; r++) {
                double t0 = dtcl_now_ms();
#pragma omp parallel for schedule(static) num_threads(threads)
                for (int i = 0; i < B; i++) {
                    float *col = a + (size_t)omp_get_thread_num() * per, *w = col + ncol;
                    float *dw = w + (size_t)O * K, *y = dw + (size_t)O * K;
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, HW, K, 1.0f, w, K, col, HW, 0.0f, y,
                                HW);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, K, HW, 1.0f, y, HW, col, HW, 0.0f, dw,
                                K);
                    if (!first)
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, C, HW, Ko, 1.0f, w, Ko, col, HW, 0.0f,
                                    y, HW);
                }
                double t = dtcl_now_ms() - t0;
                best = t < best ? t : best;
            }
            flops += 2.0 * B * HW * O * K * (first ? 2 : 3);
            ms += best;
            free(a);
        }
    return flops / (ms * 1e6);
}

/* kiB of /proc/self/status's `key` (VmRSS, VmHWM), 0 when unknown */
static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = 0;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':')
            v = atol(line + n + 1);
    if (f)
        fclose(f);
    return v;
}

static void reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w"); /* "5": VmHWM back to VmRSS */
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

/* The encoder step and the proposed step on dev (step.h): min and median of `repeats` after a warm-up; each timed step
 * waits for the device. peak_mib: the memory added (host: VmHWM, or the
 * GPU's memory in use for the model and both steps' buffers). */
static int time_steps(DtclDevice dev, DtclEncoderKind encoder, int S, int batch, int repeats, int threads,
                      double med[2], double mins[2], double *peak_mib, DtclError *err)
{
    long rss0 = status_kib("VmRSS");
    size_t gpu0 = 0, gpu1 = 0, total;
    dtcl_device_memory(dev, &gpu0, &total);
    reset_peak();
    DtclModelConfig cfg;
    dtcl_model_config_default(&cfg);
    cfg.encoder = encoder;
    DtclModel md;
    dtcl_model_init(&md, &cfg);
    dtcl_model_reset(&md, 1);
    DtclStage order[DTCL_NSTAGES];
    int nsteps;
    dtcl_transform_parse_order(dtcl_default_order, order, &nsteps, NULL);
    DtclTransformParams tp;
    dtcl_transform_params_default(&tp);
    DtclTransform tr;
    dtcl_transform_init(&tr, S, order, nsteps, &tp, NULL);
    DtclStepPlan st;
    if (dtcl_step_plan_init(&st, dev, &md, &tr, NULL, 1, batch, S, threads, err) != 0) {
        dtcl_transform_free(&tr);
        dtcl_model_free(&md);
        return -1;
    }
    DtclStepConfig sc;
    dtcl_step_config_default(&sc);
    sc.nce.sim = DTCL_SIM_DOT; /* ref/bench_train.py's loss (the same steps; cosine costs no more) */
    size_t n = (size_t)batch * S * S;
    float *x = DTCL_ALIGNED(4 * n), *xm = DTCL_ALIGNED(4 * n);
    fill_uniform(x, n, 3);
    fill_uniform(xm, n, 4);
    int8_t *labels = DTCL_MALLOC((size_t)batch);
    for (int i = 0; i < batch; i++) /* half of the batch labelled */
        labels[i] = i < batch / 2 ? (int8_t)(i & 1) : -1;
    /* The two steps alternate, repeat by repeat, so that a change in the
     * machine's load during the run weighs on both alike (vs_enc). */
    double *ms = DTCL_MALLOC(sizeof(double) * 2 * repeats);
    int rc = 0;
    for (int r = -1; r < repeats && rc == 0; r++)
        for (int which = 0; which < 2 && rc == 0; which++) {
            DtclStepLosses l;
            DtclNoiseSource ns = {1, 0, (uint32_t)(r + 1), NULL};
            /* on the GPU the batch stays where the warm-up copied it (NULL) */
            int first = r < 0 && which == 0;
            const float *bx = dev == DTCL_DEVICE_CPU || first ? x : NULL;
            double t0 = dtcl_now_ms();
            if (which == 0)
                rc = dtcl_step_encoder(&st, &sc, bx, dev == DTCL_DEVICE_CPU || first ? xm : NULL, labels, &l, err);
            else
                rc = dtcl_step_proposed(&st, &sc, &ns, bx, labels, &l, NULL, err);
            if (rc == 0)
                rc = dtcl_step_wait(&st, err);
            if (r >= 0)
                ms[which * repeats + r] = dtcl_now_ms() - t0;
        }
    for (int which = 0; which < 2 && rc == 0; which++) {
        double *w = ms + which * repeats;
        qsort(w, (size_t)repeats, sizeof(double), dtcl_cmp_double);
        mins[which] = w[0];
        med[which] = w[repeats / 2];
    }
    if (dev == DTCL_DEVICE_CPU)
        *peak_mib = (status_kib("VmHWM") - rss0) / 1024.0;
    else
        *peak_mib = dtcl_device_memory(dev, &gpu1, &total) == 0 ? ((double)gpu1 - (double)gpu0) / 1048576.0 : -1;
    free(ms);
    free(labels);
    free(x);
    free(xm);
    dtcl_step_plan_free(&st);
    dtcl_transform_free(&tr);
    dtcl_model_free(&md);
    return rc;
}

static int torch_step(const char *py, const char *rd, const char *step, DtclDevice dev, DtclEncoderKind encoder,
                      int S, int batch, int repeats, int threads, double *tmin, double *tmed, double *peak)
{
    char args[256];
    snprintf(args, sizeof args, "--step %s --encoder %s --size %d --batch %d --repeats %d --threads %d --device %s",
             step, dtcl_encoder_name(encoder), S, batch, repeats, threads, dtcl_device_name(dev));
    return dtcl_bench_ref(py, rd, "bench_train.py", args, tmin, tmed, peak);
}

int dtcl_bench_train_step(DtclDevice dev, const int *sizes, int nsizes, const int *batches, int nbatches, int repeats,
                          int use_torch, DtclEncoderKind encoder)
{
    int threads = omp_get_max_threads();
    dtcl_bench_machine(threads);
    const char *py = use_torch ? dtcl_bench_python() : NULL, *rd = use_torch ? dtcl_bench_ref_dir() : NULL;
    if (use_torch && (!py || !rd))
        printf("pytorch reference: not run (%s)\n", !py ? "no python3 that imports torch; set DTCL_PYTHON"
                                                        : "ref/bench_train.py not found; set DTCL_REF_DIR");
    if (py && rd && !dtcl_bench_torch_has(py, dev)) {
        printf("pytorch reference: not run (%s's torch has no CUDA device)\n", py);
        py = NULL;
    }
    double sgemm = 0;
    if (dev == DTCL_DEVICE_CPU) {
        sgemm = sgemm_rate(threads);
        printf("sgemm: %.1f GFLOP/s (one single-threaded 1024^3 sgemm per thread, %d at once)\n", sgemm, threads);
    }
    DtclModelConfig mc;
    dtcl_model_config_default(&mc);
    mc.encoder = encoder;
    char desc[160];
    printf("networks: %s; M 16,32; g %d->256->128; half of each batch labelled; %d repeats after a warm-up; on "
           "the %s\n\n", dtcl_model_describe(&mc, desc, sizeof desc), dtcl_model_dim(&mc), repeats,
           dev == DTCL_DEVICE_CPU ? "CPU" : "GPU (float32; TF32 only with --allow-tf32)");
    printf("%5s %5s %-9s %11s %11s %9s %11s %11s %8s %9s\n", "S", "batch", "step", "dtcl_min_ms", "dtcl_med_ms",
           "images/s", "torch_min", "torch_med", "speedup", "vs_enc");
    for (int si = 0; si < nsizes; si++)
        for (int bi = 0; bi < nbatches; bi++) {
            int S = sizes[si], batch = batches[bi];
            double med[2], mins[2], peak, tpeak[2] = {-1, -1};
            DtclError err;
            if (time_steps(dev, encoder, S, batch, repeats, threads, med, mins, &peak, &err) != 0) {
                fprintf(stderr, "dtcl bench: %s\n", err.msg);
                return DTCL_EXIT_FAIL;
            }
            static const char *const names[2] = {"encoder", "proposed"};
            for (int w = 0; w < 2; w++) {
                printf("%5d %5d %-9s %11.1f %11.1f %9.1f", S, batch, names[w], mins[w], med[w],
                       batch / (med[w] / 1e3));
                fflush(stdout);
                double tmin, tmed;
                if (py && rd &&
                    torch_step(py, rd, names[w], dev, encoder, S, batch, repeats, threads, &tmin, &tmed, &tpeak[w]) == 0)
                    printf(" %11.1f %11.1f %7.2fx", tmin, tmed, tmed / med[w]);
                else
                    printf(" %11s %11s %8s", "-", "-", "-");
                printf(" %8.2fx\n", med[w] / med[0]);
            }
            if (dev == DTCL_DEVICE_CPU)
                printf("%5d %5d peak memory added: dtcl %.0f MiB (model, Adam state, both steps' buffers)", S, batch,
                       peak);
            else
                printf("%5d %5d GPU memory used: dtcl %.0f MiB (model, Adam state, both steps' buffers, cuBLAS and "
                       "cuFFT workspaces)", S, batch, peak);
            if (tpeak[1] >= 0)
                printf("; PyTorch %.0f MiB (encoder step), %.0f MiB (proposed step)%s", tpeak[0], tpeak[1],
                       dev == DTCL_DEVICE_CPU ? "" : " at their peak allocation");
            printf("\n");
            if (dev == DTCL_DEVICE_CPU && encoder == DTCL_ENCODER_FCN) {
                DtclModel md;
                dtcl_model_init(&md, &mc);
                double cr = conv_rate(&md, batch, S, threads), lr = layer_sgemm_rate(&md, batch, S, threads);
                dtcl_model_free(&md);
                printf("%5d %5d conv layers alone: %.1f GFLOP/s = %.0f%% of sgemm; %.0f%% of the %.1f GFLOP/s that "
                       "their own sgemm calls reach without im2col\n", S, batch, cr, 100 * cr / sgemm, 100 * cr / lr,
                       lr);
            }
        }
    printf("\nspeedup = PyTorch median / dtcl median; vs_enc = this step's median / the encoder step's, both from\n"
           "this run. PyTorch: ref/bench_train.py with ref/dtcl_nets.py (same networks and steps%s).\n",
           dev == DTCL_DEVICE_CPU ? "" : ", eager, on the same GPU");
    return DTCL_EXIT_OK;
}
