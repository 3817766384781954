/*
 * test_periph.c: the C model of the shift-add periphery (cim/periph.h), on its
 * own: parameter checks, the lossless width, hand-computed combinations, and
 * the ideal crossbar, whose codes shift-add back to the integer dot product.
 * tests/rtl/test_rtl.c then holds the Verilog to this model bit for bit.
 */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <check.h>
#include <gsl/gsl_rng.h>

#include "base/rng.h"
#include "cim/periph.h"
#include "testutil.h"

static struct cim_periph base_params(void)
{
    return (struct cim_periph){.adc_bits = 6, .dac_bits = 1, .in_slices = 8, .cell_bits = 2,
                               .w_slices = 4, .acc_bits = 22, .out_bits = 16, .shift = 0,
                               .round = QUANT_ROUND_FLOOR,
                               .overflow = QUANT_OVERFLOW_SATURATE};
}

START_TEST(test_check_accepts)
{
    struct cim_periph p = base_params();
    struct cim_err err = {0};
    ck_assert_int_eq(cim_periph_check(&p, &err), CIM_OK);
    ck_assert_int_eq(cim_periph_check(&p, NULL), CIM_OK);
}
END_TEST

/* Each field pushed just outside its range, low and high. */
struct bad_field {
    const char *name;
    size_t offset;
    int lo, hi;
};

static const struct bad_field bad_fields[] = {
    {"adc_bits", offsetof(struct cim_periph, adc_bits), 0, 17},
    {"dac_bits", offsetof(struct cim_periph, dac_bits), 0, 9},
    {"in_slices", offsetof(struct cim_periph, in_slices), 0, 17},
    {"cell_bits", offsetof(struct cim_periph, cell_bits), 0, 9},
    {"w_slices", offsetof(struct cim_periph, w_slices), 0, 17},
    {"acc_bits", offsetof(struct cim_periph, acc_bits), 0, 65},
    {"out_bits", offsetof(struct cim_periph, out_bits), 0, 65},
    {"shift", offsetof(struct cim_periph, shift), -1, 63},
    {"round", offsetof(struct cim_periph, round), -1, 3},
    {"overflow", offsetof(struct cim_periph, overflow), -1, 2},
};

START_TEST(test_check_refuses)
{
    const struct bad_field *b = &bad_fields[_i / 2];
    struct cim_periph p = base_params();
    int v = _i % 2 ? b->hi : b->lo;
    memcpy((char *)&p + b->offset, &v, sizeof v);
    struct cim_err err = {0};
    ck_assert_int_eq(cim_periph_check(&p, &err), CIM_EINVAL);
    ck_assert_msg(strstr(err.msg, b->name) != NULL, "message '%s' names no %s", err.msg,
                  b->name);
}
END_TEST

START_TEST(test_check_too_wide)
{
    struct cim_periph p = base_params();
    p.in_slices = 16;
    p.dac_bits = 4; /* 63 + 6 + 15 * 4 ... far beyond 62 bits */
    struct cim_err err = {0};
    ck_assert_int_eq(cim_periph_check(&p, &err), CIM_EINVAL);
    ck_assert_msg(strstr(err.msg, "accumulator bits") != NULL, "%s", err.msg);
    ck_assert_int_eq(cim_periph_check(NULL, &err), CIM_EINVAL);
}
END_TEST

START_TEST(test_lossless_width)
{
    struct cim_periph p = base_params();
    /* 63 * (1 + 4 + 16 + 64) * 255 = 1,365,525: 21 bits and a sign. */
    ck_assert_int_eq(cim_periph_acc_bits_lossless(&p), 22);
    p.adc_bits = 1;
    p.in_slices = 1;
    p.w_slices = 1;
    ck_assert_int_eq(cim_periph_acc_bits_lossless(&p), 2); /* codes -1, 0, 1 */
    p.adc_bits = 8;
    p.dac_bits = 4;
    p.in_slices = 2;
    p.cell_bits = 4;
    p.w_slices = 2; /* 255 * 17 * 17 = 73,695: 17 bits and a sign */
    ck_assert_int_eq(cim_periph_acc_bits_lossless(&p), 18);
}
END_TEST

/* Two input slices of one bit, two weight slices of two bits:
 * acc = 3 + (-2) * 4 + 5 * 2 + 1 * 8 = 13, 13 / 2 = 6.5. */
START_TEST(test_combine_by_hand)
{
    struct cim_periph p = base_params();
    p.in_slices = 2;
    p.w_slices = 2;
    p.acc_bits = 16;
    const int32_t codes[4] = {3, -2, 5, 1};
    ck_assert_int_eq(cim_periph_accumulate(&p, codes), 13);
    ck_assert_int_eq(cim_periph_combine(&p, codes), 13);
    p.shift = 1;
    ck_assert_int_eq(cim_periph_combine(&p, codes), 6);
    p.round = QUANT_ROUND_HALF_UP;
    ck_assert_int_eq(cim_periph_combine(&p, codes), 7);
    p.round = QUANT_ROUND_HALF_EVEN;
    ck_assert_int_eq(cim_periph_combine(&p, codes), 6);
    p.out_bits = 3; /* 6 is outside [-4, 3] */
    ck_assert_int_eq(cim_periph_combine(&p, codes), 3);
    p.overflow = QUANT_OVERFLOW_WRAP;
    ck_assert_int_eq(cim_periph_combine(&p, codes), -2);
    p.acc_bits = 4; /* the register itself wraps: 13 -> -3, -1.5 -> -2 (even) */
    ck_assert_int_eq(cim_periph_accumulate(&p, codes), -3);
    ck_assert_int_eq(cim_periph_combine(&p, codes), -2);
}
END_TEST

/* An ideal crossbar: rows of 8-bit activations and weights, 1-bit input
 * slices, 2-bit cells, codes equal to the exact column differences (an ADC
 * with enough bits), lossless accumulator, no shift: the periphery returns
 * the integer dot product exactly. */
#define IDEAL_ROWS 4
START_TEST(test_ideal_crossbar)
{
    struct cim_periph p = base_params();
    p.adc_bits = 4; /* a column sums at most 4 rows * 1 * 3 = 12 */
    p.acc_bits = cim_periph_acc_bits_lossless(&p);
    p.out_bits = 64;
    gsl_rng *r = cim_rng_alloc(2385, cim_rng_stream(CIM_RNG_TEST, 61));
    ck_assert_ptr_nonnull(r);
    for (int trial = 0; trial < 1000; trial++) {
        int a[IDEAL_ROWS], w[IDEAL_ROWS];
        int64_t dot = 0;
        for (int k = 0; k < IDEAL_ROWS; k++) {
            a[k] = (int)gsl_rng_uniform_int(r, 256);
            w[k] = (int)gsl_rng_uniform_int(r, 255) - 127;
            dot += (int64_t)a[k] * w[k];
        }
        int32_t codes[8 * 4];
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 4; j++) {
                int32_t d = 0;
                for (int k = 0; k < IDEAL_ROWS; k++) {
                    int mag = w[k] < 0 ? -w[k] : w[k];
                    int cell = (mag >> (2 * j)) & 3, bit = (a[k] >> i) & 1;
                    d += (w[k] < 0 ? -1 : 1) * bit * cell;
                }
                codes[i * 4 + j] = d;
            }
        ck_assert_int_eq(cim_periph_combine(&p, codes), dot);
    }
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_code_out_of_range)
{
    struct cim_periph p = base_params();
    p.in_slices = 1;
    p.w_slices = 1;
    const int32_t codes[1] = {64}; /* 6-bit ADC codes end at 63 */
    (void)cim_periph_accumulate(&p, codes);
}
END_TEST

static Suite *periph_suite(void)
{
    Suite *s = suite_create("rtl");
    TCase *tc = tcase_create("periph");
    tcase_add_test(tc, test_check_accepts);
    tcase_add_loop_test(tc, test_check_refuses, 0,
                        (int)(2 * sizeof bad_fields / sizeof bad_fields[0]));
    tcase_add_test(tc, test_check_too_wide);
    tcase_add_test(tc, test_lossless_width);
    tcase_add_test(tc, test_combine_by_hand);
    tcase_add_test(tc, test_ideal_crossbar);
    tcase_add_test_raise_signal(tc, test_code_out_of_range, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(periph_suite)
