/* views.c: what a run's strategy does to chosen images at a saved epoch, as
 * training did it (see views.h): M's Lambda from the epoch's checkpoint, or
 * the strategy's draw for the epoch's first step, and T with the run's order,
 * on the CPU. */
#include "train/views.h"

#include <stdlib.h>
#include <string.h>

#include "nets/checkpoint.h"
#include "train/step.h"
#include "transform/stages.h"

/* The mask follows the stages that move pixels (flips, rotation), in the
 * run's order; geo->size 0 when there is none (the mask stays put). */
static int mask_transform(const DtclTrainConfig *c, int S, DtclTransform *geo, DtclError *err)
{
    DtclStage order[DTCL_NSTAGES], g[DTCL_NSTAGES];
    int ns, ng = 0;
    memset(geo, 0, sizeof *geo);
    if (dtcl_transform_parse_order(c->order, order, &ns, err) != 0)
        return -1;
    for (int k = 0; k < ns; k++)
        if (dtcl_stages[order[k]].geometric)
            g[ng++] = order[k];
    DtclTransformParams tp;
    dtcl_transform_params_default(&tp);
    return ng > 0 ? dtcl_transform_init(geo, S, g, ng, &tp, err) : 0;
}

int dtcl_train_views(const char *run, int epoch, const int64_t *idx, int n, const float *masks, float *x, float *xm,
                     float *lambda, float *xmask, DtclError *err)
{
    DtclTrainConfig c;
    if (dtcl_train_config_load(run, &c, err) != 0)
        return -1;
    int B = n < 16 ? n : 16;
    if (B < 2)
        B = 2;
    int uses_m = dtcl_strategy_uses_m(c.strategy), has_nocrop = 0;
    DtclDataset ds;
    if (dtcl_dataset_open(&ds, c.data, err) != 0)
        return -1;
    int S = ds.size;
    DtclModel md = {0};
    DtclTransform tr = {0}, nocrop = {0}, geo = {0};
    DtclStepPlan p = {0};
    char path[4300];
    dtcl_run_checkpoint_path(path, sizeof path, run, DTCL_RUN_EPOCH, epoch);
    /* M from the epoch's checkpoint; without M, the seeded model only gives the plan its shapes */
    int rc = uses_m ? dtcl_checkpoint_load(path, &md, DTCL_CK_MODEL, err) : dtcl_run_model(&c, S, &md, err);
    if (rc == 0)
        rc = dtcl_run_transforms(&c, S, &tr, &nocrop, &has_nocrop, err);
    if (rc == 0 && masks)
        rc = mask_transform(&c, S, &geo, err);
    if (rc == 0)
        rc = dtcl_step_plan_init(&p, DTCL_DEVICE_CPU, &md, &tr, has_nocrop ? &nocrop : NULL, uses_m, B, S, 1, err);
    size_t SS = (size_t)S * S;
    int64_t *bi = DTCL_MALLOC(sizeof(int64_t) * (size_t)B);
    uint32_t *items = DTCL_MALLOC(sizeof(uint32_t) * (size_t)B);
    float *xb = DTCL_ALIGNED(sizeof(float) * SS * B), *xmb = DTCL_ALIGNED(sizeof(float) * SS * B);
    float *lb = DTCL_MALLOC(sizeof(float) * DTCL_NLAMBDA * B);
    float *mb = DTCL_MALLOC(sizeof(float) * SS * B), *mo = DTCL_MALLOC(sizeof(float) * SS * B);
    const DtclStrategyInfo *st = &dtcl_strategies[c.strategy];
    for (int first = 0; first < n && rc == 0; first += B) {
        int m = n - first < B ? n - first : B;
        for (int b = 0; b < B; b++) {
            bi[b] = idx[first + (b < m ? b : m - 1)]; /* the last chunk padded with its last image */
            items[b] = (uint32_t)bi[b];
        }
        dtcl_dataset_load(&ds, xb, bi, B);
        DtclNoiseSource ns = {c.seed, (uint32_t)epoch, 0, items};
        uint8_t crop_on[16], *co = NULL;
        if (uses_m) {
            memcpy(p.x, xb, sizeof(float) * SS * B);
            dtcl_mnet_forward(&p.mp, &p.md->m, p.x);
            memcpy(lb, p.mp.lambda, sizeof(float) * B * DTCL_NLAMBDA);
        } else {
            dtcl_strategy_draw(st->lambda, c.seed, epoch, 0, bi, B, lb, crop_on);
            co = st->lambda == DTCL_LAMBDA_AUGMENT ? crop_on : NULL;
        }
        if (xm) /* Lambda alone (the histograms) needs no transformed images */
            rc = dtcl_step_transform(&p, &ns, xb, lb, co, xmb, err);
        if (masks) {
            for (int b = 0; b < B; b++)
                memcpy(mb + b * SS, masks + (size_t)(first + (b < m ? b : m - 1)) * SS, SS * sizeof(float));
            if (geo.size)
                dtcl_transform_forward(&geo, mo, NULL, mb, lb, &ns, B);
            else
                memcpy(mo, mb, SS * (size_t)B * sizeof(float));
        }
        for (int b = 0; b < m; b++) {
            size_t o = (size_t)(first + b);
            if (x)
                memcpy(x + o * SS, xb + b * SS, SS * sizeof(float));
            if (xm)
                memcpy(xm + o * SS, xmb + b * SS, SS * sizeof(float));
            if (lambda)
                memcpy(lambda + o * DTCL_NLAMBDA, lb + b * DTCL_NLAMBDA, DTCL_NLAMBDA * sizeof(float));
            if (masks && xmask)
                memcpy(xmask + o * SS, mo + b * SS, SS * sizeof(float));
        }
    }
    free(bi);
    free(items);
    free(xb);
    free(xmb);
    free(lb);
    free(mb);
    free(mo);
    dtcl_step_plan_free(&p);
    if (geo.size)
        dtcl_transform_free(&geo);
    if (has_nocrop)
        dtcl_transform_free(&nocrop);
    if (tr.size)
        dtcl_transform_free(&tr);
    if (md.table.t)
        dtcl_model_free(&md);
    dtcl_dataset_close(&ds);
    return rc;
}
