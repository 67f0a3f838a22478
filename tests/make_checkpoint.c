/* make_checkpoint.c: a helper of tests/roundtrip.sh. Writes CK, a dtcl
 * checkpoint of the model at widths 8,16,32 after two `proposed` steps from
 * seed 7 on 32x32 images (so the weights, the Adam moments and the running
 * statistics are all away from their initial values), and X, eight images. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>

#include "nets/checkpoint.h"
#include "io/npy.h"
#include "base/rng.h"
#include "train/step.h"

int main(int argc, char **argv)
{
    enum { B = 8, S = 32 };
    if (argc != 3) {
        fprintf(stderr, "usage: make_checkpoint CK.safetensors X.npy\n");
        return 99;
    }
    openblas_set_num_threads(1);
    DtclModelConfig c;
    dtcl_model_config_default(&c);
    DtclError err;
    dtcl_model_parse_widths("8,16,32", &c, &err);
    DtclModel md;
    dtcl_model_init(&md, &c);
    dtcl_model_reset(&md, 7);
    DtclTransformParams tp;
    DtclStage o[DTCL_NSTAGES];
    int n;
    DtclTransform tr;
    dtcl_transform_params_default(&tp);
    dtcl_transform_parse_order(dtcl_default_order, o, &n, NULL);
    dtcl_transform_init(&tr, S, o, n, &tp, NULL);
    DtclStepPlan p;
    dtcl_step_plan(&p, &md, &tr, B, S, omp_get_max_threads());
    static float x[B * S * S];
    static double u[B * S * S];
    DtclStream st = {7, DTCL_RNG_TEST, 0, 0, 0};
    dtcl_rng_uniform(&st, u, B * S * S);
    for (int i = 0; i < B * S * S; i++)
        x[i] = (float)u[i];
    const int8_t labels[B] = {0, 1, -1, -1, 1, 0, -1, 1};
    DtclStepConfig sc;
    dtcl_step_config_default(&sc);
    for (int s = 0; s < 2; s++) {
        DtclNoiseSource ns = {7, 0, (uint32_t)s, NULL};
        DtclStepLosses l;
        dtcl_step_proposed(&p, &sc, &ns, x, labels, &l, NULL, NULL);
    }
    const char *k[1] = {"note"}, *v[1] = {"tests/make_checkpoint.c: two proposed steps from seed 7"};
    int64_t shape[3] = {B, S, S};
    int rc = dtcl_checkpoint_save(argv[1], &md, k, v, 1, &err) || dtcl_npy_save(argv[2], x, 3, shape, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    dtcl_step_plan_free(&p);
    dtcl_transform_free(&tr);
    dtcl_model_free(&md);
    return rc ? 99 : 0;
}
