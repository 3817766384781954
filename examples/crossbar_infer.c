/*
 * crossbar_infer.c: the shortest real use of libcim. Load a quantized model
 * file, program it onto the default crossbar arrays, classify the first
 * Fashion-MNIST test images on them and print the accuracy beside the exact
 * integer result (the ideal default crossbar gives the same answers).
 *
 * Build and run (cim installed, or PKG_CONFIG_PATH pointing at its cim.pc):
 *
 *     cc crossbar_infer.c $(pkg-config --cflags --libs cim) -o crossbar_infer
 *     ./crossbar_infer lenet5-fmnist.h5 [IMAGES [DATA_DIR]]
 *
 * The model files come with cim's sources (data/weights/); the data from
 * Debian's dataset-fashion-mnist or DATA_DIR.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/rng.h"
#include "cim/xbar.h"
#include "data/dataset.h"
#include "data/model_file.h"
#include "nn/forward.h"
#include "nn/integer.h"
#include "nn/model.h"

/* Count how many of the b images x the integer model classifies as labels y,
 * its dot products computed by backend ex. */
static int count_correct(const struct nn_int_model *im, const struct nn_int_exec *ex,
                         const float *x, const uint8_t *y, int b, long *correct,
                         struct cim_err *err)
{
    const int classes = nn_int_model_classes(im);
    float *logits = malloc((size_t)b * classes * sizeof *logits);
    int *pred = malloc((size_t)b * sizeof *pred);
    int rc = logits && pred ? nn_int_forward_exec(im, ex, x, b, 0, logits)
                            : cim_err_set(err, CIM_ENOMEM, "out of memory");
    if (rc == CIM_OK) {
        nn_argmax_rows(logits, b, classes, pred);
        *correct = 0;
        for (int i = 0; i < b; i++)
            *correct += pred[i] == y[i];
    } else if (err->msg[0] == '\0') {
        cim_err_set(err, rc, "forward pass failed (%s backend)", ex->name);
    }
    free(logits);
    free(pred);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s MODEL.h5 [IMAGES [DATA_DIR]]\n", argv[0]);
        return 2;
    }
    const int want = argc > 2 ? atoi(argv[2]) : 100;
    const char *dir = argc > 3 ? argv[3] : NULL; /* NULL: $CIM_DATA or Debian's */

    /* Once at start-up: GSL and HDF5 report errors to us instead of aborting
     * or printing. Every call below returns a status and fills `err`. */
    cim_base_init();
    data_init();
    struct cim_err err = {0};
    struct data_set test = {0};
    struct cim_xbar *xb = NULL;
    float *x = NULL;
    uint8_t *y = NULL;
    int status = 1;

    struct nn_model *m = data_model_load(argv[1], &err);
    if (m == NULL || data_set_load(dir, DATA_SPLIT_TEST, &test, &err) != CIM_OK)
        goto done;
    if (m->quant.n_prec == 0) {
        cim_err_set(&err, CIM_EINVAL, "%s is an FP32 model; the crossbar runs quantized ones",
                    argv[1]);
        goto done;
    }

    /* Program precision 0 (the file's high one, e.g. W8A8) onto crossbars with
     * the default configuration: 128x128 arrays, 2-bit cells, 1-bit DACs,
     * lossless ADCs, no noise. Change cfg's fields (cfg.adc_bits, cfg.prog_noise,
     * ...) to model other hardware; cim/xbar.h documents each. */
    struct cim_xbar_config cfg = cim_xbar_config_default();
    xb = cim_xbar_alloc(m, 0, &cfg, &err);
    if (xb == NULL)
        goto done;

    /* The first n test images as floats (pixel / 255) and their labels. */
    const int n = want > 0 && want < test.n ? want : test.n;
    x = malloc((size_t)n * test.c * test.h * test.w * sizeof *x);
    y = malloc((size_t)n);
    if (x == NULL || y == NULL) {
        cim_err_set(&err, CIM_ENOMEM, "out of memory for %d images", n);
        goto done;
    }
    data_set_range(&test, 0, n, x, y);

    /* The network runs once through the crossbar backend and once through the
     * exact integer one; the same nn/ code drives both. */
    const struct nn_int_model *im = cim_xbar_int_model(xb);
    struct nn_int_exec on_xbar = cim_xbar_exec(xb), exact = nn_int_exec_exact(im);
    long ok_xbar, ok_exact;
    if (count_correct(im, &on_xbar, x, y, n, &ok_xbar, &err) != CIM_OK ||
        count_correct(im, &exact, x, y, n, &ok_exact, &err) != CIM_OK)
        goto done;
    printf("%s: %d test images, crossbar %ld correct (%.2f%%), exact integer %ld correct\n",
           m->arch, n, ok_xbar, 100.0 * ok_xbar / n, ok_exact);
    status = 0;
done:
    if (status != 0)
        fprintf(stderr, "crossbar_infer: %s\n", err.msg);
    free(x);
    free(y);
    cim_xbar_free(xb);
    nn_model_free(m);
    data_set_release(&test);
    return status;
}
