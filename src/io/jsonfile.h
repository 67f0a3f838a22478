/* jsonfile.h: the project's small JSON documents, a run's config.json and an
 * experiment's experiment.json (cJSON): read whole with their "format"
 * checked, fields read with messages that name the file and the key, numbers
 * written so that they read back as the same double (cJSON alone may print
 * 15 digits), 64-bit integers as decimal strings, written atomically. */
#ifndef DTCL_JSONFILE_H
#define DTCL_JSONFILE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* The document at path, whose "format" must be `format`; NULL with err
 * otherwise. `what` says what the file should be, for the message when it
 * cannot be opened. */
cJSON *dtcl_json_load(const char *path, const char *format, const char *what, DtclError *err);
/* Writes r to path atomically (temporary name, fsync, rename). */
int dtcl_json_save(const char *path, const cJSON *r, DtclError *err);

int dtcl_json_string(const cJSON *r, const char *key, char *out, size_t size, const char *path, DtclError *err);
int dtcl_json_number(const cJSON *r, const char *key, double *out, const char *path, DtclError *err);
/* An integer held as a decimal string. */
int dtcl_json_u64(const cJSON *r, const char *key, uint64_t *out, const char *path, DtclError *err);

/* A number that reads back as v exactly (null when v is not finite). */
cJSON *dtcl_json_exact(double v);
void dtcl_json_add_number(cJSON *o, const char *key, double v);
void dtcl_json_add_u64(cJSON *o, const char *key, uint64_t v);

#endif
