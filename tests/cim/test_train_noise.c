/*
 * test_train_noise.c: the crossbar's noise for noise-aware training
 * (cim/train_noise.h). Each code's effective value has the mean and variance of
 * its cells' clipped Gaussian conductances (computed here from the slicing
 * rules, not from cim/), at 8 bits and in the nested 4 bits that read the top
 * slices of the same cells; without noise the perturbed weights are the
 * fake-quantized ones bit for bit in every scheme; read noise at the
 * accumulators has the variance of the reads it stands for, in either layout.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cim/device.h"
#include "cim/train_noise.h"
#include "nn/quantize.h"
#include "quant/quantizer.h"
#include "testutil.h"

/* Training steps drawn per statistical check. */
#define N_STEPS 1600
/* Statistical tolerance: 5 standard errors of the estimate (a sample mean:
 * sd / sqrt(N); a sample variance: sqrt((m4 - var^2) / N), from the sample's
 * own fourth moment since clipped cells are not Gaussian). 255 codes x 3
 * cases x 2 moments are checked, so a correct model fails about once in
 * 1,100 runs; the draws are seeded, so a run that passes always passes. */
#define N_SE 5.0

/* A one-layer model: dense [out, in], quantized at W8A8 and W4A4, nested. */
static struct nn_model *dense_model(int in, int out, enum quant_scheme sch, int per_channel)
{
    struct nn_model *m = nn_model_alloc("t", (struct nn_shape){in, 1, 1}, out);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(nn_model_add_dense(m, out, NN_ACT_NONE, NULL), CIM_OK);
    struct nn_quant q = {.n_prec = 2, .scheme = sch, .wbits = {8, 4}, .abits = {8, 4},
                         .per_channel = per_channel};
    ck_assert_int_eq(nn_quant_enable(m, &q, NULL), CIM_OK);
    return m;
}

/* ---- one cell, from the definitions (device.h) ---------------------------------- */

/* Mean and variance, in level units above Gmin, of a cell at `level` (2-bit
 * cells, on/off 100) with additive noise sigma clipped at G = 0: for
 * X ~ N(g, sigma^2), E max(X, 0) = g Phi(a) + sigma phi(a) and E max(X, 0)^2 =
 * (g^2 + sigma^2) Phi(a) + g sigma phi(a), a = g / sigma. */
static void cell_moments(int level, double sigma, double *mean, double *var)
{
    const double gmin = 0.01, g = gmin + level / 3.0 * (1.0 - gmin), a = g / sigma;
    const double Phi = 0.5 * erfc(-a / sqrt(2.0)), phi = exp(-0.5 * a * a) / 2.5066282746310002;
    const double e1 = g * Phi + sigma * phi, e2 = (g * g + sigma * sigma) * Phi + g * sigma * phi;
    const double unit = 3.0 / (1.0 - gmin);
    *mean = e1 * unit - gmin * unit;
    *var = (e2 - e1 * e1) * unit * unit;
}

/* The effective code of 8-bit code q read from slices skip .. top - 1 (skip 2,
 * top 4: the nested 4-bit code): four 2-bit slices of |q| in the column of its
 * sign, level 0 in the other. */
static void code_moments(int q, int skip, int top, double sigma, double *mean, double *var)
{
    const int mag = abs(q);
    *mean = *var = 0.0;
    for (int j = skip; j < top; j++) {
        const int l = (mag >> (2 * j)) & 3;
        double mp, vp, mn, vn;
        cell_moments(q > 0 ? l : 0, sigma, &mp, &vp);
        cell_moments(q < 0 ? l : 0, sigma, &mn, &vn);
        const double wj = ldexp(1.0, 2 * (j - skip));
        *mean += wj * (mp - mn);
        *var += wj * wj * (vp + vn);
    }
}

struct moments {
    double s1, s2, s3, s4;
};

static void moments_add(struct moments *mo, double x)
{
    mo->s1 += x;
    mo->s2 += x * x;
    mo->s3 += x * x * x;
    mo->s4 += x * x * x * x;
}

/* Sample mean, variance and fourth central moment. */
static void moments_get(const struct moments *mo, double n, double *mean, double *var,
                        double *m4)
{
    const double m = mo->s1 / n, e2 = mo->s2 / n, e3 = mo->s3 / n, e4 = mo->s4 / n;
    *mean = m;
    *var = e2 - m * m;
    *m4 = e4 - 4.0 * m * e3 + 6.0 * m * m * e2 - 3.0 * m * m * m * m;
}

START_TEST(test_code_moments)
{
    const double sigma = 0.05, s = 0.01;
    struct nn_model *m = dense_model(255, 1, QUANT_SCHEME_NESTED, 0);
    float *w = m->layers[0].weight.data;
    for (int k = 0; k < 255; k++)
        w[k] = (float)(k - 127) * (float)s; /* codes -127 .. 127 */
    m->layers[0].wscale[0].data[0] = (float)s;
    nn_quant_nest_steps(m);
    struct cim_xbar_config cfg = cim_xbar_config_default();
    cfg.prog_noise = sigma;
    cfg.seed = 2385;
    struct cim_train_noise *tn = cim_train_noise_alloc(m, &cfg, NULL);
    ck_assert_ptr_nonnull(tn);
    const struct nn_noise_hook h = cim_train_noise_hook(tn);
    static struct moments mo[3][255]; /* W8, W4, and W8 - 16 W4: the low slices */
    memset(mo, 0, sizeof mo);
    float out[255];
    float eff[2][255];
    for (long step = 0; step < N_STEPS; step++) {
        for (int p = 0; p < 2; p++) {
            ck_assert_int_eq(h.weights(h.ctx, m, step, p, 0, out), CIM_OK);
            for (int k = 0; k < 255; k++) {
                eff[p][k] = out[k] / m->layers[0].wscale[p].data[0];
                moments_add(&mo[p][k], (double)eff[p][k]);
            }
        }
        for (int k = 0; k < 255; k++)
            moments_add(&mo[2][k], (double)eff[0][k] - 16.0 * (double)eff[1][k]);
    }
    /* p 2: what the 8-bit code adds to the 4-bit one's cells, its two low
     * slices; with draws of their own the 4-bit code's variance would be
     * added 256 times over */
    for (int p = 0; p < 3; p++)
        for (int k = 0; k < 255; k++) {
            double mean, var, m4, em, ev;
            moments_get(&mo[p][k], N_STEPS, &mean, &var, &m4);
            code_moments(k - 127, p == 1 ? 2 : 0, p == 2 ? 2 : 4, sigma, &em, &ev);
            ck_assert_msg(fabs(mean - em) <= N_SE * sqrt(ev / N_STEPS),
                          "case %d, code %d: mean %.4f, expected %.4f", p, k - 127, mean, em);
            ck_assert_msg(fabs(var - ev) <= N_SE * sqrt((m4 - var * var) / N_STEPS),
                          "case %d, code %d: variance %.4f, expected %.4f", p, k - 127, var, ev);
        }
    /* the checks see the clipping at G = 0: the level-0 cells of the negative
     * column pull the top code down by several standard errors */
    double em, ev;
    code_moments(127, 0, 4, sigma, &em, &ev);
    ck_assert_msg(127.0 - em > 2.0 * N_SE * sqrt(ev / N_STEPS),
                  "clipping bias %.3f too small to test", 127.0 - em);
    cim_train_noise_free(tn);
    nn_model_free(m);
}
END_TEST

/* ---- no noise: exactly the fake-quantized weights ------------------------------- */

START_TEST(test_exact_without_noise)
{
    static const enum quant_scheme schemes[] = {QUANT_SCHEME_NESTED, QUANT_SCHEME_NESTED_ROUND,
                                                QUANT_SCHEME_INDEPENDENT};
    static const int bits[][2] = {{8, 4}, {6, 3}, {8, 7}};
    const int in = 37, out = 5;
    for (int si = 0; si < 3; si++)
        for (int pc = 0; pc < 2; pc++)
            for (int bi = 0; bi < 3; bi++) {
                struct nn_model *m = dense_model(in, out, schemes[si], pc);
                m->quant.wbits[0] = bits[bi][0];
                m->quant.wbits[1] = bits[bi][1];
                float *w = m->layers[0].weight.data;
                for (int k = 0; k < in * out; k++) /* spread over every code, some clipped */
                    w[k] = (float)sin(2.385 * k) * (1.0f + (float)(k % 3));
                nn_quant_weight_ranges(m, QUANT_RANGE_PERCENTILE, 90.0);
                struct cim_xbar_config cfg = cim_xbar_config_default();
                struct cim_train_noise *tn = cim_train_noise_alloc(m, &cfg, NULL);
                ck_assert_ptr_nonnull(tn);
                const struct nn_noise_hook h = cim_train_noise_hook(tn);
                struct nn_qweights *qw = nn_qweights_alloc(m, 0);
                struct nn_ws *ws = nn_ws_alloc(m, 1, 0);
                ck_assert(qw != NULL && ws != NULL);
                float got[37 * 5];
                for (int p = 0; p < 2; p++) {
                    nn_quant_apply(m, p, qw, ws);
                    memcpy(got, qw->w[0], sizeof got);
                    ck_assert_int_eq(h.weights(h.ctx, m, 3, p, 0, got), CIM_OK);
                    ck_assert_msg(memcmp(got, qw->w[0], sizeof got) == 0,
                                  "scheme %d, per channel %d, W%d/%d, p %d: not the codes", si,
                                  pc, bits[bi][0], bits[bi][1], p);
                }
                nn_ws_free(ws);
                nn_qweights_free(qw);
                cim_train_noise_free(tn);
                nn_model_free(m);
            }
}
END_TEST

/* ---- read noise ----------------------------------------------------------------- */

/* The variance (dot-product units) of one output's read noise for input codes
 * a[0 .. k) of `abits` bits, reading 2-bit weight slices skip .. 3: every read
 * (input bit i, slice j, column of the pair) adds N(0, (s u)^2 sum_r x_ri^2),
 * weighted by 2^i 4^(j - skip) in the shift-add. */
static double read_variance(const int *a, int k, int abits, int skip, double sigma)
{
    const double u = 3.0 / 0.99;
    double v = 0.0;
    for (int i = 0; i < abits; i++)
        for (int j = skip; j < 4; j++)
            for (int r = 0; r < k; r++) {
                const double x = (double)((a[r] >> i) & 1);
                v += 2.0 * ldexp(1.0, 2 * i) * ldexp(1.0, 4 * (j - skip)) * sigma * sigma * u *
                     u * x * x;
            }
    return v;
}

START_TEST(test_read_noise)
{
    enum { K = 40, O = 3 };
    const double sigma = 0.02;
    const float a_step = 0.05f;
    struct nn_model *m = dense_model(K, O, QUANT_SCHEME_NESTED, 1);
    for (int o = 0; o < O; o++)
        m->layers[0].wscale[0].data[o] = 0.01f * (float)(o + 1);
    nn_quant_nest_steps(m);
    struct cim_xbar_config cfg = cim_xbar_config_default();
    cfg.read_noise = sigma;
    struct cim_train_noise *tn = cim_train_noise_alloc(m, &cfg, NULL);
    ck_assert_ptr_nonnull(tn);
    const struct nn_noise_hook h = cim_train_noise_hook(tn);
    int a[2][K];
    float x[2][2 * K], xt[2][2 * K]; /* two vectors: rows, and columns (transposed) */
    for (int r = 0; r < K; r++) {
        a[0][r] = (r * 97 + 13) % 256;
        a[1][r] = a[0][r] >> 4; /* the nested 4-bit input */
        for (int p = 0; p < 2; p++)
            for (int v = 0; v < 2; v++) {
                const float step = ldexpf(a_step, 4 * p);
                x[p][v * K + r] = xt[p][r * 2 + v] = (float)(v == 0 ? a[p][r] : 0) * step;
            }
    }
    for (int p = 0; p < 2; p++) {
        const float step = ldexpf(a_step, 4 * p);
        const double ev = read_variance(a[p], K, p ? 4 : 8, 2 * p, sigma);
        static struct moments mo[O];
        memset(mo, 0, sizeof mo);
        for (long s = 0; s < N_STEPS; s++) {
            float y[2 * O] = {0}, yt[2 * O] = {0};
            ck_assert_int_eq(h.acc(h.ctx, m, s, p, 0, NN_EXEC_ROWS, x[p], step, y, 2, O, K, 0, 1),
                             CIM_OK);
            ck_assert_int_eq(h.acc(h.ctx, m, s, p, 0, NN_EXEC_COLS, xt[p], step, yt, 2, O, K, 0,
                                   1), CIM_OK);
            for (int o = 0; o < O; o++) {
                ck_assert(y[o] == yt[o * 2] && y[O + o] == yt[o * 2 + 1]); /* same draws */
                ck_assert(y[O + o] == 0.0f);                             /* no input, no noise */
                moments_add(&mo[o], (double)y[o] /
                                        ((double)step * (double)m->layers[0].wscale[p].data[o]));
            }
        }
        for (int o = 0; o < O; o++) {
            double mean, var, m4;
            moments_get(&mo[o], N_STEPS, &mean, &var, &m4);
            ck_assert_msg(fabs(mean) <= N_SE * sqrt(ev / N_STEPS), "p %d: mean %g", p, mean);
            ck_assert_msg(fabs(var - ev) <= N_SE * ev * sqrt(2.0 / N_STEPS),
                          "p %d, output %d: variance %g, expected %g", p, o, var, ev);
        }
    }
    cim_train_noise_free(tn);
    nn_model_free(m);
}
END_TEST

START_TEST(test_alloc_errors)
{
    struct nn_model *m = dense_model(4, 2, QUANT_SCHEME_NESTED, 0);
    struct cim_xbar_config cfg = cim_xbar_config_default();
    struct cim_err err = {0};
    cfg.encoding = CIM_ENCODING_OFFSET;
    ck_assert_ptr_null(cim_train_noise_alloc(m, &cfg, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "differential"));
    cfg = cim_xbar_config_default();
    err = (struct cim_err){0}; /* the first message of an err stays */
    cfg.read_noise = 0.01;
    cfg.noise_model = CIM_NOISE_PROPORTIONAL;
    ck_assert_ptr_null(cim_train_noise_alloc(m, &cfg, &err));
    ck_assert_msg(strstr(err.msg, "additive") != NULL, "%s", err.msg);
    cfg = cim_xbar_config_default();
    err = (struct cim_err){0};
    cfg.prog_noise = -1.0;
    ck_assert_ptr_null(cim_train_noise_alloc(m, &cfg, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "--prog-noise"));
    m->quant.n_prec = 0;
    cfg = cim_xbar_config_default();
    err = (struct cim_err){0};
    ck_assert_ptr_null(cim_train_noise_alloc(m, &cfg, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "not quantized"));
    m->quant.n_prec = 2;
    cim_train_noise_free(NULL);
    nn_model_free(m);
}
END_TEST

static Suite *train_noise_suite(void)
{
    Suite *s = suite_create("cim");
    TCase *tc = tcase_create("train_noise");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_code_moments);
    tcase_add_test(tc, test_exact_without_noise);
    tcase_add_test(tc, test_read_noise);
    tcase_add_test(tc, test_alloc_errors);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(train_noise_suite)
