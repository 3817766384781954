/*
 * data_testutil.h: what the file-handling tests of tests/data share: scratch
 * directories under test_tmpdir() to write files into, and their removal.
 *
 * Two patterns. A test that lists what it made opens a fresh directory of its
 * own with scratch_open(), names files in it with scratch(), counts them with
 * scratch_count() and ends with scratch_end(). A test case whose forked tests
 * share one directory registers tmp_setup and tmp_teardown as an unchecked
 * fixture and writes straight into test_tmpdir().
 */
#ifndef CIM_TESTS_DATA_TESTUTIL_H
#define CIM_TESTS_DATA_TESTUTIL_H

#include "testutil.h"

/* The directory made by the last scratch_open() of this process. */
extern char scratch_dir[600];

/* Make a fresh directory `prefix`-XXXXXX under test_tmpdir() as scratch_dir. */
void scratch_open(const char *prefix);

/* scratch_dir/name, in one of four rotating static buffers (so up to four stay valid). */
const char *scratch(const char *name);

/* Number of entries in the scratch directory, dot files (temporary names) included. */
int scratch_count(void);

/* Remove the scratch directory and its files, and test_tmpdir() too when forked. */
void scratch_end(void);

/* Remove path, a file or a directory tree; a missing path is no error. */
void rm_tree(const char *path);

/* Unchecked fixture: make test_tmpdir() in the runner, so every forked test shares it. */
void tmp_setup(void);

/* Unchecked fixture: remove test_tmpdir() and all in it when the test case is done. */
void tmp_teardown(void);

#endif
