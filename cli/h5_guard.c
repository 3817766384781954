/*
 * h5_guard.c: a user's HDF5 file read with fault handlers around the read
 * (h5_guard.h says why).
 *
 * A signal handler may only call async-signal-safe functions, so the message
 * is formatted before the read and the handler does nothing but write() it and
 * _exit(). The handler runs on a stack of its own, so that a fault from a
 * runaway recursion inside the library still gets its line. SIGABRT is caught
 * as well: nothing of cim's on this path aborts, while glibc aborts when a
 * library's bad write has damaged the heap ("free(): invalid pointer").
 */
#define _XOPEN_SOURCE 700 /* sigaltstack, SA_ONSTACK */
#include "cli/h5_guard.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "cli/cli.h"

static const int fault_sig[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define N_FAULT ((int)(sizeof fault_sig / sizeof fault_sig[0]))

static struct {
    char head[1200]; /* "cim: FILE: damaged HDF5 file: libhdf5 crashed reading it (" */
    size_t head_len;
    struct sigaction old[N_FAULT];
    stack_t old_stack;
    int stack_set;
    struct rlimit old_as; /* the address-space limit before the read */
    int as_set;
    size_t budget;       /* bytes the read may add to the address space */
    rlim_t budget_limit; /* the address-space limit during the read */
} guard;

#define GIB ((size_t)1 << 30)

/* AddressSanitizer's allocator serves small blocks from address space it
 * reserved at start, which RLIMIT_AS does not bound, and dies instead of
 * returning NULL when a large mapping fails: there the bound is left off. */
#if defined(__SANITIZE_ADDRESS__)
#define CIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CIM_ASAN 1
#endif
#endif

static char alt_stack[1 << 16];

static void on_fault(int sig)
{
    static const char *const name[] = {"SIGSEGV)\n", "SIGBUS)\n", "SIGFPE)\n", "SIGILL)\n",
                                       "SIGABRT)\n"};
    const char *tail = "signal)\n";
    for (int i = 0; i < N_FAULT; i++)
        if (fault_sig[i] == sig)
            tail = name[i];
    ssize_t rc = write(STDERR_FILENO, guard.head, guard.head_len);
    rc = write(STDERR_FILENO, tail, strlen(tail));
    (void)rc;
    _exit(CLI_EXIT_FAIL);
}

/* The process's address space now, in bytes (0 when unknown). */
static size_t vm_size(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%lu", &pages) != 1)
        pages = 0;
    fclose(f);
    const long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)pages * (size_t)page : 0;
}

/* Bound the address space for reading `path`: what it holds now plus
 * max(1 GiB, 16 x the file's size), never more than this process may use
 * (cim_mem_total()) or the limit already set. A damaged file can send libhdf5
 * into a loop that allocates and touches memory until the kernel kills the
 * process (a 12 KB file took 24 GB in two minutes); with the bound its
 * allocations fail and the read ends with an error (budget_end() says why).
 * A real model needs far less: its parameters, which take what the file holds
 * or, compressed, rarely 16 times that. */
static void budget_begin(const char *path)
{
    struct stat st;
    const size_t file = stat(path, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size : 0;
    size_t budget = file > GIB / 16 ? 16 * file : GIB;
    const size_t total = cim_mem_total();
    if (total > 0 && budget > total)
        budget = total;
    guard.as_set = 0;
    guard.budget = budget;
#ifdef CIM_ASAN
    return;
#endif
    const size_t now = vm_size();
    if (now == 0 || getrlimit(RLIMIT_AS, &guard.old_as) != 0)
        return;
    struct rlimit rl = guard.old_as;
    const rlim_t want = (rlim_t)now + (rlim_t)budget;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= want)
        return;
    rl.rlim_cur = want;
    guard.budget_limit = want;
    guard.as_set = setrlimit(RLIMIT_AS, &rl) == 0;
}

/* The largest address space this process has had (VmPeak), in bytes. */
static size_t vm_peak(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmPeak: %zu kB", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

/* After a read that failed: when it ran into the bound (an allocation failed
 * inside libhdf5, or the address space reached the bound), say so in err. */
static void budget_end(int failed, struct cim_err *err)
{
    if (!failed || !guard.as_set || err == NULL)
        return;
    const int asked = strstr(err->msg, "memory allocation failed") != NULL; /* libhdf5's */
    if (!asked && vm_peak() + (64u << 20) < (size_t)guard.budget_limit)
        return;
    const size_t n = strlen(err->msg);
    snprintf(err->msg + n, sizeof err->msg - n, " (reading it needed more than the %.1f GiB "
             "allowed: a damaged file)", (double)guard.budget / (double)GIB);
}

static void guard_begin(const char *path)
{
    int n = snprintf(guard.head, sizeof guard.head,
                     "cim: %s: damaged HDF5 file: libhdf5 crashed reading it (", path);
    guard.head_len = n < 0 ? 0 : (size_t)n < sizeof guard.head ? (size_t)n : sizeof guard.head - 1;
    stack_t st = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack, .ss_flags = 0};
    guard.stack_set = sigaltstack(&st, &guard.old_stack) == 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sa.sa_flags = SA_ONSTACK;
    sigfillset(&sa.sa_mask);
    for (int i = 0; i < N_FAULT; i++)
        sigaction(fault_sig[i], &sa, &guard.old[i]);
    budget_begin(path);
}

static void guard_end(void)
{
    if (guard.as_set)
        setrlimit(RLIMIT_AS, &guard.old_as);
    for (int i = 0; i < N_FAULT; i++)
        sigaction(fault_sig[i], &guard.old[i], NULL);
    if (guard.stack_set)
        sigaltstack(&guard.old_stack, NULL);
}

struct nn_model *cli_model_load(const char *path, struct cim_err *err)
{
    guard_begin(path);
    struct nn_model *m = data_model_load(path, err);
    budget_end(m == NULL, err);
    guard_end();
    return m;
}

int cli_checkpoint_load(const char *path, struct nn_model **m, struct data_checkpoint *ck,
                        struct cim_err *err)
{
    guard_begin(path);
    int rc = data_checkpoint_load(path, m, ck, err);
    budget_end(rc != CIM_OK, err);
    guard_end();
    return rc;
}

int cli_sweep_load(const char *path, struct data_sweep *s, struct cim_err *err)
{
    guard_begin(path);
    int rc = data_sweep_load(path, s, err);
    budget_end(rc != CIM_OK, err);
    guard_end();
    return rc;
}
