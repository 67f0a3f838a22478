/* fcn.c: the fcn encoder f, forward (training, evaluation) and backward
 * (SPEC section 3; see fcn.h). */
#include "nets/fcn.h"

#include <stdio.h>
#include <string.h>


void dtcl_fcn_layout(DtclFcn *f, DtclTable *t)
{
    char name[DTCL_NAME_MAX];
    for (int b = 0; b < f->nblocks; b++) {
        DtclFcnBlock *k = &f->blk[b];
        for (int c = 0; c < 2; c++) {
            int64_t cout = f->widths[b], cin = c ? cout : (b ? f->widths[b - 1] : 1);
            int64_t w[4] = {cout, cin, 3, 3};
            snprintf(name, sizeof name, "f.blocks.%d.conv%d.weight", b, c);
            dtcl_table_param(t, name, 4, w, &k->conv[c], &k->dconv[c]);
            snprintf(name, sizeof name, "f.blocks.%d.bn%d.weight", b, c);
            dtcl_table_param(t, name, 1, &cout, &k->gamma[c], &k->dgamma[c]);
            snprintf(name, sizeof name, "f.blocks.%d.bn%d.bias", b, c);
            dtcl_table_param(t, name, 1, &cout, &k->beta[c], &k->dbeta[c]);
            snprintf(name, sizeof name, "f.blocks.%d.bn%d.running_mean", b, c);
            dtcl_table_stat(t, name, 1, &cout, &k->mean[c]);
            snprintf(name, sizeof name, "f.blocks.%d.bn%d.running_var", b, c);
            dtcl_table_stat(t, name, 1, &cout, &k->var[c]);
            snprintf(name, sizeof name, "f.blocks.%d.bn%d.num_batches_tracked", b, c);
            dtcl_table_counter(t, name, &k->tracked[c]);
        }
    }
}

int dtcl_fcn_dim(const DtclFcn *f)
{
    return f->widths[f->nblocks - 1];
}

static int side(const DtclFcnPlan *p, int b)
{
    return p->S >> b;
}

void dtcl_fcn_plan(DtclFcnPlan *p, const DtclFcn *f, int B, int S, int threads, DtclArena *a)
{
    dtcl_fcn_plan_on(p, f, B, S, threads, &dtcl_backend_cpu, a);
}

void dtcl_fcn_plan_on(DtclFcnPlan *p, const DtclFcn *f, int B, int S, int threads, const DtclBackend *be,
                       DtclArena *a)
{
    p->be = be;
    p->B = B;
    p->S = S;
    p->threads = threads;
    size_t most = 0, work = 0;
    for (int b = 0; b < f->nblocks; b++) {
        int H = side(p, b);
        for (int c = 0; c < 2; c++) {
            DtclConvShape *s = &p->conv[b][c];
            *s = (DtclConvShape){.B = B, .C = c ? f->widths[b] : (b ? f->widths[b - 1] : 1), .O = f->widths[b],
                                 .H = H, .W = H, .k = 3, .threads = threads};
            size_t w = be->conv_work_size(s);
            work = w > work ? w : work;
        }
        size_t n = (size_t)B * f->widths[b] * H * H;
        most = n > most ? n : most;
    }
    p->tmp = dtcl_arena_take(a, most);
    for (int i = 0; i < 2; i++)
        p->grad[i] = dtcl_arena_take(a, most);
    p->argmax = (int32_t *)dtcl_arena_take(a, most / 4 + 1);
    p->work = dtcl_arena_take(a, work);
}

void dtcl_fcn_saved(DtclFcnSaved *s, const DtclFcnPlan *p, const DtclFcn *f, DtclArena *a)
{
    memset(s, 0, sizeof *s);
    for (int b = 0; b < f->nblocks; b++) {
        int H = side(p, b), C = f->widths[b];
        size_t n = (size_t)p->B * C * H * H, np = (size_t)p->B * C * (H / 2) * (H / 2);
        for (int c = 0; c < 2; c++) {
            s->xhat[b][c] = dtcl_arena_take(a, n);
            s->invstd[b][c] = dtcl_arena_take(a, C);
            s->r[b][c] = dtcl_arena_take(a, n);
        }
        s->pool[b] = dtcl_arena_take(a, np);
        s->argmax[b] = (int32_t *)dtcl_arena_take(a, np);
    }
    s->h = dtcl_arena_take(a, (size_t)p->B * dtcl_fcn_dim(f));
}

void dtcl_fcn_forward_train(DtclFcnSaved *s, const DtclFcn *f, const float *x, int update_stats, DtclFcnPlan *p)
{
    const DtclBackend *be = p->be;
    int B = p->B;
    const float *in = x;
    s->x = x;
    for (int b = 0; b < f->nblocks; b++) {
        const DtclFcnBlock *k = &f->blk[b];
        int H = side(p, b), C = f->widths[b];
        for (int c = 0; c < 2; c++) {
            be->conv_forward(p->tmp, in, k->conv[c], NULL, &p->conv[b][c], p->work);
            be->bn_relu_forward_train(s->r[b][c], s->xhat[b][c], s->invstd[b][c],
                                              update_stats ? k->mean[c] : NULL, update_stats ? k->var[c] : NULL,
                                              p->tmp, k->gamma[c], k->beta[c], B, C, H * H, DTCL_BN_MOMENTUM,
                                              DTCL_BN_EPS);
            if (update_stats)
                (*k->tracked[c])++;
            in = s->r[b][c];
        }
        be->maxpool2_forward(s->pool[b], s->argmax[b], in, B, C, H, H);
        in = s->pool[b];
    }
    int last = f->nblocks - 1, Hl = side(p, last) / 2;
    be->avgpool_forward(s->h, in, B, dtcl_fcn_dim(f), Hl * Hl);
}

void dtcl_fcn_forward_eval(float *h, const DtclFcn *f, const float *x, int n, DtclFcnPlan *p)
{
    const DtclBackend *be = p->be;
    const float *in = x;
    float *y = p->grad[0], *pooled = p->grad[1];
    for (int b = 0; b < f->nblocks; b++) {
        const DtclFcnBlock *k = &f->blk[b];
        int H = side(p, b), C = f->widths[b];
        for (int c = 0; c < 2; c++) {
            DtclConvShape cs = p->conv[b][c];
            cs.B = n;
            be->conv_forward(p->tmp, in, k->conv[c], NULL, &cs, p->work);
            be->bn_forward_eval(y, p->tmp, k->gamma[c], k->beta[c], k->mean[c], k->var[c], n, C, H * H,
                                        DTCL_BN_EPS);
            be->relu_forward(y, y, (size_t)n * C * H * H);
            in = y;
        }
        be->maxpool2_forward(pooled, p->argmax, y, n, C, H, H);
        in = pooled;
    }
    int Hl = side(p, f->nblocks - 1) / 2;
    be->avgpool_forward(h, in, n, dtcl_fcn_dim(f), Hl * Hl);
}

void dtcl_fcn_backward(float *dx, int param_grads, const float *dh, const DtclFcn *f, const DtclFcnSaved *s,
                       DtclFcnPlan *p)
{
    const DtclBackend *be = p->be;
    int B = p->B, last = f->nblocks - 1, Hl = side(p, last) / 2;
    float *A = p->grad[0], *G1 = p->grad[1];
    /* forward: h = mean_{HW} pool_last */
    be->zero(A, (size_t)B * dtcl_fcn_dim(f) * Hl * Hl);
    be->avgpool_backward(A, dh, B, dtcl_fcn_dim(f), Hl * Hl);
    for (int b = last; b >= 0; b--) {
        const DtclFcnBlock *k = &f->blk[b];
        int H = side(p, b), C = f->widths[b];
        size_t n = (size_t)B * C * H * H;
        /* forward: pool_b = maxpool(r1) */
        be->zero(G1, n);
        be->maxpool2_backward(G1, A, s->argmax[b], B, C, H, H);
        for (int c = 1; c >= 0; c--) {
            /* forward: r_c = relu(gamma xhat_c + beta), xhat_c = batchnorm(conv_c(in)) */
            be->zero(A, n);
            be->bn_relu_backward(A, param_grads ? k->dgamma[c] : NULL, param_grads ? k->dbeta[c] : NULL, G1,
                                         s->r[b][c], s->xhat[b][c], s->invstd[b][c], k->gamma[c], B, C, H * H);
            const float *in = c ? s->r[b][0] : (b ? s->pool[b - 1] : s->x);
            const DtclConvShape *cs = &p->conv[b][c];
            float *din = G1;
            if (c == 0 && b == 0)
                din = dx;
            else
                be->zero(din, (size_t)B * cs->C * H * H);
            if (param_grads)
                be->conv_backward(din, k->dconv[c], NULL, A, in, k->conv[c], cs, p->work);
            else if (din)
                be->conv_backward_data(din, A, k->conv[c], cs, p->work);
        }
        /* G1 holds d pool_{b-1}: it becomes A, the incoming gradient of the block below */
        float *t = A;
        A = G1;
        G1 = t;
    }
}
