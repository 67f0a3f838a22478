/* fuzz_csv.c: fuzz target for the CSV parser (libFuzzer entry point). */
#include <stdint.h>
#include <string.h>

#include "io/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    DtclCsv csv;
    DtclError err;
    if (dtcl_csv_parse((const char *)data, size, &csv, &err) == 0) {
        volatile size_t sink = 0; /* touch every cell */
        for (size_t r = 0; r < csv.nrows; r++)
            for (int c = 0; c < csv.ncols; c++)
                sink += strlen(dtcl_csv_cell(&csv, r, c));
        (void)sink;
        dtcl_csv_free(&csv);
    }
    return 0;
}
