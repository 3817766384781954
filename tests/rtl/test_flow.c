/*
 * test_flow.c: the synthesis flow of rtl/flow/ on its smallest configuration
 * (slow tier): `rtl/flow/sweep BUILDDIR quick` must synthesize a 3-lane
 * cim_dot (its datapath mapped and simulated apart, then replayed) and a
 * small cim_shift_add to the OSU 0.18 um cells, match the C model at gate
 * level with and without gate delays, meet the 10 ns clock and report
 * positive area, cell count and energy, the glitch-inclusive energy no
 * smaller than the zero-delay one. The flow itself fails on any of those;
 * this test checks that it ran and that its table is well formed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "rtl_run.h"
#include "testutil.h"

#define TEXT_MAX 8000

START_TEST(test_quick_sweep)
{
    rtl_tool("CIM_YOSYS", "yosys");
    rtl_tool("CIM_STA", "opensta");
    rtl_tool("CIM_IVERILOG", "iverilog");
    const char *gen = rtl_tool("CIM_RTL_VECTORS", "(built by meson: rtl-vectors)");
    const char *src = getenv("CIM_SRCDIR");
    ck_assert_msg(src != NULL && *src != '\0', "CIM_SRCDIR is not set");
    /* The build directory is the generator's, two levels up. */
    char build[1024];
    snprintf(build, sizeof build, "%s", gen);
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(build, '/');
        ck_assert_ptr_nonnull(slash);
        *slash = '\0';
    }
    char cmd[4096], csv[1100], log[1100], text[TEXT_MAX];
    snprintf(csv, sizeof csv, "%s/quick.csv", test_tmpdir());
    snprintf(log, sizeof log, "%s/sweep.log", test_tmpdir());
    snprintf(cmd, sizeof cmd, "WORK='%s/work' '%s/rtl/flow/sweep' '%s' quick '%s'",
             test_tmpdir(), src, build, csv);
    int st = rtl_run(cmd, log);
    ck_assert_msg(st == 0, "sweep failed (status %d):\n%s", st, rtl_slurp(log, text, sizeof text));

    FILE *f = fopen(csv, "r");
    ck_assert_msg(f != NULL, "no %s", csv);
    char line[2048];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_msg(strncmp(line, "unit,params,area_um2,cells,slack_ns,", 36) == 0, "header: %s",
                  line);
    int rows = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        char unit[64], params[512];
        double area, slack, pdyn, pleak, energy, pdyn_glitch, energy_glitch;
        int cells;
        int got = sscanf(line, "%63[^,],%511[^,],%lf,%d,%lf,%lf,%lf,%lf,%lf,%lf", unit, params,
                         &area, &cells, &slack, &pdyn, &pleak, &energy, &pdyn_glitch,
                         &energy_glitch);
        ck_assert_msg(got == 10, "row %d unreadable: %s", rows, line);
        ck_assert_msg(area > 0.0 && cells > 0 && slack > 0.0 && pdyn > 0.0 && energy > 0.0,
                      "row %d: %s", rows, line);
        /* With gate delays every net still makes each zero-delay transition,
         * and glitches only add to them. */
        ck_assert_msg(energy_glitch >= energy, "row %d: glitch energy below zero-delay: %s",
                      rows, line);
        rows++;
    }
    fclose(f);
    ck_assert_int_eq(rows, 2);
}
END_TEST

static Suite *flow_suite(void)
{
    Suite *s = suite_create("rtl");
    TCase *tc = tcase_create("flow");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_quick_sweep);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(flow_suite)
