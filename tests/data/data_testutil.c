/* data_testutil.c: helpers of the data tests; see data_testutil.h. */
#include "data_testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- one fresh directory per test ------------------------------------------------ */

/* A fresh directory per test, so that listing it shows only what the test made. */
char scratch_dir[600];

void scratch_open(const char *prefix)
{
    snprintf(scratch_dir, sizeof scratch_dir, "%s/%s-XXXXXX", test_tmpdir(), prefix);
    ck_assert_ptr_nonnull(mkdtemp(scratch_dir));
}

const char *scratch(const char *name)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", scratch_dir, name);
    return buf[k];
}

int scratch_count(void)
{
    DIR *d = opendir(scratch_dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

void scratch_end(void)
{
    DIR *d = opendir(scratch_dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlink(scratch(e->d_name));
    closedir(d);
    rmdir(scratch_dir);
    /* test_tmpdir() makes one directory per forked test; remove it when empty.
     * Without fork it is shared by all tests and must stay. */
    const char *fork = getenv("CK_FORK");
    if (fork == NULL || strcmp(fork, "no") != 0)
        rmdir(test_tmpdir());
}

/* ---- one directory per test case ------------------------------------------------- */

void rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char sub[1024];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                rm_tree(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

void tmp_setup(void)
{
    (void)test_tmpdir();
}

void tmp_teardown(void)
{
    rm_tree(test_tmpdir());
}
