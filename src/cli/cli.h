/* cli.h: what every dtcl command shares: option parsing helpers that
 * reject out-of-range values with a message, image loading and saving by
 * extension (.npy or .png), and the usage-error exit (status 2). */
#ifndef DTCL_CLI_H
#define DTCL_CLI_H

#include <stdint.h>

#include "backend/device.h"
#include "nets/encoder.h"
#include "base/error.h"

/* Prints a command's --help text on stdout, with what the registries hold
 * in place of {stages} (T's stages), {order} (their default order),
 * {strategies} and {encoders}: the help follows the tables. */
void dtcl_cli_help(const char *text);
/* Prints "dtcl CMD: message" and a pointer to --help on stderr; returns 2. */
int dtcl_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "dtcl CMD: err->msg" on stderr; returns 2. */
int dtcl_cli_input_error(const char *cmd, const DtclError *err);
/* The value of option --name, an integer from lo to hi, into *out: 0, or
 * DTCL_EXIT_INPUT after a usage error that names the option and the range. */
int dtcl_cli_int_option(const char *cmd, const char *name, const char *arg, long lo, long hi, long *out);
/* --encoder fcn|densenet121 into *out: 0, or DTCL_EXIT_INPUT after a usage error. */
int dtcl_cli_encoder_option(const char *cmd, const char *arg, DtclEncoderKind *out);
/* The absolute path of the existing file given to --name into buf (size
 * bytes): 0, or DTCL_EXIT_INPUT after a usage error naming the option. */
/* --device NAME (device.h): 0, or a usage error (exit 2) naming what is missing. */
int dtcl_cli_device_option(const char *cmd, const char *arg, DtclDevice *out);
int dtcl_cli_file_option(const char *cmd, const char *name, const char *arg, char *buf, size_t size);

int dtcl_parse_int(const char *s, long lo, long hi, long *out);
int dtcl_parse_u64(const char *s, uint64_t *out);
int dtcl_parse_double(const char *s, double lo, double hi, double *out);
/* "a,b,c" into out[0..max-1]; returns the count, or -1 on a malformed number. */
int dtcl_parse_list(const char *s, double *out, int max);

/* Lower-case extension check: "npy" or "png". */
int dtcl_has_ext(const char *path, const char *ext);

/* Images from .npy ((S,S), (N,S,S) or (N,1,S,S)) or .png (one S x S image):
 * *single is 1 when the file held one image without a batch dimension. */
int dtcl_load_images(const char *path, float **pixels, int *n, int *size, int *single, DtclError *err);
/* Writes (N,S,S) (or (S,S) when single) as .npy, or one image as .png. */
int dtcl_save_images(const char *path, const float *pixels, int n, int size, int single, int png_bits,
                     DtclError *err);

/* Checks, before any work, that the file PATH can be created: its directory
 * exists and is writable, and PATH is not a folder. */
int dtcl_check_output_path(const char *path, DtclError *err);
/* The same for a folder to create (whether it exists already is the
 * dataset writer's question: --force). */
int dtcl_check_output_dir(const char *path, DtclError *err);

/* Sets the OpenMP thread count (0: leave the default). */
void dtcl_set_threads(int threads);

#endif
