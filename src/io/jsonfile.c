/* jsonfile.c: small JSON documents (see jsonfile.h). */
#include "io/jsonfile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomicfile.h"

cJSON *dtcl_json_load(const char *path, const char *format, const char *what, DtclError *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        dtcl_fail(err, "%s: cannot open (%s); expected %s", path, strerror(errno), what);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    do { /* the whole file, however long */
        if (len + 4096 + 1 > cap) {
            cap = (cap + 4096 + 1) * 2;
            char *b = realloc(buf, cap);
            if (!b)
                abort();
            buf = b;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = 0;
    cJSON *r = cJSON_Parse(buf);
    free(buf);
    if (!r) {
        dtcl_fail(err, "%s: not valid JSON", path);
        return NULL;
    }
    char fmt[64];
    if (dtcl_json_string(r, "format", fmt, sizeof fmt, path, err) != 0 ||
        (strcmp(fmt, format) != 0 && dtcl_fail(err, "%s: format \"%s\"; expected \"%s\"", path, fmt, format))) {
        cJSON_Delete(r);
        return NULL;
    }
    return r;
}

int dtcl_json_save(const char *path, const cJSON *r, DtclError *err)
{
    char *js = cJSON_Print(r);
    DtclOutFile out;
    int rc = dtcl_out_open(&out, path, err);
    if (rc == 0) {
        fputs(js, out.f);
        fputc('\n', out.f);
        rc = dtcl_out_commit(&out, err);
    }
    free(js);
    return rc;
}

int dtcl_json_string(const cJSON *r, const char *key, char *out, size_t size, const char *path, DtclError *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= size)
        return dtcl_fail(err, "%s: \"%s\" is missing or not a string", path, key);
    snprintf(out, size, "%s", v->valuestring);
    return 0;
}

int dtcl_json_number(const cJSON *r, const char *key, double *out, const char *path, DtclError *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, key);
    if (!cJSON_IsNumber(v))
        return dtcl_fail(err, "%s: \"%s\" is missing or not a number", path, key);
    *out = v->valuedouble;
    return 0;
}

int dtcl_json_u64(const cJSON *r, const char *key, uint64_t *out, const char *path, DtclError *err)
{
    char s[32], *end;
    if (dtcl_json_string(r, key, s, sizeof s, path, err) != 0)
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!s[0] || *end || errno || s[0] == '-')
        return dtcl_fail(err, "%s: \"%s\" is \"%s\"; expected a non-negative integer", path, key, s);
    *out = v;
    return 0;
}

cJSON *dtcl_json_exact(double v)
{
    if (!isfinite(v))
        return cJSON_CreateNull();
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v) /* the shortest of 15 and 17 digits that gives v back */
        snprintf(buf, sizeof buf, "%.17g", v);
    return cJSON_CreateRaw(buf);
}

void dtcl_json_add_number(cJSON *o, const char *key, double v)
{
    cJSON_AddItemToObject(o, key, dtcl_json_exact(v));
}

void dtcl_json_add_u64(cJSON *o, const char *key, uint64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    cJSON_AddStringToObject(o, key, s);
}
