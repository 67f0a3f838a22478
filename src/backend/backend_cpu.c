/* layer_ops.c: the CPU's table of layer primitives (see layer_ops.h). */
#include "backend/layer_ops.h"

#include <string.h>

#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/linear.h"
#include "nn/pool.h"

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

const DtclLayerOps dtcl_layer_ops_cpu = {
    .device = "cpu",
    .conv_work_size = dtcl_conv2d_work_size,
    .conv_forward = dtcl_conv2d_forward,
    .conv_backward = dtcl_conv2d_backward,
    .conv_backward_data = dtcl_conv2d_backward_data,
    .bn_relu_forward_train = dtcl_batchnorm_relu_forward_train,
    .bn_relu_backward = dtcl_batchnorm_relu_backward,
    .bn_forward_eval = dtcl_batchnorm_forward_eval,
    .relu_forward = dtcl_relu_forward,
    .relu_backward = dtcl_relu_backward,
    .relu_mask = dtcl_relu_mask,
    .linear_forward = dtcl_linear_forward,
    .linear_backward = dtcl_linear_backward,
    .logistic_forward = dtcl_logistic_forward,
    .logistic_backward = dtcl_logistic_backward,
    .bn_stats = dtcl_batchnorm_stats,
    .bn_stats_eval = dtcl_batchnorm_stats_eval,
    .bn_relu_apply = dtcl_batchnorm_relu_apply,
    .bn_relu_backward_stats = dtcl_batchnorm_relu_backward_stats,
    .maxpool2_forward = dtcl_maxpool2_forward,
    .maxpool2_backward = dtcl_maxpool2_backward,
    .maxpool3s2_forward = dtcl_maxpool3s2_forward,
    .maxpool3s2_backward = dtcl_maxpool3s2_backward,
    .avgpool2_forward = dtcl_avgpool2_forward,
    .avgpool2_backward = dtcl_avgpool2_backward,
    .avgpool_forward = dtcl_avgpool_forward,
    .avgpool_backward = dtcl_avgpool_backward,
    .zero = zero,
};
