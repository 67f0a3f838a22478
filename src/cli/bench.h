/* bench.h: what the benchmarks of `dtcl bench` share: the clock (clock.h),
 * the machine's description and the PyTorch reference's location. Speed is
 * always reported as a ratio against a reference measured in the same run. */
#ifndef DTCL_BENCH_H
#define DTCL_BENCH_H

#include "base/clock.h"
#include "backend/device.h"
#include "nets/encoder.h"

int dtcl_cmp_double(const void *a, const void *b);
/* The folder of ref/bench_*.py (DTCL_REF_DIR, the source tree, pkgdatadir), or NULL. */
const char *dtcl_bench_ref_dir(void);
/* An interpreter that imports torch (DTCL_PYTHON, python3, /usr/bin/python3), or NULL. */
const char *dtcl_bench_python(void);
/* Runs `PY RD/SCRIPT ARGS` and reads its line "min_ms median_ms version
 * threads [peak_mib]"; 0 or -1. peak_mib (may be NULL) is set to the fifth
 * field, or -1 when the script does not report it. */
int dtcl_bench_ref(const char *py, const char *rd, const char *script, const char *args, double *min_ms,
                   double *median_ms, double *peak_mib);
/* Whether py's torch can run on dev (always for the CPU; torch.cuda.is_available() for cuda). */
int dtcl_bench_torch_has(const char *py, DtclDevice dev);
/* cpu, threads, OpenBLAS core, FFTW version; the GPU when one is present. */
void dtcl_bench_machine(int threads);

/* `dtcl bench train-step`: the encoder step and the proposed step (step.h)
 * with either encoder, on dev, for every size and batch given. */
int dtcl_bench_train_step(DtclDevice dev, const int *sizes, int nsizes, const int *batches, int nbatches, int repeats,
                          int use_torch, DtclEncoderKind encoder);

#endif
