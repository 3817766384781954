/*
 * rtl_run.h: what the RTL test programs share: the tool paths from the
 * environment (tests/meson.build sets them) and running a command with its
 * output kept in a log file. Header-only, because each test program is built
 * from one source file.
 */
#ifndef CIM_TESTS_RTL_RUN_H
#define CIM_TESTS_RTL_RUN_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <check.h>

/* The path in environment variable `var` (e.g. "CIM_IVERILOG"); when it is
 * unset or empty the calling test fails with a message that names the Debian
 * package `package` to install. */
static inline const char *rtl_tool(const char *var, const char *package)
{
    const char *p = getenv(var);
    if (p == NULL || *p == '\0')
        ck_abort_msg("%s is empty: install the Debian package %s, then run "
                     "meson setup --reconfigure",
                     var, package);
    return p;
}

/* Run `cmd` through the shell with stdout and stderr sent to `log`; returns the
 * exit status (-1 when it did not exit normally). */
static inline int rtl_run(const char *cmd, const char *log)
{
    size_t n = (size_t)snprintf(NULL, 0, "%s > '%s' 2>&1", cmd, log) + 1u;
    char *full = malloc(n);
    ck_assert_ptr_nonnull(full);
    snprintf(full, n, "%s > '%s' 2>&1", cmd, log);
    int st = system(full);
    free(full);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* The first `max - 1` bytes of file `path` into buf (empty when unreadable);
 * returns buf. */
static inline char *rtl_slurp(const char *path, char *buf, size_t max)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return buf;
    size_t got = fread(buf, 1, max - 1, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

#endif
