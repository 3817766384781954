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
 * root's limit. The paths are parameters so that a test can point them at
 * sample files.
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

/* The memory limit of the control group that `proc_cgroup` (the text of
 * /proc/self/cgroup: lines "ID:CONTROLLERS:PATH") names, in bytes: the
 * smallest limit found in `v2_root`/PATH/memory.max for the line "0::PATH" and
 * in `v1_root`/PATH/memory.limit_in_bytes for the line whose controllers
 * include "memory", PATH and each of its ancestors up to the root. Either root
 * may be NULL (not looked at). UINT64_MAX when no limit is found; a PATH with
 * a ".." component is looked up at the root only. */
uint64_t cim_mem_cgroup_limit(const char *proc_cgroup, const char *v2_root, const char *v1_root);

/* cim_mem_cgroup_limit() of this process: /proc/self/cgroup, with v2 at
 * /sys/fs/cgroup and v1 at /sys/fs/cgroup/memory. UINT64_MAX when there is no
 * limit or it cannot be read. */
uint64_t cim_mem_cgroup_self(void);

#endif
