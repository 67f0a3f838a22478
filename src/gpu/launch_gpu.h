/* launch_gpu.h: the launch shape the twins share (CUDA sources only): one
 * thread per element in a grid-stride loop, 256 threads per block. */
#ifndef DTCL_LAUNCH_GPU_H
#define DTCL_LAUNCH_GPU_H

#include <stddef.h>

#define DTCL_GPU_THREADS 256

static inline unsigned dtcl_gpu_blocks(size_t n)
{
    size_t b = (n + DTCL_GPU_THREADS - 1) / DTCL_GPU_THREADS;
    return (unsigned)(b == 0 ? 1 : b > 65535 ? 65535 : b);
}

/* for (size_t i = first; i < n; i += stride) over the whole grid */
#define DTCL_GPU_LOOP(i, n)                                                                                    \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

#endif
