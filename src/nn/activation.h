/* activation.h: elementwise activations as forward/backward pairs.
 *   relu:     y = max(x, 0),           dx += dy [x > 0]  (0 at x = 0, as PyTorch)
 *   logistic: y = 1 / (1 + exp(-x)),   dx += dy y (1 - y) */
#ifndef DTCL_ACTIVATION_H
#define DTCL_ACTIVATION_H

#include <stddef.h>

void dtcl_relu_forward(float *y, const float *x, size_t n);
void dtcl_relu_backward(float *dx, const float *dy, const float *x, size_t n);
/* dy = [y > 0] dy in place, y = relu(u): the ReLU's backward from its output
 * ([y > 0] = [u > 0]) when the upstream gradient may be overwritten. */
void dtcl_relu_mask(float *dy, const float *y, size_t n);
void dtcl_logistic_forward(float *y, const float *x, size_t n);
void dtcl_logistic_backward(float *dx, const float *dy, const float *y, size_t n);

#endif
