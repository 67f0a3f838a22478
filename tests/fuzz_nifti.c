/* fuzz_nifti.c: fuzz target for the NIfTI path: dtcl's header check on the
 * raw bytes and, for inputs that pass it, the whole load through niftilib
 * (written to a temporary file, since niftilib reads files). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io/nifti.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    DtclNiftiHeader h;
    DtclError err;
    if (dtcl_nifti_parse_header(data, size, &h, &err) != 0)
        return 0;
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/dtcl-fuzz-%ld.nii", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    DtclVolume v;
    if (dtcl_nifti_load(path, &v, &err) == 0) {
        volatile float sink = 0;
        float *sl = malloc(sizeof(float) * (size_t)(v.dim[0] * v.dim[1] * v.dim[2] / dtcl_volume_nslices(&v)));
        int r, c;
        for (int64_t z = 0; z < dtcl_volume_nslices(&v); z++) {
            dtcl_volume_slice(&v, z, sl, &r, &c);
            sink += sl[0];
        }
        (void)sink;
        free(sl);
        dtcl_volume_free(&v);
    }
    unlink(path);
    return 0;
}
