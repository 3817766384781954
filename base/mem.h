/*
 * mem.h: how much memory this process may use.
 *
 * cim_mem_total() (err.h) is the smallest of the machine's physical memory,
 * the address-space limit (RLIMIT_AS) and the memory limit of the control
 * group the process runs in: a container or a systemd slice often allows far
 * less than the machine has, and a run sized to the machine would be killed
 * by the kernel half-way instead of being refused up front.
 *
 * The control-group part reads small text files: /proc/self/cgroup names the
 * process's group, whose limit lives in memory.max (cgroup v2, "max" meaning
 * none) or memory.limit_in_bytes (cgroup v1, under the memory controller's
 * mount). A group is also bound by its ancestors' limits, so every level from
 * the group up to the mount's root counts. Inside a container the mount's root
 * is the container's own group and the path in /proc/self/cgroup does not
 * exist under it; the levels that are missing are skipped, which leaves the
 * root's limit. Where the hierarchies are mounted is read from
 * /proc/self/mountinfo (cgroup v2 may sit at /sys/fs/cgroup or, beside v1, at
 * /sys/fs/cgroup/unified; a mount may show one group only). The texts and
 * mounts are parameters so that a test can point them at sample files.
 *
 * This is the one place in base/ that reads files: the limit is a size, and
 * every layer that sizes an allocation needs it.
 */
#ifndef CIM_BASE_MEM_H
#define CIM_BASE_MEM_H

#include <stddef.h>
#include <stdint.h>

/* Parse the contents of memory.max or memory.limit_in_bytes: a decimal number
 * of bytes, or "max", either followed by at most one newline. 1 with *bytes
 * set (UINT64_MAX for "max"), or 0 when `text` is anything else (empty, signed,
 * not a number, out of range, trailing junk). */
int cim_mem_limit_parse(const char *text, uint64_t *bytes);

/* Where a cgroup hierarchy is mounted: `dir` is the mount point, `root` the
 * group of the hierarchy that the mount shows ("/" for all of it; a
 * container's own group when only that one is mounted). */
struct cim_mem_mount {
    char dir[4096];
    char root[4096];
};

/* The cgroup v2 mount (file system type "cgroup2") into *v2 and the mount of
 * v1's memory controller (type "cgroup" with the super option "memory") into
 * *v1, from `mountinfo`, the text of /proc/self/mountinfo (lines "ID PARENT
 * MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS] - TYPE SOURCE SUPEROPTIONS", octal
 * escapes such as \040 decoded); the first line of each kind counts. Returns
 * 1 (v2 found) + 2 (v1 found); what is not found is left as it was. */
int cim_mem_cgroup_mounts(const char *mountinfo, struct cim_mem_mount *v2, struct cim_mem_mount *v1);

/* The memory limit of the control group that `proc_cgroup` (the text of
 * /proc/self/cgroup: lines "ID:CONTROLLERS:PATH") names, in bytes: the
 * smallest limit found in memory.max (v2, for the line "0::PATH") or
 * memory.limit_in_bytes (v1, the line whose controllers include "memory") of
 * the group PATH and of each of its ancestors that the mount shows, looked up
 * under the mount's `dir` (PATH less the mount's `root`). Either mount may be
 * NULL (not looked at). Levels without the file are skipped, so a container
 * whose /proc/self/cgroup names a group its mount does not show gets its
 * mount's own limit; so does a PATH with a ".." component (a group outside
 * the namespace's view). UINT64_MAX when no limit is found. */
uint64_t cim_mem_cgroup_limit(const char *proc_cgroup, const struct cim_mem_mount *v2,
                              const struct cim_mem_mount *v1);

/* cim_mem_cgroup_limit() of this process: /proc/self/cgroup, with the mounts
 * of /proc/self/mountinfo (or, when it cannot be read or names none, v2 at
 * /sys/fs/cgroup and v1 at /sys/fs/cgroup/memory). UINT64_MAX when there is
 * no limit or it cannot be read. */
uint64_t cim_mem_cgroup_self(void);

#endif
