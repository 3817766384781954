/*
 * fuzz_cli.h: what the two command-line fuzz targets share: the option table
 * of `cim infer` (run options and crossbar options), and the check that
 * whatever the parser accepts is a valid crossbar and energy configuration.
 */
#ifndef CIM_TESTS_FUZZ_CLI_H
#define CIM_TESTS_FUZZ_CLI_H

#include "cli/xbar_opts.h"

#define FUZZ_OPTS_MAX (CLI_RUN_OPTS + CLI_XBAR_OPTS)

struct fuzz_cli {
    struct cli_xbar_args xa;
    struct cli_run_args ra;
    struct cli_opt opts[FUZZ_OPTS_MAX];
    int nopts;
};

/* Fill f with infer's options at their defaults. */
void fuzz_cli_init(struct fuzz_cli *f);

/* Parse argv[0 .. argc) (argv[0] the command name) as `cim infer` does and,
 * when accepted, abort unless the configurations check out. */
void fuzz_cli_run(struct fuzz_cli *f, int argc, char **argv);

#endif
