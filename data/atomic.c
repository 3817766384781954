/* atomic.c: write-then-rename for every output file; see atomic.h. */
#include "atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
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

/* ---- whose temporary file ---------------------------------------------------- */

/* The tag of the process table this process lives in: 8 hex digits of a 32-bit
 * FNV-1a hash of the host name and of the PID namespace (/proc/self/ns/pid).
 * A temporary name carries it, so that a pid in a name is only ever looked up
 * by a process that sees the same pids: an MPI rank on another host sharing the
 * directory over NFS, or a process in another container, has another tag and
 * its files are never judged. Two process tables share a tag with probability
 * 2^-32 per pair. */
static void host_tag(char tag[9])
{
    char buf[512] = {0};
    if (gethostname(buf, 256) != 0)
        buf[0] = '\0';
    buf[256] = '\0';
    size_t n = strlen(buf);
    buf[n++] = '/';
    ssize_t k = readlink("/proc/self/ns/pid", buf + n, sizeof buf - n - 1);
    if (k > 0)
        n += (size_t)k;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)buf[i]) * 16777619u;
    snprintf(tag, 9, "%08x", (unsigned)h);
}

/* Parse the end of a temporary name after ".<base>.tmp-": "<pid>-<n>-<tag>",
 * digits only, no sign, no leading junk. Returns the pid, or -1 when `s` has
 * another form (a file of an older cim without a tag, or anything else). */
static long tmp_writer(const char *s, const char tag[9])
{
    long pid = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9' && p - s < 18; p++)
        pid = pid * 10 + (*p - '0');
    if (p == s || *p != '-' || pid <= 0)
        return -1;
    const char *q = ++p;
    for (; *p >= '0' && *p <= '9'; p++)
        ;
    if (p == q || *p != '-' || p - q > 10)
        return -1;
    return strcmp(p + 1, tag) == 0 ? pid : -1;
}

/* Remove the temporary files beside `path` that were left by a writer that is
 * dead: ".<base>.tmp-<pid>-<n>-<tag>" with this process's tag, a pid other
 * than ours, and kill(pid, 0) failing with ESRCH. A live writer (kill succeeds,
 * or fails with EPERM: another user's process) keeps its file, and so does
 * every name of another form. Best effort: failures are ignored. A dead pid
 * that the kernel has reused for another process keeps the file until that
 * process ends too; the opposite (a live writer whose pid looks dead) cannot
 * happen for a process in the same process table. */
static void stale_remove(const char *dir, const char *base)
{
    char tag[9];
    host_tag(tag);
    char prefix[DATA_PATH_MAX];
    const int plen = snprintf(prefix, sizeof prefix, ".%s.tmp-", base);
    if (plen < 0 || (size_t)plen >= sizeof prefix)
        return;
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    const long self = (long)getpid();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, (size_t)plen) != 0)
            continue;
        const long pid = tmp_writer(e->d_name + plen, tag);
        if (pid <= 0 || pid == self || (pid_t)pid != pid)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char full[2 * DATA_PATH_MAX];
        snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
        (void)unlink(full);
    }
    closedir(d);
}

void data_atomic_clean(const char *path)
{
    if (path == NULL || path[0] == '\0' || strlen(path) >= DATA_PATH_MAX)
        return;
    char dir[DATA_PATH_MAX];
    const char *base;
    path_split(path, dir, &base);
    if (base[0] != '\0')
        stale_remove(dir, base);
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
    char tag[9];
    host_tag(tag);
    int w;
    if (strchr(path, '/') == NULL)
        w = snprintf(a->tmp_path, sizeof a->tmp_path, ".%s.tmp-%ld-%u-%s", base, (long)getpid(),
                     n, tag);
    else
        w = snprintf(a->tmp_path, sizeof a->tmp_path, "%s%s.%s.tmp-%ld-%u-%s", dir,
                     strcmp(dir, "/") == 0 ? "" : "/", base, (long)getpid(), n, tag);
    if (w < 0 || (size_t)w >= sizeof a->tmp_path) {
        a->tmp_path[0] = '\0';
        return cim_err_set(err, CIM_EINVAL, "%.64s...: output file name too long for a "
                           "temporary name beside it", path);
    }
    /* The temporary name adds ".", ".tmp-", the pid (room for 20 digits), "-",
     * the counter (10), "-" and the 8-digit tag to the last component: 46 bytes.
     * Both names must fit the directory's limit, or the failure would come only
     * when the file is written, after the work that made it. */
    long name_max = pathconf(dir, _PC_NAME_MAX);
    if (name_max <= 0)
        name_max = 255;
    if (strlen(base) + 46 > (size_t)name_max) {
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
    /* The name now holds a complete file; what killed writers left beside it
     * is garbage. */
    data_atomic_clean(a->path);
    return CIM_OK;
}

void data_atomic_abort(struct data_atomic *a)
{
    if (a == NULL || a->tmp_path[0] == '\0')
        return;
    (void)unlink(a->tmp_path);
    a->tmp_path[0] = '\0';
}
