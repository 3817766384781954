/* cli_testutil.c: running the cim program from a test; see cli_testutil.h. */
#include "cli_testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static void slurp(const char *path, char *buf)
{
    int fd = open(path, O_RDONLY);
    size_t n = 0;
    ssize_t r;
    while (fd >= 0 && (r = read(fd, buf + n, CLI_RUN_MAX - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    if (fd >= 0)
        close(fd);
}

/* Fork pre[0] with the arguments pre[1..] and then args (both NULL-terminated;
 * at most 510 in all), its stdout and stderr on the files out and err (either
 * may be "/dev/null"), every file it writes limited to fsize_max bytes when
 * that is positive; returns the child's pid. */
static pid_t spawn(const char *const *pre, const char *const *args, const char *out,
                   const char *err, long fsize_max)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        if (fsize_max > 0) {
            struct rlimit rl = {(rlim_t)fsize_max, (rlim_t)fsize_max};
            signal(SIGXFSZ, SIG_IGN); /* kept across exec: writes fail with EFBIG instead */
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(126);
        }
        char *argv[512];
        int n = 0;
        for (int i = 0; pre[i] != NULL && n < 511; i++)
            argv[n++] = (char *)pre[i];
        for (int i = 0; args[i] != NULL && n < 511; i++)
            argv[n++] = (char *)args[i];
        argv[n] = NULL;
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static const char *cim_bin(void)
{
    const char *bin = getenv("CIM_BIN");
    ck_assert_msg(bin != NULL && *bin, "CIM_BIN is not set");
    return bin;
}

static pid_t spawn_cim(const char *const *args, const char *out, const char *err)
{
    return spawn((const char *[]){cim_bin(), NULL}, args, out, err, 0);
}

/* Run pre + args to the end (files limited to fsize_max bytes when positive);
 * status and outputs in r. */
static void run_to_end(struct cli_run *r, const char *const *pre, const char *const *args,
                       long fsize_max)
{
    char po[600], pe[600];
    snprintf(po, sizeof po, "%s/stdout", test_tmpdir());
    snprintf(pe, sizeof pe, "%s/stderr", test_tmpdir());
    pid_t pid = spawn(pre, args, po, pe, fsize_max);
    int st;
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    slurp(po, r->out);
    slurp(pe, r->err);
}

void test_run_cim(struct cli_run *r, const char *const *args)
{
    run_to_end(r, (const char *[]){cim_bin(), NULL}, args, 0);
}

void test_run_prog(struct cli_run *r, const char *const *argv)
{
    run_to_end(r, argv, (const char *[]){NULL}, 0);
}

void test_run_cim_fsize(struct cli_run *r, const char *const *args, long fsize_max)
{
    run_to_end(r, (const char *[]){cim_bin(), NULL}, args, fsize_max);
}

const struct cli_run *expect_error(const char *const *args, int code, const char *needle)
{
    static struct cli_run r;
    test_run_cim(&r, args);
    ck_assert_msg(r.status == code, "%s ...: exit %d, expected %d; stderr: %s", args[0], r.status,
                  code, r.err);
    ck_assert_msg(test_count_lines(r.err) == 1, "expected one line on stderr, got: %s", r.err);
    ck_assert_msg(strstr(r.err, needle) != NULL, "stderr '%s' lacks '%s'", r.err, needle);
    return &r;
}

const char *test_mpirun(void)
{
    const char *m = getenv("CIM_MPIRUN");
    return m != NULL && *m ? m : NULL;
}

void test_run_cim_mpi(struct cli_run *r, int nprocs, const char *const *args)
{
    char n[16];
    snprintf(n, sizeof n, "%d", nprocs);
    ck_assert_msg(test_mpirun() != NULL, "CIM_MPIRUN is not set");
    /* more processes than the cores mpirun counts are fine; root needs its consent */
    const char *pre[] = {test_mpirun(), "--oversubscribe", "-n", n, cim_bin(), NULL, NULL};
    if (getuid() == 0) {
        memmove(pre + 2, pre + 1, 4 * sizeof *pre);
        pre[1] = "--allow-run-as-root";
    }
    /* Open MPI keeps allocations until exit in plug-ins it has unloaded by then,
     * which LeakSanitizer cannot name to suppress: no leak check under mpirun
     * (the sanitizer build checks the same code in one process) */
    const char *asan = getenv("ASAN_OPTIONS");
    char *saved = asan != NULL ? strdup(asan) : NULL;
    if (asan != NULL) {
        char opts[1024];
        snprintf(opts, sizeof opts, "%s:detect_leaks=0", asan);
        setenv("ASAN_OPTIONS", opts, 1);
    }
    run_to_end(r, pre, args, 0);
    if (saved != NULL)
        setenv("ASAN_OPTIONS", saved, 1);
    free(saved);
}

int test_run_cim_killed_at(const char *const *args, const char *path)
{
    pid_t pid = spawn_cim(args, "/dev/null", "/dev/null");
    int killed = 0;
    for (int waited = 0; waited < 120000 && !killed; waited++) {
        if (test_exists(path)) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        int st;
        if (!killed && waitpid(pid, &st, WNOHANG) == pid)
            return 0;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    waitpid(pid, NULL, 0);
    return killed;
}

double test_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int test_run_cim_killed_after(const char *const *args, double seconds, int *status)
{
    const double t0 = test_now();
    pid_t pid = spawn_cim(args, "/dev/null", "/dev/null");
    for (;;) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            if (status != NULL)
                *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return 0;
        }
        if (test_now() - t0 >= seconds)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 1;
}

const char *test_tmp(const char *name)
{
    static char buf[8][600];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

int test_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int test_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}
