/* backend_cpu.c: the CPU's table of primitives (see backend.h): the layers
 * of nn/, the losses, Adam and the transformation, with host memory. */
#include "backend/backend.h"

#include <stdlib.h>
#include <string.h>

#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/bce.h"
#include "nn/linear.h"
#include "nn/pool.h"

static void *alloc(size_t bytes, DtclError *err)
{
    (void)err;
    return DTCL_ALIGNED(bytes ? bytes : 16); /* exits with file and line when memory runs out */
}

static int upload(void *dst, const void *host, size_t bytes, DtclError *err)
{
    (void)err;
    memcpy(dst, host, bytes);
    return 0;
}

static void copy(void *dst, const void *src, size_t bytes)
{
    memcpy(dst, src, bytes);
}

/* Large buffers in slices across the threads: a memset on one thread left
 * the others waiting (the fcn's backward zeroes a whole activation per layer). */
static void zero(float *a, size_t n)
{
    const size_t slice = (size_t)1 << 16;
    if (n < 2 * slice) {
        memset(a, 0, sizeof(float) * n);
        return;
    }
    long slices = (long)((n + slice - 1) / slice);
#pragma omp parallel for schedule(static)
    for (long k = 0; k < slices; k++) {
        size_t b = (size_t)k * slice, e = b + slice < n ? b + slice : n;
        memset(a + b, 0, sizeof(float) * (e - b));
    }
}

static void scale(float *y, const float *x, double s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (float)(s * x[i]);
}

static void choose(float *y, const float *alt, const uint8_t *keep, size_t per, int n)
{
    for (int i = 0; i < n; i++)
        if (!keep[i])
            memcpy(y + i * per, alt + i * per, sizeof(float) * per);
}

static int check(const char *what, DtclError *err)
{
    (void)what;
    (void)err;
    return 0; /* every CPU call completes or exits */
}

static void *nce_work_create(int B, int D, DtclError *err)
{
    (void)err;
    return dtcl_nce_work_create(B, D);
}

static void nce_work_free(void *w)
{
    dtcl_nce_work_free(w);
}

static double nce(const DtclNce *c, float *dzm, float *dz, const float *zm, const float *z, const int8_t *labels,
                  int B, int D, void *work)
{
    return dtcl_nce_forward_backward(c, dzm, dz, zm, z, labels, B, D, work);
}

static void *bce_work_create(int B, DtclError *err)
{
    (void)B;
    (void)err;
    return DTCL_MALLOC(1); /* the CPU's BCE needs none */
}

static double bce(float *dx, const float *x, const int8_t *labels, const int8_t *mask, int B, void *work)
{
    (void)work;
    return dtcl_bce_forward_backward(dx, x, labels, mask, B);
}

/* the CPU's plan is the transformation itself (its FFTW plans are made by
 * dtcl_transform_init; the per-thread buffers by each call) */
typedef struct {
    const DtclTransform *t;
} TransformPlan;

static void *transform_plan(const DtclTransform *t, int nmax, DtclError *err)
{
    (void)nmax;
    (void)err;
    TransformPlan *p = DTCL_MALLOC(sizeof *p);
    p->t = t;
    return p;
}

static void transform_forward(void *plan, float *y, float *saved, const float *x, const float *lambda,
                              const DtclNoiseSource *noise, int n)
{
    dtcl_transform_forward(((TransformPlan *)plan)->t, y, saved, x, lambda, noise, n);
}

static void transform_backward(void *plan, float *dx, float *dlambda, const float *dy, const float *x,
                               const float *lambda, const float *saved, int n)
{
    dtcl_transform_backward(((TransformPlan *)plan)->t, dx, dlambda, dy, x, lambda, saved, n);
}

const DtclBackend dtcl_backend_cpu = {
    .device = "cpu",
    .host_memory = 1,
    .alloc = alloc,
    .free = free,
    .upload = upload,
    .download = upload,
    .copy = copy,
    .zero = zero,
    .scale = scale,
    .choose = choose,
    .check = check,
    .conv_work_size = dtcl_conv2d_work_size,
    .conv_forward = dtcl_conv2d_forward,
    .conv_backward = dtcl_conv2d_backward,
    .conv_backward_data = dtcl_conv2d_backward_data,
    .bn_relu_forward_train = dtcl_batchnorm_relu_forward_train,
    .bn_relu_backward = dtcl_batchnorm_relu_backward,
    .bn_forward_eval = dtcl_batchnorm_forward_eval,
    .bn_stats = dtcl_batchnorm_stats,
    .bn_stats_eval = dtcl_batchnorm_stats_eval,
    .bn_relu_apply = dtcl_batchnorm_relu_apply,
    .bn_relu_backward_stats = dtcl_batchnorm_relu_backward_stats,
    .relu_forward = dtcl_relu_forward,
    .relu_backward = dtcl_relu_backward,
    .relu_mask = dtcl_relu_mask,
    .logistic_forward = dtcl_logistic_forward,
    .logistic_backward = dtcl_logistic_backward,
    .linear_forward = dtcl_linear_forward,
    .linear_backward = dtcl_linear_backward,
    .maxpool2_forward = dtcl_maxpool2_forward,
    .maxpool2_backward = dtcl_maxpool2_backward,
    .maxpool3s2_forward = dtcl_maxpool3s2_forward,
    .maxpool3s2_backward = dtcl_maxpool3s2_backward,
    .avgpool2_forward = dtcl_avgpool2_forward,
    .avgpool2_backward = dtcl_avgpool2_backward,
    .avgpool_forward = dtcl_avgpool_forward,
    .avgpool_backward = dtcl_avgpool_backward,
    .nce_work_create = nce_work_create,
    .nce_work_free = nce_work_free,
    .nce = nce,
    .bce_work_create = bce_work_create,
    .bce_work_free = free,
    .bce = bce,
    .adam_step = dtcl_adam_step,
    .transform_plan = transform_plan,
    .transform_plan_free = free,
    .transform_forward = transform_forward,
    .transform_backward = transform_backward,
};
