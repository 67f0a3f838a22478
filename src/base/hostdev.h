/* hostdev.h: DTCL_HD marks a small inline function that the CPU files and
 * their CUDA twins (src/gpu) share, so that both evaluate one formula: under
 * nvcc it is compiled for the host and the device, under a C compiler it is
 * a plain static inline function. */
#ifndef DTCL_HOSTDEV_H
#define DTCL_HOSTDEV_H

#ifdef __CUDACC__
#define DTCL_HD __host__ __device__ static inline
#else
#define DTCL_HD static inline
#endif

#endif
