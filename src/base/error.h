/* error.h: how dtcl reports problems.
 *
 * Parsers of outside data and every function that can meet bad input return
 * 0 on success and -1 on failure, and write a sentence into a DtclError that
 * names the file, the field and what was expected. Commands print it and exit
 * with DTCL_EXIT_INPUT (2). Running out of memory is not the user's mistake:
 * DTCL_MALLOC reports the source file and line and exits with DTCL_EXIT_FAIL.
 */
#ifndef DTCL_ERROR_H
#define DTCL_ERROR_H

#include <stddef.h>

#ifdef __cplusplus /* the CUDA twins (src/gpu) include it */
extern "C" {
#endif

enum {
    DTCL_EXIT_OK = 0,    /* success */
    DTCL_EXIT_FAIL = 1,  /* failure at run time (out of memory, a check failed) */
    DTCL_EXIT_INPUT = 2  /* bad usage or bad input */
};

typedef struct {
    char msg[1024];
} DtclError;

/* Formats a message into err (when err is not NULL) and returns -1. */
int dtcl_fail(DtclError *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes err->msg with "prefix: " (a file name, a tensor name...). */
int dtcl_fail_prefix(DtclError *err, const char *prefix);

void *dtcl_malloc_at(size_t n, const char *file, int line);
void *dtcl_calloc_at(size_t count, size_t size, const char *file, int line);
/* 64-byte aligned, for SIMD loops and FFTW; release with free(). */
void *dtcl_aligned_at(size_t n, const char *file, int line);

#define DTCL_MALLOC(n) dtcl_malloc_at((n), __FILE__, __LINE__)
#define DTCL_CALLOC(c, s) dtcl_calloc_at((c), (s), __FILE__, __LINE__)
#define DTCL_ALIGNED(n) dtcl_aligned_at((n), __FILE__, __LINE__)

#ifdef __cplusplus
}
#endif

#endif
