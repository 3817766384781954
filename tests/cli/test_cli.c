/*
 * test_cli.c: the `cim` program as a user meets it: exit codes, one-line errors,
 * no output file left behind on failure, a tiny real training run, checkpoints
 * and --resume, and the BLAS that actually serves sgemm.
 *
 * The binary comes from $CIM_BIN (set by meson); data from Debian's
 * dataset-fashion-mnist, which the set-up installs.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "data/dataset.h"
#include "data/model_file.h"
#include "cli/cli_testutil.h"
#include "testutil.h"

/* ---- usage ----------------------------------------------------------------- */

/* The commands that `cim --help` lists under "Commands:", into names[] (at most
 * max); returns their number. */
static int help_commands(const char *help, char names[][32], int max)
{
    const char *p = strstr(help, "\nCommands:\n");
    int n = 0;
    ck_assert_msg(p != NULL, "no Commands: section in %s", help);
    p += strlen("\nCommands:\n");
    while (n < max && strncmp(p, "  ", 2) == 0) {
        ck_assert_int_eq(sscanf(p, "%31s", names[n]), 1);
        n++;
        p = strchr(p, '\n');
        ck_assert_ptr_nonnull(p);
        p++;
    }
    return n;
}

START_TEST(test_version_help)
{
    static struct cli_run r, h;
    test_run_cim(&r, (const char *[]){"--version", NULL});
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strncmp(r.out, "cim ", 4) == 0, "version: %s", r.out);
    test_run_cim(&r, (const char *[]){"--help", NULL});
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strncmp(r.out, "Usage: cim COMMAND", 18) == 0, "--help: %s", r.out);
    /* `cim help` is `cim --help` */
    test_run_cim(&h, (const char *[]){"help", NULL});
    ck_assert_int_eq(h.status, 0);
    ck_assert_str_eq(h.out, r.out);
    char cmds[16][32];
    const int n = help_commands(r.out, cmds, 16);
    ck_assert_int_ge(n, 7);
    for (int i = 0; i < n; i++) {
        char usage[600];
        snprintf(usage, sizeof usage, "Usage: cim %s ", cmds[i]);
        test_run_cim(&r, (const char *[]){cmds[i], "--help", NULL});
        ck_assert_msg(r.status == 0 && strncmp(r.out, usage, strlen(usage)) == 0 &&
                          strstr(r.out, "\nOptions:\n") != NULL && r.err[0] == '\0',
                      "%s --help: %s", cmds[i], r.out);
        /* `cim help COMMAND` is `cim COMMAND --help`, byte for byte */
        test_run_cim(&h, (const char *[]){"help", cmds[i], NULL});
        ck_assert_int_eq(h.status, 0);
        ck_assert_str_eq(h.out, r.out);
        /* every option line: the option, then its description after two spaces
         * or alone with the description on the next line (what help2man and the
         * bash completion read) */
        for (const char *l = strstr(r.out, "\nOptions:\n") + 10; *l; l = strchr(l, '\n') + 1) {
            if (strncmp(l, "  --", 4) == 0) {
                const char *end = strchr(l, '\n');
                const char *gap = strstr(l + 2, "  ");
                ck_assert_msg((gap != NULL && gap < end) || strncmp(end + 1, "    ", 4) == 0,
                              "%s --help: option line without a description: %.*s", cmds[i],
                              (int)(end - l), l);
            }
            if (strchr(l, '\n') == NULL)
                break;
        }
    }
    expect_error((const char *[]){"help", "frobnicate", NULL}, 2, "unknown command 'frobnicate'");
    test_run_cim(&r, (const char *[]){NULL});
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strncmp(r.err, "Usage: cim", 10) == 0, "cim alone: %s", r.err);
}
END_TEST

START_TEST(test_usage_errors)
{
    const char *out = test_tmp("never.h5");
    expect_error((const char *[]){"frobnicate", NULL}, 2, "unknown command");
    expect_error((const char *[]){"train", "--epochs", "0", "--out", out, NULL}, 2, "--epochs");
    expect_error((const char *[]){"train", "--epochs", "2.5", "--out", out, NULL}, 2, "--epochs");
    expect_error((const char *[]){"train", "--lr", "-0.1", "--out", out, NULL}, 2, "--lr");
    expect_error((const char *[]){"train", "--lr", "nan", "--out", out, NULL}, 2, "--lr");
    expect_error((const char *[]){"train", "--batch", "99999999999", "--out", out, NULL}, 2,
                 "--batch");
    expect_error((const char *[]){"train", "--model", "resnet", "--out", out, NULL}, 2,
                 "lenet5|mlp");
    expect_error((const char *[]){"train", "--seed", "-1", "--out", out, NULL}, 2, "--seed");
    expect_error((const char *[]){"train", "--frobnicate", "--out", out, NULL}, 2,
                 "unknown option '--frobnicate'");
    expect_error((const char *[]){"train", NULL}, 2, "--out");
    expect_error((const char *[]){"train", "--out", NULL}, 2, "missing value");
    expect_error((const char *[]){"train", "--resume", out, "--epochs", "3", "--out", out, NULL},
                 2, "--resume");
    expect_error((const char *[]){"eval", NULL}, 2, "model file");
    expect_error((const char *[]){"eval", "a.h5", "b.h5", NULL}, 2, "unexpected argument");
    expect_error((const char *[]){"info", "--json=yes", "a.h5", NULL}, 2, "takes no value");
    expect_error((const char *[]){"bench", "--only", "train-resnet", NULL}, 2, "--only");
    ck_assert(!test_exists(out));
}
END_TEST

/* ---- failures -------------------------------------------------------------- */

START_TEST(test_bad_files)
{
    const char *missing = test_tmp("missing.h5");
    expect_error((const char *[]){"eval", missing, NULL}, 1, "missing.h5");
    expect_error((const char *[]){"info", missing, NULL}, 1, "missing.h5");
    const char *text = test_tmp("text.h5");
    FILE *f = fopen(text, "w");
    fputs("this is not an HDF5 file\n", f);
    fclose(f);
    expect_error((const char *[]){"eval", text, NULL}, 1, "not an HDF5 file");
    const char *empty = test_tmp("empty.h5");
    fclose(fopen(empty, "w"));
    expect_error((const char *[]){"info", empty, NULL}, 1, "empty.h5");
    /* a data directory with a truncated label file */
    const char *dir = test_tmp("baddata");
    mkdir(dir, 0755);
    char p[700];
    static const char *const names[] = {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    static const unsigned char hdr_img[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28};
    static const unsigned char hdr_lab[] = {0, 0, 8, 1, 0, 0, 0, 2, 7};
    snprintf(p, sizeof p, "%s/%s", dir, names[0]);
    f = fopen(p, "wb");
    fwrite(hdr_img, 1, sizeof hdr_img, f);
    for (int k = 0; k < 2 * 28 * 28; k++)
        fputc(k % 251, f);
    fclose(f);
    snprintf(p, sizeof p, "%s/%s", dir, names[1]);
    f = fopen(p, "wb");
    fwrite(hdr_lab, 1, sizeof hdr_lab, f);
    fclose(f);
    /* any valid model will do: train would need the training split, so write one */
    struct nn_model *m = nn_model_build("mlp", NULL);
    nn_model_init_params(m, 7);
    data_init();
    ck_assert_int_eq(data_model_save(test_tmp("mlp.h5"), m, NULL), CIM_OK);
    nn_model_free(m);
    expect_error((const char *[]){"eval", test_tmp("mlp.h5"), "--data", dir, NULL}, 1,
                 "t10k-labels-idx1-ubyte");
    expect_error((const char *[]){"eval", test_tmp("mlp.h5"), "--data", test_tmp("nodir"), NULL}, 1,
                 "--data");
}
END_TEST

START_TEST(test_unwritable_output)
{
    const char *out = test_tmp("nodir/sub/model.h5");
    expect_error((const char *[]){"train", "--epochs", "1", "--limit", "64", "--out", out, NULL},
                 1, "nodir/sub");
    ck_assert(!test_exists(out));
}
END_TEST

/* ---- real runs ------------------------------------------------------------- */

static double json_accuracy(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    ck_assert_msg(j != NULL, "eval --json printed no JSON: %s", text);
    json_t *res = json_array_get(json_object_get(j, "results"), 0);
    double acc = json_real_value(json_object_get(res, "accuracy"));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "images")), 10000);
    json_decref(j);
    return acc;
}

START_TEST(test_train_eval_info)
{
    static struct cli_run r;
    const char *out = test_tmp("tiny.h5");
    test_run_cim(&r, (const char *[]){"train", "--model", "mlp", "--epochs", "2", "--limit", "3000",
                                 "--batch", "64", "--seed", "11", "--out", out, NULL});
    ck_assert_msg(r.status == 0, "train failed: %s", r.err);
    ck_assert_msg(r.err[0] == '\0', "stderr is not a terminal, so no progress: '%s'", r.err);
    ck_assert(test_exists(out));
    ck_assert_msg(!test_exists(test_tmp("tiny.ckpt.h5")), "the checkpoint is removed after success");
    test_run_cim(&r, (const char *[]){"eval", out, "--json", NULL});
    ck_assert_int_eq(r.status, 0);
    /* 3,000 images, 2 epochs: far above chance (10%), far below a full run */
    double acc = json_accuracy(r.out);
    ck_assert_msg(acc > 0.6 && acc < 0.95, "accuracy %g", acc);
    test_run_cim(&r, (const char *[]){"info", out, NULL});
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "235146"));
    ck_assert_ptr_nonnull(strstr(r.out, "--seed 11"));
}
END_TEST

/* A small QAT run: eval reports FP32 and both precisions from the same file,
 * --bits adds one, and the quantization options refuse bad values. */
START_TEST(test_qat_eval)
{
    static struct cli_run r;
    const char *out = test_tmp("qat.h5");
    test_run_cim(&r, (const char *[]){"train", "--model", "mlp", "--epochs", "2", "--limit", "3000",
                                 "--qat", "8,4", "--range", "mse", "--out", out, NULL});
    ck_assert_msg(r.status == 0, "train --qat: %s", r.err);
    test_run_cim(&r, (const char *[]){"eval", out, "--json", "--bits", "6,5", NULL});
    ck_assert_msg(r.status == 0, "eval: %s", r.err);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    ck_assert_ptr_nonnull(j);
    json_t *res = json_object_get(j, "results");
    ck_assert_int_eq(json_array_size(res), 3);
    static const char *const labels[] = {"FP32", "W8A8", "W6A5"};
    double acc[3];
    for (int k = 0; k < 3; k++) {
        json_t *row = json_array_get(res, (size_t)k);
        ck_assert_str_eq(json_string_value(json_object_get(row, "precision")), labels[k]);
        acc[k] = json_real_value(json_object_get(row, "accuracy"));
    }
    /* 8-bit QAT of a 3,000-image run stays within 2 points of its FP32 weights */
    ck_assert_msg(acc[1] > acc[0] - 0.02, "FP32 %.4f, W8A8 %.4f", acc[0], acc[1]);
    ck_assert_msg(acc[0] > 0.6, "FP32 %.4f", acc[0]);
    json_decref(j);
    test_run_cim(&r, (const char *[]){"eval", out, NULL});
    ck_assert_ptr_nonnull(strstr(r.out, "W4A4"));
    expect_error((const char *[]){"eval", out, "--ptq", "max", NULL}, 1, "already quantized");
    expect_error((const char *[]){"eval", out, "--bits", "9,8", NULL}, 1, "--bits 9,8");
    expect_error((const char *[]){"eval", out, "--bits", "8", NULL}, 2, "--bits");
    expect_error((const char *[]){"eval", out, "--ptq", "median", NULL}, 2, "--ptq");
    expect_error((const char *[]){"train", "--qat", "8,4,2", "--out", test_tmp("x.h5"), NULL}, 2,
                 "--qat");
    expect_error((const char *[]){"train", "--qat", "8,4", "--abits", "8", "--out", test_tmp("x.h5"),
                                  NULL}, 2, "--abits");
    expect_error((const char *[]){"train", "--qat", "4,8", "--out", test_tmp("x.h5"), NULL}, 1,
                 "must not exceed");
    expect_error((const char *[]){"train", "--qat", "8,4", "--range", "percentile:101", "--out",
                                  test_tmp("x.h5"), NULL}, 2, "--range");
}
END_TEST

static int files_equal(const char *a, const char *b)
{
    struct nn_model *ma = data_model_load(a, NULL), *mb = data_model_load(b, NULL);
    ck_assert(ma != NULL && mb != NULL);
    int same = ma->n_layers == mb->n_layers;
    for (int i = 0; same && i < ma->n_layers; i++) {
        const struct nn_layer *la = &ma->layers[i], *lb = &mb->layers[i];
        same = memcmp(la->weight.data, lb->weight.data,
                      nn_tensor_size(&la->weight) * sizeof(float)) == 0 &&
               memcmp(la->bias.data, lb->bias.data, nn_tensor_size(&la->bias) * sizeof(float)) ==
                   0;
        if (la->weight.data == NULL)
            same = lb->weight.data == NULL;
    }
    nn_model_free(ma);
    nn_model_free(mb);
    return same;
}

/* Whether two quantized model files hold the same steps (weights and inputs). */
static int steps_equal(const char *a, const char *b)
{
    struct nn_model *ma = data_model_load(a, NULL), *mb = data_model_load(b, NULL);
    ck_assert(ma && mb && ma->quant.n_prec == 2 && mb->quant.n_prec == 2);
    int same = 1;
    for (int i = 0; i < ma->n_layers; i++) {
        if (ma->layers[i].wscale[0].data == NULL)
            continue;
        same = same && ma->layers[i].ascale == mb->layers[i].ascale &&
               memcmp(ma->layers[i].wscale[0].data, mb->layers[i].wscale[0].data,
                      nn_tensor_size(&ma->layers[i].wscale[0]) * sizeof(float)) == 0;
    }
    nn_model_free(ma);
    nn_model_free(mb);
    return same;
}

/* Kill a run once its first checkpoint exists, resume it, and compare with an
 * uninterrupted run of the same options: the weights must be bit-identical. Run
 * for FP32 training and for QAT with each kind of evolving quantization state
 * (learned steps and clips with their Adam moments; moving averages), and for
 * noise-aware QAT (draws keyed by the step). */
static const char *const resume_cases[][10] = {
    {"--model", "lenet5", NULL},
    {"--model", "mlp", "--qat", "8,4", "--range", "lsq", "--per-channel", NULL},
    {"--model", "lenet5", "--qat", "8,4", "--range", "ema", NULL},
    {"--model", "lenet5", "--qat", "8,4", "--range", "lsq", "--noise-aware",
     "prog_noise=0.05,read_noise=0.02", NULL},
};

START_TEST(test_resume_after_kill)
{
    data_init();
    static struct cli_run r;
    const char *full = test_tmp("full.h5"), *part = test_tmp("part.h5"), *ckpt = test_tmp("part.ckpt.h5");
    const char *common[] = {"train", "--epochs", "4", "--limit", "2000", "--batch", "50",
                            "--seed", "5"};
    const char *args_full[24], *args_part[24];
    int n = 0;
    for (; n < 9; n++)
        args_full[n] = args_part[n] = common[n];
    for (int k = 0; resume_cases[_i][k] != NULL; k++, n++)
        args_full[n] = args_part[n] = resume_cases[_i][k];
    args_full[n] = args_part[n] = "--out";
    args_full[n + 1] = full;
    args_part[n + 1] = part;
    args_full[n + 2] = args_part[n + 2] = NULL;
    test_run_cim(&r, args_full);
    ck_assert_msg(r.status == 0, "full run: %s", r.err);

    ck_assert_msg(test_run_cim_killed_at(args_part, ckpt),
                  "the run ended before its first checkpoint appeared");
    ck_assert(!test_exists(part));
    test_run_cim(&r, (const char *[]){"train", "--resume", ckpt, "--out", part, NULL});
    ck_assert_msg(r.status == 0, "resume: %s", r.err);
    ck_assert_msg(files_equal(full, part), "resumed run differs from the uninterrupted one");
    ck_assert(!test_exists(ckpt));
    if (_i > 0) /* the quantization steps must match too */
        ck_assert_msg(steps_equal(full, part), "resumed run has other steps");
}
END_TEST

/* Noise-aware QAT: without noise it is plain QAT bit for bit; with noise the
 * same on 1 and 2 threads, different from plain QAT, and recorded in the file;
 * every bad setting is one line naming --noise-aware. */
START_TEST(test_noise_aware)
{
    data_init();
    static struct cli_run r;
    const char *plain = test_tmp("na-plain.h5"), *zero = test_tmp("na-zero.h5");
    const char *one = test_tmp("na-1.h5"), *two = test_tmp("na-2.h5");
    const char *base[] = {"train", "--model", "lenet5", "--epochs", "1", "--limit", "640",
                          "--qat", "8,4", "--range", "lsq", "--per-channel", "--distill", "1",
                          "--seed", "3"};
    enum { NB = 16 };
    struct { const char *extra[4], *out; } runs[] = {
        {{"--threads", "2", NULL}, plain},
        {{"--noise-aware", "prog_noise=0,read_noise=0", NULL}, zero},
        {{"--noise-aware", "prog_noise=0.05,read_noise=0.02", "--threads", "1"}, one},
        {{"--noise-aware", "read_noise=0.02,prog_noise=0.05", "--threads", "2"}, two},
    };
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        const char *args[NB + 8];
        int n = 0;
        for (; n < NB; n++)
            args[n] = base[n];
        for (int e = 0; e < 4 && runs[k].extra[e] != NULL; e++)
            args[n++] = runs[k].extra[e];
        args[n++] = "--out";
        args[n++] = runs[k].out;
        args[n] = NULL;
        test_run_cim(&r, args);
        ck_assert_msg(r.status == 0, "run %zu: %s", k, r.err);
    }
    ck_assert_msg(files_equal(plain, zero) && steps_equal(plain, zero),
                  "noise 0 differs from plain QAT");
    ck_assert_msg(files_equal(one, two) && steps_equal(one, two), "1 and 2 threads differ");
    ck_assert_msg(!files_equal(plain, one), "the noise changed nothing");
    test_run_cim(&r, (const char *[]){"info", one, NULL});
    ck_assert_msg(strstr(r.out, "noise-aware: prog_noise=0.05,read_noise=0.02") != NULL, "%s",
                  r.out);
    test_run_cim(&r, (const char *[]){"info", plain, NULL});
    ck_assert_msg(strstr(r.out, "noise-aware") == NULL, "%s", r.out);

    const char *out = test_tmp("na-bad.h5");
    static const char *const bad[] = {"prog_noise=-0.1", "prog_noise=abc", "prog_nois=0.1",
                                      "prog_noise=0.1,", "prog_noise=0.1,prog_noise=0.2",
                                      "prog_noise=0.1;read_noise=0.1", "read_noise=nan",
                                      "prog_noise=", ","};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        expect_error((const char *[]){"train", "--qat", "8,4", "--noise-aware", bad[k], "--out",
                                      out, NULL}, 2, "--noise-aware");
    expect_error((const char *[]){"train", "--noise-aware", "prog_noise=0.05", "--out", out, NULL},
                 2, "--qat");
    expect_error((const char *[]){"train", "--resume", out, "--noise-aware", "prog_noise=0.05",
                                  "--out", out, NULL}, 2, "--noise-aware");
    ck_assert(!test_exists(out));
}
END_TEST

/* The shipped weights reach the accuracy the README quotes, and `cim eval`
 * reproduces exactly the FP32 accuracy recorded when they were trained. The
 * FP32 files are the starting points; the QAT files hold one FP32 weight set
 * that serves W8A8 and W4A4 within the promised distances of its FP32 accuracy. */
START_TEST(test_shipped_weights)
{
    static const char *const files[] = {"lenet5-fmnist-fp32", "mlp-fmnist-fp32", "lenet5-fmnist",
                                        "mlp-fmnist"};
    /* FP32 floors on the full test set; W8A8 and W4A4 may lose at most this much */
    static const double floor_acc[] = {0.905, 0.885, 0.905, 0.885};
    static const double loss8[] = {0, 0, 0.003, 0.003}, loss4[] = {0, 0, 0.010, 0.015};
    static struct cli_run r;
    char path[600];
    snprintf(path, sizeof path, "%s/data/weights/%s.h5", getenv("CIM_SRCDIR"), files[_i]);
    test_run_cim(&r, (const char *[]){"eval", path, "--json", NULL});
    ck_assert_msg(r.status == 0, "eval %s: %s", path, r.err);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    ck_assert_ptr_nonnull(j);
    json_t *res = json_object_get(j, "results");
    const double acc = json_real_value(json_object_get(json_array_get(res, 0), "accuracy"));
    ck_assert_msg(acc >= floor_acc[_i], "%s: %.4f < %.4f", files[_i], acc, floor_acc[_i]);
    if (_i >= 2) {
        ck_assert_int_eq(json_array_size(res), 3);
        double a8 = json_real_value(json_object_get(json_array_get(res, 1), "accuracy"));
        double a4 = json_real_value(json_object_get(json_array_get(res, 2), "accuracy"));
        ck_assert_msg(a8 >= acc - loss8[_i] - 1e-9, "%s: W8A8 %.4f, FP32 %.4f", files[_i], a8, acc);
        ck_assert_msg(a4 >= acc - loss4[_i] - 1e-9, "%s: W4A4 %.4f, FP32 %.4f", files[_i], a4, acc);
    }
    json_decref(j);
    data_init();
    struct nn_model *m = data_model_load(path, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(acc == m->record.test_accuracy, "%s: eval %.6f, recorded %.6f", files[_i], acc,
                  m->record.test_accuracy);
    nn_model_free(m);
}
END_TEST

/* The CBLAS that serves sgemm at run time must be OpenBLAS, not GSL's reference
 * libgslcblas, whatever the link order did. */
START_TEST(test_bench_blas)
{
    static struct cli_run r;
    test_run_cim(&r, (const char *[]){"bench", "--json", "--quiet", "--seconds", "0.05", "--only",
                                 "infer-mlp", NULL});
    ck_assert_msg(r.status == 0, "bench: %s", r.err);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    ck_assert_ptr_nonnull(j);
    const char *lib = json_string_value(json_object_get(json_object_get(j, "blas"), "library"));
    ck_assert_msg(lib && strstr(lib, "openblas") != NULL, "cblas_sgemm is served by %s", lib);
    json_t *mlp = json_object_get(json_object_get(j, "models"), "mlp");
    ck_assert(json_real_value(json_object_get(mlp, "infer_images_per_s")) > 0.0);
    ck_assert_ptr_null(json_object_get(json_object_get(j, "models"), "lenet5"));
    json_decref(j);
}
END_TEST

/* `cim infer`: bad options get one line naming them; a JSON config file feeds
 * the options and the command line wins; the ideal crossbar gives the exact
 * integer accuracy, within 0.05 points of `cim eval` (the fake-quant path; see
 * nn/integer.h); the effective configuration comes back in --json. */
START_TEST(test_infer)
{
    static struct cli_run r;
    char model[600], fp32[600];
    snprintf(model, sizeof model, "%s/data/weights/lenet5-fmnist.h5", getenv("CIM_SRCDIR"));
    snprintf(fp32, sizeof fp32, "%s/data/weights/lenet5-fmnist-fp32.h5", getenv("CIM_SRCDIR"));
    expect_error((const char *[]){"infer", NULL}, 2, "model file");
    expect_error((const char *[]){"infer", model, "--cell-bits", "3", NULL}, 2, "--cell-bits 3");
    expect_error((const char *[]){"infer", model, "--array", "128", NULL}, 2, "--array");
    expect_error((const char *[]){"infer", model, "--adc-range", "percentile:0", NULL}, 2,
                 "--adc-range");
    expect_error((const char *[]){"infer", model, "--adc-range", "median", NULL}, 2,
                 "--adc-range");
    expect_error((const char *[]){"infer", model, "--on-off", "0.5", NULL}, 2, "--on-off");
    expect_error((const char *[]){"infer", model, "--drift-nu", "0.05", NULL}, 2, "--drift-nu");
    expect_error((const char *[]){"infer", model, "--saf0", "0.7", "--saf1", "0.7", NULL}, 2,
                 "--saf0");
    expect_error((const char *[]){"infer", model, "--wbits", "6", NULL}, 2, "--wbits 6");
    expect_error((const char *[]){"infer", fp32, "--images", "10", NULL}, 1, "FP32");
    expect_error((const char *[]){"infer", model, "--config", test_tmp("none.json"), NULL}, 1,
                 "none.json");
    const char *bad = test_tmp("bad.json");
    FILE *f = fopen(bad, "w");
    fputs("{\"adc-bits\": 6, \"frobnicate\": 1}\n", f);
    fclose(f);
    expect_error((const char *[]){"infer", model, "--config", bad, NULL}, 1, "frobnicate");
    /* a control character in a key or value stays on the message's one line (found by
     * tests/fuzz/fuzz-config) */
    f = fopen(bad, "w");
    fputs("{\"\\n-off\": 1}\n", f);
    fclose(f);
    expect_error((const char *[]){"infer", model, "--config", bad, NULL}, 1, "?-off");
    expect_error((const char *[]){"infer", model, "--array", "12\nx4", NULL}, 2, "12?x4");
    const char *cfg = test_tmp("xbar.json");
    f = fopen(cfg, "w");
    /* "data": a string option used long after parsing (it pointed into freed
     * memory once; the ASan build and valgrind see it) */
    fprintf(f, "{\"adc-bits\": 3, \"array\": \"64x64\", \"drift-comp\": true, "
            "\"read-noise\": 0.01, \"data\": \"%s\"}\n", data_dir_resolve(NULL));
    fclose(f);
    test_run_cim(&r, (const char *[]){"infer", model, "--config", cfg, "--adc-bits", "7", "--images",
                                 "200", "--json", NULL});
    ck_assert_msg(r.status == 0, "infer: %s", r.err);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    ck_assert_msg(j != NULL, "not JSON: %s", r.out);
    json_t *c = json_object_get(j, "config");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "adc-bits")), 7);
    ck_assert_str_eq(json_string_value(json_object_get(c, "array")), "64x64");
    ck_assert(json_is_true(json_object_get(c, "drift-comp")));
    ck_assert(json_real_value(json_object_get(c, "read-noise")) == 0.01);
    ck_assert_int_eq(json_array_size(json_object_get(j, "layers")), 5);
    /* the printed configuration, as a config file, reproduces the run */
    const double acc_cfg = json_real_value(json_object_get(j, "accuracy"));
    const char *again = test_tmp("again.json");
    ck_assert_int_eq(json_dump_file(c, again, 0), 0);
    json_decref(j);
    test_run_cim(&r, (const char *[]){"infer", model, "--config", again, "--images", "200", "--json",
                                 NULL});
    ck_assert_msg(r.status == 0, "infer --config (printed): %s", r.err);
    j = json_loads(r.out, 0, &e);
    ck_assert_ptr_nonnull(j);
    ck_assert(json_real_value(json_object_get(j, "accuracy")) == acc_cfg);
    json_decref(j);
    /* the ideal crossbar: exactly the integer accuracy, per layer no error */
    test_run_cim(&r, (const char *[]){"infer", model, "--images", "1000", "--json", NULL});
    ck_assert_msg(r.status == 0, "infer: %s", r.err);
    j = json_loads(r.out, 0, &e);
    ck_assert_ptr_nonnull(j);
    const double acc = json_real_value(json_object_get(j, "accuracy"));
    ck_assert(acc == json_real_value(json_object_get(j, "accuracy_integer")));
    json_t *layers = json_object_get(j, "layers");
    for (size_t i = 0; i < json_array_size(layers); i++) {
        json_t *l = json_array_get(layers, i);
        ck_assert(json_real_value(json_object_get(l, "rms_error")) == 0.0);
        ck_assert(json_real_value(json_object_get(l, "clipped")) == 0.0);
    }
    json_decref(j);
    test_run_cim(&r, (const char *[]){"eval", model, "--limit", "1000", "--json", NULL});
    ck_assert_msg(r.status == 0, "eval: %s", r.err);
    j = json_loads(r.out, 0, &e);
    ck_assert_ptr_nonnull(j);
    const double a8 = json_real_value(
        json_object_get(json_array_get(json_object_get(j, "results"), 1), "accuracy"));
    ck_assert_msg(fabs(acc - a8) <= 0.0005 + 1e-12, "infer %.4f, eval W8A8 %.4f", acc, a8);
    json_decref(j);
}
END_TEST

/* `cim infer --energy`: the breakdown is printed; --energy-params (and its
 * JSON form in a config file) change exactly what they name; bad names and
 * values get one line. */
START_TEST(test_infer_energy)
{
    static struct cli_run r;
    char model[600];
    snprintf(model, sizeof model, "%s/data/weights/lenet5-fmnist.h5", getenv("CIM_SRCDIR"));
    expect_error((const char *[]){"infer", model, "--energy-params", "t_reed=1", NULL}, 2,
                 "t_reed");
    expect_error((const char *[]){"infer", model, "--energy-params", "g_max=-1e-6", NULL}, 2,
                 "g_max");
    expect_error((const char *[]){"infer", model, "--energy-params", "g_max", NULL}, 2,
                 "--energy-params");
    test_run_cim(&r, (const char *[]){"infer", model, "--images", "100", "--energy", NULL});
    ck_assert_msg(r.status == 0, "infer --energy: %s", r.err);
    ck_assert_msg(strstr(r.out, "energy per inference") != NULL &&
                      strstr(r.out, "share of energy") != NULL,
                  "%s", r.out);
    /* the default, then the Walden FOM doubled through a config file: at the
     * lossless 9 bits Walden rules, so the ADC energy doubles, nothing else moves */
    json_t *e[2];
    const char *cfg = test_tmp("energy.json");
    FILE *f = fopen(cfg, "w");
    fputs("{\"energy-params\": {\"adc_fom_walden\": 1e-14}}\n", f);
    fclose(f);
    for (int k = 0; k < 2; k++) {
        test_run_cim(&r, (const char *[]){"infer", model, "--images", "100", "--json",
                                          k ? "--config" : NULL, cfg, NULL});
        ck_assert_msg(r.status == 0, "infer --json: %s", r.err);
        e[k] = json_loads(r.out, 0, NULL);
        ck_assert_ptr_nonnull(e[k]);
    }
    const json_t *t0 = json_object_get(e[0], "energy"), *t1 = json_object_get(e[1], "energy");
#define V(t, k) json_real_value(json_object_get(t, k))
    ck_assert(V(t0, "adc_j") > 0 && V(t0, "array_j") > 0 && V(t0, "dac_j") > 0 &&
              V(t0, "periph_j") > 0 && V(t0, "area_m2") > 0);
    ck_assert_double_eq_tol(V(t1, "adc_j") / V(t0, "adc_j"), 2.0, 1e-9);
    ck_assert(V(t1, "array_j") == V(t0, "array_j") && V(t1, "periph_j") == V(t0, "periph_j"));
#undef V
    const char *ep = json_string_value(
        json_object_get(json_object_get(e[1], "config"), "energy-params"));
    ck_assert_msg(ep != NULL && strstr(ep, "adc_fom_walden=1e-14") != NULL, "%s", ep);
    json_decref(e[0]);
    json_decref(e[1]);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cim");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_version_help);
    tcase_add_test(tc, test_usage_errors);
    tcase_add_test(tc, test_bad_files);
    tcase_add_test(tc, test_unwritable_output);
    tcase_add_test(tc, test_train_eval_info);
    tcase_add_loop_test(tc, test_resume_after_kill, 0, 4);
    tcase_add_test(tc, test_noise_aware);
    tcase_add_test(tc, test_qat_eval);
    tcase_add_test(tc, test_bench_blas);
    tcase_add_test(tc, test_infer_energy);
    tcase_add_test(tc, test_infer);
    tcase_add_loop_test(tc, test_shipped_weights, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(cli_suite)
