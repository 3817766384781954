/*
 * fuzz_seeds.c: writes the seed corpora of the fuzz targets into DIR/idx,
 * DIR/model, DIR/config and DIR/opts (the committed tests/fuzz/corpus was made
 * by it): small valid inputs of every kind the readers accept, so that
 * mutations start from files that get past the first checks.
 *     fuzz-seeds tests/fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "data/model_file.h"
#include "nn/model.h"
#include "nn/quantize.h"

static void put(const char *dir, const char *sub, const char *name, const void *b, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "fuzz-seeds: cannot write %s\n", path);
        exit(1);
    }
}

static void put_gz(const char *dir, const char *name, const void *b, unsigned n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/idx/%s", dir, name);
    gzFile g = gzopen(path, "wb9");
    if (g == NULL || gzwrite(g, b, n) != (int)n || gzclose(g) != Z_OK) {
        fprintf(stderr, "fuzz-seeds: cannot write %s\n", path);
        exit(1);
    }
}

static void idx_seeds(const char *dir)
{
    unsigned char img[16 + 2 * 4 * 4] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 4};
    for (int i = 16; i < (int)sizeof img; i++)
        img[i] = (unsigned char)(i * 37);
    const unsigned char lab[] = {0, 0, 8, 1, 0, 0, 0, 2, 3, 9};
    put(dir, "idx", "images.idx", img, sizeof img);
    put(dir, "idx", "labels.idx", lab, sizeof lab);
    put_gz(dir, "images.idx.gz", img, sizeof img);
    put_gz(dir, "labels.idx.gz", lab, sizeof lab);
}

/* A tiny conv net on 1x6x6 inputs: FP32, then quantized W8A8 + W4A4 nested. */
static void model_seeds(const char *dir)
{
    struct cim_err err = {0};
    struct nn_model *m = nn_model_alloc("custom", (struct nn_shape){1, 6, 6}, 3);
    if (nn_model_add_conv2d(m, 2, 3, 1, 1, NN_ACT_RELU, &err) ||
        nn_model_add_maxpool(m, 2, 2, &err) || nn_model_add_dense(m, 3, NN_ACT_NONE, &err)) {
        fprintf(stderr, "fuzz-seeds: %s\n", err.msg);
        exit(1);
    }
    nn_model_init_params(m, 7);
    char path[1024];
    snprintf(path, sizeof path, "%s/model/fp32.h5", dir);
    if (data_model_save(path, m, &err) != CIM_OK) {
        fprintf(stderr, "fuzz-seeds: %s\n", err.msg);
        exit(1);
    }
    struct nn_quant q = {.n_prec = 2, .scheme = QUANT_SCHEME_NESTED, .wbits = {8, 4},
                         .abits = {8, 4}, .wrange = "max", .arange = "max", .percentile = 99.99};
    float x[8 * 36];
    for (int i = 0; i < 8 * 36; i++)
        x[i] = (float)((i * 7919) % 256) / 255.0f;
    if (nn_quant_enable(m, &q, &err) != CIM_OK) {
        fprintf(stderr, "fuzz-seeds: %s\n", err.msg);
        exit(1);
    }
    nn_quant_weight_ranges(m, QUANT_RANGE_MAX, 100.0);
    snprintf(path, sizeof path, "%s/model/w8w4.h5", dir);
    if (nn_quant_calibrate(m, x, 8, QUANT_RANGE_MAX, 100.0, &err) != CIM_OK ||
        data_model_save(path, m, &err) != CIM_OK) {
        fprintf(stderr, "fuzz-seeds: %s\n", err.msg);
        exit(1);
    }
    nn_model_free(m);
}

static void text_seeds(const char *dir)
{
    static const char *const configs[] = {
        "{\"adc-bits\": 6, \"adc-range\": \"max\", \"array\": \"64x64\"}",
        "{\"prog-noise\": 0.02, \"read-noise\": 0.01, \"drift-comp\": true, \"drift-t\": 3600}",
        "{\"energy-params\": {\"adc_fom_walden\": 1e-14, \"t_read\": 1e-8}, \"cell-bits\": 4}",
        ("{\"encoding\": \"offset\", \"on-off\": \"inf\", \"round\": \"half-even\", "
         "\"periph-bits\": 12, \"saturate\": true, \"seed\": 7}"),
    };
    static const char opts[][160] = {
        "m.h5\0--adc-bits\0006\0--adc-range\0percentile:99.9\0--array\00064x32",
        "m.h5\0--prog-noise=0.05\0--noise-model\0proportional\0--drift-nu\0000.05,0.01",
        "m.h5\0--energy-params\0adc_fom=1,g_max=2e-5\0--dac-bits\0002\0--images\00010",
        "m.h5\0--saf0\0000.01\0--saf1\0000.01\0--seed\00018446744073709551615\0--saturate",
    };
    char name[32];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "seed%d.json", i);
        put(dir, "config", name, configs[i], strlen(configs[i]));
        size_t n = sizeof opts[i];
        while (n > 0 && opts[i][n - 1] == '\0')
            n--;
        snprintf(name, sizeof name, "seed%d", i);
        put(dir, "opts", name, opts[i], n);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz-seeds DIR\n");
        return 2;
    }
    idx_seeds(argv[1]);
    model_seeds(argv[1]);
    text_seeds(argv[1]);
    return 0;
}
