/* check_gpu.h: the status of every CUDA runtime, cuBLAS and cuFFT call and
 * of every kernel launch in the twins (CUDA sources only; STYLE: a check
 * around every runtime call, cudaGetLastError after every launch).
 *
 * A failure is recorded, the first since the last report: file, line, the
 * call as written and the library's reason. The macro returns 0, or -1 on
 * failure, so a caller can stop early; dtcl_gpu_check (memory_gpu.h), which
 * the training steps run after every step, reports the record, so a failed
 * call stops the run at that step with its file and line (exit 1; the
 * checkpoints already written stay). */
#ifndef DTCL_CHECK_GPU_H
#define DTCL_CHECK_GPU_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cufft.h>

#define DTCL_CUDA(call) dtcl_gpu_status_cuda((call), #call, __FILE__, __LINE__)
#define DTCL_CUBLAS(call) dtcl_gpu_status_cublas((call), #call, __FILE__, __LINE__)
#define DTCL_CUFFT(call) dtcl_gpu_status_cufft((call), #call, __FILE__, __LINE__)

int dtcl_gpu_status_cuda(cudaError_t e, const char *call, const char *file, int line);
int dtcl_gpu_status_cublas(cublasStatus_t s, const char *call, const char *file, int line);
int dtcl_gpu_status_cufft(cufftResult r, const char *call, const char *file, int line);
/* The first failure recorded since the last call, or NULL; clears it. */
const char *dtcl_gpu_take_failure(char *buf, size_t size);

#endif
