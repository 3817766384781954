/*
 * test_maxpool.c: max pooling (nn/maxpool.c): forward and arg-max against direct
 * loops, overlapping and partial windows, ties, the backward scatter, and
 * gradients through a pool inside a network against central finite differences.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "base/err.h"
#include "base/rng.h"
#include "nn/forward.h"
#include "nn/layers.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn_testutil.h"
#include "testutil.h"

/* The backward pass adds into an input position the gradients of every window
 * that picked it (up to ceil(k/s)^2 of them, in float): within that many
 * FLT_EPSILON of sum|dy|. */
#define SCATTER_TOL_PER_TERM ((double)FLT_EPSILON)
/* Pool inputs fed directly are spread at least POOL_GAP apart (> 2 FD_H), so
 * that no step changes which input a window picks; inside a network see
 * lattice_fill and draw_untied. */
#define POOL_GAP 0.0385

/* ---- references ------------------------------------------------------------------ */

/* Max of each window, and the flat in-plane index of its first maximum in
 * row-major window order (the documented tie rule). */
static void pool_ref(const struct nn_layer *l, const float *x, int b, float *y, int32_t *am)
{
    const int ih = l->in.h, iw = l->in.w, oh = l->out.h, ow = l->out.w, k = l->kernel,
              st = l->stride;
    for (int pl = 0; pl < b * l->in.c; pl++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                int best = -1;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int idx = (i * st + ky) * iw + j * st + kx;
                        if (best < 0 || x[pl * ih * iw + idx] > x[pl * ih * iw + best])
                            best = idx;
                    }
                y[(pl * oh + i) * ow + j] = x[pl * ih * iw + best];
                am[(pl * oh + i) * ow + j] = best;
            }
}

struct pool_case {
    int c, ih, iw, k, stride;
    int oh, ow; /* by hand: (in - k) / stride + 1 */
};

static const struct pool_case pool_cases[] = {
    {4, 6, 8, 2, 2, 3, 4}, /* the usual 2x2 */
    {3, 7, 9, 3, 2, 3, 4}, /* overlapping: (7-3)/2+1 = 3, (9-3)/2+1 = 4 */
    {2, 7, 9, 2, 1, 6, 8}, /* stride 1 */
    {3, 7, 9, 3, 3, 2, 3}, /* row 6 falls outside every window: (7-3)/3+1 = 2 */
    {1, 5, 5, 5, 1, 1, 1}, /* global */
    {2, 4, 6, 1, 1, 4, 6}, /* identity */
    {2, 5, 7, 2, 3, 2, 2}, /* stride > kernel: (5-2)/3+1 = 2, (7-2)/3+1 = 2 */
};
#define N_POOL_CASES (sizeof pool_cases / sizeof pool_cases[0])

static struct nn_model *pool_model(const struct pool_case *pc)
{
    struct nn_model *m = nn_model_alloc("pool", (struct nn_shape){pc->c, pc->ih, pc->iw},
                                        pc->c * pc->oh * pc->ow);
    ck_assert_ptr_nonnull(m);
    struct cim_err err = {0};
    ck_assert_int_eq(nn_model_add_maxpool(m, pc->k, pc->stride, &err), CIM_OK);
    ck_assert_int_eq(nn_model_validate(m, &err), CIM_OK);
    const struct nn_layer *l = &m->layers[0];
    ck_assert_int_eq(l->out.c, pc->c);
    ck_assert_int_eq(l->out.h, pc->oh);
    ck_assert_int_eq(l->out.w, pc->ow);
    ck_assert_ptr_null(l->weight.data);
    ck_assert_uint_eq(nn_model_param_count(m), 0);
    ck_assert_uint_eq(nn_model_macs(m), 0);
    return m;
}

/* Distinct inputs at least POOL_GAP apart, in random order, centred on zero. */
static void spread_fill(gsl_rng *r, float *x, size_t n)
{
    for (size_t k = 0; k < n; k++)
        x[k] = (float)(POOL_GAP * ((double)k - 0.5 * (double)n) + 0.002385);
    gsl_ran_shuffle(r, x, n, sizeof *x);
}

/* ---- forward ---------------------------------------------------------------------- */

START_TEST(test_forward)
{
    const int b = 3;
    gsl_rng *r = test_rng(1);
    for (size_t ci = 0; ci < N_POOL_CASES; ci++) {
        const struct pool_case *pc = &pool_cases[ci];
        struct nn_model *m = pool_model(pc);
        const struct nn_layer *l = &m->layers[0];
        const size_t nx = (size_t)b * nn_shape_size(l->in), ny = (size_t)b * nn_shape_size(l->out);
        float *x = malloc(nx * sizeof *x), *yref = malloc(ny * sizeof *yref);
        float *yk = malloc(ny * sizeof *yk);
        int32_t *am = malloc(ny * sizeof *am), *amk = malloc(ny * sizeof *amk);
        ck_assert(x && yref && yk && am && amk);
        for (int sign = 0; sign < 2; sign++) {
            /* mixed signs, then all negative (the first element is no lower bound) */
            if (sign == 0)
                uniform_fill(r, x, nx, -2.385, 1.5);
            else
                uniform_fill(r, x, nx, -9.5, -1.25);
            pool_ref(l, x, b, yref, am);
            for (int train = 0; train < 2; train++) {
                struct nn_ws *ws = nn_ws_alloc(m, b, train);
                ck_assert_ptr_nonnull(ws);
                const float *y = NULL;
                ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, ws, x, b, &y), CIM_OK);
                ck_assert_mem_eq(y, yref, ny * sizeof *y); /* selection is exact */
                if (train)
                    ck_assert_mem_eq(ws->argmax[0], am, ny * sizeof *am);
                else
                    ck_assert_ptr_null(ws->argmax[0]);
                nn_ws_free(ws);
            }
            /* the kernel, with and without arg-max */
            memset(amk, 0xff, ny * sizeof *amk);
            nn_maxpool_forward(l, x, yk, amk, b);
            ck_assert_mem_eq(yk, yref, ny * sizeof *yk);
            ck_assert_mem_eq(amk, am, ny * sizeof *am);
            memset(yk, 0, ny * sizeof *yk);
            nn_maxpool_forward(l, x, yk, NULL, b);
            ck_assert_mem_eq(yk, yref, ny * sizeof *yk);
        }
        free(x);
        free(yref);
        free(yk);
        free(am);
        free(amk);
        nn_model_free(m);
    }
    gsl_rng_free(r);
}
END_TEST

/* Hand-made planes: ties go to the first maximum in row-major window order, and
 * the whole gradient goes to that one input. */
START_TEST(test_ties)
{
    struct nn_model *m = pool_model(&(struct pool_case){1, 4, 4, 2, 2, 2, 2});
    const struct nn_layer *l = &m->layers[0];
    /* windows (top-left, top-right, bottom-left, bottom-right):
     *   {0, 1, 4, 5}      all 2.385             -> index 0
     *   {2, 3, 6, 7}      3 at 3 and at 6        -> index 3
     *   {8, 9, 12, 13}    -0.25 at 9 and at 13   -> index 9
     *   {10, 11, 14, 15}  0, -0, 0.5, 0.75       -> index 15 */
    const float x[16] = {
        2.385f, 2.385f, 1.0f,  3.0f,  /* */
        2.385f, 2.385f, 3.0f,  0.0f,  /* */
        -1.5f,  -0.25f, 0.0f,  -0.0f, /* */
        -7.0f,  -0.25f, 0.5f,  0.75f,
    };
    float y[4];
    int32_t am[4];
    nn_maxpool_forward(l, x, y, am, 1);
    const float ey[4] = {2.385f, 3.0f, -0.25f, 0.75f};
    const int32_t eam[4] = {0, 3, 9, 15};
    ck_assert_mem_eq(y, ey, sizeof y);
    ck_assert_mem_eq(am, eam, sizeof am);
    const float dy[4] = {0.5f, -1.25f, 2.0f, 0.125f};
    float dx[16];
    nn_maxpool_backward(l, am, dy, dx, 1);
    for (int k = 0; k < 16; k++) {
        float e = k == 0 ? 0.5f : k == 3 ? -1.25f : k == 9 ? 2.0f : k == 15 ? 0.125f : 0.0f;
        ck_assert_msg(dx[k] == e, "dx[%d] = %g, expected %g", k, (double)dx[k], (double)e);
    }
    nn_model_free(m);
}
END_TEST

/* ---- backward ---------------------------------------------------------------------- */

/* dx is the scatter-add of dy at the arg-max: exact for one window per input,
 * a float sum where overlapping windows (k > stride) picked the same input. */
START_TEST(test_backward_scatter)
{
    const int b = 3;
    gsl_rng *r = test_rng(2);
    for (size_t ci = 0; ci < N_POOL_CASES; ci++) {
        const struct pool_case *pc = &pool_cases[ci];
        struct nn_model *m = pool_model(pc);
        const struct nn_layer *l = &m->layers[0];
        const size_t nx = (size_t)b * nn_shape_size(l->in), ny = (size_t)b * nn_shape_size(l->out);
        const size_t in_plane = (size_t)pc->ih * pc->iw, out_plane = (size_t)pc->oh * pc->ow;
        float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y);
        float *dy = malloc(ny * sizeof *dy), *dx = malloc(nx * sizeof *dx);
        double *ref = calloc(nx, sizeof *ref), *mag = calloc(nx, sizeof *mag);
        int32_t *am = malloc(ny * sizeof *am);
        int *hits = calloc(nx, sizeof *hits);
        ck_assert(x && y && dy && dx && ref && mag && am && hits);
        uniform_fill(r, x, nx, -2.385, 2.385);
        uniform_fill(r, dy, ny, -1.0, 1.0);
        pool_ref(l, x, b, y, am);
        for (size_t q = 0; q < ny; q++) {
            size_t pos = (q / out_plane) * in_plane + (size_t)am[q];
            ref[pos] += (double)dy[q];
            mag[pos] += fabs((double)dy[q]);
            hits[pos]++;
        }
        memset(dx, 0xff, nx * sizeof *dx); /* NaN: backward must overwrite */
        nn_maxpool_forward(l, x, y, am, b);
        nn_maxpool_backward(l, am, dy, dx, b);
        int shared = 0;
        for (size_t q = 0; q < nx; q++) {
            if (hits[q] == 0)
                ck_assert_msg(dx[q] == 0.0f, "case %zu dx[%zu] = %g", ci, q, (double)dx[q]);
            else if (hits[q] == 1)
                ck_assert(dx[q] == (float)ref[q]);
            else
                ck_assert(fabs((double)dx[q] - ref[q]) <= SCATTER_TOL_PER_TERM * hits[q] * mag[q]);
            shared += hits[q] > 1;
        }
        if (pc->k > pc->stride && pc->c * pc->ih > 10)
            ck_assert_int_gt(shared, 0); /* overlapping windows did share an input */
        free(x);
        free(y);
        free(dy);
        free(dx);
        free(ref);
        free(mag);
        free(am);
        free(hits);
        nn_model_free(m);
    }
    gsl_rng_free(r);
}
END_TEST

/* Pooling selects, it does not round: with L = sum r * pool(x) the loss is
 * exact up to double rounding (~1e-14 / 2h) and dx is a float sum of at most
 * ceil(k/s)^2 r's, so the finite difference matches to float precision. */
#define KERNEL_FD_TOL 1e-6

START_TEST(test_grad_input_kernel)
{
    const int b = 3;
    gsl_rng *r = test_rng(3);
    for (size_t ci = 0; ci < N_POOL_CASES; ci++) {
        const struct pool_case *pc = &pool_cases[ci];
        struct nn_model *m = pool_model(pc);
        const struct nn_layer *l = &m->layers[0];
        const size_t nx = (size_t)b * nn_shape_size(l->in), ny = (size_t)b * nn_shape_size(l->out);
        float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y);
        float *rr = malloc(ny * sizeof *rr), *dx = malloc(nx * sizeof *dx);
        int32_t *am0 = malloc(ny * sizeof *am0), *am = malloc(ny * sizeof *am);
        ck_assert(x && y && rr && dx && am0 && am);
        spread_fill(r, x, nx);
        uniform_fill(r, rr, ny, -1.0, 1.0);
        nn_maxpool_forward(l, x, y, am0, b);
        nn_maxpool_backward(l, am0, rr, dx, b);
        for (size_t q = 0; q < nx; q++) {
            const float v = x[q];
            const float vp = (float)((double)v + FD_H), vm = (float)((double)v - FD_H);
            double lp = 0.0, lm = 0.0;
            x[q] = vp;
            nn_maxpool_forward(l, x, y, am, b);
            ck_assert_mem_eq(am, am0, ny * sizeof *am); /* no window changed its pick */
            for (size_t o = 0; o < ny; o++)
                lp += (double)rr[o] * (double)y[o];
            x[q] = vm;
            nn_maxpool_forward(l, x, y, am, b);
            ck_assert_mem_eq(am, am0, ny * sizeof *am);
            for (size_t o = 0; o < ny; o++)
                lm += (double)rr[o] * (double)y[o];
            x[q] = v;
            const double fd = (lp - lm) / ((double)vp - (double)vm);
            ck_assert_msg(fabs((double)dx[q] - fd) <= KERNEL_FD_TOL,
                          "case %zu dx[%zu]: analytic %.9g, finite difference %.9g", ci, q,
                          (double)dx[q], fd);
        }
        free(x);
        free(y);
        free(rr);
        free(dx);
        free(am0);
        free(am);
        nn_model_free(m);
    }
    gsl_rng_free(r);
}
END_TEST

/* ---- gradients through a pool inside a network ------------------------------------ */

/* Whether some window of pooling layer `li` has its largest value positive and
 * tied: a step could then move the pick (ties at 0 are ReLU-off units, which stay
 * exactly 0 under every step, so the pick stays). */
static int pool_tied(const struct fd *f, int li)
{
    const struct nn_layer *l = &f->m->layers[li];
    const float *x = f->ws->act[li];
    const int ih = l->in.h, iw = l->in.w, k = l->kernel, st = l->stride;
    for (int pl = 0; pl < f->b * l->in.c; pl++)
        for (int i = 0; i < l->out.h; i++)
            for (int j = 0; j < l->out.w; j++) {
                float top = -INFINITY;
                int count = 0;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        float v = x[(size_t)pl * ih * iw + (size_t)(i * st + ky) * iw + j * st + kx];
                        if (v > top) {
                            top = v;
                            count = 1;
                        } else if (v == top) {
                            count++;
                        }
                    }
                if (top > 0.0f && count > 1)
                    return 1;
            }
    return 0;
}

/* Draw the first layer (a conv with ReLU) and the input on the lattice of
 * lattice_fill until no window of the pool at layer 1 has a positive tie. Then
 * the pick of every window is unique with a margin: distinct positive values are
 * odd multiples of 1/64 and so >= 1/32 apart, a positive one is >= 1/64 above a
 * ReLU-off 0, and a step moves each by at most FD_H < 1/64. */
static void draw_untied(gsl_rng *r, struct fd *f, float *x, size_t nx)
{
    struct nn_layer *l0 = &f->m->layers[0];
    for (int attempt = 0; attempt < 200; attempt++) {
        lattice_fill(r, l0->weight.data, nn_tensor_size(&l0->weight), 1.0 / 8, 4, 0.0);
        lattice_fill(r, l0->bias.data, nn_tensor_size(&l0->bias), 1.0 / 32, 4, 1.0 / 64);
        lattice_fill(r, x, nx, 1.0 / 4, 4, 0.0);
        const float *logits = NULL;
        ck_assert_int_eq(nn_forward(f->m, &nn_exec_fp32, f->ws, x, f->b, &logits), CIM_OK);
        if (!pool_tied(f, 1))
            return;
    }
    ck_abort_msg("no draw without tied pooling windows in 200 attempts");
}

/* conv 3@3x3 pad 1 relu on 2x5x6 (-> 3x5x6), maxpool 2 (-> 3x2x3, row 4 and
 * nothing else dropped), dense 4: the conv's gradients pass the pool's scatter. */
START_TEST(test_grad_conv_pool_dense)
{
    const int b = 2;
    gsl_rng *r = test_rng(4);
    struct nn_model *m = nn_model_alloc("cpd", (struct nn_shape){2, 5, 6}, 4);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(nn_model_add_conv2d(m, 3, 3, 1, 1, NN_ACT_RELU, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_add_maxpool(m, 2, 2, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_add_dense(m, 4, NN_ACT_NONE, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_validate(m, NULL), CIM_OK);
    struct nn_layer *l2 = &m->layers[2];
    uniform_fill(r, l2->weight.data, nn_tensor_size(&l2->weight), -0.6, 0.6);
    uniform_fill(r, l2->bias.data, nn_tensor_size(&l2->bias), -0.25, 0.25);
    float x[2 * 2 * 5 * 6], rr[2 * 4];
    uniform_fill(r, rr, 8, -1.0, 1.0);
    struct fd f;
    fd_init(&f, m, x, b, rr, NULL);
    draw_untied(r, &f, x, sizeof x / sizeof x[0]);
    fd_check_params(&f);
    f.r = NULL;
    const uint8_t y[2] = {3, 0};
    f.y = y;
    fd_check_params(&f);
    fd_release(&f);
    nn_model_free(m);
    gsl_rng_free(r);
}
END_TEST

/* conv 2@3x3 pad 1 relu on 1x7x7, maxpool 3 stride 2 (overlapping, -> 2x3x3),
 * conv 2@3x3 pad 1, dense 3: the pool's input gradient sums overlapping windows
 * and feeds the first conv; the second conv's gradients come through the dense. */
START_TEST(test_grad_conv_pool_conv)
{
    const int b = 2;
    gsl_rng *r = test_rng(5);
    struct nn_model *m = nn_model_alloc("cpc", (struct nn_shape){1, 7, 7}, 3);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(nn_model_add_conv2d(m, 2, 3, 1, 1, NN_ACT_RELU, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_add_maxpool(m, 3, 2, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_add_conv2d(m, 2, 3, 1, 1, NN_ACT_NONE, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_add_dense(m, 3, NN_ACT_NONE, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_validate(m, NULL), CIM_OK);
    for (int i = 2; i < 4; i++) {
        struct nn_layer *l = &m->layers[i];
        uniform_fill(r, l->weight.data, nn_tensor_size(&l->weight), -0.6, 0.6);
        uniform_fill(r, l->bias.data, nn_tensor_size(&l->bias), -0.25, 0.25);
    }
    float x[2 * 49], rr[2 * 3];
    uniform_fill(r, rr, 6, -1.0, 1.0);
    struct fd f;
    fd_init(&f, m, x, b, rr, NULL);
    draw_untied(r, &f, x, sizeof x / sizeof x[0]);
    fd_check_params(&f);
    f.r = NULL;
    const uint8_t y[2] = {1, 2};
    f.y = y;
    fd_check_params(&f);
    fd_release(&f);
    nn_model_free(m);
    gsl_rng_free(r);
}
END_TEST

/* A pool as the first layer: the backward pass has no input gradient to make
 * there, and the dense layer after it still gets its gradients. */
START_TEST(test_grad_pool_first)
{
    const int b = 3;
    gsl_rng *r = test_rng(6);
    struct nn_model *m = nn_model_alloc("pd", (struct nn_shape){2, 5, 7}, 3);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(nn_model_add_maxpool(m, 3, 2, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_add_dense(m, 3, NN_ACT_NONE, NULL), CIM_OK);
    struct nn_layer *l1 = &m->layers[1];
    uniform_fill(r, l1->weight.data, nn_tensor_size(&l1->weight), -0.6, 0.6);
    uniform_fill(r, l1->bias.data, nn_tensor_size(&l1->bias), -0.25, 0.25);
    float x[3 * 70], rr[3 * 3];
    spread_fill(r, x, sizeof x / sizeof x[0]);
    uniform_fill(r, rr, 9, -1.0, 1.0);
    struct fd f;
    fd_init(&f, m, x, b, rr, NULL);
    ck_assert_ptr_nonnull(f.ws->argmax[0]);
    ck_assert_ptr_null(f.ws->dweight[0]);
    fd_check_params(&f);
    fd_release(&f);
    nn_model_free(m);
    gsl_rng_free(r);
}
END_TEST

static Suite *nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("maxpool");
    tcase_add_test(tc, test_forward);
    tcase_add_test(tc, test_ties);
    tcase_add_test(tc, test_backward_scatter);
    tcase_add_test(tc, test_grad_input_kernel);
    tcase_add_test(tc, test_grad_conv_pool_dense);
    tcase_add_test(tc, test_grad_conv_pool_conv);
    tcase_add_test(tc, test_grad_pool_first);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(nn_suite)
