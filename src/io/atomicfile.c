/* atomicfile.c: temporary file, fsync, rename (see atomicfile.h). */
#define _POSIX_C_SOURCE 200809L
#include "io/atomicfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int dtcl_out_open(DtclOutFile *out, const char *path, DtclError *err)
{
    memset(out, 0, sizeof *out);
    size_t n = strlen(path);
    out->path = strdup(path);
    out->tmp = DTCL_MALLOC(n + 16);
    if (!out->path)
        return dtcl_fail(err, "%s: out of memory", path);
    snprintf(out->tmp, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(out->tmp);
    if (fd < 0) {
        int e = errno;
        free(out->path);
        free(out->tmp);
        memset(out, 0, sizeof *out);
        return dtcl_fail(err, "%s: cannot create a file there: %s", path, strerror(e));
    }
    /* mkstemp makes the file private (0600); give it the mode any new file gets */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    out->f = fdopen(fd, "wb");
    if (!out->f) {
        close(fd);
        dtcl_out_abort(out);
        return dtcl_fail(err, "%s: cannot open for writing", path);
    }
    return 0;
}

int dtcl_out_commit(DtclOutFile *out, DtclError *err)
{
    int bad = fflush(out->f) != 0 || ferror(out->f) || fsync(fileno(out->f)) != 0;
    int e = errno;
    if (fclose(out->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    out->f = NULL;
    if (bad) {
        dtcl_fail(err, "%s: write failed: %s", out->path, strerror(e));
        dtcl_out_abort(out);
        return -1;
    }
    if (rename(out->tmp, out->path) != 0) {
        dtcl_fail(err, "%s: cannot rename %s onto it: %s", out->path, out->tmp, strerror(errno));
        dtcl_out_abort(out);
        return -1;
    }
    free(out->tmp);
    free(out->path);
    memset(out, 0, sizeof *out);
    return 0;
}

void dtcl_out_abort(DtclOutFile *out)
{
    if (out->f)
        fclose(out->f);
    if (out->tmp)
        unlink(out->tmp);
    free(out->tmp);
    free(out->path);
    memset(out, 0, sizeof *out);
}
