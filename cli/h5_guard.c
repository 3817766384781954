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
#include <unistd.h>

#include "cli/cli.h"

static const int fault_sig[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define N_FAULT ((int)(sizeof fault_sig / sizeof fault_sig[0]))

static struct {
    char head[1200]; /* "cim: FILE: damaged HDF5 file: libhdf5 crashed reading it (" */
    size_t head_len;
    struct sigaction old[N_FAULT];
    stack_t old_stack;
    int stack_set;
} guard;

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
}

static void guard_end(void)
{
    for (int i = 0; i < N_FAULT; i++)
        sigaction(fault_sig[i], &guard.old[i], NULL);
    if (guard.stack_set)
        sigaltstack(&guard.old_stack, NULL);
}

struct nn_model *cli_model_load(const char *path, struct cim_err *err)
{
    guard_begin(path);
    struct nn_model *m = data_model_load(path, err);
    guard_end();
    return m;
}

int cli_checkpoint_load(const char *path, struct nn_model **m, struct data_checkpoint *ck,
                        struct cim_err *err)
{
    guard_begin(path);
    int rc = data_checkpoint_load(path, m, ck, err);
    guard_end();
    return rc;
}

int cli_sweep_load(const char *path, struct data_sweep *s, struct cim_err *err)
{
    guard_begin(path);
    int rc = data_sweep_load(path, s, err);
    guard_end();
    return rc;
}
