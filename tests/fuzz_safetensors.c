/* fuzz_safetensors.c: fuzz target for the safetensors reader (libFuzzer entry point). */
#include <stdint.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    DtclSafetensors st;
    DtclError err;
    if (dtcl_st_parse(data, size, &st, &err) == 0) {
        volatile unsigned sink = 0; /* touch every tensor's bytes */
        for (int i = 0; i < st.ntensors; i++)
            for (size_t b = st.tensors[i].begin; b < st.tensors[i].end; b++)
                sink += st.data[b];
        (void)sink;
        dtcl_st_close(&st);
    }
    return 0;
}
