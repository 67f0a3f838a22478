/* nce_gpu.cu: L_NCE, NT-Xent and SupCon with their gradients on the GPU, the
 * twin of nce.c (see nce_gpu.h). Work layout (doubles): an, bn (V,D); na, nb
 * (V); G (V,V) dL/ds / (R tau); ga, gb (V,D); rowloss (V); loss (1); target
 * (V,V); then excl (V ints). V = 2B. */
#include <math.h>
#include <stdlib.h>

#include "gpu/launch_gpu.h"
#include "gpu/memory_gpu.h"
#include "gpu/nce_gpu.h"

struct Work {
    double *an, *bn, *na, *nb, *G, *ga, *gb, *rowloss, *loss, *target;
    int *excl;
};

static Work carve(void *w, int B, int D)
{
    size_t V = 2 * (size_t)B, VD = V * D;
    double *p = (double *)w;
    Work k;
    k.an = p;
    k.bn = k.an + VD;
    k.na = k.bn + VD;
    k.nb = k.na + V;
    k.G = k.nb + V;
    k.ga = k.G + V * V;
    k.gb = k.ga + VD;
    k.rowloss = k.gb + VD;
    k.loss = k.rowloss + V;
    k.target = k.loss + 1;
    k.excl = (int *)(k.target + V * V);
    return k;
}

static size_t work_bytes(int B, int D)
{
    size_t V = 2 * (size_t)B, VD = V * D;
    return sizeof(double) * (4 * VD + 3 * V + 2 * V * V + 1) + sizeof(int) * V;
}

/* the device's work, and the host's rows and targets (dtcl_nce_rows) */
struct NceWork {
    void *dev;
    double *target; /* (2B,2B) */
    int *excl;      /* (2B) */
};

extern "C" void *dtcl_nce_work_create_gpu(int B, int D, DtclError *err)
{
    NceWork *w = (NceWork *)DTCL_CALLOC(1, sizeof *w);
    size_t V = 2 * (size_t)B;
    if (dtcl_gpu_alloc(&w->dev, work_bytes(B, D), err) != 0) {
        free(w);
        return NULL;
    }
    w->target = (double *)DTCL_MALLOC(sizeof(double) * V * V);
    w->excl = (int *)DTCL_MALLOC(sizeof(int) * V);
    return w;
}

extern "C" void dtcl_nce_work_free_gpu(void *work)
{
    NceWork *w = (NceWork *)work;
    if (!w)
        return;
    dtcl_gpu_free(w->dev);
    free(w->target);
    free(w->excl);
    free(w);
}

/* rows of x (the first half zm, the second z when `views`) to double, normalised for cosine */
__global__ static void normalise(double *out, double *norm, const float *zm, const float *z, int rows, int B, int D,
                                 int cosine)
{
    DTCL_GPU_LOOP(r, (size_t)rows)
    {
        const float *x = r < (size_t)B ? zm + r * D : z + (r - B) * D;
        double s = 0;
        for (int d = 0; d < D; d++)
            s += (double)x[d] * x[d];
        double n = cosine ? fmax(sqrt(s), 1e-12) : 1.0;
        norm[r] = n;
        for (int d = 0; d < D; d++)
            out[r * D + d] = x[d] / n;
    }
}

/* row r: s_rc, its log-sum-exp over c != excl[r], its loss, and G_rc = dL/ds_rc / tau */
__global__ static void rows_kernel(Work k, int R, int D, double tau)
{
    DTCL_GPU_LOOP(r, (size_t)R)
    {
        double *g = k.G + r * R, mx = -INFINITY;
        for (int c = 0; c < R; c++) {
            double s = 0;
            for (int d = 0; d < D; d++)
                s += k.an[r * D + d] * k.bn[(size_t)c * D + d];
            g[c] = s / tau;
            if (c != k.excl[r] && g[c] > mx)
                mx = g[c];
        }
        double sum = 0;
        for (int c = 0; c < R; c++)
            if (c != k.excl[r])
                sum += exp(g[c] - mx);
        double lse = mx + log(sum), tgt = 0;
        for (int c = 0; c < R; c++)
            tgt += k.target[r * R + c] * g[c];
        k.rowloss[r] = lse - tgt;
        for (int c = 0; c < R; c++)
            g[c] = ((c != k.excl[r] ? exp(g[c] - lse) : 0.0) - k.target[r * R + c]) / ((double)R * tau);
    }
}

/* gan = G bn (over c in order), gbn = G^T an (over r in order), then back
 * through the normalisation: (g - (xhat.g) xhat) / |x| */
__global__ static void grads_kernel(Work k, int R, int D, int cosine)
{
    DTCL_GPU_LOOP(e, 2 * (size_t)R)
    {
        int side = e >= (size_t)R;
        size_t r = side ? e - R : e;
        double *out = side ? k.gb : k.ga;
        const double *xn = side ? k.bn : k.an, *other = side ? k.an : k.bn;
        double dotp = 0;
        for (int d = 0; d < D; d++) {
            double t = 0;
            for (int c = 0; c < R; c++) {
                double g = side ? k.G[(size_t)c * R + r] : k.G[r * R + c];
                if (g != 0.0)
                    t += g * other[(size_t)c * D + d];
            }
            out[r * D + d] = t;
            dotp += xn[r * D + d] * t;
        }
        double n = side ? k.nb[r] : k.na[r];
        for (int d = 0; d < D; d++)
            out[r * D + d] = (out[r * D + d] - (cosine ? dotp : 0.0) * xn[r * D + d]) / n;
    }
}

/* dzm, dz += the gradients (for the view kinds each view is anchor and candidate) */
__global__ static void add_grads(float *dzm, float *dz, Work k, int B, int D, int views)
{
    size_t n = (size_t)B * D;
    DTCL_GPU_LOOP(q, n)
    {
        if (views) {
            dzm[q] += (float)(k.ga[q] + k.gb[q]);
            dz[q] += (float)(k.ga[n + q] + k.gb[n + q]);
        } else {
            dzm[q] += (float)k.ga[q];
            dz[q] += (float)k.gb[q];
        }
    }
}

__global__ static void total(Work k, int R)
{
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        double s = 0;
        for (int r = 0; r < R; r++)
            s += k.rowloss[r];
        *k.loss = s / R;
    }
}

extern "C" double dtcl_nce_forward_backward_gpu(const DtclNce *c, float *dzm, float *dz, const float *zm,
                                                const float *z, const int8_t *labels, int B, int D, void *work)
{
    int V = 2 * B, cosine = c->sim == DTCL_SIM_COSINE, views = c->kind != DTCL_NCE_PAPER;
    NceWork *w = (NceWork *)work;
    int R = dtcl_nce_rows(c, labels, B, w->target, w->excl);
    Work k = carve(w->dev, B, D);
    dtcl_gpu_upload(k.target, w->target, sizeof(double) * (size_t)R * R, NULL);
    dtcl_gpu_upload(k.excl, w->excl, sizeof(int) * (size_t)R, NULL);
    /* anchors an: zm (paper) or the 2B views; candidates bn: z (paper) or the views again */
    if (views) {
        DTCL_LAUNCH(normalise, dtcl_gpu_blocks(V), DTCL_GPU_THREADS, k.an, k.na, zm, z, V, B, D, cosine);
        DTCL_LAUNCH(normalise, dtcl_gpu_blocks(V), DTCL_GPU_THREADS, k.bn, k.nb, zm, z, V, B, D, cosine);
    } else {
        DTCL_LAUNCH(normalise, dtcl_gpu_blocks(B), DTCL_GPU_THREADS, k.an, k.na, zm, zm, B, B, D, cosine);
        DTCL_LAUNCH(normalise, dtcl_gpu_blocks(B), DTCL_GPU_THREADS, k.bn, k.nb, z, z, B, B, D, cosine);
    }
    DTCL_LAUNCH(rows_kernel, dtcl_gpu_blocks(R), DTCL_GPU_THREADS, k, R, D, c->tau);
    if (dzm) {
        DTCL_LAUNCH(grads_kernel, dtcl_gpu_blocks(2 * (size_t)R), DTCL_GPU_THREADS, k, R, D, cosine);
        DTCL_LAUNCH(add_grads, dtcl_gpu_blocks((size_t)B * D), DTCL_GPU_THREADS, dzm, dz, k, B, D, views);
    }
    DTCL_LAUNCH(total, 1, 1, k, R);
    double loss = NAN; /* stays NaN when the copy fails (recorded for the step's check) */
    dtcl_gpu_download(&loss, k.loss, sizeof loss, NULL);
    return loss;
}
