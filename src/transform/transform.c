/* transform.c: T_Lambda as a composition of the seven transformations in a
 * chosen order (paper Eq. 3; SPEC section 2), batched over images with OpenMP,
 * and its derivatives by the chain rule:
 *   forward mode  y_{s+1} = T_s(y_s),  ty_{s+1} = J_x^s ty_s + J_lambda^s tlambda
 *   reverse mode  g_s = (J_x^s)^T g_{s+1},  dlambda += (J_lambda^s)^T g_{s+1}
 * The steps themselves live in transform_<name>.c (transform_steps.h). */
#include "transform/transform.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "transform/transform_naive.h"
#include "transform/transform_pixel.h"
#include "transform/stages.h"

const char *const dtcl_lambda_names[DTCL_NLAMBDA] = {"blur", "noise", "crop_x", "crop_y", "hflip", "vflip", "rotate"};
const char *const dtcl_default_order = "blur,noise,crop,hflip,vflip,rotate";


void dtcl_transform_params_default(DtclTransformParams *p)
{
    p->sigma_max = 2.0f;
    p->noise_scale = 0.1f;
    p->crop_half_width = 0.0f; /* S/8 */
    p->crop_sharpness = 1.0f;
}

int dtcl_transform_parse_order(const char *s, DtclStage *order, int *nsteps, DtclError *err)
{
    int n = 0, seen[DTCL_NSTAGES] = {0};
    const char *p = s;
    for (;;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, ",");
        while (len > 0 && p[len - 1] == ' ')
            len--;
        int k;
        for (k = 0; k < DTCL_NSTAGES; k++)
            if (strlen(dtcl_stages[k].name) == len && strncmp(p, dtcl_stages[k].name, len) == 0)
                break;
        if (k == DTCL_NSTAGES)
            return dtcl_fail(err, "unknown transformation '%.*s' in the order '%s' (expected a comma-separated "
                                  "list of: %s)", (int)len, p, s, dtcl_stage_list());
        if (seen[k])
            return dtcl_fail(err, "transformation '%s' appears twice in the order '%s' (each may appear once)",
                             dtcl_stages[k].name, s);
        seen[k] = 1;
        order[n++] = (DtclStage)k;
        p = strchr(p, ',');
        if (!p)
            break;
        p++;
    }
    *nsteps = n;
    return 0;
}

const char *dtcl_transform_order_str(const DtclTransform *t, char *buf, size_t size)
{
    size_t k = 0;
    buf[0] = 0;
    for (int s = 0; s < t->nsteps && k < size; s++)
        k += (size_t)snprintf(buf + k, size - k, s ? ",%s" : "%s", dtcl_stages[t->order[s]].name);
    return buf;
}

int dtcl_transform_init(DtclTransform *t, int size, const DtclStage *order, int nsteps,
                        const DtclTransformParams *p, DtclError *err)
{
    memset(t, 0, sizeof *t);
    if (size < 2 || size > 8192)
        return dtcl_fail(err, "image size %d is out of range (expected 2 to 8192 pixels)", size);
    if (nsteps < 1 || nsteps > DTCL_NSTAGES)
        return dtcl_fail(err, "the order must hold 1 to %d transformations", DTCL_NSTAGES);
    if (!(p->sigma_max >= 0.0f && p->sigma_max <= 10.0f))
        return dtcl_fail(err, "sigma_max %g is out of range (expected 0 to 10 pixels)", p->sigma_max);
    if (!(p->noise_scale >= 0.0f && p->noise_scale <= 10.0f))
        return dtcl_fail(err, "noise scale %g is out of range (expected 0 to 10)", p->noise_scale);
    if (!(p->crop_half_width <= (float)size) || p->crop_half_width != p->crop_half_width)
        return dtcl_fail(err, "crop half-width %g is out of range (expected 0 to %d pixels; 0 means S/8)",
                         p->crop_half_width, size);
    if (!(p->crop_sharpness > 0.0f && p->crop_sharpness <= 100.0f))
        return dtcl_fail(err, "crop sharpness %g is out of range (expected > 0 and <= 100 per pixel)",
                         p->crop_sharpness);
    t->size = size;
    t->nsteps = nsteps;
    memcpy(t->order, order, sizeof(DtclStage) * nsteps);
    t->p = *p;
    if (t->p.crop_half_width <= 0.0f)
        t->p.crop_half_width = (float)size / 8.0f;
    for (int s = 0; s < nsteps; s++)
        if (order[s] == DTCL_STAGE_BLUR) {
            t->blur = dtcl_blur_plan_create(size, p->sigma_max);
            if (!t->blur)
                return dtcl_fail(err, "FFTW could not plan a %dx%d transform", size, size);
        }
    return 0;
}

void dtcl_transform_free(DtclTransform *t)
{
    dtcl_blur_plan_free(t->blur);
    t->blur = NULL;
}

static int has_step(const DtclTransform *t, DtclStage k)
{
    for (int s = 0; s < t->nsteps; s++)
        if (t->order[s] == k)
            return 1;
    return 0;
}

int dtcl_transform_uses_lambda(const DtclTransform *t, int k)
{
    for (int s = 0; s < t->nsteps; s++)
        if (dtcl_stages[t->order[s]].lambda[0] == k || dtcl_stages[t->order[s]].lambda[1] == k)
            return 1;
    return 0;
}

size_t dtcl_transform_saved_size(const DtclTransform *t)
{
    size_t SS = (size_t)t->size * t->size;
    return SS * (size_t)(t->nsteps - 1 + has_step(t, DTCL_STAGE_NOISE));
}

void dtcl_sincos_turns(double t, double *s, double *c)
{
    dtcl_sincos_turns_hd(t, s, c);
}

/* ---- per-thread workspace */

typedef struct {
    float *blur;      /* blur plan workspace */
    float *z;         /* (S,S) noise field when forward saves nothing */
    float *val[2];    /* (S,S) ping-pong values */
    float *tan[2];    /* (DTCL_NLAMBDA,S,S) ping-pong tangents */
    float *grad[2];   /* (S,S) ping-pong gradients */
} Workspace;

static void workspace_init(Workspace *w, const DtclTransform *t, int ntan)
{
    size_t SS = (size_t)t->size * t->size;
    memset(w, 0, sizeof *w);
    if (t->blur)
        w->blur = DTCL_ALIGNED(dtcl_blur_workspace_size(t->blur) * sizeof(float));
    w->z = DTCL_ALIGNED(SS * sizeof(float));
    for (int k = 0; k < 2; k++) {
        w->val[k] = DTCL_ALIGNED(SS * sizeof(float));
        w->grad[k] = DTCL_ALIGNED(SS * sizeof(float));
        w->tan[k] = DTCL_ALIGNED(SS * (size_t)(ntan > 0 ? ntan : 1) * sizeof(float));
    }
}

static void workspace_free(Workspace *w)
{
    free(w->blur);
    free(w->z);
    for (int k = 0; k < 2; k++) {
        free(w->val[k]);
        free(w->grad[k]);
        free(w->tan[k]);
    }
}

void dtcl_transform_noise(const DtclTransform *t, float *z, const DtclNoiseSource *ns, int n)
{
    DtclStream s = {ns ? ns->seed : 0, DTCL_RNG_NOISE, ns ? ns->epoch : 0, ns ? ns->step : 0,
                    ns && ns->item ? ns->item[n] : (uint32_t)n};
    dtcl_rng_normal(&s, z, (size_t)t->size * t->size);
}

/* one stage through the table (stages.h) */
static void stage_forward(const DtclTransform *t, DtclStage k, float *y, float *const *ty, const float *x,
                          const float *const *tx, const float *z, const float *lambda, const float *tlambda, int ntan,
                          Workspace *w)
{
    DtclStageArgs a = {.t = t, .y = y, .ty = ty, .x = x, .tx = tx, .z = z, .lambda = lambda, .tlambda = tlambda,
                       .ntan = ntan, .ws = w->blur};
    dtcl_stages[k].forward(&a);
}

static void stage_backward(const DtclTransform *t, DtclStage k, float *dx, double *dlambda, const float *dy,
                           const float *x, const float *z, const float *lambda, Workspace *w)
{
    DtclStageArgs a = {.t = t, .dx = dx, .dlambda = dlambda, .dy = dy, .x = x, .z = z, .lambda = lambda,
                       .ws = w->blur};
    dtcl_stages[k].backward(&a);
}

/* Forward mode on one image: the value through every step, and ntan
 * tangents (initial image tangents tx0[t], NULL for zero; lambda tangents
 * tlambda (ntan,7)). Tangents that are still zero are not computed. The final
 * value goes to y (or scratch when y is NULL), the final tangents to tout[t];
 * the step inputs and the noise field to saved when it is not NULL. */
static void propagate(const DtclTransform *t, float *y, float *saved, float *const *tout,
                      const float *x, const float *const *tx0, const float *lambda,
                      const float *tlambda, int ntan, const DtclNoiseSource *ns, int n, Workspace *w)
{
    size_t SS = (size_t)t->size * t->size;
    const float *z = NULL;
    if (has_step(t, DTCL_STAGE_NOISE)) {
        float *zbuf = saved ? saved + (size_t)(t->nsteps - 1) * SS : w->z;
        dtcl_transform_noise(t, zbuf, ns, n);
        z = zbuf;
    }
    const float *cur = x;
    const float *tin[DTCL_NLAMBDA];
    for (int a = 0; a < ntan; a++)
        tin[a] = tx0 ? tx0[a] : NULL;

    for (int s = 0; s < t->nsteps; s++) {
        DtclStage k = t->order[s];
        int last = s == t->nsteps - 1;
        float *out = last && y ? y : saved && !last ? saved + (size_t)s * SS : w->val[s % 2];
        /* the tangents this step touches, compacted */
        float *ty[DTCL_NLAMBDA];
        const float *tx[DTCL_NLAMBDA];
        float tl[DTCL_NLAMBDA * DTCL_NLAMBDA];
        int live[DTCL_NLAMBDA], m = 0;
        for (int a = 0; a < ntan; a++) {
            const float *row = tlambda + a * DTCL_NLAMBDA;
            const int *own = dtcl_stages[k].lambda;
            int moves = row[own[0]] != 0.0f || (own[1] >= 0 && row[own[1]] != 0.0f);
            live[a] = tin[a] != NULL || moves;
            if (!live[a])
                continue;
            ty[m] = last ? tout[a] : w->tan[s % 2] + (size_t)a * SS;
            tx[m] = tin[a];
            memcpy(tl + m * DTCL_NLAMBDA, row, sizeof(float) * DTCL_NLAMBDA);
            m++;
        }
        stage_forward(t, k, out, ty, cur, tx, z, lambda, tl, m, w);
        cur = out;
        for (int a = 0, b = 0; a < ntan; a++)
            if (live[a])
                tin[a] = ty[b++];
    }
    for (int a = 0; a < ntan; a++)
        if (!tin[a])
            memset(tout[a], 0, sizeof(float) * SS);
}

void dtcl_transform_forward(const DtclTransform *t, float *y, float *saved, const float *x,
                            const float *lambda, const DtclNoiseSource *noise, int n)
{
    size_t SS = (size_t)t->size * t->size, SV = dtcl_transform_saved_size(t);
#pragma omp parallel
    {
        Workspace w;
        workspace_init(&w, t, 0);
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++)
            propagate(t, y + i * SS, saved ? saved + i * SV : NULL, NULL, x + i * SS, NULL,
                      lambda + i * DTCL_NLAMBDA, NULL, 0, noise, i, &w);
        workspace_free(&w);
    }
}

void dtcl_transform_jacobian(const DtclTransform *t, float *jac, float *y, const float *x,
                             const float *lambda, const DtclNoiseSource *noise, int n)
{
    size_t SS = (size_t)t->size * t->size;
    float eye[DTCL_NLAMBDA * DTCL_NLAMBDA] = {0};
    for (int k = 0; k < DTCL_NLAMBDA; k++)
        eye[k * DTCL_NLAMBDA + k] = 1.0f;
#pragma omp parallel
    {
        Workspace w;
        workspace_init(&w, t, DTCL_NLAMBDA);
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            float *tout[DTCL_NLAMBDA];
            for (int k = 0; k < DTCL_NLAMBDA; k++)
                tout[k] = jac + ((size_t)i * DTCL_NLAMBDA + k) * SS;
            propagate(t, y ? y + i * SS : NULL, NULL, tout, x + i * SS, NULL, lambda + i * DTCL_NLAMBDA,
                      eye, DTCL_NLAMBDA, noise, i, &w);
        }
        workspace_free(&w);
    }
}

void dtcl_transform_jvp(const DtclTransform *t, float *dy, float *y, const float *x,
                        const float *lambda, const float *dx, const float *dlambda,
                        const DtclNoiseSource *noise, int n)
{
    size_t SS = (size_t)t->size * t->size;
#pragma omp parallel
    {
        Workspace w;
        workspace_init(&w, t, 1);
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            float zero[DTCL_NLAMBDA] = {0};
            float *tout[1] = {dy + i * SS};
            const float *tx0[1] = {dx ? dx + i * SS : NULL};
            propagate(t, y ? y + i * SS : NULL, NULL, tout, x + i * SS, tx0, lambda + i * DTCL_NLAMBDA,
                      dlambda ? dlambda + i * DTCL_NLAMBDA : zero, 1, noise, i, &w);
        }
        workspace_free(&w);
    }
}

void dtcl_transform_backward(const DtclTransform *t, float *dx, float *dlambda, const float *dy,
                             const float *x, const float *lambda, const float *saved, int n)
{
    size_t SS = (size_t)t->size * t->size, SV = dtcl_transform_saved_size(t);
    int noisy = has_step(t, DTCL_STAGE_NOISE);
#pragma omp parallel
    {
        Workspace w;
        workspace_init(&w, t, 0);
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            const float *sv = saved + i * SV;
            const float *z = noisy ? sv + (size_t)(t->nsteps - 1) * SS : NULL;
            double dl[DTCL_NLAMBDA] = {0};
            float *g = w.grad[0], *gnext = w.grad[1];
            memcpy(g, dy + i * SS, sizeof(float) * SS);
            for (int s = t->nsteps - 1; s >= 0; s--) {
                const float *in = s == 0 ? x + i * SS : sv + (size_t)(s - 1) * SS;
                float *target = NULL;
                if (s > 0) {
                    memset(gnext, 0, sizeof(float) * SS);
                    target = gnext;
                } else if (dx) {
                    target = dx + i * SS;
                }
                stage_backward(t, t->order[s], target, dlambda ? dl : NULL, g, in, z,
                              lambda + i * DTCL_NLAMBDA, &w);
                float *tmp = g;
                g = gnext;
                gnext = tmp;
            }
            if (dlambda)
                for (int k = 0; k < DTCL_NLAMBDA; k++)
                    dlambda[i * DTCL_NLAMBDA + k] += (float)dl[k];
        }
        workspace_free(&w);
    }
}
