/* fuzz_npy.c: fuzz target for the .npy decoder (libFuzzer entry point).
 * Built two ways: with clang -fsanitize=fuzzer by `make fuzz', and with
 * fuzz_driver.c as tests/fuzz_npy, a deterministic mutation run that
 * `make check' executes (under ASan/UBSan in CI). */
#include <stdint.h>
#include <stdlib.h>

#include "io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    float *out;
    DtclNpyInfo info;
    DtclError err;
    if (dtcl_npy_decode(data, size, &out, &info, &err) == 0) {
        volatile float sink = 0; /* read every element: the sanitisers see any overrun */
        for (size_t i = 0; i < info.count; i++)
            sink += out[i];
        (void)sink;
        free(out);
    }
    return 0;
}
