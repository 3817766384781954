/*
 * round.h: integer rounding and overflow, the output stage of every datapath.
 *
 * A crossbar column, a dot product or a shift-add accumulator produces a wide
 * signed accumulator; the digital periphery then drops `shift` low bits with a
 * rounding rule and fits the result into `out_bits` signed bits by wrapping or
 * saturating. This file is the one definition of that step. The C periphery
 * model (cim/) calls it, and the Verilog test vectors (rtl/) are computed with
 * it, so the RTL parameters of `cim_dot` map one to one:
 *
 *     Verilog            C
 *     SHIFT = s          shift = s                  (0 .. QUANT_SHIFT_MAX)
 *     ROUND = 0, 1, 2    QUANT_ROUND_FLOOR, _HALF_UP, _HALF_EVEN
 *     SAT   = 0, 1       QUANT_OVERFLOW_WRAP, _SATURATE
 *     OUT_W = w          out_bits = w               (1 .. 64)
 *
 *     int64_t y = quant_requantize(acc, 6, 8, QUANT_ROUND_HALF_EVEN,
 *                                  QUANT_OVERFLOW_SATURATE);
 *
 * All values are two's-complement int64_t and every result is exact: the
 * functions compute as if with unbounded integers and never overflow
 * internally, whatever `x` is. Rounding is defined on the exact quotient
 * x / 2^shift, and always returns floor(x / 2^shift) or that plus one:
 *
 *     x    shift   exact    floor   half-up   half-even
 *     5      1      2.5       2        3          2
 *     7      1      3.5       3        4          4
 *    -5      1     -2.5      -3       -2         -2
 *    -3      1     -1.5      -2       -1         -2
 *    -1      1     -0.5      -1        0          0
 *    14      2      3.5       3        4          4
 *    13      2      3.25      3        3          3
 *   -13      2     -3.25     -4       -3         -3
 *   -15      2     -3.75     -4       -4         -4
 *
 * In hardware terms, with q = x >>> s (arithmetic shift) and the dropped bits
 * x[s-1:0]: floor is q; half-up is q + x[s-1]; half-even is
 * q + (x[s-1] & (|x[s-2:0] | q[0])) (for s = 1, |x[s-2:0] is 0; for s = 0 all
 * three are x). The "+1" can carry out of q's width: x = 127, s = 1 on an 8-bit
 * accumulator gives 64, one more than the largest 7-bit q, so the RTL must keep
 * one extra bit before saturating or wrapping; the C side simply has the exact
 * value. Likewise Verilog's `(x + (1 << (s-1))) >>> s` gives half-up only when
 * the sum is formed one bit wider than x.
 *
 * Asserts guard against programmer errors only (a shift or width out of range,
 * an enum value that is none of its names); the command line validates user
 * input with quant_round_parse() / quant_overflow_parse() and the constants below.
 */
#ifndef CIM_QUANT_ROUND_H
#define CIM_QUANT_ROUND_H

#include <stdint.h>

/* How the dropped low bits round the kept value; numeric values equal the
 * Verilog parameter ROUND. */
enum quant_round {
    QUANT_ROUND_FLOOR = 0,     /* toward -inf: drop the bits (two's-complement truncation) */
    QUANT_ROUND_HALF_UP = 1,   /* nearest, ties toward +inf */
    QUANT_ROUND_HALF_EVEN = 2  /* nearest, ties to the even result */
};

/* What happens to a rounded value outside the output width; numeric values
 * equal the Verilog parameter SAT. */
enum quant_overflow {
    QUANT_OVERFLOW_WRAP = 0,     /* keep the low bits (modulo 2^bits, sign-extended) */
    QUANT_OVERFLOW_SATURATE = 1  /* clamp to the nearest representable value */
};

#define QUANT_ROUND_COUNT 3
#define QUANT_OVERFLOW_COUNT 2

/* Valid ranges of `shift` and of an output width in bits. */
#define QUANT_SHIFT_MAX 62
#define QUANT_BITS_MIN 1
#define QUANT_BITS_MAX 64

/* x / 2^shift, rounded by `mode`.
 *
 * x: any int64_t, including INT64_MIN and INT64_MAX.
 * shift: number of low bits dropped, 0 .. QUANT_SHIFT_MAX (asserted).
 * mode: a value of enum quant_round (asserted).
 *
 * Returns the rounded quotient, which always fits in int64_t: it lies in
 * [-2^(63-shift), 2^(63-shift)] for shift >= 1, and equals x for shift 0 in every
 * mode. FLOOR is exactly `x >> shift` on a two's-complement machine with
 * arithmetic shifts (what Verilog's signed `>>>` gives), computed here without
 * relying on how C shifts negative numbers. HALF_UP is floor(x / 2^shift + 1/2);
 * HALF_EVEN is the nearest integer with ties sent to the even one. Ties exist
 * only for shift >= 1, when the dropped bits are exactly 100...0.
 *
 *     x                  shift   floor      half-up    half-even
 *     INT64_MAX            1     2^62-1     2^62       2^62
 *     INT64_MAX           62     1          2          2
 *     INT64_MIN           62     -2         -2         -2
 *     -2^61               62     -1         0          0
 */
int64_t quant_round_shift(int64_t x, int shift, enum quant_round mode);

/* x clamped to the signed range of `bits` bits, [-2^(bits-1), 2^(bits-1) - 1].
 *
 * bits: 1 .. 64 (asserted); 64 returns x unchanged, 1 gives the range [-1, 0].
 * Examples, bits = 8: 127 -> 127, 128 -> 127, -128 -> -128, -300 -> -128. */
int64_t quant_saturate(int64_t x, int bits);

/* The low `bits` bits of x read as a signed `bits`-bit number: x modulo 2^bits,
 * mapped into [-2^(bits-1), 2^(bits-1) - 1]. This is what a `bits`-wide register
 * holds after assignment from a wider value.
 *
 * bits: 1 .. 64 (asserted); 64 returns x unchanged, 1 gives 0 for even x and -1
 * for odd x. Examples, bits = 8: 127 -> 127, 128 -> -128, 255 -> -1, 256 -> 0,
 * -129 -> 127, 300 -> 44. */
int64_t quant_wrap(int64_t x, int bits);

/* The complete output stage: quant_round_shift(acc, shift, mode), then
 * quant_saturate() or quant_wrap() to `out_bits` according to `ov`.
 *
 * acc: the wide signed accumulator, any int64_t.
 * shift: 0 .. QUANT_SHIFT_MAX; out_bits: 1 .. 64; mode, ov: enum values (all
 * asserted).
 *
 * Overflow is judged on the exact rounded value, so a rounding carry can push a
 * result over the top: acc = 1020, shift 3, out_bits 8 gives 127 with FLOOR but
 * 127.5 -> 128 with HALF_UP, which saturates to 127 or wraps to -128. */
int64_t quant_requantize(int64_t acc, int shift, int out_bits, enum quant_round mode,
                         enum quant_overflow ov);

/* The command-line name of a rounding mode: "floor", "half-up", "half-even".
 * `mode` must be a value of the enum (asserted; "?" if asserts are compiled
 * out); the string is static. */
const char *quant_round_name(enum quant_round mode);

/* The rounding mode named `name` (exactly one of the strings above, case
 * sensitive), or -1 when `name` is NULL or names no mode. */
int quant_round_parse(const char *name);

/* The command-line name of an overflow mode: "wrap", "saturate"; otherwise as
 * quant_round_name(). */
const char *quant_overflow_name(enum quant_overflow ov);

/* The overflow mode named `name` ("wrap" or "saturate"), or -1 when `name` is
 * NULL or names no mode. */
int quant_overflow_parse(const char *name);

/* x rounded to the nearest integer, ties to even, as a float; for the
 * floating-point quantizers (fake-quant, weight and activation codes).
 *
 * This is nearbyintf(), which rounds in the current rounding mode; cim never
 * changes that mode, so it is round-to-nearest-even, and unlike rintf() it
 * raises no inexact exception. roundf() is not used because it sends ties away
 * from zero (2.5 -> 3, -2.5 -> -3): ties are frequent when a scale is a power of
 * two or codes are sliced, and away-from-zero rounding then biases every
 * quantized tensor outward. Examples: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> -0,
 * -2.5 -> -2, 2.385 -> 2. Integral values, infinities and NaN come back
 * unchanged (the sign of zero is kept). */
float quant_round_even(float x);

#endif
