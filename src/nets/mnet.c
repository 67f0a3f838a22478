/* mnet.c: the transformation network M, forward and backward (see mnet.h). */
#include "nets/mnet.h"

#include <stdio.h>
#include <string.h>

#include "transform/transform.h"

void dtcl_mnet_layout(DtclMnet *m, DtclTable *t)
{
    static const char *const names[3] = {"m.conv0", "m.conv1", "m.head"};
    int64_t cin[3] = {1, m->widths[0], m->widths[1]}, cout[3] = {m->widths[0], m->widths[1], DTCL_NLAMBDA};
    int64_t k[3] = {3, 3, 1};
    char name[DTCL_NAME_MAX];
    for (int l = 0; l < 3; l++) {
        int64_t w[4] = {cout[l], cin[l], k[l], k[l]};
        snprintf(name, sizeof name, "%s.weight", names[l]);
        dtcl_table_param(t, name, 4, w, &m->w[l], &m->dw[l]);
        snprintf(name, sizeof name, "%s.bias", names[l]);
        dtcl_table_param(t, name, 1, &cout[l], &m->b[l], &m->db[l]);
    }
}

void dtcl_mnet_plan(DtclMnetPlan *p, const DtclMnet *m, int B, int S, int threads, DtclArena *a)
{
    dtcl_mnet_plan_on(p, m, B, S, threads, &dtcl_backend_cpu, a);
}

void dtcl_mnet_plan_on(DtclMnetPlan *p, const DtclMnet *m, int B, int S, int threads, const DtclBackend *be,
                        DtclArena *a)
{
    int C0 = m->widths[0], C1 = m->widths[1], S2 = S / 2, S4 = S2 / 2;
    p->be = be;
    p->B = B;
    p->S = S;
    p->threads = threads;
    DtclConvShape shapes[3] = {{.B = B, .C = 1, .O = C0, .H = S, .W = S, .k = 3, .threads = threads},
                               {.B = B, .C = C0, .O = C1, .H = S2, .W = S2, .k = 3, .threads = threads},
                               {.B = B, .C = C1, .O = DTCL_NLAMBDA, .H = S4, .W = S4, .k = 1, .threads = threads}};
    size_t work = 0;
    for (int l = 0; l < 3; l++) {
        p->conv[l] = shapes[l];
        size_t w = be->conv_work_size(&shapes[l]);
        work = w > work ? w : work;
    }
    p->r0 = dtcl_arena_take(a, (size_t)B * C0 * S * S);
    p->p0 = dtcl_arena_take(a, (size_t)B * C0 * S2 * S2);
    p->a0 = (int32_t *)dtcl_arena_take(a, (size_t)B * C0 * S2 * S2);
    p->r1 = dtcl_arena_take(a, (size_t)B * C1 * S2 * S2);
    p->p1 = dtcl_arena_take(a, (size_t)B * C1 * S4 * S4);
    p->a1 = (int32_t *)dtcl_arena_take(a, (size_t)B * C1 * S4 * S4);
    p->head = dtcl_arena_take(a, (size_t)B * DTCL_NLAMBDA * S4 * S4);
    p->mean = dtcl_arena_take(a, (size_t)B * DTCL_NLAMBDA);
    p->lambda = dtcl_arena_take(a, (size_t)B * DTCL_NLAMBDA);
    size_t g = (size_t)B * (C0 * S * S > C1 * S2 * S2 ? C0 * S * S : C1 * S2 * S2);
    p->g0 = dtcl_arena_take(a, g);
    p->g1 = dtcl_arena_take(a, g);
    p->work = dtcl_arena_take(a, work);
}

void dtcl_mnet_forward(DtclMnetPlan *p, const DtclMnet *m, const float *x)
{
    const DtclBackend *be = p->be;
    int B = p->B, C0 = m->widths[0], C1 = m->widths[1], S = p->S, S2 = S / 2, S4 = S2 / 2;
    p->x = x;
    be->conv_forward(p->r0, x, m->w[0], m->b[0], &p->conv[0], p->work);
    be->relu_forward(p->r0, p->r0, (size_t)B * C0 * S * S);
    be->maxpool2_forward(p->p0, p->a0, p->r0, B, C0, S, S);
    be->conv_forward(p->r1, p->p0, m->w[1], m->b[1], &p->conv[1], p->work);
    be->relu_forward(p->r1, p->r1, (size_t)B * C1 * S2 * S2);
    be->maxpool2_forward(p->p1, p->a1, p->r1, B, C1, S2, S2);
    be->conv_forward(p->head, p->p1, m->w[2], m->b[2], &p->conv[2], p->work);
    be->avgpool_forward(p->mean, p->head, B, DTCL_NLAMBDA, S4 * S4);
    be->logistic_forward(p->lambda, p->mean, (size_t)B * DTCL_NLAMBDA);
}

void dtcl_mnet_backward(const float *dlambda, const DtclMnet *m, DtclMnetPlan *p)
{
    const DtclBackend *be = p->be;
    int B = p->B, C0 = m->widths[0], C1 = m->widths[1], S = p->S, S2 = S / 2, S4 = S2 / 2;
    size_t n7 = (size_t)B * DTCL_NLAMBDA, nh = n7 * S4 * S4, np1 = (size_t)B * C1 * S4 * S4;
    size_t nr1 = (size_t)B * C1 * S2 * S2, np0 = (size_t)B * C0 * S2 * S2, nr0 = (size_t)B * C0 * S * S;
    float *g0 = p->g0, *g1 = p->g1;
    /* forward: lambda = logistic(mean) */
    be->zero(g0, n7);
    be->logistic_backward(g0, dlambda, p->lambda, n7);
    /* forward: mean = avgpool(head) */
    be->zero(g1, nh);
    be->avgpool_backward(g1, g0, B, DTCL_NLAMBDA, S4 * S4);
    /* forward: head = conv1x1(p1) + b */
    be->zero(g0, np1);
    be->conv_backward(g0, m->dw[2], m->db[2], g1, p->p1, m->w[2], &p->conv[2], p->work);
    /* forward: p1 = maxpool(r1) */
    be->zero(g1, nr1);
    be->maxpool2_backward(g1, g0, p->a1, B, C1, S2, S2);
    /* forward: r1 = relu(conv1(p0) + b) */
    be->zero(g0, nr1);
    be->relu_backward(g0, g1, p->r1, nr1);
    be->zero(g1, np0);
    be->conv_backward(g1, m->dw[1], m->db[1], g0, p->p0, m->w[1], &p->conv[1], p->work);
    /* forward: p0 = maxpool(r0) */
    be->zero(g0, nr0);
    be->maxpool2_backward(g0, g1, p->a0, B, C0, S, S);
    /* forward: r0 = relu(conv0(x) + b) */
    be->zero(g1, nr0);
    be->relu_backward(g1, g0, p->r0, nr0);
    be->conv_backward(NULL, m->dw[0], m->db[0], g1, p->x, m->w[0], &p->conv[0], p->work);
}
