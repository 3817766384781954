/*
 * cli.h: what the commands of the `cim` program share.
 *
 * Each command lives in cli/cmd_<name>.c as `int cmd_<name>(int argc, char **argv)`
 * (argv[0] is the command's name) and returns an exit status: CLI_EXIT_OK,
 * CLI_EXIT_FAIL for a failure (bad file, I/O error), CLI_EXIT_USAGE for bad usage.
 * Options are declared in a table and parsed by cli_opts_parse(), which gives
 * every bad value a one-line reason naming the option.
 */
#ifndef CIM_CLI_H
#define CIM_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "data/dataset.h"
#include "nn/exec.h"
#include "nn/model.h"
#include "quant/range.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* ---- options ---------------------------------------------------------------- */

enum cli_opt_kind {
    CLI_OPT_FLAG,   /* no value; *(int *)dst = 1 */
    CLI_OPT_INT,    /* *(int *)dst, within [min, max] */
    CLI_OPT_U64,    /* *(uint64_t *)dst */
    CLI_OPT_DOUBLE, /* *(double *)dst, finite, within [min, max] */
    CLI_OPT_STRING, /* *(const char **)dst, borrowed from argv */
    CLI_OPT_CHOICE  /* *(const char **)dst, one of the '|'-separated words in choices */
};

struct cli_opt {
    const char *name; /* "--epochs" */
    enum cli_opt_kind kind;
    void *dst;
    const char *metavar; /* "N", "FILE" */
    const char *help;    /* one line; the default goes at its end */
    double min, max;     /* CLI_OPT_INT and CLI_OPT_DOUBLE */
    const char *choices; /* CLI_OPT_CHOICE: "adam|sgd" */
    int seen;            /* set by the parser: where the value came from (below) */
};

/* Values of cli_opt.seen: not given, given on the command line, or by a
 * configuration file (cli_opts_parse_file()). */
enum { CLI_SEEN_NO = 0, CLI_SEEN_ARG = 1, CLI_SEEN_FILE = 2 };

/* A command's description for --help. */
struct cli_usage {
    const char *name;     /* "train" */
    const char *synopsis; /* "[OPTIONS] --out FILE.h5" */
    const char *summary;  /* one paragraph */
};

/* Parse argv[1..argc) against `opts` (n entries). Arguments that are not options
 * go to pos[0 .. *npos) (at most max_pos). "--name=value" and "--name value" both
 * work; "--" ends the options. `--help` prints the command's help to stdout and
 * returns -1. Returns CLI_EXIT_OK, or CLI_EXIT_USAGE after printing one line
 * "cim NAME: reason" to stderr. */
int cli_opts_parse(const struct cli_usage *u, int argc, char **argv, struct cli_opt *opts, int n,
                   const char **pos, int max_pos, int *npos);

/* Parse the options of configuration file `file`, given as "--key=value"
 * strings argv[1..argc) (cli_config_file_args()), as cli_opts_parse() does
 * without positional arguments, marking each option CLI_SEEN_FILE; parse the
 * command line afterwards, so that it wins (and marks CLI_SEEN_ARG). A bad
 * value is a bad file: one line "cim NAME: FILE: \"key\" 'value': reason" and
 * CLI_EXIT_FAIL. */
int cli_opts_parse_file(const struct cli_usage *u, const char *file, int argc, char **argv,
                        struct cli_opt *opts, int n);

/* Take every value of an option that may repeat (`--vary`, `--fix`) out of
 * argv[0..argc): "--NAME V" and "--NAME=V" go to vals (at most max_vals), the
 * rest, argv[0] first, to rest (at most max_rest), for cli_opts_parse().
 * `name` is "--vary", `metavar` what a value looks like ("NAME=LIST");
 * CLI_EXIT_OK or a usage error of command `cmd` naming the option. */
int cli_opts_take(const char *cmd, const char *name, const char *metavar, int argc, char **argv,
                  const char **vals, int max_vals, int *nvals, char **rest, int max_rest,
                  int *nrest);

/* Report `msg`, a reason that starts with the name of the option at fault
 * ("--adc-bits 0: ..."), found after the command line and configuration file
 * `file` (may be NULL) were merged into `opts`. When the option's value came
 * from the file: "cim CMD: FILE: \"adc-bits\" 0: ..." on stderr and
 * CLI_EXIT_FAIL (a bad file); otherwise cli_usage_error() with msg as it is
 * (bad usage). */
int cli_opt_error(const char *cmd, const char *file, const struct cli_opt *opts, int n,
                  const char *msg);

/* Print a command's help: synopsis, summary, and the option table. */
void cli_opts_help(FILE *f, const struct cli_usage *u, const struct cli_opt *opts, int n);

/* The option named `name` in the table (for ->seen); NULL if absent. */
const struct cli_opt *cli_opt_find(const struct cli_opt *opts, int n, const char *name);

/* Print a JSON value (may be NULL: prints nothing) to stdout, indented, keys in
 * insertion order, and a newline; the value stays the caller's. */
struct json_t;
void cli_print_json(const struct json_t *j);

/* ---- messages and progress ---------------------------------------------------- */

/* Print "cim: msg" to stderr for a failed library call and return CLI_EXIT_FAIL. */
int cli_fail(const struct cim_err *err);

/* Print "cim NAME: reason" to stderr and return CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A progress line on stderr, redrawn in place. Shown only when stderr is a
 * terminal and the user did not ask for --quiet. */
struct cli_progress {
    int on;
    int drawn; /* a line is on screen */
};

void cli_progress_init(struct cli_progress *p, int quiet);
void cli_progress_draw(struct cli_progress *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Keep the current line on screen and start a new one. */
void cli_progress_keep(struct cli_progress *p);
/* Erase the current line. */
void cli_progress_clear(struct cli_progress *p);

/* Seconds on a monotonic clock. */
double cli_now(void);

/* Set the number of threads of every pass (0: all cores); see nn/forward.h. */
void cli_threads_set(int n);

/* The whole command line, quoted where needed, into buf (for training records). */
void cli_command_line(int argc, char **argv, char *buf, size_t size);

/* ---- evaluation --------------------------------------------------------------- */

/* CIM_OK when the samples of `ds` have the shape of m's input; else CIM_EINVAL,
 * "MODEL: model input CxHxW does not match the CxHxW images in DIR" (without the
 * names when `model` or `dir` is NULL). Every run of a model on a data set checks
 * this first: a mismatch would read past the images. */
int cli_data_check(const struct nn_model *m, const char *model, const struct data_set *ds,
                   const char *dir, struct cim_err *err);

/* Count in *correct the samples of `ds` (the first `limit`, or all when limit <= 0)
 * that `m` run at precision `prec` (-1 FP32, else an index of m->quant; see
 * nn/quantize.h) on backend `ex` classifies correctly, `batch` at a time. */
int cli_evaluate(const struct nn_model *m, int prec, const struct nn_exec *ex,
                 const struct data_set *ds, int limit, int batch, long *correct,
                 struct cim_err *err);

/* Parse a range method "max", "mse", "percentile[:P]" (default P 99.99); 0 or -1. */
int cli_parse_range(const char *s, enum quant_range_method *m, double *pct);

/* Set m's activation steps from the first 2,048 training images (see
 * nn_quant_calibrate). */
int cli_calibrate(struct nn_model *m, const struct data_set *train,
                  enum quant_range_method method, double pct, struct cim_err *err);

/* v into buf as the shortest of %.15g, %.16g, %.17g that reads back as v
 * (0.05, not 0.050000000000000003). */
void cli_fmt_num(char *buf, size_t n, double v);

/* Parse "8,4" into at most `max` integers in [lo, hi]; the count, or -1. */
int cli_parse_ints(const char *s, int *v, int max, int lo, int hi);

/* ---- commands ----------------------------------------------------------------- */

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_infer(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* The full command line of the running program, for records (set by main). */
extern int cli_argc;
extern char **cli_argv;

#endif
