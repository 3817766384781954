/*
 * test_conv2d.c: the conv2d layer (nn/conv2d.c): forward against direct loops in
 * double over strides, paddings, odd sizes and channel counts; im2col exactly and
 * col2im as its adjoint; and the gradients of weights, bias and input against
 * central finite differences.
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
/* col2im sums at most k*k patch entries into each input position in float, so
 * <x, col2im(c)> is within about k*k u sum|x||c| of the exact double sum. We allow
 * k*k FLT_EPSILON. */
#define ADJ_TOL_PER_TAP ((double)FLT_EPSILON)

/* ---- references in double --------------------------------------------------- */

/* Direct convolution: y[s, o, i, j] = b[o] + sum_{c, ky, kx} w[o, c, ky, kx]
 * x[s, c, i*st - pad + ky, j*st - pad + kx], zero outside x; and in `mag` the sum
 * of the terms' magnitudes (for the rounding bound). */
static void conv_ref(const struct nn_layer *l, const float *w, const float *bias, const float *x,
                     int b, double *y, double *mag)
{
    const int ic = l->in.c, ih = l->in.h, iw = l->in.w, oc = l->out.c, oh = l->out.h,
              ow = l->out.w, k = l->kernel, st = l->stride, pad = l->pad;
    for (int s = 0; s < b; s++)
        for (int o = 0; o < oc; o++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double acc = (double)bias[o], a = fabs((double)bias[o]);
                    for (int c = 0; c < ic; c++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int yy = i * st - pad + ky, xx = j * st - pad + kx;
                                if (yy < 0 || yy >= ih || xx < 0 || xx >= iw)
                                    continue;
                                double t = (double)w[((o * ic + c) * k + ky) * k + kx] *
                                           (double)x[((s * ic + c) * ih + yy) * iw + xx];
                                acc += t;
                                a += fabs(t);
                            }
                    size_t q = (((size_t)s * oc + o) * oh + i) * ow + j;
                    y[q] = l->act == NN_ACT_RELU && acc < 0.0 ? 0.0 : acc;
                    mag[q] = a;
                }
}

/* ---- forward -------------------------------------------------------------------- */

struct conv_case {
    int ic, ih, iw, oc, k, stride, pad;
    int oh, ow; /* by hand: (in + 2 pad - k) / stride + 1 */
};

static const struct conv_case conv_cases[] = {
    {2, 7, 9, 3, 3, 2, 1, 4, 5},  /* (7+2-3)/2+1 = 4, (9+2-3)/2+1 = 5 */
    {3, 7, 9, 4, 5, 1, 2, 7, 9},  /* "same" 5x5 */
    {1, 5, 6, 2, 3, 1, 0, 3, 4},  /* valid */
    {3, 9, 7, 2, 4, 2, 2, 5, 4},  /* even kernel: (9+4-4)/2+1 = 5, (7+4-4)/2+1 = 4 */
    {2, 4, 3, 5, 1, 1, 0, 4, 3},  /* 1x1 */
    {4, 8, 11, 3, 3, 3, 1, 3, 4}, /* stride = kernel: (8+2-3)/3+1 = 3, (11+2-3)/3+1 = 4 */
    {2, 8, 11, 3, 2, 3, 0, 3, 4}, /* stride > kernel: rows 2, 5, columns 2, 5, 8 unread */
    {2, 6, 5, 3, 5, 2, 2, 3, 3},  /* (6+4-5)/2+1 = 3, (5+4-5)/2+1 = 3 */
    {1, 1, 1, 2, 3, 1, 1, 1, 1},  /* a 1x1 image seen through padding */
};

START_TEST(test_forward)
{
    const int b = 3;
    gsl_rng *r = test_rng(1);
    for (size_t ci = 0; ci < sizeof conv_cases / sizeof conv_cases[0]; ci++) {
        const struct conv_case *cc = &conv_cases[ci];
        for (int act = 0; act < 2; act++) {
            struct nn_model *m = nn_model_alloc("conv", (struct nn_shape){cc->ic, cc->ih, cc->iw},
                                                cc->oc * cc->oh * cc->ow);
            ck_assert_ptr_nonnull(m);
            struct cim_err err = {0};
            ck_assert_int_eq(nn_model_add_conv2d(m, cc->oc, cc->k, cc->stride, cc->pad,
                                                 act ? NN_ACT_RELU : NN_ACT_NONE, &err),
                             CIM_OK);
            const struct nn_layer *l = &m->layers[0];
            ck_assert_int_eq(l->out.c, cc->oc);
            ck_assert_int_eq(l->out.h, cc->oh);
            ck_assert_int_eq(l->out.w, cc->ow);
            ck_assert_int_eq(nn_model_validate(m, &err), CIM_OK);
            uniform_fill(r, l->weight.data, nn_tensor_size(&l->weight), -0.7, 0.7);
            uniform_fill(r, l->bias.data, nn_tensor_size(&l->bias), -0.3, 0.3);
            const size_t nx = (size_t)b * nn_shape_size(l->in), ny = (size_t)b * nn_shape_size(l->out);
            float *x = malloc(nx * sizeof *x);
            double *ref = malloc(ny * sizeof *ref), *mag = malloc(ny * sizeof *mag);
            ck_assert(x && ref && mag);
            uniform_fill(r, x, nx, -1.0, 2.385);
            conv_ref(l, l->weight.data, l->bias.data, x, b, ref, mag);

            for (int train = 0; train < 2; train++) {
                struct nn_ws *ws = nn_ws_alloc(m, b + train, train);
                ck_assert_ptr_nonnull(ws);
                const float *y = NULL;
                ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, ws, x, b, &y), CIM_OK);
                const double tol_k = FWD_TOL_PER_TERM * (cc->ic * cc->k * cc->k + 2);
                for (size_t q = 0; q < ny; q++)
                    ck_assert_msg(fabs((double)y[q] - ref[q]) <= tol_k * mag[q],
                                  "case %zu act %d out %zu: %.9g, reference %.9g", ci, act, q,
                                  (double)y[q], ref[q]);
                /* the batch is processed as independent samples */
                ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, ws, x + nx / b, 1, &y), CIM_OK);
                for (size_t q = 0; q < ny / b; q++)
                    ck_assert(fabs((double)y[q] - ref[ny / b + q]) <= tol_k * mag[ny / b + q]);
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

START_TEST(test_forward_bad_batch)
{
    struct nn_model *m = nn_model_alloc("conv", (struct nn_shape){1, 5, 5}, 2 * 9);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(nn_model_add_conv2d(m, 2, 3, 1, 0, NN_ACT_NONE, NULL), CIM_OK);
    struct nn_ws *ws = nn_ws_alloc(m, 2, 0);
    ck_assert_ptr_nonnull(ws);
    float x[3 * 25] = {0};
    const float *y = NULL;
    ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, ws, x, 0, &y), CIM_EINVAL);
    ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, ws, x, 3, &y), CIM_EINVAL);
    ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, ws, x, -1, &y), CIM_EINVAL);
    ck_assert_ptr_null(y);
    /* backward needs a training workspace */
    float d[2 * 18] = {0};
    ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, ws, x, 2, &y), CIM_OK);
    ck_assert_int_eq(nn_backward(m, ws, d, 2), CIM_EINVAL);
    nn_ws_free(ws);
    ck_assert_ptr_null(nn_ws_alloc(m, 0, 1));
    nn_ws_free(NULL);
    nn_model_free(m);
}
END_TEST

/* ---- im2col / col2im -------------------------------------------------------------- */

START_TEST(test_im2col_exact)
{
    const int b = 3;
    gsl_rng *r = test_rng(2);
    for (size_t ci = 0; ci < sizeof conv_cases / sizeof conv_cases[0]; ci++) {
        const struct conv_case *cc = &conv_cases[ci];
        struct nn_model *m = nn_model_alloc("conv", (struct nn_shape){cc->ic, cc->ih, cc->iw}, 1);
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(nn_model_add_conv2d(m, cc->oc, cc->k, cc->stride, cc->pad, NN_ACT_NONE,
                                             NULL),
                         CIM_OK);
        const struct nn_layer *l = &m->layers[0];
        const int k = cc->k, kk = cc->ic * k * k, hw = cc->oh * cc->ow;
        const size_t nx = (size_t)b * nn_shape_size(l->in), nc = (size_t)b * hw * kk;
        float *x = malloc(nx * sizeof *x), *cols = malloc(nc * sizeof *cols);
        ck_assert(x && cols);
        uniform_fill(r, x, nx, -2.385, 2.385);
        memset(cols, 0xff, nc * sizeof *cols); /* NaN: every entry must be written */
        nn_im2col(l, x, cols, b);
        for (int s = 0; s < b; s++)
            for (int i = 0; i < cc->oh; i++)
                for (int j = 0; j < cc->ow; j++)
                    for (int c = 0; c < cc->ic; c++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int yy = i * cc->stride - cc->pad + ky;
                                int xx = j * cc->stride - cc->pad + kx;
                                float expect = 0.0f;
                                if (yy >= 0 && yy < cc->ih && xx >= 0 && xx < cc->iw)
                                    expect = x[((s * cc->ic + c) * cc->ih + yy) * cc->iw + xx];
                                /* row (c, ky, kx), column (s, i, j): [kk, b*hw] */
                                size_t q = (size_t)((c * k + ky) * k + kx) * (size_t)(b * hw) +
                                           (size_t)(s * hw + i * cc->ow + j);
                                ck_assert_msg(cols[q] == expect, "case %zu col %zu", ci, q);
                            }
        free(x);
        free(cols);
        nn_model_free(m);
    }
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_im2col_adjoint)
{
    const int b = 3;
    gsl_rng *r = test_rng(3);
    for (size_t ci = 0; ci < sizeof conv_cases / sizeof conv_cases[0]; ci++) {
        const struct conv_case *cc = &conv_cases[ci];
        struct nn_model *m = nn_model_alloc("conv", (struct nn_shape){cc->ic, cc->ih, cc->iw}, 1);
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(nn_model_add_conv2d(m, cc->oc, cc->k, cc->stride, cc->pad, NN_ACT_NONE,
                                             NULL),
                         CIM_OK);
        const struct nn_layer *l = &m->layers[0];
        const int kk = cc->ic * cc->k * cc->k;
        const size_t nx = (size_t)b * nn_shape_size(l->in);
        const size_t nc = (size_t)b * (size_t)(cc->oh * cc->ow) * (size_t)kk;
        float *x = malloc(nx * sizeof *x), *c = malloc(nc * sizeof *c);
        float *cols = malloc(nc * sizeof *cols), *dx = malloc(nx * sizeof *dx);
        ck_assert(x && c && cols && dx);
        uniform_fill(r, x, nx, -1.0, 1.0);
        uniform_fill(r, c, nc, -2.385, 1.5);
        memset(dx, 0xff, nx * sizeof *dx); /* col2im must overwrite, not accumulate */
        nn_im2col(l, x, cols, b);
        nn_col2im(l, c, dx, b);
        double lhs = 0.0, rhs = 0.0, mag = 0.0;
        for (size_t q = 0; q < nc; q++) {
            lhs += (double)cols[q] * (double)c[q];
            mag += fabs((double)cols[q] * (double)c[q]);
        }
        for (size_t q = 0; q < nx; q++)
            rhs += (double)x[q] * (double)dx[q];
        ck_assert_msg(fabs(lhs - rhs) <= ADJ_TOL_PER_TAP * cc->k * cc->k * mag,
                      "case %zu: <im2col x, c> = %.12g, <x, col2im c> = %.12g", ci, lhs, rhs);
        free(x);
        free(c);
        free(cols);
        free(dx);
        nn_model_free(m);
    }
    gsl_rng_free(r);
}
END_TEST

/* ---- gradients ----------------------------------------------------------------- */

/* Linear network (no kinks): conv 3@3x3 stride 2 pad 1 on 2x7x9 (-> 3x4x5),
 * conv 4@3x3 stride 1 pad 2 (-> 4x6x7), dense 5. The first conv's weight gradient
 * goes through the second conv's input gradient (col2im with padding 2). */
static struct nn_model *linear_model(gsl_rng *r)
{
    struct nn_model *m = nn_model_alloc("lin", (struct nn_shape){2, 7, 9}, 5);
    ck_assert_ptr_nonnull(m);
    struct cim_err err = {0};
    ck_assert_int_eq(nn_model_add_conv2d(m, 3, 3, 2, 1, NN_ACT_NONE, &err), CIM_OK);
    ck_assert_int_eq(nn_model_add_conv2d(m, 4, 3, 1, 2, NN_ACT_NONE, &err), CIM_OK);
    ck_assert_int_eq(nn_model_add_dense(m, 5, NN_ACT_NONE, &err), CIM_OK);
    ck_assert_int_eq(nn_model_validate(m, &err), CIM_OK);
    ck_assert_int_eq(m->layers[1].out.h, 6);
    ck_assert_int_eq(m->layers[1].out.w, 7);
    for (int i = 0; i < m->n_layers; i++) {
        struct nn_layer *l = &m->layers[i];
        uniform_fill(r, l->weight.data, nn_tensor_size(&l->weight), -0.5, 0.5);
        uniform_fill(r, l->bias.data, nn_tensor_size(&l->bias), -0.25, 0.25);
    }
    return m;
}

START_TEST(test_grad_linear)
{
    const int b = 3;
    gsl_rng *r = test_rng(4);
    struct nn_model *m = linear_model(r);
    float x[3 * 2 * 7 * 9], rr[3 * 5];
    uniform_fill(r, x, sizeof x / sizeof x[0], -1.0, 1.0);
    uniform_fill(r, rr, sizeof rr / sizeof rr[0], -1.0, 1.0);
    struct fd f;
    fd_init(&f, m, x, b, rr, NULL);
    fd_check_params(&f);
    fd_release(&f);
    nn_model_free(m);
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_grad_linear_xent)
{
    const int b = 3;
    gsl_rng *r = test_rng(5);
    struct nn_model *m = linear_model(r);
    float x[3 * 2 * 7 * 9];
    uniform_fill(r, x, sizeof x / sizeof x[0], -1.0, 1.0);
    const uint8_t y[3] = {4, 0, 2};
    struct fd f;
    fd_init(&f, m, x, b, NULL, y);
    fd_check_params(&f);
    fd_release(&f);
    nn_model_free(m);
    gsl_rng_free(r);
}
END_TEST

/* ReLU network on the lattice of lattice_fill: conv 3@3x3 stride 2 pad 1 relu on
 * 2x7x9, conv 2@5x5 stride 1 pad 2 (linear), dense 4. Only the first layer has
 * a ReLU: its pre-activations are odd multiples of 1/64 (never near 0), and no
 * step of any parameter moves them by more than FD_H < 1/64. */
START_TEST(test_grad_relu)
{
    const int b = 3;
    gsl_rng *r = test_rng(6);
    struct nn_model *m = nn_model_alloc("relu", (struct nn_shape){2, 7, 9}, 4);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(nn_model_add_conv2d(m, 3, 3, 2, 1, NN_ACT_RELU, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_add_conv2d(m, 2, 5, 1, 2, NN_ACT_NONE, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_add_dense(m, 4, NN_ACT_NONE, NULL), CIM_OK);
    struct nn_layer *l0 = &m->layers[0];
    lattice_fill(r, l0->weight.data, nn_tensor_size(&l0->weight), 1.0 / 8, 4, 0.0);
    lattice_fill(r, l0->bias.data, nn_tensor_size(&l0->bias), 1.0 / 32, 4, 1.0 / 64);
    for (int i = 1; i < 3; i++) {
        struct nn_layer *l = &m->layers[i];
        uniform_fill(r, l->weight.data, nn_tensor_size(&l->weight), -0.5, 0.5);
        uniform_fill(r, l->bias.data, nn_tensor_size(&l->bias), -0.25, 0.25);
    }
    float x[3 * 2 * 7 * 9], rr[3 * 4];
    lattice_fill(r, x, sizeof x / sizeof x[0], 1.0 / 4, 4, 0.0);
    uniform_fill(r, rr, sizeof rr / sizeof rr[0], -1.0, 1.0);

    struct fd f;
    fd_init(&f, m, x, b, rr, NULL);
    /* the lattice keeps both signs present: some units on, some off */
    fd_backward(&f);
    size_t on = 0, n0 = (size_t)b * nn_shape_size(l0->out);
    for (size_t k = 0; k < n0; k++)
        on += f.pat0[k];
    ck_assert_msg(on > n0 / 5 && on < n0 - n0 / 5, "%zu of %zu ReLUs on", on, n0);
    fd_check_params(&f);
    f.r = NULL;
    const uint8_t y[3] = {3, 1, 1};
    f.y = y;
    fd_check_params(&f);
    fd_release(&f);
    nn_model_free(m);
    gsl_rng_free(r);
}
END_TEST

/* Whether some window of `out` positions reads input coordinate `i`. */
static int window_reads(int i, int out, int k, int st, int pad)
{
    for (int o = 0; o < out; o++)
        if (i - (o * st - pad) >= 0 && i - (o * st - pad) < k)
            return 1;
    return 0;
}

/* The kernels alone, with dx requested (which nn_backward never does for the
 * first layer): L = sum r * conv(x) is linear in x, and dL/dx = col2im(r W). */
START_TEST(test_grad_input_kernel)
{
    const int b = 3;
    gsl_rng *r = test_rng(7);
    for (size_t ci = 0; ci < sizeof conv_cases / sizeof conv_cases[0]; ci++) {
        const struct conv_case *cc = &conv_cases[ci];
        struct nn_model *m = nn_model_alloc("conv", (struct nn_shape){cc->ic, cc->ih, cc->iw}, 1);
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(nn_model_add_conv2d(m, cc->oc, cc->k, cc->stride, cc->pad, NN_ACT_NONE,
                                             NULL),
                         CIM_OK);
        const struct nn_layer *l = &m->layers[0];
        uniform_fill(r, l->weight.data, nn_tensor_size(&l->weight), -0.5, 0.5);
        uniform_fill(r, l->bias.data, nn_tensor_size(&l->bias), -0.25, 0.25);
        const int kk = cc->ic * cc->k * cc->k, hw = cc->oh * cc->ow;
        const size_t nx = (size_t)b * nn_shape_size(l->in), ny = (size_t)b * nn_shape_size(l->out);
        const size_t nc = (size_t)b * hw * kk, nr = (size_t)b * hw * cc->oc;
        float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y);
        float *dy = malloc(ny * sizeof *dy), *dx = malloc(nx * sizeof *dx);
        float *cols = malloc(nc * sizeof *cols), *dcols = malloc(nc * sizeof *dcols);
        float *rows = malloc(nr * sizeof *rows);
        float *dw = malloc(nn_tensor_size(&l->weight) * sizeof *dw);
        float *db = malloc((size_t)cc->oc * sizeof *db);
        ck_assert(x && y && dy && dx && cols && dcols && rows && dw && db);
        uniform_fill(r, x, nx, -1.0, 1.0);
        uniform_fill(r, dy, ny, -1.0, 1.0);
        ck_assert_int_eq(nn_conv2d_forward(l, 0, &nn_exec_fp32, l->weight.data, x, y, cols, rows,
                                           b),
                         CIM_OK);
        nn_conv2d_backward(l, l->weight.data, cols, dy, dx, dw, db, rows, dcols, b);
        for (size_t q = 0; q < nx; q++) {
            const float v = x[q];
            const float vp = (float)((double)v + FD_H), vm = (float)((double)v - FD_H);
            double lp = 0.0, lm = 0.0;
            x[q] = vp;
            nn_conv2d_forward(l, 0, &nn_exec_fp32, l->weight.data, x, y, cols, rows, b);
            for (size_t o = 0; o < ny; o++)
                lp += (double)dy[o] * (double)y[o];
            x[q] = vm;
            nn_conv2d_forward(l, 0, &nn_exec_fp32, l->weight.data, x, y, cols, rows, b);
            for (size_t o = 0; o < ny; o++)
                lm += (double)dy[o] * (double)y[o];
            x[q] = v;
            const double fd = (lp - lm) / ((double)vp - (double)vm);
            ck_assert_msg(fabs((double)dx[q] - fd) <= FD_ATOL + FD_RTOL * fabs(fd),
                          "case %zu dx[%zu]: analytic %.9g, finite difference %.9g", ci, q,
                          (double)dx[q], fd);
        }
        /* a position that no window reads gets exactly zero */
        size_t unread = 0;
        for (int s = 0; s < b; s++)
            for (int c = 0; c < cc->ic; c++)
                for (int yy = 0; yy < cc->ih; yy++)
                    for (int xx = 0; xx < cc->iw; xx++)
                        if (!window_reads(yy, cc->oh, cc->k, cc->stride, cc->pad) ||
                            !window_reads(xx, cc->ow, cc->k, cc->stride, cc->pad)) {
                            ck_assert(dx[((s * cc->ic + c) * cc->ih + yy) * cc->iw + xx] == 0.0f);
                            unread++;
                        }
        if (cc->stride > cc->k)
            ck_assert_uint_gt(unread, 0);
        free(x);
        free(y);
        free(dy);
        free(dx);
        free(cols);
        free(dcols);
        free(rows);
        free(dw);
        free(db);
        nn_model_free(m);
    }
    gsl_rng_free(r);
}
END_TEST

/* ---- batches of several chunks ------------------------------------------------------ */

/* A batch of more than NN_CHUNK samples runs as chunks, possibly on several
 * threads: the first-layer gradients must still match finite differences. */
START_TEST(test_grad_chunks)
{
    const int b = NN_CHUNK + 5;
    gsl_rng *r = test_rng(8);
    struct nn_model *m = linear_model(r);
    float *x = malloc((size_t)b * 2 * 7 * 9 * sizeof *x), *rr = malloc((size_t)b * 5 * sizeof *rr);
    ck_assert(x && rr);
    uniform_fill(r, x, (size_t)b * 2 * 7 * 9, -1.0, 1.0);
    uniform_fill(r, rr, (size_t)b * 5, -1.0 / b, 1.0 / b); /* keep L of order 1 */
    nn_threads_set(2);
    struct fd f;
    fd_init(&f, m, x, b, rr, NULL);
    f.every = 5; /* a fifth of the entries, in every tensor, keeps this within 4 s */
    fd_check_params(&f);
    fd_release(&f);
    free(x);
    free(rr);
    nn_model_free(m);
    gsl_rng_free(r);
}
END_TEST

/* conv stride 2 pad 1 relu, maxpool, conv pad 2, dense on a batch of three
 * chunks (32 + 32 + 11): the same logits and gradients, bit for bit, for 1 and 3
 * threads and for the chunks run one by one, with the gradients summed in chunk
 * order. Chunks at different layers at the same time must not share scratch. */
START_TEST(test_chunks_threads)
{
    const int b = 2 * NN_CHUNK + 11, per = 2 * 9 * 11;
    gsl_rng *r = test_rng(9);
    struct nn_model *m = nn_model_alloc("chunks", (struct nn_shape){2, 9, 11}, 6);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(nn_model_add_conv2d(m, 4, 3, 2, 1, NN_ACT_RELU, NULL), CIM_OK); /* 4x5x6 */
    ck_assert_int_eq(nn_model_add_maxpool(m, 2, 1, NULL), CIM_OK);                    /* 4x4x5 */
    ck_assert_int_eq(nn_model_add_conv2d(m, 3, 3, 1, 2, NN_ACT_RELU, NULL), CIM_OK); /* 3x6x7 */
    ck_assert_int_eq(nn_model_add_dense(m, 6, NN_ACT_NONE, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_validate(m, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_init_params(m, SEED), CIM_OK);
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].bias.data != NULL)
            uniform_fill(r, m->layers[i].bias.data, nn_tensor_size(&m->layers[i].bias), -0.1, 0.2);
    float *x = malloc((size_t)b * per * sizeof *x), *rr = malloc((size_t)b * 6 * sizeof *rr);
    ck_assert(x && rr);
    uniform_fill(r, x, (size_t)b * per, -1.0, 1.0);
    uniform_fill(r, rr, (size_t)b * 6, -1.0, 1.0);

    float *logits_t[2], *grad_t[2][6];
    const int threads[2] = {1, 3};
    for (int t = 0; t < 2; t++) {
        nn_threads_set(threads[t]);
        ck_assert_int_eq(nn_threads_get(), threads[t]);
        struct nn_ws *ws = nn_ws_alloc(m, b, 1);
        ck_assert_ptr_nonnull(ws);
        const float *logits = NULL;
        ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, ws, x, b, &logits), CIM_OK);
        logits_t[t] = malloc((size_t)b * 6 * sizeof(float));
        ck_assert_ptr_nonnull(logits_t[t]);
        memcpy(logits_t[t], logits, (size_t)b * 6 * sizeof(float));
        ck_assert_int_eq(nn_backward(m, ws, rr, b), CIM_OK);
        int g = 0;
        for (int i = 0; i < m->n_layers; i++) {
            if (m->layers[i].weight.data == NULL)
                continue;
            grad_t[t][g] = malloc(nn_tensor_size(&m->layers[i].weight) * sizeof(float));
            ck_assert_ptr_nonnull(grad_t[t][g]);
            memcpy(grad_t[t][g], ws->dweight[i],
                   nn_tensor_size(&m->layers[i].weight) * sizeof(float));
            g++;
            grad_t[t][g] = malloc(nn_tensor_size(&m->layers[i].bias) * sizeof(float));
            ck_assert_ptr_nonnull(grad_t[t][g]);
            memcpy(grad_t[t][g], ws->dbias[i], nn_tensor_size(&m->layers[i].bias) * sizeof(float));
            g++;
        }
        ck_assert_int_eq(g, 6);
        nn_ws_free(ws);
    }
    ck_assert_mem_eq(logits_t[0], logits_t[1], (size_t)b * 6 * sizeof(float));

    /* chunk by chunk, on a workspace of one chunk */
    nn_threads_set(1);
    struct nn_ws *ws = nn_ws_alloc(m, NN_CHUNK, 1);
    ck_assert_ptr_nonnull(ws);
    float *sum[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    size_t len[6];
    for (int first = 0; first < b; first += NN_CHUNK) {
        const int n = b - first < NN_CHUNK ? b - first : NN_CHUNK;
        const float *logits = NULL;
        ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, ws, x + (size_t)first * per, n, &logits),
                         CIM_OK);
        ck_assert_mem_eq(logits, logits_t[0] + (size_t)first * 6, (size_t)n * 6 * sizeof(float));
        ck_assert_int_eq(nn_backward(m, ws, rr + (size_t)first * 6, n), CIM_OK);
        int g = 0;
        for (int i = 0; i < m->n_layers; i++) {
            if (m->layers[i].weight.data == NULL)
                continue;
            const float *src[2] = {ws->dweight[i], ws->dbias[i]};
            const size_t nn[2] = {nn_tensor_size(&m->layers[i].weight),
                                  nn_tensor_size(&m->layers[i].bias)};
            for (int j = 0; j < 2; j++, g++) {
                if (sum[g] == NULL) {
                    len[g] = nn[j];
                    sum[g] = calloc(nn[j], sizeof(float));
                    ck_assert_ptr_nonnull(sum[g]);
                    memcpy(sum[g], src[j], nn[j] * sizeof(float));
                } else {
                    for (size_t k = 0; k < nn[j]; k++)
                        sum[g][k] += src[j][k];
                }
            }
        }
    }
    for (int g = 0; g < 6; g++) {
        ck_assert_mem_eq(grad_t[0][g], grad_t[1][g], len[g] * sizeof(float));
        ck_assert_mem_eq(grad_t[0][g], sum[g], len[g] * sizeof(float));
        free(grad_t[0][g]);
        free(grad_t[1][g]);
        free(sum[g]);
    }
    nn_ws_free(ws);
    free(logits_t[0]);
    free(logits_t[1]);
    free(x);
    free(rr);
    nn_model_free(m);
    gsl_rng_free(r);
}
END_TEST

static Suite *nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("conv2d");
    tcase_add_test(tc, test_forward);
    tcase_add_test(tc, test_forward_bad_batch);
    tcase_add_test(tc, test_im2col_exact);
    tcase_add_test(tc, test_im2col_adjoint);
    tcase_add_test(tc, test_grad_linear);
    tcase_add_test(tc, test_grad_linear_xent);
    tcase_add_test(tc, test_grad_relu);
    tcase_add_test(tc, test_grad_input_kernel);
    tcase_add_test(tc, test_grad_chunks);
    tcase_add_test(tc, test_chunks_threads);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(nn_suite)
