/*
 * fuzz_opts.c: libFuzzer target for the command-line parser (cli/opts.c) with
 * the options of `cim infer` (cli/xbar_opts.c). The input is the arguments,
 * separated by NUL bytes; whatever the parser accepts must be a valid
 * configuration (fuzz_cli.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_cli.h"

#define ARGS_MAX 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[ARGS_MAX + 1];
    int argc = 0;
    argv[argc++] = "infer";
    for (size_t i = 0; i < size && argc < ARGS_MAX; i += strlen(buf + i) + 1)
        argv[argc++] = buf + i;
    argv[argc] = NULL;
    struct fuzz_cli f;
    fuzz_cli_init(&f);
    fuzz_cli_run(&f, argc, argv);
    free(buf);
    return 0;
}
