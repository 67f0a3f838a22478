/* test_csv.c: the CSV parser: quoting, line ends, BOM, blank lines, and a
 * message with the line number for every malformed table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/csv.h"
#include "testutil.h"

static DtclCsv parse_ok(const char *s)
{
    DtclCsv c;
    DtclError err;
    if (dtcl_csv_parse(s, strlen(s), &c, &err) != 0)
        fail_msg("%s", err.msg);
    return c;
}

static void parse_bad(const char *s, const char *needle)
{
    DtclCsv c;
    DtclError err;
    assert_int_equal(dtcl_csv_parse(s, strlen(s), &c, &err), -1);
    printf("  rejected: %s\n", err.msg);
    assert_non_null(strstr(err.msg, needle));
}

static void test_basic(void **state)
{
    (void)state;
    DtclCsv c = parse_ok("\xef\xbb\xbfid,patient,label\r\na1,p1,1\r\n\"a,2\",\"p \"\"x\"\"\",\r\n\na3,p3,0");
    assert_int_equal(c.ncols, 3);
    assert_int_equal(c.nrows, 3);
    assert_string_equal(c.cells[0], "id");
    assert_int_equal(dtcl_csv_column(&c, "label"), 2);
    assert_int_equal(dtcl_csv_column(&c, "nope"), -1);
    assert_string_equal(dtcl_csv_cell(&c, 1, 0), "a,2");
    assert_string_equal(dtcl_csv_cell(&c, 1, 1), "p \"x\"");
    assert_string_equal(dtcl_csv_cell(&c, 1, 2), "");
    assert_string_equal(dtcl_csv_cell(&c, 2, 0), "a3");
    assert_int_equal(c.line[3], 5); /* the blank line 4 is skipped */
    dtcl_csv_free(&c);
    c = parse_ok("a,b\n1,\n");
    assert_int_equal(c.nrows, 1);
    assert_string_equal(dtcl_csv_cell(&c, 0, 1), "");
    dtcl_csv_free(&c);
    c = parse_ok("a\n\"multi\nline\"\n");
    assert_string_equal(dtcl_csv_cell(&c, 0, 0), "multi\nline");
    dtcl_csv_free(&c);
}

static void test_malformed(void **state)
{
    (void)state;
    parse_bad("", "empty file");
    parse_bad("\n\n", "empty file");
    parse_bad("a,b\n1,2,3\n", "line 2 has 3 fields; the header has 2");
    parse_bad("a,b\n1\n", "line 2 has 1 field; the header has 2");
    parse_bad("a,b\n\"1,2\n", "line 2: a quoted field is never closed");
    parse_bad("a,b\n\"1\"x,2\n", "text after a closing quote");
    char nul[] = "a,b\n1,2\n";
    nul[5] = 0;
    DtclCsv c;
    DtclError err;
    assert_int_equal(dtcl_csv_parse(nul, 8, &c, &err), -1);
    assert_non_null(strstr(err.msg, "NUL"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_basic), cmocka_unit_test(test_malformed)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
