/* opts.c: table-driven option parsing with one-line reasons; see cli.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

const struct cli_opt *cli_opt_find(const struct cli_opt *opts, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(opts[i].name, name) == 0)
            return &opts[i];
    return NULL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cim_err_one_line(msg);
    fprintf(stderr, "cim %s: %s\n", cmd, msg);
    return CLI_EXIT_USAGE;
}

int cli_fail(const struct cim_err *err)
{
    fprintf(stderr, "cim: %s\n", err->msg[0] ? err->msg : cim_status_str(err->code));
    return CLI_EXIT_FAIL;
}

/* Is `word` one of the '|'-separated words of `choices`? */
static int choice_ok(const char *choices, const char *word)
{
    size_t n = strlen(word);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, word, n) == 0)
            return 1;
        p += len + (bar ? 1 : 0);
    }
    return 0;
}

/* Set o from the text v; a bad value gets a usage error from command `cmd`
 * naming the option as `shown`. */
static int opt_set(const char *cmd, const char *shown, struct cli_opt *o, const char *v)
{
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case CLI_OPT_FLAG:
        *(int *)o->dst = 1;
        return CLI_EXIT_OK;
    case CLI_OPT_INT: {
        long x = strtol(v, &end, 10);
        if (end == v || *end != '\0' || errno == ERANGE || x < (long)o->min || x > (long)o->max)
            return cli_usage_error(cmd, "%s '%s': expected an integer from %.0f to %.0f",
                                   shown, v, o->min, o->max);
        *(int *)o->dst = (int)x;
        return CLI_EXIT_OK;
    }
    case CLI_OPT_U64: {
        if (v[0] == '-')
            return cli_usage_error(cmd, "%s '%s': expected a non-negative integer", shown,
                                   v);
        unsigned long long x = strtoull(v, &end, 10);
        if (end == v || *end != '\0' || errno == ERANGE)
            return cli_usage_error(cmd, "%s '%s': expected an integer from 0 to 2^64-1",
                                   shown, v);
        *(uint64_t *)o->dst = (uint64_t)x;
        return CLI_EXIT_OK;
    }
    case CLI_OPT_DOUBLE: {
        double x = strtod(v, &end);
        if (end == v || *end != '\0' || errno == ERANGE || !isfinite(x) || x < o->min ||
            x > o->max)
            return cli_usage_error(cmd, "%s '%s': expected a number from %g to %g", shown,
                                   v, o->min, o->max);
        *(double *)o->dst = x;
        return CLI_EXIT_OK;
    }
    case CLI_OPT_STRING:
        if (v[0] == '\0')
            return cli_usage_error(cmd, "%s: expected a non-empty %s", shown,
                                   o->metavar ? o->metavar : "value");
        *(const char **)o->dst = v;
        return CLI_EXIT_OK;
    case CLI_OPT_CHOICE:
        if (!choice_ok(o->choices, v))
            return cli_usage_error(cmd, "%s '%s': expected one of %s", shown, v,
                                   o->choices);
        *(const char **)o->dst = v;
        return CLI_EXIT_OK;
    }
    return CLI_EXIT_USAGE;
}

/* cli_opts_parse() when `file` is NULL; cli_opts_parse_file() otherwise. */
static int opts_parse(const struct cli_usage *u, const char *file, int argc, char **argv,
                      struct cli_opt *opts, int n, const char **pos, int max_pos, int *npos)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s%s%s", u->name, file ? ": " : "", file ? file : "");
    *npos = 0;
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (*npos >= max_pos)
                return cli_usage_error(cmd, "unexpected argument '%s' (see cim %s --help)", a,
                                       u->name);
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_opts_help(stdout, u, opts, n);
            return -1;
        }
        char name[64];
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy(name, a, len);
        name[len] = '\0';
        struct cli_opt *o = (struct cli_opt *)cli_opt_find(opts, n, name);
        if (o == NULL)
            return cli_usage_error(cmd, "unknown option '%s' (see cim %s --help)", name,
                                   u->name);
        const char *v = NULL;
        if (o->kind == CLI_OPT_FLAG) {
            if (eq)
                return cli_usage_error(cmd, "%s takes no value", o->name);
        } else if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            return cli_usage_error(cmd, "%s: missing value %s", o->name,
                                   o->metavar ? o->metavar : "");
        }
        char shown[80];
        snprintf(shown, sizeof shown, file ? "\"%s\"" : "%s", file ? o->name + 2 : o->name);
        int rc = opt_set(cmd, shown, o, v);
        if (rc != CLI_EXIT_OK)
            return file != NULL && rc == CLI_EXIT_USAGE ? CLI_EXIT_FAIL : rc;
        o->seen = file ? CLI_SEEN_FILE : CLI_SEEN_ARG;
    }
    return CLI_EXIT_OK;
}

int cli_opts_parse(const struct cli_usage *u, int argc, char **argv, struct cli_opt *opts, int n,
                   const char **pos, int max_pos, int *npos)
{
    return opts_parse(u, NULL, argc, argv, opts, n, pos, max_pos, npos);
}

int cli_opts_parse_file(const struct cli_usage *u, const char *file, int argc, char **argv,
                        struct cli_opt *opts, int n)
{
    const char *none[1];
    int npos;
    return opts_parse(u, file, argc, argv, opts, n, none, 0, &npos);
}

int cli_opts_take(const char *cmd, const char *name, const char *metavar, int argc, char **argv,
                  const char **vals, int max_vals, int *nvals, char **rest, int max_rest,
                  int *nrest)
{
    const size_t nl = strlen(name);
    *nvals = *nrest = 0;
    if (argc > max_rest)
        return cli_usage_error(cmd, "%d arguments; at most %d", argc - 1, max_rest - 1);
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        if (i > 0 && strcmp(argv[i], name) == 0) {
            if (i + 1 >= argc)
                return cli_usage_error(cmd, "%s: missing value %s", name, metavar);
            v = argv[++i];
        } else if (i > 0 && strncmp(argv[i], name, nl) == 0 && argv[i][nl] == '=') {
            v = argv[i] + nl + 1;
        } else {
            rest[(*nrest)++] = argv[i];
            continue;
        }
        if (*nvals == max_vals)
            return cli_usage_error(cmd, "%s: at most %d", name, max_vals);
        vals[(*nvals)++] = v;
    }
    return CLI_EXIT_OK;
}

int cli_opt_error(const char *cmd, const char *file, const struct cli_opt *opts, int n,
                  const char *msg)
{
    /* the option's name: "--" and the characters of a name */
    size_t len = 0;
    if (strncmp(msg, "--", 2) == 0)
        for (len = 2; msg[len] != '\0' && (isalnum((unsigned char)msg[len]) || msg[len] == '-');
             len++)
            ;
    char name[64];
    const struct cli_opt *o = NULL;
    if (len > 2 && len < sizeof name) {
        memcpy(name, msg, len);
        name[len] = '\0';
        o = cli_opt_find(opts, n, name);
    }
    if (file == NULL || o == NULL || o->seen != CLI_SEEN_FILE)
        return cli_usage_error(cmd, "%s", msg);
    char line[1200];
    snprintf(line, sizeof line, "cim %s: %s: \"%s\"%s", cmd, file, name + 2, msg + len);
    cim_err_one_line(line);
    fprintf(stderr, "%s\n", line);
    return CLI_EXIT_FAIL;
}

/* The help follows GNU's layout ("Usage:", "Options:", an option and its
 * metavar, then its description after at least two spaces or on the next line
 * when the option is long), which is also what help2man turns into the man
 * pages and what the bash completion reads (cli/meson.build, cli/cim.bash). */
void cli_opts_help(FILE *f, const struct cli_usage *u, const struct cli_opt *opts, int n)
{
    fprintf(f, "Usage: cim %s %s\n\n%s\n\nOptions:\n", u->name, u->synopsis, u->summary);
    for (int i = 0; i < n; i++) {
        char left[128];
        const char *mv = opts[i].kind == CLI_OPT_FLAG ? "" : opts[i].metavar;
        if (opts[i].kind == CLI_OPT_CHOICE && mv == NULL)
            mv = opts[i].choices;
        snprintf(left, sizeof left, "%s%s%s", opts[i].name, mv && *mv ? " " : "", mv ? mv : "");
        if (strlen(left) > 24)
            fprintf(f, "  %s\n  %-24s %s\n", left, "", opts[i].help);
        else
            fprintf(f, "  %-24s %s\n", left, opts[i].help);
    }
    fprintf(f, "  %-24s %s\n", "--help", "show this help and exit");
}

void cli_print_json(const struct json_t *j)
{
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text)
        printf("%s\n", text);
    free(text);
}

int cli_parse_ints(const char *s, int *v, int max, int lo, int hi)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno == ERANGE || x < lo || x > hi || n >= max)
            return -1;
        v[n++] = (int)x;
        if (*end == '\0')
            break;
        if (*end != ',' || end[1] == '\0')
            return -1;
        p = end + 1;
    }
    return n;
}

void cli_fmt_num(char *buf, size_t n, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}
