/* bce.c: BCE with logits over the labelled images (see bce.h); the stable
 * form max(x,0) - x y + log(1 + exp(-|x|)), as PyTorch's. */
#include "nn/bce.h"

#include <math.h>

double dtcl_bce_forward_backward(float *dx, const float *x, const int8_t *labels, const int8_t *mask, int B)
{
    int n = 0;
    for (int i = 0; i < B; i++)
        n += labels[i] >= 0 && (!mask || mask[i]);
    if (n == 0)
        return 0.0;
    double loss = 0;
    for (int i = 0; i < B; i++) {
        if (labels[i] < 0 || (mask && !mask[i]))
            continue;
        double v = x[i], y = labels[i];
        loss += fmax(v, 0.0) - v * y + log1p(exp(-fabs(v)));
        if (dx) /* forward: the line above */
            dx[i] += (float)((1.0 / (1.0 + exp(-v)) - y) / n);
    }
    return loss / n;
}
