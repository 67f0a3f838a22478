/* nets_naive.h: the networks' forward passes in double precision, written
 * plainly (direct convolution, two-pass BatchNorm), reading the parameters
 * from a double copy of the model's parameter family (same offsets). They
 * are the slow twin of fcn.c, densenet.c, mnet.c, heads.c and step.c: gradcheck
 * differentiates them by central finite differences in double, so that the
 * check is limited neither by float32 rounding nor, at steps of 1e-6, by the
 * kinks of ReLU and max-pooling. Training mode only (batch statistics). */
#ifndef DTCL_NETS_NAIVE_H
#define DTCL_NETS_NAIVE_H

#include <stdint.h>

#include "nets/model.h"
#include "train/step.h"

/* h (B,d) = f(x), x (B,1,S,S); P the double parameters. */
void dtcl_fcn_forward_naive(double *h, const DtclModel *md, const double *P, const double *x, int B, int S);
/* h (B,d) = f(x) for the densenet121 encoder (md->f.dn), concatenating by copies. */
void dtcl_densenet_forward_naive(double *h, const DtclModel *md, const double *P, const double *x, int B, int S);
/* lambda (B,7) = M(x). */
void dtcl_mnet_forward_naive(double *lambda, const DtclModel *md, const double *P, const double *x, int B, int S);
/* z (B,Z) = g(h), logit (B) = p(h). */
void dtcl_heads_forward_naive(double *z, double *logit, const DtclModel *md, const double *P, const double *h,
                              int B);
/* L_M = -a0 L_NCE(X_M, X) + a1 BCE(p(f(X_M))), X_M = T(X, M(X)) by the
 * naive transform, with the noise fields of `noise`. */
double dtcl_mstep_loss_naive(const DtclModel *md, const double *P, const DtclTransform *tr,
                             const DtclNoiseSource *noise, const DtclStepConfig *c, const double *x,
                             const int8_t *labels, int B, int S);

#endif
