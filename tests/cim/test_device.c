/*
 * test_device.c: crossbar cells (cim/device.h), the ADC (cim/adc.h) and the
 * counter-based draws (cim/noise.h): slicing reconstructs every code, the
 * conductance of an ideal cell, programming noise, drift and fault statistics
 * within stated tolerances, the ADC transfer function at its edges, and the
 * lossless ADC bit count.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "cim/adc.h"
#include "cim/device.h"
#include "cim/noise.h"
#include "cim/xbar.h"
#include "quant/quantizer.h"
#include "testutil.h"

/* Cells drawn per statistical check. */
#define N_CELLS 200000
/* Statistical tolerances: 5 standard errors of the estimate, so a correct
 * model fails a check about once in 1.7 million runs (two-sided normal tail;
 * the draws are seeded, so a run that passes always passes). Standard errors
 * over N draws of deviation s: a sample mean s / sqrt(N); a sample variance
 * s^2 sqrt(2 / N); a proportion p sqrt(p (1 - p) / N). With N = 200,000 the
 * variance checks resolve 1.6% of s^2, far below a wrong unit or a factor 2. */
#define N_SE 5.0

/* ---- slicing --------------------------------------------------------------------- */

START_TEST(test_slices_reconstruct)
{
    const int cells[] = {1, 2, 4, 8};
    for (int wb = 2; wb <= 8; wb++) {
        const int qmax = quant_qmax_signed(wb);
        for (int ci = 0; ci < 4; ci++) {
            const int cb = cells[ci];
            for (int q = -qmax; q <= qmax; q++) {
                int64_t pos = 0, neg = 0, off = 0;
                for (int j = 0; j * cb < 16; j++) {
                    const int lp = cim_device_slice_level(q, wb, cb, j, 1);
                    const int ln = cim_device_slice_level(q, wb, cb, j, -1);
                    const int lo = cim_device_slice_level(q, wb, cb, j, 0);
                    ck_assert(lp >= 0 && lp < (1 << cb) && ln >= 0 && ln < (1 << cb));
                    ck_assert(lo >= 0 && lo < (1 << cb));
                    ck_assert_msg(lp == 0 || ln == 0, "q %d: both columns of a pair hold it", q);
                    pos += (int64_t)lp << (j * cb);
                    neg += (int64_t)ln << (j * cb);
                    off += (int64_t)lo << (j * cb);
                }
                ck_assert_int_eq(pos - neg, q);
                ck_assert_int_eq(off, q + qmax);
            }
        }
    }
}
END_TEST

/* ---- conductances ------------------------------------------------------------------ */

START_TEST(test_ideal_cell)
{
    struct cim_xbar_config c = cim_xbar_config_default();
    c.on_off = 100.0;
    double g0;
    /* level 2 of 3: Gmin + 2/3 (Gmax - Gmin) = 0.01 + 0.66 */
    ck_assert_double_eq_tol(cim_device_program(&c, 0, 0, 0, 2, &g0), 0.01 + 2.0 / 3.0 * 0.99,
                            1e-15);
    ck_assert_double_eq(cim_device_program(&c, 0, 0, 0, 0, &g0), 0.01);
    ck_assert_double_eq(cim_device_program(&c, 0, 0, 0, 3, &g0), 1.0);
    c.on_off = INFINITY;
    ck_assert_double_eq(cim_device_program(&c, 0, 0, 0, 0, &g0), 0.0);
}
END_TEST

/* Additive programming noise: G - G_ideal ~ N(0, s^2) (level 1 of 2-bit cells,
 * far from the clip at 0). Catches a wrong unit (s in level units would give a
 * deviation 3x larger) or a bias. */
START_TEST(test_prog_noise_additive)
{
    struct cim_xbar_config c = cim_xbar_config_default();
    c.prog_noise = 0.05;
    const double ideal = 0.01 + 1.0 / 3.0 * 0.99;
    double s1 = 0, s2 = 0, g0;
    for (int i = 0; i < N_CELLS; i++) {
        double d = cim_device_program(&c, 3, (uint32_t)i, 7, 1, &g0) - ideal;
        ck_assert_double_eq(g0, d + ideal); /* no drift: G(t0) = G */
        s1 += d;
        s2 += d * d;
    }
    const double mean = s1 / N_CELLS, var = s2 / N_CELLS - mean * mean, s = c.prog_noise;
    ck_assert_msg(fabs(mean) < N_SE * s / sqrt(N_CELLS), "mean %g", mean);
    ck_assert_msg(fabs(var - s * s) < N_SE * s * s * sqrt(2.0 / N_CELLS), "var %g want %g", var,
                  s * s);
}
END_TEST

/* Proportional noise: G / G_ideal - 1 ~ N(0, s^2) at Gmax. */
START_TEST(test_prog_noise_proportional)
{
    struct cim_xbar_config c = cim_xbar_config_default();
    c.prog_noise = 0.1;
    c.noise_model = CIM_NOISE_PROPORTIONAL;
    double s1 = 0, s2 = 0, g0;
    for (int i = 0; i < N_CELLS; i++) {
        double d = cim_device_program(&c, 1, 5, (uint32_t)i, 3, &g0) - 1.0;
        s1 += d;
        s2 += d * d;
    }
    const double mean = s1 / N_CELLS, var = s2 / N_CELLS - mean * mean, s = c.prog_noise;
    ck_assert_msg(fabs(mean) < N_SE * s / sqrt(N_CELLS), "mean %g", mean);
    ck_assert_msg(fabs(var - s * s) < N_SE * s * s * sqrt(2.0 / N_CELLS), "var %g", var);
}
END_TEST

/* Same coordinates, same conductance; another seed or cell, another one. */
START_TEST(test_prog_noise_keyed)
{
    struct cim_xbar_config c = cim_xbar_config_default();
    c.prog_noise = 0.02;
    double g0;
    const double a = cim_device_program(&c, 2, 10, 20, 1, &g0);
    ck_assert_double_eq(a, cim_device_program(&c, 2, 10, 20, 1, &g0));
    ck_assert(a != cim_device_program(&c, 2, 10, 21, 1, &g0));
    c.seed = 2;
    ck_assert(a != cim_device_program(&c, 2, 10, 20, 1, &g0));
}
END_TEST

/* Drift against its formula: with std 0 every cell scales by (t/t0)^-nu; with
 * std > 0, log(G(t) / G(t0)) / -log(t / t0) is nu, whose sample mean and
 * deviation match (nu clipped at 0 is 10 sigma away here). */
START_TEST(test_drift)
{
    struct cim_xbar_config c = cim_xbar_config_default();
    c.drift_t = 3600.0;
    c.drift_t0 = 20.0;
    c.drift_nu_mean = 0.05;
    c.drift_nu_std = 0.0;
    double g0;
    const double g = cim_device_program(&c, 0, 1, 2, 3, &g0);
    ck_assert_double_eq(g0, 1.0);
    ck_assert_double_eq_tol(g, pow(3600.0 / 20.0, -0.05), 1e-15);
    c.drift_nu_std = 0.005;
    double s1 = 0, s2 = 0;
    const double lt = log(3600.0 / 20.0);
    for (int i = 0; i < N_CELLS; i++) {
        const double gi = cim_device_program(&c, 0, (uint32_t)i, 2, 2, &g0);
        const double nu = -log(gi / g0) / lt;
        s1 += nu;
        s2 += nu * nu;
    }
    const double mean = s1 / N_CELLS, var = s2 / N_CELLS - mean * mean, s = c.drift_nu_std;
    ck_assert_msg(fabs(mean - 0.05) < N_SE * s / sqrt(N_CELLS), "nu mean %g", mean);
    ck_assert_msg(fabs(var - s * s) < N_SE * s * s * sqrt(2.0 / N_CELLS), "nu var %g", var);
}
END_TEST

/* Fault rates: the share of cells stuck at Gmin and at Gmax (programmed to
 * level 1 of 2-bit cells, where neither value occurs otherwise). */
START_TEST(test_fault_rates)
{
    struct cim_xbar_config c = cim_xbar_config_default();
    c.saf0 = 0.01;
    c.saf1 = 0.03;
    c.prog_noise = 0.01;
    long n0 = 0, n1 = 0;
    double g0;
    for (int i = 0; i < N_CELLS; i++) {
        const double g = cim_device_program(&c, 4, 9, (uint32_t)i, 1, &g0);
        n0 += g == 0.01;
        n1 += g == 1.0;
    }
    const double p0 = (double)n0 / N_CELLS, p1 = (double)n1 / N_CELLS;
    ck_assert_msg(fabs(p0 - c.saf0) < N_SE * sqrt(c.saf0 * (1 - c.saf0) / N_CELLS), "saf0 %g", p0);
    ck_assert_msg(fabs(p1 - c.saf1) < N_SE * sqrt(c.saf1 * (1 - c.saf1) / N_CELLS), "saf1 %g", p1);
}
END_TEST

/* ---- the ADC ------------------------------------------------------------------------ */

/* Mid-tread steps of 4 level units, 3 bits (codes 0..7): code k covers
 * [4k - 2, 4k + 2); full scale is 7.5 steps = 30 units; negatives give 0. */
START_TEST(test_adc_edges)
{
    const float cur[] = {-5.0f, 0.0f, 1.99f, 2.0f, 5.99f, 6.0f, 25.99f, 26.0f, 29.99f, 30.0f, 1e6f};
    const int32_t want[] = {0, 0, 0, 1, 1, 2, 6, 7, 7, 7, 7};
    const int n = (int)(sizeof cur / sizeof cur[0]);
    double scale[16];
    int64_t read[16];
    int32_t code[16];
    for (int i = 0; i < n; i++) {
        scale[i] = 0.25;
        read[i] = 1;
    }
    ck_assert_uint_eq(cim_adc_convert(cur, NULL, NULL, 0.0, 0.0, scale, read, 7.0, n, code), 2);
    for (int i = 0; i < n; i++)
        ck_assert_msg(code[i] == want[i], "current %g: code %d, want %d", (double)cur[i], code[i],
                      want[i]);
    /* the leakage shifts every column alike; an unread column's clip is not counted */
    read[n - 1] = 0;
    ck_assert_uint_eq(cim_adc_convert(cur, NULL, NULL, 0.5, 0.0, scale, read, 7.0, n, code), 2);
    ck_assert_int_eq(code[3], 1); /* 2.5 */
    ck_assert_int_eq(code[5], 2); /* 6.5 */
    ck_assert_int_eq(code[8], 7); /* 30.49: clipped */
}
END_TEST

/* Noise on the ADC input: sd z added before the gain. */
START_TEST(test_adc_noise)
{
    const float cur[2] = {10.0f, 10.0f}, z[2] = {1.0f, -2.0f}, var[2] = {4.0f, 1.0f};
    double scale[2] = {1.0, 1.0};
    int64_t read[2] = {1, 1};
    int32_t code[2];
    cim_adc_convert(cur, z, NULL, 0.0, 0.75, scale, read, 255.0, 2, code);
    ck_assert_int_eq(code[0], 11); /* 10.75 */
    ck_assert_int_eq(code[1], 9);  /* 8.5 rounds up */
    cim_adc_convert(cur, z, var, 0.0, 0.5, scale, read, 255.0, 2, code);
    ck_assert_int_eq(code[0], 11); /* 10 + 0.5 * 2 * 1 */
    ck_assert_int_eq(code[1], 9);  /* 10 - 0.5 * 1 * 2 */
}
END_TEST

START_TEST(test_adc_lossless_bits)
{
    /* ceil(log2(R (2^dac - 1) (2^cell - 1) + 1)) without leakage */
    ck_assert_int_eq(cim_xbar_adc_bits_lossless(128, 1, 2, INFINITY), 9);  /* 384 */
    ck_assert_int_eq(cim_xbar_adc_bits_lossless(128, 1, 1, INFINITY), 8);  /* 128 */
    ck_assert_int_eq(cim_xbar_adc_bits_lossless(64, 1, 1, INFINITY), 7);   /* 64 */
    ck_assert_int_eq(cim_xbar_adc_bits_lossless(127, 1, 1, INFINITY), 7);  /* 127 */
    ck_assert_int_eq(cim_xbar_adc_bits_lossless(256, 8, 8, INFINITY), 24); /* 16,646,400 */
    ck_assert_int_eq(cim_xbar_adc_bits_lossless(128, 4, 4, INFINITY), 15); /* 28,800 */
    /* leakage of Gmin = Gmax / 100: 256 255 (255 + 255/99) = 16,814,545 > 2^24 - 1 */
    ck_assert_int_eq(cim_xbar_adc_bits_lossless(256, 8, 8, 100.0), 25);
    ck_assert_int_eq(cim_xbar_adc_bits_lossless(128, 1, 2, 100.0), 9); /* 387.9 */
}
END_TEST

/* ---- draws ---------------------------------------------------------------------------- */

/* Normal draws: mean, variance and the fourth moment (3 for a Gaussian; a
 * uniform would give 1.8) over 2^20 draws from 256 counters; the same counter
 * gives the same draws, another counter others. */
START_TEST(test_noise_normal)
{
    enum { N = 4096, CALLS = 256 };
    static float z[N], z2[N];
    const struct cim_noise_key key = cim_noise_key(2385, CIM_NOISE_READ);
    double s1 = 0, s2 = 0, s4 = 0;
    for (uint32_t k = 0; k < CALLS; k++) {
        cim_noise_normal(key, (uint32_t[3]){k, 1, 2}, z, N);
        for (int i = 0; i < N; i++) {
            const double v = z[i];
            s1 += v;
            s2 += v * v;
            s4 += v * v * v * v;
        }
    }
    const double n = (double)N * CALLS, mean = s1 / n, var = s2 / n - mean * mean;
    ck_assert_msg(fabs(mean) < N_SE / sqrt(n), "mean %g", mean);
    ck_assert_msg(fabs(var - 1.0) < N_SE * sqrt(2.0 / n), "variance %g", var);
    /* the fourth moment's standard error is sqrt(96 / n) for a Gaussian */
    ck_assert_msg(fabs(s4 / n - 3.0) < N_SE * sqrt(96.0 / n), "fourth moment %g", s4 / n);
    cim_noise_normal(key, (uint32_t[3]){7, 1, 2}, z, N);
    cim_noise_normal(key, (uint32_t[3]){7, 1, 2}, z2, N);
    for (int i = 0; i < N; i++)
        ck_assert(z[i] == z2[i]);
    cim_noise_normal(key, (uint32_t[3]){7, 1, 3}, z2, N);
    int same = 0;
    for (int i = 0; i < N; i++)
        same += z[i] == z2[i];
    ck_assert_int_lt(same, 4);
    /* the pairs of a block are independent: correlation of z[i] and z[i + 1] */
    double c = 0;
    for (int i = 0; i + 1 < N; i += 2)
        c += (double)z[i] * (double)z[i + 1];
    ck_assert_msg(fabs(c / (N / 2)) < N_SE / sqrt(N / 2), "lag-1 correlation %g", c / (N / 2));
}
END_TEST

static Suite *cim_suite(void)
{
    Suite *s = suite_create("cim");
    TCase *t = tcase_create("device");
    tcase_add_test(t, test_slices_reconstruct);
    tcase_add_test(t, test_ideal_cell);
    tcase_add_test(t, test_prog_noise_additive);
    tcase_add_test(t, test_prog_noise_proportional);
    tcase_add_test(t, test_prog_noise_keyed);
    tcase_add_test(t, test_drift);
    tcase_add_test(t, test_fault_rates);
    tcase_set_timeout(t, 60);
    suite_add_tcase(s, t);
    t = tcase_create("adc");
    tcase_add_test(t, test_adc_edges);
    tcase_add_test(t, test_adc_noise);
    tcase_add_test(t, test_adc_lossless_bits);
    suite_add_tcase(s, t);
    t = tcase_create("noise");
    tcase_add_test(t, test_noise_normal);
    tcase_set_timeout(t, 60);
    suite_add_tcase(s, t);
    return s;
}

CIM_TEST_MAIN(cim_suite)
