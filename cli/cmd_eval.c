/*
 * cmd_eval.c: `cim eval`, accuracy of a model file on the full test set.
 *
 * A quantized file is evaluated in FP32 and at each of its precisions, all from
 * the same stored FP32 weights; `--bits W,A` adds a precision derived from the
 * high one by the file's scheme. `--ptq METHOD` quantizes an FP32 file after
 * training (post-training quantization: W8A8 and W4A4, nested, weight ranges and
 * activation ranges by METHOD, activations calibrated on training images), the
 * baseline that quantization-aware training has to beat.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/h5_guard.h"
#include "data/dataset.h"
#include "data/model_file.h"
#include "nn/exec.h"
#include "nn/quantize.h"

/* Images of the training set used to calibrate activation ranges. */
#define CALIB_IMAGES 2048

/* "max", "mse", "percentile:99.9" into a method and a percentile. */
int cli_parse_range(const char *s, enum quant_range_method *m, double *pct)
{
    *pct = 99.99;
    if (strncmp(s, "percentile", 10) == 0) {
        *m = QUANT_RANGE_PERCENTILE;
        if (s[10] == '\0')
            return 0;
        char *end;
        if (s[10] != ':' || (*pct = strtod(s + 11, &end), *end != '\0') ||
            !quant_range_pct_valid(*pct))
            return -1;
        return 0;
    }
    int k = quant_range_method_parse(s);
    if (k < 0)
        return -1;
    *m = (enum quant_range_method)k;
    return 0;
}

int cli_calibrate(struct nn_model *m, const struct data_set *train,
                  enum quant_range_method method, double pct, struct cim_err *err)
{
    if (cli_data_check(m, NULL, train, NULL, err) != CIM_OK)
        return err->code;
    int n = train->n < CALIB_IMAGES ? train->n : CALIB_IMAGES;
    float *x = malloc((size_t)n * train->c * train->h * train->w * sizeof *x);
    if (x == NULL)
        return cim_err_set(err, CIM_ENOMEM, "out of memory for calibration");
    data_set_range(train, 0, n, x, NULL);
    int rc = nn_quant_calibrate(m, x, n, method, pct, err);
    free(x);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    const char *data = NULL, *bits = NULL, *ptq = NULL;
    int json = 0, limit = 0, batch = 500, threads = 0, per_channel = 0;
    struct cli_opt opts[] = {
        {"--json", CLI_OPT_FLAG, &json, NULL, "print one JSON object instead of text", 0, 0, NULL,
         0},
        {"--bits", CLI_OPT_STRING, &bits, "W,A",
         "also evaluate weights of W bits and activations of A bits, nested in the high "
         "precision by the file's scheme", 0, 0, NULL, 0},
        {"--ptq", CLI_OPT_STRING, &ptq, "RANGE",
         "quantize an FP32 file after training (W8A8, W4A4 nested) with ranges by max, "
         "mse or percentile[:P]", 0, 0, NULL, 0},
        {"--per-channel", CLI_OPT_FLAG, &per_channel, NULL,
         "with --ptq: one weight step per output channel", 0, 0, NULL, 0},
        {"--data", CLI_OPT_STRING, &data, "DIR",
         "Fashion-MNIST directory (default $CIM_DATA or " DATA_DIR_DEFAULT ")", 0, 0, NULL, 0},
        {"--limit", CLI_OPT_INT, &limit, "N", "evaluate the first N test images only (default "
         "all 10,000)", 1, 1 << 30, NULL, 0},
        {"--batch", CLI_OPT_INT, &batch, "B", "images per forward pass (default 500)", 1, 65536,
         NULL, 0},
        {"--threads", CLI_OPT_INT, &threads, "N", "threads (default: all cores)", 1, 256, NULL,
         0},
    };
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    const struct cli_usage u = {"eval", "FILE.h5 [OPTIONS]",
                                "Classify the Fashion-MNIST test set with the model in FILE.h5 "
                                "and print its accuracy in FP32 and at each stored precision."};
    const char *pos[1];
    int npos;
    int rc = cli_opts_parse(&u, argc, argv, opts, nopts, pos, 1, &npos);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (npos != 1)
        return cli_usage_error("eval", "expected one model file (cim eval FILE.h5)");
    int wa[2];
    if (bits != NULL && cli_parse_ints(bits, wa, 2, 1, 16) != 2)
        return cli_usage_error("eval", "--bits '%s': expected W,A with W in 2..16 and A in "
                               "1..16, e.g. 6,6", bits);
    if (bits != NULL && wa[0] < 2)
        return cli_usage_error("eval", "--bits '%s': weights need at least 2 bits", bits);
    enum quant_range_method method = QUANT_RANGE_MAX;
    double pct = 0;
    if (per_channel && ptq == NULL)
        return cli_usage_error("eval", "--per-channel applies to --ptq only");
    if (ptq != NULL && cli_parse_range(ptq, &method, &pct) != 0)
        return cli_usage_error("eval", "--ptq '%s': expected max, mse or percentile[:P] with "
                               "0 < P <= 100", ptq);
    cli_threads_set(threads);

    struct cim_err err = {0};
    struct data_set test = {0};
    struct nn_model *m = cli_model_load(pos[0], &err);
    if (m == NULL || data_set_load(data, DATA_SPLIT_TEST, &test, &err) != CIM_OK ||
        cli_data_check(m, pos[0], &test, data_dir_resolve(data), &err) != CIM_OK)
        goto fail;
    if (ptq != NULL) {
        if (m->quant.n_prec > 0) {
            cim_err_set(&err, CIM_EINVAL, "%s: --ptq needs an FP32 file; this one is already "
                        "quantized", pos[0]);
            goto fail;
        }
        struct nn_quant q = {.n_prec = 2, .scheme = QUANT_SCHEME_NESTED, .wbits = {8, 4},
                             .abits = {8, 4}, .per_channel = per_channel, .percentile = pct};
        snprintf(q.wrange, sizeof q.wrange, "%s", quant_range_method_name(method));
        snprintf(q.arange, sizeof q.arange, "%s", quant_range_method_name(method));
        struct data_set train = {0};
        rc = data_set_load(data, DATA_SPLIT_TRAIN, &train, &err);
        if (rc == CIM_OK && (rc = nn_quant_enable(m, &q, &err)) == CIM_OK)
            rc = cli_calibrate(m, &train, method, pct, &err);
        data_set_release(&train);
        if (rc != CIM_OK)
            goto fail;
        nn_quant_weight_ranges(m, method, pct);
    }
    if (bits != NULL) {
        if (m->quant.n_prec == 0) {
            cim_err_set(&err, CIM_EINVAL, "%s: --bits needs a quantized file (or --ptq)",
                        pos[0]);
            goto fail;
        }
        if (wa[0] > m->quant.wbits[0] || wa[1] > m->quant.abits[0]) {
            cim_err_set(&err, CIM_EINVAL, "--bits %d,%d: above the file's high precision W%dA%d",
                        wa[0], wa[1], m->quant.wbits[0], m->quant.abits[0]);
            goto fail;
        }
        const int p = 1; /* the extra precision takes the low slot */
        m->quant.n_prec = 2;
        m->quant.wbits[p] = wa[0];
        m->quant.abits[p] = wa[1];
        if (m->quant.scheme == QUANT_SCHEME_INDEPENDENT)
            nn_quant_weight_ranges(m, QUANT_RANGE_MAX, 100.0);
        else
            nn_quant_nest_steps(m);
    }

    const int n = limit > 0 && limit < test.n ? limit : test.n;
    json_t *rows = json_array();
    if (!json)
        printf("%s: %s on the test set (%d images)%s\n  %-10s %8s\n", pos[0], m->arch, n,
               ptq ? ", post-training quantization" : "", "precision", "accuracy");
    for (int p = -1; p < m->quant.n_prec; p++) {
        long correct = 0;
        if (cli_evaluate(m, p, &nn_exec_fp32, &test, limit, batch, &correct, &err) != CIM_OK) {
            json_decref(rows);
            goto fail;
        }
        char label[32];
        nn_quant_label(m, p, label, sizeof label);
        const double acc = (double)correct / n;
        json_array_append_new(rows, json_pack("{s:s, s:f, s:I}", "precision", label, "accuracy",
                                              acc, "correct", (json_int_t)correct));
        if (!json)
            printf("  %-10s %7.2f%%\n", label, 100.0 * acc);
    }
    if (json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:o}", "file", pos[0], "architecture",
                              m->arch, "split", "test", "images", n, "results", rows);
        if (m->quant.n_prec > 0)
            json_object_set_new(j, "scheme", json_string(quant_scheme_name(m->quant.scheme)));
        cli_print_json(j);
        json_decref(j);
    } else {
        json_decref(rows);
    }
    nn_model_free(m);
    data_set_release(&test);
    return CLI_EXIT_OK;
fail:
    nn_model_free(m);
    data_set_release(&test);
    return cli_fail(&err);
}
