/* progress.c: progress line, clock, threads and command-line record; see cli.h. */
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "nn/forward.h"

int cli_argc;
char **cli_argv;

void cli_progress_init(struct cli_progress *p, int quiet)
{
    p->on = !quiet && isatty(STDERR_FILENO);
    p->drawn = 0;
}

void cli_progress_draw(struct cli_progress *p, const char *fmt, ...)
{
    if (!p->on)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    p->drawn = 1;
}

void cli_progress_keep(struct cli_progress *p)
{
    if (p->on && p->drawn)
        fputc('\n', stderr);
    p->drawn = 0;
}

void cli_progress_clear(struct cli_progress *p)
{
    if (p->on && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = 0;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_threads_set(int n)
{
    nn_threads_set(n);
}

/* Shell-quote a word unless it only has harmless characters. */
static size_t quote_word(const char *w, char *out, size_t size)
{
    int plain = w[0] != '\0';
    for (const char *c = w; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./,:+%@",
                    *c))
            plain = 0;
    size_t n = 0;
    if (plain)
        return (size_t)snprintf(out, size, "%s", w);
    n += (size_t)snprintf(out, size, "'");
    for (const char *c = w; *c && n + 5 < size; c++) {
        if (*c == '\'')
            n += (size_t)snprintf(out + n, size - n, "'\\''");
        else
            out[n++] = *c;
    }
    if (n < size)
        n += (size_t)snprintf(out + n, size - n, "'");
    return n;
}

void cli_command_line(int argc, char **argv, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc && n + 2 < size; i++) {
        if (i > 0)
            buf[n++] = ' ';
        buf[n] = '\0';
        n += quote_word(i == 0 ? "cim" : argv[i], buf + n, size - n);
    }
    if (n >= size)
        buf[size - 1] = '\0';
}
