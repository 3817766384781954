/*
 * test_dense.c: the dense layer (nn/dense.c) and the ReLU it fuses: forward
 * against direct loops in double, the gradients of weights, bias and input
 * against central finite differences, the effective-weight hook of quantization-
 * aware training, and the row arg-max of the logits.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "base/err.h"
#include "base/rng.h"
#include "nn/forward.h"
#include "nn/layers.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn_testutil.h"
#include "testutil.h"

/* A float32 dot product of K terms plus a bias is within (K + 1) u sum|terms| of
 * the exact value for any summation order (Higham, "Accuracy and Stability of
 * Numerical Algorithms", 2002, eq. 3.5), u = FLT_EPSILON / 2; we allow one
 * FLT_EPSILON per term, twice that bound. */
#define FWD_TOL_PER_TERM ((double)FLT_EPSILON)

/* ---- references in double --------------------------------------------------- */

/* y[s, o] = b[o] + sum_k w[o, k] x[s, k] (ReLU'd if the layer says so), and in
 * `mag` the sum of the terms' magnitudes (for the rounding bound). */
static void dense_ref(const struct nn_layer *l, const float *w, const float *bias,
                      const float *x, int b, double *y, double *mag)
{
    const int out = l->weight.n, in = l->weight.c;
    for (int s = 0; s < b; s++)
        for (int o = 0; o < out; o++) {
            double acc = (double)bias[o], a = fabs((double)bias[o]);
            for (int k = 0; k < in; k++) {
                double t = (double)w[o * in + k] * (double)x[s * in + k];
                acc += t;
                a += fabs(t);
            }
            y[s * out + o] = l->act == NN_ACT_RELU && acc < 0.0 ? 0.0 : acc;
            mag[s * out + o] = a;
        }
}

/* ---- forward -------------------------------------------------------------------- */

struct dense_case {
    struct nn_shape in; /* flattened per sample: weight column c*H*W + h*W + w */
    int out;
};

static const struct dense_case dense_cases[] = {
    {{3, 2, 3}, 5}, {{7, 1, 1}, 1}, {{1, 7, 9}, 13}, {{4, 1, 1}, 4}, {{1, 1, 1}, 3},
};

START_TEST(test_forward)
{
    const int b = 3;
    gsl_rng *r = test_rng(1);
    for (size_t ci = 0; ci < sizeof dense_cases / sizeof dense_cases[0]; ci++) {
        const struct dense_case *dc = &dense_cases[ci];
        for (int act = 0; act < 2; act++) {
            struct nn_model *m = nn_model_alloc("dense", dc->in, dc->out);
            ck_assert_ptr_nonnull(m);
            struct cim_err err = {0};
            ck_assert_int_eq(nn_model_add_dense(m, dc->out, act ? NN_ACT_RELU : NN_ACT_NONE, &err),
                             CIM_OK);
            ck_assert_int_eq(nn_model_validate(m, &err), CIM_OK);
            const struct nn_layer *l = &m->layers[0];
            const int in = (int)nn_shape_size(dc->in);
            ck_assert_int_eq(l->weight.c, in);
            uniform_fill(r, l->weight.data, nn_tensor_size(&l->weight), -0.7, 0.7);
            uniform_fill(r, l->bias.data, nn_tensor_size(&l->bias), -0.3, 0.3);
            const size_t nx = (size_t)b * in, ny = (size_t)b * dc->out;
            float *x = malloc(nx * sizeof *x);
            double *ref = malloc(ny * sizeof *ref), *mag = malloc(ny * sizeof *mag);
            ck_assert(x && ref && mag);
            uniform_fill(r, x, nx, -1.0, 2.385);
            dense_ref(l, l->weight.data, l->bias.data, x, b, ref, mag);
            const double tol_k = FWD_TOL_PER_TERM * (in + 2);
            for (int train = 0; train < 2; train++) {
                struct nn_ws *ws = nn_ws_alloc(m, b + 2 * train, train);
                ck_assert_ptr_nonnull(ws);
                const float *y = NULL;
                ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, ws, x, b, &y), CIM_OK);
                size_t clipped = 0;
                for (size_t q = 0; q < ny; q++) {
                    ck_assert_msg(fabs((double)y[q] - ref[q]) <= tol_k * mag[q],
                                  "case %zu act %d out %zu: %.9g, reference %.9g", ci, act, q,
                                  (double)y[q], ref[q]);
                    if (act)
                        ck_assert(y[q] >= 0.0f);
                    clipped += ref[q] == 0.0;
                }
                if (act && ny >= 15)
                    ck_assert_uint_gt(clipped, 0); /* the ReLU did clip something */
                /* the last sample alone gives the same result */
                ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, ws, x + 2 * in, 1, &y), CIM_OK);
                for (int o = 0; o < dc->out; o++)
                    ck_assert(fabs((double)y[o] - ref[2 * dc->out + o]) <=
                              tol_k * mag[2 * dc->out + o]);
                nn_ws_free(ws);
            }
            free(x);
            free(ref);
            free(mag);
            nn_model_free(m);
        }
    }
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_relu_kernels)
{
    float y[] = {2.385f, -0.5f, 0.0f, -0.0f, 1e-30f, -1e-30f, -3.75f, 88.0f};
    const float expect_y[] = {2.385f, 0.0f, 0.0f, 0.0f, 1e-30f, 0.0f, 0.0f, 88.0f};
    const size_t n = sizeof y / sizeof y[0];
    nn_relu_forward(y, n);
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(y[k] == expect_y[k] && !signbit(y[k]), "relu[%zu] = %g", k, (double)y[k]);
    float dy[] = {0.25f, -1.5f, 2.0f, 3.0f, -0.125f, 7.0f, 9.0f, -2.385f};
    const float expect_dy[] = {0.25f, 0.0f, 0.0f, 0.0f, -0.125f, 0.0f, 0.0f, -2.385f};
    nn_relu_backward(y, dy, n);
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(dy[k] == expect_dy[k], "drelu[%zu] = %g", k, (double)dy[k]);
}
END_TEST

START_TEST(test_argmax_rows)
{
    const float logits[] = {
        0.5f,  2.385f, -1.0f,  2.0f,  /* 1 */
        -3.0f, -2.5f,  -2.75f, -9.0f, /* all negative: 1 */
        1.25f, 1.25f,  0.0f,   1.25f, /* ties: the first */
        -1.0f, -2.0f,  -3.0f,  7.5f,  /* the last */
    };
    int pred[4] = {-1, -1, -1, -1};
    nn_argmax_rows(logits, 4, 4, pred);
    ck_assert_int_eq(pred[0], 1);
    ck_assert_int_eq(pred[1], 1);
    ck_assert_int_eq(pred[2], 0);
    ck_assert_int_eq(pred[3], 3);
    int one = -1;
    nn_argmax_rows(logits, 1, 1, &one); /* one class: always 0 */
    ck_assert_int_eq(one, 0);
}
END_TEST

/* ---- gradients ----------------------------------------------------------------- */

/* Linear network: a 2x3x3 input flattened to 18, dense 7, dense 5. The first
 * layer's weight gradient goes through the second layer's input gradient. */
static struct nn_model *linear_model(gsl_rng *r)
{
    struct nn_model *m = nn_model_alloc("lin", (struct nn_shape){2, 3, 3}, 5);
    ck_assert_ptr_nonnull(m);
    struct cim_err err = {0};
    ck_assert_int_eq(nn_model_add_dense(m, 7, NN_ACT_NONE, &err), CIM_OK);
    ck_assert_int_eq(nn_model_add_dense(m, 5, NN_ACT_NONE, &err), CIM_OK);
    ck_assert_int_eq(nn_model_validate(m, &err), CIM_OK);
    for (int i = 0; i < m->n_layers; i++) {
        struct nn_layer *l = &m->layers[i];
        uniform_fill(r, l->weight.data, nn_tensor_size(&l->weight), -0.6, 0.6);
        uniform_fill(r, l->bias.data, nn_tensor_size(&l->bias), -0.25, 0.25);
    }
    return m;
}

START_TEST(test_grad_linear)
{
    gsl_rng *r = test_rng(2);
    struct nn_model *m = linear_model(r);
    float x[3 * 18], rr[3 * 5];
    uniform_fill(r, x, 54, -1.0, 1.0);
    uniform_fill(r, rr, 15, -1.0, 1.0);
    struct fd f;
    fd_init(&f, m, x, 3, rr, NULL);
    fd_check_params(&f);
    /* a batch of one, too */
    f.b = 1;
    fd_check_params(&f);
    fd_release(&f);
    nn_model_free(m);
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_grad_linear_xent)
{
    gsl_rng *r = test_rng(3);
    struct nn_model *m = linear_model(r);
    float x[3 * 18];
    uniform_fill(r, x, 54, -1.0, 1.0);
    const uint8_t y[3] = {2, 4, 2};
    struct fd f;
    fd_init(&f, m, x, 3, NULL, y);
    fd_check_params(&f);
    fd_release(&f);
    nn_model_free(m);
    gsl_rng_free(r);
}
END_TEST

/* 18 -> dense 7 relu -> dense 4, the first layer on the lattice of lattice_fill,
 * so no step of any parameter brings a pre-activation to the ReLU's kink. */
START_TEST(test_grad_relu)
{
    const int b = 3;
    gsl_rng *r = test_rng(4);
    struct nn_model *m = nn_model_alloc("relu", (struct nn_shape){18, 1, 1}, 4);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(nn_model_add_dense(m, 7, NN_ACT_RELU, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_add_dense(m, 4, NN_ACT_NONE, NULL), CIM_OK);
    struct nn_layer *l0 = &m->layers[0], *l1 = &m->layers[1];
    lattice_fill(r, l0->weight.data, nn_tensor_size(&l0->weight), 1.0 / 8, 4, 0.0);
    lattice_fill(r, l0->bias.data, nn_tensor_size(&l0->bias), 1.0 / 32, 4, 1.0 / 64);
    uniform_fill(r, l1->weight.data, nn_tensor_size(&l1->weight), -0.6, 0.6);
    uniform_fill(r, l1->bias.data, nn_tensor_size(&l1->bias), -0.25, 0.25);
    float x[3 * 18], rr[3 * 4];
    lattice_fill(r, x, 54, 1.0 / 4, 4, 0.0);
    uniform_fill(r, rr, 12, -1.0, 1.0);

    struct fd f;
    fd_init(&f, m, x, b, rr, NULL);
    fd_backward(&f);
    size_t on = 0;
    for (size_t k = 0; k < 21; k++)
        on += f.pat0[k];
    ck_assert_msg(on >= 5 && on <= 16, "%zu of 21 ReLUs on", on);
    /* a unit off for every sample passes no gradient to its weights */
    for (int o = 0; o < 7; o++) {
        int any = f.pat0[o] | f.pat0[7 + o] | f.pat0[14 + o];
        for (int k = 0; !any && k < 18; k++)
            ck_assert(f.ws->dweight[0][o * 18 + k] == 0.0f);
    }
    fd_check_params(&f);
    f.r = NULL;
    const uint8_t y[3] = {0, 3, 1};
    f.y = y;
    fd_check_params(&f);
    fd_release(&f);
    nn_model_free(m);
    gsl_rng_free(r);
}
END_TEST

/* The kernels alone, with dx requested (which nn_backward never does for the
 * first layer): L = sum r * dense(x) is linear in x, and dL/dx = r W. */
START_TEST(test_grad_input_kernel)
{
    const int b = 3, in = 11, out = 6;
    gsl_rng *r = test_rng(5);
    struct nn_model *m = nn_model_alloc("k", (struct nn_shape){in, 1, 1}, out);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(nn_model_add_dense(m, out, NN_ACT_NONE, NULL), CIM_OK);
    const struct nn_layer *l = &m->layers[0];
    uniform_fill(r, l->weight.data, nn_tensor_size(&l->weight), -0.6, 0.6);
    uniform_fill(r, l->bias.data, nn_tensor_size(&l->bias), -0.25, 0.25);
    float x[3 * 11], y[3 * 6], dy[3 * 6], dx[3 * 11], dw[6 * 11], db[6], dw2[6 * 11], db2[6];
    uniform_fill(r, x, 33, -1.0, 1.0);
    uniform_fill(r, dy, 18, -1.0, 1.0);
    ck_assert_int_eq(nn_dense_forward(l, 0, &nn_exec_fp32, l->weight.data, x, y, b), CIM_OK);
    nn_dense_backward(l, l->weight.data, x, dy, dx, dw, db, b);
    for (int q = 0; q < b * in; q++) {
        const float v = x[q];
        const float vp = (float)((double)v + FD_H), vm = (float)((double)v - FD_H);
        double lp = 0.0, lm = 0.0;
        x[q] = vp;
        nn_dense_forward(l, 0, &nn_exec_fp32, l->weight.data, x, y, b);
        for (int o = 0; o < b * out; o++)
            lp += (double)dy[o] * (double)y[o];
        x[q] = vm;
        nn_dense_forward(l, 0, &nn_exec_fp32, l->weight.data, x, y, b);
        for (int o = 0; o < b * out; o++)
            lm += (double)dy[o] * (double)y[o];
        x[q] = v;
        const double fd = (lp - lm) / ((double)vp - (double)vm);
        ck_assert_msg(fabs((double)dx[q] - fd) <= FD_ATOL + FD_RTOL * fabs(fd),
                      "dx[%d]: analytic %.9g, finite difference %.9g", q, (double)dx[q], fd);
    }
    /* dx NULL leaves the parameter gradients as they were; dw, db are overwritten */
    for (int k = 0; k < 66; k++)
        dw2[k] = 2.385f;
    for (int k = 0; k < 6; k++)
        db2[k] = -2.385f;
    nn_dense_backward(l, l->weight.data, x, dy, NULL, dw2, db2, b);
    ck_assert_mem_eq(dw, dw2, sizeof dw);
    ck_assert_mem_eq(db, db2, sizeof db);
    nn_model_free(m);
    gsl_rng_free(r);
}
END_TEST

/* ws->weight_eff: a pass uses the given weights instead of the layer's own, in
 * the forward pass and in the backward pass's input gradient, and ws->dweight is
 * the gradient with respect to those effective weights (straight-through). */
START_TEST(test_weight_eff)
{
    const int b = 3;
    gsl_rng *r = test_rng(6);
    struct nn_model *m = linear_model(r);
    struct nn_layer *l1 = &m->layers[1];
    const size_t nw = nn_tensor_size(&l1->weight);
    float *weff = malloc(nw * sizeof *weff), *saved = malloc(nw * sizeof *saved);
    ck_assert(weff && saved);
    uniform_fill(r, weff, nw, -0.6, 0.6);
    memcpy(saved, l1->weight.data, nw * sizeof *saved);
    float x[3 * 18], rr[3 * 5];
    uniform_fill(r, x, 54, -1.0, 1.0);
    uniform_fill(r, rr, 15, -1.0, 1.0);

    struct fd f;
    fd_init(&f, m, x, b, rr, NULL);
    f.ws->weight_eff[1] = weff;
    /* forward: the same as a model whose own weights are weff */
    const float *logits = NULL;
    ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, f.ws, x, b, &logits), CIM_OK);
    float with_eff[15];
    memcpy(with_eff, logits, sizeof with_eff);
    memcpy(l1->weight.data, weff, nw * sizeof *weff);
    f.ws->weight_eff[1] = NULL;
    ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, f.ws, x, b, &logits), CIM_OK);
    ck_assert_mem_eq(with_eff, logits, sizeof with_eff);
    memcpy(l1->weight.data, saved, nw * sizeof *saved);

    /* gradients: of the effective weights (layer 1), and of layer 0 through
     * layer 1's input gradient, which must use weff too */
    f.ws->weight_eff[1] = weff;
    fd_backward(&f);
    float *gw1 = malloc(nw * sizeof *gw1), gw0[7 * 18], gb0[7];
    ck_assert_ptr_nonnull(gw1);
    memcpy(gw1, f.ws->dweight[1], nw * sizeof *gw1);
    memcpy(gw0, f.ws->dweight[0], sizeof gw0);
    memcpy(gb0, f.ws->dbias[0], sizeof gb0);
    fd_check(&f, weff, gw1, nw, "effective weight");
    fd_check(&f, m->layers[0].weight.data, gw0, 7 * 18, "layer 0 weight");
    fd_check(&f, m->layers[0].bias.data, gb0, 7, "layer 0 bias");
    /* the master copy is neither read nor written */
    ck_assert_mem_eq(l1->weight.data, saved, nw * sizeof *saved);
    for (size_t k = 0; k < nw; k++)
        l1->weight.data[k] = 1e6f;
    ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, f.ws, x, b, &logits), CIM_OK);
    ck_assert_mem_eq(with_eff, logits, sizeof with_eff);

    fd_release(&f);
    free(gw1);
    free(weff);
    free(saved);
    nn_model_free(m);
    gsl_rng_free(r);
}
END_TEST

static Suite *nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("dense");
    tcase_add_test(tc, test_forward);
    tcase_add_test(tc, test_relu_kernels);
    tcase_add_test(tc, test_argmax_rows);
    tcase_add_test(tc, test_grad_linear);
    tcase_add_test(tc, test_grad_linear_xent);
    tcase_add_test(tc, test_grad_relu);
    tcase_add_test(tc, test_grad_input_kernel);
    tcase_add_test(tc, test_weight_eff);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(nn_suite)
