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
 *
 * Stale temporary files. A process killed between begin and commit (SIGKILL,
 * power loss) leaves its temporary file behind. The temporary name says who
 * wrote it: "<dir>/.<base>.tmp-<pid>-<n>-<tag>", the writer's pid, a counter
 * within the process and an 8-hex-digit tag of its process table (a hash of
 * the host name and the PID namespace). Each successful commit of NAME removes
 * the temporary files of NAME whose writer is certainly dead: same tag (so the
 * pid means the same process table as ours), a pid other than our own (one of
 * our threads may be writing), and kill(pid, 0) failing with ESRCH. Files of a
 * live process are kept, so two cims writing the same name in one directory,
 * or MPI ranks on one host, never lose each other's file; ranks on another
 * host or in another container have another tag and their files are never
 * judged. A reused pid only delays the removal. `cim train` and `cim sweep`
 * also clean the names of their outputs when they start (data_atomic_clean()),
 * so rerunning or resuming a killed command clears what the kill left even
 * for an output it does not write again.
 */
#ifndef CIM_DATA_ATOMIC_H
#define CIM_DATA_ATOMIC_H

#include "base/err.h"

#define DATA_PATH_MAX 4096

struct data_atomic {
    char path[DATA_PATH_MAX];     /* final name */
    char tmp_path[DATA_PATH_MAX]; /* "<dir>/.<base>.tmp-<pid>-<n>-<tag>" */
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
 * (best effort: some file systems refuse it) and remove the stale temporary
 * files of `path` (data_atomic_clean()). CIM_OK, after which a->tmp_path is
 * empty; CIM_EIO with a message naming `path` when the temporary file is missing,
 * cannot be synced or cannot be renamed, in which case it has been removed. */
int data_atomic_commit(struct data_atomic *a, struct cim_err *err);

/* Remove the temporary file, if any, and forget it; accepts NULL, a begun but
 * never written `a`, and repeated calls. */
void data_atomic_abort(struct data_atomic *a);

/* Remove the temporary files beside `path` whose writer is dead (see the top
 * of this file); best effort, silent. Accepts NULL. */
void data_atomic_clean(const char *path);

#endif
