/*
 * quantizer.c: uniform quantizers, STE masks, nesting, LSQ and PACT gradients
 * (see quantizer.h for the semantics and their sources).
 *
 * Every element goes through quant_code_signed() / quant_code_unsigned() on
 * v = x / s computed in float, so the fake-quant forward, the integer codes and
 * the range searches of range.c agree bit for bit. A value is formed as
 * code * (s * 2^d): s * 2^d is exact (a power-of-two scaling), so the one
 * rounding of the product gives the same float as (code * 2^d) * s.
 */
#include "quant/quantizer.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "quant/round.h"

/* Programmer-error checks shared by every entry point. */
#define ASSERT_SCALE(s) assert((s) > 0.0f && isfinite(s))
#define ASSERT_WBITS(b) assert((b) >= QUANT_WBITS_MIN && (b) <= QUANT_WBITS_MAX)
#define ASSERT_ABITS(b) assert((b) >= QUANT_ABITS_MIN && (b) <= QUANT_ABITS_MAX)

int quant_qmax_signed(int bits)
{
    ASSERT_WBITS(bits);
    return (1 << (bits - 1)) - 1;
}

int quant_qmax_unsigned(int bits)
{
    ASSERT_ABITS(bits);
    return (1 << bits) - 1;
}

/* ---------------------------------------------------------------- weights */

/* The STE mask of a signed code of v: not clipped, |v| <= Q + 1/2; NaN fails. */
static uint8_t pass_signed(float v, int qmax)
{
    return fabsf(v) <= (float)qmax + 0.5f;
}

static uint8_t pass_unsigned(float v, int qmax)
{
    return v >= 0.0f && v <= (float)qmax + 0.5f;
}

void quant_weight_codes(const float *w, size_t n, float s, int bits, int32_t *q)
{
    ASSERT_SCALE(s);
    int qmax = quant_qmax_signed(bits);
    for (size_t k = 0; k < n; k++)
        q[k] = quant_code_signed(w[k] / s, qmax);
}

void quant_weight_fake(const float *w, size_t n, float s, int bits, float *out,
                       uint8_t *pass)
{
    ASSERT_SCALE(s);
    int qmax = quant_qmax_signed(bits);
    for (size_t k = 0; k < n; k++) {
        float v = w[k] / s;
        if (pass != NULL)
            pass[k] = pass_signed(v, qmax);
        out[k] = v != v ? v : (float)quant_code_signed(v, qmax) * s;
    }
}

void quant_weight_codes_rows(const float *w, int rows, int cols, const float *s, int bits,
                             int32_t *q)
{
    assert(rows >= 0 && cols >= 0);
    for (int r = 0; r < rows; r++) {
        size_t off = (size_t)r * (size_t)cols;
        quant_weight_codes(w + off, (size_t)cols, s[r], bits, q + off);
    }
}

void quant_weight_fake_rows(const float *w, int rows, int cols, const float *s, int bits,
                            float *out, uint8_t *pass)
{
    assert(rows >= 0 && cols >= 0);
    for (int r = 0; r < rows; r++) {
        size_t off = (size_t)r * (size_t)cols;
        quant_weight_fake(w + off, (size_t)cols, s[r], bits, out + off,
                          pass != NULL ? pass + off : NULL);
    }
}

/* ---------------------------------------------------------------- nesting */

static const char *const scheme_names[QUANT_SCHEME_COUNT] = {
    [QUANT_SCHEME_NESTED] = "nested",
    [QUANT_SCHEME_NESTED_ROUND] = "nested-round",
    [QUANT_SCHEME_INDEPENDENT] = "independent",
};

const char *quant_scheme_name(enum quant_scheme s)
{
    assert((unsigned)s < QUANT_SCHEME_COUNT);
    return (unsigned)s < QUANT_SCHEME_COUNT ? scheme_names[s] : "?";
}

int quant_scheme_parse(const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < QUANT_SCHEME_COUNT; i++)
        if (strcmp(scheme_names[i], name) == 0)
            return i;
    return -1;
}

/* Magnitude shifts only: no negative number is ever shifted. */
int32_t quant_nest_code(int32_t q_hi, int hi_bits, int lo_bits, enum quant_scheme s)
{
    int qmax_hi = quant_qmax_signed(hi_bits);
    int qmax_lo = quant_qmax_signed(lo_bits);
    assert(lo_bits <= hi_bits);
    assert(q_hi >= -qmax_hi && q_hi <= qmax_hi);
    (void)qmax_hi;
    int d = hi_bits - lo_bits;

    switch (s) {
    case QUANT_SCHEME_NESTED: {
        int32_t mag = (q_hi < 0 ? -q_hi : q_hi) >> d;
        return q_hi < 0 ? -mag : mag;
    }
    case QUANT_SCHEME_NESTED_ROUND: {
        int64_t r = quant_round_shift(q_hi, d, QUANT_ROUND_HALF_EVEN);
        return (int32_t)(r > qmax_lo ? qmax_lo : r < -qmax_lo ? -qmax_lo : r);
    }
    case QUANT_SCHEME_INDEPENDENT:
        break;
    }
    assert(0 && "quant_nest_code: independent is not a nesting");
    return 0;
}

void quant_weight_fake_nested(const float *w, size_t n, float s_hi, int hi_bits,
                              int lo_bits, enum quant_scheme sch, float *out,
                              uint8_t *pass)
{
    ASSERT_SCALE(s_hi);
    assert(sch == QUANT_SCHEME_NESTED || sch == QUANT_SCHEME_NESTED_ROUND);
    assert(lo_bits >= QUANT_WBITS_MIN && lo_bits <= hi_bits);
    int qmax = quant_qmax_signed(hi_bits);
    float s_lo = ldexpf(s_hi, hi_bits - lo_bits);
    for (size_t k = 0; k < n; k++) {
        float v = w[k] / s_hi;
        if (pass != NULL)
            pass[k] = pass_signed(v, qmax);
        int32_t q = quant_nest_code(quant_code_signed(v, qmax), hi_bits, lo_bits, sch);
        out[k] = v != v ? v : (float)q * s_lo;
    }
}

void quant_weight_fake_nested_rows(const float *w, int rows, int cols, const float *s_hi,
                                   int hi_bits, int lo_bits, enum quant_scheme sch,
                                   float *out, uint8_t *pass)
{
    assert(rows >= 0 && cols >= 0);
    for (int r = 0; r < rows; r++) {
        size_t off = (size_t)r * (size_t)cols;
        quant_weight_fake_nested(w + off, (size_t)cols, s_hi[r], hi_bits, lo_bits, sch,
                                 out + off, pass != NULL ? pass + off : NULL);
    }
}

/* ---------------------------------------------------------------- activations */

void quant_act_codes(const float *x, size_t n, float s, int bits, uint16_t *a)
{
    ASSERT_SCALE(s);
    int qmax = quant_qmax_unsigned(bits);
    for (size_t k = 0; k < n; k++)
        a[k] = (uint16_t)quant_code_unsigned(x[k] / s, qmax);
}

void quant_act_fake(const float *x, size_t n, float s, int bits, float *out, uint8_t *pass)
{
    ASSERT_SCALE(s);
    int qmax = quant_qmax_unsigned(bits);
    for (size_t k = 0; k < n; k++) {
        float v = x[k] / s;
        if (pass != NULL)
            pass[k] = pass_unsigned(v, qmax);
        out[k] = v != v ? v : (float)quant_code_unsigned(v, qmax) * s;
    }
}

uint16_t quant_act_nest_code(uint16_t a_hi, int hi_bits, int lo_bits)
{
    int qmax_hi = quant_qmax_unsigned(hi_bits);
    ASSERT_ABITS(lo_bits);
    assert(lo_bits <= hi_bits);
    assert(a_hi <= qmax_hi);
    (void)qmax_hi;
    return (uint16_t)(a_hi >> (hi_bits - lo_bits));
}

void quant_act_fake_nested(const float *x, size_t n, float s_hi, int hi_bits, int lo_bits,
                           float *out, uint8_t *pass)
{
    ASSERT_SCALE(s_hi);
    ASSERT_ABITS(lo_bits);
    assert(lo_bits <= hi_bits);
    int qmax = quant_qmax_unsigned(hi_bits);
    int d = hi_bits - lo_bits;
    float s_lo = ldexpf(s_hi, d);
    for (size_t k = 0; k < n; k++) {
        float v = x[k] / s_hi;
        if (pass != NULL)
            pass[k] = pass_unsigned(v, qmax);
        int32_t a = quant_code_unsigned(v, qmax) >> d;
        out[k] = v != v ? v : (float)a * s_lo;
    }
}

/* ---------------------------------------------------------------- LSQ */

/* sum_k g[k] * d out_lo[k] / d s for a nesting of depth d (d = 0 and sch
 * ignored: plain LSQ, N(q) = q). See quantizer.h for the derivation. */
static double lsq_sum(const float *w, const float *g, size_t n, float s, int hi_bits,
                      int lo_bits, enum quant_scheme sch)
{
    int qmax = quant_qmax_signed(hi_bits);
    int d = hi_bits - lo_bits;
    double two_d = ldexp(1.0, d);
    double sum = 0.0;
    for (size_t k = 0; k < n; k++) {
        float v = w[k] / s;
        int32_t q = quant_code_signed(v, qmax);
        double dq = d == 0 ? (double)q : two_d * quant_nest_code(q, hi_bits, lo_bits, sch);
        /* Inside the range the STE adds -v (round and nest as identity); a
         * clipped code is a constant, so its term is the code alone. NaN adds
         * nothing. */
        if (v != v)
            continue;
        if (v >= (float)-qmax && v <= (float)qmax)
            dq -= (double)v;
        sum += (double)g[k] * dq;
    }
    return sum;
}

static double lsq_gscale(size_t n, int qmax)
{
    return 1.0 / sqrt((double)n * (double)qmax);
}

double quant_lsq_grad_scale(const float *w, const float *g, size_t n, float s, int bits)
{
    ASSERT_SCALE(s);
    int qmax = quant_qmax_signed(bits);
    if (n == 0)
        return 0.0;
    return lsq_sum(w, g, n, s, bits, bits, QUANT_SCHEME_NESTED) * lsq_gscale(n, qmax);
}

void quant_lsq_grad_scale_rows(const float *w, const float *g, int rows, int cols,
                               const float *s, int bits, double *grad)
{
    assert(rows >= 0 && cols >= 0);
    for (int r = 0; r < rows; r++) {
        size_t off = (size_t)r * (size_t)cols;
        grad[r] = quant_lsq_grad_scale(w + off, g + off, (size_t)cols, s[r], bits);
    }
}

double quant_lsq_grad_scale_nested(const float *w, const float *g, size_t n, float s_hi,
                                   int hi_bits, int lo_bits, enum quant_scheme sch)
{
    ASSERT_SCALE(s_hi);
    assert(sch == QUANT_SCHEME_NESTED || sch == QUANT_SCHEME_NESTED_ROUND);
    assert(lo_bits >= QUANT_WBITS_MIN && lo_bits <= hi_bits);
    int qmax = quant_qmax_signed(hi_bits);
    if (n == 0)
        return 0.0;
    return lsq_sum(w, g, n, s_hi, hi_bits, lo_bits, sch) * lsq_gscale(n, qmax);
}

void quant_lsq_grad_scale_nested_rows(const float *w, const float *g, int rows, int cols,
                                      const float *s_hi, int hi_bits, int lo_bits,
                                      enum quant_scheme sch, double *grad)
{
    assert(rows >= 0 && cols >= 0);
    for (int r = 0; r < rows; r++) {
        size_t off = (size_t)r * (size_t)cols;
        grad[r] = quant_lsq_grad_scale_nested(w + off, g + off, (size_t)cols, s_hi[r],
                                              hi_bits, lo_bits, sch);
    }
}

/* ---------------------------------------------------------------- PACT */

/* PACT's STE for x: inside [0, alpha). */
static void pact_pass(const float *x, size_t n, float alpha, uint8_t *pass)
{
    if (pass == NULL)
        return;
    for (size_t k = 0; k < n; k++)
        pass[k] = x[k] >= 0.0f && x[k] < alpha;
}

void quant_pact_fake(const float *x, size_t n, float alpha, int bits, float *out,
                     uint8_t *pass)
{
    ASSERT_SCALE(alpha);
    float s = alpha / (float)quant_qmax_unsigned(bits);
    /* The mask is taken first: out may alias x. */
    pact_pass(x, n, alpha, pass);
    quant_act_fake(x, n, s, bits, out, NULL);
}

void quant_pact_fake_nested(const float *x, size_t n, float alpha, int hi_bits,
                            int lo_bits, float *out, uint8_t *pass)
{
    ASSERT_SCALE(alpha);
    float s = alpha / (float)quant_qmax_unsigned(hi_bits);
    pact_pass(x, n, alpha, pass);
    quant_act_fake_nested(x, n, s, hi_bits, lo_bits, out, NULL);
}

double quant_pact_grad_alpha(const float *x, const float *g, size_t n, float alpha)
{
    ASSERT_SCALE(alpha);
    double sum = 0.0;
    for (size_t k = 0; k < n; k++)
        if (x[k] >= alpha)
            sum += (double)g[k];
    return sum;
}

double quant_pact_grad_alpha_nested(const float *x, const float *g, size_t n, float alpha,
                                    int hi_bits, int lo_bits)
{
    int qmax_hi = quant_qmax_unsigned(hi_bits);
    int qmax_lo = quant_qmax_unsigned(lo_bits);
    assert(lo_bits <= hi_bits);
    double factor = ldexp((double)qmax_lo, hi_bits - lo_bits) / (double)qmax_hi;
    return factor * quant_pact_grad_alpha(x, g, n, alpha);
}
