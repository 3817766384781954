/*
 * err.h: the one error type of cim.
 *
 * Every fallible function returns CIM_OK (0) or one of the codes below and, when
 * the caller passes a `struct cim_err *`, fills it with a one-line message that
 * names the file, dataset or option at fault and what was expected:
 *
 *     struct cim_err err = {0};
 *     if (data_idx_load(path, &img, &err) != CIM_OK)
 *         fprintf(stderr, "cim: %s\n", err.msg);
 *
 * A NULL `err` is allowed everywhere and means "code only". The first message set
 * wins: a caller that adds context uses cim_err_prefix().
 */
#ifndef CIM_BASE_ERR_H
#define CIM_BASE_ERR_H

#include <stddef.h>

enum cim_status {
    CIM_OK = 0,
    CIM_EINVAL,       /* an argument or option is out of its range */
    CIM_EIO,          /* a file could not be opened, read or written */
    CIM_EFORMAT,      /* a file's content is not what its format says */
    CIM_ENOMEM,       /* an allocation failed or a size would overflow */
    CIM_EUNSUPPORTED  /* valid, but not something this version handles */
};

#define CIM_ERR_MSG_MAX 512

struct cim_err {
    int code;
    char msg[CIM_ERR_MSG_MAX];
};

/* Make s one line: every control character (a newline or tab inside a file
 * name, a JSON key, an option value) becomes '?'. cim_err_set() and
 * cim_err_prefix() apply it to every message. */
void cim_err_one_line(char *s);

/* Set `err` (may be NULL) to `code` and a printf-style message; returns `code`,
 * so that `return cim_err_set(err, CIM_EINVAL, "...")` reads naturally. A message
 * already present is kept: the innermost cause is the most precise one. */
int cim_err_set(struct cim_err *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Put "prefix: " in front of the message in `err` (if any); returns err->code. */
int cim_err_prefix(struct cim_err *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A short constant name for a status code ("invalid argument", ...). */
const char *cim_status_str(int code);

/* Overflow-checked size arithmetic: store a*b (a+b) in *out and return CIM_OK,
 * or return CIM_ENOMEM when the result does not fit in size_t. */
int cim_size_mul(size_t a, size_t b, size_t *out);
int cim_size_add(size_t a, size_t b, size_t *out);

/* The memory this process may use at most, in bytes: the smallest of the
 * machine's physical memory, the address-space limit (RLIMIT_AS) and the limit
 * of the process's control group (cgroup v2 memory.max or v1
 * memory.limit_in_bytes; see mem.h); SIZE_MAX when none is known. Sizes a
 * run would allocate are compared with it first, so that a configuration that
 * cannot fit is refused with a message instead of being killed by the kernel
 * half-way. */
size_t cim_mem_total(void);

#endif
