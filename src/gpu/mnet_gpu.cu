/* mnet_gpu.cu: the transformation network M on the GPU, the twin of mnet.c
 * (see mnet_gpu.h): the same layers in the same order, each by its twin. */
#include <cuda_runtime.h>

#include "activation_gpu.h"
#include "conv_gpu.h"
#include "mnet_gpu.h"
#include "pool_gpu.h"
#include "transform.h" /* DTCL_NLAMBDA */

extern "C" void dtcl_mnet_plan_gpu(DtclMnetPlan *p, const DtclMnet *m, int B, int S, DtclArena *a)
{
    dtcl_mnet_plan_sized(p, m, B, S, 1, dtcl_conv2d_work_size_gpu, a);
}

extern "C" void dtcl_mnet_forward_gpu(DtclMnetPlan *p, const DtclMnet *m, const float *x)
{
    int B = p->B, C0 = m->widths[0], C1 = m->widths[1], S = p->S, S2 = S / 2, S4 = S2 / 2;
    p->x = x;
    dtcl_conv2d_forward_gpu(p->r0, x, m->w[0], m->b[0], &p->conv[0], p->work);
    dtcl_relu_forward_gpu(p->r0, p->r0, (size_t)B * C0 * S * S);
    dtcl_maxpool2_forward_gpu(p->p0, p->a0, p->r0, B, C0, S, S);
    dtcl_conv2d_forward_gpu(p->r1, p->p0, m->w[1], m->b[1], &p->conv[1], p->work);
    dtcl_relu_forward_gpu(p->r1, p->r1, (size_t)B * C1 * S2 * S2);
    dtcl_maxpool2_forward_gpu(p->p1, p->a1, p->r1, B, C1, S2, S2);
    dtcl_conv2d_forward_gpu(p->head, p->p1, m->w[2], m->b[2], &p->conv[2], p->work);
    dtcl_avgpool_forward_gpu(p->mean, p->head, B, DTCL_NLAMBDA, S4 * S4);
    dtcl_logistic_forward_gpu(p->lambda, p->mean, (size_t)B * DTCL_NLAMBDA);
}

static void zero(float *a, size_t n)
{
    cudaMemset(a, 0, sizeof(float) * n);
}

extern "C" void dtcl_mnet_backward_gpu(const float *dlambda, const DtclMnet *m, DtclMnetPlan *p)
{
    int B = p->B, C0 = m->widths[0], C1 = m->widths[1], S = p->S, S2 = S / 2, S4 = S2 / 2;
    size_t n7 = (size_t)B * DTCL_NLAMBDA, nh = n7 * S4 * S4, np1 = (size_t)B * C1 * S4 * S4;
    size_t nr1 = (size_t)B * C1 * S2 * S2, np0 = (size_t)B * C0 * S2 * S2, nr0 = (size_t)B * C0 * S * S;
    float *g0 = p->g0, *g1 = p->g1;
    /* forward: lambda = logistic(mean) */
    zero(g0, n7);
    dtcl_logistic_backward_gpu(g0, dlambda, p->lambda, n7);
    /* forward: mean = avgpool(head) */
    zero(g1, nh);
    dtcl_avgpool_backward_gpu(g1, g0, B, DTCL_NLAMBDA, S4 * S4);
    /* forward: head = conv1x1(p1) + b */
    zero(g0, np1);
    dtcl_conv2d_backward_gpu(g0, m->dw[2], m->db[2], g1, p->p1, m->w[2], &p->conv[2], p->work);
    /* forward: p1 = maxpool(r1) */
    zero(g1, nr1);
    dtcl_maxpool2_backward_gpu(g1, g0, p->a1, B, C1, S2, S2);
    /* forward: r1 = relu(conv1(p0) + b) */
    zero(g0, nr1);
    dtcl_relu_backward_gpu(g0, g1, p->r1, nr1);
    zero(g1, np0);
    dtcl_conv2d_backward_gpu(g1, m->dw[1], m->db[1], g0, p->p0, m->w[1], &p->conv[1], p->work);
    /* forward: p0 = maxpool(r0) */
    zero(g0, nr0);
    dtcl_maxpool2_backward_gpu(g0, g1, p->a0, B, C0, S, S);
    /* forward: r0 = relu(conv0(x) + b) */
    zero(g1, nr0);
    dtcl_relu_backward_gpu(g1, g0, p->r0, nr0);
    dtcl_conv2d_backward_gpu(NULL, m->dw[0], m->db[0], g1, p->x, m->w[0], &p->conv[0], p->work);
}
