/* log.c: forwards library remarks to the sink the program installed; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static cim_log_sink log_sink;
static void *log_ctx;
static enum cim_log_level log_min = CIM_LOG_INFO;

void cim_log_set_sink(cim_log_sink sink, void *ctx, enum cim_log_level min_level)
{
    log_sink = sink;
    log_ctx = ctx;
    log_min = min_level;
}

void cim_log(enum cim_log_level level, const char *fmt, ...)
{
    if (log_sink == NULL || level < log_min)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_sink(level, msg, log_ctx);
}
