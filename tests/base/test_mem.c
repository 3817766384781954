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

/* A mount of a cgroup hierarchy at test_tmpdir()/rel showing group `root`. */
static const struct cim_mem_mount *mnt_at(const char *rel, const char *root)
{
    static struct cim_mem_mount m[4];
    static int k;
    k = (k + 1) % 4;
    snprintf(m[k].dir, sizeof m[k].dir, "%s/%s", test_tmpdir(), rel);
    snprintf(m[k].root, sizeof m[k].root, "%s", root);
    return &m[k];
}

/* The same showing the whole hierarchy. */
static const struct cim_mem_mount *mnt(const char *rel)
{
    return mnt_at(rel, "/");
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
    const struct cim_mem_mount whole = *mnt("v2"), *root = &whole;
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/a/b/c\n", root, NULL), 3 * GIB);
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/a/b\n", root, NULL), 3 * GIB);
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/\n", root, NULL), UINT64_MAX);
    /* a container: its own group is the mount's root, the path is not there */
    put("v2c/memory.max", "536870912\n");
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/system.slice/docker-1.scope\n", mnt("v2c"), NULL),
                      GIB / 2);
    /* a group outside the namespace's view: the root only */
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/../../x\n", root, NULL), UINT64_MAX);
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/../../x\n", mnt("v2c"), NULL), GIB / 2);
    /* no line of v2, a damaged limit, no file at all */
    ck_assert_uint_eq(cim_mem_cgroup_limit("4:memory:/a\n", root, NULL), UINT64_MAX);
    put("v2d/memory.max", "lots\n");
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/\n", mnt("v2d"), NULL), UINT64_MAX);
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/\n", mnt("nowhere"), NULL), UINT64_MAX);
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
    ck_assert_uint_eq(cim_mem_cgroup_limit(proc, NULL, mnt("v1")), 2 * GIB);
    ck_assert_uint_eq(cim_mem_cgroup_limit("4:cpu,memory:/job", NULL, mnt("v1")), 2 * GIB);
    ck_assert_uint_eq(cim_mem_cgroup_limit("4:memoryx:/job\n", NULL, mnt("v1")), UINT64_MAX);
    ck_assert_uint_eq(cim_mem_cgroup_limit("4:memory:/other\n", NULL, mnt("v1")),
                      9223372036854771712u);
    /* both: v2 allows less */
    put("v2h/memory.max", "1073741824\n");
    ck_assert_uint_eq(cim_mem_cgroup_limit(proc, mnt("v2h"), mnt("v1")), GIB);
    ck_assert_uint_eq(cim_mem_cgroup_limit(proc, NULL, NULL), UINT64_MAX);
}
END_TEST

/* A mount that shows one group only (a container's, bind-mounted): the path
 * is looked up less the mount's root; a path the mount does not show gets the
 * mount's own limit. */
START_TEST(test_mount_root)
{
    put("bind/memory.max", "2147483648\n");
    put("bind/job/memory.max", "1073741824\n");
    const struct cim_mem_mount *m = mnt_at("bind", "/system.slice/box.scope");
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/system.slice/box.scope/job\n", m, NULL), GIB);
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/system.slice/box.scope\n", m, NULL), 2 * GIB);
    m = mnt_at("bind", "/system.slice/box.scope/");
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/system.slice/box.scope/job\n", m, NULL), GIB);
    /* not a prefix at a component boundary, and a group elsewhere: the root only */
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/system.slice/box.scopex/job\n", m, NULL),
                      2 * GIB);
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/user.slice/job\n", m, NULL), 2 * GIB);
    /* the same directory seen as the whole hierarchy: job is not found there */
    ck_assert_uint_eq(cim_mem_cgroup_limit("0::/system.slice/box.scope/job\n", mnt("bind"), NULL),
                      2 * GIB);
}
END_TEST

/* Mount points from /proc/self/mountinfo: cgroup v2 alone, v2 beside v1
 * (hybrid, at .../unified), v1's memory controller among others or joined
 * with another one, optional tags, escaped spaces, and lines to pass over. */
START_TEST(test_mounts)
{
    struct cim_mem_mount v2 = {"-", "-"}, v1 = {"-", "-"};
    const char *pure = "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
                       "30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev shared:9 - cgroup2 cgroup2 "
                       "rw,nsdelegate,memory_recursiveprot\n";
    ck_assert_int_eq(cim_mem_cgroup_mounts(pure, &v2, &v1), 1);
    ck_assert_str_eq(v2.dir, "/sys/fs/cgroup");
    ck_assert_str_eq(v2.root, "/");
    ck_assert_str_eq(v1.dir, "-");

    const char *hybrid = "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
                         "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
                         "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
                         "39 30 0:36 / /sys/fs/cgroup/memoryx rw - cgroup cgroup rw,memoryx\n"
                         "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    ck_assert_int_eq(cim_mem_cgroup_mounts(hybrid, &v2, &v1), 3);
    ck_assert_str_eq(v2.dir, "/sys/fs/cgroup/unified");
    ck_assert_str_eq(v1.dir, "/sys/fs/cgroup/memory");

    const char *odd = "7 1 0:5 /docker/ab /mnt/my\\040cg rw master:3 shared:4 - cgroup cg "
                      "rw,cpu,memory\n"
                      "broken line - cgroup2\n"
                      "8 1 0:6 / /x rw - cgroup2\n"
                      "9 1 0:7 / /y rw - cgroup2 cgroup2 rw\n"
                      "10 1 0:8 / /z rw - cgroup2 cgroup2 rw";
    v2 = v1 = (struct cim_mem_mount){"-", "-"};
    ck_assert_int_eq(cim_mem_cgroup_mounts(odd, &v2, &v1), 3);
    ck_assert_str_eq(v1.dir, "/mnt/my cg");
    ck_assert_str_eq(v1.root, "/docker/ab");
    ck_assert_str_eq(v2.dir, "/y");
    ck_assert_int_eq(cim_mem_cgroup_mounts("", &v2, &v1), 0);
    ck_assert_int_eq(cim_mem_cgroup_mounts("1 2 3 / /a rw - ext4 /dev/sda1 rw\n", &v2, &v1), 0);
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
    tcase_add_test(tc, test_mount_root);
    tcase_add_test(tc, test_mounts);
    tcase_add_test(tc, test_self);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(base_suite)
