/* cli.c: shared command-line helpers (see cli.h). */
#define _DEFAULT_SOURCE /* realpath */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <cblas.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/protocol.h"
#include "io/npy.h"
#include "io/pngio.h"
#include "train/strategy.h"
#include "transform/stages.h"

/* What the registries say, where help text names it (see cli.h). */
static const char *expand(const char *key, size_t len)
{
    static const struct {
        const char *key;
        const char *(*value)(void);
    } fields[] = {{"stages", dtcl_stage_list}, {"strategies", dtcl_strategy_list}, {"encoders", dtcl_encoder_list},
                  {"protocols", dtcl_protocol_names}};
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
        if (strlen(fields[k].key) == len && strncmp(key, fields[k].key, len) == 0)
            return fields[k].value();
    if (len == 5 && strncmp(key, "order", 5) == 0)
        return dtcl_default_order;
    return NULL;
}

void dtcl_cli_help(const char *text)
{
    for (const char *p = text; *p;) {
        const char *open = strchr(p, '{'), *close = open ? strchr(open, '}') : NULL;
        const char *v = close ? expand(open + 1, (size_t)(close - open - 1)) : NULL;
        if (!v) { /* no field (any more): the text as it is */
            size_t n = open ? (size_t)(open - p) + 1 : strlen(p);
            fwrite(p, 1, n, stdout);
            p += n;
            continue;
        }
        fwrite(p, 1, (size_t)(open - p), stdout);
        fputs(v, stdout);
        p = close + 1;
    }
}

int dtcl_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dtcl %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'dtcl %s --help'.\n", cmd);
    return DTCL_EXIT_INPUT;
}

int dtcl_cli_int_option(const char *cmd, const char *name, const char *arg, long lo, long hi, long *out)
{
    if (dtcl_parse_int(arg, lo, hi, out) != 0)
        return dtcl_cli_usage_error(cmd, "--%s '%s' is not an integer from %ld to %ld", name, arg, lo, hi);
    return 0;
}

int dtcl_cli_encoder_option(const char *cmd, const char *arg, DtclEncoderKind *out)
{
    if (dtcl_encoder_parse(arg, out) != 0)
        return dtcl_cli_usage_error(cmd, "--encoder '%s' is not %s", arg, dtcl_encoder_list());
    return 0;
}

int dtcl_cli_device_option(const char *cmd, const char *arg, DtclDevice *out)
{
    DtclError e;
    if (dtcl_device_parse(arg, out, &e) != 0)
        return dtcl_cli_usage_error(cmd, "%s", e.msg);
    return 0;
}

int dtcl_cli_file_option(const char *cmd, const char *name, const char *arg, char *buf, size_t size)
{
    char *path = realpath(arg, NULL);
    if (!path)
        return dtcl_cli_usage_error(cmd, "--%s '%s': no such file", name, arg);
    snprintf(buf, size, "%s", path);
    free(path);
    return 0;
}

int dtcl_cli_input_error(const char *cmd, const DtclError *err)
{
    fprintf(stderr, "dtcl %s: %s\n", cmd, err->msg);
    return DTCL_EXIT_INPUT;
}

int dtcl_parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int dtcl_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

int dtcl_parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int dtcl_parse_list(const char *s, double *out, int max)
{
    int n = 0;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (errno || end == p || n == max)
            return -1;
        out[n++] = v;
        while (*end == ' ')
            end++;
        if (*end == 0)
            return n;
        if (*end != ',')
            return -1;
        p = end + 1;
    }
}

int dtcl_has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    if (n < e + 1 || path[n - e - 1] != '.')
        return 0;
    for (size_t i = 0; i < e; i++)
        if (tolower((unsigned char)path[n - e + i]) != ext[i])
            return 0;
    return 1;
}

int dtcl_load_images(const char *path, float **pixels, int *n, int *size, int *single, DtclError *err)
{
    *pixels = NULL;
    if (dtcl_has_ext(path, "png")) {
        int h, w;
        if (dtcl_png_load(path, pixels, &h, &w, err) != 0)
            return -1;
        if (h != w) {
            free(*pixels);
            *pixels = NULL;
            return dtcl_fail(err, "%s: image is %dx%d; expected a square image (S x S)", path, w, h);
        }
        *n = 1;
        *size = h;
        *single = 1;
    } else if (dtcl_has_ext(path, "npy")) {
        DtclNpyInfo info;
        if (dtcl_npy_load(path, pixels, &info, err) != 0)
            return -1;
        char s[96];
        dtcl_npy_shape_str(&info, s, sizeof s);
        if (info.rank == 2 && info.shape[0] == info.shape[1]) {
            *n = 1;
            *size = (int)info.shape[0];
            *single = 1;
        } else if (info.rank == 3 && info.shape[1] == info.shape[2] && info.shape[0] > 0) {
            *n = (int)info.shape[0];
            *size = (int)info.shape[1];
            *single = 0;
        } else if (info.rank == 4 && info.shape[1] == 1 && info.shape[2] == info.shape[3] && info.shape[0] > 0) {
            *n = (int)info.shape[0]; /* PyTorch's (N, 1, S, S) */
            *size = (int)info.shape[2];
            *single = 0;
        } else {
            free(*pixels);
            *pixels = NULL;
            return dtcl_fail(err,
                             "%s: array of shape %s; expected one square image (S, S) or a stack (N, S, S) "
                             "or (N, 1, S, S)",
                             path, s);
        }
        if (info.shape[0] > 1 << 24 || *size > 8192) {
            free(*pixels);
            *pixels = NULL;
            return dtcl_fail(err, "%s: array of shape %s is too large (at most 8192 x 8192 images)", path, s);
        }
    } else {
        return dtcl_fail(err, "%s: unknown file type (expected a .npy or .png file)", path);
    }
    if (*size < 2) {
        free(*pixels);
        *pixels = NULL;
        return dtcl_fail(err, "%s: images of %d x %d pixels; expected at least 2 x 2", path, *size, *size);
    }
    size_t count = (size_t)*n * *size * *size;
    for (size_t i = 0; i < count; i++)
        if (!isfinite((*pixels)[i])) {
            size_t SS = (size_t)*size * *size;
            dtcl_fail(err, "%s: non-finite value at image %zu, row %zu, column %zu (expected finite intensities)",
                      path, i / SS, i % SS / *size, i % *size);
            free(*pixels);
            *pixels = NULL;
            return -1;
        }
    return 0;
}

int dtcl_save_images(const char *path, const float *pixels, int n, int size, int single, int png_bits,
                     DtclError *err)
{
    if (dtcl_has_ext(path, "png")) {
        if (n != 1)
            return dtcl_fail(err, "%s: a PNG file holds one image, and there are %d (write .npy instead)", path, n);
        return dtcl_png_save(path, pixels, size, size, png_bits, err);
    }
    if (dtcl_has_ext(path, "npy")) {
        int64_t shape[3] = {n, size, size};
        return single ? dtcl_npy_save(path, pixels, 2, shape + 1, err) : dtcl_npy_save(path, pixels, 3, shape, err);
    }
    return dtcl_fail(err, "%s: unknown output type (expected a name ending in .npy or .png)", path);
}

void dtcl_set_threads(int threads)
{
    if (threads > 0)
        omp_set_num_threads(threads);
    /* dtcl's parallelism is OpenMP over images and channels; the sgemm calls
     * inside those loops run on one thread each (conv.h) */
    openblas_set_num_threads(1);
}

static int check_parent(const char *path, DtclError *err)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return dtcl_fail(err, "%s: the directory %s does not exist", path, dir);
    if (access(dir, W_OK) != 0)
        return dtcl_fail(err, "%s: the directory %s is not writable", path, dir);
    return 0;
}

int dtcl_check_output_path(const char *path, DtclError *err)
{
    struct stat st;
    if (check_parent(path, err) != 0)
        return -1;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return dtcl_fail(err, "%s is a directory (expected a file name)", path);
    return 0;
}

int dtcl_check_output_dir(const char *path, DtclError *err)
{
    char trimmed[4096];
    snprintf(trimmed, sizeof trimmed, "%s", path);
    size_t n = strlen(trimmed);
    while (n > 1 && trimmed[n - 1] == '/')
        trimmed[--n] = 0;
    return check_parent(trimmed, err);
}
