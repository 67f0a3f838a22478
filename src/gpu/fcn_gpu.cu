/* fcn_gpu.cu: the fcn encoder on the GPU, the twin of fcn.c (see
 * fcn_gpu.h): the same sequence of layers, each by its CUDA twin. */
#include <cuda_runtime.h>

#include "activation_gpu.h"
#include "batchnorm_gpu.h"
#include "conv_gpu.h"
#include "fcn_gpu.h"
#include "pool_gpu.h"

extern "C" void dtcl_fcn_plan_gpu(DtclFcnPlan *p, const DtclFcn *f, int B, int S, DtclArena *a)
{
    dtcl_fcn_plan_sized(p, f, B, S, 1, dtcl_conv2d_work_size_gpu, a);
}

static int side(const DtclFcnPlan *p, int b)
{
    return p->S >> b;
}

extern "C" void dtcl_fcn_forward_train_gpu(DtclFcnSaved *s, const DtclFcn *f, const float *x, int update_stats,
                                           DtclFcnPlan *p)
{
    int B = p->B;
    const float *in = x;
    s->x = x;
    for (int b = 0; b < f->nblocks; b++) {
        const DtclFcnBlock *k = &f->blk[b];
        int H = side(p, b), C = f->widths[b];
        for (int c = 0; c < 2; c++) {
            dtcl_conv2d_forward_gpu(p->tmp, in, k->conv[c], NULL, &p->conv[b][c], p->work);
            dtcl_batchnorm_relu_forward_train_gpu(s->r[b][c], s->xhat[b][c], s->invstd[b][c],
                                                  update_stats ? k->mean[c] : NULL, update_stats ? k->var[c] : NULL,
                                                  p->tmp, k->gamma[c], k->beta[c], B, C, H * H, DTCL_BN_MOMENTUM,
                                                  DTCL_BN_EPS);
            if (update_stats)
                (*k->tracked[c])++; /* host counters */
            in = s->r[b][c];
        }
        dtcl_maxpool2_forward_gpu(s->pool[b], s->argmax[b], in, B, C, H, H);
        in = s->pool[b];
    }
    int Hl = side(p, f->nblocks - 1) / 2;
    dtcl_avgpool_forward_gpu(s->h, in, B, dtcl_fcn_dim(f), Hl * Hl);
}

extern "C" void dtcl_fcn_forward_eval_gpu(float *h, const DtclFcn *f, const float *x, int n, DtclFcnPlan *p)
{
    const float *in = x;
    float *y = p->grad[0], *pooled = p->grad[1];
    for (int b = 0; b < f->nblocks; b++) {
        const DtclFcnBlock *k = &f->blk[b];
        int H = side(p, b), C = f->widths[b];
        for (int c = 0; c < 2; c++) {
            DtclConvShape cs = p->conv[b][c];
            cs.B = n;
            dtcl_conv2d_forward_gpu(p->tmp, in, k->conv[c], NULL, &cs, p->work);
            dtcl_batchnorm_forward_eval_gpu(y, p->tmp, k->gamma[c], k->beta[c], k->mean[c], k->var[c], n, C, H * H,
                                            DTCL_BN_EPS);
            dtcl_relu_forward_gpu(y, y, (size_t)n * C * H * H);
            in = y;
        }
        dtcl_maxpool2_forward_gpu(pooled, p->argmax, y, n, C, H, H);
        in = pooled;
    }
    int Hl = side(p, f->nblocks - 1) / 2;
    dtcl_avgpool_forward_gpu(h, in, n, dtcl_fcn_dim(f), Hl * Hl);
}

static void zero(float *a, size_t n)
{
    cudaMemset(a, 0, sizeof(float) * n);
}

extern "C" void dtcl_fcn_backward_gpu(float *dx, int param_grads, const float *dh, const DtclFcn *f,
                                      const DtclFcnSaved *s, DtclFcnPlan *p)
{
    int B = p->B, last = f->nblocks - 1, Hl = side(p, last) / 2;
    float *A = p->grad[0], *G1 = p->grad[1];
    /* forward: h = mean_{HW} pool_last */
    zero(A, (size_t)B * dtcl_fcn_dim(f) * Hl * Hl);
    dtcl_avgpool_backward_gpu(A, dh, B, dtcl_fcn_dim(f), Hl * Hl);
    for (int b = last; b >= 0; b--) {
        const DtclFcnBlock *k = &f->blk[b];
        int H = side(p, b), C = f->widths[b];
        size_t n = (size_t)B * C * H * H;
        /* forward: pool_b = maxpool(r1) */
        zero(G1, n);
        dtcl_maxpool2_backward_gpu(G1, A, s->argmax[b], B, C, H, H);
        for (int c = 1; c >= 0; c--) {
            /* forward: r_c = relu(gamma xhat_c + beta), xhat_c = batchnorm(conv_c(in)) */
            zero(A, n);
            dtcl_batchnorm_relu_backward_gpu(A, param_grads ? k->dgamma[c] : NULL, param_grads ? k->dbeta[c] : NULL,
                                             G1, s->r[b][c], s->xhat[b][c], s->invstd[b][c], k->gamma[c], B, C,
                                             H * H);
            const float *in = c ? s->r[b][0] : (b ? s->pool[b - 1] : s->x);
            const DtclConvShape *cs = &p->conv[b][c];
            float *din = G1;
            if (c == 0 && b == 0)
                din = dx;
            else
                zero(din, (size_t)B * cs->C * H * H);
            if (param_grads)
                dtcl_conv2d_backward_gpu(din, k->dconv[c], NULL, A, in, k->conv[c], cs, p->work);
            else if (din)
                dtcl_conv2d_backward_data_gpu(din, A, k->conv[c], cs, p->work);
        }
        float *t = A;
        A = G1;
        G1 = t;
    }
}
