/*
 * test_quantizer.c: the weight and activation quantizers of quant/quantizer.h.
 *
 * Evidence: forward tables computed by hand from the formulas (scales that are
 * powers of two, so that w / s is exact and ties are real ties); the nesting
 * checked for every 8-bit code against references written with C's truncating
 * division and exact remainders; STE masks at the clip boundaries; LSQ and PACT
 * gradients against hand sums and against central finite differences of a
 * seeded random linear loss L = sum_k g_k out_k, at points away from every
 * rounding boundary (constructed so; see lsq_points()).
 */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <gsl/gsl_rng.h>

#include "base/rng.h"
#include "quant/quantizer.h"
#include "testutil.h"

/* Tolerances. Values formed as code * s with a power-of-two s are exact, so
 * those checks are exact. TOL_HAND: hand sums of ~5 terms whose v = w / s
 * carries float rounding (~1e-7 relative) against exact decimal v.
 * TOL_FD_REL: a central difference of float outputs of size <= 127 s with step
 * h = 1e-3 s carries ~0.5 ulp(127 s) / 2h ~ 4e-3 of noise per element; over
 * 64 elements of |g| <= 1 that is < 0.1 against gradients of size ~100+. */
#define TOL_HAND 1e-5
/* TOL_ALPHA: a clipped PACT output is Qu * (alpha / Qu) in float, a few ulps of
 * alpha = 2.385 (ulp 2.4e-7). TOL_PACT_FD: a central difference of a piecewise
 * linear function away from its kinks is exact up to double rounding (~1e-13
 * per term over 2h = 2e-3, 200 terms). */
#define TOL_ALPHA 1e-6
#define TOL_PACT_FD 1e-9
#define TOL_FD_REL 1e-3
#define FD_STEP_REL 1e-3

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- qmax */

START_TEST(qmax_values)
{
    ck_assert_int_eq(quant_qmax_signed(2), 1);
    ck_assert_int_eq(quant_qmax_signed(4), 7);
    ck_assert_int_eq(quant_qmax_signed(8), 127);
    ck_assert_int_eq(quant_qmax_signed(16), 32767);
    ck_assert_int_eq(quant_qmax_unsigned(1), 1);
    ck_assert_int_eq(quant_qmax_unsigned(4), 15);
    ck_assert_int_eq(quant_qmax_unsigned(8), 255);
    ck_assert_int_eq(quant_qmax_unsigned(16), 65535);
}
END_TEST

/* ---------------------------------------------------------------- weights */

struct wcase {
    float w;
    int32_t q;
    uint8_t pass;
};

/* bits = 4 (Q = 7), s = 0.25: v = 4 w, exact. */
static const struct wcase w4_cases[] = {
    {0.0f, 0, 1},
    {0.625f, 2, 1},    /* 2.5 -> 2, tie to even */
    {-0.625f, -2, 1},  /* -2.5 -> -2 */
    {0.875f, 4, 1},    /* 3.5 -> 4 */
    {-0.875f, -4, 1},  /* -3.5 -> -4 */
    {0.375f, 2, 1},    /* 1.5 -> 2 */
    {0.125f, 0, 1},    /* 0.5 -> 0 */
    {-0.125f, 0, 1},   /* -0.5 -> -0 */
    {0.596f, 2, 1},    /* 2.384 */
    {1.75f, 7, 1},     /* 7, the top code */
    {1.875f, 7, 1},    /* 7.5: clamped, still inside the STE interval */
    {-1.875f, -7, 1},  /* -7.5 */
    {1.876f, 7, 0},    /* 7.504: clipped */
    {-2.0f, -7, 0},    /* -8 */
    {2.385f, 7, 0},    /* 9.54 */
    {-5.0f, -7, 0},
    {1e30f, 7, 0},
};

START_TEST(weight_table)
{
    size_t n = LEN(w4_cases);
    float w[LEN(w4_cases)], out[LEN(w4_cases)];
    int32_t q[LEN(w4_cases)];
    uint8_t pass[LEN(w4_cases)];
    for (size_t k = 0; k < n; k++)
        w[k] = w4_cases[k].w;
    quant_weight_codes(w, n, 0.25f, 4, q);
    quant_weight_fake(w, n, 0.25f, 4, out, pass);
    for (size_t k = 0; k < n; k++) {
        ck_assert_msg(q[k] == w4_cases[k].q, "w=%g: code %d, want %d", (double)w[k], q[k],
                      w4_cases[k].q);
        ck_assert_msg(out[k] == (float)w4_cases[k].q * 0.25f, "w=%g: value %g", (double)w[k],
                      (double)out[k]);
        ck_assert_msg(pass[k] == w4_cases[k].pass, "w=%g: pass %d", (double)w[k], pass[k]);
    }

    /* 8 bits, s = 0.1 (not a power of two): 2.385 / 0.1 = 23.85 -> 24. */
    float x = 2.385f;
    int32_t q8;
    quant_weight_codes(&x, 1, 0.1f, 8, &q8);
    ck_assert_int_eq(q8, 24);
    /* 8-bit clipping at 127 and the pass boundary at 127.5 (s = 0.5). */
    float w8[] = {63.5f, 63.75f, 63.76f, -63.75f, -64.0f};
    int32_t q8s[5];
    uint8_t p8[5];
    float o8[5];
    quant_weight_codes(w8, 5, 0.5f, 8, q8s);
    quant_weight_fake(w8, 5, 0.5f, 8, o8, p8);
    int32_t want_q[] = {127, 127, 127, -127, -127};
    uint8_t want_p[] = {1, 1, 0, 1, 0};
    for (int k = 0; k < 5; k++) {
        ck_assert_int_eq(q8s[k], want_q[k]);
        ck_assert_int_eq(p8[k], want_p[k]);
        ck_assert(o8[k] == (float)want_q[k] * 0.5f);
    }
}
END_TEST

START_TEST(weight_nonfinite_and_alias)
{
    float w[] = {NAN, INFINITY, -INFINITY, 0.625f};
    int32_t q[4];
    float out[4];
    uint8_t pass[4];
    quant_weight_codes(w, 4, 0.25f, 4, q);
    ck_assert_int_eq(q[0], 0);
    ck_assert_int_eq(q[1], 7);
    ck_assert_int_eq(q[2], -7);
    quant_weight_fake(w, 4, 0.25f, 4, out, pass);
    ck_assert(isnan(out[0]));
    ck_assert(out[1] == 1.75f && out[2] == -1.75f);
    ck_assert(pass[0] == 0 && pass[1] == 0 && pass[2] == 0 && pass[3] == 1);
    /* In place, no mask. */
    quant_weight_fake(w, 4, 0.25f, 4, w, NULL);
    ck_assert(w[3] == 0.5f && w[1] == 1.75f);
}
END_TEST

START_TEST(weight_rows)
{
    gsl_rng *r = cim_rng_alloc(11, cim_rng_stream(CIM_RNG_TEST, 1));
    enum { ROWS = 3, COLS = 17 };
    float w[ROWS * COLS], out[ROWS * COLS], one[COLS];
    int32_t q[ROWS * COLS], q1[COLS];
    uint8_t pass[ROWS * COLS], p1[COLS];
    float s[ROWS] = {0.01f, 0.125f, 2.385f};
    for (int k = 0; k < ROWS * COLS; k++)
        w[k] = (float)(gsl_rng_uniform(r) * 6.0 - 3.0);
    quant_weight_codes_rows(w, ROWS, COLS, s, 8, q);
    quant_weight_fake_rows(w, ROWS, COLS, s, 8, out, pass);
    for (int i = 0; i < ROWS; i++) {
        quant_weight_codes(w + i * COLS, COLS, s[i], 8, q1);
        quant_weight_fake(w + i * COLS, COLS, s[i], 8, one, p1);
        for (int j = 0; j < COLS; j++) {
            ck_assert_int_eq(q[i * COLS + j], q1[j]);
            ck_assert(out[i * COLS + j] == one[j]);
            ck_assert_int_eq(pass[i * COLS + j], p1[j]);
        }
    }
    quant_weight_fake_rows(w, ROWS, COLS, s, 8, out, NULL);
    gsl_rng_free(r);
}
END_TEST

/* ---------------------------------------------------------------- nesting */

/* sign(q) * floor(|q| / 2^d), through C's division that truncates toward 0. */
static int32_t ref_nest_trunc(int32_t q, int d)
{
    return q / (1 << d);
}

/* Nearest integer to q / 2^d, ties to even, then clamped to +-qmax_lo, from
 * the exact remainder. */
static int32_t ref_nest_round(int32_t q, int d, int qmax_lo)
{
    int32_t den = 1 << d;
    int32_t fl = q >= 0 ? q / den : -((-q + den - 1) / den);
    int32_t twice_rem = 2 * (q - fl * den);
    int32_t r = twice_rem < den ? fl : twice_rem > den ? fl + 1 : (fl % 2 == 0 ? fl : fl + 1);
    return r > qmax_lo ? qmax_lo : r < -qmax_lo ? -qmax_lo : r;
}

START_TEST(nest_every_8bit_code)
{
    for (int32_t q8 = -127; q8 <= 127; q8++) {
        int32_t t = quant_nest_code(q8, 8, 4, QUANT_SCHEME_NESTED);
        int32_t r = quant_nest_code(q8, 8, 4, QUANT_SCHEME_NESTED_ROUND);
        int32_t mag = q8 < 0 ? -q8 : q8;
        /* In range, sign kept. */
        ck_assert_msg(t >= -7 && t <= 7, "nested q8=%d -> %d", q8, t);
        ck_assert_msg(r >= -7 && r <= 7, "nested-round q8=%d -> %d", q8, r);
        ck_assert(t == 0 || (t < 0) == (q8 < 0));
        ck_assert(r == 0 || (r < 0) == (q8 < 0));
        /* NESTED: the magnitude's top 4 of its 7 bits, i.e. the magnitude with
         * its low weight slice zeroed, divided by 16. */
        int32_t t_mag = t < 0 ? -t : t;
        ck_assert_int_eq(t_mag, (mag >> 4) & 0x7);
        ck_assert_int_eq(t_mag * 16, mag & ~0xf);
        ck_assert_int_eq(t, ref_nest_trunc(q8, 4));
        /* NESTED_ROUND: the rounded top, within half a low step unless clamped. */
        ck_assert_int_eq(r, ref_nest_round(q8, 4, 7));
        int32_t err = q8 - 16 * r;
        ck_assert(mag >= 120 || (err >= -8 && err <= 8));
    }
    /* The header's examples. */
    ck_assert_int_eq(quant_nest_code(24, 8, 4, QUANT_SCHEME_NESTED_ROUND), 2);
    ck_assert_int_eq(quant_nest_code(40, 8, 4, QUANT_SCHEME_NESTED_ROUND), 2);
    ck_assert_int_eq(quant_nest_code(-31, 8, 4, QUANT_SCHEME_NESTED), -1);
    ck_assert_int_eq(quant_nest_code(-31, 8, 4, QUANT_SCHEME_NESTED_ROUND), -2);
    ck_assert_int_eq(quant_nest_code(15, 8, 4, QUANT_SCHEME_NESTED), 0);
    ck_assert_int_eq(quant_nest_code(15, 8, 4, QUANT_SCHEME_NESTED_ROUND), 1);
    ck_assert_int_eq(quant_nest_code(127, 8, 4, QUANT_SCHEME_NESTED_ROUND), 7);
    ck_assert_int_eq(quant_nest_code(-127, 8, 4, QUANT_SCHEME_NESTED_ROUND), -7);
}
END_TEST

/* The range property for every pair of widths up to 12 bits. */
START_TEST(nest_all_widths)
{
    for (int hi = 2; hi <= 12; hi++)
        for (int lo = 2; lo <= hi; lo++) {
            int qh = quant_qmax_signed(hi), ql = quant_qmax_signed(lo);
            for (int32_t q = -qh; q <= qh; q++) {
                int32_t t = quant_nest_code(q, hi, lo, QUANT_SCHEME_NESTED);
                int32_t r = quant_nest_code(q, hi, lo, QUANT_SCHEME_NESTED_ROUND);
                ck_assert(t >= -ql && t <= ql && r >= -ql && r <= ql);
                ck_assert_int_eq(t, ref_nest_trunc(q, hi - lo));
                ck_assert_int_eq(r, ref_nest_round(q, hi - lo, ql));
                if (lo == hi)
                    ck_assert(t == q && r == q);
            }
        }
}
END_TEST

START_TEST(weight_fake_nested)
{
    gsl_rng *r = cim_rng_alloc(12, cim_rng_stream(CIM_RNG_TEST, 2));
    enum { N = 300 };
    float w[N], lo[N], hi[N];
    int32_t q[N];
    uint8_t p_lo[N], p_hi[N];
    const float s = 0.0078125f; /* 2^-7 */
    for (int k = 0; k < N; k++)
        w[k] = (float)(gsl_rng_uniform(r) * 2.4 - 1.2); /* some beyond 127 s = 0.99 */
    for (int sc = 0; sc < 2; sc++) {
        enum quant_scheme sch = sc == 0 ? QUANT_SCHEME_NESTED : QUANT_SCHEME_NESTED_ROUND;
        quant_weight_codes(w, N, s, 8, q);
        quant_weight_fake(w, N, s, 8, hi, p_hi);
        quant_weight_fake_nested(w, N, s, 8, 4, sch, lo, p_lo);
        for (int k = 0; k < N; k++) {
            ck_assert(lo[k] == (float)quant_nest_code(q[k], 8, 4, sch) * (16.0f * s));
            ck_assert_int_eq(p_lo[k], p_hi[k]);
        }
        float s_rows[2] = {s, 2.0f * s};
        float lo_rows[N];
        quant_weight_fake_nested_rows(w, 2, N / 2, s_rows, 8, 4, sch, lo_rows, NULL);
        quant_weight_fake_nested(w + N / 2, N / 2, 2.0f * s, 8, 4, sch, lo, NULL);
        for (int k = 0; k < N / 2; k++)
            ck_assert(lo_rows[N / 2 + k] == lo[k]);
    }
    /* 8 -> 8 is the 8-bit quantizer itself. */
    quant_weight_fake_nested(w, N, s, 8, 8, QUANT_SCHEME_NESTED, lo, NULL);
    for (int k = 0; k < N; k++)
        ck_assert(lo[k] == hi[k]);
    gsl_rng_free(r);
}
END_TEST

START_TEST(scheme_names)
{
    ck_assert_str_eq(quant_scheme_name(QUANT_SCHEME_NESTED), "nested");
    ck_assert_str_eq(quant_scheme_name(QUANT_SCHEME_NESTED_ROUND), "nested-round");
    ck_assert_str_eq(quant_scheme_name(QUANT_SCHEME_INDEPENDENT), "independent");
    for (int i = 0; i < QUANT_SCHEME_COUNT; i++)
        ck_assert_int_eq(quant_scheme_parse(quant_scheme_name((enum quant_scheme)i)), i);
    ck_assert_int_eq(quant_scheme_parse("Nested"), -1);
    ck_assert_int_eq(quant_scheme_parse("nested "), -1);
    ck_assert_int_eq(quant_scheme_parse(""), -1);
    ck_assert_int_eq(quant_scheme_parse(NULL), -1);
}
END_TEST

/* ---------------------------------------------------------------- activations */

START_TEST(act_table)
{
    /* bits = 2 (Qu = 3), s = 0.5: v = 2 x. */
    float x[] = {-1.0f, -0.0f, 0.0f, 0.25f, 0.5f, 0.75f, 1.25f, 1.5f, 1.75f, 1.76f, 7.0f,
                 NAN, INFINITY};
    uint16_t want_a[] = {0, 0, 0, 0, 1, 2, 2, 3, 3, 3, 3, 0, 3};
    uint8_t want_p[] = {0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
    enum { N = LEN(x) };
    uint16_t a[N];
    float out[N];
    uint8_t pass[N];
    quant_act_codes(x, N, 0.5f, 2, a);
    quant_act_fake(x, N, 0.5f, 2, out, pass);
    for (int k = 0; k < N; k++) {
        ck_assert_msg(a[k] == want_a[k], "x=%g: code %d want %d", (double)x[k], a[k],
                      want_a[k]);
        ck_assert_msg(pass[k] == want_p[k], "x=%g: pass %d", (double)x[k], pass[k]);
        if (k != 11)
            ck_assert(out[k] == (float)want_a[k] * 0.5f);
    }
    ck_assert(isnan(out[11]));

    /* 8 bits, s = 2^-8 (pixels in [0, 1]), exact: 1.0 -> 256 -> 255, 0.5 -> 128. */
    float px[] = {1.0f, 0.5f, 0.001953125f /* 0.5 step -> 0 */, 0.005859375f /* 1.5 -> 2 */};
    uint16_t pa[4];
    quant_act_codes(px, 4, 0.00390625f, 8, pa);
    ck_assert(pa[0] == 255 && pa[1] == 128 && pa[2] == 0 && pa[3] == 2);
    uint16_t big;
    float xb = 1e9f;
    quant_act_codes(&xb, 1, 1.0f, 16, &big);
    ck_assert_int_eq(big, 65535);
}
END_TEST

START_TEST(act_nested)
{
    for (int a = 0; a <= 255; a++) {
        uint16_t lo = quant_act_nest_code((uint16_t)a, 8, 4);
        ck_assert_int_eq(lo, a / 16);
        ck_assert(lo <= 15);
        ck_assert_int_eq(lo * 16, a & 0xf0);
    }
    /* Fake values through the nesting on a ramp, s = 2^-8. */
    enum { N = 600 };
    float x[N], out[N], hi[N];
    uint16_t a[N];
    uint8_t p_lo[N], p_hi[N];
    const float s = 0.00390625f;
    for (int k = 0; k < N; k++)
        x[k] = -0.1f + 0.002f * (float)k; /* -0.1 .. 1.098 */
    quant_act_codes(x, N, s, 8, a);
    quant_act_fake(x, N, s, 8, hi, p_hi);
    quant_act_fake_nested(x, N, s, 8, 4, out, p_lo);
    for (int k = 0; k < N; k++) {
        ck_assert(out[k] == (float)(a[k] >> 4) * (16.0f * s));
        ck_assert_int_eq(p_lo[k], p_hi[k]);
    }
    ck_assert(out[N - 1] == 15.0f * 16.0f * s); /* clipped: 240/256 */
}
END_TEST

/* ---------------------------------------------------------------- LSQ */

START_TEST(lsq_hand)
{
    /* bits 4, Q = 7, s = 0.25; v = 1.2, -3.6, 10, -12, 7. d out/d s:
     * 1 - 1.2 = -0.2, -4 + 3.6 = -0.4, +7, -7, 7 - 7 = 0. With g = 1, 2, -1,
     * 0.5, 3: -0.2 - 0.8 - 7 - 3.5 + 0 = -11.5; gscale 1/sqrt(5 * 7). */
    float w[] = {0.3f, -0.9f, 2.5f, -3.0f, 1.75f};
    float g[] = {1.0f, 2.0f, -1.0f, 0.5f, 3.0f};
    double got = quant_lsq_grad_scale(w, g, 5, 0.25f, 4);
    double want = -11.5 / sqrt(35.0);
    ck_assert_msg(fabs(got - want) < TOL_HAND, "lsq %.9g want %.9g", got, want);
    ck_assert(quant_lsq_grad_scale(w, g, 0, 0.25f, 4) == 0.0);

    /* Nested 8 -> 4, s = 1/16, g = 1: v = 40.2, -31.3, 200 (clipped: q8 = 127).
     *   nested:        16*2 - 40.2 = -8.2,  16*-1 + 31.3 = 15.3,  16*7 = 112
     *   nested-round:  16*2 - 40.2 = -8.2,  16*-2 + 31.3 = -0.7,  16*7 = 112 */
    float wn[] = {40.2f / 16.0f, -31.3f / 16.0f, 200.0f / 16.0f};
    float gn[] = {1.0f, 1.0f, 1.0f};
    double gs = 1.0 / sqrt(3.0 * 127.0);
    double t = quant_lsq_grad_scale_nested(wn, gn, 3, 0.0625f, 8, 4, QUANT_SCHEME_NESTED);
    double r = quant_lsq_grad_scale_nested(wn, gn, 3, 0.0625f, 8, 4,
                                           QUANT_SCHEME_NESTED_ROUND);
    ck_assert_msg(fabs(t - 119.1 * gs) < TOL_HAND, "nested lsq %.9g", t);
    ck_assert_msg(fabs(r - 103.1 * gs) < TOL_HAND, "nested-round lsq %.9g", r);
    /* d = 0 is plain LSQ. */
    ck_assert(quant_lsq_grad_scale_nested(w, g, 5, 0.25f, 4, 4, QUANT_SCHEME_NESTED) == got);
}
END_TEST

/* n weights for scale s at `bits` whose v = w / s lies at least 0.15 away from
 * every half-integer (a fractional part in [-0.35, 0.35] around an integer
 * code), a quarter of them clipped at |v| in [Q + 1, Q + 10]. A relative step
 * h = 1e-3 s moves v by at most (Q + 10) * 1e-3 < 0.15 for Q <= 127, so no code
 * changes between s - h and s + h and the difference quotient is the exact
 * derivative of the piecewise-linear forward. */
static void lsq_points(gsl_rng *r, float *w, float *g, int n, float s, int bits)
{
    int qmax = quant_qmax_signed(bits);
    for (int k = 0; k < n; k++) {
        double v;
        if (k % 4 == 3) {
            v = qmax + 1 + 9.0 * gsl_rng_uniform(r);
        } else {
            long c = (long)gsl_rng_uniform_int(r, (unsigned long)(2 * qmax + 1)) - qmax;
            v = (double)c + 0.7 * (gsl_rng_uniform(r) - 0.5);
            if (c == qmax || c == -qmax) /* stay inside: v within [-Q, Q] */
                v = (double)c - (c > 0 ? 1 : -1) * 0.35 * gsl_rng_uniform(r);
        }
        if (gsl_rng_uniform(r) < 0.5)
            v = -v;
        w[k] = (float)(v * (double)s);
        g[k] = (float)(2.0 * gsl_rng_uniform(r) - 1.0);
    }
}

/* The LSQ gradient as central differences: the forward out(s) differenced
 * (its code part), plus the STE's chain term s * dv/ds for unclipped elements
 * (d round(v) / dv = 1), also differenced. */
static double lsq_fd(const float *w, const float *g, int n, float s, int hi_bits,
                     int lo_bits, enum quant_scheme sch)
{
    float sp = s * (1.0f + (float)FD_STEP_REL), sm = s * (1.0f - (float)FD_STEP_REL);
    double den = (double)sp - (double)sm;
    float *op = malloc((size_t)n * sizeof *op), *om = malloc((size_t)n * sizeof *om);
    ck_assert(op != NULL && om != NULL);
    if (lo_bits == hi_bits) {
        quant_weight_fake(w, (size_t)n, sp, hi_bits, op, NULL);
        quant_weight_fake(w, (size_t)n, sm, hi_bits, om, NULL);
    } else {
        quant_weight_fake_nested(w, (size_t)n, sp, hi_bits, lo_bits, sch, op, NULL);
        quant_weight_fake_nested(w, (size_t)n, sm, hi_bits, lo_bits, sch, om, NULL);
    }
    int qmax = quant_qmax_signed(hi_bits);
    double sum = 0.0;
    for (int k = 0; k < n; k++) {
        double d_out = ((double)op[k] - (double)om[k]) / den;
        double v = (double)w[k] / (double)s;
        double d_v = ((double)w[k] / (double)sp - (double)w[k] / (double)sm) / den;
        double ste = fabs(v) <= qmax ? (double)s * d_v : 0.0;
        sum += (double)g[k] * (d_out + ste);
    }
    free(op);
    free(om);
    return sum / sqrt((double)n * qmax);
}

START_TEST(lsq_finite_differences)
{
    gsl_rng *r = cim_rng_alloc(13, cim_rng_stream(CIM_RNG_TEST, 3));
    enum { N = 64 };
    float w[N], g[N];
    const int bits_list[] = {8, 4, 2};
    const float scales[] = {0.0123f, 2.385f};
    for (size_t b = 0; b < LEN(bits_list); b++)
        for (size_t si = 0; si < LEN(scales); si++) {
            int bits = bits_list[b];
            float s = scales[si];
            lsq_points(r, w, g, N, s, bits);
            double got = quant_lsq_grad_scale(w, g, N, s, bits);
            double fd = lsq_fd(w, g, N, s, bits, bits, QUANT_SCHEME_NESTED);
            ck_assert_msg(fabs(got - fd) <= TOL_FD_REL * (1.0 + fabs(fd)),
                          "bits %d s %g: lsq %.9g fd %.9g", bits, (double)s, got, fd);
        }
    /* Nested 8 -> 4 (and 8 -> 2, 6 -> 3) through both schemes. */
    const int pairs[][2] = {{8, 4}, {8, 2}, {6, 3}};
    for (size_t p = 0; p < LEN(pairs); p++)
        for (int sc = 0; sc < 2; sc++) {
            enum quant_scheme sch = sc ? QUANT_SCHEME_NESTED_ROUND : QUANT_SCHEME_NESTED;
            float s = 0.0123f;
            lsq_points(r, w, g, N, s, pairs[p][0]);
            double got =
                quant_lsq_grad_scale_nested(w, g, N, s, pairs[p][0], pairs[p][1], sch);
            double fd = lsq_fd(w, g, N, s, pairs[p][0], pairs[p][1], sch);
            ck_assert_msg(fabs(got - fd) <= TOL_FD_REL * (1.0 + fabs(fd)),
                          "%d->%d %s: lsq %.9g fd %.9g", pairs[p][0], pairs[p][1],
                          quant_scheme_name(sch), got, fd);
        }
    gsl_rng_free(r);
}
END_TEST

START_TEST(lsq_rows)
{
    gsl_rng *r = cim_rng_alloc(14, cim_rng_stream(CIM_RNG_TEST, 4));
    enum { ROWS = 3, COLS = 20 };
    float w[ROWS * COLS], g[ROWS * COLS];
    float s[ROWS] = {0.05f, 0.1f, 0.2f};
    double grad[ROWS];
    for (int k = 0; k < ROWS * COLS; k++) {
        w[k] = (float)(gsl_rng_uniform(r) * 2.0 - 1.0);
        g[k] = (float)(gsl_rng_uniform(r) * 2.0 - 1.0);
    }
    quant_lsq_grad_scale_rows(w, g, ROWS, COLS, s, 4, grad);
    for (int i = 0; i < ROWS; i++)
        ck_assert(grad[i] == quant_lsq_grad_scale(w + i * COLS, g + i * COLS, COLS, s[i], 4));
    quant_lsq_grad_scale_nested_rows(w, g, ROWS, COLS, s, 8, 4, QUANT_SCHEME_NESTED, grad);
    for (int i = 0; i < ROWS; i++)
        ck_assert(grad[i] == quant_lsq_grad_scale_nested(w + i * COLS, g + i * COLS, COLS,
                                                         s[i], 8, 4, QUANT_SCHEME_NESTED));
    gsl_rng_free(r);
}
END_TEST

/* ---------------------------------------------------------------- PACT */

START_TEST(pact_forward_and_mask)
{
    /* alpha = 2.385, 4 bits: s = alpha / 15. */
    const float alpha = 2.385f;
    float x[] = {-0.5f, 0.0f, 1.0f, 2.38f, 2.385f, 2.4f, 10.0f};
    uint8_t want_p[] = {0, 1, 1, 1, 0, 0, 0};
    enum { N = LEN(x) };
    float out[N], ref[N], outn[N], refn[N];
    uint8_t pass[N], passn[N];
    float s = alpha / 15.0f;
    quant_pact_fake(x, N, alpha, 4, out, pass);
    quant_act_fake(x, N, s, 4, ref, NULL);
    quant_pact_fake_nested(x, N, alpha, 8, 4, outn, passn);
    quant_act_fake_nested(x, N, alpha / 255.0f, 8, 4, refn, NULL);
    for (int k = 0; k < N; k++) {
        ck_assert(out[k] == ref[k]);
        ck_assert(outn[k] == refn[k]);
        ck_assert_int_eq(pass[k], want_p[k]);
        ck_assert_int_eq(passn[k], want_p[k]);
    }
    /* A clipped input gives alpha itself (up to the rounding of s * 15). */
    ck_assert(fabs((double)out[6] - (double)alpha) <= TOL_ALPHA);
}
END_TEST

/* PACT's gradient is the derivative of its STE surrogate, the clip
 * y(alpha) = clamp(x, 0, alpha) (quantization as the identity), which
 * central differences give exactly away from x = alpha: inputs are kept at
 * least 0.05 from alpha and the step is 1e-3. The nested surrogate clips at
 * alpha * 16 * 15 / 255. */
START_TEST(pact_finite_differences)
{
    gsl_rng *r = cim_rng_alloc(15, cim_rng_stream(CIM_RNG_TEST, 5));
    enum { N = 200 };
    float x[N], g[N];
    const float alpha = 2.385f;
    for (int k = 0; k < N; k++) {
        double v = 4.0 * gsl_rng_uniform(r) - 0.5;
        if (fabs(v - (double)alpha) < 0.05)
            v += 0.1;
        x[k] = (float)v;
        g[k] = (float)(2.0 * gsl_rng_uniform(r) - 1.0);
    }
    const double h = 1e-3, factor = 16.0 * 15.0 / 255.0;
    double fd = 0.0, fdn = 0.0;
    for (int k = 0; k < N; k++) {
        double xp = (double)x[k] < 0 ? 0 : (double)x[k];
        double yp = fmin(xp, (double)alpha + h), ym = fmin(xp, (double)alpha - h);
        fd += (double)g[k] * (yp - ym) / (2 * h);
        double np = xp >= (double)alpha + h ? factor * ((double)alpha + h) : xp;
        double nm = xp >= (double)alpha - h ? factor * ((double)alpha - h) : xp;
        fdn += (double)g[k] * (np - nm) / (2 * h);
    }
    double got = quant_pact_grad_alpha(x, g, N, alpha);
    double gotn = quant_pact_grad_alpha_nested(x, g, N, alpha, 8, 4);
    ck_assert_msg(fabs(got - fd) < TOL_PACT_FD, "pact %.12g fd %.12g", got, fd);
    ck_assert_msg(fabs(gotn - fdn) < TOL_PACT_FD, "pact nested %.12g fd %.12g", gotn, fdn);
    ck_assert(quant_pact_grad_alpha(x, g, 0, alpha) == 0.0);

    /* And the forward agrees with the surrogate where it clips: out = alpha
     * (up to s * Qu), nested out = factor * alpha. */
    float out[N], outn[N];
    quant_pact_fake(x, N, alpha, 4, out, NULL);
    quant_pact_fake_nested(x, N, alpha, 8, 4, outn, NULL);
    for (int k = 0; k < N; k++)
        if (x[k] >= alpha) {
            ck_assert(fabs((double)out[k] - (double)alpha) < TOL_ALPHA);
            ck_assert(fabs((double)outn[k] - factor * (double)alpha) < TOL_ALPHA);
        }
    gsl_rng_free(r);
}
END_TEST

/* ---------------------------------------------------------------- asserts */

static int32_t sink;

static void quiet_stderr(void)
{
    ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
}

START_TEST(abort_nest_independent)
{
    quiet_stderr();
    sink = quant_nest_code(5, 8, 4, QUANT_SCHEME_INDEPENDENT);
}
END_TEST

START_TEST(abort_nest_out_of_range)
{
    quiet_stderr();
    sink = quant_nest_code(128, 8, 4, QUANT_SCHEME_NESTED);
}
END_TEST

START_TEST(abort_nest_lo_above_hi)
{
    quiet_stderr();
    sink = quant_nest_code(1, 4, 8, QUANT_SCHEME_NESTED);
}
END_TEST

START_TEST(abort_qmax_bits)
{
    quiet_stderr();
    sink = quant_qmax_signed(1);
}
END_TEST

START_TEST(abort_scale_zero)
{
    quiet_stderr();
    float w = 1.0f, out;
    quant_weight_fake(&w, 1, 0.0f, 8, &out, NULL);
}
END_TEST

START_TEST(abort_fake_nested_independent)
{
    quiet_stderr();
    float w = 1.0f, out;
    quant_weight_fake_nested(&w, 1, 0.1f, 8, 4, QUANT_SCHEME_INDEPENDENT, &out, NULL);
}
END_TEST

START_TEST(abort_act_bits)
{
    quiet_stderr();
    float x = 1.0f, out;
    quant_act_fake(&x, 1, 0.1f, 17, &out, NULL);
}
END_TEST

/* ---------------------------------------------------------------- suite */

static Suite *quant_suite(void)
{
    Suite *s = suite_create("quant");
    TCase *tc = tcase_create("quantizer");
    tcase_add_test(tc, qmax_values);
    tcase_add_test(tc, weight_table);
    tcase_add_test(tc, weight_nonfinite_and_alias);
    tcase_add_test(tc, weight_rows);
    tcase_add_test(tc, nest_every_8bit_code);
    tcase_add_test(tc, nest_all_widths);
    tcase_add_test(tc, weight_fake_nested);
    tcase_add_test(tc, scheme_names);
    tcase_add_test(tc, act_table);
    tcase_add_test(tc, act_nested);
    tcase_add_test(tc, lsq_hand);
    tcase_add_test(tc, lsq_finite_differences);
    tcase_add_test(tc, lsq_rows);
    tcase_add_test(tc, pact_forward_and_mask);
    tcase_add_test(tc, pact_finite_differences);

    /* Asserts kill the runner itself without fork (CK_FORK=no). */
    const char *fork_env = getenv("CK_FORK");
    if (fork_env == NULL || strcmp(fork_env, "no") != 0) {
        tcase_add_test_raise_signal(tc, abort_nest_independent, SIGABRT);
        tcase_add_test_raise_signal(tc, abort_nest_out_of_range, SIGABRT);
        tcase_add_test_raise_signal(tc, abort_nest_lo_above_hi, SIGABRT);
        tcase_add_test_raise_signal(tc, abort_qmax_bits, SIGABRT);
        tcase_add_test_raise_signal(tc, abort_scale_zero, SIGABRT);
        tcase_add_test_raise_signal(tc, abort_fake_nested_independent, SIGABRT);
        tcase_add_test_raise_signal(tc, abort_act_bits, SIGABRT);
    }
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(quant_suite)
