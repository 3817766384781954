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

uint64_t cim_mem_cgroup_limit(const char *proc_cgroup, const char *v2_root, const char *v1_root)
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
            const int v2 = c2 == c1 + 1 && c1 - line == 1 && line[0] == '0';
            const int v1 = !v2 && list_has(c1 + 1, (size_t)(c2 - c1 - 1), "memory");
            uint64_t v = UINT64_MAX;
            if (v2 && v2_root != NULL)
                v = limit_walk(v2_root, path, "memory.max");
            else if (v1 && v1_root != NULL)
                v = limit_walk(v1_root, path, "memory.limit_in_bytes");
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
    return cim_mem_cgroup_limit(text, "/sys/fs/cgroup", "/sys/fs/cgroup/memory");
}
