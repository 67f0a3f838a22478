/* cuda_runtime.h of the CUDA emulation (tests/cuda-emu): a test harness, not
 * a device for users. `./configure --enable-cuda-emulation` compiles the same
 * .cu files of src/gpu as host C++ with this folder first on the include path
 * and this header included first (as nvcc includes the real one), so that the
 * device tests run through the CUDA code on machines without a GPU.
 *
 * What it models: a launch runs its grid block after block, on one host
 * thread; the threads of a block are coroutines (fibers) that switch at
 * __syncthreads, so no thread passes a barrier before every thread of its
 * block has reached it, and a barrier that not every thread reaches stops the
 * program with a message (on a GPU it is undefined). A __shared__ array is
 * one copy, the running block's. Without a barrier, thread 0 runs to its end,
 * then thread 1 and so on: a reduction that reads a neighbour's shared slot
 * before a barrier reads a value not yet written, which the tests see. Device memory is host
 * memory that the runtime tracks: copies, clears and library calls check that
 * their device ranges lie inside live allocations and their host ranges
 * outside, new allocations are filled with NaN bytes (0xff), and launches
 * with an empty or oversized grid or block fail as on a GPU.
 *
 * DTCL_EMU_FAIL_LAUNCH=N makes the N-th kernel launch fail (unspecified
 * launch failure), to test what dtcl does when a device fails.
 *
 * What it does not model: warp scheduling and divergence, the memory model
 * (a racy kernel may pass here), the device's floating-point library and
 * cuBLAS's or cuFFT's summation order (cublas_v2.h and cufft.h here call
 * OpenBLAS and FFTW), and launch-time or memory-size limits beyond those
 * named above. See README.md, "The CUDA emulation". */
#ifndef DTCL_CUDA_EMU_RUNTIME_H
#define DTCL_CUDA_EMU_RUNTIME_H

#ifndef __cplusplus
#error "the CUDA emulation compiles .cu files as C++"
#endif

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define DTCL_CUDA_EMULATION 1

/* ------------------------------------------------------------ qualifiers */
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
/* one copy per launch; the blocks of a grid run one after another */
#define __shared__ static

/* ------------------------------------------------------------ indices */
struct dim3 {
    unsigned x, y, z;
    dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c)
    {
    }
};
extern dim3 threadIdx, blockIdx, blockDim, gridDim;

void dtcl_emu_syncthreads(void);
#define __syncthreads() dtcl_emu_syncthreads()

/* device-side integer min and max, as CUDA's math headers give them */
static inline int max(int a, int b)
{
    return a > b ? a : b;
}
static inline int min(int a, int b)
{
    return a < b ? a : b;
}

/* ------------------------------------------------------------ runtime API */
typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevicePointer = 17,
    cudaErrorInvalidMemcpyDirection = 21,
    cudaErrorNoDevice = 100,
    cudaErrorLaunchFailure = 719
} cudaError_t;

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4
};

struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem;
    int major, minor;
};

cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int device);
cudaError_t cudaMalloc(void **p, size_t bytes);
cudaError_t cudaFree(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemset(void *p, int value, size_t bytes);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaGetLastError(void);
const char *cudaGetErrorString(cudaError_t e);

/* ------------------------------------------------------------ for the harness */
/* Whether [p, p + bytes) lies inside one live device allocation. */
int dtcl_emu_is_device(const void *p, size_t bytes);
/* Runs fn(arg) as every thread of every block of grid (see emu.cc). */
void dtcl_emu_run(dim3 grid, dim3 block, void (*fn)(void *), void *arg);

/* kernel<<<grid, block>>>(args) of the emulation (launch_gpu.h's
 * DTCL_LAUNCH): body, a lambda that calls the kernel, runs as each thread. */
template <class Body> void dtcl_emu_launch(dim3 grid, dim3 block, Body body)
{
    dtcl_emu_run(
        grid, block, [](void *b) { (*(Body *)b)(); }, &body);
}

#endif
