/* layer_ops_gpu.cu: the CUDA twins' table of layer primitives (see
 * layer_ops.h): the functions of conv_gpu, batchnorm_gpu, pool_gpu,
 * activation_gpu and linear_gpu. */
#include <cuda_runtime.h>

#include "gpu/check_gpu.h"
#include "gpu/activation_gpu.h"
#include "gpu/batchnorm_gpu.h"
#include "gpu/conv_gpu.h"
#include "gpu/layer_ops_gpu.h"
#include "gpu/linear_gpu.h"
#include "gpu/pool_gpu.h"

static void zero(float *a, size_t n)
{
    DTCL_CUDA(cudaMemset(a, 0, sizeof(float) * n));
}

static DtclLayerOps make(void)
{
    DtclLayerOps o;
    o.device = "cuda";
    o.conv_work_size = dtcl_conv2d_work_size_gpu;
    o.conv_forward = dtcl_conv2d_forward_gpu;
    o.conv_backward = dtcl_conv2d_backward_gpu;
    o.conv_backward_data = dtcl_conv2d_backward_data_gpu;
    o.bn_relu_forward_train = dtcl_batchnorm_relu_forward_train_gpu;
    o.bn_relu_backward = dtcl_batchnorm_relu_backward_gpu;
    o.bn_forward_eval = dtcl_batchnorm_forward_eval_gpu;
    o.relu_forward = dtcl_relu_forward_gpu;
    o.relu_backward = dtcl_relu_backward_gpu;
    o.relu_mask = dtcl_relu_mask_gpu;
    o.linear_forward = dtcl_linear_forward_gpu;
    o.linear_backward = dtcl_linear_backward_gpu;
    o.logistic_forward = dtcl_logistic_forward_gpu;
    o.logistic_backward = dtcl_logistic_backward_gpu;
    o.bn_stats = dtcl_batchnorm_stats_gpu;
    o.bn_stats_eval = dtcl_batchnorm_stats_eval_gpu;
    o.bn_relu_apply = dtcl_batchnorm_relu_apply_gpu;
    o.bn_relu_backward_stats = dtcl_batchnorm_relu_backward_stats_gpu;
    o.maxpool2_forward = dtcl_maxpool2_forward_gpu;
    o.maxpool2_backward = dtcl_maxpool2_backward_gpu;
    o.maxpool3s2_forward = dtcl_maxpool3s2_forward_gpu;
    o.maxpool3s2_backward = dtcl_maxpool3s2_backward_gpu;
    o.avgpool2_forward = dtcl_avgpool2_forward_gpu;
    o.avgpool2_backward = dtcl_avgpool2_backward_gpu;
    o.avgpool_forward = dtcl_avgpool_forward_gpu;
    o.avgpool_backward = dtcl_avgpool_backward_gpu;
    o.zero = zero;
    return o;
}

extern "C" const DtclLayerOps *dtcl_layer_ops_gpu(void)
{
    static const DtclLayerOps ops = make();
    return &ops;
}
