/*
 * main.c: the `cim` program: one binary, `cim COMMAND [OPTIONS]`.
 *
 * Commands are listed in one table; each parses its own options (cli/cmd_*.c).
 * Exit status: 0 ok, 1 failure, 2 bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/rng.h"
#include "cim_config.h"
#include "cli/cli.h"
#include "data/model_file.h"

struct cli_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct cli_command commands[] = {
    {"train", cmd_train, "train a network (lenet5 or mlp) on Fashion-MNIST, save it as HDF5"},
    {"eval", cmd_eval, "accuracy of a model file on the full test set"},
    {"infer", cmd_infer, "run a quantized model on the crossbar model: accuracy and error sources"},
    {"sweep", cmd_sweep, "a grid of crossbar options x seeds: HDF5 runs, CSV summary, plot"},
    {"plot", cmd_plot, "plot a stored sweep against one of its varied options"},
    {"info", cmd_info, "layers, shapes, parameters and training record of a model file"},
    {"bench", cmd_bench, "measure sgemm rate, training and inference throughput"},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: cim COMMAND [OPTIONS]\n\n"
            "cim models a compute-in-memory accelerator: it trains networks on Fashion-MNIST\n"
            "and runs them digitally or on a behavioral crossbar model.\n\nCommands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`cim COMMAND --help` or `cim help COMMAND` describes a command.\n\n"
               "Data: Fashion-MNIST from %s (--data DIR or CIM_DATA to choose another).\n"
               "\nOptions:\n"
               "  --help     show this help and exit\n"
               "  --version  show the version and exit\n",
            "/usr/share/datasets/fashion-mnist");
}

static void log_to_stderr(enum cim_log_level level, const char *msg, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "cim: %s%s\n", level >= CIM_LOG_WARN ? "warning: " : "", msg);
}

int main(int argc, char **argv)
{
    cim_base_init();
    data_init();
    cim_log_set_sink(log_to_stderr, NULL, CIM_LOG_WARN);
    cli_argc = argc;
    cli_argv = argv;
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("cim %s\n", CIM_VERSION);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        cmd = argv[2];
        for (int i = 0; i < N_COMMANDS; i++)
            if (strcmp(cmd, commands[i].name) == 0) {
                char *hargv[] = {(char *)commands[i].name, "--help", NULL};
                return commands[i].fn(2, hargv);
            }
    } else {
        for (int i = 0; i < N_COMMANDS; i++)
            if (strcmp(cmd, commands[i].name) == 0)
                return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "cim: unknown command '%s' (see cim --help)\n", cmd);
    return CLI_EXIT_USAGE;
}
