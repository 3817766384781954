/* err.c: the one error type; see err.h. */
#include "err.h"
#include "mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void cim_err_one_line(char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

int cim_err_set(struct cim_err *err, int code, const char *fmt, ...)
{
    if (err == NULL || err->code != CIM_OK)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    cim_err_one_line(err->msg);
    return code;
}

int cim_err_prefix(struct cim_err *err, const char *fmt, ...)
{
    if (err == NULL)
        return CIM_OK;
    char head[CIM_ERR_MSG_MAX];
    char tail[CIM_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(tail, err->msg, sizeof tail);
    /* assemble by hand: a message longer than the buffer is cut, by design */
    size_t n = strlen(head);
    if (n > sizeof err->msg - 3)
        n = sizeof err->msg - 3;
    memcpy(err->msg, head, n);
    err->msg[n++] = ':';
    err->msg[n++] = ' ';
    size_t room = sizeof err->msg - 1 - n, t = strlen(tail);
    if (t > room)
        t = room;
    memcpy(err->msg + n, tail, t);
    err->msg[n + t] = '\0';
    cim_err_one_line(err->msg);
    return err->code;
}

const char *cim_status_str(int code)
{
    switch (code) {
    case CIM_OK: return "ok";
    case CIM_EINVAL: return "invalid argument";
    case CIM_EIO: return "input/output error";
    case CIM_EFORMAT: return "bad file format";
    case CIM_ENOMEM: return "out of memory";
    case CIM_EUNSUPPORTED: return "unsupported";
    default: return "unknown error";
    }
}

int cim_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return CIM_ENOMEM;
    *out = a * b;
    return CIM_OK;
}

int cim_size_add(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return CIM_ENOMEM;
    *out = a + b;
    return CIM_OK;
}

size_t cim_mem_total(void)
{
    size_t total = SIZE_MAX;
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0 && cim_size_mul((size_t)pages, (size_t)page, &total) != CIM_OK)
        total = SIZE_MAX;
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (uint64_t)rl.rlim_cur < (uint64_t)total)
        total = (size_t)rl.rlim_cur;
    const uint64_t cg = cim_mem_cgroup_self();
    if (cg < (uint64_t)total)
        total = (size_t)cg;
    return total;
}
