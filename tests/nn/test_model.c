/*
 * test_model.c: the structure of a network (nn/model.h): the built-in
 * architectures and their sizes, layer-by-layer construction and its error paths,
 * validation, parameter initialization, cloning and the names stored in files.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "base/err.h"
#include "base/rng.h"
#include "nn/forward.h"
#include "nn/model.h"
#include "testutil.h"

/* He-uniform draws are (float)(u * bound) with |u| < 1, so rounding to float may
 * land at most half an ulp beyond the double bound. */
#define HE_BOUND_REL_TOL ((double)FLT_EPSILON)
/* For a layer of n >= 2400 weights U(-a, a) the sample variance has relative
 * standard deviation sqrt(0.8 / n) <= 0.018 (uniform kurtosis 1.8); 0.1 is over
 * five of those, and the draw is seeded, so this only catches a wrong law. */
#define HE_VAR_REL_TOL 0.1
/* |mean| of n >= 2400 such draws has standard deviation a / sqrt(3n) <= 0.012 a. */
#define HE_MEAN_TOL 0.06

#define SEED 2385u

#define ck_assert_msg_has(err, needle)                                                   \
    ck_assert_msg(strstr((err).msg, (needle)) != NULL, "message '%s' lacks '%s'", (err).msg, \
                  (needle))

static void check_layer(const struct nn_layer *l, enum nn_layer_type type, enum nn_act act,
                        int k, int st, int pad, struct nn_shape out)
{
    ck_assert_int_eq(l->type, type);
    ck_assert_int_eq(l->act, act);
    ck_assert_int_eq(l->kernel, k);
    ck_assert_int_eq(l->stride, st);
    ck_assert_int_eq(l->pad, pad);
    ck_assert_int_eq(l->out.c, out.c);
    ck_assert_int_eq(l->out.h, out.h);
    ck_assert_int_eq(l->out.w, out.w);
}

/* ---- built-in architectures ------------------------------------------------ */

START_TEST(test_build_lenet5)
{
    struct cim_err err = {0};
    struct nn_model *m = nn_model_build("lenet5", &err);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(err.code, CIM_OK);
    ck_assert_str_eq(m->arch, "lenet5");
    ck_assert_str_eq(m->dataset, "fashion-mnist");
    ck_assert_int_eq(m->input.c, 1);
    ck_assert_int_eq(m->input.h, 28);
    ck_assert_int_eq(m->input.w, 28);
    ck_assert_int_eq(m->num_classes, 10);
    ck_assert_int_eq(m->n_layers, 7);
    check_layer(&m->layers[0], NN_LAYER_CONV2D, NN_ACT_RELU, 5, 1, 2, (struct nn_shape){6, 28, 28});
    check_layer(&m->layers[1], NN_LAYER_MAXPOOL, NN_ACT_NONE, 2, 2, 0, (struct nn_shape){6, 14, 14});
    check_layer(&m->layers[2], NN_LAYER_CONV2D, NN_ACT_RELU, 5, 1, 0, (struct nn_shape){16, 10, 10});
    check_layer(&m->layers[3], NN_LAYER_MAXPOOL, NN_ACT_NONE, 2, 2, 0, (struct nn_shape){16, 5, 5});
    check_layer(&m->layers[4], NN_LAYER_DENSE, NN_ACT_RELU, 0, 0, 0, (struct nn_shape){120, 1, 1});
    check_layer(&m->layers[5], NN_LAYER_DENSE, NN_ACT_RELU, 0, 0, 0, (struct nn_shape){84, 1, 1});
    check_layer(&m->layers[6], NN_LAYER_DENSE, NN_ACT_NONE, 0, 0, 0, (struct nn_shape){10, 1, 1});
    ck_assert_int_eq(m->layers[4].in.c, 16);
    ck_assert_int_eq(m->layers[4].in.h, 5);
    ck_assert_int_eq(m->layers[4].weight.c, 400);
    ck_assert_int_eq(m->layers[2].weight.n, 16);
    ck_assert_int_eq(m->layers[2].weight.c, 6);
    ck_assert_int_eq(m->layers[2].weight.h, 5);
    ck_assert_int_eq(m->layers[2].weight.w, 5);
    ck_assert_ptr_null(m->layers[1].weight.data);
    ck_assert_ptr_null(m->layers[3].bias.data);
    ck_assert_int_eq(nn_model_validate(m, &err), CIM_OK);

    /* Parameters, by hand:
     *   conv1  6*1*5*5 + 6    =   150 +   6 =    156
     *   conv2  16*6*5*5 + 16  =  2400 +  16 =   2416
     *   fc1    120*400 + 120  = 48000 + 120 =  48120   (400 = 16*5*5)
     *   fc2    84*120 + 84    = 10080 +  84 =  10164
     *   fc3    10*84 + 10     =   840 +  10 =    850
     *   total  156 + 2416 + 48120 + 10164 + 850 = 61706 */
    ck_assert_uint_eq(nn_model_param_count(m), 61706);
    /* MACs per sample: conv layers do (weights) x (output positions):
     *   conv1  150 * 28*28 = 117600;  conv2  2400 * 10*10 = 240000;
     *   fc     48000 + 10080 + 840 = 58920;  total 416520 */
    ck_assert_uint_eq(nn_model_macs(m), 416520);

    /* parameters stay zero until nn_model_init_params() */
    for (int i = 0; i < m->n_layers; i++)
        for (size_t k = 0; k < nn_tensor_size(&m->layers[i].weight); k++)
            ck_assert(m->layers[i].weight.data[k] == 0.0f);
    nn_model_free(m);
}
END_TEST

START_TEST(test_build_mlp)
{
    struct cim_err err = {0};
    struct nn_model *m = nn_model_build("mlp", &err);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(m->arch, "mlp");
    ck_assert_int_eq(m->n_layers, 3);
    check_layer(&m->layers[0], NN_LAYER_DENSE, NN_ACT_RELU, 0, 0, 0, (struct nn_shape){256, 1, 1});
    check_layer(&m->layers[1], NN_LAYER_DENSE, NN_ACT_RELU, 0, 0, 0, (struct nn_shape){128, 1, 1});
    check_layer(&m->layers[2], NN_LAYER_DENSE, NN_ACT_NONE, 0, 0, 0, (struct nn_shape){10, 1, 1});
    ck_assert_int_eq(m->layers[0].weight.c, 784); /* the 1x28x28 input, flattened */
    ck_assert_int_eq(nn_model_validate(m, &err), CIM_OK);
    /* Parameters: 784*256 + 256 = 200960; 256*128 + 128 = 32896; 128*10 + 10 = 1290;
     * total 200960 + 32896 + 1290 = 235146. MACs: 200704 + 32768 + 1280 = 234752. */
    ck_assert_uint_eq(nn_model_param_count(m), 235146);
    ck_assert_uint_eq(nn_model_macs(m), 234752);
    nn_model_free(m);
}
END_TEST

START_TEST(test_build_unknown)
{
    struct cim_err err = {0};
    ck_assert_ptr_null(nn_model_build("resnet50", &err));
    ck_assert_int_eq(err.code, CIM_EINVAL);
    ck_assert_msg_has(err, "'resnet50'");
    ck_assert_msg_has(err, "lenet5");
    ck_assert_msg_has(err, "mlp");

    struct cim_err e2 = {0};
    ck_assert_ptr_null(nn_model_build("LeNet5", &e2)); /* names are case-sensitive */
    ck_assert_int_eq(e2.code, CIM_EINVAL);
    struct cim_err e3 = {0};
    ck_assert_ptr_null(nn_model_build(NULL, &e3));
    ck_assert_int_eq(e3.code, CIM_EINVAL);
    ck_assert_ptr_null(nn_model_build("", NULL)); /* err may be NULL */
}
END_TEST

START_TEST(test_custom_sizes)
{
    struct cim_err err = {0};
    struct nn_model *m = nn_model_alloc("odd", (struct nn_shape){3, 7, 9}, 5);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(m->arch, "odd");
    ck_assert_int_eq(m->n_layers, 0);
    ck_assert(m->record.test_accuracy < 0.0);
    ck_assert(m->record.train_loss < 0.0);
    ck_assert(m->record.seconds < 0.0);
    /* conv 4@3x3, stride 2, pad 1 on 7x9: (7+2-3)/2+1 = 4, (9+2-3)/2+1 = 5 */
    ck_assert_int_eq(nn_model_add_conv2d(m, 4, 3, 2, 1, NN_ACT_RELU, &err), CIM_OK);
    /* maxpool 2, stride 1: 3x4 */
    ck_assert_int_eq(nn_model_add_maxpool(m, 2, 1, &err), CIM_OK);
    ck_assert_int_eq(nn_model_add_dense(m, 5, NN_ACT_NONE, &err), CIM_OK);
    ck_assert_int_eq(err.code, CIM_OK);
    check_layer(&m->layers[0], NN_LAYER_CONV2D, NN_ACT_RELU, 3, 2, 1, (struct nn_shape){4, 4, 5});
    check_layer(&m->layers[1], NN_LAYER_MAXPOOL, NN_ACT_NONE, 2, 1, 0, (struct nn_shape){4, 3, 4});
    ck_assert_int_eq(m->layers[2].in.c, 4);
    ck_assert_int_eq(m->layers[2].weight.c, 48);
    ck_assert_int_eq(nn_model_validate(m, &err), CIM_OK);
    /* params: 4*3*3*3 + 4 = 112; 5*48 + 5 = 245; total 357.
     * MACs: 108 * 4*5 = 2160; 48*5 = 240; total 2400. */
    ck_assert_uint_eq(nn_model_param_count(m), 357);
    ck_assert_uint_eq(nn_model_macs(m), 2400);
    nn_model_free(m);

    /* windows that do not tile the input exactly: the extent rounds down, the
     * rows and columns left over are never read */
    m = nn_model_alloc("floor", (struct nn_shape){1, 8, 11}, 4);
    ck_assert_ptr_nonnull(m);
    /* conv 3x3 stride 3 pad 1: (8+2-3)/3+1 = 2+1 = 3, (11+2-3)/3+1 = 3+1 = 4 */
    ck_assert_int_eq(nn_model_add_conv2d(m, 2, 3, 3, 1, NN_ACT_NONE, &err), CIM_OK);
    /* maxpool 2 stride 2 on 3x4: (3-2)/2+1 = 1, (4-2)/2+1 = 2 */
    ck_assert_int_eq(nn_model_add_maxpool(m, 2, 2, &err), CIM_OK);
    check_layer(&m->layers[0], NN_LAYER_CONV2D, NN_ACT_NONE, 3, 3, 1, (struct nn_shape){2, 3, 4});
    check_layer(&m->layers[1], NN_LAYER_MAXPOOL, NN_ACT_NONE, 2, 2, 0, (struct nn_shape){2, 1, 2});
    ck_assert_int_eq(nn_model_validate(m, &err), CIM_OK);
    nn_model_free(m);

    /* a kernel exactly as wide as its padded input fits: on a 5x3 input padded to
     * 7x5, a 5x5 kernel gives (7-5)/1+1 = 3 rows and (5-5)/1+1 = 1 column */
    m = nn_model_alloc(NULL, (struct nn_shape){2, 5, 3}, 1);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(m->arch, "custom");
    ck_assert_int_eq(nn_model_add_conv2d(m, 3, 5, 1, 1, NN_ACT_NONE, &err), CIM_OK);
    ck_assert_int_eq(m->layers[0].out.h, 3);
    ck_assert_int_eq(m->layers[0].out.w, 1);
    nn_model_free(m);

    /* the arch name is cut to fit, never overflowing */
    m = nn_model_alloc("a-very-long-architecture-name-beyond-32-chars", (struct nn_shape){1, 1, 1},
                       1);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(strlen(m->arch), NN_NAME_MAX - 1);
    nn_model_free(m);
}
END_TEST

START_TEST(test_alloc_bad)
{
    ck_assert_ptr_null(nn_model_alloc("x", (struct nn_shape){0, 28, 28}, 10));
    ck_assert_ptr_null(nn_model_alloc("x", (struct nn_shape){1, 0, 28}, 10));
    ck_assert_ptr_null(nn_model_alloc("x", (struct nn_shape){1, 28, -3}, 10));
    ck_assert_ptr_null(nn_model_alloc("x", (struct nn_shape){1, 28, 28}, 0));
    nn_model_free(NULL);
}
END_TEST

/* ---- add_* error paths -------------------------------------------------------- */

START_TEST(test_add_errors)
{
    struct nn_model *m = nn_model_alloc("bad", (struct nn_shape){2, 4, 6}, 3);
    ck_assert_ptr_nonnull(m);

    /* kernel larger than the input: 5 > 4 rows, no padding */
    struct cim_err e1 = {0};
    ck_assert_int_eq(nn_model_add_conv2d(m, 3, 5, 1, 0, NN_ACT_RELU, &e1), CIM_EINVAL);
    ck_assert_int_eq(e1.code, CIM_EINVAL);
    ck_assert_msg_has(e1, "conv2d layer 0");
    ck_assert_msg_has(e1, "5x5 kernel does not fit a 4x6 input");
    ck_assert_int_eq(m->n_layers, 0);

    struct cim_err e2 = {0};
    ck_assert_int_eq(nn_model_add_maxpool(m, 5, 1, &e2), CIM_EINVAL);
    ck_assert_msg_has(e2, "maxpool layer 0");
    ck_assert_msg_has(e2, "does not fit");

    /* zero and negative sizes */
    struct cim_err e3 = {0};
    ck_assert_int_eq(nn_model_add_dense(m, 0, NN_ACT_NONE, &e3), CIM_EINVAL);
    ck_assert_msg_has(e3, "dense layer 0: 0 units");
    struct cim_err e4 = {0};
    ck_assert_int_eq(nn_model_add_dense(m, -7, NN_ACT_NONE, &e4), CIM_EINVAL);
    ck_assert_msg_has(e4, "-7 units");

    const int bad_conv[][4] = {
        /* out_c, kernel, stride, pad */
        {0, 3, 1, 1},  {3, 0, 1, 0}, {3, 3, 0, 1}, {3, 3, 1, -1},
        {3, 3, 1, 3}, /* padding must stay below the kernel */
        {-2, 3, 1, 1},
    };
    for (size_t i = 0; i < sizeof bad_conv / sizeof bad_conv[0]; i++) {
        struct cim_err e = {0};
        ck_assert_int_eq(nn_model_add_conv2d(m, bad_conv[i][0], bad_conv[i][1], bad_conv[i][2],
                                             bad_conv[i][3], NN_ACT_NONE, &e),
                         CIM_EINVAL);
        ck_assert_msg_has(e, "conv2d layer 0");
        ck_assert_msg_has(e, "padding < kernel");
    }
    struct cim_err e5 = {0};
    ck_assert_int_eq(nn_model_add_maxpool(m, 0, 2, &e5), CIM_EINVAL);
    ck_assert_msg_has(e5, "kernel 0, stride 2");
    struct cim_err e6 = {0};
    ck_assert_int_eq(nn_model_add_maxpool(m, 2, 0, &e6), CIM_EINVAL);
    ck_assert_msg_has(e6, "kernel 2, stride 0");
    /* err may be NULL */
    ck_assert_int_eq(nn_model_add_dense(m, 0, NN_ACT_NONE, NULL), CIM_EINVAL);
    ck_assert_int_eq(nn_model_add_conv2d(m, 1, 9, 1, 0, NN_ACT_NONE, NULL), CIM_EINVAL);
    ck_assert_int_eq(nn_model_add_maxpool(m, 9, 1, NULL), CIM_EINVAL);
    ck_assert_int_eq(m->n_layers, 0);

    /* failures leave the model usable: it still takes and runs layers */
    struct cim_err ok = {0};
    ck_assert_int_eq(nn_model_add_conv2d(m, 3, 3, 1, 1, NN_ACT_RELU, &ok), CIM_OK);
    struct cim_err e7 = {0};
    ck_assert_int_eq(nn_model_add_conv2d(m, 3, 7, 1, 1, NN_ACT_RELU, &e7), CIM_EINVAL);
    ck_assert_msg_has(e7, "conv2d layer 1");
    ck_assert_msg_has(e7, "7x7 kernel does not fit a 4x6 input");
    ck_assert_int_eq(nn_model_add_maxpool(m, 2, 2, &ok), CIM_OK);
    ck_assert_int_eq(nn_model_add_dense(m, 3, NN_ACT_NONE, &ok), CIM_OK);
    ck_assert_int_eq(m->n_layers, 3);
    ck_assert_int_eq(nn_model_validate(m, &ok), CIM_OK);
    ck_assert_int_eq(ok.code, CIM_OK);
    nn_model_free(m);
}
END_TEST

START_TEST(test_add_too_many)
{
    struct cim_err err = {0};
    struct nn_model *m = nn_model_alloc("deep", (struct nn_shape){2, 5, 5}, 50);
    ck_assert_ptr_nonnull(m);
    for (int i = 0; i < NN_MODEL_LAYERS_MAX; i++)
        ck_assert_int_eq(nn_model_add_conv2d(m, 2, 1, 1, 0, NN_ACT_RELU, &err), CIM_OK);
    ck_assert_int_eq(m->n_layers, NN_MODEL_LAYERS_MAX);

    struct cim_err e1 = {0}, e2 = {0}, e3 = {0};
    ck_assert_int_eq(nn_model_add_dense(m, 50, NN_ACT_NONE, &e1), CIM_EINVAL);
    ck_assert_int_eq(nn_model_add_conv2d(m, 2, 1, 1, 0, NN_ACT_NONE, &e2), CIM_EINVAL);
    ck_assert_int_eq(nn_model_add_maxpool(m, 1, 1, &e3), CIM_EINVAL);
    ck_assert_msg_has(e1, "at most 32 layers");
    ck_assert_msg_has(e1, "dense layer 32");
    ck_assert_msg_has(e2, "conv2d layer 32");
    ck_assert_msg_has(e3, "maxpool layer 32");
    ck_assert_int_eq(nn_model_add_dense(m, 50, NN_ACT_NONE, NULL), CIM_EINVAL);
    ck_assert_int_eq(m->n_layers, NN_MODEL_LAYERS_MAX);

    /* the full model (output 2x5x5 = 50 classes) is valid and runs, forward and back */
    ck_assert_int_eq(nn_model_validate(m, &err), CIM_OK);
    ck_assert_int_eq(nn_model_init_params(m, SEED), CIM_OK);
    struct nn_ws *ws = nn_ws_alloc(m, 2, 1);
    ck_assert_ptr_nonnull(ws);
    float x[2 * 50];
    for (int k = 0; k < 100; k++)
        x[k] = (float)(0.0385 * (k % 17) - 0.2);
    const float *logits = NULL;
    ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, ws, x, 2, &logits), CIM_OK);
    ck_assert_ptr_eq(logits, ws->act[NN_MODEL_LAYERS_MAX]);
    ck_assert_int_eq(nn_backward(m, ws, logits, 2), CIM_OK);
    nn_ws_free(ws);
    nn_model_free(m);
}
END_TEST

/* ---- validation ---------------------------------------------------------------- */

/* Validate a clone of `base` broken by `breakit`; expect `needle` in the message. */
static void expect_invalid(const struct nn_model *base, void (*breakit)(struct nn_model *),
                           const char *needle)
{
    struct nn_model *c = nn_model_clone(base);
    ck_assert_ptr_nonnull(c);
    breakit(c);
    struct cim_err err = {0};
    ck_assert_int_eq(nn_model_validate(c, &err), CIM_EFORMAT);
    ck_assert_int_eq(err.code, CIM_EFORMAT);
    ck_assert_msg_has(err, needle);
    ck_assert_int_eq(nn_model_validate(c, NULL), CIM_EFORMAT);
    nn_model_free(c);
}

static void break_conv_in(struct nn_model *m) { m->layers[2].in.c = 5; }
static void break_dense_out(struct nn_model *m) { m->layers[4].out.c = 121; }
static void break_pool_out(struct nn_model *m) { m->layers[3].out.h = 4; }
static void break_classes(struct nn_model *m) { m->num_classes = 9; }
static void break_bias(struct nn_model *m) { nn_tensor_release(&m->layers[5].bias); }
static void break_type(struct nn_model *m) { m->layers[1].type = (enum nn_layer_type)9; }
static void break_stride(struct nn_model *m) { m->layers[0].stride = 2; }
static void break_dense_in(struct nn_model *m) { m->layers[6].in.c = 83; }
static void break_conv_weight(struct nn_model *m)
{
    /* a 16x6x5x5 weight relabeled 16x6x25x1: same storage, wrong shape */
    m->layers[2].weight.h = 25;
    m->layers[2].weight.w = 1;
}
static void break_pool_weight(struct nn_model *m)
{
    nn_tensor_init(&m->layers[1].weight, 1, 1, 1, 1);
}

START_TEST(test_validate)
{
    struct cim_err err = {0};
    struct nn_model *m = nn_model_build("lenet5", &err);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(nn_model_validate(m, &err), CIM_OK);
    expect_invalid(m, break_conv_in, "layer 002_conv2d: input 5x14x14 does not match the "
                                     "previous output 6x14x14");
    expect_invalid(m, break_dense_out, "layer 004_dense");
    expect_invalid(m, break_pool_out, "layer 003_maxpool");
    expect_invalid(m, break_classes, "expected 9 classes");
    expect_invalid(m, break_bias, "layer 005_dense");
    expect_invalid(m, break_type, "layer 001: unknown type 9");
    expect_invalid(m, break_stride, "layer 000_conv2d");
    expect_invalid(m, break_dense_in, "layer 006_dense");
    expect_invalid(m, break_conv_weight, "layer 002_conv2d");
    expect_invalid(m, break_pool_weight, "layer 001_maxpool");
    nn_model_free(m);

    struct nn_model *e = nn_model_alloc("empty", (struct nn_shape){1, 2, 3}, 2);
    ck_assert_ptr_nonnull(e);
    struct cim_err e1 = {0};
    ck_assert_int_eq(nn_model_validate(e, &e1), CIM_EFORMAT);
    ck_assert_msg_has(e1, "no layers");
    /* the last layer must give num_classes outputs */
    ck_assert_int_eq(nn_model_add_dense(e, 3, NN_ACT_NONE, NULL), CIM_OK);
    struct cim_err e2 = {0};
    ck_assert_int_eq(nn_model_validate(e, &e2), CIM_EFORMAT);
    ck_assert_msg_has(e2, "last layer gives 3 outputs; expected 2 classes");
    nn_model_free(e);
}
END_TEST

/* ---- parameters ---------------------------------------------------------------- */

static double he_bound(const struct nn_layer *l)
{
    return sqrt(6.0 / (double)(l->weight.c * l->weight.h * l->weight.w));
}

START_TEST(test_init_deterministic)
{
    struct nn_model *a = nn_model_build("lenet5", NULL);
    struct nn_model *b = nn_model_build("lenet5", NULL);
    struct nn_model *c = nn_model_build("lenet5", NULL);
    ck_assert(a && b && c);
    /* biases are reset to zero by init */
    for (int i = 0; i < b->n_layers; i++)
        for (size_t k = 0; k < nn_tensor_size(&b->layers[i].bias); k++)
            b->layers[i].bias.data[k] = 2.385f;
    ck_assert_int_eq(nn_model_init_params(a, SEED), CIM_OK);
    ck_assert_int_eq(nn_model_init_params(b, SEED), CIM_OK);
    ck_assert_int_eq(nn_model_init_params(c, SEED + 1), CIM_OK);
    for (int i = 0; i < a->n_layers; i++) {
        const struct nn_layer *la = &a->layers[i], *lb = &b->layers[i], *lc = &c->layers[i];
        size_t n = nn_tensor_size(&la->weight);
        if (n == 0)
            continue;
        ck_assert_mem_eq(la->weight.data, lb->weight.data, n * sizeof(float));
        size_t same = 0;
        for (size_t k = 0; k < n; k++)
            same += la->weight.data[k] == lc->weight.data[k];
        ck_assert_msg(same * 100 < n, "layer %d: %zu of %zu weights equal for another seed", i,
                      same, n);
        for (size_t k = 0; k < nn_tensor_size(&lb->bias); k++)
            ck_assert(lb->bias.data[k] == 0.0f);
    }
    nn_model_free(a);
    nn_model_free(b);
    nn_model_free(c);
}
END_TEST

/* Each layer draws from its own stream (seed, CIM_RNG_INIT, layer index), so its
 * weights are exactly (2u - 1) * bound from that stream, whatever the other layers. */
START_TEST(test_init_streams)
{
    struct nn_model *m = nn_model_build("lenet5", NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(nn_model_init_params(m, SEED), CIM_OK);
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (l->weight.data == NULL)
            continue;
        gsl_rng *r = cim_rng_alloc(SEED, cim_rng_stream(CIM_RNG_INIT, (uint64_t)i));
        ck_assert_ptr_nonnull(r);
        const double bound = he_bound(l);
        for (size_t k = 0; k < nn_tensor_size(&l->weight); k++) {
            float expect = (float)((2.0 * gsl_rng_uniform(r) - 1.0) * bound);
            ck_assert_msg(l->weight.data[k] == expect, "layer %d weight %zu: %.9g != %.9g", i, k,
                          (double)l->weight.data[k], (double)expect);
        }
        gsl_rng_free(r);
    }
    /* the first layer of a different model of the same first-layer shape matches */
    struct nn_model *o = nn_model_alloc("other", (struct nn_shape){1, 28, 28}, 3);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(nn_model_add_conv2d(o, 6, 5, 1, 2, NN_ACT_NONE, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_add_dense(o, 3, NN_ACT_NONE, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_init_params(o, SEED), CIM_OK);
    ck_assert_mem_eq(o->layers[0].weight.data, m->layers[0].weight.data, 150 * sizeof(float));
    nn_model_free(o);
    nn_model_free(m);
}
END_TEST

START_TEST(test_init_he_bound)
{
    const char *archs[] = {"lenet5", "mlp"};
    for (int a = 0; a < 2; a++) {
        struct nn_model *m = nn_model_build(archs[a], NULL);
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(nn_model_init_params(m, SEED + (uint64_t)a), CIM_OK);
        for (int i = 0; i < m->n_layers; i++) {
            const struct nn_layer *l = &m->layers[i];
            size_t n = nn_tensor_size(&l->weight);
            if (n == 0)
                continue;
            const double bound = he_bound(l);
            double amax = 0.0, sum = 0.0, sum2 = 0.0;
            for (size_t k = 0; k < n; k++) {
                double v = (double)l->weight.data[k];
                ck_assert_msg(fabs(v) <= bound * (1.0 + HE_BOUND_REL_TOL),
                              "%s layer %d: |%g| beyond He bound %g", archs[a], i, v, bound);
                amax = fmax(amax, fabs(v));
                sum += v;
                sum2 += v * v;
            }
            /* the draws fill the interval: P(all of n >= 150 below 0.9 a) < 1e-6 */
            ck_assert_msg(amax > 0.9 * bound, "%s layer %d: max |w| %g, bound %g", archs[a], i,
                          amax, bound);
            if (n >= 2400) {
                double mean = sum / (double)n, var = sum2 / (double)n - mean * mean;
                double var_he = bound * bound / 3.0;
                ck_assert_msg(fabs(mean) < HE_MEAN_TOL * bound, "%s layer %d: mean %g", archs[a],
                              i, mean);
                ck_assert_msg(fabs(var / var_he - 1.0) < HE_VAR_REL_TOL,
                              "%s layer %d: variance %g, expected %g", archs[a], i, var, var_he);
            }
        }
        nn_model_free(m);
    }
}
END_TEST

START_TEST(test_clone)
{
    struct nn_model *m = nn_model_build("lenet5", NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(nn_model_init_params(m, SEED), CIM_OK);
    m->layers[4].bias.data[7] = 0.2385f;
    snprintf(m->record.command, sizeof m->record.command, "cim train --lr 0.0385");
    m->record.epochs = 7;
    m->record.seed = SEED;
    m->record.test_accuracy = 0.8875;

    struct nn_model *c = nn_model_clone(m);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_ne(c, m);
    ck_assert_str_eq(c->arch, "lenet5");
    ck_assert_str_eq(c->dataset, "fashion-mnist");
    ck_assert_int_eq(c->n_layers, m->n_layers);
    ck_assert_str_eq(c->record.command, "cim train --lr 0.0385");
    ck_assert_int_eq(c->record.epochs, 7);
    ck_assert(c->record.seed == SEED);
    ck_assert_double_eq(c->record.test_accuracy, 0.8875);
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *lm = &m->layers[i], *lc = &c->layers[i];
        ck_assert_int_eq(lc->type, lm->type);
        ck_assert_int_eq(lc->out.c, lm->out.c);
        size_t n = nn_tensor_size(&lm->weight);
        ck_assert_uint_eq(nn_tensor_size(&lc->weight), n);
        if (n == 0) {
            ck_assert_ptr_null(lc->weight.data);
            ck_assert_ptr_null(lc->bias.data);
            continue;
        }
        ck_assert_ptr_ne(lc->weight.data, lm->weight.data);
        ck_assert_ptr_ne(lc->bias.data, lm->bias.data);
        ck_assert_mem_eq(lc->weight.data, lm->weight.data, n * sizeof(float));
        ck_assert_mem_eq(lc->bias.data, lm->bias.data, nn_tensor_size(&lm->bias) * sizeof(float));
    }
    /* deep: writing one does not touch the other, and each outlives the other */
    float before = m->layers[0].weight.data[3];
    c->layers[0].weight.data[3] = 2.385f;
    c->layers[4].bias.data[7] = -1.0f;
    ck_assert(m->layers[0].weight.data[3] == before);
    ck_assert(m->layers[4].bias.data[7] == 0.2385f);
    nn_model_free(m);
    struct cim_err err = {0};
    ck_assert_int_eq(nn_model_validate(c, &err), CIM_OK);
    ck_assert(c->layers[0].weight.data[3] == 2.385f);
    nn_model_free(c);
}
END_TEST

/* ---- names --------------------------------------------------------------------- */

START_TEST(test_names)
{
    const enum nn_layer_type types[] = {NN_LAYER_DENSE, NN_LAYER_CONV2D, NN_LAYER_MAXPOOL};
    const char *type_names[] = {"dense", "conv2d", "maxpool"};
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(nn_layer_type_name(types[i]), type_names[i]);
        ck_assert_int_eq(nn_layer_type_parse(type_names[i]), (int)types[i]);
        ck_assert_int_eq(nn_layer_type_parse(nn_layer_type_name(types[i])), (int)types[i]);
    }
    ck_assert_str_eq(nn_act_name(NN_ACT_NONE), "none");
    ck_assert_str_eq(nn_act_name(NN_ACT_RELU), "relu");
    ck_assert_int_eq(nn_act_parse(nn_act_name(NN_ACT_NONE)), NN_ACT_NONE);
    ck_assert_int_eq(nn_act_parse(nn_act_name(NN_ACT_RELU)), NN_ACT_RELU);

    const char *bad[] = {"", "Dense", "conv", "conv2d ", "max_pool", "relu6", "None"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(nn_layer_type_parse(bad[i]), -1);
        ck_assert_int_eq(nn_act_parse(bad[i]), -1);
    }
    ck_assert_str_eq(nn_layer_type_name((enum nn_layer_type)3), "unknown");
    ck_assert_str_eq(nn_layer_type_name((enum nn_layer_type)-1), "unknown");
    ck_assert_str_eq(nn_act_name((enum nn_act)2), "unknown");
}
END_TEST

static Suite *nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, test_build_lenet5);
    tcase_add_test(tc, test_build_mlp);
    tcase_add_test(tc, test_build_unknown);
    tcase_add_test(tc, test_custom_sizes);
    tcase_add_test(tc, test_alloc_bad);
    tcase_add_test(tc, test_add_errors);
    tcase_add_test(tc, test_add_too_many);
    tcase_add_test(tc, test_validate);
    tcase_add_test(tc, test_init_deterministic);
    tcase_add_test(tc, test_init_streams);
    tcase_add_test(tc, test_init_he_bound);
    tcase_add_test(tc, test_clone);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(nn_suite)
