/*
 * cmd_bench.c: `cim bench`, speed measured in one run on this machine.
 *
 * It measures the rate of the BLAS in use (square sgemm, GFLOP/s) and, for each
 * architecture, training throughput at batch 128 (forward, loss, backward, Adam
 * update, batch gather included) and FP32 inference throughput, and relates each
 * to the sgemm bound: the model's FLOPs per image divided by the measured sgemm
 * rate (training counted as 3x the forward FLOPs: forward, input gradient,
 * weight gradient). It also reports which shared library serves cblas_sgemm, so a
 * silent fall-back to a reference CBLAS shows.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cblas.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>

#include "base/rng.h"
#include "cim/xbar.h"
#include "cli/cli.h"
#include "cli/h5_guard.h"
#include "data/dataset.h"
#include "data/model_file.h"
#include "nn/forward.h"
#include "nn/integer.h"
#include "nn/quantize.h"
#include "nn/train.h"

static double bench_sgemm(int n, double seconds)
{
    size_t nn = (size_t)n * n;
    float *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
    double rate = 0.0;
    if (a && b && c) {
        for (size_t k = 0; k < nn; k++) {
            a[k] = (float)(k % 7) * 0.25f - 0.5f;
            b[k] = (float)(k % 5) * 0.125f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                    n);
        long reps = 0;
        double t0 = cli_now(), t;
        do {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n,
                        0.0f, c, n);
            reps++;
        } while ((t = cli_now() - t0) < seconds);
        rate = 2.0 * (double)n * n * n * (double)reps / t / 1e9;
    }
    free(a);
    free(b);
    free(c);
    return rate;
}

/* Seeded uniform pixels and labels: throughput does not depend on the content. */
static void bench_data(float *x, uint8_t *y, size_t nx, int ny)
{
    gsl_rng *r = cim_rng_alloc(1, cim_rng_stream(CIM_RNG_TEST, 0));
    for (size_t k = 0; k < nx; k++)
        x[k] = r ? (float)gsl_rng_uniform(r) : 0.5f;
    for (int k = 0; k < ny; k++)
        y[k] = (uint8_t)(r ? gsl_rng_uniform_int(r, 10) : 0);
    gsl_rng_free(r);
}

/* Training throughput; with `qat`, quantization-aware training at W8A8 + W4A4
 * (nested, learned per-channel steps and clips, distillation): two passes a step. */
static int bench_train(struct nn_model *m, int batch, int qat, double seconds, double *ips)
{
    const int pool = 8 * batch;
    size_t in = nn_shape_size(m->input);
    float *x = malloc((size_t)pool * in * sizeof *x), *xb = malloc((size_t)batch * in * sizeof *xb);
    uint8_t *y = malloc((size_t)pool), *yb = malloc((size_t)batch);
    struct nn_train_opts o = {.epochs = 1, .batch = batch, .n_train = pool, .lr = 1e-4,
                              .schedule = NN_LR_CONSTANT,
                              .optim = {.kind = NN_OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999,
                                        .eps = 1e-8}, .seed = 1};
    if (qat) {
        struct nn_quant q = {.n_prec = 2, .scheme = QUANT_SCHEME_NESTED, .wbits = {8, 4},
                             .abits = {8, 4}, .per_channel = 1};
        if (nn_quant_enable(m, &q, NULL) != CIM_OK)
            return CIM_ENOMEM;
        o.qat = (struct nn_qat_opts){.on = 1, .lsq = 1, .acts = NN_QAT_A_PACT, .qlr = 1e-3,
                                     .distill = 1.0};
    }
    struct nn_trainer *t = x && xb && y && yb ? nn_trainer_alloc(m, &o, NULL) : NULL;
    int *order = malloc((size_t)pool * sizeof *order);
    int rc = CIM_ENOMEM;
    if (t != NULL && order != NULL) {
        bench_data(x, y, (size_t)pool * in, pool);
        nn_trainer_shuffle(t, 0, order);
        long steps = 0;
        double t0 = 0.0, el = 0.0;
        for (long s = 0;; s++) {
            if (s == 5)
                t0 = cli_now(); /* warm-up done */
            const int *idx = order + (s % 8) * batch;
            for (int k = 0; k < batch; k++) {
                memcpy(xb + (size_t)k * in, x + (size_t)idx[k] * in, in * sizeof *x);
                yb[k] = y[idx[k]];
            }
            nn_trainer_step(t, xb, yb, batch, NULL);
            if (s >= 5) {
                steps++;
                if ((el = cli_now() - t0) >= seconds)
                    break;
            }
        }
        *ips = (double)steps * batch / el;
        rc = CIM_OK;
    }
    nn_trainer_free(t);
    free(order);
    free(x);
    free(xb);
    free(y);
    free(yb);
    return rc;
}

static int bench_infer(const struct nn_model *m, int batch, double seconds, double *ips)
{
    size_t in = nn_shape_size(m->input);
    float *x = malloc((size_t)batch * in * sizeof *x);
    uint8_t *y = malloc((size_t)batch);
    struct nn_ws *ws = nn_ws_alloc(m, batch, 0);
    int rc = CIM_ENOMEM;
    if (x && y && ws) {
        bench_data(x, y, (size_t)batch * in, batch);
        const float *logits;
        nn_forward(m, &nn_exec_fp32, ws, x, batch, &logits);
        long reps = 0;
        double t0 = cli_now(), el;
        do {
            nn_forward(m, &nn_exec_fp32, ws, x, batch, &logits);
            reps++;
        } while ((el = cli_now() - t0) < seconds);
        *ips = (double)reps * batch / el;
        rc = CIM_OK;
    }
    nn_ws_free(ws);
    free(x);
    free(y);
    return rc;
}

/* The crossbar's standard case: a shipped QAT lenet5 at W8A8 on 128x128
 * arrays, 2-bit cells, 1-bit DAC, 6-bit ADC (full-scale range), programming
 * noise 0.02, read noise 0.01, over the Fashion-MNIST test set (batches of
 * 1000 until `seconds` have passed, at least one). The reference is the
 * sliced-sgemm time: every layer's MACs times input slices times weight slices
 * times 2 columns (differential), 2 FLOP each, at the measured sgemm rate. */
static int bench_xbar(const char *file, const char *data, double seconds, double gflops,
                      json_t **out, struct cim_err *err)
{
    struct data_set test = {0};
    struct nn_model *m = cli_model_load(file, err);
    if (m == NULL || data_set_load(data, DATA_SPLIT_TEST, &test, err) != CIM_OK) {
        nn_model_free(m);
        return err->code;
    }
    struct cim_xbar_config c = cim_xbar_config_default();
    c.adc_bits = 6;
    c.prog_noise = 0.02;
    c.read_noise = 0.01;
    const double t_prog = cli_now();
    struct cim_xbar *xb = m->quant.n_prec > 0 ? cim_xbar_alloc(m, 0, &c, err) : NULL;
    const double dt_prog = cli_now() - t_prog;
    if (m->quant.n_prec == 0)
        cim_err_set(err, CIM_EINVAL, "%s: the crossbar benchmark needs a quantized model", file);
    enum { BATCH = 1000 };
    const size_t in = nn_shape_size(m->input);
    float *x = malloc((size_t)BATCH * in * sizeof *x);
    float *logits = malloc((size_t)BATCH * m->num_classes * sizeof *logits);
    if (xb == NULL || x == NULL || logits == NULL) {
        if (xb != NULL)
            cim_err_set(err, CIM_ENOMEM, "out of memory for the crossbar benchmark");
        free(x);
        free(logits);
        cim_xbar_free(xb);
        nn_model_free(m);
        data_set_release(&test);
        return err->code;
    }
    const struct nn_int_model *im = cim_xbar_int_model(xb);
    struct nn_int_exec ex = cim_xbar_exec(xb);
    long images = 0;
    double el = 0.0;
    int rc = CIM_OK;
    const double t0 = cli_now();
    for (int first = 0; rc == CIM_OK && (images == 0 || el < seconds); first += BATCH) {
        const int f = first % test.n, b = test.n - f < BATCH ? test.n - f : BATCH;
        data_set_range(&test, f, b, x, NULL);
        rc = nn_int_forward_exec(im, &ex, x, b, f, logits);
        images += b;
        el = cli_now() - t0;
    }
    double ref_flops = 0.0, conv = 0.0;
    for (int i = 0; i < m->n_layers; i++) {
        struct cim_xbar_stats st;
        int o, k;
        cim_xbar_stats(xb, i, &st);
        if (!st.is_weight_layer)
            continue;
        nn_int_model_shape(im, i, &o, &k);
        const double vec = (double)st.vectors / (double)images;
        ref_flops += vec * o * k * st.in_slices * st.w_slices * 2.0 * 2.0;
        conv += (double)st.conversions / (double)images;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const double ips = (double)images / el, ref = gflops * 1e9 / ref_flops;
    *out = json_pack("{s:s, s:s, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "file", file, "case",
                     "W8A8, 128x128, 2-bit cells, 1-bit DAC, 6-bit ADC, prog 0.02, read 0.01",
                     "images", (int)images, "images_per_s", ips, "sliced_sgemm_flops_per_image",
                     ref_flops, "sliced_sgemm_images_per_s", ref, "ratio_to_sliced_sgemm",
                     ips / ref, "conversions_per_image", conv, "program_seconds", dt_prog,
                     "max_rss_mb", (double)ru.ru_maxrss / 1024.0);
    free(x);
    free(logits);
    cim_xbar_free(xb);
    nn_model_free(m);
    data_set_release(&test);
    return rc == CIM_OK ? CIM_OK : cim_err_set(err, rc, "crossbar benchmark: pass failed");
}

/* Is `name` in the comma-separated list (NULL: everything)? */
static int wanted(const char *list, const char *name)
{
    if (list == NULL)
        return 1;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p += len + (comma ? 1 : 0);
    }
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    int json = 0, quiet = 0, threads = 0, batch = 128;
    double seconds = 3.0;
    const char *only = NULL, *xbar_file = "data/weights/lenet5-fmnist.h5", *data = NULL;
    struct cli_opt opts[] = {
        {"--json", CLI_OPT_FLAG, &json, NULL, "print one JSON object instead of text", 0, 0, NULL,
         0},
        {"--only", CLI_OPT_STRING, &only, "LIST",
         "comma-separated subset of train-, qat- and infer-lenet5 or -mlp, and xbar", 0, 0,
         NULL, 0},
        {"--xbar-model", CLI_OPT_STRING, &xbar_file, "FILE.h5", "the quantized model of the "
         "crossbar benchmark (default data/weights/lenet5-fmnist.h5)", 0, 0, NULL, 0},
        {"--data", CLI_OPT_STRING, &data, "DIR",
         "Fashion-MNIST directory (default $CIM_DATA or " DATA_DIR_DEFAULT ")", 0, 0, NULL, 0},
        {"--seconds", CLI_OPT_DOUBLE, &seconds, "S", "time per measurement (default 3)", 0.05,
         3600, NULL, 0},
        {"--batch", CLI_OPT_INT, &batch, "B", "training batch (default 128)", 1, 65536, NULL, 0},
        {"--threads", CLI_OPT_INT, &threads, "N", "BLAS threads (default: all cores)", 1, 256,
         NULL, 0},
        {"--quiet", CLI_OPT_FLAG, &quiet, NULL, "no progress on stderr", 0, 0, NULL, 0},
    };
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    const struct cli_usage u = {"bench", "[OPTIONS]",
                                "Measure this machine's sgemm rate and the training and inference "
                                "throughput of lenet5 and mlp, each against its sgemm bound, and "
                                "the crossbar model's throughput against the sliced-sgemm "
                                "reference."};
    const char *pos[1];
    int npos;
    int rc = cli_opts_parse(&u, argc, argv, opts, nopts, pos, 0, &npos);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    static const char *const known[] = {"train-lenet5", "train-mlp", "qat-lenet5",
                                        "qat-mlp",      "infer-lenet5", "infer-mlp",
                                        "xbar"};
    if (only != NULL) {
        for (const char *p = only; *p;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            int ok = 0;
            for (int i = 0; i < 7; i++)
                ok |= strlen(known[i]) == len && strncmp(known[i], p, len) == 0;
            if (!ok)
                return cli_usage_error("bench", "--only '%.*s': expected names from "
                                       "train-lenet5,train-mlp,qat-lenet5,qat-mlp,infer-lenet5,"
                                       "infer-mlp,xbar", (int)len, p);
            p += len + (comma ? 1 : 0);
        }
    }
    cli_threads_set(threads);
    struct cli_progress prog;
    cli_progress_init(&prog, quiet);

    /* ISO C has no function-to-object pointer cast; a union carries the address */
    union {
        void (*fn)(void);
        void *obj;
    } sym = {.fn = (void (*)(void))cblas_sgemm};
    Dl_info info;
    const char *blas_lib = dladdr(sym.obj, &info) && info.dli_fname ? info.dli_fname : "unknown";
    cli_progress_draw(&prog, "bench: sgemm 1024x1024x1024");
    /* the bound is what the BLAS does with all the cores passes use */
    openblas_set_num_threads(nn_threads_get());
    const double gflops = bench_sgemm(1024, seconds < 1.0 ? seconds : 1.0);
    nn_threads_set(nn_threads_get());
    json_t *models = json_object();
    static const char *const archs[] = {"lenet5", "mlp"};
    for (int a = 0; a < 2; a++) {
        char tn[32], qn[32], in[32];
        snprintf(tn, sizeof tn, "train-%s", archs[a]);
        snprintf(qn, sizeof qn, "qat-%s", archs[a]);
        snprintf(in, sizeof in, "infer-%s", archs[a]);
        if (!wanted(only, tn) && !wanted(only, qn) && !wanted(only, in))
            continue;
        struct nn_model *m = nn_model_build(archs[a], NULL);
        if (m == NULL || nn_model_init_params(m, 1) != CIM_OK) {
            nn_model_free(m);
            json_decref(models);
            fprintf(stderr, "cim: out of memory\n");
            return CLI_EXIT_FAIL;
        }
        const double fwd_flops = 2.0 * (double)nn_model_macs(m);
        json_t *jm = json_pack("{s:I, s:f}", "macs_per_image", (json_int_t)nn_model_macs(m),
                               "forward_flops_per_image", fwd_flops);
        double ips;
        if (wanted(only, tn)) {
            cli_progress_draw(&prog, "bench: training %s at batch %d", archs[a], batch);
            if (bench_train(m, batch, 0, seconds, &ips) == CIM_OK) {
                double bound = gflops * 1e9 / (3.0 * fwd_flops);
                json_object_set_new(jm, "train_batch", json_integer(batch));
                json_object_set_new(jm, "train_images_per_s", json_real(ips));
                json_object_set_new(jm, "train_sgemm_bound_images_per_s", json_real(bound));
                json_object_set_new(jm, "train_fraction_of_bound", json_real(ips / bound));
            }
        }
        if (wanted(only, in)) {
            cli_progress_draw(&prog, "bench: FP32 inference %s", archs[a]);
            if (bench_infer(m, 500, seconds, &ips) == CIM_OK) {
                double bound = gflops * 1e9 / fwd_flops;
                json_object_set_new(jm, "infer_batch", json_integer(500));
                json_object_set_new(jm, "infer_images_per_s", json_real(ips));
                json_object_set_new(jm, "infer_sgemm_bound_images_per_s", json_real(bound));
                json_object_set_new(jm, "infer_fraction_of_bound", json_real(ips / bound));
            }
        }
        if (wanted(only, qn)) {
            cli_progress_draw(&prog, "bench: QAT (W8A8 + W4A4) %s at batch %d", archs[a], batch);
            if (bench_train(m, batch, 1, seconds, &ips) == CIM_OK)
                json_object_set_new(jm, "qat_train_images_per_s", json_real(ips));
        }
        json_object_set_new(models, archs[a], jm);
        nn_model_free(m);
    }
    json_t *jx = NULL;
    if (wanted(only, "xbar")) {
        cli_progress_draw(&prog, "bench: crossbar model, %s", xbar_file);
        struct cim_err err = {0};
        if (bench_xbar(xbar_file, data, seconds, gflops, &jx, &err) != CIM_OK) {
            cli_progress_clear(&prog);
            json_decref(models);
            return cli_fail(&err);
        }
    }
    cli_progress_clear(&prog);

    json_t *j = json_pack("{s:{s:s, s:s, s:i}, s:{s:i, s:f}, s:o}", "blas", "library", blas_lib,
                          "config", openblas_get_config(), "threads", nn_threads_get(),
                          "sgemm", "n", 1024, "gflops", gflops, "models", models);
    if (jx != NULL)
        json_object_set_new(j, "xbar", jx);
    if (json) {
        cli_print_json(j);
    } else {
        printf("BLAS: %s (%s); %d threads\n", blas_lib, openblas_get_config(),
               nn_threads_get());
        printf("sgemm 1024^3: %.1f GFLOP/s\n", gflops);
        const char *key;
        json_t *jm;
        json_object_foreach(models, key, jm)
        {
            json_t *v;
            if ((v = json_object_get(jm, "train_images_per_s")))
                printf("%-7s training  (batch %d): %9.0f images/s, %.1f%% of the sgemm bound "
                       "(%.0f images/s)\n", key, batch, json_real_value(v),
                       100.0 * json_real_value(json_object_get(jm, "train_fraction_of_bound")),
                       json_real_value(json_object_get(jm, "train_sgemm_bound_images_per_s")));
            if ((v = json_object_get(jm, "qat_train_images_per_s")))
                printf("%-7s QAT W8A8+W4A4 (batch %d): %9.0f images/s\n", key, batch,
                       json_real_value(v));
            if ((v = json_object_get(jm, "infer_images_per_s")))
                printf("%-7s inference (batch 500): %9.0f images/s, %.1f%% of the sgemm bound "
                       "(%.0f images/s)\n", key, json_real_value(v),
                       100.0 * json_real_value(json_object_get(jm, "infer_fraction_of_bound")),
                       json_real_value(json_object_get(jm, "infer_sgemm_bound_images_per_s")));
        }
        if (jx != NULL)
            printf("crossbar (lenet5 %s): %.0f images/s, %.2fx the sliced-sgemm reference "
                   "(%.0f images/s); %.0f ADC conversions per image; max RSS %.0f MB\n",
                   json_string_value(json_object_get(jx, "case")),
                   json_real_value(json_object_get(jx, "images_per_s")),
                   json_real_value(json_object_get(jx, "ratio_to_sliced_sgemm")),
                   json_real_value(json_object_get(jx, "sliced_sgemm_images_per_s")),
                   json_real_value(json_object_get(jx, "conversions_per_image")),
                   json_real_value(json_object_get(jx, "max_rss_mb")));
    }
    json_decref(j);
    return CLI_EXIT_OK;
}
