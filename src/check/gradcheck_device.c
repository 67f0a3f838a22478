/* gradcheck_device.c: what another device (the GPU) computes against the
 * CPU's, which the other checks of gradcheck.h hold against finite
 * differences: every primitive of its backend table (check/backend_check.h:
 * layers, losses, Adam, the transformation's steps and orders) and every
 * gradient of a whole `proposed` step (M step and encoder step), at SPEC
 * section 9's tolerances: values 1e-5, gradients 1e-4. */
#include "check/gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/device.h"
#include "check/backend_check.h"
#include "train/step.h"
#include "base/rng.h"

#define FWD_TOL 1e-5
#define GRAD_TOL 1e-4

static void uniform(float *out, size_t n, uint64_t seed, uint32_t item, float lo, float hi)
{
    DtclStream s = {seed, DTCL_RNG_TEST, 0, 0, item};
    dtcl_rng_uniform_range(&s, out, n, lo, hi);
}

static double rel_l2(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* One `proposed` step from the same model and batch on the CPU and on dev:
 * the losses, Lambda, and every tensor's gradient (M's from the M step, f's,
 * g's and p's from the encoder step). */
static int check_step(DtclCheckTable *tab, DtclDevice dev, const DtclGradcheckConfig *cfg, DtclError *err)
{
    enum { B = 4 };
    int S = cfg->size < 16 ? 16 : cfg->size;
    DtclModelConfig mc;
    dtcl_model_config_default(&mc);
    dtcl_model_parse_widths("4,8", &mc, NULL);
    DtclStage order[DTCL_NSTAGES];
    int nsteps;
    dtcl_transform_parse_order(dtcl_default_order, order, &nsteps, NULL);
    DtclTransform tr;
    if (dtcl_transform_init(&tr, S, order, nsteps, &cfg->params, err) != 0)
        return -1;
    DtclStepConfig sc;
    dtcl_step_config_default(&sc);
    static const int8_t labels[B] = {1, 0, -1, 1};
    float *x = DTCL_MALLOC(sizeof(float) * B * S * S), lambda[2][B * DTCL_NLAMBDA];
    uniform(x, (size_t)B * S * S, cfg->seed, 910, 0, 1);
    DtclNoiseSource ns = {cfg->seed, 0, 0, NULL};
    DtclModel md[2];
    DtclStepLosses l[2];
    DtclDevice devs[2] = {DTCL_DEVICE_CPU, dev};
    int rc = 0, made = 0;
    for (int k = 0; k < 2 && rc == 0; k++) {
        dtcl_model_init(&md[k], &mc);
        dtcl_model_reset(&md[k], cfg->seed);
        made = k + 1;
        DtclStepPlan st;
        rc = dtcl_step_plan_init(&st, devs[k], &md[k], &tr, NULL, 1, B, S, 1, err);
        if (rc != 0)
            break;
        rc = dtcl_step_proposed(&st, &sc, &ns, x, labels, &l[k], lambda[k], err);
        if (rc == 0)
            rc = dtcl_step_sync(&st, err);
        dtcl_step_plan_free(&st);
    }
    if (rc == 0) {
        char c[40];
        snprintf(c, sizeof c, "%s proposed step", dtcl_device_name(dev));
        double le = fabs(l[1].loss_e - l[0].loss_e) / fmax(fabs(l[0].loss_e), 1e-3);
        double lm = fabs(l[1].loss_m - l[0].loss_m) / fmax(fabs(l[0].loss_m), 1e-3);
        dtcl_check_add(tab, c, "L_E vs the CPU's", le, FWD_TOL);
        dtcl_check_add(tab, c, "L_M vs the CPU's", lm, FWD_TOL);
        dtcl_check_add(tab, c, "Lambda vs the CPU's", rel_l2(lambda[1], lambda[0], B * DTCL_NLAMBDA), FWD_TOL);
        const DtclTable *t0 = &md[0].table, *t1 = &md[1].table;
        for (int i = 0; i < t0->n; i++) {
            const DtclTensorInfo *ti = &t0->t[i];
            if (ti->family != DTCL_FAMILY_PARAM)
                continue;
            char what[48];
            snprintf(what, sizeof what, "d/d %.43s", ti->name);
            dtcl_check_add(tab, c, what, rel_l2(t1->grad + ti->offset, t0->grad + ti->offset, ti->count), GRAD_TOL);
        }
    }
    for (int k = 0; k < made; k++)
        dtcl_model_free(&md[k]);
    free(x);
    dtcl_transform_free(&tr);
    return rc;
}

int dtcl_gradcheck_device(DtclCheckTable *tab, DtclDevice dev, const DtclGradcheckConfig *cfg, DtclError *err)
{
    if (dtcl_backend_check(tab, dtcl_device_backend(dev), cfg->seed, err) != 0)
        return -1;
    return check_step(tab, dev, cfg, err);
}
