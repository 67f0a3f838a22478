/* bce_gpu.cu: BCE with logits over the labelled images on the GPU, the twin
 * of bce.c (see bce_gpu.h). work: the loss (1 double), then y (B bytes: the
 * label, or -1 for an image the loss leaves out). */
#include <math.h>
#include <stdlib.h>

#include "gpu/bce_gpu.h"
#include "gpu/launch_gpu.h"
#include "gpu/memory_gpu.h"

extern "C" size_t dtcl_bce_work_size_gpu(int B)
{
    return sizeof(double) + (size_t)B;
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
    int8_t *y = (int8_t *)malloc((size_t)B + 1);
    int n = 0;
    for (int i = 0; i < B; i++) {
        y[i] = labels[i] >= 0 && (!mask || mask[i]) ? labels[i] : -1;
        n += y[i] >= 0;
    }
    double loss = 0.0;
    if (n > 0) {
        double *dl = (double *)work;
        int8_t *dy = (int8_t *)(dl + 1);
        dtcl_gpu_upload(dy, y, (size_t)B, NULL);
        DTCL_LAUNCH(bce, 1, 1, dl, dx, x, dy, B, n);
        dtcl_gpu_download(&loss, dl, sizeof loss, NULL);
    }
    free(y);
    return loss;
}
