/* heads_gpu.cu: the projection head and the classifier on the GPU, the
 * twins of heads.c (see heads_gpu.h). */
#include <cuda_runtime.h>

#include "activation_gpu.h"
#include "heads_gpu.h"
#include "launch_gpu.h"
#include "linear_gpu.h"

/* dv = [v > 0] dv in place: the ReLU's mask ([v > 0] = [u > 0] for v = relu(u)) */
__global__ static void relu_mask(float *dv, const float *v, size_t n)
{
    DTCL_GPU_LOOP(i, n)
    dv[i] = v[i] > 0.0f ? dv[i] : 0.0f;
}

extern "C" void dtcl_projection_forward_gpu(float *z, float *v, const float *h, const DtclProjection *g, int B)
{
    dtcl_linear_forward_gpu(v, h, g->w0, g->b0, B, g->d, g->hidden);
    dtcl_relu_forward_gpu(v, v, (size_t)B * g->hidden);
    dtcl_linear_forward_gpu(z, v, g->w1, g->b1, B, g->hidden, g->zdim);
}

extern "C" void dtcl_projection_backward_gpu(float *dh, int param_grads, const float *dz, const float *h,
                                             const float *v, const DtclProjection *g, int B, float *scratch)
{
    size_t n = (size_t)B * g->hidden;
    float *dv = scratch;
    /* forward: z = v W1^T + b1 */
    cudaMemset(dv, 0, sizeof(float) * n);
    dtcl_linear_backward_gpu(dv, param_grads ? g->dw1 : NULL, param_grads ? g->db1 : NULL, dz, v, g->w1, B,
                             g->hidden, g->zdim);
    /* forward: v = relu(u), u = h W0^T + b0 */
    relu_mask<<<dtcl_gpu_blocks(n), DTCL_GPU_THREADS>>>(dv, v, n);
    dtcl_linear_backward_gpu(dh, param_grads ? g->dw0 : NULL, param_grads ? g->db0 : NULL, dv, h, g->w0, B, g->d,
                             g->hidden);
}

extern "C" void dtcl_classifier_forward_gpu(float *logit, const float *h, const DtclClassifier *p, int B)
{
    dtcl_linear_forward_gpu(logit, h, p->w, p->b, B, p->d, 1);
}

extern "C" void dtcl_classifier_backward_gpu(float *dh, int param_grads, const float *dlogit, const float *h,
                                             const DtclClassifier *p, int B)
{
    /* forward: logit = h w^T + b */
    dtcl_linear_backward_gpu(dh, param_grads ? p->dw : NULL, param_grads ? p->db : NULL, dlogit, h, p->w, B, p->d, 1);
}
