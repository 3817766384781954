/*
 * test_xbar.c: the crossbar model (cim/xbar.h) on the shipped networks.
 *
 * The ideal crossbar (no noise, lossless ADC and periphery) must give exactly
 * the integer digital logits, every logit of every image, for W8A8 and W4A4,
 * both encodings, cell bits 1/2/4 (and 8), DAC bits 1/2/4/8, arrays of 64, 128
 * and 256 (lenet5's fan-ins 25, 150, 400, 120, 84 and mlp's 784 are not
 * multiples of them; neither are its output counts of the column tiles). Then:
 * nested 4-bit inference reuses the 8-bit cells; noise is keyed by sample, so
 * batching and threads do not change a bit, read noise differs between reads
 * and programming noise does not; the periphery rounds as quant/ says; ADC
 * calibration by max never clips its own calibration images; the statistics
 * count what the mapping implies.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cim/xbar.h"
#include "data/dataset.h"
#include "data/model_file.h"
#include "nn/forward.h"
#include "nn/integer.h"
#include "nn/quantize.h"
#include "quant/round.h"
#include "testutil.h"

#define N_IMG 64   /* test images per exactness configuration: two chunks */
#define N_CAL 256  /* training images for calibrations */

static struct data_set train_set, test_set;
static float *x_test, *x_cal;

static void data_setup(void)
{
    struct cim_err err = {0};
    data_init();
    ck_assert_msg(data_set_load(NULL, DATA_SPLIT_TEST, &test_set, &err) == CIM_OK,
                  "Fashion-MNIST (Debian dataset-fashion-mnist) is needed: %s", err.msg);
    ck_assert_msg(data_set_load(NULL, DATA_SPLIT_TRAIN, &train_set, &err) == CIM_OK, "%s",
                  err.msg);
    x_test = malloc((size_t)N_IMG * 784 * sizeof *x_test);
    x_cal = malloc((size_t)N_CAL * 784 * sizeof *x_cal);
    ck_assert(x_test != NULL && x_cal != NULL);
    data_set_range(&test_set, 0, N_IMG, x_test, NULL);
    data_set_range(&train_set, 0, N_CAL, x_cal, NULL);
}

static void data_teardown(void)
{
    free(x_test);
    free(x_cal);
    data_set_release(&test_set);
    data_set_release(&train_set);
}

/* A shipped model: data/weights/NAME.h5. */
static struct nn_model *shipped(const char *name)
{
    char path[1024];
    const char *src = getenv("CIM_SRCDIR");
    ck_assert_msg(src != NULL && *src != '\0', "CIM_SRCDIR is not set (run through meson test)");
    snprintf(path, sizeof path, "%s/data/weights/%s.h5", src, name);
    struct cim_err err = {0};
    struct nn_model *m = data_model_load(path, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    return m;
}

/* lenet5's FP32 weights quantized with the independent scheme (max ranges,
 * per tensor, activations calibrated on N_CAL training images). */
static struct nn_model *independent(void)
{
    struct nn_model *m = shipped("lenet5-fmnist-fp32");
    struct cim_err err = {0};
    struct nn_quant q = {.n_prec = 2, .scheme = QUANT_SCHEME_INDEPENDENT, .wbits = {8, 4},
                         .abits = {8, 4}, .wrange = "max", .arange = "max", .percentile = 99.99};
    ck_assert_msg(nn_quant_enable(m, &q, &err) == CIM_OK, "%s", err.msg);
    nn_quant_weight_ranges(m, QUANT_RANGE_MAX, 100.0);
    ck_assert_msg(nn_quant_calibrate(m, x_cal, N_CAL, QUANT_RANGE_MAX, 100.0, &err) == CIM_OK,
                  "%s", err.msg);
    return m;
}

/* Logits of the first n test images on the integer path. */
static void run_int(const struct nn_model *m, int p, const float *x, int n, float *logits)
{
    struct cim_err err = {0};
    struct nn_int_model *im = nn_int_model_alloc(m, p, &err);
    ck_assert_msg(im != NULL, "%s", err.msg);
    struct nn_int_ws *ws = nn_int_ws_alloc(im, n);
    ck_assert_ptr_nonnull(ws);
    ck_assert_int_eq(nn_int_forward(im, ws, x, n, logits), CIM_OK);
    nn_int_ws_free(ws);
    nn_int_model_free(im);
}

static struct cim_xbar *xbar(const struct nn_model *m, int p, const struct cim_xbar_config *c)
{
    struct cim_err err = {0};
    struct cim_xbar *xb = cim_xbar_alloc(m, p, c, &err);
    ck_assert_msg(xb != NULL, "%s", err.msg);
    return xb;
}

static void run_xbar(struct cim_xbar *xb, const float *x, int n, long first, float *logits)
{
    struct nn_int_exec ex = cim_xbar_exec(xb);
    ck_assert_int_eq(nn_int_forward_exec(cim_xbar_int_model(xb), &ex, x, n, first, logits),
                     CIM_OK);
}

/* ---- exactness ------------------------------------------------------------------ */

/* Every configuration of the grid on model m at precision p: logits equal the
 * integer path's bit for bit; every layer's error statistic is 0. */
static void exact_grid(const struct nn_model *m, int p, const int *arrays, int n_arrays,
                       const int *cells, int n_cells, const int *dacs, int n_dacs, int n)
{
    const int classes = m->num_classes;
    float *want = malloc((size_t)n * classes * sizeof *want);
    float *got = malloc((size_t)n * classes * sizeof *got);
    ck_assert(want != NULL && got != NULL);
    run_int(m, p, x_test, n, want);
    for (int e = 0; e < 2; e++)
        for (int ai = 0; ai < n_arrays; ai++)
            for (int ci = 0; ci < n_cells; ci++)
                for (int di = 0; di < n_dacs; di++) {
                    struct cim_xbar_config c = cim_xbar_config_default();
                    c.encoding = (enum cim_encoding)e;
                    c.rows = c.cols = arrays[ai];
                    c.cell_bits = cells[ci];
                    c.dac_bits = dacs[di];
                    struct cim_xbar *xb = xbar(m, p, &c);
                    run_xbar(xb, x_test, n, 0, got);
                    for (int i = 0; i < n * classes; i++)
                        ck_assert_msg(got[i] == want[i],
                                      "%s p%d %s array %d cell %d dac %d: logit %d is %.9g, the "
                                      "integer path gives %.9g",
                                      m->arch, p, cim_encoding_name(c.encoding), c.rows,
                                      c.cell_bits, c.dac_bits, i, (double)got[i],
                                      (double)want[i]);
                    for (int l = 0; l < m->n_layers; l++) {
                        struct cim_xbar_stats st;
                        ck_assert_int_eq(cim_xbar_stats(xb, l, &st), CIM_OK);
                        ck_assert(st.err_sq == 0.0 && st.clipped == 0);
                    }
                    cim_xbar_free(xb);
                }
    free(want);
    free(got);
}

static const int ARRAYS[] = {64, 128, 256};
static const int CELLS[] = {1, 2, 4};
static const int DACS[] = {1, 2, 4, 8};

START_TEST(test_exact_lenet5)
{
    struct nn_model *m = shipped("lenet5-fmnist");
    exact_grid(m, _i, ARRAYS, 3, CELLS, 3, DACS, 4, N_IMG);
    const int cell8[] = {8};
    exact_grid(m, _i, ARRAYS + 1, 1, cell8, 1, DACS, 1, N_IMG);
    nn_model_free(m);
}
END_TEST

START_TEST(test_exact_mlp)
{
    struct nn_model *m = shipped("mlp-fmnist");
    exact_grid(m, _i, ARRAYS, 3, CELLS + 1, 1, DACS, 2, N_IMG);
    nn_model_free(m);
}
END_TEST

/* The independent scheme programs the 4-bit codes themselves. */
START_TEST(test_exact_independent)
{
    struct nn_model *m = independent();
    exact_grid(m, 1, ARRAYS + 1, 1, CELLS, 3, DACS, 2, N_IMG);
    struct cim_xbar_config c = cim_xbar_config_default();
    struct cim_xbar *xb = xbar(m, 1, &c);
    ck_assert_int_eq(cim_xbar_reuses(xb), 0);
    cim_xbar_free(xb);
    nn_model_free(m);
}
END_TEST

/* ---- precision switching -------------------------------------------------------------- */

/* Nested 4-bit inference runs on the very cells of the 8-bit arrays: same
 * conductances, noise draws included. */
START_TEST(test_nested_reuse)
{
    struct nn_model *m = shipped("lenet5-fmnist");
    const int cells[] = {1, 2, 4};
    for (int ci = 0; ci < 3; ci++) {
        struct cim_xbar_config c = cim_xbar_config_default();
        c.cell_bits = cells[ci];
        c.prog_noise = 0.02;
        c.saf0 = 0.001;
        struct cim_xbar *hi = xbar(m, 0, &c), *lo = xbar(m, 1, &c);
        ck_assert_int_eq(cim_xbar_reuses(lo), 1);
        for (int l = 0; l < m->n_layers; l++) {
            const float *gh, *gl;
            int kh, nh, kl, nl;
            if (cim_xbar_cells(hi, l, &gh, &kh, &nh) != CIM_OK)
                continue;
            ck_assert_int_eq(cim_xbar_cells(lo, l, &gl, &kl, &nl), CIM_OK);
            ck_assert(kh == kl && nh == nl);
            ck_assert(memcmp(gh, gl, (size_t)kh * nh * sizeof *gh) == 0);
        }
        struct cim_xbar_stats sh, sl;
        cim_xbar_stats(hi, 0, &sh);
        cim_xbar_stats(lo, 0, &sl);
        ck_assert_int_eq(sh.w_slices - sl.w_slices, 4 / cells[ci]); /* 4 bits skipped */
        cim_xbar_free(hi);
        cim_xbar_free(lo);
    }
    /* offset encoding cannot skip slices (q + Q is not sign-magnitude) */
    struct cim_xbar_config c = cim_xbar_config_default();
    c.encoding = CIM_ENCODING_OFFSET;
    struct cim_xbar *xb = xbar(m, 1, &c);
    ck_assert_int_eq(cim_xbar_reuses(xb), 0);
    cim_xbar_free(xb);
    nn_model_free(m);
}
END_TEST

/* ---- noise is keyed by sample ---------------------------------------------------------- */

START_TEST(test_noise_keys)
{
    struct nn_model *m = shipped("lenet5-fmnist");
    struct cim_xbar_config c = cim_xbar_config_default();
    c.prog_noise = 0.02;
    c.read_noise = 0.02;
    c.adc_bits = 7;
    enum { N = 40, K = 10 };
    float all[N * K], one[K], again[N * K];
    struct cim_xbar *xb = xbar(m, 0, &c);
    /* one batch on 2 threads, then image 33 alone, then 1 thread in batches of 8 */
    nn_threads_set(2);
    run_xbar(xb, x_test, N, 100, all);
    run_xbar(xb, x_test + 33 * 784, 1, 133, one);
    ck_assert(memcmp(one, all + 33 * K, sizeof one) == 0);
    nn_threads_set(1);
    for (int f = 0; f < N; f += 8)
        run_xbar(xb, x_test + (size_t)f * 784, 8, 100 + f, again + f * K);
    ck_assert(memcmp(again, all, sizeof again) == 0);
    nn_threads_set(0);
    /* read noise is fresh on every read: the same image as another sample */
    run_xbar(xb, x_test + 33 * 784, 1, 134, one);
    ck_assert(memcmp(one, all + 33 * K, sizeof one) != 0);
    cim_xbar_free(xb);
    /* programming noise alone is fixed: any sample index gives the same logits,
     * which differ from the ideal crossbar's */
    c.read_noise = 0.0;
    xb = xbar(m, 0, &c);
    run_xbar(xb, x_test, 1, 0, one);
    run_xbar(xb, x_test, 1, 999, all);
    ck_assert(memcmp(one, all, sizeof one) == 0);
    run_int(m, 0, x_test, 1, again);
    ck_assert(memcmp(one, again, sizeof one) != 0);
    cim_xbar_free(xb);
    /* the same seed programs the same cells; another seed other ones */
    struct cim_xbar *a = xbar(m, 0, &c), *b = xbar(m, 0, &c);
    c.seed = 2;
    struct cim_xbar *d = xbar(m, 0, &c);
    const float *ga, *gb, *gd;
    int k, n;
    cim_xbar_cells(a, 0, &ga, &k, &n);
    cim_xbar_cells(b, 0, &gb, &k, &n);
    cim_xbar_cells(d, 0, &gd, &k, &n);
    ck_assert(memcmp(ga, gb, (size_t)k * n * sizeof *ga) == 0);
    ck_assert(memcmp(ga, gd, (size_t)k * n * sizeof *ga) != 0);
    cim_xbar_free(a);
    cim_xbar_free(b);
    cim_xbar_free(d);
    nn_model_free(m);
}
END_TEST

/* ---- periphery, ADC, statistics ---------------------------------------------------------- */

/* With a narrow periphery every output is quant_requantize() of the exact dot
 * product (ideal ADC), times 2^shift: driven through the backend directly on
 * random codes for layer 4 (dense 400 -> 120) of lenet5. */
START_TEST(test_periph_rounding)
{
    struct nn_model *m = shipped("lenet5-fmnist");
    const enum quant_round modes[] = {QUANT_ROUND_FLOOR, QUANT_ROUND_HALF_UP,
                                      QUANT_ROUND_HALF_EVEN};
    enum { V = 16 };
    uint16_t a[V * 400];
    int64_t acc[V * 120];
    uint32_t s = 2385;
    for (int i = 0; i < V * 400; i++) {
        s = s * 1664525u + 1013904223u;
        a[i] = (uint16_t)(s >> 24); /* 0..255 */
    }
    for (int r = 0; r < 3; r++)
        for (int sat = 0; sat < 2; sat++) {
            struct cim_xbar_config c = cim_xbar_config_default();
            c.periph_bits = 14;
            c.round = modes[r];
            c.overflow = sat ? QUANT_OVERFLOW_SATURATE : QUANT_OVERFLOW_WRAP;
            struct cim_xbar *xb = xbar(m, 0, &c);
            struct nn_int_exec ex = cim_xbar_exec(xb);
            int o, k;
            nn_int_model_shape(cim_xbar_int_model(xb), 4, &o, &k);
            ck_assert(o == 120 && k == 400);
            ck_assert_int_eq(ex.matmul(ex.ctx, 4, a, acc, V, o, k, 0, 1), CIM_OK);
            struct cim_xbar_stats st;
            cim_xbar_stats(xb, 4, &st);
            ck_assert_int_gt(st.periph_shift, 0);
            const int32_t *w = nn_int_model_codes(cim_xbar_int_model(xb), 4);
            for (int v = 0; v < V; v++)
                for (int j = 0; j < o; j++) {
                    int64_t ex_dot = 0;
                    for (int q = 0; q < k; q++)
                        ex_dot += (int64_t)w[j * k + q] * a[v * k + q];
                    const int64_t want = quant_requantize(ex_dot, st.periph_shift, 14, c.round,
                                                          c.overflow) *
                                         (INT64_C(1) << st.periph_shift);
                    ck_assert_msg(acc[v * o + j] == want, "%s: output %d: %lld, want %lld",
                                  quant_round_name(c.round), j, (long long)acc[v * o + j],
                                  (long long)want);
                }
            cim_xbar_free(xb);
        }
    nn_model_free(m);
}
END_TEST

/* The counts the mapping implies, on the ideal crossbar: reads = vectors x
 * input slices x arrays; conversions = reads done x read columns. */
START_TEST(test_stats_counts)
{
    struct nn_model *m = shipped("lenet5-fmnist");
    struct cim_xbar_config c = cim_xbar_config_default();
    struct cim_xbar *xb = xbar(m, 0, &c);
    float logits[N_IMG * 10];
    run_xbar(xb, x_test, N_IMG, 0, logits);
    struct cim_xbar_stats st;
    cim_xbar_stats(xb, 4, &st); /* dense 400 -> 120: 4 row tiles; 16 outputs per array */
    ck_assert_int_eq(st.row_tiles, 4);
    ck_assert_int_eq(st.col_tiles, 8);
    ck_assert_int_eq(st.in_slices, 8);
    ck_assert_int_eq(st.w_slices, 4);
    ck_assert_uint_eq(st.vectors, N_IMG);
    ck_assert_uint_eq(st.reads, (uint64_t)N_IMG * 8 * 32);
    ck_assert_uint_eq(st.conversions, (st.reads - st.reads_skipped) * 120 * 8 / 8);
    cim_xbar_stats(xb, 0, &st); /* conv 1 -> 6, 5x5, 28x28 outputs: 784 vectors per image */
    ck_assert_uint_eq(st.vectors, (uint64_t)N_IMG * 784);
    ck_assert_int_eq(st.row_tiles * st.col_tiles, 1);
    cim_xbar_stats_reset(xb);
    cim_xbar_stats(xb, 4, &st);
    ck_assert_uint_eq(st.reads, 0);
    ck_assert_int_eq(cim_xbar_stats(xb, 99, &st), CIM_EINVAL);
    cim_xbar_free(xb);
    nn_model_free(m);
}
END_TEST

/* A max range calibrated on images never clips on those images; a fixed range
 * below the currents clips; fewer ADC bits on the lossless range move the
 * error off 0. */
START_TEST(test_adc_ranges)
{
    struct nn_model *m = shipped("lenet5-fmnist");
    float logits[N_CAL * 10];
    struct cim_xbar_config c = cim_xbar_config_default();
    c.adc_bits = 5;
    c.adc_range = CIM_ADC_RANGE_MAX;
    c.prog_noise = 0.01;
    struct cim_xbar *xb = xbar(m, 0, &c);
    struct cim_err err = {0};
    cim_xbar_calibrate_begin(xb);
    run_xbar(xb, x_cal, N_CAL, 0, logits);
    ck_assert_msg(cim_xbar_calibrate_end(xb, &err) == CIM_OK, "%s", err.msg);
    run_xbar(xb, x_cal, N_CAL, 0, logits);
    int steps = 0;
    for (int l = 0; l < m->n_layers; l++) {
        struct cim_xbar_stats st;
        cim_xbar_stats(xb, l, &st);
        if (!st.is_weight_layer)
            continue;
        ck_assert_msg(st.clipped == 0, "layer %d clipped %llu of %llu", l,
                      (unsigned long long)st.clipped, (unsigned long long)st.conversions);
        ck_assert(st.err_sq > 0.0);
        for (int j = 0; j < st.w_slices; j++)
            steps += st.adc_shift[j];
    }
    ck_assert_int_gt(steps, 0); /* 5 bits cannot hold every column losslessly */
    cim_xbar_free(xb);
    c = cim_xbar_config_default();
    c.adc_bits = 4;
    c.adc_range = CIM_ADC_RANGE_FIXED;
    c.adc_value = 7.5;
    xb = xbar(m, 0, &c);
    run_xbar(xb, x_test, N_IMG, 0, logits);
    struct cim_xbar_stats st;
    cim_xbar_stats(xb, 2, &st);
    ck_assert_int_eq(st.adc_shift[0], 0); /* 15 >= 7.5: step 1 */
    ck_assert_uint_gt(st.clipped, 0);
    cim_xbar_free(xb);
    nn_model_free(m);
}
END_TEST

/* Global drift compensation: with one drift exponent for every cell the gain
 * is (t / t0)^nu, up to the rounding of two sums of ~10^5 doubles (relative
 * error ~1e-13 each; 1e-9 allows for it, while a gain applied the wrong way,
 * (t / t0)^-nu, is off by 50%). */
START_TEST(test_drift_gain)
{
    struct nn_model *m = shipped("mlp-fmnist");
    struct cim_xbar_config c = cim_xbar_config_default();
    c.drift_t = 86400.0;
    c.drift_nu_mean = 0.06;
    c.drift_nu_std = 0.0;
    c.drift_comp = 1;
    struct cim_xbar *xb = xbar(m, 0, &c);
    struct cim_xbar_stats st;
    cim_xbar_stats(xb, 0, &st);
    ck_assert_double_eq_tol(st.drift_gain / pow(86400.0 / 20.0, 0.06), 1.0, 1e-9);
    cim_xbar_free(xb);
    nn_model_free(m);
}
END_TEST

/* Bad configurations: one-line errors naming the option. */
START_TEST(test_config_errors)
{
    struct nn_model *m = shipped("lenet5-fmnist");
    struct cim_err err = {0};
    struct cim_xbar_config c = cim_xbar_config_default();
    c.cell_bits = 3;
    ck_assert_ptr_null(cim_xbar_alloc(m, 0, &c, &err));
    ck_assert_msg(strstr(err.msg, "--cell-bits 3") != NULL, "%s", err.msg);
    c = cim_xbar_config_default();
    c.cols = 8;
    c.cell_bits = 1; /* 7 slices, 14 columns per output */
    err = (struct cim_err){0};
    ck_assert_ptr_null(cim_xbar_alloc(m, 0, &c, &err));
    ck_assert_msg(strstr(err.msg, "--array") != NULL, "%s", err.msg);
    c = cim_xbar_config_default();
    c.drift_t = 5.0; /* before t0 = 20 s */
    err = (struct cim_err){0};
    ck_assert_ptr_null(cim_xbar_alloc(m, 0, &c, &err));
    ck_assert_msg(strstr(err.msg, "--drift-t") != NULL, "%s", err.msg);
    c = cim_xbar_config_default();
    err = (struct cim_err){0};
    ck_assert_ptr_null(cim_xbar_alloc(m, 2, &c, &err));
    ck_assert_msg(strstr(err.msg, "precision 2") != NULL, "%s", err.msg);
    nn_model_free(m);
    m = shipped("mlp-fmnist-fp32");
    err = (struct cim_err){0};
    ck_assert_ptr_null(cim_xbar_alloc(m, 0, &c, &err));
    ck_assert_msg(strstr(err.msg, "FP32") != NULL, "%s", err.msg);
    nn_model_free(m);
}
END_TEST

/* Read noise at the column: a read of m rows with 1-bit steps gets a current
 * deviation read_noise * unit * sqrt(m) (unit: level units per Gmax, L / (1 -
 * Gmin/Gmax)), drawn afresh per sample. With offset encoding every column
 * carries a large current (no clipping at 0) and the periphery subtracts the
 * reference column's code, so an output's error over the S = 4 slices of 2 bits
 * has variance sum_j 16^j 2 (sd^2 + 1/12) (two independent noisy codes per
 * slice, each also rounded: 1/12 of a step squared). Measured per output over
 * V samples and averaged over the layer's 84 outputs: each estimate has a
 * relative standard error of sqrt(2 / V) = 10%, the average less (outputs of
 * one array share its reference column, so not 84 times less); 20% catches a
 * missing unit factor (9x) or a deviation in sqrt(sum x) instead of sum x. */
START_TEST(test_read_noise_variance)
{
    struct nn_model *m = shipped("lenet5-fmnist");
    struct cim_xbar_config c = cim_xbar_config_default();
    c.encoding = CIM_ENCODING_OFFSET;
    c.read_noise = 0.1;
    struct cim_xbar *xb = xbar(m, 0, &c);
    struct nn_int_exec ex = cim_xbar_exec(xb);
    enum { V = 200, K = 120, O = 84, ROWS = 100 };
    static uint16_t a[V * K];
    static int64_t acc[V * O];
    for (int v = 0; v < V; v++)
        for (int k = 0; k < K; k++)
            a[v * K + k] = k < ROWS; /* slice 0 only: one read per sample */
    ck_assert_int_eq(ex.matmul(ex.ctx, 5, a, acc, V, O, K, 0, 1), CIM_OK);
    const int32_t *w = nn_int_model_codes(cim_xbar_int_model(xb), 5);
    const double unit = 3.0 / (1.0 - 1.0 / c.on_off);
    const double sd = c.read_noise * unit * sqrt((double)ROWS);
    const double want = (1 + 16 + 256 + 4096) * 2.0 * (sd * sd + 1.0 / 12.0);
    double var_sum = 0.0, mean_sum = 0.0;
    for (int o = 0; o < O; o++) {
        int64_t exact = 0;
        for (int k = 0; k < ROWS; k++)
            exact += w[o * K + k];
        double s1 = 0, s2 = 0;
        for (int v = 0; v < V; v++) {
            const double e = (double)(acc[v * O + o] - exact);
            s1 += e;
            s2 += e * e;
        }
        mean_sum += s1 / V;
        var_sum += s2 / V - (s1 / V) * (s1 / V);
    }
    const double var = var_sum / O, mean = mean_sum / O;
    ck_assert_msg(fabs(var / want - 1.0) < 0.2, "error variance %g, expected %g", var, want);
    ck_assert_msg(fabs(mean) < 5.0 * sqrt(want / V), "mean error %g", mean);
    cim_xbar_free(xb);
    nn_model_free(m);
}
END_TEST

static Suite *cim_suite(void)
{
    Suite *s = suite_create("cim");
    TCase *t = tcase_create("xbar");
    tcase_add_unchecked_fixture(t, data_setup, data_teardown);
    tcase_add_loop_test(t, test_exact_lenet5, 0, 2);
    tcase_add_loop_test(t, test_exact_mlp, 0, 2);
    tcase_add_test(t, test_exact_independent);
    tcase_add_test(t, test_nested_reuse);
    tcase_add_test(t, test_noise_keys);
    tcase_add_test(t, test_periph_rounding);
    tcase_add_test(t, test_stats_counts);
    tcase_add_test(t, test_adc_ranges);
    tcase_add_test(t, test_drift_gain);
    tcase_add_test(t, test_read_noise_variance);
    tcase_add_test(t, test_config_errors);
    tcase_set_timeout(t, 600);
    suite_add_tcase(s, t);
    return s;
}

CIM_TEST_MAIN(cim_suite)
