/* gradcheck.h: numerical checks of every derivative dtcl computes.
 *
 * A check compares an analytic quantity (float32, the code training uses)
 * with an independent one: central finite differences of the naive
 * double-precision twin (transform_naive.c), or the same quantity computed by
 * the other mode of differentiation. Each check becomes a row: component,
 * check, worst relative error, tolerance, ok. Later modules (layers, losses,
 * networks) add their rows to the same table.
 *
 * Relative errors: for images, ||a - b||_2 / ||b||_2 over the batch; for
 * scalars (inner products of n terms), |a - b| / max(|a|, |b|, ||u|| ||w|| / sqrt(n)),
 * u and w the two factors: the last term, the typical size of an inner product
 * of random directions, keeps float rounding in a sum that happens to cancel
 * from passing for an error.
 */
#ifndef DTCL_GRADCHECK_H
#define DTCL_GRADCHECK_H

#include <stdint.h>
#include <stdio.h>

#include "backend/device.h"
#include "base/error.h"
#include "transform/transform.h"

typedef struct {
    char component[40];
    char check[48];
    double err;
    double tol;
    int ok;
} DtclCheckRow;

typedef struct {
    DtclCheckRow *rows;
    int n, cap;
} DtclCheckTable;

void dtcl_check_add(DtclCheckTable *tab, const char *component, const char *check, double err, double tol);
int dtcl_check_failures(const DtclCheckTable *tab);
void dtcl_check_print(const DtclCheckTable *tab, FILE *f);
void dtcl_check_free(DtclCheckTable *tab);

typedef struct {
    int size;      /* S of the test images */
    int batch;     /* images per check */
    uint64_t seed; /* points, images and directions are drawn from it */
    double h;      /* finite-difference step in lambda */
    DtclTransformParams params;
    const float *image; /* optional (size,size) image used for every batch entry */
} DtclGradcheckConfig;

void dtcl_gradcheck_config_default(DtclGradcheckConfig *cfg);

/* Every transformation alone, then compositions in the default and in a
 * reversed order. Returns -1 (with err) only when no kink-free point is found. */
int dtcl_gradcheck_transforms(DtclCheckTable *tab, const DtclGradcheckConfig *cfg, DtclError *err);

/* The transformations the checks cover: each step alone, then the default
 * and the reversed order (DTCL_GRADCHECK_CASES of them), named for the rows. */
enum { DTCL_GRADCHECK_CASES = DTCL_NSTAGES + 2 };
typedef struct {
    char name[32];
    DtclStage order[DTCL_NSTAGES];
    int nsteps;
} DtclTransformCase;
void dtcl_gradcheck_cases(DtclTransformCase cases[DTCL_GRADCHECK_CASES]);

/* One component: T built from `order`; rows named after `component`. */
int dtcl_gradcheck_transform(DtclCheckTable *tab, const char *component, const DtclStage *order,
                             int nsteps, const DtclGradcheckConfig *cfg, DtclError *err);

/* The losses (nce.h, bce.h): every gradient coordinate against central
 * differences in double, for L_NCE (dot, cosine), NT-Xent, SupCon and BCE. */
int dtcl_gradcheck_losses(DtclCheckTable *tab, const DtclGradcheckConfig *cfg, DtclError *err);

/* The layers (batchnorm.h, activation.h, pool.h, linear.h, conv.h 3x3 and
 * 1x1 with bias): for each, the
 * directional derivative of <f(x; params), w> along a random direction of the
 * inputs and parameters, backward against central differences of the float32
 * forward (step 3e-3, sums in double, inputs kept away from the kinks of ReLU
 * and max-pooling). Tolerance 1e-3: the float32 forward limits the differences. */
int dtcl_gradcheck_layers(DtclCheckTable *tab, const DtclGradcheckConfig *cfg, DtclError *err);

/* The networks (gradcheck_nets.c): the fcn encoder in training mode, M, the
 * heads g and p, each along one direction through its input and weights and
 * along each weight tensor; and the composed path of the M step, Lambda =
 * M(X) -> T -> f -> g, p -> L_M, with respect to M's weights, against
 * central differences (h = 1e-6) of the double twin (nets_naive.h).
 * Tolerance 2e-2 (typical errors 1e-7; see gradcheck_nets.c). */
int dtcl_gradcheck_networks(DtclCheckTable *tab, const DtclGradcheckConfig *cfg, DtclError *err);

/* Whether finite differences of step h around lambda cross no kink of the
 * crop's max-norm or of the bilinear sampler (margin 1e-4 pixel). */
int dtcl_transform_kink_free(const DtclTransform *t, const double *lambda, double h);

/* The derivatives on another device (gradcheck_device.c; --device cuda)
 * against the CPU's: the transformation's vector-Jacobian products (each
 * step, both orders) and every gradient of one `proposed` step. */
int dtcl_gradcheck_device(DtclCheckTable *tab, DtclDevice dev, const DtclGradcheckConfig *cfg, DtclError *err);

#endif
