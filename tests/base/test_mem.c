/* test_mem.c: the memory limit of a control group (base/mem.h), on sample files. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/mem.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------ */

/* test_tmpdir()/rel, its directories made as needed, holding `text`. */
static void put(const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), rel);
    for (char *p = path + strlen(test_tmpdir()) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0700);
            *p = '/';
        }
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static const char *dir(const char *rel)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), rel);
    return buf[k];
}

#define GIB ((uint64_t)1 << 30)

/* ---- tests -------------------------------------------------------------------- */

START_TEST(test_parse)
{
    uint64_t v = 7;
    ck_assert(cim_mem_limit_parse("max\n", &v) && v == UINT64_MAX);
    ck_assert(cim_mem_limit_parse("max", &v) && v == UINT64_MAX);
    ck_assert(cim_mem_limit_parse("2385\n", &v) && v == 2385);
    ck_assert(cim_mem_limit_parse("0\n", &v) && v == 0);
    ck_assert(cim_mem_limit_parse("9223372036854771712\n", &v) && v == 9223372036854771712u);
    ck_assert(cim_mem_limit_parse("18446744073709551615", &v) && v == UINT64_MAX);
    v = 7;
    const char *bad[] = {"", "\n", "18446744073709551616", "99999999999999999999999",
                         "-1", "+1", " 12", "12 ", "12a", "0x10", "1.5", "maximum", "Max\n",
                         "max\n\n", "12\n\n", "12\n13"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!cim_mem_limit_parse(bad[i], &v), "accepted '%s'", bad[i]);
    ck_assert_int_eq(v, 7);
}
END_TEST

/* cgroup v2: the group and its ancestors bound it, the smallest wins, "max" is
 * none, missing levels are skipped. */
START_TEST(test_v2)
{
    put("v2/memory.max", "max\n");
    put("v2/a/memory.max", "3221225472\n");
    put("v2/a/b/memory.max", "max\n");
    put("v2/a/b/c/memory.max", "4294967296\n");
    const char *root = dir("v2");
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/a/b/c\n", root, NULL), 3 * GIB);
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/a/b\n", root, NULL), 3 * GIB);
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/\n", root, NULL), UINT64_MAX);
    /* a container: its own group is the mount's root, the path is not there */
    put("v2c/memory.max", "536870912\n");
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/system.slice/docker-1.scope\n", dir("v2c"), NULL),
                      GIB / 2);
    /* a group outside the namespace's view: the root only */
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/../../x\n", root, NULL), UINT64_MAX);
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/../../x\n", dir("v2c"), NULL), GIB / 2);
    /* no line of v2, a damaged limit, no file at all */
    ck_assert_uint_eq(cim_mem_cgroup_limit("4:memory:/a\n", root, NULL), UINT64_MAX);
    put("v2d/memory.max", "lots\n");
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/\n", dir("v2d"), NULL), UINT64_MAX);
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/\n", dir("nowhere"), NULL), UINT64_MAX);
    ck_assert_uint_eq(cim_mem_cgroup_limit("", root, NULL), UINT64_MAX);
    ck_assert_uint_eq(cim_mem_cgroup_limit("garbage without colons", root, NULL), UINT64_MAX);
}
END_TEST

/* cgroup v1: the line of the memory controller (alone or among others), its
 * "unlimited" being a huge number; with both versions the smaller counts. */
START_TEST(test_v1)
{
    put("v1/memory.limit_in_bytes", "9223372036854771712\n");
    put("v1/job/memory.limit_in_bytes", "2147483648\n");
    const char *proc = "12:pids:/job\n4:memory:/job\n1:cpu,cpuacct:/job\n0::/\n";
    ck_assert_uint_eq(cim_mem_cgroup_limit(proc, NULL, dir("v1")), 2 * GIB);
    ck_assert_uint_eq(cim_mem_cgroup_limit("4:cpu,memory:/job", NULL, dir("v1")), 2 * GIB);
    ck_assert_uint_eq(cim_mem_cgroup_limit("4:memoryx:/job\n", NULL, dir("v1")), UINT64_MAX);
    ck_assert_uint_eq(cim_mem_cgroup_limit("4:memory:/other\n", NULL, dir("v1")),
                      9223372036854771712u);
    /* both: v2 allows less */
    put("v2h/memory.max", "1073741824\n");
    ck_assert_uint_eq(cim_mem_cgroup_limit(proc, dir("v2h"), dir("v1")), GIB);
    ck_assert_uint_eq(cim_mem_cgroup_limit(proc, NULL, NULL), UINT64_MAX);
}
END_TEST

/* This process: never more than the machine has, never zero. */
START_TEST(test_self)
{
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    const size_t total = cim_mem_total();
    ck_assert_uint_gt(total, 0);
    if (pages > 0 && page > 0)
        ck_assert_uint_le(total, (size_t)pages * (size_t)page);
    const uint64_t cg = cim_mem_cgroup_self();
    ck_assert_uint_le((uint64_t)total, cg);
}
END_TEST

static Suite *base_suite(void)
{
    Suite *s = suite_create("base");
    TCase *tc = tcase_create("mem");
    tcase_add_test(tc, test_parse);
    tcase_add_test(tc, test_v2);
    tcase_add_test(tc, test_v1);
    tcase_add_test(tc, test_self);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(base_suite)
