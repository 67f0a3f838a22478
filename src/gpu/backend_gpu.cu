/* backend_gpu.cu: the GPU's table of primitives (see backend/backend.h): the
 * CUDA twins of conv, batchnorm, pool, activation, linear, the losses, Adam
 * and the transformation, with device memory; the twin of backend_cpu.c. */
#include <stdlib.h>

#include "gpu/activation_gpu.h"
#include "gpu/adam_gpu.h"
#include "gpu/backend_gpu.h"
#include "gpu/batchnorm_gpu.h"
#include "gpu/bce_gpu.h"
#include "gpu/conv_gpu.h"
#include "gpu/launch_gpu.h"
#include "gpu/linear_gpu.h"
#include "gpu/memory_gpu.h"
#include "gpu/nce_gpu.h"
#include "gpu/pool_gpu.h"
#include "gpu/transform_gpu.h"

static void *alloc(size_t bytes, DtclError *err)
{
    void *p;
    return dtcl_gpu_alloc(&p, bytes, err) == 0 ? p : NULL;
}

static void copy(void *dst, const void *src, size_t bytes)
{
    dtcl_gpu_copy(dst, src, bytes, NULL); /* a failure stays recorded for the next check */
}

static void zero(float *a, size_t n)
{
    dtcl_gpu_zero(a, sizeof(float) * n, NULL);
}

__global__ static void scale_kernel(float *y, const float *x, double s, size_t n)
{
    DTCL_GPU_LOOP(i, n)
    y[i] = (float)(s * x[i]);
}

static void scale(float *y, const float *x, double s, size_t n)
{
    DTCL_LAUNCH(scale_kernel, dtcl_gpu_blocks(n), DTCL_GPU_THREADS, y, x, s, n);
}

__global__ static void choose_kernel(float *y, const float *alt, const uint8_t *keep, size_t per, int n)
{
    DTCL_GPU_LOOP(e, (size_t)n * per)
    if (!keep[e / per])
        y[e] = alt[e];
}

static void choose(float *y, const float *alt, const uint8_t *keep, size_t per, int n)
{
    DTCL_LAUNCH(choose_kernel, dtcl_gpu_blocks((size_t)n * per), DTCL_GPU_THREADS, y, alt, keep, per, n);
}

static void *transform_plan(const DtclTransform *t, int nmax, DtclError *err)
{
    DtclTransformGpu *g = (DtclTransformGpu *)DTCL_MALLOC(sizeof *g);
    if (dtcl_transform_gpu_init(g, t, nmax, err) == 0)
        return g;
    free(g);
    return NULL;
}

static void transform_plan_free(void *plan)
{
    dtcl_transform_gpu_free((DtclTransformGpu *)plan);
    free(plan);
}

static void transform_forward(void *plan, float *y, float *saved, const float *x, const float *lambda,
                              const DtclNoiseSource *noise, int n)
{
    dtcl_transform_forward_gpu((DtclTransformGpu *)plan, y, saved, x, lambda, noise, n);
}

static void transform_backward(void *plan, float *dx, float *dlambda, const float *dy, const float *x,
                               const float *lambda, const float *saved, int n)
{
    dtcl_transform_backward_gpu((DtclTransformGpu *)plan, dx, dlambda, dy, x, lambda, saved, n);
}

static DtclBackend make(void)
{
    DtclBackend b = {}; /* an entry not set below stays NULL, which tests/test_backend catches */
    b.device = "cuda";
    b.host_memory = 0;
    b.alloc = alloc;
    b.free = dtcl_gpu_free;
    b.upload = dtcl_gpu_upload;
    b.download = dtcl_gpu_download;
    b.copy = copy;
    b.zero = zero;
    b.scale = scale;
    b.choose = choose;
    b.check = dtcl_gpu_check;
    b.conv_work_size = dtcl_conv2d_work_size_gpu;
    b.conv_forward = dtcl_conv2d_forward_gpu;
    b.conv_backward = dtcl_conv2d_backward_gpu;
    b.conv_backward_data = dtcl_conv2d_backward_data_gpu;
    b.bn_relu_forward_train = dtcl_batchnorm_relu_forward_train_gpu;
    b.bn_relu_backward = dtcl_batchnorm_relu_backward_gpu;
    b.bn_forward_eval = dtcl_batchnorm_forward_eval_gpu;
    b.bn_stats = dtcl_batchnorm_stats_gpu;
    b.bn_stats_eval = dtcl_batchnorm_stats_eval_gpu;
    b.bn_relu_apply = dtcl_batchnorm_relu_apply_gpu;
    b.bn_relu_backward_stats = dtcl_batchnorm_relu_backward_stats_gpu;
    b.relu_forward = dtcl_relu_forward_gpu;
    b.relu_backward = dtcl_relu_backward_gpu;
    b.relu_mask = dtcl_relu_mask_gpu;
    b.logistic_forward = dtcl_logistic_forward_gpu;
    b.logistic_backward = dtcl_logistic_backward_gpu;
    b.linear_forward = dtcl_linear_forward_gpu;
    b.linear_backward = dtcl_linear_backward_gpu;
    b.maxpool2_forward = dtcl_maxpool2_forward_gpu;
    b.maxpool2_backward = dtcl_maxpool2_backward_gpu;
    b.maxpool3s2_forward = dtcl_maxpool3s2_forward_gpu;
    b.maxpool3s2_backward = dtcl_maxpool3s2_backward_gpu;
    b.avgpool2_forward = dtcl_avgpool2_forward_gpu;
    b.avgpool2_backward = dtcl_avgpool2_backward_gpu;
    b.avgpool_forward = dtcl_avgpool_forward_gpu;
    b.avgpool_backward = dtcl_avgpool_backward_gpu;
    b.nce_work_create = dtcl_nce_work_create_gpu;
    b.nce_work_free = dtcl_nce_work_free_gpu;
    b.nce = dtcl_nce_forward_backward_gpu;
    b.bce_work_create = dtcl_bce_work_create_gpu;
    b.bce_work_free = dtcl_bce_work_free_gpu;
    b.bce = dtcl_bce_forward_backward_gpu;
    b.adam_step = dtcl_adam_step_gpu;
    b.transform_plan = transform_plan;
    b.transform_plan_free = transform_plan_free;
    b.transform_forward = transform_forward;
    b.transform_backward = transform_backward;
    return b;
}

extern "C" const DtclBackend *dtcl_backend_gpu(void)
{
    static const DtclBackend table = make();
    return &table;
}
