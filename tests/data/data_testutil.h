/*
 * data_testutil.h: what the file-handling tests of tests/data share: scratch
 * directories under test_tmpdir() to write files into, and their removal.
 *
 * Two patterns. A test that lists what it made opens a fresh directory of its
 * own with scratch_open(), names files in it with scratch(), counts them with
 * scratch_count() and ends with scratch_end(). A test case whose forked tests
 * share one directory registers tmp_setup and tmp_teardown as an unchecked
 * fixture and writes straight into test_tmpdir().
 *
 * Bad input files are made from bytes (write_plain, write_gz) or from a good
 * HDF5 file edited through the HDF5 API (edit_open ... edit_close), one thing
 * changed at a time.
 */
#ifndef CIM_TESTS_DATA_TESTUTIL_H
#define CIM_TESTS_DATA_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

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

/* Write `len` bytes to a new file `path`, as they are or gzip-compressed. */
void write_plain(const char *path, const uint8_t *bytes, size_t len);
void write_gz(const char *path, const uint8_t *bytes, size_t len);

/* Identifiers HDF5 holds open in this process. */
long open_ids(void);

/* Open an HDF5 file for editing; closing asserts that nothing stays open. */
hid_t edit_open(const char *path);
void edit_close(hid_t f);

/* Delete attribute `name` of object `obj`; (re)write it as a scalar of `type`;
 * as a variable-length UTF-8 string (as h5py writes); as a 64-bit integer. */
void attr_delete(hid_t f, const char *obj, const char *name);
void attr_put(hid_t f, const char *obj, const char *name, hid_t type, const void *value);
void attr_set_str(hid_t f, const char *obj, const char *name, const char *value);
void attr_set_int(hid_t f, const char *obj, const char *name, long long v);

/* Replace dataset `path` by one of `type` and the given extents, left at its
 * fill value (no storage is written, so huge extents cost nothing). */
void dset_replace(hid_t f, const char *path, hid_t type, int rank, const hsize_t *dims);

/* Overwrite element `at` of float dataset `path` of `file` with `v`. */
void dset_poke(const char *file, const char *path, size_t at, float v);

#endif
