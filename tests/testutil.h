/*
 * testutil.h: what every Check test program of cim shares.
 *
 * Each tests/<module>/test_<object>.c builds one Suite named after the module
 * with test cases named after the object, and ends with CIM_TEST_MAIN(fn). The
 * runner honours CK_VERBOSITY, CK_RUN_CASE, CK_FORK, CK_TIMEOUT_MULTIPLIER.
 */
#ifndef CIM_TESTS_TESTUTIL_H
#define CIM_TESTS_TESTUTIL_H

#include <stdlib.h>

#include <check.h>

#define CIM_TEST_MAIN(suite_fn)                                                      \
    int main(void)                                                                   \
    {                                                                                \
        return test_run_suite(suite_fn());                                           \
    }

/* The Python that tests of cim's Python tools use: Debian's, which carries the
 * python3-* packages (a python3 earlier on PATH may not). */
#define TEST_PYTHON "/usr/bin/python3"

/* Run suite s (taking it) with CK_ENV; main's exit status. */
int test_run_suite(Suite *s);

/* Whether TEST_PYTHON imports `modules` ("torch, h5py"); when it does not,
 * prints one line naming the Debian `packages` that bring them, for a test
 * program that then exits 77 (meson's skip). */
int test_python_has(const char *modules, const char *packages);

/* A scratch directory for this test program, created on first use under
 * $TMPDIR (or /tmp); the caller appends file names. */
const char *test_tmpdir(void);

#endif
