/* fuzz_tiff.c: fuzz target for the TIFF decoder (libFuzzer entry point): any input
 * is refused with a message or decoded into a picture whose every sample is read. */
#include <stdint.h>
#include <stdlib.h>

#include "io/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    DtclImage im;
    DtclError err;
    if (dtcl_tiff_decode(data, size, &im, &err) == 0) {
        volatile float sink = 0;
        for (size_t i = 0; i < (size_t)im.height * im.width * im.channels; i++)
            sink += im.data[i];
        (void)sink;
        dtcl_image_free(&im);
    }
    return 0;
}
