/* backend_check.h: one list of cases for the backend table (backend.h): each
 * case is a primitive on given shapes with its tolerances, run on a device
 * and on the CPU from the same inputs and compared output by output (the
 * model: ggml's tests/test-backend-ops). A new table entry is tested on
 * every device by adding its case here; tests/test_backend fails while an
 * entry has none, and `dtcl gradcheck --device` prints the same rows.
 *
 * Each case draws its inputs from the seed, fills the device's outputs with
 * NaN before the call (a missing write shows), and compares:
 *   outputs (values the primitive writes)     |g - c| <= rtol |c| + floor max|c|
 *   accumulators (+=, the gradients)          the same on the increments,
 *                                             so that += and = differ
 *   state (running statistics, Adam)          the same on the final values
 *   indices (argmax)                          exactly
 *   returned losses                           |g - c| <= rtol max(|c|, 1)
 * floor, relative to the tensor's largest value, covers elements that are
 * sums cancelling to rounding noise (summation orders differ: cuBLAS, cuFFT).
 * An element NaN on one side only fails; NaN on both (never written, such as
 * the gaps of a strided view) passes. */
#ifndef DTCL_BACKEND_CHECK_H
#define DTCL_BACKEND_CHECK_H

#include <stdint.h>

#include "backend/backend.h"
#include "check/gradcheck.h"

/* Every case on be against the CPU: one row per compared output in tab
 * (component "<device> <case>", check the output's name; err is the worst
 * |g - c| / (|c| + floor/rtol max|c|), tol rtol). -1 with err when be could
 * not run a case at all (allocation, a device failure). */
int dtcl_backend_check(DtclCheckTable *tab, const DtclBackend *be, uint64_t seed, DtclError *err);

/* The table's entries and the number of cases that run each: the entries of
 * backend.h in order. The list must name every entry (the tests compare its
 * length with the table's size). */
typedef struct {
    const char *name;
    size_t offset; /* offsetof(DtclBackend, name) */
} DtclBackendEntry;
int dtcl_backend_entries(const DtclBackendEntry **list);
/* How many cases run entry e (the runner itself runs alloc, free, upload,
 * download and check for every case). */
int dtcl_backend_cases_using(size_t offset);

#endif
