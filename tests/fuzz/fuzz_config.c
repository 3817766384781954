/*
 * fuzz_config.c: libFuzzer target for the JSON config reader of `cim infer
 * --config` (cli_config_file_args, cli/xbar_opts.c). The input is the file;
 * what it yields is parsed as options (fuzz_cli.h). A refusal is one line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_cli.h"

#define ARGS_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/cim-fuzz-config-%ld.json", (long)getpid());
    FILE *fp = fopen(path, "wb");
    if (fp == NULL)
        abort();
    fwrite(data, 1, size, fp);
    fclose(fp);
    struct fuzz_cli f;
    fuzz_cli_init(&f);
    char *args[ARGS_MAX];
    int n = 0;
    args[n++] = "infer";
    json_t *store = NULL;
    struct cim_err err = {0};
    if (cli_config_file_args(path, f.opts, f.nopts, args, ARGS_MAX - 1, &n, &store, &err) ==
        CIM_OK) {
        args[n] = NULL;
        fuzz_cli_run(&f, n, args);
    } else if (err.msg[0] == '\0' || strchr(err.msg, '\n') != NULL) {
        abort();
    }
    json_decref(store);
    unlink(path);
    return 0;
}
