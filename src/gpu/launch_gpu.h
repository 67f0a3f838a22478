/* launch_gpu.h: the launch shape the twins share (CUDA sources only): one
 * thread per element in a grid-stride loop, 256 threads per block; and the
 * one way they launch a kernel. */
#ifndef DTCL_LAUNCH_GPU_H
#define DTCL_LAUNCH_GPU_H

#include <stddef.h>

#include "gpu/check_gpu.h"

/* kernel<<<grid, block>>>(args), then the launch's status (check_gpu.h).
 * Under the CUDA emulation (tests/cuda-emu) the kernel runs as every thread
 * of every block on the host. */
#ifdef DTCL_CUDA_EMULATION
#define DTCL_LAUNCH(kernel, grid, block, ...)                                                                          \
    do {                                                                                                               \
        dtcl_emu_launch(dim3(grid), dim3(block), [=] { kernel(__VA_ARGS__); });                                        \
        dtcl_gpu_status_cuda(cudaGetLastError(), "launch of " #kernel, __FILE__, __LINE__);                            \
    } while (0)
#else
#define DTCL_LAUNCH(kernel, grid, block, ...)                                                                          \
    do {                                                                                                               \
        kernel<<<(grid), (block)>>>(__VA_ARGS__);                                                                      \
        dtcl_gpu_status_cuda(cudaGetLastError(), "launch of " #kernel, __FILE__, __LINE__);                            \
    } while (0)
#endif

#define DTCL_GPU_THREADS 256

static inline unsigned dtcl_gpu_blocks(size_t n)
{
    size_t b = (n + DTCL_GPU_THREADS - 1) / DTCL_GPU_THREADS;
    return (unsigned)(b == 0 ? 1 : b > 65535 ? 65535 : b);
}

/* for (size_t i = first; i < n; i += stride) over the whole grid */
#define DTCL_GPU_LOOP(i, n)                                                                                            \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

/* The sum of v over a block of DTCL_GPU_THREADS threads in a fixed tree (the
 * same bits on every run); every thread gets it. sh: DTCL_GPU_THREADS doubles
 * of shared memory. */
__device__ static inline double dtcl_gpu_block_sum(double v, double *sh)
{
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int s = DTCL_GPU_THREADS / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s)
            sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    double t = sh[0];
    __syncthreads();
    return t;
}

#endif
