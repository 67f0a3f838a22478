/* test_backend.c: the backend table's one list of cases (check/backend_check.h)
 * walked through every table this build has, against the CPU's:
 *   - every entry of backend.h is named in the list of entries (its length
 *     against the table's size) and run by at least one case;
 *   - every table has every entry (no NULL);
 *   - the CPU against itself: every output written (the device copy starts
 *     from NaN), results repeatable;
 *   - the GPU's table (a CUDA or emulated build with a device): every case
 *     within its tolerances, each printed with its worst error.
 * Without a device the GPU part is skipped (printed), the rest still runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "backend/device.h"
#include "check/backend_check.h"
#include "testutil.h"

typedef void (*AnyFn)(void);

static void test_entries_listed_and_covered(void **state)
{
    (void)state;
    const DtclBackendEntry *e;
    int n = dtcl_backend_entries(&e);
    size_t first = offsetof(DtclBackend, alloc);
    printf(" %d entries in backend.h; %zu in the table after its header fields\n", n,
           (sizeof(DtclBackend) - first) / sizeof(AnyFn));
    assert_int_equal((size_t)n, (sizeof(DtclBackend) - first) / sizeof(AnyFn));
    for (int k = 0; k < n; k++) {
        assert_int_equal(e[k].offset, first + (size_t)k * sizeof(AnyFn)); /* in the table's order */
        int used = dtcl_backend_cases_using(e[k].offset);
        if (used == 0)
            fail_msg("backend entry %s is run by no case of check/backend_check.c", e[k].name);
    }
}

static void tables_complete(const DtclBackend *be)
{
    const DtclBackendEntry *e;
    int n = dtcl_backend_entries(&e);
    for (int k = 0; k < n; k++) {
        AnyFn f;
        memcpy(&f, (const char *)be + e[k].offset, sizeof f);
        if (!f)
            fail_msg("the %s table has no %s", be->device, e[k].name);
    }
}

static void check_against_cpu(const DtclBackend *be)
{
    DtclCheckTable tab = {0};
    DtclError err;
    if (dtcl_backend_check(&tab, be, 11, &err) != 0)
        fail_msg("%s", err.msg);
    dtcl_check_print(&tab, stdout);
    int bad = dtcl_check_failures(&tab);
    printf(" %s: %d rows, %d outside their tolerance\n", be->device, tab.n, bad);
    dtcl_check_free(&tab);
    assert_int_equal(bad, 0);
}

static void test_cpu(void **state)
{
    (void)state;
    tables_complete(&dtcl_backend_cpu);
    check_against_cpu(&dtcl_backend_cpu);
}

static void test_device(void **state)
{
    (void)state;
    const DtclBackend *be = dtcl_device_backend(DTCL_DEVICE_CUDA);
    if (!be) {
        printf(" no CUDA table in this build (configure --enable-cuda or --enable-cuda-emulation)\n");
        return;
    }
    tables_complete(be);
    if (!dtcl_device_cuda_available()) {
        printf(" SKIPPED the GPU's cases: no CUDA device\n");
        return;
    }
    check_against_cpu(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_entries_listed_and_covered), cmocka_unit_test(test_cpu),
                                       cmocka_unit_test(test_device)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
