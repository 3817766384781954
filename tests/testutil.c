/* testutil.c: shared helpers of the test programs; see testutil.h. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char tmp_dir[512];
static pid_t tmp_owner;

/* Remove the scratch directory when the process that made it exits (Check forks
 * one process per test, and each makes its own). */
static void tmp_remove(void)
{
    if (tmp_dir[0] == '\0' || getpid() != tmp_owner)
        return;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test: could not remove %s\n", tmp_dir);
}

const char *test_tmpdir(void)
{
    if (tmp_dir[0] == '\0' || tmp_owner != getpid()) {
        const char *base = getenv("TMPDIR");
        snprintf(tmp_dir, sizeof tmp_dir, "%s/cim-test-XXXXXX", base && *base ? base : "/tmp");
        if (mkdtemp(tmp_dir) == NULL)
            return "/tmp";
        if (tmp_owner == 0)
            atexit(tmp_remove);
        tmp_owner = getpid();
    }
    return tmp_dir;
}

int test_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int test_python_has(const char *modules, const char *packages)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, TEST_PYTHON " -c 'import %s' >/dev/null 2>&1", modules);
    if (system(cmd) == 0)
        return 1;
    printf("skipped: " TEST_PYTHON " cannot import %s (Debian: %s; scripts/setup.sh installs "
           "them)\n", modules, packages);
    return 0;
}
