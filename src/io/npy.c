/* npy.c: NumPy .npy reader and writer (see npy.h). The format:
 *   "\x93NUMPY", major, minor, header length (uint16 LE for 1.x, uint32 LE
 *   for 2.x/3.x), then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 *   padded with spaces and a newline, then the raw data. */
#define _POSIX_C_SOURCE 200809L
#include "io/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomicfile.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "npy.c assumes a little-endian host");

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

const char *dtcl_npy_type_name(DtclNpyType type)
{
    switch (type) {
    case DTCL_NPY_F32: return "float32";
    case DTCL_NPY_F64: return "float64";
    case DTCL_NPY_U8: return "uint8";
    case DTCL_NPY_U16: return "uint16";
    }
    return "?";
}

static size_t type_size(DtclNpyType type)
{
    switch (type) {
    case DTCL_NPY_F32: return 4;
    case DTCL_NPY_F64: return 8;
    case DTCL_NPY_U8: return 1;
    case DTCL_NPY_U16: return 2;
    }
    return 0;
}

const char *dtcl_npy_shape_str(const DtclNpyInfo *info, char *buf, size_t size)
{
    size_t k = (size_t)snprintf(buf, size, "(");
    for (int d = 0; d < info->rank && k < size; d++)
        k += (size_t)snprintf(buf + k, size - k, d ? ", %lld" : "%lld", (long long)info->shape[d]);
    if (k < size)
        snprintf(buf + k, size - k, info->rank == 1 ? ",)" : ")");
    return buf;
}

/* ---- the header dictionary: a tiny parser for the Python literal NumPy writes */

typedef struct {
    const char *p, *end;
} Cursor;

static void skip_space(Cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int accept(Cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted string ('...' or "...") into out (at most size-1 characters). */
static int parse_string(Cursor *c, char *out, size_t size)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return -1;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 >= size)
            return -1;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return -1;
    c->p++;
    out[n] = 0;
    return 0;
}

static int parse_word(Cursor *c, const char *word)
{
    skip_space(c);
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, word, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* (d0, d1, ...) with at most DTCL_NPY_MAX_RANK non-negative integers. */
static int parse_shape(Cursor *c, DtclNpyInfo *info, DtclError *err)
{
    if (!accept(c, '('))
        return dtcl_fail(err, "header: 'shape' is not a tuple");
    info->rank = 0;
    for (;;) {
        if (accept(c, ')'))
            return 0;
        skip_space(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return dtcl_fail(err, "header: 'shape' holds something other than non-negative integers");
        int64_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            v = v * 10 + (*c->p++ - '0');
            if (v > (int64_t)1 << 40)
                return dtcl_fail(err, "header: a dimension in 'shape' is implausibly large");
        }
        if (c->p < c->end && *c->p == 'L') /* Python 2 long */
            c->p++;
        if (info->rank == DTCL_NPY_MAX_RANK)
            return dtcl_fail(err, "rank above %d is not supported (expected an array of rank 1 to %d)",
                             DTCL_NPY_MAX_RANK, DTCL_NPY_MAX_RANK);
        info->shape[info->rank++] = v;
        if (!accept(c, ',')) {
            if (!accept(c, ')'))
                return dtcl_fail(err, "header: 'shape' tuple is malformed");
            return 0;
        }
    }
}

static int parse_descr(const char *d, DtclNpyInfo *info, DtclError *err)
{
    char order = d[0];
    const char *t = d + 1;
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return dtcl_fail(err, "dtype '%s' is not supported (expected float32, float64, uint8 or uint16)", d);
    if (strcmp(t, "f4") == 0)
        info->type = DTCL_NPY_F32;
    else if (strcmp(t, "f8") == 0)
        info->type = DTCL_NPY_F64;
    else if (strcmp(t, "u1") == 0)
        info->type = DTCL_NPY_U8;
    else if (strcmp(t, "u2") == 0)
        info->type = DTCL_NPY_U16;
    else
        return dtcl_fail(err, "dtype '%s' is not supported (expected float32 '<f4', float64 '<f8', "
                              "uint8 '|u1' or uint16 '<u2')", d);
    info->big_endian = order == '>';
    return 0;
}

int dtcl_npy_parse_header(const void *buf, size_t len, DtclNpyInfo *info, DtclError *err)
{
    const unsigned char *b = buf;
    memset(info, 0, sizeof *info);
    if (len < 10 || memcmp(b, npy_magic, 6) != 0)
        return dtcl_fail(err, "not a NumPy .npy file (expected the magic string \\x93NUMPY at the start)");
    unsigned major = b[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return dtcl_fail(err, "file ends inside the .npy preamble (%zu bytes)", len);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hstart = 12;
    } else {
        return dtcl_fail(err, ".npy format version %u.%u is not supported (expected 1.0, 2.0 or 3.0)",
                         major, (unsigned)b[7]);
    }
    if (hlen > len - hstart)
        return dtcl_fail(err, "truncated: the header says it is %zu bytes long but the file has %zu bytes after the preamble",
                         hlen, len - hstart);

    Cursor c = {(const char *)b + hstart, (const char *)b + hstart + hlen};
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!accept(&c, '{'))
        return dtcl_fail(err, "header: expected a dictionary beginning with '{'");
    for (;;) {
        if (accept(&c, '}'))
            break;
        char key[32], descr[32];
        if (parse_string(&c, key, sizeof key) != 0 || !accept(&c, ':'))
            return dtcl_fail(err, "header: expected 'key': value pairs");
        if (strcmp(key, "descr") == 0) {
            if (parse_string(&c, descr, sizeof descr) != 0)
                return dtcl_fail(err, "header: 'descr' is not a simple dtype string (structured arrays are not supported)");
            if (parse_descr(descr, info, err) != 0)
                return -1;
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (parse_word(&c, "True"))
                info->fortran_order = 1;
            else if (parse_word(&c, "False"))
                info->fortran_order = 0;
            else
                return dtcl_fail(err, "header: 'fortran_order' is neither True nor False");
            have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (parse_shape(&c, info, err) != 0)
                return -1;
            have_shape = 1;
        } else {
            return dtcl_fail(err, "header: unexpected key '%s'", key);
        }
        if (!accept(&c, ',')) {
            if (!accept(&c, '}'))
                return dtcl_fail(err, "header: expected ',' or '}' after '%s'", key);
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return dtcl_fail(err, "header: missing %s", !have_descr ? "'descr'" : !have_order ? "'fortran_order'" : "'shape'");
    if (info->rank == 0)
        return dtcl_fail(err, "the array is a scalar (expected an array of rank 1 to %d)", DTCL_NPY_MAX_RANK);

    size_t count = 1, isz = type_size(info->type);
    for (int d = 0; d < info->rank; d++) {
        if (info->shape[d] != 0 && count > SIZE_MAX / 16 / (size_t)info->shape[d])
            return dtcl_fail(err, "shape is too large");
        count *= (size_t)info->shape[d];
    }
    info->count = count;
    info->data_offset = hstart + hlen;
    size_t have = len - info->data_offset, need = count * isz;
    if (have < need) {
        char s[96];
        return dtcl_fail(err, "truncated: shape %s of %s needs %zu bytes of data, the file has %zu",
                         dtcl_npy_shape_str(info, s, sizeof s), dtcl_npy_type_name(info->type), need, have);
    }
    if (have > need)
        return dtcl_fail(err, "%zu unexpected bytes after the data (expected exactly %zu)", have - need, need);
    return 0;
}

/* Element e (in file order) as float. */
static float element(const unsigned char *d, size_t e, const DtclNpyInfo *info)
{
    unsigned char tmp[8];
    size_t isz = type_size(info->type);
    const unsigned char *p = d + e * isz;
    if (info->big_endian && isz > 1) {
        for (size_t k = 0; k < isz; k++)
            tmp[k] = p[isz - 1 - k];
        p = tmp;
    }
    switch (info->type) {
    case DTCL_NPY_F32: {
        float v;
        memcpy(&v, p, 4);
        return v;
    }
    case DTCL_NPY_F64: {
        double v;
        memcpy(&v, p, 8);
        return (float)v;
    }
    case DTCL_NPY_U8: return (float)p[0] / 255.0f;
    case DTCL_NPY_U16: {
        uint16_t v;
        memcpy(&v, p, 2);
        return (float)v / 65535.0f;
    }
    }
    return 0;
}

int dtcl_npy_decode(const void *buf, size_t len, float **data, DtclNpyInfo *info, DtclError *err)
{
    *data = NULL;
    if (dtcl_npy_parse_header(buf, len, info, err) != 0)
        return -1;
    const unsigned char *d = (const unsigned char *)buf + info->data_offset;
    float *out = DTCL_ALIGNED(info->count * sizeof(float));
    if (!info->fortran_order && info->type == DTCL_NPY_F32 && !info->big_endian) {
        memcpy(out, d, info->count * sizeof(float));
    } else if (!info->fortran_order) {
        for (size_t e = 0; e < info->count; e++)
            out[e] = element(d, e, info);
    } else {
        /* Fortran order: the first index varies fastest in the file. Walk the
         * C-order elements (at most count of them: a shape with a zero
         * dimension does no work) and carry the multi-index by hand. */
        int r = info->rank;
        int64_t idx[DTCL_NPY_MAX_RANK] = {0}, fstride[DTCL_NPY_MAX_RANK];
        int64_t stride = 1;
        for (int k = 0; k < r; k++) {
            fstride[k] = stride;
            stride *= info->shape[k];
        }
        for (size_t e = 0; e < info->count; e++) {
            int64_t f = 0;
            for (int k = 0; k < r; k++)
                f += idx[k] * fstride[k];
            out[e] = element(d, (size_t)f, info);
            for (int k = r - 1; k >= 0; k--) { /* next C-order index */
                if (++idx[k] < info->shape[k])
                    break;
                idx[k] = 0;
            }
        }
    }
    *data = out;
    return 0;
}

int dtcl_npy_load(const char *path, float **data, DtclNpyInfo *info, DtclError *err)
{
    *data = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return dtcl_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dtcl_fail(err, "%s: not a regular file", path);
    }
    size_t len = (size_t)st.st_size;
    if (len == 0) {
        close(fd);
        return dtcl_fail(err, "%s: empty file (expected a NumPy .npy file)", path);
    }
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return dtcl_fail(err, "%s: cannot read: %s", path, strerror(errno));
    int rc = dtcl_npy_decode(map, len, data, info, err);
    munmap(map, len);
    if (rc != 0)
        return dtcl_fail_prefix(err, path);
    return 0;
}

int dtcl_npy_save(const char *path, const float *data, int rank, const int64_t *shape, DtclError *err)
{
    char dict[256];
    size_t k = (size_t)snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    size_t count = 1;
    for (int d = 0; d < rank; d++) {
        k += (size_t)snprintf(dict + k, sizeof dict - k, "%lld,%s", (long long)shape[d], d + 1 < rank ? " " : "");
        count *= (size_t)shape[d];
    }
    k += (size_t)snprintf(dict + k, sizeof dict - k, "), }");
    /* pad with spaces so that the data starts on a multiple of 64 bytes */
    size_t total = 10 + k + 1;
    size_t padded = (total + 63) / 64 * 64;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
    size_t hlen = padded - 10;
    pre[8] = (unsigned char)(hlen & 0xff);
    pre[9] = (unsigned char)(hlen >> 8);

    DtclOutFile out;
    if (dtcl_out_open(&out, path, err) != 0)
        return -1;
    fwrite(pre, 1, 10, out.f);
    fwrite(dict, 1, k, out.f);
    for (size_t i = total; i < padded; i++)
        fputc(' ', out.f);
    fputc('\n', out.f);
    fwrite(data, sizeof(float), count, out.f); /* x86-64 and aarch64 are little-endian */
    return dtcl_out_commit(&out, err);
}

/* ---- streaming writer */

struct DtclNpyWriter {
    DtclOutFile out;
    int64_t d1, d2, n;
};

enum { WRITER_HEADER = 128 }; /* room for any (N, d1, d2) dictionary */

static void writer_header(unsigned char *hdr, int64_t n, int64_t d1, int64_t d2)
{
    memset(hdr, ' ', WRITER_HEADER);
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = (unsigned char)((WRITER_HEADER - 10) & 0xff);
    hdr[9] = (unsigned char)((WRITER_HEADER - 10) >> 8);
    char dict[110];
    int k = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld, %lld), }",
                     (long long)n, (long long)d1, (long long)d2);
    memcpy(hdr + 10, dict, (size_t)k);
    hdr[WRITER_HEADER - 1] = '\n';
}

DtclNpyWriter *dtcl_npy_writer_open(const char *path, int64_t d1, int64_t d2, DtclError *err)
{
    DtclNpyWriter *w = DTCL_CALLOC(1, sizeof *w);
    if (dtcl_out_open(&w->out, path, err) != 0) {
        free(w);
        return NULL;
    }
    w->d1 = d1;
    w->d2 = d2;
    unsigned char hdr[WRITER_HEADER];
    writer_header(hdr, 0, d1, d2);
    fwrite(hdr, 1, WRITER_HEADER, w->out.f);
    return w;
}

int dtcl_npy_writer_append(DtclNpyWriter *w, const float *item, DtclError *err)
{
    size_t n = (size_t)(w->d1 * w->d2);
    if (fwrite(item, sizeof(float), n, w->out.f) != n)
        return dtcl_fail(err, "%s: write failed", w->out.path);
    w->n++;
    return 0;
}

int64_t dtcl_npy_writer_count(const DtclNpyWriter *w) { return w->n; }

int dtcl_npy_writer_close(DtclNpyWriter *w, DtclError *err)
{
    unsigned char hdr[WRITER_HEADER];
    writer_header(hdr, w->n, w->d1, w->d2);
    int rc = fseek(w->out.f, 0, SEEK_SET) == 0 && fwrite(hdr, 1, WRITER_HEADER, w->out.f) == WRITER_HEADER ? 0 : -1;
    if (rc != 0) {
        dtcl_fail(err, "%s: write failed", w->out.path);
        dtcl_out_abort(&w->out);
    } else {
        rc = dtcl_out_commit(&w->out, err);
    }
    free(w);
    return rc;
}

void dtcl_npy_writer_abort(DtclNpyWriter *w)
{
    if (!w)
        return;
    dtcl_out_abort(&w->out);
    free(w);
}
