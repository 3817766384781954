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
        SRunner *sr = srunner_create(suite_fn());                                    \
        srunner_run_all(sr, CK_ENV);                                                 \
        int failed = srunner_ntests_failed(sr);                                      \
        srunner_free(sr);                                                            \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                            \
    }

/* A scratch directory for this test program, created on first use under
 * $TMPDIR (or /tmp); the caller appends file names. */
const char *test_tmpdir(void);

#endif
