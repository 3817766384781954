/* test_atomic.c: write-then-rename of output files (data/atomic.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/atomic.h"
#include "data_testutil.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------ */

/* A fresh directory per test, so that listing it shows only what the test made. */
static void scratch_begin(void)
{
    scratch_open("atomic");
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

static void assert_text(const char *path, const char *text)
{
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    ck_assert_str_eq(buf, text);
}

#define assert_err(err, want, phrase)                                                    \
    do {                                                                                 \
        ck_assert_int_eq((err).code, (want));                                            \
        ck_assert_msg(strstr((err).msg, (phrase)) != NULL, "message '%s' lacks '%s'",    \
                      (err).msg, (phrase));                                              \
    } while (0)

/* ---- tests -------------------------------------------------------------------- */

START_TEST(test_commit_creates_file)
{
    scratch_begin();
    struct cim_err err = {0};
    struct data_atomic a;
    const char *path = scratch("out.txt");
    ck_assert_int_eq(data_atomic_begin(&a, path, &err), CIM_OK);
    ck_assert_str_eq(a.path, path);

    /* "<dir>/.<base>.tmp-<pid>-<n>-<tag>" */
    char prefix[900];
    snprintf(prefix, sizeof prefix, "%s/.out.txt.tmp-%ld-", scratch_dir, (long)getpid());
    ck_assert_msg(strncmp(a.tmp_path, prefix, strlen(prefix)) == 0, "temporary name %s",
                  a.tmp_path);
    ck_assert_int_eq(scratch_count(), 0);

    write_text(a.tmp_path, "2.385\n");
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(data_atomic_commit(&a, &err), CIM_OK);
    assert_text(path, "2.385\n");
    ck_assert_int_eq(scratch_count(), 1);
    ck_assert_int_eq(err.code, CIM_OK);
    scratch_end();
}
END_TEST

START_TEST(test_commit_replaces_file)
{
    scratch_begin();
    struct cim_err err = {0};
    struct data_atomic a;
    const char *path = scratch("out.txt");
    write_text(path, "old\n");
    ck_assert_int_eq(data_atomic_begin(&a, path, &err), CIM_OK);
    write_text(a.tmp_path, "new\n");
    assert_text(path, "old\n");
    ck_assert_int_eq(data_atomic_commit(&a, &err), CIM_OK);
    assert_text(path, "new\n");
    ck_assert_int_eq(scratch_count(), 1);
    scratch_end();
}
END_TEST

START_TEST(test_abort_removes_temporary)
{
    scratch_begin();
    struct cim_err err = {0};
    struct data_atomic a;
    const char *path = scratch("out.txt");
    write_text(path, "old\n");
    ck_assert_int_eq(data_atomic_begin(&a, path, &err), CIM_OK);
    write_text(a.tmp_path, "half");
    ck_assert_int_eq(scratch_count(), 2);
    data_atomic_abort(&a);
    ck_assert_int_eq(scratch_count(), 1);
    assert_text(path, "old\n");
    /* A second abort, and an abort of nothing, are harmless. */
    data_atomic_abort(&a);
    data_atomic_abort(NULL);
    scratch_end();
}
END_TEST

START_TEST(test_abort_before_writing)
{
    scratch_begin();
    struct data_atomic a;
    ck_assert_int_eq(data_atomic_begin(&a, scratch("never.txt"), NULL), CIM_OK);
    data_atomic_abort(&a);
    ck_assert_int_eq(scratch_count(), 0);
    scratch_end();
}
END_TEST

START_TEST(test_names_are_unique)
{
    scratch_begin();
    struct data_atomic a, b;
    ck_assert_int_eq(data_atomic_begin(&a, scratch("x"), NULL), CIM_OK);
    ck_assert_int_eq(data_atomic_begin(&b, scratch("x"), NULL), CIM_OK);
    ck_assert_str_ne(a.tmp_path, b.tmp_path);
    scratch_end();
}
END_TEST

START_TEST(test_relative_name)
{
    scratch_begin();
    ck_assert_int_eq(chdir(scratch_dir), 0);
    struct cim_err err = {0};
    struct data_atomic a;
    ck_assert_int_eq(data_atomic_begin(&a, "rel.txt", &err), CIM_OK);
    ck_assert_msg(strncmp(a.tmp_path, ".rel.txt.tmp-", 13) == 0, "temporary name %s", a.tmp_path);
    write_text(a.tmp_path, "r\n");
    ck_assert_int_eq(data_atomic_commit(&a, &err), CIM_OK);
    assert_text(scratch("rel.txt"), "r\n");
    ck_assert_int_eq(scratch_count(), 1);
    scratch_end();
}
END_TEST

START_TEST(test_missing_directory)
{
    scratch_begin();
    struct cim_err err = {0};
    struct data_atomic a;
    const char *path = scratch("no/such/dir/out.h5");
    ck_assert_int_eq(data_atomic_begin(&a, path, &err), CIM_EIO);
    assert_err(err, CIM_EIO, "no/such/dir");
    assert_err(err, CIM_EIO, "No such file or directory");
    ck_assert_ptr_null(strchr(err.msg, '\n'));
    ck_assert_int_eq(scratch_count(), 0);
    scratch_end();
}
END_TEST

START_TEST(test_directory_is_a_file)
{
    scratch_begin();
    struct cim_err err = {0};
    struct data_atomic a;
    write_text(scratch("plain"), "x");
    ck_assert_int_eq(data_atomic_begin(&a, scratch("plain/out.h5"), &err), CIM_EIO);
    assert_err(err, CIM_EIO, "not a directory");
    scratch_end();
}
END_TEST

START_TEST(test_refuses_device)
{
    /* As root the rename would replace /dev/full with a regular file. */
    struct cim_err err = {0};
    struct data_atomic a;
    ck_assert_int_eq(data_atomic_begin(&a, "/dev/full", &err), CIM_EIO);
    assert_err(err, CIM_EIO, "/dev/full: exists and is not a regular file");
    struct stat st;
    ck_assert_int_eq(stat("/dev/full", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
}
END_TEST

START_TEST(test_refuses_directory_target)
{
    scratch_begin();
    struct cim_err err = {0};
    struct data_atomic a;
    ck_assert_int_eq(mkdir(scratch("sub"), 0700), 0);
    ck_assert_int_eq(data_atomic_begin(&a, scratch("sub"), &err), CIM_EIO);
    assert_err(err, CIM_EIO, "not a regular file");
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(data_atomic_begin(&a, scratch("sub/"), &err), CIM_EINVAL);
    assert_err(err, CIM_EINVAL, "names a directory");
    rmdir(scratch("sub"));
    scratch_end();
}
END_TEST

START_TEST(test_directory_not_writable)
{
    /* Root may write anywhere, so the check can only be seen by other users. */
    if (geteuid() == 0)
        return;
    scratch_begin();
    struct cim_err err = {0};
    struct data_atomic a;
    ck_assert_int_eq(mkdir(scratch("ro"), 0500), 0);
    ck_assert_int_eq(data_atomic_begin(&a, scratch("ro/out.h5"), &err), CIM_EIO);
    assert_err(err, CIM_EIO, "cannot write in directory");
    rmdir(scratch("ro"));
    scratch_end();
}
END_TEST

START_TEST(test_bad_names)
{
    struct cim_err err = {0};
    struct data_atomic a;
    ck_assert_int_eq(data_atomic_begin(&a, "", &err), CIM_EINVAL);
    assert_err(err, CIM_EINVAL, "empty");

    char *longname = malloc(DATA_PATH_MAX + 10);
    ck_assert_ptr_nonnull(longname);
    memset(longname, 'a', DATA_PATH_MAX + 9);
    longname[DATA_PATH_MAX + 9] = '\0';
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(data_atomic_begin(&a, longname, &err), CIM_EINVAL);
    assert_err(err, CIM_EINVAL, "longer than");

    /* Fits as a name, but not with the temporary suffix beside it. */
    longname[DATA_PATH_MAX - 5] = '\0';
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(data_atomic_begin(&a, longname, &err), CIM_EINVAL);
    assert_err(err, CIM_EINVAL, "too long");
    free(longname);
}
END_TEST

START_TEST(test_commit_without_temporary)
{
    scratch_begin();
    struct cim_err err = {0};
    struct data_atomic a;
    const char *path = scratch("out.txt");
    ck_assert_int_eq(data_atomic_begin(&a, path, &err), CIM_OK);
    /* Nothing was written under the temporary name. */
    ck_assert_int_eq(data_atomic_commit(&a, &err), CIM_EIO);
    assert_err(err, CIM_EIO, "cannot open temporary file");
    ck_assert_int_eq(scratch_count(), 0);
    scratch_end();
}
END_TEST

START_TEST(test_rename_failure_removes_temporary)
{
    scratch_begin();
    struct cim_err err = {0};
    struct data_atomic a;
    const char *path = scratch("target");
    ck_assert_int_eq(data_atomic_begin(&a, path, &err), CIM_OK);
    write_text(a.tmp_path, "data");
    /* Between begin and commit the target became a non-empty directory, which
     * rename() cannot replace with a file. */
    ck_assert_int_eq(mkdir(path, 0700), 0);
    write_text(scratch("target/inside"), "x");
    ck_assert_int_eq(data_atomic_commit(&a, &err), CIM_EIO);
    assert_err(err, CIM_EIO, "cannot rename");
    ck_assert_int_eq(access(a.tmp_path, F_OK), -1);
    ck_assert_int_eq(scratch_count(), 1);
    unlink(scratch("target/inside"));
    rmdir(path);
    scratch_end();
}
END_TEST

/* A pid that is certainly dead: a child that has exited and been reaped (its
 * pid is not reused this soon: the kernel hands out pids in increasing order). */
static pid_t dead_pid(void)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(0);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    return pid;
}

/* Create scratch file ".<base>.tmp-<pid>-<n><rest>" (rest: "-<tag>" or other). */
static const char *tmp_file(const char *base, long pid, int n, const char *rest)
{
    char name[300];
    snprintf(name, sizeof name, ".%s.tmp-%ld-%d%s", base, pid, n, rest);
    const char *p = scratch(name);
    write_text(p, "half");
    return p;
}

/* A commit removes the temporary files of its name whose writer is dead, and
 * keeps those of live writers (another process, or this one), of another
 * process table (tag), of another form and of other names. */
START_TEST(test_stale_temporaries)
{
    scratch_begin();
    struct cim_err err = {0};
    struct data_atomic a;
    char path[600];
    snprintf(path, sizeof path, "%s", scratch("out.txt"));
    ck_assert_int_eq(data_atomic_begin(&a, path, &err), CIM_OK);
    char tag[16];
    const char *t = strrchr(a.tmp_path, '-');
    ck_assert_ptr_nonnull(t);
    snprintf(tag, sizeof tag, "%s", t);
    ck_assert_int_eq(strlen(tag), 9);

    const pid_t dead = dead_pid();
    pid_t live = fork();
    ck_assert_int_ge(live, 0);
    if (live == 0) {
        pause();
        _exit(0);
    }
    char stale[600], alive[600], mine[600], other_tag[600], old_form[600], other_name[600];
    snprintf(stale, sizeof stale, "%s", tmp_file("out.txt", dead, 3, tag));
    snprintf(alive, sizeof alive, "%s", tmp_file("out.txt", live, 0, tag));
    snprintf(mine, sizeof mine, "%s", tmp_file("out.txt", getpid(), 999, tag));
    snprintf(other_tag, sizeof other_tag, "%s",
             tmp_file("out.txt", dead, 4, strcmp(tag, "-00000000") ? "-00000000" : "-11111111"));
    snprintf(old_form, sizeof old_form, "%s", tmp_file("out.txt", dead, 5, ""));
    snprintf(other_name, sizeof other_name, "%s", tmp_file("out.txt2", dead, 6, tag));
    ck_assert_int_eq(scratch_count(), 6);

    write_text(a.tmp_path, "2.385\n");
    ck_assert_int_eq(data_atomic_commit(&a, &err), CIM_OK);
    assert_text(path, "2.385\n");
    ck_assert_msg(access(stale, F_OK) == -1, "%s survived the commit", stale);
    ck_assert_int_eq(access(alive, F_OK), 0);
    ck_assert_int_eq(access(mine, F_OK), 0);
    ck_assert_int_eq(access(other_tag, F_OK), 0);
    ck_assert_int_eq(access(old_form, F_OK), 0);
    ck_assert_int_eq(access(other_name, F_OK), 0);

    /* once its writer is gone, the next clean takes it */
    ck_assert_int_eq(kill(live, SIGKILL), 0);
    ck_assert_int_eq(waitpid(live, NULL, 0), live);
    data_atomic_clean(path);
    ck_assert_int_eq(access(alive, F_OK), -1);
    ck_assert_int_eq(access(mine, F_OK), 0);
    ck_assert_int_eq(scratch_count(), 5);
    data_atomic_clean(NULL);
    data_atomic_clean("");
    scratch_end();
}
END_TEST

static Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("atomic");
    tcase_add_test(tc, test_commit_creates_file);
    tcase_add_test(tc, test_commit_replaces_file);
    tcase_add_test(tc, test_abort_removes_temporary);
    tcase_add_test(tc, test_abort_before_writing);
    tcase_add_test(tc, test_names_are_unique);
    tcase_add_test(tc, test_relative_name);
    tcase_add_test(tc, test_missing_directory);
    tcase_add_test(tc, test_directory_is_a_file);
    tcase_add_test(tc, test_directory_not_writable);
    tcase_add_test(tc, test_refuses_device);
    tcase_add_test(tc, test_refuses_directory_target);
    tcase_add_test(tc, test_bad_names);
    tcase_add_test(tc, test_commit_without_temporary);
    tcase_add_test(tc, test_rename_failure_removes_temporary);
    tcase_add_test(tc, test_stale_temporaries);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(data_suite)
