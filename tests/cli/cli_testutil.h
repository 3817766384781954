/*
 * cli_testutil.h: running the `cim` program from a test.
 *
 * test_run_cim() forks $CIM_BIN (set by meson) with the given arguments, waits,
 * and keeps its exit status, stdout and stderr (through files, so that large
 * outputs never block); test_tmp() names a file in the test program's scratch
 * directory.
 *
 *     static struct cli_run r;
 *     test_run_cim(&r, (const char *[]){"eval", path, "--json", NULL});
 *     ck_assert_msg(r.status == 0, "%s", r.err);
 */
#ifndef CIM_TESTS_CLI_TESTUTIL_H
#define CIM_TESTS_CLI_TESTUTIL_H

#define CLI_RUN_MAX (1 << 16)

struct cli_run {
    int status; /* exit code, or 128 + signal */
    char out[CLI_RUN_MAX];
    char err[CLI_RUN_MAX];
};

/* Run $CIM_BIN with the NULL-terminated arguments (at most 510). */
void test_run_cim(struct cli_run *r, const char *const *args);

/* Run the program argv[0] (a path) with the NULL-terminated argv (at most 510
 * entries); exit status and both outputs in r. For tools other than cim. */
void test_run_prog(struct cli_run *r, const char *const *argv);

/* The mpirun that tests may use ($CIM_MPIRUN, set by meson when cim is built
 * with MPI and mpirun is installed), or NULL. */
const char *test_mpirun(void);

/* Run $CIM_BIN under `mpirun --oversubscribe -n nprocs` (with
 * --allow-run-as-root when the test runs as root) with the arguments; the exit
 * status of mpirun and both outputs in r. Needs test_mpirun(). Under
 * AddressSanitizer (ASAN_OPTIONS set) the processes skip the leak check:
 * Open MPI's own allocations live until exit. */
void test_run_cim_mpi(struct cli_run *r, int nprocs, const char *const *args);

/* The same with the size of every file cim writes limited to `fsize_max` bytes
 * (RLIMIT_FSIZE, SIGXFSZ ignored): a write past it fails with EFBIG, as a write
 * to a full disk fails with ENOSPC. Root ignores permission bits and /dev/full
 * is refused as a target (see data/atomic.h), so this is how a test makes
 * writing fail part-way. */
void test_run_cim_fsize(struct cli_run *r, const char *const *args, long fsize_max);

/* Run cim with `args`; assert exit status `code` and exactly one line on stderr
 * that contains `needle`. Returns the run (a static buffer, valid until the
 * next call) for further checks. */
const struct cli_run *expect_error(const char *const *args, int code, const char *needle);

/* Start $CIM_BIN with the arguments (output discarded) and kill it with
 * SIGKILL as soon as `path` exists (polled every millisecond, for at most 120
 * s). Returns 1 when it was killed, 0 when it ended first. */
int test_run_cim_killed_at(const char *const *args, const char *path);

/* Start $CIM_BIN with the arguments (output discarded) and kill it with
 * SIGKILL `seconds` after it started, unless it ends first (polled every
 * millisecond). Returns 1 when it was killed, 0 when it ended first, its exit
 * status (or 128 + signal) then in *status when status is not NULL. */
int test_run_cim_killed_after(const char *const *args, double seconds, int *status);

/* A monotonic clock, in seconds. */
double test_now(void);

/* "<scratch dir>/<name>", in one of 8 rotating buffers. */
const char *test_tmp(const char *name);

/* Whether `path` exists. */
int test_exists(const char *path);

/* The number of lines of s. */
int test_count_lines(const char *s);

#endif
