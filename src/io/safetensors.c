/* safetensors.c: the safetensors format, read and written (see safetensors.h). */
#define _DEFAULT_SOURCE
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomicfile.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors.c assumes a little-endian host");

static const char *const dtype_names[DTCL_ST_NTYPES] = {"F32", "F64", "F16", "BF16", "I64",
                                                         "I32", "I16", "I8",  "U8",   "BOOL"};
static const size_t dtype_sizes[DTCL_ST_NTYPES] = {4, 8, 2, 2, 8, 4, 2, 1, 1, 1};

const char *dtcl_st_dtype_name(DtclStDtype t) { return t >= 0 && t < DTCL_ST_NTYPES ? dtype_names[t] : "?"; }
size_t dtcl_st_dtype_size(DtclStDtype t) { return t >= 0 && t < DTCL_ST_NTYPES ? dtype_sizes[t] : 0; }

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp(((const DtclStTensor *)a)->name, ((const DtclStTensor *)b)->name);
}

static int cmp_tensor_begin(const void *a, const void *b)
{
    const DtclStTensor *x = *(const DtclStTensor *const *)a, *y = *(const DtclStTensor *const *)b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

static void shape_str(const DtclStTensor *t, char *buf, size_t size)
{
    size_t k = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < t->rank && k < size; d++)
        k += (size_t)snprintf(buf + k, size - k, d ? ", %lld" : "%lld", (long long)t->shape[d]);
    if (k < size)
        snprintf(buf + k, size - k, "]");
}

void dtcl_st_close(DtclSafetensors *st)
{
    for (int i = 0; i < st->ntensors; i++)
        free(st->tensors[i].name);
    for (int i = 0; i < st->nmeta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_values[i]);
    }
    free(st->tensors);
    free(st->meta_keys);
    free(st->meta_values);
    if (st->map)
        munmap(st->map, st->map_len);
    memset(st, 0, sizeof *st);
}

/* One tensor entry of the header. */
static int parse_entry(const cJSON *e, DtclStTensor *t, size_t data_len, DtclError *err)
{
    if (!cJSON_IsObject(e))
        return dtcl_fail(err, "tensor '%s': its header entry is not an object", t->name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype"), *sh = cJSON_GetObjectItemCaseSensitive(e, "shape"),
                *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off))
        return dtcl_fail(err, "tensor '%s': expected \"dtype\", \"shape\" and \"data_offsets\"", t->name);
    t->dtype = DTCL_ST_NTYPES;
    for (int k = 0; k < DTCL_ST_NTYPES; k++)
        if (strcmp(dt->valuestring, dtype_names[k]) == 0)
            t->dtype = (DtclStDtype)k;
    if (t->dtype == DTCL_ST_NTYPES)
        return dtcl_fail(err, "tensor '%s': dtype \"%.16s\" is not supported (F32, F64, F16, BF16, I64, I32, I16, I8, "
                              "U8, BOOL)", t->name, dt->valuestring);
    int rank = cJSON_GetArraySize(sh);
    if (rank > DTCL_ST_MAX_RANK)
        return dtcl_fail(err, "tensor '%s': rank %d (at most %d)", t->name, rank, DTCL_ST_MAX_RANK);
    t->rank = rank;
    size_t count = 1;
    int d = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, sh) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 4.0e12 || v->valuedouble != (double)(int64_t)v->valuedouble)
            return dtcl_fail(err, "tensor '%s': shape holds something other than a non-negative integer", t->name);
        t->shape[d] = (int64_t)v->valuedouble;
        if (t->shape[d] && count > SIZE_MAX / 16 / (size_t)t->shape[d])
            return dtcl_fail(err, "tensor '%s': shape is too large", t->name);
        count *= (size_t)t->shape[d];
        d++;
    }
    if (cJSON_GetArraySize(off) != 2)
        return dtcl_fail(err, "tensor '%s': data_offsets must be [begin, end]", t->name);
    const cJSON *b = cJSON_GetArrayItem(off, 0), *en = cJSON_GetArrayItem(off, 1);
    if (!cJSON_IsNumber(b) || !cJSON_IsNumber(en) || b->valuedouble < 0 || en->valuedouble < b->valuedouble ||
        en->valuedouble > 1.0e15 || b->valuedouble != (double)(int64_t)b->valuedouble ||
        en->valuedouble != (double)(int64_t)en->valuedouble)
        return dtcl_fail(err, "tensor '%s': data_offsets are not integers 0 <= begin <= end", t->name);
    t->begin = (size_t)b->valuedouble;
    t->end = (size_t)en->valuedouble;
    if (t->end > data_len)
        return dtcl_fail(err, "tensor '%s': its bytes [%zu, %zu) lie beyond the %zu bytes of data (truncated file?)",
                         t->name, t->begin, t->end, data_len);
    if (t->end - t->begin != count * dtype_sizes[t->dtype]) {
        char s[160];
        shape_str(t, s, sizeof s);
        return dtcl_fail(err, "tensor '%s': %s %s needs %zu bytes, data_offsets give %zu", t->name,
                         dtype_names[t->dtype], s, count * dtype_sizes[t->dtype], t->end - t->begin);
    }
    return 0;
}

int dtcl_st_parse(const void *buf, size_t len, DtclSafetensors *st, DtclError *err)
{
    memset(st, 0, sizeof *st);
    const unsigned char *p = buf;
    if (len < 8)
        return dtcl_fail(err, "not a safetensors file: %zu bytes, shorter than the 8-byte header length", len);
    uint64_t n;
    memcpy(&n, p, 8);
    if (n < 2 || n > (uint64_t)100 << 20 || n > len - 8)
        return dtcl_fail(err, "bytes 0-7 give a header length of %llu, but the file has %zu bytes after them "
                              "(not a safetensors file, or truncated)", (unsigned long long)n, len - 8);
    const char *json = (const char *)p + 8;
    if (json[0] != '{')
        return dtcl_fail(err, "byte 8: the header does not begin with '{' (not a safetensors file)");
    const char *end_ptr = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, (size_t)n, &end_ptr, 0);
    if (!root) {
        const char *e = cJSON_GetErrorPtr();
        size_t at = e && e >= json && e <= json + n ? (size_t)(e - json) + 8 : 8;
        return dtcl_fail(err, "byte %zu: malformed JSON header", at);
    }
    for (const char *q = end_ptr; q && q < json + n; q++)
        if (*q != ' ' && *q != '\n' && *q != '\t' && *q != '\r' && *q != 0) {
            cJSON_Delete(root);
            return dtcl_fail(err, "byte %zu: text after the JSON header", (size_t)(q - json) + 8);
        }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return dtcl_fail(err, "byte 8: the header is not a JSON object");
    }
    st->header_len = (size_t)n;
    st->data = p + 8 + n;
    st->data_len = len - 8 - (size_t)n;
    int count = cJSON_GetArraySize(root), rc = 0;
    st->tensors = DTCL_CALLOC((size_t)count + 1, sizeof(DtclStTensor));
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        if (rc)
            break;
        if (!e->string) {
            rc = dtcl_fail(err, "byte 8: a header entry has no name");
        } else if (strcmp(e->string, "__metadata__") == 0) {
            if (st->meta_keys) {
                rc = dtcl_fail(err, "__metadata__ appears twice in the header");
                break;
            }
            if (!cJSON_IsObject(e)) {
                rc = dtcl_fail(err, "__metadata__ is not an object of strings");
                break;
            }
            int m = cJSON_GetArraySize(e);
            st->meta_keys = DTCL_CALLOC((size_t)m + 1, sizeof(char *));
            st->meta_values = DTCL_CALLOC((size_t)m + 1, sizeof(char *));
            const cJSON *kv;
            cJSON_ArrayForEach(kv, e) {
                if (!cJSON_IsString(kv) || !kv->string) {
                    rc = dtcl_fail(err, "__metadata__ value of '%.64s' is not a string", kv->string ? kv->string : "?");
                    break;
                }
                st->meta_keys[st->nmeta] = strdup(kv->string);
                st->meta_values[st->nmeta] = strdup(kv->valuestring);
                st->nmeta++;
            }
        } else {
            DtclStTensor *t = &st->tensors[st->ntensors++];
            t->name = strdup(e->string);
            rc = parse_entry(e, t, st->data_len, err);
        }
    }
    cJSON_Delete(root);
    if (rc == 0) {
        /* unique names, and the tensors tile the data without overlap or hole */
        qsort(st->tensors, (size_t)st->ntensors, sizeof(DtclStTensor), cmp_tensor_name);
        for (int i = 1; i < st->ntensors && rc == 0; i++)
            if (strcmp(st->tensors[i].name, st->tensors[i - 1].name) == 0)
                rc = dtcl_fail(err, "tensor '%s' appears twice in the header", st->tensors[i].name);
        DtclStTensor **by = DTCL_MALLOC(sizeof(DtclStTensor *) * ((size_t)st->ntensors + 1));
        for (int i = 0; i < st->ntensors; i++)
            by[i] = &st->tensors[i];
        qsort(by, (size_t)st->ntensors, sizeof *by, cmp_tensor_begin);
        size_t at = 0;
        for (int i = 0; i < st->ntensors && rc == 0; i++) {
            if (by[i]->begin != at)
                rc = dtcl_fail(err, "tensor '%s' begins at data byte %zu, expected %zu (%s)", by[i]->name,
                               by[i]->begin, at, by[i]->begin < at ? "it overlaps the previous one" : "a hole before it");
            at = by[i]->end;
        }
        if (rc == 0 && at != st->data_len)
            rc = dtcl_fail(err, "the tensors cover %zu bytes of data but the file holds %zu after the header", at,
                           st->data_len);
        free(by);
    }
    if (rc != 0) {
        dtcl_st_close(st);
        return -1;
    }
    return 0;
}

int dtcl_st_open(const char *path, DtclSafetensors *st, DtclError *err)
{
    memset(st, 0, sizeof *st);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return dtcl_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
        close(fd);
        return dtcl_fail(err, "%s: empty or not a regular file (expected a .safetensors checkpoint)", path);
    }
    size_t len = (size_t)sb.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return dtcl_fail(err, "%s: cannot read: %s", path, strerror(errno));
    if (dtcl_st_parse(map, len, st, err) != 0) {
        munmap(map, len);
        return dtcl_fail_prefix(err, path);
    }
    st->map = map;
    st->map_len = len;
    return 0;
}

const DtclStTensor *dtcl_st_find(const DtclSafetensors *st, const char *name)
{
    DtclStTensor key;
    key.name = (char *)name;
    return bsearch(&key, st->tensors, (size_t)st->ntensors, sizeof(DtclStTensor), cmp_tensor_name);
}

const char *dtcl_st_meta(const DtclSafetensors *st, const char *key)
{
    for (int i = 0; i < st->nmeta; i++)
        if (strcmp(st->meta_keys[i], key) == 0)
            return st->meta_values[i];
    return NULL;
}

int dtcl_st_read(const DtclSafetensors *st, const char *name, DtclStDtype dtype, int rank, const int64_t *shape,
                 void *out, DtclError *err)
{
    const DtclStTensor *t = dtcl_st_find(st, name);
    DtclStTensor want = {(char *)name, dtype, rank, {0}, 0, 0};
    for (int d = 0; d < rank; d++)
        want.shape[d] = shape[d];
    char ws[160], hs[160];
    shape_str(&want, ws, sizeof ws);
    if (!t)
        return dtcl_fail(err, "tensor '%s' is missing (expected %s %s)", name, dtype_names[dtype], ws);
    shape_str(t, hs, sizeof hs);
    if (t->dtype != dtype)
        return dtcl_fail(err, "tensor '%s' is %s; expected %s", name, dtype_names[t->dtype], dtype_names[dtype]);
    int same = t->rank == rank;
    for (int d = 0; d < rank && same; d++)
        same = t->shape[d] == shape[d];
    if (!same)
        return dtcl_fail(err, "tensor '%s' has shape %s; expected %s", name, hs, ws);
    memcpy(out, st->data + t->begin, t->end - t->begin);
    return 0;
}

int dtcl_st_save(const char *path, const DtclStEntry *entries, int n, const char *const *meta_keys,
                 const char *const *meta_values, int nmeta, DtclError *err)
{
    cJSON *root = cJSON_CreateObject();
    if (nmeta > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        for (int i = 0; i < nmeta; i++)
            cJSON_AddStringToObject(m, meta_keys[i], meta_values[i]);
    }
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_AddObjectToObject(root, entries[i].name);
        cJSON_AddStringToObject(e, "dtype", dtype_names[entries[i].dtype]);
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        size_t count = 1;
        for (int d = 0; d < entries[i].rank; d++) {
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)entries[i].shape[d]));
            count *= (size_t)entries[i].shape[d];
        }
        cJSON *off = cJSON_AddArrayToObject(e, "data_offsets");
        size_t nb = count * dtype_sizes[entries[i].dtype];
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)at));
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)(at + nb)));
        at += nb;
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json)
        return dtcl_fail(err, "%s: cannot format the header", path);
    size_t jl = strlen(json), padded = (jl + 7) / 8 * 8; /* data aligned to 8 bytes */
    uint64_t hl = padded;
    DtclOutFile out;
    if (dtcl_out_open(&out, path, err) != 0) {
        free(json);
        return -1;
    }
    fwrite(&hl, 8, 1, out.f);
    fwrite(json, 1, jl, out.f);
    for (size_t k = jl; k < padded; k++)
        fputc(' ', out.f);
    free(json);
    for (int i = 0; i < n; i++) {
        size_t count = 1;
        for (int d = 0; d < entries[i].rank; d++)
            count *= (size_t)entries[i].shape[d];
        fwrite(entries[i].data, dtype_sizes[entries[i].dtype], count, out.f);
    }
    return dtcl_out_commit(&out, err);
}

void dtcl_st_print(const DtclSafetensors *st, FILE *f)
{
    size_t params = 0;
    for (int i = 0; i < st->ntensors; i++) {
        const DtclStTensor *t = &st->tensors[i];
        char s[160];
        shape_str(t, s, sizeof s);
        fprintf(f, "  %-48s %-4s %s\n", t->name, dtype_names[t->dtype], s);
        params += (t->end - t->begin) / dtype_sizes[t->dtype];
    }
    fprintf(f, "%d tensors, %zu values, %zu bytes of data\n", st->ntensors, params, st->data_len);
    for (int i = 0; i < st->nmeta; i++)
        fprintf(f, "metadata %s: %s\n", st->meta_keys[i], st->meta_values[i]);
}
