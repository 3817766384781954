/* mem.c: the memory limit of this process's control group; see mem.h. */
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest files read: a limit is one line, /proc/self/cgroup a dozen. */
#define MEM_FILE_MAX 8192
#define MEM_PATH_MAX 4096

int cim_mem_limit_parse(const char *text, uint64_t *bytes)
{
    size_t n = strlen(text);
    if (n > 0 && text[n - 1] == '\n')
        n--;
    if (n == 3 && strncmp(text, "max", 3) == 0) {
        *bytes = UINT64_MAX;
        return 1;
    }
    if (n == 0 || n > 20)
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
        const unsigned d = (unsigned)(text[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *bytes = v;
    return 1;
}

/* The text of a small file, NUL-terminated, in buf; 0 when it cannot be read
 * or does not fit. */
static int file_text(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    const size_t n = fread(buf, 1, size - 1, f);
    const int whole = !ferror(f) && feof(f);
    fclose(f);
    buf[n] = '\0';
    return whole;
}

/* Whether the comma-separated list `list` (n bytes) holds `word`. */
static int list_has(const char *list, size_t n, const char *word)
{
    const size_t w = strlen(word);
    const char *p = list, *end = list + n;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const size_t len = comma ? (size_t)(comma - p) : (size_t)(end - p);
        if (len == w && strncmp(p, word, w) == 0)
            return 1;
        p += len + 1;
    }
    return 0;
}

/* The next space-separated field of the mountinfo line [*p, end) into out
 * (size > 0 bytes), its octal escapes (\040 for a space) decoded, and *p past
 * it; 0 when there is none or it does not fit. */
static int mount_field(const char **p, const char *end, char *out, size_t size)
{
    const char *s = *p;
    while (s < end && *s == ' ')
        s++;
    size_t n = 0;
    int fits = s < end;
    while (s < end && *s != ' ') {
        char c = *s++;
        if (c == '\\' && end - s >= 3 && s[0] >= '0' && s[0] <= '3' && s[1] >= '0' &&
            s[1] <= '7' && s[2] >= '0' && s[2] <= '7') {
            c = (char)((s[0] - '0') * 64 + (s[1] - '0') * 8 + (s[2] - '0'));
            s += 3;
        }
        if (n + 1 < size)
            out[n++] = c;
        else
            fits = 0;
    }
    out[n] = '\0';
    *p = s;
    return fits;
}

/* One line [line, end) of mountinfo: a cgroup v2 mount or v1's memory
 * controller goes to *v2 or *v1 unless `found` (bits 1, 2) has one already;
 * returns `found` updated. */
static int mount_line(const char *line, const char *end, struct cim_mem_mount *v2,
                      struct cim_mem_mount *v1, int found)
{
    struct cim_mem_mount m;
    char word[MEM_PATH_MAX], type[64], opts[MEM_PATH_MAX];
    const char *p = line;
    int ok = mount_field(&p, end, word, sizeof word) && mount_field(&p, end, word, sizeof word) &&
             mount_field(&p, end, word, sizeof word) &&
             mount_field(&p, end, m.root, sizeof m.root) &&
             mount_field(&p, end, m.dir, sizeof m.dir);
    while (ok && (ok = mount_field(&p, end, word, sizeof word)) && strcmp(word, "-") != 0)
        ; /* mount options, optional tags */
    ok = ok && mount_field(&p, end, type, sizeof type) && mount_field(&p, end, word, sizeof word) &&
         mount_field(&p, end, opts, sizeof opts);
    if (ok && !(found & 1) && strcmp(type, "cgroup2") == 0) {
        *v2 = m;
        found |= 1;
    } else if (ok && !(found & 2) && strcmp(type, "cgroup") == 0 &&
               list_has(opts, strlen(opts), "memory")) {
        *v1 = m;
        found |= 2;
    }
    return found;
}

int cim_mem_cgroup_mounts(const char *mountinfo, struct cim_mem_mount *v2, struct cim_mem_mount *v1)
{
    int found = 0;
    for (const char *line = mountinfo; line != NULL && *line != '\0';) {
        const char *nl = strchr(line, '\n');
        found = mount_line(line, nl ? nl : line + strlen(line), v2, v1, found);
        line = nl ? nl + 1 : NULL;
    }
    return found;
}

/* Group `path` as mount m shows it (less m's root), or "" (the mount's own
 * group) when m does not show it. */
static const char *mount_rel(const struct cim_mem_mount *m, const char *path)
{
    size_t r = strlen(m->root);
    while (r > 0 && m->root[r - 1] == '/')
        r--;
    if (r == 0)
        return path;
    if (strncmp(path, m->root, r) == 0 && (path[r] == '\0' || path[r] == '/'))
        return path + r;
    return "";
}

/* The smallest limit in root/path/name and in each ancestor of path up to
 * root/name; UINT64_MAX when none is found. */
static uint64_t limit_walk(const char *root, const char *path, const char *name)
{
    char dir[MEM_PATH_MAX];
    /* "..": a group outside our namespace's view; only the root is ours */
    const int outside = strcmp(path, "..") == 0 || strncmp(path, "../", 3) == 0 ||
                        strncmp(path, "/..", 3) == 0 || strstr(path, "/../") != NULL ||
                        (strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0);
    if (snprintf(dir, sizeof dir, "%s", outside ? "" : path) >= (int)sizeof dir)
        dir[0] = '\0';
    uint64_t best = UINT64_MAX;
    for (;;) {
        size_t n = strlen(dir);
        while (n > 0 && dir[n - 1] == '/')
            dir[--n] = '\0';
        char file[2 * MEM_PATH_MAX + 64], text[64];
        snprintf(file, sizeof file, "%s%s%s/%s", root, dir[0] == '/' || n == 0 ? "" : "/", dir,
                 name);
        uint64_t v;
        if (file_text(file, text, sizeof text) && cim_mem_limit_parse(text, &v) && v < best)
            best = v;
        if (n == 0)
            break;
        char *slash = strrchr(dir, '/');
        if (slash == NULL)
            dir[0] = '\0';
        else
            *slash = '\0';
    }
    return best;
}

uint64_t cim_mem_cgroup_limit(const char *proc_cgroup, const struct cim_mem_mount *v2,
                              const struct cim_mem_mount *v1)
{
    uint64_t best = UINT64_MAX;
    const char *line = proc_cgroup;
    while (line != NULL && *line != '\0') {
        const char *nl = strchr(line, '\n');
        const size_t len = nl ? (size_t)(nl - line) : strlen(line);
        const char *c1 = memchr(line, ':', len);
        const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
        if (c2 != NULL && (size_t)(line + len - (c2 + 1)) < MEM_PATH_MAX) {
            char path[MEM_PATH_MAX];
            const size_t plen = (size_t)(line + len - (c2 + 1));
            memcpy(path, c2 + 1, plen);
            path[plen] = '\0';
            const int is_v2 = c2 == c1 + 1 && c1 - line == 1 && line[0] == '0';
            const int is_v1 = !is_v2 && list_has(c1 + 1, (size_t)(c2 - c1 - 1), "memory");
            uint64_t v = UINT64_MAX;
            if (is_v2 && v2 != NULL)
                v = limit_walk(v2->dir, mount_rel(v2, path), "memory.max");
            else if (is_v1 && v1 != NULL)
                v = limit_walk(v1->dir, mount_rel(v1, path), "memory.limit_in_bytes");
            if (v < best)
                best = v;
        }
        line = nl ? nl + 1 : NULL;
    }
    return best;
}

uint64_t cim_mem_cgroup_self(void)
{
    char text[MEM_FILE_MAX];
    if (!file_text("/proc/self/cgroup", text, sizeof text))
        return UINT64_MAX;
    struct cim_mem_mount v2 = {"/sys/fs/cgroup", "/"}, v1 = {"/sys/fs/cgroup/memory", "/"};
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (f != NULL) {
        char line[3 * MEM_PATH_MAX];
        int found = 0, whole = 1; /* a line longer than the buffer is skipped */
        while (fgets(line, sizeof line, f) != NULL) {
            const size_t n = strlen(line);
            const int ends = n > 0 && line[n - 1] == '\n';
            if (whole && ends)
                found = mount_line(line, line + n - 1, &v2, &v1, found);
            whole = ends;
        }
        fclose(f);
    }
    return cim_mem_cgroup_limit(text, &v2, &v1);
}
