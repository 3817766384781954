/* atomic.c: write-then-rename for every output file; see atomic.h. */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Distinguishes the temporary names of one process; the pid distinguishes
 * processes. Atomic so that two threads saving at once never share a name. */
static atomic_uint atomic_counter;

/* ---- paths ------------------------------------------------------------------ */

/* Split `path` into its directory and its last component. A path without a
 * slash lives in ".", and "/x" lives in "/". The caller has checked the length. */
static void path_split(const char *path, char dir[DATA_PATH_MAX], const char **base)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(dir, DATA_PATH_MAX, ".");
        *base = path;
    } else if (slash == path) {
        snprintf(dir, DATA_PATH_MAX, "/");
        *base = slash + 1;
    } else {
        snprintf(dir, DATA_PATH_MAX, "%.*s", (int)(slash - path), path);
        *base = slash + 1;
    }
}

/* ---- begin, commit, abort --------------------------------------------------- */

int data_atomic_begin(struct data_atomic *a, const char *path, struct cim_err *err)
{
    memset(a, 0, sizeof *a);
    if (path == NULL || path[0] == '\0')
        return cim_err_set(err, CIM_EINVAL, "empty output file name");
    size_t len = strlen(path);
    if (len >= DATA_PATH_MAX)
        return cim_err_set(err, CIM_EINVAL, "%.64s...: output file name longer than %d bytes",
                           path, DATA_PATH_MAX - 1);

    char dir[DATA_PATH_MAX];
    const char *base;
    path_split(path, dir, &base);
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return cim_err_set(err, CIM_EINVAL, "%s: names a directory; expected a file name", path);

    struct stat st;
    if (stat(dir, &st) != 0)
        return cim_err_set(err, CIM_EIO, "%s: directory %s: %s", path, dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return cim_err_set(err, CIM_EIO, "%s: %s is not a directory", path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return cim_err_set(err, CIM_EIO, "%s: cannot write in directory %s: %s", path, dir,
                           strerror(errno));

    /* The rename would replace whatever `path` is. Replacing a regular file is the
     * point; replacing a device (/dev/full, /dev/null), a directory or a FIFO is
     * never what the user meant, and as root it would succeed silently. */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return cim_err_set(err, CIM_EIO, "%s: exists and is not a regular file; refusing to "
                           "replace it", path);

    unsigned n = atomic_fetch_add(&atomic_counter, 1u);
    int w;
    if (strchr(path, '/') == NULL)
        w = snprintf(a->tmp_path, sizeof a->tmp_path, ".%s.tmp-%ld-%u", base, (long)getpid(), n);
    else
        w = snprintf(a->tmp_path, sizeof a->tmp_path, "%s%s.%s.tmp-%ld-%u", dir,
                     strcmp(dir, "/") == 0 ? "" : "/", base, (long)getpid(), n);
    if (w < 0 || (size_t)w >= sizeof a->tmp_path) {
        a->tmp_path[0] = '\0';
        return cim_err_set(err, CIM_EINVAL, "%.64s...: output file name too long for a "
                           "temporary name beside it", path);
    }
    /* The temporary name adds ".", ".tmp-" and two numbers to the last component;
     * both names must fit the directory's limit, or the failure would come only
     * when the file is written, after the work that made it. */
    long name_max = pathconf(dir, _PC_NAME_MAX);
    if (name_max <= 0)
        name_max = 255;
    if (strlen(base) + sizeof ".tmp-" + 2 * 20 > (size_t)name_max) {
        a->tmp_path[0] = '\0';
        return cim_err_set(err, CIM_EINVAL, "%.64s...: file name too long: at most %ld bytes "
                           "(with room for a temporary name beside it)", path, name_max - 46);
    }
    memcpy(a->path, path, len + 1);
    return CIM_OK;
}

/* Make the rename itself durable. Best effort: some file systems refuse fsync on
 * a directory, and the data is already safe under one name or the other. */
static void dir_sync(const char *path)
{
    char dir[DATA_PATH_MAX];
    const char *base;
    path_split(path, dir, &base);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    (void)fsync(fd);
    close(fd);
}

int data_atomic_commit(struct data_atomic *a, struct cim_err *err)
{
    if (a->tmp_path[0] == '\0')
        return cim_err_set(err, CIM_EINVAL, "%s: no temporary file to commit", a->path);

    /* The data must be on disk before the name points at it; otherwise a crash
     * shortly after the rename can leave an empty file under the final name (the
     * ext4 delayed-allocation case). */
    int fd = open(a->tmp_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        data_atomic_abort(a);
        return cim_err_set(err, CIM_EIO, "%s: cannot open temporary file: %s", a->path,
                           strerror(e));
    }
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        data_atomic_abort(a);
        return cim_err_set(err, CIM_EIO, "%s: cannot sync to disk: %s", a->path, strerror(e));
    }
    if (close(fd) != 0) {
        int e = errno;
        data_atomic_abort(a);
        return cim_err_set(err, CIM_EIO, "%s: cannot close temporary file: %s", a->path,
                           strerror(e));
    }
    if (rename(a->tmp_path, a->path) != 0) {
        int e = errno;
        data_atomic_abort(a);
        return cim_err_set(err, CIM_EIO, "%s: cannot rename the temporary file into place: %s",
                           a->path, strerror(e));
    }
    a->tmp_path[0] = '\0';
    dir_sync(a->path);
    return CIM_OK;
}

void data_atomic_abort(struct data_atomic *a)
{
    if (a == NULL || a->tmp_path[0] == '\0')
        return;
    (void)unlink(a->tmp_path);
    a->tmp_path[0] = '\0';
}
