/* adam.h: the Adam optimiser with PyTorch's semantics (torch.optim.Adam,
 * no weight decay, no amsgrad), one flat loop over a parameter family:
 *   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
 *   p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps),
 * in this order of operations, as PyTorch computes it. */
#ifndef DTCL_ADAM_H
#define DTCL_ADAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus /* the CUDA twins (src/gpu) include it */
extern "C" {
#endif

typedef struct {
    double lr, beta1, beta2, eps;
} DtclAdam;

void dtcl_adam_default(DtclAdam *a, double lr); /* betas (0.9, 0.999), eps 1e-8 */

/* One step t (1-based) over n parameters. */
void dtcl_adam_step(const DtclAdam *a, float *param, float *m, float *v, const float *grad, size_t n, int64_t t);

#ifdef __cplusplus
}
#endif

#endif
