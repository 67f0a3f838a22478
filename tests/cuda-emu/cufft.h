/* cufft.h of the CUDA emulation (tests/cuda-emu; see cuda_runtime.h): the
 * batched 2-D real transforms dtcl plans, made by FFTW with the same layout
 * (cufftPlanMany with the basic layout: slices of n[0] x n[1] reals, or
 * n[0] x (n[1]/2+1) complex numbers, one after another), unnormalised as
 * cuFFT's are; C2R may overwrite its input, as cuFFT's may. Executing checks
 * that the arrays lie inside device allocations of the plan's size. */
#ifndef DTCL_CUDA_EMU_CUFFT_H
#define DTCL_CUDA_EMU_CUFFT_H

#include "cuda_runtime.h"

typedef int cufftHandle;
typedef float cufftReal;
typedef struct {
    float x, y;
} cufftComplex;

typedef enum {
    CUFFT_SUCCESS = 0,
    CUFFT_INVALID_PLAN = 1,
    CUFFT_ALLOC_FAILED = 2,
    CUFFT_INVALID_VALUE = 4,
    CUFFT_INTERNAL_ERROR = 5,
    CUFFT_EXEC_FAILED = 6,
    CUFFT_INVALID_SIZE = 8
} cufftResult;

typedef enum { CUFFT_R2C = 0x2a, CUFFT_C2R = 0x2c, CUFFT_C2C = 0x29 } cufftType;

cufftResult cufftPlanMany(cufftHandle *plan, int rank, int *n, int *inembed, int istride, int idist, int *onembed,
                          int ostride, int odist, cufftType type, int batch);
cufftResult cufftExecR2C(cufftHandle plan, cufftReal *in, cufftComplex *out);
cufftResult cufftExecC2R(cufftHandle plan, cufftComplex *in, cufftReal *out);
cufftResult cufftDestroy(cufftHandle plan);

#endif
