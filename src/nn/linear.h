/* linear.h: the fully connected layer, PyTorch's nn.Linear layout.
 *   y (B,nout) = x (B,nin) W^T + b,  W (nout,nin), b (nout)
 *   dx += dy W,  dW += dy^T x,  db += sum_b dy
 * The products are OpenBLAS sgemm calls; the bias sums are in double. */
#ifndef DTCL_LINEAR_H
#define DTCL_LINEAR_H

void dtcl_linear_forward(float *y, const float *x, const float *weight, const float *bias, int B, int nin, int nout);
void dtcl_linear_backward(float *dx,                  /* (B,nin) or NULL */
                          float *dweight, float *dbias, /* (nout,nin), (nout); either may be NULL */
                          const float *dy,            /* (B,nout) */
                          const float *x, const float *weight, int B, int nin, int nout);

#endif
