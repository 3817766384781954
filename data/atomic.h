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

/* Choose a temporary name beside `path`. CIM_EINVAL when the path is empty or too
 * long; CIM_EIO (naming the directory) when its directory is not writable. */
int data_atomic_begin(struct data_atomic *a, const char *path, struct cim_err *err);

/* fsync the temporary file and rename it over `path`. CIM_EIO with a message on
 * failure, in which case the temporary file is removed. */
int data_atomic_commit(struct data_atomic *a, struct cim_err *err);

/* Remove the temporary file, if any. */
void data_atomic_abort(struct data_atomic *a);

#endif
