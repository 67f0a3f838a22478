/* backend_check.c: the cases of the backend table and their runner (see
 * backend_check.h). A case lists its arguments (kind, size, input range,
 * tolerance) and calls its primitive through whatever table it is given; the
 * runner draws the inputs, runs the case on the device and on the CPU, and
 * compares. Shapes are small and odd on purpose (7x9 images, 17 pixels per
 * channel, 1001 parameters), so that tails of vector loops and of grid-stride
 * loops are exercised. */
#include "check/backend_check.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "nn/pool.h"
#include "transform/stages.h"

/* ------------------------------------------------------------ the table's entries */

#define ENTRY(f) {#f, offsetof(DtclBackend, f)}
static const DtclBackendEntry entries[] = {
    ENTRY(alloc), ENTRY(free), ENTRY(upload), ENTRY(download), ENTRY(copy), ENTRY(zero), ENTRY(scale),
    ENTRY(choose), ENTRY(check), ENTRY(conv_work_size), ENTRY(conv_forward), ENTRY(conv_backward),
    ENTRY(conv_backward_data), ENTRY(bn_relu_forward_train), ENTRY(bn_relu_backward), ENTRY(bn_forward_eval),
    ENTRY(bn_stats), ENTRY(bn_stats_eval), ENTRY(bn_relu_apply), ENTRY(bn_relu_backward_stats),
    ENTRY(relu_forward), ENTRY(relu_backward), ENTRY(relu_mask), ENTRY(logistic_forward),
    ENTRY(logistic_backward), ENTRY(linear_forward), ENTRY(linear_backward), ENTRY(maxpool2_forward),
    ENTRY(maxpool2_backward), ENTRY(maxpool3s2_forward), ENTRY(maxpool3s2_backward), ENTRY(avgpool2_forward),
    ENTRY(avgpool2_backward), ENTRY(avgpool_forward), ENTRY(avgpool_backward), ENTRY(nce_work_create),
    ENTRY(nce_work_free), ENTRY(nce), ENTRY(bce_work_create), ENTRY(bce_work_free), ENTRY(bce), ENTRY(adam_step),
    ENTRY(transform_plan), ENTRY(transform_plan_free), ENTRY(transform_forward), ENTRY(transform_backward),
};

int dtcl_backend_entries(const DtclBackendEntry **list)
{
    *list = entries;
    return (int)(sizeof entries / sizeof entries[0]);
}

/* ------------------------------------------------------------ cases */

typedef enum {
    IN,      /* drawn in [lo, hi] */
    OUT,     /* written by the primitive: compared */
    ACC,     /* drawn, then += by the primitive: the increments compared */
    STATE,   /* drawn, then updated: the final values compared */
    IN_I32,  /* indices, made by the case's prepare */
    OUT_I32, /* indices written: compared exactly */
    IN_U8,   /* flags 0/1 */
    WORK     /* the convolution's workspace, sized by the table (conv_work_size) */
} ArgKind;

typedef struct {
    const char *name;
    ArgKind kind;
    size_t n; /* elements */
    float lo, hi;
    double rtol, floor;
} Arg;

enum { MAX_ARGS = 10 };

typedef struct Case Case;
struct Case {
    char name[40];
    size_t entry[3]; /* offsetof(DtclBackend, ...) of what it calls, +1 (0 ends) */
    int narg;
    Arg arg[MAX_ARGS];
    int i[8];           /* shape integers, per kind */
    double f[2];        /* scalars, per kind */
    DtclConvShape conv; /* the convolutions' shape */
    DtclNce nce;
    DtclStage order[DTCL_NSTAGES];
    int nsteps;
    double loss_rtol; /* > 0: the call returns a value to compare */
    /* derived inputs on the host (valid argmax, consistent saved buffers) */
    void (*prepare)(const Case *c, void **host);
    /* per device objects the call needs (loss work, a transformation plan) */
    void *(*aux_create)(const DtclBackend *be, const Case *c, DtclError *err);
    void (*aux_free)(const DtclBackend *be, void *aux);
    double (*call)(const DtclBackend *be, const Case *c, void **a, void *aux);
};

typedef struct {
    Case *c;
    int n, cap;
} Cases;

static Case *add(Cases *L, const char *name, size_t e0, size_t e1, size_t e2)
{
    if (L->n == L->cap) {
        L->cap = L->cap ? 2 * L->cap : 64;
        L->c = realloc(L->c, sizeof(Case) * (size_t)L->cap);
        if (!L->c)
            abort();
    }
    Case *c = &L->c[L->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->entry[0] = e0 + 1;
    c->entry[1] = e1 ? e1 + 1 : 0;
    c->entry[2] = e2 ? e2 + 1 : 0;
    return c;
}

#define E(f) offsetof(DtclBackend, f)

/* forward values to 1e-5, gradients to 1e-4 (SPEC section 9), with a floor
 * of a tenth of that relative to the tensor's largest value */
static void arg(Case *c, const char *name, ArgKind kind, size_t n, float lo, float hi)
{
    Arg *a = &c->arg[c->narg++];
    a->name = name;
    a->kind = kind;
    a->n = n;
    a->lo = lo;
    a->hi = hi;
    a->rtol = kind == ACC ? 1e-4 : 1e-5;
    a->floor = a->rtol / 10;
}

static void tol(Case *c, double rtol, double floor)
{
    c->arg[c->narg - 1].rtol = rtol;
    c->arg[c->narg - 1].floor = floor;
}

/* ---- memory */

static double call_copy(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->copy(a[1], a[0], sizeof(float) * (size_t)c->i[0]);
    return 0;
}

static double call_zero(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->zero(a[0], (size_t)c->i[0]);
    return 0;
}

static double call_scale(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->scale(a[0], a[1], c->f[0], (size_t)c->i[0]);
    return 0;
}

static double call_choose(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->choose(a[0], a[1], a[2], (size_t)c->i[1], c->i[0]);
    return 0;
}

static void add_memory(Cases *L)
{
    int n = 10007;
    Case *c = add(L, "copy", E(copy), 0, 0);
    c->i[0] = n;
    arg(c, "src", IN, n, -1, 1);
    arg(c, "dst", OUT, n, 0, 0);
    tol(c, 0, 0);
    c->call = call_copy;
    c = add(L, "zero", E(zero), 0, 0);
    c->i[0] = n;
    arg(c, "a", OUT, n, 0, 0);
    tol(c, 0, 0);
    c->call = call_zero;
    c = add(L, "scale by -3.7", E(scale), 0, 0);
    c->i[0] = n;
    c->f[0] = -3.7;
    arg(c, "y", OUT, n, 0, 0);
    arg(c, "x", IN, n, -1, 1);
    c->call = call_scale;
    c = add(L, "choose 5 images of 7x9", E(choose), 0, 0);
    c->i[0] = 5;
    c->i[1] = 63;
    arg(c, "y", STATE, 5 * 63, -1, 1);
    tol(c, 0, 0);
    arg(c, "alt", IN, 5 * 63, -1, 1);
    arg(c, "keep", IN_U8, 5, 0, 0);
    c->call = call_choose;
}

/* ---- activations */

static double call_relu_forward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->relu_forward(a[0], a[1], (size_t)c->i[0]);
    return 0;
}

static double call_relu_backward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->relu_backward(a[0], a[1], a[2], (size_t)c->i[0]);
    return 0;
}

static double call_relu_mask(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->relu_mask(a[0], a[1], (size_t)c->i[0]);
    return 0;
}

static double call_logistic_forward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->logistic_forward(a[0], a[1], (size_t)c->i[0]);
    return 0;
}

static double call_logistic_backward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->logistic_backward(a[0], a[1], a[2], (size_t)c->i[0]);
    return 0;
}

static void add_activations(Cases *L)
{
    int n = 10007;
    Case *c = add(L, "relu forward", E(relu_forward), 0, 0);
    c->i[0] = n;
    arg(c, "y", OUT, n, 0, 0);
    arg(c, "x", IN, n, -2, 2);
    c->call = call_relu_forward;
    c = add(L, "relu backward", E(relu_backward), 0, 0);
    c->i[0] = n;
    arg(c, "dx", ACC, n, -1, 1);
    arg(c, "dy", IN, n, -1, 1);
    arg(c, "x", IN, n, -2, 2);
    c->call = call_relu_backward;
    c = add(L, "relu mask", E(relu_mask), 0, 0);
    c->i[0] = n;
    arg(c, "dy", STATE, n, -1, 1);
    arg(c, "y", IN, n, -1, 1);
    c->call = call_relu_mask;
    c = add(L, "logistic forward", E(logistic_forward), 0, 0);
    c->i[0] = n;
    arg(c, "y", OUT, n, 0, 0);
    arg(c, "x", IN, n, -6, 6);
    c->call = call_logistic_forward;
    c = add(L, "logistic backward", E(logistic_backward), 0, 0);
    c->i[0] = n;
    arg(c, "dx", ACC, n, -1, 1);
    arg(c, "dy", IN, n, -1, 1);
    arg(c, "y", IN, n, 0, 1);
    c->call = call_logistic_backward;
}

/* ---- Linear: i = B, nin, nout, bias */

static double call_linear_forward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->linear_forward(a[0], a[1], a[2], c->i[3] ? a[3] : NULL, c->i[0], c->i[1], c->i[2]);
    return 0;
}

static double call_linear_backward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->linear_backward(c->i[4] ? a[0] : NULL, a[1], a[2], a[3], a[4], a[5], c->i[0], c->i[1], c->i[2]);
    return 0;
}

static void add_linear(Cases *L, int B, int nin, int nout, int bias, int with_dx)
{
    char name[40];
    snprintf(name, sizeof name, "linear %d: %d -> %d%s", B, nin, nout, bias ? "" : " (no bias)");
    Case *c = add(L, name, E(linear_forward), 0, 0);
    int in[5] = {B, nin, nout, bias, with_dx};
    memcpy(c->i, in, sizeof in);
    arg(c, "y", OUT, (size_t)B * nout, 0, 0);
    arg(c, "x", IN, (size_t)B * nin, -1, 1);
    arg(c, "weight", IN, (size_t)nout * nin, -0.3f, 0.3f);
    arg(c, "bias", IN, nout, -0.3f, 0.3f);
    c->call = call_linear_forward;
    snprintf(name, sizeof name, "linear %d: %d -> %d backward%s", B, nin, nout, with_dx ? "" : " (no dx)");
    c = add(L, name, E(linear_backward), 0, 0);
    memcpy(c->i, in, sizeof in);
    arg(c, "dx", ACC, (size_t)B * nin, -1, 1);
    arg(c, "dweight", ACC, (size_t)nout * nin, -1, 1);
    arg(c, "dbias", ACC, nout, -1, 1);
    arg(c, "dy", IN, (size_t)B * nout, -1, 1);
    arg(c, "x", IN, (size_t)B * nin, -1, 1);
    arg(c, "weight", IN, (size_t)nout * nin, -0.3f, 0.3f);
    c->call = call_linear_backward;
}

/* ---- convolution: c->conv; i[0] = bias */

static double call_conv_forward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->conv_forward(a[0], a[1], a[2], c->i[0] ? a[3] : NULL, &c->conv, a[4]);
    return 0;
}

static double call_conv_backward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->conv_backward(a[0], a[1], c->i[0] ? a[2] : NULL, a[3], a[4], a[5], &c->conv, a[6]);
    return 0;
}

static double call_conv_backward_data(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->conv_backward_data(a[0], a[1], a[2], &c->conv, a[3]);
    return 0;
}

static void add_conv(Cases *L, const char *what, int B, int C, int O, int H, int W, int k, int stride, int bias,
                     int xpad, int ypad)
{
    int st = stride > 1 ? stride : 1, Ho = (H - 1) / st + 1, Wo = (W - 1) / st + 1;
    DtclConvShape s = {.B = B, .C = C, .O = O, .H = H, .W = W, .k = k, .stride = stride, .threads = 2};
    size_t xs = (size_t)(C + xpad) * H * W, ys = (size_t)(O + ypad) * Ho * Wo, K = (size_t)C * k * k;
    if (xpad)
        s.xstride = xs;
    if (ypad)
        s.ystride = ys;
    char name[40];
    snprintf(name, sizeof name, "conv %s", what);
    Case *c = add(L, name, E(conv_forward), E(conv_work_size), 0);
    c->conv = s;
    c->i[0] = bias;
    arg(c, "y", OUT, (size_t)B * ys, 0, 0);
    arg(c, "x", IN, (size_t)B * xs, -1, 1);
    arg(c, "weight", IN, (size_t)O * K, -0.3f, 0.3f);
    arg(c, "bias", IN, O, -0.3f, 0.3f);
    arg(c, "work", WORK, 0, 0, 0);
    c->call = call_conv_forward;
    snprintf(name, sizeof name, "conv %s backward", what);
    c = add(L, name, E(conv_backward), E(conv_work_size), 0);
    c->conv = s;
    c->i[0] = bias;
    arg(c, "dx", ACC, (size_t)B * xs, -1, 1);
    arg(c, "dweight", ACC, (size_t)O * K, -1, 1);
    arg(c, "dbias", ACC, O, -1, 1);
    arg(c, "dy", IN, (size_t)B * ys, -1, 1);
    arg(c, "x", IN, (size_t)B * xs, -1, 1);
    arg(c, "weight", IN, (size_t)O * K, -0.3f, 0.3f);
    arg(c, "work", WORK, 0, 0, 0);
    c->call = call_conv_backward;
    snprintf(name, sizeof name, "conv %s dx only", what);
    c = add(L, name, E(conv_backward_data), E(conv_work_size), 0);
    c->conv = s;
    arg(c, "dx", ACC, (size_t)B * xs, -1, 1);
    arg(c, "dy", IN, (size_t)B * ys, -1, 1);
    arg(c, "weight", IN, (size_t)O * K, -0.3f, 0.3f);
    arg(c, "work", WORK, 0, 0, 0);
    c->call = call_conv_backward_data;
}

/* ---- BatchNorm: i = B, C, HW, xstride; f = momentum, eps */

static double call_bn_forward_train(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->bn_relu_forward_train(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], c->i[0], c->i[1], c->i[2],
                              (float)c->f[0], (float)c->f[1]);
    return 0;
}

static void prepare_bn_backward(const Case *c, void **h)
{
    float *r = h[4];
    for (size_t q = 0; q < c->arg[4].n; q++) /* r = max(gamma xhat + beta, 0): zeros where ReLU cut */
        r[q] = r[q] > 0 ? r[q] : 0.0f;
}

static double call_bn_backward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->bn_relu_backward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], c->i[0], c->i[1], c->i[2]);
    return 0;
}

static double call_bn_forward_eval(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->bn_forward_eval(a[0], a[1], a[2], a[3], a[4], a[5], c->i[0], c->i[1], c->i[2], (float)c->f[1]);
    return 0;
}

static double call_bn_stats(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->bn_stats(a[0], a[1], a[2], a[3], a[4], (size_t)c->i[3], c->i[0], c->i[1], c->i[2], (float)c->f[0],
                 (float)c->f[1]);
    return 0;
}

static double call_bn_stats_eval(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->bn_stats_eval(a[0], a[1], a[2], a[3], c->i[1], (float)c->f[1]);
    return 0;
}

static double call_bn_apply(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->bn_relu_apply(a[0], a[1], (size_t)c->i[3], a[2], a[3], a[4], a[5], c->i[0], c->i[1], c->i[2]);
    return 0;
}

static double call_bn_backward_stats(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->bn_relu_backward_stats(a[0], a[1], a[2], a[3], a[4], (size_t)c->i[3], a[5], a[6], a[7], a[8], c->i[0],
                               c->i[1], c->i[2]);
    return 0;
}

static void add_batchnorm(Cases *L, int B, int C, int HW)
{
    size_t n = (size_t)B * C * HW;
    int xstride = (C + 2) * HW; /* the DenseNet's channel prefix of a wider block */
    size_t nv = (size_t)B * xstride;
    int in[4] = {B, C, HW, xstride};
    Case *c = add(L, "batchnorm+relu training", E(bn_relu_forward_train), 0, 0);
    memcpy(c->i, in, sizeof in);
    c->f[0] = 0.1;
    c->f[1] = 1e-5;
    arg(c, "r", OUT, n, 0, 0);
    arg(c, "xhat", OUT, n, 0, 0);
    arg(c, "invstd", OUT, C, 0, 0);
    arg(c, "running_mean", STATE, C, -0.5f, 0.5f);
    arg(c, "running_var", STATE, C, 0.5f, 1.5f);
    arg(c, "x", IN, n, -2, 3);
    arg(c, "gamma", IN, C, 0.5f, 1.5f);
    arg(c, "beta", IN, C, -0.5f, 0.5f);
    c->call = call_bn_forward_train;
    c = add(L, "batchnorm+relu backward", E(bn_relu_backward), 0, 0);
    memcpy(c->i, in, sizeof in);
    arg(c, "dx", ACC, n, -1, 1);
    arg(c, "dgamma", ACC, C, -1, 1);
    arg(c, "dbeta", ACC, C, -1, 1);
    arg(c, "dr", IN, n, -1, 1);
    arg(c, "r", IN, n, -1, 2);
    arg(c, "xhat", IN, n, -2, 2);
    arg(c, "invstd", IN, C, 0.5f, 2);
    arg(c, "gamma", IN, C, 0.5f, 1.5f);
    c->prepare = prepare_bn_backward;
    c->call = call_bn_backward;
    c = add(L, "batchnorm evaluation", E(bn_forward_eval), 0, 0);
    memcpy(c->i, in, sizeof in);
    c->f[1] = 1e-5;
    arg(c, "y", OUT, n, 0, 0);
    arg(c, "x", IN, n, -2, 3);
    arg(c, "gamma", IN, C, 0.5f, 1.5f);
    arg(c, "beta", IN, C, -0.5f, 0.5f);
    arg(c, "running_mean", IN, C, -0.5f, 0.5f);
    arg(c, "running_var", IN, C, 0.5f, 1.5f);
    c->call = call_bn_forward_eval;
    c = add(L, "batchnorm statistics (view)", E(bn_stats), 0, 0);
    memcpy(c->i, in, sizeof in);
    c->f[0] = 0.1;
    c->f[1] = 1e-5;
    arg(c, "mean", OUT, C, 0, 0);
    arg(c, "invstd", OUT, C, 0, 0);
    arg(c, "running_mean", STATE, C, -0.5f, 0.5f);
    arg(c, "running_var", STATE, C, 0.5f, 1.5f);
    arg(c, "x", IN, nv, -2, 3);
    c->call = call_bn_stats;
    c = add(L, "batchnorm statistics (evaluation)", E(bn_stats_eval), 0, 0);
    memcpy(c->i, in, sizeof in);
    c->f[1] = 1e-5;
    arg(c, "mean", OUT, C, 0, 0);
    arg(c, "invstd", OUT, C, 0, 0);
    arg(c, "running_mean", IN, C, -0.5f, 0.5f);
    arg(c, "running_var", IN, C, 0.5f, 1.5f);
    c->call = call_bn_stats_eval;
    c = add(L, "batchnorm+relu apply (view)", E(bn_relu_apply), 0, 0);
    memcpy(c->i, in, sizeof in);
    arg(c, "r", OUT, n, 0, 0);
    arg(c, "x", IN, nv, -2, 3);
    arg(c, "mean", IN, C, -0.5f, 0.5f);
    arg(c, "invstd", IN, C, 0.5f, 2);
    arg(c, "gamma", IN, C, 0.5f, 1.5f);
    arg(c, "beta", IN, C, -0.5f, 0.5f);
    c->call = call_bn_apply;
    c = add(L, "batchnorm+relu backward (view)", E(bn_relu_backward_stats), 0, 0);
    memcpy(c->i, in, sizeof in);
    arg(c, "dx", ACC, nv, -1, 1);
    arg(c, "dgamma", ACC, C, -1, 1);
    arg(c, "dbeta", ACC, C, -1, 1);
    arg(c, "dr", IN, n, -1, 1);
    arg(c, "x", IN, nv, -2, 3);
    arg(c, "mean", IN, C, -0.5f, 0.5f);
    arg(c, "invstd", IN, C, 0.5f, 2);
    arg(c, "gamma", IN, C, 0.5f, 1.5f);
    arg(c, "beta", IN, C, -0.5f, 0.5f);
    c->call = call_bn_backward_stats;
}

/* ---- pools: i = B, C, H, W, Ho, Wo, ystride */

static double call_maxpool2_forward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->maxpool2_forward(a[0], a[1], a[2], c->i[0], c->i[1], c->i[2], c->i[3]);
    return 0;
}

/* argmax of a random x by the CPU's forward, as backward receives it */
static void prepare_maxpool2(const Case *c, void **h)
{
    int B = c->i[0], C = c->i[1], H = c->i[2], W = c->i[3];
    float *x = malloc(sizeof(float) * (size_t)B * C * H * W), *y = malloc(sizeof(float) * c->arg[1].n);
    DtclStream s = {7, DTCL_RNG_TEST, 0, 0, 99};
    dtcl_rng_uniform_range(&s, x, (size_t)B * C * H * W, -1, 1);
    dtcl_maxpool2_forward(y, h[2], x, B, C, H, W);
    free(x);
    free(y);
}

static double call_maxpool2_backward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->maxpool2_backward(a[0], a[1], a[2], c->i[0], c->i[1], c->i[2], c->i[3]);
    return 0;
}

static double call_maxpool3s2_forward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->maxpool3s2_forward(a[0], (size_t)c->i[6], a[1], a[2], c->i[0], c->i[1], c->i[2], c->i[3]);
    return 0;
}

static void prepare_maxpool3s2(const Case *c, void **h)
{
    int B = c->i[0], C = c->i[1], H = c->i[2], W = c->i[3];
    float *x = malloc(sizeof(float) * (size_t)B * C * H * W), *y = malloc(sizeof(float) * c->arg[1].n);
    DtclStream s = {7, DTCL_RNG_TEST, 0, 0, 98};
    dtcl_rng_uniform_range(&s, x, (size_t)B * C * H * W, -1, 1);
    dtcl_maxpool3s2_forward(y, (size_t)c->i[6], h[2], x, B, C, H, W);
    free(x);
    free(y);
}

static double call_maxpool3s2_backward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->maxpool3s2_backward(a[0], a[1], (size_t)c->i[6], a[2], c->i[0], c->i[1], c->i[2], c->i[3]);
    return 0;
}

static double call_avgpool2_forward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->avgpool2_forward(a[0], (size_t)c->i[6], a[1], c->i[0], c->i[1], c->i[2], c->i[3]);
    return 0;
}

static double call_avgpool2_backward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->avgpool2_backward(a[0], a[1], (size_t)c->i[6], c->i[0], c->i[1], c->i[2], c->i[3]);
    return 0;
}

static double call_avgpool_forward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->avgpool_forward(a[0], a[1], c->i[0], c->i[1], c->i[2] * c->i[3]);
    return 0;
}

static double call_avgpool_backward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->avgpool_backward(a[0], a[1], c->i[0], c->i[1], c->i[2] * c->i[3]);
    return 0;
}

static void add_pools(Cases *L, int B, int C, int H, int W)
{
    size_t nx = (size_t)B * C * H * W;
    int H2 = H / 2, W2 = W / 2, H3 = (H - 1) / 2 + 1, W3 = (W - 1) / 2 + 1;
    int y2 = (C + 1) * H2 * W2, y3 = (C + 1) * H3 * W3; /* the outputs' image strides: views */
    Case *c = add(L, "maxpool 2x2", E(maxpool2_forward), 0, 0);
    int in[7] = {B, C, H, W, H2, W2, 0};
    memcpy(c->i, in, sizeof in);
    arg(c, "y", OUT, (size_t)B * C * H2 * W2, 0, 0);
    arg(c, "argmax", OUT_I32, (size_t)B * C * H2 * W2, 0, 0);
    arg(c, "x", IN, nx, -1, 1);
    c->call = call_maxpool2_forward;
    c = add(L, "maxpool 2x2 backward", E(maxpool2_backward), 0, 0);
    memcpy(c->i, in, sizeof in);
    arg(c, "dx", ACC, nx, -1, 1);
    arg(c, "dy", IN, (size_t)B * C * H2 * W2, -1, 1);
    arg(c, "argmax", IN_I32, (size_t)B * C * H2 * W2, 0, 0);
    c->prepare = prepare_maxpool2;
    c->call = call_maxpool2_backward;
    in[6] = y3;
    c = add(L, "maxpool 3x3/2 (view)", E(maxpool3s2_forward), 0, 0);
    memcpy(c->i, in, sizeof in);
    arg(c, "y", OUT, (size_t)B * y3, 0, 0);
    arg(c, "argmax", OUT_I32, (size_t)B * C * H3 * W3, 0, 0);
    arg(c, "x", IN, nx, -1, 1);
    c->call = call_maxpool3s2_forward;
    c = add(L, "maxpool 3x3/2 backward (view)", E(maxpool3s2_backward), 0, 0);
    memcpy(c->i, in, sizeof in);
    arg(c, "dx", ACC, nx, -1, 1);
    arg(c, "dy", IN, (size_t)B * y3, -1, 1);
    arg(c, "argmax", IN_I32, (size_t)B * C * H3 * W3, 0, 0);
    c->prepare = prepare_maxpool3s2;
    c->call = call_maxpool3s2_backward;
    in[6] = y2;
    c = add(L, "avgpool 2x2 (view)", E(avgpool2_forward), 0, 0);
    memcpy(c->i, in, sizeof in);
    arg(c, "y", OUT, (size_t)B * y2, 0, 0);
    arg(c, "x", IN, nx, -1, 1);
    c->call = call_avgpool2_forward;
    c = add(L, "avgpool 2x2 backward (view)", E(avgpool2_backward), 0, 0);
    memcpy(c->i, in, sizeof in);
    arg(c, "dx", ACC, nx, -1, 1);
    arg(c, "dy", IN, (size_t)B * y2, -1, 1);
    c->call = call_avgpool2_backward;
    c = add(L, "global average pool", E(avgpool_forward), 0, 0);
    memcpy(c->i, in, sizeof in);
    arg(c, "y", OUT, (size_t)B * C, 0, 0);
    arg(c, "x", IN, nx, -1, 1);
    c->call = call_avgpool_forward;
    c = add(L, "global average pool backward", E(avgpool_backward), 0, 0);
    memcpy(c->i, in, sizeof in);
    arg(c, "dx", ACC, nx, -1, 1);
    arg(c, "dy", IN, (size_t)B * C, -1, 1);
    c->call = call_avgpool_backward;
}

/* ---- losses: i = B, D, grads */

static const int8_t loss_labels[6] = {1, 0, -1, 1, 0, 1};
static const int8_t loss_mask[6] = {1, 1, 1, 0, 1, 1};

static void *nce_aux(const DtclBackend *be, const Case *c, DtclError *err)
{
    return be->nce_work_create(c->i[0], c->i[1], err);
}

static void nce_aux_free(const DtclBackend *be, void *aux)
{
    be->nce_work_free(aux);
}

static double call_nce(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    return be->nce(&c->nce, c->i[2] ? a[0] : NULL, c->i[2] ? a[1] : NULL, a[2], a[3], loss_labels, c->i[0], c->i[1],
                   aux);
}

static void *bce_aux(const DtclBackend *be, const Case *c, DtclError *err)
{
    return be->bce_work_create(c->i[0], err);
}

static void bce_aux_free(const DtclBackend *be, void *aux)
{
    be->bce_work_free(aux);
}

static double call_bce(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    return be->bce(a[0], a[1], loss_labels, c->i[2] ? loss_mask : NULL, c->i[0], aux);
}

static void add_losses(Cases *L)
{
    enum { B = 6, D = 9 };
    static const char *kinds[3] = {"paper", "simclr", "supcon"}, *sims[2] = {"dot", "cosine"};
    for (int k = 0; k < 3; k++)
        for (int s = 0; s < 2; s++) {
            char name[40];
            snprintf(name, sizeof name, "L_NCE %s, %s", kinds[k], sims[s]);
            Case *c = add(L, name, E(nce), E(nce_work_create), E(nce_work_free));
            c->i[0] = B;
            c->i[1] = D;
            c->i[2] = 1;
            c->nce = (DtclNce){(DtclNceKind)k, (DtclSimilarity)s, s ? 0.5 : 1.0};
            arg(c, "dzm", ACC, (size_t)B * D, -1, 1);
            arg(c, "dz", ACC, (size_t)B * D, -1, 1);
            arg(c, "zm", IN, (size_t)B * D, -1, 1);
            arg(c, "z", IN, (size_t)B * D, -1, 1);
            c->loss_rtol = 1e-9; /* both in double, the same order */
            c->aux_create = nce_aux;
            c->aux_free = nce_aux_free;
            c->call = call_nce;
        }
    Case *c = add(L, "L_NCE paper, cosine, loss only", E(nce), E(nce_work_create), E(nce_work_free));
    c->i[0] = B;
    c->i[1] = D;
    c->nce = (DtclNce){DTCL_NCE_PAPER, DTCL_SIM_COSINE, 1.0};
    arg(c, "dzm", ACC, (size_t)B * D, -1, 1);
    arg(c, "dz", ACC, (size_t)B * D, -1, 1);
    arg(c, "zm", IN, (size_t)B * D, -1, 1);
    arg(c, "z", IN, (size_t)B * D, -1, 1);
    c->loss_rtol = 1e-9;
    c->aux_create = nce_aux;
    c->aux_free = nce_aux_free;
    c->call = call_nce;
    for (int m = 0; m < 2; m++) {
        c = add(L, m ? "BCE, masked" : "BCE", E(bce), E(bce_work_create), E(bce_work_free));
        c->i[0] = B;
        c->i[2] = m;
        arg(c, "dx", ACC, B, -1, 1);
        arg(c, "x", IN, B, -4, 4);
        c->loss_rtol = 1e-9;
        c->aux_create = bce_aux;
        c->aux_free = bce_aux_free;
        c->call = call_bce;
    }
}

/* ---- Adam: i = n, t */

static double call_adam(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    DtclAdam ad;
    dtcl_adam_default(&ad, 1e-3);
    be->adam_step(&ad, a[0], a[1], a[2], a[3], (size_t)c->i[0], c->i[1]);
    return 0;
}

static void add_adam(Cases *L)
{
    Case *c = add(L, "adam step 3", E(adam_step), 0, 0);
    c->i[0] = 1001;
    c->i[1] = 3;
    arg(c, "param", STATE, 1001, -1, 1);
    arg(c, "m", STATE, 1001, -1e-2f, 1e-2f);
    arg(c, "v", STATE, 1001, 0, 1e-4f);
    arg(c, "grad", IN, 1001, -1, 1);
    c->call = call_adam;
}

/* ---- the transformation: i = n, S, with dx; order */

typedef struct {
    DtclTransform t;
    void *plan;
} TransformAux;

static const uint32_t noise_items[3] = {5, 9, 2};

static void *transform_aux(const DtclBackend *be, const Case *c, DtclError *err)
{
    TransformAux *x = calloc(1, sizeof *x);
    DtclTransformParams p;
    dtcl_transform_params_default(&p);
    if (!x || dtcl_transform_init(&x->t, c->i[1], c->order, c->nsteps, &p, err) != 0 ||
        !(x->plan = be->transform_plan(&x->t, c->i[0], err))) {
        if (x && x->t.size)
            dtcl_transform_free(&x->t);
        free(x);
        return NULL;
    }
    return x;
}

static void transform_aux_free(const DtclBackend *be, void *aux)
{
    TransformAux *x = aux;
    be->transform_plan_free(x->plan);
    dtcl_transform_free(&x->t);
    free(x);
}

static double call_transform_forward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    DtclNoiseSource ns = {31, 2, 4, noise_items};
    be->transform_forward(((TransformAux *)aux)->plan, a[0], a[1], a[2], a[3], &ns, c->i[0]);
    return 0;
}

/* the saved buffers of x, as the CPU's forward makes them */
static void prepare_transform_backward(const Case *c, void **h)
{
    DtclTransform t;
    DtclTransformParams p;
    dtcl_transform_params_default(&p);
    dtcl_transform_init(&t, c->i[1], c->order, c->nsteps, &p, NULL);
    DtclNoiseSource ns = {31, 2, 4, noise_items};
    float *y = malloc(sizeof(float) * c->arg[3].n);
    dtcl_transform_forward(&t, y, h[5], h[3], h[4], &ns, c->i[0]);
    free(y);
    dtcl_transform_free(&t);
}

static double call_transform_backward(const DtclBackend *be, const Case *c, void **a, void *aux)
{
    be->transform_backward(((TransformAux *)aux)->plan, c->i[2] ? a[0] : NULL, a[1], a[2], a[3], a[4], a[5],
                           c->i[0]);
    return 0;
}

static void add_transform(Cases *L, const char *what, const char *order, int with_dx)
{
    enum { N = 3, S = 16 };
    char name[40];
    Case *c = add(L, "", E(transform_forward), E(transform_plan), E(transform_plan_free));
    c->i[0] = N;
    c->i[1] = S;
    c->i[2] = with_dx;
    dtcl_transform_parse_order(order, c->order, &c->nsteps, NULL);
    DtclTransform t = {.size = S, .nsteps = c->nsteps};
    memcpy(t.order, c->order, sizeof c->order);
    size_t NS = (size_t)N * S * S, SV = dtcl_transform_saved_size(&t) * N + 1;
    snprintf(name, sizeof name, "T %s", what);
    snprintf(c->name, sizeof c->name, "%s", name);
    arg(c, "y", OUT, NS, 0, 0);
    arg(c, "saved", OUT, SV, 0, 0);
    arg(c, "x", IN, NS, 0, 1);
    arg(c, "lambda", IN, (size_t)N * DTCL_NLAMBDA, 0.05f, 0.95f);
    c->aux_create = transform_aux;
    c->aux_free = transform_aux_free;
    c->call = call_transform_forward;
    snprintf(name, sizeof name, "T %s VJP%s", what, with_dx ? "" : " (no dx)");
    c = add(L, name, E(transform_backward), E(transform_plan), E(transform_plan_free));
    c->i[0] = N;
    c->i[1] = S;
    c->i[2] = with_dx;
    memcpy(c->order, t.order, sizeof c->order);
    c->nsteps = t.nsteps;
    arg(c, "dx", ACC, NS, -1, 1);
    arg(c, "dlambda", ACC, (size_t)N * DTCL_NLAMBDA, -1, 1);
    arg(c, "dy", IN, NS, -1, 1);
    arg(c, "x", IN, NS, 0, 1);
    arg(c, "lambda", IN, (size_t)N * DTCL_NLAMBDA, 0.05f, 0.95f);
    arg(c, "saved", IN, SV, 0, 0);
    c->prepare = prepare_transform_backward;
    c->aux_create = transform_aux;
    c->aux_free = transform_aux_free;
    c->call = call_transform_backward;
}

static void make_cases(Cases *L)
{
    add_memory(L);
    add_activations(L);
    add_linear(L, 7, 33, 19, 1, 1);
    add_linear(L, 5, 12, 1, 0, 0);
    add_conv(L, "3x3 2x3->4 9x7", 2, 3, 4, 9, 7, 3, 1, 1, 0, 0);
    add_conv(L, "3x3 views 2x5->6 8x8", 2, 5, 6, 8, 8, 3, 1, 0, 2, 3);
    add_conv(L, "1x1 2x8->5 6x6", 2, 8, 5, 6, 6, 1, 1, 1, 0, 0);
    add_conv(L, "7x7/2 2x1->4 13x11", 2, 1, 4, 13, 11, 7, 2, 0, 0, 0);
    add_conv(L, "3x3 first layer 3x1->8 8x8", 3, 1, 8, 8, 8, 3, 1, 1, 0, 0);
    add_batchnorm(L, 3, 5, 17);
    add_pools(L, 2, 3, 9, 7);
    add_losses(L);
    add_adam(L);
    for (int k = 0; k < DTCL_NSTAGES; k++)
        add_transform(L, dtcl_stages[k].name, dtcl_stages[k].name, 1);
    add_transform(L, "default order", dtcl_default_order, 1);
    add_transform(L, "default order", dtcl_default_order, 0);
    add_transform(L, "reversed order", "rotate,vflip,hflip,crop,noise,blur", 1);
}

int dtcl_backend_cases_using(size_t offset)
{
    Cases L = {0};
    make_cases(&L);
    int n = 0;
    for (int k = 0; k < L.n; k++)
        for (int e = 0; e < 3; e++)
            n += L.c[k].entry[e] == offset + 1;
    free(L.c);
    if (offset == E(alloc) || offset == E(free) || offset == E(upload) || offset == E(download) || offset == E(check))
        n += L.n; /* the runner's own calls, in every case */
    return n;
}

/* ------------------------------------------------------------ the runner */

static size_t elem_size(ArgKind k)
{
    return k == IN_I32 || k == OUT_I32 ? 4 : k == IN_U8 ? 1 : 4;
}

/* The host's view of one run: the start values, and what came back. */
typedef struct {
    void *start[MAX_ARGS];  /* drawn or prepared (host) */
    void *result[MAX_ARGS]; /* after the call (host) */
    size_t n[MAX_ARGS];
    double loss;
} Run;

static void draw(const Case *c, int k, void *h, uint64_t seed, uint32_t item)
{
    const Arg *a = &c->arg[k];
    if (a->kind == IN || a->kind == ACC || a->kind == STATE) {
        DtclStream s = {seed, DTCL_RNG_TEST, 0, item, (uint32_t)k};
        dtcl_rng_uniform_range(&s, h, a->n, a->lo, a->hi);
    } else if (a->kind == IN_U8) {
        for (size_t q = 0; q < a->n; q++)
            ((uint8_t *)h)[q] = (uint8_t)(q % 3 != 0);
    } else if (a->kind == OUT || a->kind == OUT_I32) {
        memset(h, 0xff, a->n * elem_size(a->kind)); /* NaN, or index -1: what a missing write leaves */
    } else {
        memset(h, 0, a->n * elem_size(a->kind));
    }
}

/* One case on be from the host start values: every argument allocated on
 * the device, sent, the call, and every argument fetched back. */
static int run_on(const DtclBackend *be, const Case *c, Run *r, DtclError *err)
{
    void *dev[MAX_ARGS] = {0};
    void *aux = NULL;
    int rc = 0;
    if (c->aux_create && !(aux = c->aux_create(be, c, err)))
        return -1;
    for (int k = 0; k < c->narg && rc == 0; k++) {
        const Arg *a = &c->arg[k];
        size_t bytes = a->kind == WORK ? sizeof(float) * be->conv_work_size(&c->conv) : r->n[k] * elem_size(a->kind);
        if (!(dev[k] = be->alloc(bytes ? bytes : 16, err)))
            rc = -1;
        else if (a->kind != WORK)
            rc = be->upload(dev[k], r->start[k], bytes, err);
    }
    if (rc == 0) {
        r->loss = c->call(be, c, dev, aux);
        rc = be->check(c->name, err);
    }
    for (int k = 0; k < c->narg && rc == 0; k++)
        if (c->arg[k].kind != WORK)
            rc = be->download(r->result[k], dev[k], r->n[k] * elem_size(c->arg[k].kind), err);
    for (int k = 0; k < c->narg; k++)
        if (dev[k])
            be->free(dev[k]);
    if (aux)
        c->aux_free(be, aux);
    return rc;
}

/* worst |g - c| / (|c| + floor/rtol max|c|) over the compared values; inf
 * when one side is NaN and the other is not */
static double compare(const float *g, const float *cpu, const float *start, size_t n, const Arg *a)
{
    double mx = 0, worst = 0;
    for (size_t q = 0; q < n; q++) {
        double v = start ? (double)cpu[q] - start[q] : cpu[q];
        if (v == v)
            mx = fmax(mx, fabs(v));
    }
    double scale = a->rtol > 0 ? a->floor / a->rtol * mx : 0;
    for (size_t q = 0; q < n; q++) {
        double cv = start ? (double)cpu[q] - start[q] : cpu[q], gv = start ? (double)g[q] - start[q] : g[q];
        if (cv != cv || gv != gv) {
            if ((cv != cv) != (gv != gv))
                return INFINITY;
            continue;
        }
        double d = fabs(gv - cv), den = fabs(cv) + scale;
        double e = d == 0 ? 0 : den > 0 ? d / den : INFINITY;
        worst = fmax(worst, e);
    }
    return worst;
}

static int check_case(DtclCheckTable *tab, const DtclBackend *be, const Case *c, uint64_t seed, uint32_t item,
                      DtclError *err)
{
    Run r[2]; /* the CPU's, the device's */
    memset(r, 0, sizeof r);
    for (int k = 0; k < c->narg; k++) {
        size_t n = c->arg[k].kind == WORK ? 1 : c->arg[k].n;
        size_t bytes = (n ? n : 1) * elem_size(c->arg[k].kind);
        for (int d = 0; d < 2; d++) {
            r[d].n[k] = n;
            r[d].start[k] = malloc(bytes);
            r[d].result[k] = malloc(bytes);
        }
        draw(c, k, r[0].start[k], seed, item);
    }
    if (c->prepare)
        c->prepare(c, r[0].start);
    for (int k = 0; k < c->narg; k++)
        memcpy(r[1].start[k], r[0].start[k], r[0].n[k] * elem_size(c->arg[k].kind));
    int rc = run_on(&dtcl_backend_cpu, c, &r[0], err);
    if (rc == 0)
        rc = run_on(be, c, &r[1], err);
    char comp[40];
    snprintf(comp, sizeof comp, "%.4s %.34s", be->device, c->name);
    for (int k = 0; k < c->narg && rc == 0; k++) {
        const Arg *a = &c->arg[k];
        double e;
        if (a->kind == OUT_I32) {
            e = memcmp(r[1].result[k], r[0].result[k], a->n * 4) == 0 ? 0 : INFINITY;
            dtcl_check_add(tab, comp, a->name, e, 0);
        } else if (a->kind == OUT || a->kind == ACC || a->kind == STATE) {
            e = compare(r[1].result[k], r[0].result[k], a->kind == ACC ? r[0].start[k] : NULL, a->n, a);
            dtcl_check_add(tab, comp, a->name, e, a->rtol);
        }
    }
    if (rc == 0 && c->loss_rtol > 0)
        dtcl_check_add(tab, comp, "the loss", fabs(r[1].loss - r[0].loss) / fmax(fabs(r[0].loss), 1.0), c->loss_rtol);
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < c->narg; k++) {
            free(r[d].start[k]);
            free(r[d].result[k]);
        }
    return rc;
}

int dtcl_backend_check(DtclCheckTable *tab, const DtclBackend *be, uint64_t seed, DtclError *err)
{
    Cases L = {0};
    make_cases(&L);
    int rc = 0;
    for (int k = 0; k < L.n && rc == 0; k++)
        rc = check_case(tab, be, &L.c[k], seed, (uint32_t)k, err);
    free(L.c);
    return rc;
}
