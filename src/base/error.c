/* error.c: error messages and checked allocation (see error.h). */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dtcl_fail(DtclError *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int dtcl_fail_prefix(DtclError *err, const char *prefix)
{
    if (err) {
        char tmp[sizeof err->msg];
        snprintf(tmp, sizeof tmp, "%s: %.*s", prefix, (int)(sizeof tmp - strlen(prefix) - 3), err->msg);
        memcpy(err->msg, tmp, sizeof tmp);
    }
    return -1;
}

static void out_of_memory(size_t n, const char *file, int line)
{
    fprintf(stderr, "dtcl: out of memory allocating %zu bytes (%s:%d)\n", n, file, line);
    exit(1);
}

void *dtcl_malloc_at(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n, file, line);
    return p;
}

void *dtcl_calloc_at(size_t count, size_t size, const char *file, int line)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size, file, line);
    return p;
}

void *dtcl_aligned_at(size_t n, const char *file, int line)
{
    size_t rounded = (n + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p)
        out_of_memory(n, file, line);
    return p;
}
