/* densenet.c: the DenseNet-121 encoder, forward (training, evaluation) and
 * backward with the BatchNorm-ReLU outputs recomputed (see densenet.h). */
#include "nets/densenet.h"

#include <stdio.h>
#include <string.h>

#include "nn/batchnorm.h"
#include "nets/fcn.h"
#include "nn/pool.h"

void dtcl_densenet_config_121(DtclDensenetConfig *c)
{
    c->init = 64;
    c->growth = 32;
    c->bn_size = 4;
    c->layers[0] = 6;
    c->layers[1] = 12;
    c->layers[2] = 24;
    c->layers[3] = 16;
}

int dtcl_densenet_min_size(void)
{
    return 32;
}

/* Each block's input and output widths (torchvision: the transitions halve,
 * floor). */
static void widths(const DtclDensenetConfig *c, int *cin, int *cout)
{
    int C = c->init;
    for (int k = 0; k < DTCL_DN_BLOCKS; k++) {
        cin[k] = C;
        cout[k] = C + c->layers[k] * c->growth;
        C = cout[k] / 2;
    }
}

int dtcl_densenet_dim(const DtclDensenetConfig *c)
{
    int cin[DTCL_DN_BLOCKS], cout[DTCL_DN_BLOCKS];
    widths(c, cin, cout);
    return cout[DTCL_DN_BLOCKS - 1];
}

static void norm_layout(DtclTable *t, const char *prefix, int64_t C, DtclDnNorm *n)
{
    char name[DTCL_NAME_MAX];
    snprintf(name, sizeof name, "%s.weight", prefix);
    dtcl_table_param(t, name, 1, &C, &n->gamma, &n->dgamma);
    snprintf(name, sizeof name, "%s.bias", prefix);
    dtcl_table_param(t, name, 1, &C, &n->beta, &n->dbeta);
    snprintf(name, sizeof name, "%s.running_mean", prefix);
    dtcl_table_stat(t, name, 1, &C, &n->mean);
    snprintf(name, sizeof name, "%s.running_var", prefix);
    dtcl_table_stat(t, name, 1, &C, &n->var);
    snprintf(name, sizeof name, "%s.num_batches_tracked", prefix);
    dtcl_table_counter(t, name, &n->tracked);
}

static void conv_layout(DtclTable *t, const char *name, int64_t O, int64_t C, int64_t k, float **w, float **dw)
{
    int64_t shape[4] = {O, C, k, k};
    dtcl_table_param(t, name, 4, shape, w, dw);
}

/* torchvision's order: conv0, norm0, then each block's layers, each
 * transition, norm5. */
void dtcl_densenet_layout(DtclDensenet *f, DtclTable *t)
{
    const DtclDensenetConfig *c = &f->cfg;
    char name[DTCL_NAME_MAX];
    int cin[DTCL_DN_BLOCKS], cout[DTCL_DN_BLOCKS], bG = c->bn_size * c->growth, l = 0;
    widths(c, cin, cout);
    conv_layout(t, "f.conv0.weight", c->init, 1, 7, &f->conv0, &f->dconv0);
    norm_layout(t, "f.norm0", c->init, &f->norm0);
    for (int k = 0; k < DTCL_DN_BLOCKS; k++) {
        for (int j = 0; j < c->layers[k]; j++, l++) {
            DtclDnLayer *y = &f->layer[l];
            int Cj = cin[k] + j * c->growth;
            snprintf(name, sizeof name, "f.denseblock%d.denselayer%d.norm1", k + 1, j + 1);
            norm_layout(t, name, Cj, &y->norm1);
            snprintf(name, sizeof name, "f.denseblock%d.denselayer%d.conv1.weight", k + 1, j + 1);
            conv_layout(t, name, bG, Cj, 1, &y->conv1, &y->dconv1);
            snprintf(name, sizeof name, "f.denseblock%d.denselayer%d.norm2", k + 1, j + 1);
            norm_layout(t, name, bG, &y->norm2);
            snprintf(name, sizeof name, "f.denseblock%d.denselayer%d.conv2.weight", k + 1, j + 1);
            conv_layout(t, name, c->growth, bG, 3, &y->conv2, &y->dconv2);
        }
        if (k == DTCL_DN_BLOCKS - 1)
            break;
        snprintf(name, sizeof name, "f.transition%d.norm", k + 1);
        norm_layout(t, name, cout[k], &f->tnorm[k]);
        snprintf(name, sizeof name, "f.transition%d.conv.weight", k + 1);
        conv_layout(t, name, cout[k] / 2, cout[k], 1, &f->tconv[k], &f->dtconv[k]);
    }
    norm_layout(t, "f.norm5", cout[DTCL_DN_BLOCKS - 1], &f->norm5);
}

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

static DtclConvShape shape(int B, int C, int O, int H, int k, int threads)
{
    DtclConvShape s = {.B = B, .C = C, .O = O, .H = H, .W = H, .k = k, .threads = threads};
    return s;
}

void dtcl_densenet_plan(DtclDensenetPlan *p, const DtclDensenet *f, int B, int S, int threads, DtclArena *a)
{
    dtcl_densenet_plan_on(p, f, B, S, threads, &dtcl_backend_cpu, a);
}

void dtcl_densenet_plan_on(DtclDensenetPlan *p, const DtclDensenet *f, int B, int S, int threads,
                            const DtclBackend *be, DtclArena *a)
{
    const DtclDensenetConfig *c = &f->cfg;
    int bG = c->bn_size * c->growth, l = 0;
    p->be = be;
    p->B = B;
    p->S = S;
    p->threads = threads;
    widths(c, p->cin, p->cout);
    p->conv0 = shape(B, 1, c->init, S, 7, threads);
    p->conv0.stride = 2;
    p->H0 = dtcl_conv2d_out(&p->conv0, S);
    size_t work = be->conv_work_size(&p->conv0);
    size_t r = (size_t)c->init * p->H0 * p->H0, bott = 0, t = 0, blk = 0;
    for (int k = 0; k < DTCL_DN_BLOCKS; k++) {
        int H = k ? p->H[k - 1] / 2 : (p->H0 - 1) / 2 + 1;
        size_t HW = (size_t)H * H;
        p->H[k] = H;
        for (int j = 0; j < c->layers[k]; j++, l++) {
            int Cj = p->cin[k] + j * c->growth;
            p->conv1[l] = shape(B, Cj, bG, H, 1, threads);
            p->conv2[l] = shape(B, bG, c->growth, H, 3, threads);
            p->conv2[l].ystride = (size_t)p->cout[k] * HW; /* into the block tensor */
            work = max_size(work, max_size(be->conv_work_size(&p->conv1[l]), be->conv_work_size(&p->conv2[l])));
            r = max_size(r, (size_t)Cj * HW);
        }
        bott = max_size(bott, (size_t)bG * HW);
        r = max_size(r, (size_t)p->cout[k] * HW);
        blk = max_size(blk, (size_t)p->cout[k] * HW);
        if (k < DTCL_DN_BLOCKS - 1) {
            p->tconv[k] = shape(B, p->cout[k], p->cout[k] / 2, H, 1, threads);
            work = max_size(work, be->conv_work_size(&p->tconv[k]));
            t = max_size(t, (size_t)(p->cout[k] / 2) * HW);
        }
    }
    p->r = dtcl_arena_take(a, (size_t)B * r);
    p->dr = dtcl_arena_take(a, (size_t)B * r);
    p->r2 = dtcl_arena_take(a, (size_t)B * bott);
    p->dr2 = dtcl_arena_take(a, (size_t)B * bott);
    p->dy1 = dtcl_arena_take(a, (size_t)B * bott);
    p->t = dtcl_arena_take(a, (size_t)B * t);
    for (int i = 0; i < 2; i++)
        p->dblock[i] = dtcl_arena_take(a, (size_t)B * blk);
    p->work = dtcl_arena_take(a, work);
}

void dtcl_densenet_saved(DtclDensenetSaved *s, const DtclDensenetPlan *p, const DtclDensenet *f, int for_eval,
                         DtclArena *a)
{
    const DtclDensenetConfig *c = &f->cfg;
    int B = p->B, I = c->init, bG = c->bn_size * c->growth, l = 0;
    memset(s, 0, sizeof *s);
    s->y0 = dtcl_arena_take(a, (size_t)B * I * p->H0 * p->H0);
    s->mean0 = dtcl_arena_take(a, I);
    s->invstd0 = dtcl_arena_take(a, I);
    s->argmax0 = (int32_t *)dtcl_arena_take(a, (size_t)B * I * p->H[0] * p->H[0]);
    float *shared_y1 = for_eval ? dtcl_arena_take(a, (size_t)B * bG * p->H[0] * p->H[0]) : NULL;
    for (int k = 0; k < DTCL_DN_BLOCKS; k++) {
        size_t HW = (size_t)p->H[k] * p->H[k];
        s->block[k] = dtcl_arena_take(a, (size_t)B * p->cout[k] * HW);
        for (int j = 0; j < c->layers[k]; j++, l++) {
            int Cj = p->cin[k] + j * c->growth;
            s->y1[l] = for_eval ? shared_y1 : dtcl_arena_take(a, (size_t)B * bG * HW);
            s->mean1[l] = dtcl_arena_take(a, Cj);
            s->invstd1[l] = dtcl_arena_take(a, Cj);
            s->mean2[l] = dtcl_arena_take(a, bG);
            s->invstd2[l] = dtcl_arena_take(a, bG);
        }
        if (k < DTCL_DN_BLOCKS - 1) {
            s->tmean[k] = dtcl_arena_take(a, p->cout[k]);
            s->tinvstd[k] = dtcl_arena_take(a, p->cout[k]);
        }
    }
    int d = p->cout[DTCL_DN_BLOCKS - 1];
    s->mean5 = dtcl_arena_take(a, d);
    s->invstd5 = dtcl_arena_take(a, d);
    s->h = dtcl_arena_take(a, (size_t)B * d);
}

enum { STATS_BATCH, STATS_BATCH_UPDATE, STATS_RUNNING };

/* r = relu(norm(x)) over C channels of x (images xstride apart), with the
 * statistics of `mode` kept in mean, invstd. */
static void norm_relu(const DtclBackend *be, float *r, const float *x, size_t xstride, const DtclDnNorm *n,
                      float *mean, float *invstd, int B, int C, int HW, int mode)
{
    if (mode == STATS_RUNNING) {
        be->bn_stats_eval(mean, invstd, n->mean, n->var, C, DTCL_BN_EPS);
    } else {
        int up = mode == STATS_BATCH_UPDATE;
        be->bn_stats(mean, invstd, up ? n->mean : NULL, up ? n->var : NULL, x, xstride, B, C, HW, DTCL_BN_MOMENTUM,
                      DTCL_BN_EPS);
        if (up)
            (*n->tracked)++; /* a host counter on either device */
    }
    be->bn_relu_apply(r, x, xstride, mean, invstd, n->gamma, n->beta, B, C, HW);
}

static DtclConvShape with_batch(DtclConvShape s, int n)
{
    s.B = n;
    return s;
}

static void forward(DtclDensenetSaved *s, const DtclDensenet *f, const float *x, int B, int mode,
                    DtclDensenetPlan *p)
{
    const DtclDensenetConfig *c = &f->cfg;
    const DtclBackend *be = p->be;
    int I = c->init, bG = c->bn_size * c->growth, l = 0;
    s->x = x;
    /* stem: conv0 -> norm0 -> ReLU -> max-pool into the first channels of block 1 */
    DtclConvShape cs = with_batch(p->conv0, B);
    be->conv_forward(s->y0, x, f->conv0, NULL, &cs, p->work);
    int HW0 = p->H0 * p->H0;
    norm_relu(be, p->r, s->y0, (size_t)I * HW0, &f->norm0, s->mean0, s->invstd0, B, I, HW0, mode);
    be->maxpool3s2_forward(s->block[0], (size_t)p->cout[0] * p->H[0] * p->H[0], s->argmax0, p->r, B, I, p->H0,
                            p->H0);
    for (int k = 0; k < DTCL_DN_BLOCKS; k++) {
        int H = p->H[k], HW = H * H;
        size_t bs = (size_t)p->cout[k] * HW; /* block tensor's image stride */
        for (int j = 0; j < c->layers[k]; j++, l++) {
            const DtclDnLayer *y = &f->layer[l];
            int Cj = p->cin[k] + j * c->growth;
            /* norm1 -> ReLU over the C_j channels so far -> conv1 -> norm2 -> ReLU -> conv2 into [C_j, C_j + G) */
            norm_relu(be, p->r, s->block[k], bs, &y->norm1, s->mean1[l], s->invstd1[l], B, Cj, HW, mode);
            cs = with_batch(p->conv1[l], B);
            be->conv_forward(s->y1[l], p->r, y->conv1, NULL, &cs, p->work);
            norm_relu(be, p->r2, s->y1[l], (size_t)bG * HW, &y->norm2, s->mean2[l], s->invstd2[l], B, bG, HW, mode);
            cs = with_batch(p->conv2[l], B);
            be->conv_forward(s->block[k] + (size_t)Cj * HW, p->r2, y->conv2, NULL, &cs, p->work);
        }
        if (k == DTCL_DN_BLOCKS - 1)
            break;
        /* transition: norm -> ReLU -> conv 1x1 -> avg-pool into the first channels of the next block */
        norm_relu(be, p->r, s->block[k], bs, &f->tnorm[k], s->tmean[k], s->tinvstd[k], B, p->cout[k], HW, mode);
        cs = with_batch(p->tconv[k], B);
        be->conv_forward(p->t, p->r, f->tconv[k], NULL, &cs, p->work);
        be->avgpool2_forward(s->block[k + 1], (size_t)p->cout[k + 1] * p->H[k + 1] * p->H[k + 1], p->t, B,
                              p->cout[k] / 2, H, H);
    }
    int last = DTCL_DN_BLOCKS - 1, d = p->cout[last], HW = p->H[last] * p->H[last];
    norm_relu(be, p->r, s->block[last], (size_t)d * HW, &f->norm5, s->mean5, s->invstd5, B, d, HW, mode);
    be->avgpool_forward(s->h, p->r, B, d, HW);
}

void dtcl_densenet_forward_train(DtclDensenetSaved *s, const DtclDensenet *f, const float *x, int update_stats,
                                 DtclDensenetPlan *p)
{
    forward(s, f, x, p->B, update_stats ? STATS_BATCH_UPDATE : STATS_BATCH, p);
}

void dtcl_densenet_forward_eval(DtclDensenetSaved *s, const DtclDensenet *f, const float *x, int n,
                                DtclDensenetPlan *p)
{
    forward(s, f, x, n, STATS_RUNNING, p);
}

/* dw when param_grads, dx when not NULL; conv's dy, x as forward. */
static void conv_backward(const DtclBackend *be, float *dx, float *dw, int param_grads, const float *dy,
                          const float *x, const float *w, const DtclConvShape *cs, float *work)
{
    if (param_grads)
        be->conv_backward(dx, dw, NULL, dy, x, w, cs, work);
    else if (dx)
        be->conv_backward_data(dx, dy, w, cs, work);
}

/* dx (xstride) += the gradient of r = relu(norm(x)) for dr, with the kept
 * statistics; dgamma, dbeta += when param_grads. */
static void norm_relu_backward(const DtclBackend *be, float *dx, int param_grads, const float *dr, const float *x,
                               size_t xstride, const DtclDnNorm *n, const float *mean, const float *invstd, int B,
                               int C, int HW)
{
    be->bn_relu_backward_stats(dx, param_grads ? n->dgamma : NULL, param_grads ? n->dbeta : NULL, dr, x,
                                       xstride, mean, invstd, n->gamma, n->beta, B, C, HW);
}

void dtcl_densenet_backward(float *dx, int param_grads, const float *dh, const DtclDensenet *f,
                            const DtclDensenetSaved *s, DtclDensenetPlan *p)
{
    const DtclDensenetConfig *c = &f->cfg;
    const DtclBackend *be = p->be;
    int B = p->B, I = c->init, bG = c->bn_size * c->growth, last = DTCL_DN_BLOCKS - 1;
    int l = 0;
    for (int k = 0; k < DTCL_DN_BLOCKS; k++)
        l += c->layers[k];
    float *D = p->dblock[0], *Dn = p->dblock[1];
    /* forward: h = mean_HW relu(norm5(block_last)) */
    {
        int d = p->cout[last], HW = p->H[last] * p->H[last];
        be->zero(p->dr, (size_t)B * d * HW);
        be->avgpool_backward(p->dr, dh, B, d, HW);
        be->zero(D, (size_t)B * d * HW);
        norm_relu_backward(be, D, param_grads, p->dr, s->block[last], (size_t)d * HW, &f->norm5, s->mean5, s->invstd5,
                           B, d, HW);
    }
    for (int k = last; k >= 0; k--) {
        int H = p->H[k], HW = H * H;
        size_t bs = (size_t)p->cout[k] * HW;
        /* D holds d block_k; layer j's channels are complete once the layers after it are done */
        for (int j = c->layers[k] - 1; j >= 0; j--) {
            const DtclDnLayer *y = &f->layer[--l];
            int Cj = p->cin[k] + j * c->growth;
            /* forward: block[:, C_j:C_j+G] = conv2(relu(norm2(y1))), y1 = conv1(relu(norm1(block[:, :C_j]))) */
            be->bn_relu_apply(p->r2, s->y1[l], (size_t)bG * HW, s->mean2[l], s->invstd2[l], y->norm2.gamma,
                                      y->norm2.beta, B, bG, HW);
            be->zero(p->dr2, (size_t)B * bG * HW);
            conv_backward(be, p->dr2, y->dconv2, param_grads, D + (size_t)Cj * HW, p->r2, y->conv2, &p->conv2[l], p->work);
            be->zero(p->dy1, (size_t)B * bG * HW);
            norm_relu_backward(be, p->dy1, param_grads, p->dr2, s->y1[l], (size_t)bG * HW, &y->norm2, s->mean2[l],
                               s->invstd2[l], B, bG, HW);
            be->bn_relu_apply(p->r, s->block[k], bs, s->mean1[l], s->invstd1[l], y->norm1.gamma,
                                      y->norm1.beta, B, Cj, HW);
            be->zero(p->dr, (size_t)B * Cj * HW);
            conv_backward(be, p->dr, y->dconv1, param_grads, p->dy1, p->r, y->conv1, &p->conv1[l], p->work);
            norm_relu_backward(be, D, param_grads, p->dr, s->block[k], bs, &y->norm1, s->mean1[l], s->invstd1[l], B, Cj,
                               HW);
        }
        if (k == 0)
            break;
        /* forward: block_k[:, :cin_k] = avgpool(conv(relu(norm(block_{k-1})))) */
        int Hp = p->H[k - 1], HWp = Hp * Hp, Cp = p->cout[k - 1];
        size_t bsp = (size_t)Cp * HWp;
        be->zero(p->t, (size_t)B * (Cp / 2) * HWp);
        be->avgpool2_backward(p->t, D, bs, B, Cp / 2, Hp, Hp);
        be->bn_relu_apply(p->r, s->block[k - 1], bsp, s->tmean[k - 1], s->tinvstd[k - 1], f->tnorm[k - 1].gamma,
                                  f->tnorm[k - 1].beta, B, Cp, HWp);
        be->zero(p->dr, (size_t)B * Cp * HWp);
        conv_backward(be, p->dr, f->dtconv[k - 1], param_grads, p->t, p->r, f->tconv[k - 1], &p->tconv[k - 1], p->work);
        be->zero(Dn, (size_t)B * Cp * HWp);
        norm_relu_backward(be, Dn, param_grads, p->dr, s->block[k - 1], bsp, &f->tnorm[k - 1], s->tmean[k - 1],
                           s->tinvstd[k - 1], B, Cp, HWp);
        float *t = D;
        D = Dn;
        Dn = t;
    }
    /* forward: block_1[:, :I] = maxpool(relu(norm0(y0))), y0 = conv0(x) */
    int HW0 = p->H0 * p->H0;
    be->zero(p->dr, (size_t)B * I * HW0);
    be->maxpool3s2_backward(p->dr, D, (size_t)p->cout[0] * p->H[0] * p->H[0], s->argmax0, B, I, p->H0, p->H0);
    if (!param_grads && !dx)
        return;
    float *dy0 = p->r; /* free now */
    be->zero(dy0, (size_t)B * I * HW0);
    norm_relu_backward(be, dy0, param_grads, p->dr, s->y0, (size_t)I * HW0, &f->norm0, s->mean0, s->invstd0, B, I, HW0);
    conv_backward(be, dx, f->dconv0, param_grads, dy0, s->x, f->conv0, &p->conv0, p->work);
}
