/*
 * atomic.h: write a file so that it is either absent or complete.
 *
 * Every output file of cim is written under a temporary name in the same
 * directory and renamed over its final name only when complete, after an fsync;
 * a crash or kill in between leaves no partial file under the final name.
 *
 *     struct data_atomic a;
 *     if (data_atomic_begin(&a, "model.h5", &err) != CIM_OK) ...
 *     ... write everything to a.tmp_path ...
 *     if (ok) rc = data_atomic_commit(&a, &err); else data_atomic_abort(&a);
 */
#ifndef CIM_DATA_ATOMIC_H
#define CIM_DATA_ATOMIC_H

#include "base/err.h"

#define DATA_PATH_MAX 4096

struct data_atomic {
    char path[DATA_PATH_MAX];     /* final name */
    char tmp_path[DATA_PATH_MAX]; /* "<dir>/.<base>.tmp-<pid>-<n>" */
};

/* Choose a temporary name beside `path` (same directory, hence same file system,
 * so that the final rename is atomic); nothing is created yet. The caller creates
 * and writes a->tmp_path, then commits or aborts.
 * CIM_EINVAL when the path is empty, ends in '/', or is too long (with the
 * temporary suffix) for DATA_PATH_MAX or its last component for the directory's
 * name limit; CIM_EIO, naming the path and the reason,
 * when its directory is missing, not a directory or not writable, or when `path`
 * exists and is not a regular file (a device such as /dev/full, a directory, a
 * FIFO: renaming over it is never what was meant). A symbolic link at `path` is
 * replaced by the new file, not followed. */
int data_atomic_begin(struct data_atomic *a, const char *path, struct cim_err *err);

/* fsync the temporary file, rename it over `path`, then fsync the directory
 * (best effort: some file systems refuse it). CIM_OK, after which a->tmp_path is
 * empty; CIM_EIO with a message naming `path` when the temporary file is missing,
 * cannot be synced or cannot be renamed, in which case it has been removed. */
int data_atomic_commit(struct data_atomic *a, struct cim_err *err);

/* Remove the temporary file, if any, and forget it; accepts NULL, a begun but
 * never written `a`, and repeated calls. */
void data_atomic_abort(struct data_atomic *a);

#endif
