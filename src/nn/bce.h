/* bce.h: binary cross-entropy with logits over the labelled images of a
 * batch only (SPEC section 4):
 *   L = (1/n) sum_{i: known_i} [ max(x_i, 0) - x_i y_i + log(1 + exp(-|x_i|)) ],
 *   dL/dx_i = (S(x_i) - y_i) / n for labelled i, 0 otherwise,
 * n the number of labelled images; L = 0 and no gradient when n = 0.
 * known_i is labels[i] >= 0 and, when mask is not NULL, mask[i] != 0 (the
 * labelled subset of training). */
#ifndef DTCL_BCE_H
#define DTCL_BCE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Returns L; adds dL/dx to dx (+=) when dx is not NULL. */
double dtcl_bce_forward_backward(float *dx,               /* (B) or NULL */
                                 const float *x,          /* (B) logits */
                                 const int8_t *labels,    /* (B) 0, 1, -1 */
                                 const int8_t *mask,      /* (B) or NULL */
                                 int B);

#ifdef __cplusplus
}
#endif

#endif
