/*
 * round.c: integer rounding and overflow (see round.h for the semantics).
 *
 * Everything here is computed on the exact value without a wider type. The
 * quotient is floor(x / 2^s); the dropped bits are x mod 2^s, read in uint64_t
 * where the conversion from int64_t is defined as reduction modulo 2^64; the
 * rounded result is the floor plus 0 or 1. Nothing shifts a negative number
 * (implementation-defined in C) and nothing adds a rounding constant to x (which
 * could overflow near INT64_MAX).
 */
#include "quant/round.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* The numeric values are the Verilog parameters ROUND and SAT of rtl/. */
_Static_assert(QUANT_ROUND_FLOOR == 0 && QUANT_ROUND_HALF_UP == 1 &&
                   QUANT_ROUND_HALF_EVEN == 2 && QUANT_ROUND_COUNT == 3,
               "enum quant_round must match the RTL parameter ROUND");
_Static_assert(QUANT_OVERFLOW_WRAP == 0 && QUANT_OVERFLOW_SATURATE == 1 &&
                   QUANT_OVERFLOW_COUNT == 2,
               "enum quant_overflow must match the RTL parameter SAT");

/* ---------------------------------------------------------------- rounding */

/* floor(x / 2^s) for 0 <= s <= 63. For negative x, ~x = -x - 1 is non-negative
 * and floor(x / 2^s) = -floor((-x - 1) / 2^s) - 1 = ~(~x >> s), so only
 * non-negative values are ever shifted. */
static int64_t floor_shift(int64_t x, int s)
{
    return x >= 0 ? x >> s : ~(~x >> s);
}

int64_t quant_round_shift(int64_t x, int shift, enum quant_round mode)
{
    assert(shift >= 0 && shift <= QUANT_SHIFT_MAX);
    assert((unsigned)mode < QUANT_ROUND_COUNT);
    if (shift == 0)
        return x;

    /* q <= 2^(63-shift) - 1, so q + 1 below cannot overflow. */
    int64_t q = floor_shift(x, shift);
    uint64_t rem = (uint64_t)x & ((UINT64_C(1) << shift) - 1);
    uint64_t half = UINT64_C(1) << (shift - 1);

    switch (mode) {
    case QUANT_ROUND_FLOOR:
        return q;
    case QUANT_ROUND_HALF_UP:
        return q + (rem >= half);
    case QUANT_ROUND_HALF_EVEN:
        /* On a tie the result is q when q is even, q + 1 when q is odd. */
        return q + (rem > half || (rem == half && ((uint64_t)q & 1u)));
    }
    assert(0 && "quant_round_shift: not a quant_round value");
    return q;
}

/* ---------------------------------------------------------------- overflow */

int64_t quant_saturate(int64_t x, int bits)
{
    assert(bits >= QUANT_BITS_MIN && bits <= QUANT_BITS_MAX);
    if (bits == 64)
        return x;
    int64_t hi = (INT64_C(1) << (bits - 1)) - 1;
    int64_t lo = -hi - 1;
    return x > hi ? hi : x < lo ? lo : x;
}

/* The low bits are taken in uint64_t; a value at or above 2^(bits-1) stands for
 * low - 2^bits, formed as (low - half) - half so that no step leaves int64_t. */
int64_t quant_wrap(int64_t x, int bits)
{
    assert(bits >= QUANT_BITS_MIN && bits <= QUANT_BITS_MAX);
    if (bits == 64)
        return x;
    uint64_t half = UINT64_C(1) << (bits - 1);
    uint64_t low = (uint64_t)x & ((half << 1) - 1);
    if (low < half)
        return (int64_t)low;
    return (int64_t)(low - half) - (int64_t)(half - 1) - 1;
}

int64_t quant_requantize(int64_t acc, int shift, int out_bits, enum quant_round mode,
                         enum quant_overflow ov)
{
    assert(out_bits >= QUANT_BITS_MIN && out_bits <= QUANT_BITS_MAX);
    assert((unsigned)ov < QUANT_OVERFLOW_COUNT);
    int64_t r = quant_round_shift(acc, shift, mode);
    return ov == QUANT_OVERFLOW_SATURATE ? quant_saturate(r, out_bits)
                                         : quant_wrap(r, out_bits);
}

/* ---------------------------------------------------------------- names */

static const char *const round_names[QUANT_ROUND_COUNT] = {
    [QUANT_ROUND_FLOOR] = "floor",
    [QUANT_ROUND_HALF_UP] = "half-up",
    [QUANT_ROUND_HALF_EVEN] = "half-even",
};

static const char *const overflow_names[QUANT_OVERFLOW_COUNT] = {
    [QUANT_OVERFLOW_WRAP] = "wrap",
    [QUANT_OVERFLOW_SATURATE] = "saturate",
};

/* Index of `name` in `names[n]`, or -1; NULL never matches. */
static int name_lookup(const char *const *names, int n, const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

const char *quant_round_name(enum quant_round mode)
{
    assert((unsigned)mode < QUANT_ROUND_COUNT);
    return (unsigned)mode < QUANT_ROUND_COUNT ? round_names[mode] : "?";
}

int quant_round_parse(const char *name)
{
    return name_lookup(round_names, QUANT_ROUND_COUNT, name);
}

const char *quant_overflow_name(enum quant_overflow ov)
{
    assert((unsigned)ov < QUANT_OVERFLOW_COUNT);
    return (unsigned)ov < QUANT_OVERFLOW_COUNT ? overflow_names[ov] : "?";
}

int quant_overflow_parse(const char *name)
{
    return name_lookup(overflow_names, QUANT_OVERFLOW_COUNT, name);
}

/* ---------------------------------------------------------------- float */

float quant_round_even(float x)
{
    return nearbyintf(x);
}
