/* heads.c: the projection head g and the classifier p (see heads.h). */
#include "nets/heads.h"

void dtcl_projection_layout(DtclProjection *g, DtclTable *t)
{
    int64_t w0[2] = {g->hidden, g->d}, b0 = g->hidden, w1[2] = {g->zdim, g->hidden}, b1 = g->zdim;
    g->be = &dtcl_backend_cpu;
    dtcl_table_param(t, "g.fc0.weight", 2, w0, &g->w0, &g->dw0);
    dtcl_table_param(t, "g.fc0.bias", 1, &b0, &g->b0, &g->db0);
    dtcl_table_param(t, "g.fc1.weight", 2, w1, &g->w1, &g->dw1);
    dtcl_table_param(t, "g.fc1.bias", 1, &b1, &g->b1, &g->db1);
}

void dtcl_classifier_layout(DtclClassifier *p, DtclTable *t)
{
    int64_t w[2] = {1, p->d}, b = 1;
    p->be = &dtcl_backend_cpu;
    dtcl_table_param(t, "p.weight", 2, w, &p->w, &p->dw);
    dtcl_table_param(t, "p.bias", 1, &b, &p->b, &p->db);
}

void dtcl_projection_forward(float *z, float *v, const float *h, const DtclProjection *g, int B)
{
    g->be->linear_forward(v, h, g->w0, g->b0, B, g->d, g->hidden);
    g->be->relu_forward(v, v, (size_t)B * g->hidden);
    g->be->linear_forward(z, v, g->w1, g->b1, B, g->hidden, g->zdim);
}

void dtcl_projection_backward(float *dh, int param_grads, const float *dz, const float *h, const float *v,
                              const DtclProjection *g, int B, float *scratch)
{
    size_t n = (size_t)B * g->hidden;
    float *dv = scratch;
    /* forward: z = v W1^T + b1 */
    g->be->zero(dv, n);
    g->be->linear_backward(dv, param_grads ? g->dw1 : NULL, param_grads ? g->db1 : NULL, dz, v, g->w1, B,
                            g->hidden, g->zdim);
    /* forward: v = relu(u), u = h W0^T + b0; [v > 0] = [u > 0]; masked in place */
    g->be->relu_mask(dv, v, n);
    g->be->linear_backward(dh, param_grads ? g->dw0 : NULL, param_grads ? g->db0 : NULL, dv, h, g->w0, B, g->d,
                            g->hidden);
}

void dtcl_classifier_forward(float *logit, const float *h, const DtclClassifier *p, int B)
{
    p->be->linear_forward(logit, h, p->w, p->b, B, p->d, 1);
}

void dtcl_classifier_backward(float *dh, int param_grads, const float *dlogit, const float *h,
                              const DtclClassifier *p, int B)
{
    /* forward: logit = h w^T + b */
    p->be->linear_backward(dh, param_grads ? p->dw : NULL, param_grads ? p->db : NULL, dlogit, h, p->w, B, p->d,
                            1);
}
