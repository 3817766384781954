/*
 * cmd_infer.c: `cim infer`, a quantized model on the crossbar model.
 *
 * Programs the model's codes onto crossbar arrays (cim/xbar.h), calibrates the
 * ADC ranges on training images when the range asks for it, classifies test
 * images, and reports the accuracy beside the exact integer result and, per
 * layer, where the error comes from: the RMS error of the layer's outputs
 * against the exact integer dot products of the same inputs, the share of ADC
 * conversions that clipped, and the reads and conversions per image.
 *
 * Options may come from a JSON object (--config FILE.json) whose keys are the
 * option names without "--" ({"adc-bits": 6, "array": "128x128", "drift-comp":
 * true}); the command line wins over the file. --json prints the effective
 * configuration with the results, so any result can be reproduced.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/h5_guard.h"
#include "cli/xbar_opts.h"
#include "data/dataset.h"
#include "data/model_file.h"
#include "nn/quantize.h"

/* The text report: accuracy, then one row per weight layer. */
static void print_report(const char *file, const struct nn_model *m, const char *label,
                         const struct cli_infer_out *r)
{
    const int n = r->images;
    printf("%s: %s %s on crossbars (%s), %d test images\n", file, m->arch, label,
           r->reuses ? "low weight slices of the high-precision arrays skipped"
                     : "arrays programmed with this precision's codes", n);
    printf("  accuracy %.2f%% (exact integer %.2f%%), %.0f images/s\n", 100.0 * r->correct / n,
           100.0 * r->correct_int / n, n / (r->seconds > 0 ? r->seconds : 1e-9));
    printf("  %-5s %-8s %6s %5s %4s %-12s %10s %10s %8s %8s %10s %8s\n", "layer", "type",
           "arrays", "in-sl", "w-sl", "adc step", "reads/img", "conv/img", "skipped", "clipped",
           "rms error", "relative");
    size_t i;
    json_t *l;
    json_array_foreach(r->layers, i, l)
    {
        char steps[64] = "";
        size_t at = 0, j;
        json_t *e;
        json_array_foreach(json_object_get(l, "adc_step_log2"), j, e)
        {
            if (at < sizeof steps - 8)
                at += (size_t)snprintf(steps + at, sizeof steps - at, "%s%d", j ? "," : "",
                                       (int)json_integer_value(e));
        }
        printf("  %-5d %-8s %6d %5d %4d %-12s %10.0f %10.0f %7.1f%% %7.3f%% %10.3g %8.4f\n",
               (int)json_integer_value(json_object_get(l, "layer")),
               json_string_value(json_object_get(l, "type")),
               (int)(json_integer_value(json_object_get(l, "row_tiles")) *
                     json_integer_value(json_object_get(l, "col_tiles"))),
               (int)json_integer_value(json_object_get(l, "in_slices")),
               (int)json_integer_value(json_object_get(l, "w_slices")), steps,
               json_real_value(json_object_get(l, "reads_per_image")),
               json_real_value(json_object_get(l, "conversions_per_image")),
               100.0 * json_real_value(json_object_get(l, "skipped_reads")),
               100.0 * json_real_value(json_object_get(l, "clipped")),
               json_real_value(json_object_get(l, "rms_error")),
               json_real_value(json_object_get(l, "relative_error")));
    }
}

/* The energy report (--energy): per layer and component, per image, and the
 * area of the arrays and their periphery. */
static void print_energy(const struct cli_infer_out *r)
{
    const struct cim_energy_cost *t = &r->cost;
    const double total = cim_energy_total(t), area = cim_energy_area_total(t);
    printf("  energy per inference %.4g nJ, area %.4g mm^2 (crossbar tiles: arrays, DACs, ADCs, "
           "shift-add; docs/ENERGY.md)\n", total * 1e9, area * 1e6);
    printf("  %-5s %-8s %10s %10s %10s %10s %10s %10s\n", "layer", "", "ADC nJ", "array nJ",
           "DAC nJ", "periph nJ", "total nJ", "area mm^2");
    size_t i;
    json_t *l;
    json_array_foreach(r->layers, i, l)
    {
        const json_t *e = json_object_get(l, "energy");
#define E(k) json_real_value(json_object_get(e, k))
        printf("  %-5d %-8s %10.4g %10.4g %10.4g %10.4g %10.4g %10.4g\n",
               (int)json_integer_value(json_object_get(l, "layer")),
               json_string_value(json_object_get(l, "type")), E("adc_j") * 1e9,
               E("array_j") * 1e9, E("dac_j") * 1e9, E("periph_j") * 1e9, E("total_j") * 1e9,
               E("area_m2") * 1e6);
#undef E
    }
    const double tt = total > 0 ? total : 1.0, aa = area > 0 ? area : 1.0;
    printf("  %-14s %9.1f%% %9.1f%% %9.1f%% %9.1f%%\n", "share of energy", 100 * t->adc / tt,
           100 * t->array / tt, 100 * t->dac / tt, 100 * t->periph / tt);
    printf("  %-14s %9.1f%% %9.1f%% %9.1f%% %9.1f%%   (ADCs, cells, DACs, shift-add)\n",
           "share of area", 100 * t->area_adc / aa, 100 * t->area_cells / aa,
           100 * t->area_dac / aa, 100 * t->area_periph / aa);
}

int cmd_infer(int argc, char **argv)
{
    struct cli_xbar_args xa;
    cli_xbar_args_default(&xa);
    const char *config = NULL;
    int json = 0, energy = 0;
    struct cli_run_args ra;
    struct cli_opt opts[3 + CLI_RUN_OPTS + CLI_XBAR_OPTS] = {
        {"--config", CLI_OPT_STRING, &config, "FILE.json",
         "options as a JSON object {\"adc-bits\": 6, ...}; the command line wins", 0, 0, NULL, 0},
        {"--json", CLI_OPT_FLAG, &json, NULL,
         "print one JSON object (results and the effective configuration)", 0, 0, NULL, 0},
        {"--energy", CLI_OPT_FLAG, &energy, NULL, "print energy per inference and area, by "
         "layer and component, from the run's own counts (docs/ENERGY.md)", 0, 0, NULL, 0},
    };
    int nopts = 3 + cli_run_opts(&ra, opts + 3);
    nopts += cli_xbar_opts(&xa, opts + nopts);
    const struct cli_usage u = {
        "infer", "FILE.h5 [OPTIONS]",
        "Run the quantized model in FILE.h5 on the crossbar model (bit-sliced cells, DACs, "
        "ADCs, digital periphery, noise, drift, faults) over the Fashion-MNIST test set; print "
        "the accuracy and, per layer, the error against the exact integer result, ADC "
        "clipping, reads and conversions per image."};

    const char *pos[1], *cfg_path;
    int npos;
    json_t *store; /* the configuration file's strings, which options borrow */
    struct cim_err err = {0};
    struct cim_xbar_config cfg;
    struct cim_energy_config ecfg;
    int rc = cli_opts_parse_config(&u, argc, argv, opts, nopts, pos, 1, &npos, &cfg_path,
                                   &store);
    /* a value found wrong after merging names the file it came from */
    xa.config = cfg_path;
    xa.opts = opts;
    xa.nopts = nopts;
    if (rc == 0 && npos != 1)
        rc = cli_usage_error("infer", "expected one model file (cim infer FILE.h5)");
    if (rc == 0)
        rc = cli_xbar_config(&xa, "infer", &cfg);
    if (rc == 0)
        rc = cli_energy_config(&xa, "infer", &ecfg);
    if (rc != 0) {
        json_decref(store);
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    cli_threads_set(ra.threads);
    struct cli_progress pr;
    cli_progress_init(&pr, ra.quiet || json);

    struct data_set test = {0}, train = {0};
    struct cli_infer_out r = {0};
    struct nn_model *m = cli_model_load(pos[0], &err);
    if (m == NULL || data_set_load(ra.data, DATA_SPLIT_TEST, &test, &err) != CIM_OK ||
        cli_data_check(m, pos[0], &test, data_dir_resolve(ra.data), &err) != CIM_OK)
        goto fail;
    if (m->quant.n_prec == 0) {
        cim_err_set(&err, CIM_EINVAL, "%s: the crossbar runs a quantized model; this file is "
                    "FP32 (train with --qat, or quantize with cim eval --ptq)", pos[0]);
        goto fail;
    }
    const int p = cli_xbar_precision(m, &xa, "infer", pos[0]);
    if (p < 0) {
        nn_model_free(m);
        data_set_release(&test);
        json_decref(store);
        return -p;
    }
    const int calibrated = cfg.adc_range == CIM_ADC_RANGE_MAX ||
                           cfg.adc_range == CIM_ADC_RANGE_PERCENTILE;
    if (calibrated && data_set_load(ra.data, DATA_SPLIT_TRAIN, &train, &err) != CIM_OK)
        goto fail;
    if (cli_infer_run(m, p, &cfg, &ecfg, &test, &train, ra.images, xa.calib, ra.batch, 1, &pr,
                      "crossbar", &r,
                      &err) != CIM_OK)
        goto fail;
    char label[32];
    nn_quant_label(m, p, label, sizeof label);
    const int n = r.images;
    if (json) {
        json_t *conf = cli_xbar_config_json(&cfg, m->quant.wbits[p], m->quant.abits[p], xa.calib);
        json_object_set_new(conf, "energy-params", cli_energy_params_json(&ecfg));
        json_t *j = json_pack(
            "{s:s, s:s, s:s, s:i, s:f, s:I, s:f, s:I, s:b, s:f, s:f, s:o, s:O}", "file", pos[0],
            "architecture", m->arch, "precision", label, "images", n, "accuracy",
            (double)r.correct / n, "correct", (json_int_t)r.correct, "accuracy_integer",
            (double)r.correct_int / n, "correct_integer", (json_int_t)r.correct_int,
            "reuses_high_arrays", r.reuses, "program_seconds", r.program_seconds,
            "images_per_second", n / (r.seconds > 0 ? r.seconds : 1e-9), "config", conf,
            "layers", r.layers);
        json_object_set_new(j, "energy", cli_energy_cost_json(&r.cost, 1.0));
        cli_print_json(j);
        json_decref(j);
    } else {
        print_report(pos[0], m, label, &r);
        if (energy)
            print_energy(&r);
    }
    json_decref(r.layers);
    nn_model_free(m);
    data_set_release(&test);
    data_set_release(&train);
    json_decref(store);
    return CLI_EXIT_OK;
fail:
    json_decref(r.layers);
    nn_model_free(m);
    data_set_release(&test);
    data_set_release(&train);
    json_decref(store);
    return cli_fail(&err);
}
