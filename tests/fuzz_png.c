/* fuzz_png.c: fuzz target for the PNG decoder (libFuzzer entry point). */
#include <stdint.h>
#include <stdlib.h>

#include "io/pngio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    float *px;
    int h, w;
    DtclError err;
    if (dtcl_png_decode(data, size, &px, &h, &w, &err) == 0) {
        volatile float sink = 0;
        for (size_t i = 0; i < (size_t)h * w; i++)
            sink += px[i];
        (void)sink;
        free(px);
    }
    return 0;
}
