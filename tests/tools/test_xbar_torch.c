/*
 * test_xbar_torch.c: bench/xbar_torch.py, the PyTorch reference of the crossbar
 * benchmark, computes cim's crossbar model exactly in its ideal mode.
 *
 * The ideal crossbar (no noise, lossless ADC) gives the integer path's logits
 * bit for bit (tests/cim/test_xbar.c); the PyTorch script's --ideal mode must
 * then predict the same class for every image. Over the first
 * CIM_XBAR_TORCH_IMAGES test images (default 1000) of the shipped lenet5 at
 * W8A8: the script's predictions equal those of the ideal crossbar run here,
 * image by image, and its count of correct ones equals `cim infer --images N
 * --json`'s. The speed the script measures is not tested (bench/ is for that).
 *
 * Skips (exit 77) when /usr/bin/python3 cannot import torch, h5py and numpy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cim/xbar.h"
#include "cli/cli_testutil.h"
#include "data/dataset.h"
#include "data/model_file.h"
#include "nn/forward.h"
#include "testutil.h"

#define BATCH 500

static int images(void)
{
    const char *s = getenv("CIM_XBAR_TORCH_IMAGES");
    int n = s != NULL ? atoi(s) : 0;
    return n > 0 && n <= 10000 ? n : 1000;
}

/* Predictions of the ideal crossbar (cim infer's default configuration) for
 * the first n test images into pred; returns the number correct. */
static int cim_predictions(const char *model, int n, int *pred)
{
    struct cim_err err = {0};
    struct data_set test = {0};
    data_init();
    ck_assert_msg(data_set_load(NULL, DATA_SPLIT_TEST, &test, &err) == CIM_OK,
                  "Fashion-MNIST (Debian dataset-fashion-mnist) is needed: %s", err.msg);
    struct nn_model *m = data_model_load(model, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    const struct cim_xbar_config c = cim_xbar_config_default();
    struct cim_xbar *xb = cim_xbar_alloc(m, 0, &c, &err);
    ck_assert_msg(xb != NULL, "%s", err.msg);
    struct nn_int_exec ex = cim_xbar_exec(xb);
    float *x = malloc((size_t)BATCH * 784 * sizeof *x);
    float *logits = malloc((size_t)BATCH * m->num_classes * sizeof *logits);
    uint8_t *y = malloc(BATCH);
    ck_assert(x != NULL && logits != NULL && y != NULL);
    int correct = 0;
    for (int f = 0; f < n; f += BATCH) {
        const int b = n - f < BATCH ? n - f : BATCH;
        data_set_range(&test, f, b, x, y);
        ck_assert_int_eq(nn_int_forward_exec(cim_xbar_int_model(xb), &ex, x, b, f, logits),
                         CIM_OK);
        nn_argmax_rows(logits, b, m->num_classes, pred + f);
        for (int i = 0; i < b; i++)
            correct += pred[f + i] == (int)y[i];
    }
    free(x);
    free(logits);
    free(y);
    cim_xbar_free(xb);
    nn_model_free(m);
    data_set_release(&test);
    return correct;
}

START_TEST(test_ideal_exact)
{
    const char *src = getenv("CIM_SRCDIR");
    ck_assert_msg(src != NULL && *src != '\0', "CIM_SRCDIR is not set (run through meson test)");
    const int n = images();
    char model[1024], cmd[4096], count[16];
    snprintf(model, sizeof model, "%s/data/weights/lenet5-fmnist.h5", src);
    snprintf(count, sizeof count, "%d", n);
    int *want = malloc((size_t)n * sizeof *want);
    ck_assert_ptr_nonnull(want);
    const int correct = cim_predictions(model, n, want);

    /* cim infer's count of correct predictions is the same run's */
    static struct cli_run r;
    test_run_cim(&r, (const char *[]){"infer", model, "--images", count, "--json", "--quiet",
                                      NULL});
    ck_assert_msg(r.status == 0, "cim infer: %s", r.err);
    json_error_t je;
    json_t *j = json_loads(r.out, 0, &je);
    ck_assert_msg(j != NULL, "cim infer --json: %s", je.text);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "correct")), correct);
    json_decref(j);

    /* the PyTorch model's predictions, image by image (without meson's
     * MALLOC_PERTURB_, which makes every large allocation of torch a memset) */
    const char *out = test_tmp("pred.txt");
    snprintf(cmd, sizeof cmd,
             "env -u MALLOC_PERTURB_ " TEST_PYTHON " '%s/bench/xbar_torch.py' '%s' --ideal "
             "--images %d --threads 2 --predictions '%s' > /dev/null", src, model, n, out);
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
    FILE *f = fopen(out, "r");
    ck_assert_msg(f != NULL, "%s: not written", out);
    int got, i = 0, differ = 0, first = -1;
    while (i < n && fscanf(f, "%d", &got) == 1) {
        if (got != want[i] && differ++ == 0)
            first = i;
        i++;
    }
    fclose(f);
    ck_assert_msg(i == n, "%s: %d predictions, expected %d", out, i, n);
    ck_assert_msg(differ == 0, "%d of %d predictions differ from cim's, the first at image %d",
                  differ, n, first);
    free(want);
}
END_TEST

static Suite *tools_suite(void)
{
    Suite *s = suite_create("tools");
    TCase *tc = tcase_create("xbar_torch");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_ideal_exact);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (!test_python_has("torch, h5py, numpy", "python3-torch python3-h5py python3-numpy"))
        return 77;
    return test_run_suite(tools_suite());
}
