/* cmd_eval.c: `cim eval`, accuracy of a model file on the full test set. */
#include <stdlib.h>

#include <jansson.h>

#include "cli/cli.h"
#include "data/dataset.h"
#include "data/model_file.h"
#include "nn/exec.h"

int cmd_eval(int argc, char **argv)
{
    const char *data = NULL;
    int json = 0, limit = 0, batch = 500, threads = 0;
    struct cli_opt opts[] = {
        {"--json", CLI_OPT_FLAG, &json, NULL, "print one JSON object instead of text", 0, 0, NULL,
         0},
        {"--data", CLI_OPT_STRING, &data, "DIR",
         "Fashion-MNIST directory (default $CIM_DATA or " DATA_DIR_DEFAULT ")", 0, 0, NULL, 0},
        {"--limit", CLI_OPT_INT, &limit, "N", "evaluate the first N test images only (default "
         "all 10,000)", 1, 1 << 30, NULL, 0},
        {"--batch", CLI_OPT_INT, &batch, "B", "images per forward pass (default 500)", 1, 65536,
         NULL, 0},
        {"--threads", CLI_OPT_INT, &threads, "N", "BLAS threads (default: all cores)", 1, 256,
         NULL, 0},
    };
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    const struct cli_usage u = {"eval", "FILE.h5 [OPTIONS]",
                                "Classify the Fashion-MNIST test set with the model in FILE.h5 "
                                "and print its accuracy."};
    const char *pos[1];
    int npos;
    int rc = cli_opts_parse(&u, argc, argv, opts, nopts, pos, 1, &npos);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (npos != 1)
        return cli_usage_error("eval", "expected one model file (cim eval FILE.h5)");
    cli_threads_set(threads);

    struct cim_err err = {0};
    struct data_set test = {0};
    struct nn_model *m = data_model_load(pos[0], &err);
    long correct = 0;
    if (m == NULL || data_set_load(data, DATA_SPLIT_TEST, &test, &err) != CIM_OK ||
        cli_evaluate(m, &nn_exec_fp32, &test, limit, batch, &correct, &err) != CIM_OK) {
        nn_model_free(m);
        data_set_release(&test);
        return cli_fail(&err);
    }
    const int n = limit > 0 && limit < test.n ? limit : test.n;
    const double acc = (double)correct / n;
    if (json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:[{s:s, s:f, s:I}]}", "file", pos[0],
                              "architecture", m->arch, "split", "test", "images", n, "results",
                              "precision", "fp32", "accuracy", acc, "correct", (json_int_t)correct);
        char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(j);
    } else {
        printf("%s: %s on the Fashion-MNIST test set (%d images)\n", pos[0], m->arch, n);
        printf("  %-10s %8s\n", "precision", "accuracy");
        printf("  %-10s %7.2f%%\n", "FP32", 100.0 * acc);
    }
    nn_model_free(m);
    data_set_release(&test);
    return CLI_EXIT_OK;
}
