/* bce_gpu.cu: BCE with logits over the labelled images on the GPU, the twin
 * of bce.c (see bce_gpu.h). */
#include <math.h>
#include <stdlib.h>

#include "gpu/bce_gpu.h"
#include "gpu/launch_gpu.h"
#include "gpu/memory_gpu.h"

/* the loss (1 double) and y (B bytes: the label, or -1 for an image the loss
 * leaves out) on the device; y also on the host, where it is made */
struct BceWork {
    double *loss;
    int8_t *y;
    int8_t *host_y;
};

extern "C" void *dtcl_bce_work_create_gpu(int B, DtclError *err)
{
    BceWork *w = (BceWork *)DTCL_CALLOC(1, sizeof *w);
    if (dtcl_gpu_alloc((void **)&w->loss, sizeof(double), err) != 0 ||
        dtcl_gpu_alloc((void **)&w->y, (size_t)B + 1, err) != 0) {
        dtcl_bce_work_free_gpu(w);
        return NULL;
    }
    w->host_y = (int8_t *)DTCL_MALLOC((size_t)B + 1);
    return w;
}

extern "C" void dtcl_bce_work_free_gpu(void *work)
{
    BceWork *w = (BceWork *)work;
    if (!w)
        return;
    dtcl_gpu_free(w->loss);
    dtcl_gpu_free(w->y);
    free(w->host_y);
    free(w);
}

__global__ static void bce(double *loss, float *dx, const float *x, const int8_t *y, int B, int n)
{
    if (blockIdx.x || threadIdx.x)
        return;
    double s = 0;
    for (int i = 0; i < B; i++) {
        if (y[i] < 0)
            continue;
        double v = x[i], t = y[i];
        s += fmax(v, 0.0) - v * t + log1p(exp(-fabs(v)));
        if (dx) /* forward: the line above */
            dx[i] += (float)((1.0 / (1.0 + exp(-v)) - t) / n);
    }
    *loss = s / n;
}

extern "C" double dtcl_bce_forward_backward_gpu(float *dx, const float *x, const int8_t *labels, const int8_t *mask,
                                                int B, void *work)
{
    BceWork *w = (BceWork *)work;
    int n = 0;
    for (int i = 0; i < B; i++) {
        w->host_y[i] = labels[i] >= 0 && (!mask || mask[i]) ? labels[i] : -1;
        n += w->host_y[i] >= 0;
    }
    if (n == 0)
        return 0.0;
    double loss = NAN; /* stays NaN when a copy fails (recorded for the step's check) */
    if (dtcl_gpu_upload(w->y, w->host_y, (size_t)B, NULL) == 0) {
        DTCL_LAUNCH(bce, 1, 1, w->loss, dx, x, w->y, B, n);
        dtcl_gpu_download(&loss, w->loss, sizeof loss, NULL);
    }
    return loss;
}
