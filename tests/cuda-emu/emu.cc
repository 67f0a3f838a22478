/* emu.cc: the CUDA emulation's runtime, cuBLAS and cuFFT (tests/cuda-emu;
 * see cuda_runtime.h for what it models and what it does not). A test
 * harness: device memory is tracked host memory, a block's threads are
 * fibers that switch at __syncthreads, cuBLAS is OpenBLAS and cuFFT is FFTW. */
#include "cublas_v2.h"
#include "cuda_runtime.h"
#include "cufft.h"

#include <cblas.h>
#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <ucontext.h>

#include <map>
#include <mutex>
#include <vector>

dim3 threadIdx, blockIdx, blockDim, gridDim;

/* ------------------------------------------------------------ errors */

static cudaError_t last_error = cudaSuccess;

static cudaError_t fail(cudaError_t e, const char *fmt, const char *what)
{
    fprintf(stderr, "cuda emulation: ");
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
    last_error = e;
    return e;
}

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

cudaError_t cudaDeviceSynchronize(void)
{
    return cudaSuccess; /* launches run to completion */
}

const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    }
    return "unknown error";
}

/* ------------------------------------------------------------ device memory */

static std::mutex lock;
static std::map<uintptr_t, size_t> live; /* start -> bytes */
static size_t in_use;
static const size_t emu_total = (size_t)16 << 30;

int dtcl_emu_is_device(const void *p, size_t bytes)
{
    std::lock_guard<std::mutex> g(lock);
    uintptr_t a = (uintptr_t)p;
    auto it = live.upper_bound(a);
    if (it == live.begin())
        return 0;
    --it;
    return a >= it->first && a + bytes <= it->first + it->second && bytes <= it->second;
}

cudaError_t cudaGetDeviceCount(int *n)
{
    *n = 1;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int device)
{
    if (device != 0)
        return fail(cudaErrorInvalidValue, "cudaGetDeviceProperties: device %s does not exist", "other than 0");
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "CUDA emulation on the CPU (tests/cuda-emu)");
    p->totalGlobalMem = emu_total;
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **p, size_t bytes)
{
    *p = NULL;
    if (bytes == 0)
        return cudaSuccess;
    size_t rounded = (bytes + 255) / 256 * 256;
    void *m = aligned_alloc(256, rounded);
    if (!m)
        return fail(cudaErrorMemoryAllocation, "cudaMalloc: %s", "out of host memory");
    memset(m, 0xff, rounded); /* uninitialised device memory reads as NaN */
    std::lock_guard<std::mutex> g(lock);
    live[(uintptr_t)m] = bytes;
    in_use += bytes;
    *p = m;
    return cudaSuccess;
}

cudaError_t cudaFree(void *p)
{
    if (!p)
        return cudaSuccess;
    std::lock_guard<std::mutex> g(lock);
    auto it = live.find((uintptr_t)p);
    if (it == live.end())
        return fail(cudaErrorInvalidDevicePointer, "cudaFree: %s", "not the start of a live device allocation");
    in_use -= it->second;
    live.erase(it);
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    if (bytes == 0)
        return cudaSuccess;
    int dd = dtcl_emu_is_device(dst, bytes), sd = dtcl_emu_is_device(src, bytes);
    int dh = !dtcl_emu_is_device(dst, 1), sh = !dtcl_emu_is_device(src, 1);
    int ok = kind == cudaMemcpyHostToDevice     ? dd && sh
             : kind == cudaMemcpyDeviceToHost   ? sd && dh
             : kind == cudaMemcpyDeviceToDevice ? dd && sd
             : kind == cudaMemcpyHostToHost     ? dh && sh
                                                : (dd || dh) && (sd || sh);
    if (!ok)
        return fail(cudaErrorInvalidValue, "cudaMemcpy: %s",
                    "a range is not where the copy's kind says (or runs past its allocation)");
    memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemset(void *p, int value, size_t bytes)
{
    if (bytes == 0)
        return cudaSuccess;
    if (!dtcl_emu_is_device(p, bytes))
        return fail(cudaErrorInvalidValue, "cudaMemset: %s", "the range is not inside one device allocation");
    memset(p, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total)
{
    std::lock_guard<std::mutex> g(lock);
    *total = emu_total;
    *free_bytes = in_use < emu_total ? emu_total - in_use : 0;
    return cudaSuccess;
}

/* ------------------------------------------------------------ launches */

/* Thread 0 of a block runs on the caller's stack as a plain call. If it ends
 * without reaching a barrier, the block has none (a barrier must be reached by
 * all of a block's threads or by none), and threads 1.. are plain calls too:
 * no context switch at all. If thread 0 reaches a barrier, it hands over to a
 * scheduler fiber, which runs threads 1.. (fibers) to the same barrier and
 * hands back; and so on until thread 0 ends, when the scheduler runs the
 * others to their end.
 *
 * The fibers and the scheduler are made once (ucontext: makecontext, and
 * swapcontext to enter each the first time) and then switch by _setjmp and
 * _longjmp, which do not save the signal mask: no system call per switch
 * (swapcontext makes two, which took most of the run time). A fiber loops:
 * run the kernel as its thread, report the end, wait for the next block. */
#undef _FORTIFY_SOURCE /* __longjmp_chk refuses jumps between stacks */
enum { FIBER_STACK = 256 << 10, MAX_THREADS = 1024 };
enum { RUNNING, AT_BARRIER, DONE };
enum { PROBE, PLAIN, BARRIERS }; /* thread 0 running, no barrier yet; plain calls; fibers live */

struct Fiber {
    jmp_buf jb;
    ucontext_t uc; /* to enter it the first time */
    char *stack;
    int made, state;
};

static Fiber fiber[MAX_THREADS]; /* fiber[0].jb: thread 0, suspended on the caller's stack */
static Fiber sched;
static int mode;
static unsigned nthreads;
static void (*launch_fn)(void *);
static void *launch_arg;
static unsigned current; /* the thread running now */
static unsigned long long launch_block_index;

static dim3 thread_index(unsigned t)
{
    dim3 k = blockDim;
    return dim3(t % k.x, t / k.x % k.y, t / (k.x * k.y));
}

static void set_current(unsigned t)
{
    current = t;
    threadIdx = thread_index(t);
}

[[noreturn]] static void misuse(const char *what)
{
    fprintf(stderr, "cuda emulation: block %llu, thread %u: %s\n", launch_block_index, current, what);
    abort();
}

/* saves `from` and continues `to` (made and entered before) */
static void switch_to(Fiber *from, Fiber *to)
{
    if (_setjmp(from->jb) == 0)
        _longjmp(to->jb, 1);
}

/* the first entry of a fiber: its entry function starts on its own stack */
static void enter(Fiber *from, Fiber *f, void (*entry)(void))
{
    if (!f->stack && !(f->stack = (char *)malloc(FIBER_STACK)))
        misuse("out of host memory for a thread's stack");
    getcontext(&f->uc);
    f->uc.uc_stack.ss_sp = f->stack;
    f->uc.uc_stack.ss_size = FIBER_STACK;
    f->uc.uc_link = NULL; /* entries never return */
    makecontext(&f->uc, entry, 0);
    f->made = 1;
    if (_setjmp(from->jb) == 0)
        setcontext(&f->uc); /* f comes back by _longjmp to from->jb */
}

/* a thread's fiber: the kernel as thread `current`, for one block after another */
static void fiber_main(void)
{
    for (;;) {
        launch_fn(launch_arg);
        fiber[current].state = DONE;
        switch_to(&fiber[current], &sched);
    }
}

/* The scheduler, one round per barrier: threads 1.. until they wait at the
 * barrier thread 0 waits at (or end, when thread 0 has ended), then thread 0. */
static void sched_main(void)
{
    for (;;) {
        unsigned done = 0;
        for (unsigned t = 1; t < nthreads; t++) {
            if (fiber[t].state != DONE) {
                set_current(t);
                fiber[t].state = RUNNING;
                if (!fiber[t].made)
                    enter(&sched, &fiber[t], fiber_main);
                else
                    switch_to(&sched, &fiber[t]);
            }
            done += fiber[t].state == DONE;
        }
        if (done != (fiber[0].state == DONE ? nthreads - 1 : 0))
            misuse("some threads of the block ended while others wait at __syncthreads");
        set_current(0);
        if (fiber[0].state != DONE)
            fiber[0].state = RUNNING;
        switch_to(&sched, &fiber[0]);
    }
}

void dtcl_emu_syncthreads(void)
{
    if (mode == PLAIN)
        misuse("__syncthreads reached by this thread but not by thread 0 of its block");
    Fiber *f = &fiber[current];
    f->state = AT_BARRIER;
    if (current == 0 && mode == PROBE) { /* the block's first barrier: its threads 1.. start */
        mode = BARRIERS;
        for (unsigned t = 1; t < nthreads; t++)
            fiber[t].state = RUNNING; /* each starts the block from the top */
    }
    if (!sched.made)
        enter(f, &sched, sched_main);
    else
        switch_to(f, &sched);
}

static void run_block(unsigned nt)
{
    nthreads = nt;
    mode = PROBE;
    fiber[0].state = RUNNING;
    set_current(0);
    launch_fn(launch_arg);
    fiber[0].state = DONE;
    if (mode == PROBE) { /* no barrier in this block */
        mode = PLAIN;
        for (unsigned t = 1; t < nt; t++) {
            set_current(t);
            launch_fn(launch_arg);
        }
        return;
    }
    switch_to(&fiber[0], &sched); /* the others to their end; back here */
}

void dtcl_emu_run(dim3 grid, dim3 block, void (*fn)(void *), void *arg)
{
    unsigned long long nt = (unsigned long long)block.x * block.y * block.z;
    if (nt == 0 || nt > MAX_THREADS || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
        grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535) {
        fail(cudaErrorInvalidConfiguration, "launch: %s", "empty or oversized grid or block");
        return;
    }
    if (launch_fn)
        misuse("a kernel launched from inside a kernel");
    /* DTCL_EMU_FAIL_LAUNCH=N: the N-th launch fails as a faulting kernel
     * would (the tests of what a run does when the device fails) */
    static long launches, fail_at = -1;
    if (fail_at < 0) {
        const char *e = getenv("DTCL_EMU_FAIL_LAUNCH");
        fail_at = e ? atol(e) : 0;
    }
    if (++launches == fail_at) {
        fail(cudaErrorLaunchFailure, "launch: %s", "failed on purpose (DTCL_EMU_FAIL_LAUNCH)");
        return;
    }
    launch_fn = fn;
    launch_arg = arg;
    gridDim = grid;
    blockDim = block;
    unsigned long long nb = (unsigned long long)grid.x * grid.y * grid.z;
    for (unsigned long long b = 0; b < nb; b++) {
        launch_block_index = b;
        blockIdx = dim3((unsigned)(b % grid.x), (unsigned)(b / grid.x % grid.y), (unsigned)(b / grid.x / grid.y));
        run_block((unsigned)nt);
    }
    launch_fn = NULL;
}

/* ------------------------------------------------------------ cuBLAS */

struct DtclEmuCublas {
    cublasMath_t mode;
};

cublasStatus_t cublasCreate(cublasHandle_t *handle)
{
    *handle = new DtclEmuCublas{CUBLAS_DEFAULT_MATH};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle)
{
    if (!handle)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode)
{
    if (!handle)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->mode = mode; /* TF32 is not modelled: float32 throughout */
    return CUBLAS_STATUS_SUCCESS;
}

const char *cublasGetStatusString(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}

/* bytes spanned by a column-major rows x cols matrix with leading dimension ld */
static size_t span(int rows, int cols, int ld)
{
    return rows > 0 && cols > 0 ? sizeof(float) * ((size_t)(cols - 1) * ld + rows) : 0;
}

static int inside(const float *p, size_t bytes, const char *which)
{
    if (bytes == 0 || dtcl_emu_is_device(p, bytes))
        return 1;
    fprintf(stderr, "cuda emulation: cuBLAS: matrix %s (%zu bytes) is not inside one device allocation\n", which,
            bytes);
    return 0;
}

static cublasStatus_t sgemm_check(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                  const float *alpha, int lda, int ldb, const float *beta, int ldc, int batch)
{
    if (!h)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (m < 0 || n < 0 || k < 0 || batch < 0 || !alpha || !beta || (ta != CUBLAS_OP_N && ta != CUBLAS_OP_T) ||
        (tb != CUBLAS_OP_N && tb != CUBLAS_OP_T))
        return CUBLAS_STATUS_INVALID_VALUE;
    int arows = ta == CUBLAS_OP_N ? m : k, brows = tb == CUBLAS_OP_N ? k : n;
    if (lda < (arows > 1 ? arows : 1) || ldb < (brows > 1 ? brows : 1) || ldc < (m > 1 ? m : 1)) {
        fprintf(stderr,
                "cuda emulation: cuBLAS: leading dimensions lda %d, ldb %d, ldc %d too small for m %d, n %d, "
                "k %d\n",
                lda, ldb, ldc, m, n, k);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    return CUBLAS_STATUS_SUCCESS;
}

static cublasStatus_t sgemm_one(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha,
                                const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    int arows = ta == CUBLAS_OP_N ? m : k, acols = ta == CUBLAS_OP_N ? k : m;
    int brows = tb == CUBLAS_OP_N ? k : n, bcols = tb == CUBLAS_OP_N ? n : k;
    if (!inside(C, span(m, n, ldc), "C") ||
        (k > 0 && (!inside(A, span(arows, acols, lda), "A") || !inside(B, span(brows, bcols, ldb), "B"))))
        return CUBLAS_STATUS_EXECUTION_FAILED;
    if (m == 0 || n == 0)
        return CUBLAS_STATUS_SUCCESS;
    if (beta == 0.0f) /* cuBLAS does not read C then: NaN there must not survive */
        for (int j = 0; j < n; j++)
            memset(C + (size_t)j * ldc, 0, sizeof(float) * m);
    if (k == 0) {
        if (beta != 0.0f)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++)
                    C[(size_t)j * ldc + i] *= beta;
        return CUBLAS_STATUS_SUCCESS;
    }
    cblas_sgemm(CblasColMajor, ta == CUBLAS_OP_N ? CblasNoTrans : CblasTrans,
                tb == CUBLAS_OP_N ? CblasNoTrans : CblasTrans, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                           int k, const float *alpha, const float *A, int lda, const float *B, int ldb,
                           const float *beta, float *C, int ldc)
{
    cublasStatus_t s = sgemm_check(handle, transa, transb, m, n, k, alpha, lda, ldb, beta, ldc, 1);
    return s != CUBLAS_STATUS_SUCCESS ? s : sgemm_one(transa, transb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const float *alpha, const float *A, int lda,
                                         long long strideA, const float *B, int ldb, long long strideB,
                                         const float *beta, float *C, int ldc, long long strideC, int batchCount)
{
    cublasStatus_t s = sgemm_check(handle, transa, transb, m, n, k, alpha, lda, ldb, beta, ldc, batchCount);
    for (int b = 0; b < batchCount && s == CUBLAS_STATUS_SUCCESS; b++)
        s = sgemm_one(transa, transb, m, n, k, *alpha, A + b * strideA, lda, B + b * strideB, ldb, *beta,
                      C + b * strideC, ldc);
    return s;
}

/* ------------------------------------------------------------ cuFFT */

struct Plan {
    cufftType type;
    fftwf_plan p;
    size_t real_bytes, complex_bytes; /* the whole batch's arrays */
};
static std::vector<Plan> plans; /* handle h is plans[h - 1]; p NULL once destroyed */

cufftResult cufftPlanMany(cufftHandle *plan, int rank, int *n, int *inembed, int istride, int idist, int *onembed,
                          int ostride, int odist, cufftType type, int batch)
{
    (void)istride, (void)idist, (void)ostride, (void)odist;
    if (rank != 2 || inembed || onembed || batch < 1 || n[0] < 1 || n[1] < 1 ||
        (type != CUFFT_R2C && type != CUFFT_C2R))
        return CUFFT_INVALID_VALUE; /* the emulation covers the basic layout of 2-D real transforms only */
    size_t nr = (size_t)n[0] * n[1], nc = (size_t)n[0] * (n[1] / 2 + 1);
    float *r = fftwf_alloc_real(nr * batch);
    fftwf_complex *c = fftwf_alloc_complex(nc * batch);
    if (!r || !c) {
        fftwf_free(r);
        fftwf_free(c);
        return CUFFT_ALLOC_FAILED;
    }
    fftwf_plan p = type == CUFFT_R2C ? fftwf_plan_many_dft_r2c(2, n, batch, r, NULL, 1, (int)nr, c, NULL, 1, (int)nc,
                                                               FFTW_ESTIMATE | FFTW_UNALIGNED)
                                     : fftwf_plan_many_dft_c2r(2, n, batch, c, NULL, 1, (int)nc, r, NULL, 1, (int)nr,
                                                               FFTW_ESTIMATE | FFTW_UNALIGNED | FFTW_DESTROY_INPUT);
    fftwf_free(r);
    fftwf_free(c);
    if (!p)
        return CUFFT_INTERNAL_ERROR;
    plans.push_back(Plan{type, p, sizeof(float) * nr * batch, sizeof(fftwf_complex) * nc * batch});
    *plan = (cufftHandle)plans.size();
    return CUFFT_SUCCESS;
}

static Plan *find(cufftHandle h, cufftType type)
{
    if (h < 1 || (size_t)h > plans.size() || !plans[h - 1].p || plans[h - 1].type != type)
        return NULL;
    return &plans[h - 1];
}

static int arrays_inside(const Plan *p, const void *in, const void *out)
{
    size_t ib = p->type == CUFFT_R2C ? p->real_bytes : p->complex_bytes;
    size_t ob = p->type == CUFFT_R2C ? p->complex_bytes : p->real_bytes;
    if (dtcl_emu_is_device(in, ib) && dtcl_emu_is_device(out, ob))
        return 1;
    fprintf(stderr, "cuda emulation: cuFFT: an array of the plan's batch is not inside one device allocation\n");
    return 0;
}

cufftResult cufftExecR2C(cufftHandle plan, cufftReal *in, cufftComplex *out)
{
    Plan *p = find(plan, CUFFT_R2C);
    if (!p)
        return CUFFT_INVALID_PLAN;
    if (!arrays_inside(p, in, out))
        return CUFFT_EXEC_FAILED;
    fftwf_execute_dft_r2c(p->p, in, (fftwf_complex *)out);
    return CUFFT_SUCCESS;
}

cufftResult cufftExecC2R(cufftHandle plan, cufftComplex *in, cufftReal *out)
{
    Plan *p = find(plan, CUFFT_C2R);
    if (!p)
        return CUFFT_INVALID_PLAN;
    if (!arrays_inside(p, in, out))
        return CUFFT_EXEC_FAILED;
    fftwf_execute_dft_c2r(p->p, (fftwf_complex *)in, out);
    return CUFFT_SUCCESS;
}

cufftResult cufftDestroy(cufftHandle plan)
{
    if (plan < 1 || (size_t)plan > plans.size() || !plans[plan - 1].p)
        return CUFFT_INVALID_PLAN;
    fftwf_destroy_plan(plans[plan - 1].p);
    plans[plan - 1].p = NULL;
    return CUFFT_SUCCESS;
}
