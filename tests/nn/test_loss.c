/*
 * test_loss.c: softmax cross-entropy (nn/loss.c): values worked out by hand,
 * uniform logits, extreme logits, the gradient's rows summing to zero, and the
 * gradient against central finite differences.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <gsl/gsl_rng.h>

#include "base/rng.h"
#include "nn/loss.h"
#include "testutil.h"

/* Logits are float32: 2.385 is stored as 2.38499999046, which moves a loss by
 * |dL/dz| * 9.5e-9 <= 1e-8; the loss itself is computed in double. */
#define HAND_TOL 1e-8
/* The gradient is rounded to float32 once: within FLT_EPSILON of its value. */
#define GRAD_REL_TOL ((double)FLT_EPSILON)
/* With every logit equal, sum = C exactly and the loss is log(C) up to a few
 * double roundings at the magnitude of the logits (<= 4) and of the mean. */
#define UNIFORM_TOL 1e-14
/* A row of C float gradients, each within FLT_EPSILON |d| of (p - onehot)/b and
 * sum |p - onehot| <= 2: the row sums to 0 within 2 FLT_EPSILON / b. */
#define ROWSUM_TOL (2.0 * (double)FLT_EPSILON)
/* Finite-difference step on a logit and tolerance: the truncation error of the
 * central difference is h^2/6 max|f'''| < 2e-8 (the third derivative of
 * log-sum-exp is below 0.1), the loss is a double so its rounding adds ~1e-13,
 * and the analytic gradient is a float (relative 6e-8, |g| <= 1). */
#define FD_H 1e-3
#define FD_TOL 1e-7

#define SEED 2385u

/* d within float rounding of `expect`. */
#define ck_assert_grad(d, expect)                                                          \
    ck_assert_msg(fabs((double)(d) - (expect)) <= GRAD_REL_TOL * fabs(expect) + 1e-30,     \
                  "gradient %.9g, expected %.9g", (double)(d), (double)(expect))

/* ---- hand values ----------------------------------------------------------------- */

START_TEST(test_hand_values)
{
    /* Row 0, logits [2.385, -1, 0.5]:
     *   exp: e^2.385 = 10.859062664920515, e^-1 = 0.36787944117144233,
     *        e^0.5 = 1.6487212707001282; sum 12.875663376792087
     *   log-sum-exp = ln 12.875663376792087 = 2.5553389696334987
     *   loss(label 0) = 2.5553389696334987 - 2.385 = 0.17033896963349893
     *   loss(label 1) = 2.5553389696334987 + 1     = 3.5553389696334987
     *   loss(label 2) = 2.5553389696334987 - 0.5   = 2.0553389696334987
     *   softmax = exp / sum = [0.8433788883059478, 0.028571688339921315,
     *                          0.1280494233541309] */
    const float z0[3] = {2.385f, -1.0f, 0.5f};
    const double p0[3] = {0.8433788883059478, 0.028571688339921315, 0.1280494233541309};
    const double loss0[3] = {0.17033896963349893, 3.5553389696334987, 2.0553389696334987};
    for (uint8_t label = 0; label < 3; label++) {
        float d[3];
        double loss = nn_softmax_xent(z0, &label, 1, 3, d);
        ck_assert_double_eq_tol(loss, loss0[label], HAND_TOL);
        for (int c = 0; c < 3; c++)
            ck_assert_grad(d[c], p0[c] - (c == label ? 1.0 : 0.0));
        ck_assert_double_eq_tol(nn_softmax_xent(z0, &label, 1, 3, NULL), loss0[label], HAND_TOL);
    }

    /* A batch of two; row 1, logits [-0.75, 3.125, 1.5], label 1 (the maximum):
     *   exp(z - 3.125): e^-3.875 = 0.020754337873699742, 1, e^-1.625 = 0.19691167520419406;
     *   sum 1.2176660130778938, ln = 0.1969359223898086 = loss(label 1)
     *   softmax = [0.01704435998935292, 0.821243254931868, 0.16171238507877914]
     * mean loss = (0.17033896963349893 + 0.1969359223898086) / 2 = 0.18363744601165376,
     * and each gradient row is (softmax - onehot) / 2. */
    const float z[6] = {2.385f, -1.0f, 0.5f, -0.75f, 3.125f, 1.5f};
    const uint8_t y[2] = {0, 1};
    const double p1[3] = {0.01704435998935292, 0.821243254931868, 0.16171238507877914};
    float d[6];
    ck_assert_double_eq_tol(nn_softmax_xent(z, y, 2, 3, d), 0.18363744601165376, HAND_TOL);
    for (int c = 0; c < 3; c++) {
        ck_assert_grad(d[c], (p0[c] - (c == 0 ? 1.0 : 0.0)) / 2.0);
        ck_assert_grad(d[3 + c], (p1[c] - (c == 1 ? 1.0 : 0.0)) / 2.0);
    }
}
END_TEST

START_TEST(test_uniform)
{
    const int classes[] = {10, 7, 2, 1};
    const float values[] = {3.7f, -2.385f, 0.0f, 1e6f};
    float z[3 * 10], d[3 * 10];
    for (int ci = 0; ci < 4; ci++) {
        const int cl = classes[ci];
        for (int k = 0; k < 3 * cl; k++)
            z[k] = values[ci];
        const uint8_t y[3] = {0, (uint8_t)(cl - 1), (uint8_t)(cl / 2)};
        double loss = nn_softmax_xent(z, y, 3, cl, d);
        ck_assert_double_eq_tol(loss, log((double)cl), UNIFORM_TOL);
        for (int s = 0; s < 3; s++)
            for (int c = 0; c < cl; c++)
                ck_assert_grad(d[s * cl + c], (1.0 / cl - (c == y[s] ? 1.0 : 0.0)) / 3.0);
    }
}
END_TEST

/* ---- extreme logits ----------------------------------------------------------------- */

struct extreme_case {
    float z[3];
    uint8_t label;
    double loss;  /* exact, or to within EXTREME_REL_TOL */
    double p[3];  /* softmax */
};

/* Loss of the extreme cases: relative to their size (1e30 is 1.00000002e30 in
 * float), and absolute for the small ones (double roundings of log and exp). */
#define EXTREME_REL_TOL 1e-7
#define EXTREME_ABS_TOL 1e-12
/* Their gradients are floats of magnitude <= 1: one rounding, FLT_EPSILON. */
#define EXTREME_GRAD_TOL ((double)FLT_EPSILON)

static const struct extreme_case extreme_cases[] = {
    {{1e30f, -1e30f, 0.0f}, 0, 0.0, {1, 0, 0}},
    {{1e30f, -1e30f, 0.0f}, 1, 2e30, {1, 0, 0}},
    {{1e30f, -1e30f, 0.0f}, 2, 1e30, {1, 0, 0}},
    {{-1e30f, 1e30f, 1e30f}, 1, 0.6931471805599453, {0, 0.5, 0.5}},  /* a tie at the top */
    {{-1e30f, -1e30f, -1e30f}, 2, 1.0986122886681098, {1.0 / 3, 1.0 / 3, 1.0 / 3}},
    {{1e30f, 1e30f, 1e30f}, 0, 1.0986122886681098, {1.0 / 3, 1.0 / 3, 1.0 / 3}},
    {{88.0f, -88.0f, 0.0f}, 1, 176.0, {1, 0, 0}}, /* e^-88 terms are below 1e-38 */
    {{88.0f, 88.0f, -88.0f}, 2, 176.6931471805599453, {0.5, 0.5, 0}},
    {{-88.0f, -88.0f, -88.0f}, 0, 1.0986122886681098, {1.0 / 3, 1.0 / 3, 1.0 / 3}},
    {{1e4f, 0.0f, -1e4f}, 2, 2e4, {1, 0, 0}},
    {{1e4f, 0.0f, -1e4f}, 0, 0.0, {1, 0, 0}},
    {{FLT_MAX, -FLT_MAX, 0.0f}, 1, 2.0 * (double)FLT_MAX, {1, 0, 0}},
};

START_TEST(test_extreme)
{
    for (size_t i = 0; i < sizeof extreme_cases / sizeof extreme_cases[0]; i++) {
        const struct extreme_case *ec = &extreme_cases[i];
        for (int b = 1; b <= 2; b++) {
            /* the row alone, and twice in a batch of two (the mean is the same) */
            float z[6], d[6];
            uint8_t y[2] = {ec->label, ec->label};
            for (int k = 0; k < 6; k++)
                z[k] = ec->z[k % 3];
            double loss = nn_softmax_xent(z, y, b, 3, d);
            ck_assert_msg(isfinite(loss), "case %zu: loss %g", i, loss);
            ck_assert_msg(fabs(loss - ec->loss) <= EXTREME_REL_TOL * ec->loss + EXTREME_ABS_TOL,
                          "case %zu: loss %.17g, expected %.17g", i, loss, ec->loss);
            for (int s = 0; s < b; s++) {
                double row = 0.0;
                for (int c = 0; c < 3; c++) {
                    double g = (double)d[s * 3 + c];
                    ck_assert_msg(isfinite(g), "case %zu: gradient %g", i, g);
                    ck_assert_msg(fabs(g - (ec->p[c] - (c == ec->label)) / b) <= EXTREME_GRAD_TOL,
                                  "case %zu row %d class %d: gradient %.9g, expected %.9g", i, s,
                                  c, g, (ec->p[c] - (c == ec->label)) / b);
                    row += g;
                }
                ck_assert_msg(fabs(row) <= ROWSUM_TOL / b, "case %zu: row sums to %g", i, row);
            }
        }
    }
}
END_TEST

/* ---- gradient ----------------------------------------------------------------------- */

START_TEST(test_rows_sum_to_zero)
{
    enum { B = 5, C = 10 };
    gsl_rng *r = cim_rng_alloc(SEED, cim_rng_stream(CIM_RNG_TEST, 1));
    ck_assert_ptr_nonnull(r);
    float z[B * C], d[B * C];
    uint8_t y[B];
    for (int rep = 0; rep < 20; rep++) {
        const double scale = 0.1 * (rep + 1) * (rep + 1); /* from gentle to peaked */
        for (int k = 0; k < B * C; k++)
            z[k] = (float)(scale * (2.0 * gsl_rng_uniform(r) - 1.0));
        for (int s = 0; s < B; s++)
            y[s] = (uint8_t)gsl_rng_uniform_int(r, C);
        double loss = nn_softmax_xent(z, y, B, C, d);
        ck_assert(loss > 0.0 && isfinite(loss));
        for (int s = 0; s < B; s++) {
            double row = 0.0;
            for (int c = 0; c < C; c++) {
                row += (double)d[s * C + c];
                /* (p - onehot) / b: negative only at the label */
                if (c == y[s])
                    ck_assert(d[s * C + c] <= 0.0f && d[s * C + c] >= -1.0f / B);
                else
                    ck_assert(d[s * C + c] >= 0.0f && d[s * C + c] <= 1.0f / B);
            }
            ck_assert_msg(fabs(row) <= ROWSUM_TOL / B, "rep %d row %d sums to %g", rep, s, row);
        }
    }
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_fd)
{
    enum { B = 4, C = 7 };
    gsl_rng *r = cim_rng_alloc(SEED, cim_rng_stream(CIM_RNG_TEST, 2));
    ck_assert_ptr_nonnull(r);
    float z[B * C], d[B * C];
    const uint8_t y[B] = {0, 6, 3, 3};
    for (int k = 0; k < B * C; k++)
        z[k] = (float)(3.0 * gsl_rng_uniform(r) - 1.5);
    nn_softmax_xent(z, y, B, C, d);
    for (int k = 0; k < B * C; k++) {
        const float v = z[k];
        const float vp = (float)((double)v + FD_H), vm = (float)((double)v - FD_H);
        z[k] = vp;
        double lp = nn_softmax_xent(z, y, B, C, NULL);
        z[k] = vm;
        double lm = nn_softmax_xent(z, y, B, C, NULL);
        z[k] = v;
        double fd = (lp - lm) / ((double)vp - (double)vm);
        ck_assert_msg(fabs((double)d[k] - fd) <= FD_TOL, "logit %d: analytic %.9g, fd %.9g", k,
                      (double)d[k], fd);
    }
    gsl_rng_free(r);
}
END_TEST

static Suite *nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("loss");
    tcase_add_test(tc, test_hand_values);
    tcase_add_test(tc, test_uniform);
    tcase_add_test(tc, test_extreme);
    tcase_add_test(tc, test_rows_sum_to_zero);
    tcase_add_test(tc, test_fd);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(nn_suite)
