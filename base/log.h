/*
 * log.h: the library's only way to say something.
 *
 * Library code never prints. Where a remark is worth making (a fallback taken, a
 * value clamped), it calls cim_log(); the program decides where that goes by
 * installing a sink. With no sink installed, messages are dropped.
 */
#ifndef CIM_BASE_LOG_H
#define CIM_BASE_LOG_H

enum cim_log_level { CIM_LOG_DEBUG, CIM_LOG_INFO, CIM_LOG_WARN, CIM_LOG_ERROR };

typedef void (*cim_log_sink)(enum cim_log_level level, const char *msg, void *ctx);

/* Install `sink` (NULL: drop everything); messages below `min_level` are dropped. */
void cim_log_set_sink(cim_log_sink sink, void *ctx, enum cim_log_level min_level);

void cim_log(enum cim_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
