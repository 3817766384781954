/*
 * test_round.c: the integer rounding/overflow family of quant/round.h.
 *
 * Three kinds of evidence: hand-computed tables (written from the exact
 * quotient, not from the code), exhaustive comparison on a small range against a
 * reference that works with exact rationals through C's truncating division, and
 * seeded random comparison over the whole int64_t range against the same
 * reference in 128-bit arithmetic. Out-of-range arguments must trip an assert.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "base/rng.h"
#include "quant/round.h"
#include "testutil.h"

#define NMODES QUANT_ROUND_COUNT

static const enum quant_round all_modes[NMODES] = {
    QUANT_ROUND_FLOOR, QUANT_ROUND_HALF_UP, QUANT_ROUND_HALF_EVEN};

/* ---------------------------------------------------------------- reference */

/* floor(n / d) for d > 0, from C's division that truncates toward zero. */
static long long ref_floor_div(long long n, long long d)
{
    long long q = n / d;
    return (n % d != 0 && n < 0) ? q - 1 : q;
}

/* x / 2^s rounded by `mode`, on the rational x/d with d = 2^s:
 * floor:     floor(x/d)
 * half-up:   floor(x/d + 1/2) = floor((2x + d) / 2d)
 * half-even: floor(x/d), plus one if the remainder is over d/2, or exactly d/2
 *            with an odd floor.
 * Valid while 2|x| + 2d fits in long long. */
static long long ref_round(long long x, int s, enum quant_round mode)
{
    long long d = 1LL << s;
    long long lo = ref_floor_div(x, d);
    long long twice_rem = 2 * (x - lo * d);
    switch (mode) {
    case QUANT_ROUND_FLOOR:
        return lo;
    case QUANT_ROUND_HALF_UP:
        return ref_floor_div(2 * x + d, 2 * d);
    case QUANT_ROUND_HALF_EVEN:
        if (twice_rem != d)
            return twice_rem < d ? lo : lo + 1;
        return lo % 2 == 0 ? lo : lo + 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- tables */

struct round_case {
    int64_t x;
    int shift;
    int64_t want[NMODES]; /* floor, half-up, half-even */
};

#define P2(k) (INT64_C(1) << (k))

/* Each row from the exact quotient in the comment. */
static const struct round_case round_cases[] = {
    {0, 0, {0, 0, 0}},
    {0, 7, {0, 0, 0}},
    {42, 0, {42, 42, 42}},
    {-42, 0, {-42, -42, -42}},
    {1, 1, {0, 1, 0}},            /* 0.5 */
    {-1, 1, {-1, 0, 0}},          /* -0.5 */
    {5, 1, {2, 3, 2}},            /* 2.5 */
    {7, 1, {3, 4, 4}},            /* 3.5 */
    {-5, 1, {-3, -2, -2}},        /* -2.5 */
    {-3, 1, {-2, -1, -2}},        /* -1.5 */
    {-7, 1, {-4, -3, -4}},        /* -3.5 */
    {6, 2, {1, 2, 2}},            /* 1.5 */
    {10, 2, {2, 3, 2}},           /* 2.5 */
    {-6, 2, {-2, -1, -2}},        /* -1.5 */
    {-10, 2, {-3, -2, -2}},       /* -2.5 */
    {13, 2, {3, 3, 3}},           /* 3.25 */
    {14, 2, {3, 4, 4}},           /* 3.5 */
    {15, 2, {3, 4, 4}},           /* 3.75 */
    {-13, 2, {-4, -3, -3}},       /* -3.25 */
    {-14, 2, {-4, -3, -4}},       /* -3.5 */
    {-15, 2, {-4, -4, -4}},       /* -3.75 */
    {1000, 3, {125, 125, 125}},   /* 125 */
    {1003, 3, {125, 125, 125}},   /* 125.375 */
    {1004, 3, {125, 126, 126}},   /* 125.5 */
    {1012, 3, {126, 127, 126}},   /* 126.5 */
    {-1003, 3, {-126, -125, -125}}, /* -125.375 */
    {-1004, 3, {-126, -125, -126}}, /* -125.5 */
    {-1, 8, {-1, 0, 0}},          /* -1/256 */
    {-128, 8, {-1, 0, 0}},        /* -0.5 */
    {-129, 8, {-1, -1, -1}},      /* -0.50390625 */
    {127, 8, {0, 0, 0}},          /* 0.49609375 */
    {384, 8, {1, 2, 2}},          /* 1.5 */
    {-384, 8, {-2, -1, -2}},      /* -1.5 */
    {640, 8, {2, 3, 2}},          /* 2.5 */
    {3 * P2(39), 40, {1, 2, 2}},  /* 1.5 */
    {5 * P2(39), 40, {2, 3, 2}},  /* 2.5 */
    {-5 * P2(39), 40, {-3, -2, -2}}, /* -2.5 */
    {P2(40) + 1, 40, {1, 1, 1}},  /* 1 + 2^-40 */
    {P2(40) - 1, 40, {0, 1, 1}},  /* 1 - 2^-40 */
    {1, 62, {0, 0, 0}},           /* 2^-62 */
    {-1, 62, {-1, 0, 0}},         /* -2^-62 */
    {P2(61), 62, {0, 1, 0}},      /* 0.5 */
    {-P2(61), 62, {-1, 0, 0}},    /* -0.5 */
    {3 * P2(61), 62, {1, 2, 2}},  /* 1.5 */
    {-3 * P2(61), 62, {-2, -1, -2}}, /* -1.5 */
    /* The ends of int64_t, where x + 2^(s-1) would overflow. */
    {INT64_MAX, 0, {INT64_MAX, INT64_MAX, INT64_MAX}},
    {INT64_MIN, 0, {INT64_MIN, INT64_MIN, INT64_MIN}},
    {INT64_MAX, 1, {P2(62) - 1, P2(62), P2(62)}},    /* 2^62 - 0.5 */
    {INT64_MIN, 1, {-P2(62), -P2(62), -P2(62)}},     /* -2^62 */
    {INT64_MIN + 1, 1, {-P2(62), -P2(62) + 1, -P2(62)}}, /* -2^62 + 0.5 */
    {INT64_MAX, 61, {3, 4, 4}},                      /* 4 - 2^-61 */
    {INT64_MAX, 62, {1, 2, 2}},                      /* 2 - 2^-62 */
    {INT64_MIN, 62, {-2, -2, -2}},                   /* -2 */
    {INT64_MIN + 1, 62, {-2, -2, -2}},               /* -2 + 2^-62 */
    {INT64_MAX - P2(61), 62, {1, 1, 1}},             /* 1.5 - 2^-62 */
};

START_TEST(round_shift_table)
{
    for (size_t i = 0; i < sizeof round_cases / sizeof round_cases[0]; i++) {
        const struct round_case *c = &round_cases[i];
        for (int m = 0; m < NMODES; m++) {
            int64_t got = quant_round_shift(c->x, c->shift, all_modes[m]);
            ck_assert_msg(got == c->want[m],
                          "row %zu: x=%lld shift=%d %s: got %lld, want %lld", i,
                          (long long)c->x, c->shift, quant_round_name(all_modes[m]),
                          (long long)got, (long long)c->want[m]);
        }
    }
}
END_TEST

/* Every x in [-4096, 4095] and shift 0..8 in every mode. Mismatches are counted
 * and the first one reported, so that one assert covers 221,184 comparisons. */
START_TEST(round_shift_exhaustive)
{
    long nbad = 0;
    long long bad_x = 0, bad_got = 0, bad_want = 0;
    int bad_s = 0, bad_m = 0;
    for (int m = 0; m < NMODES; m++)
        for (int s = 0; s <= 8; s++)
            for (long long x = -4096; x <= 4095; x++) {
                long long got = quant_round_shift(x, s, all_modes[m]);
                long long want = ref_round(x, s, all_modes[m]);
                if (got != want && nbad++ == 0) {
                    bad_x = x, bad_s = s, bad_m = m, bad_got = got, bad_want = want;
                }
            }
    ck_assert_msg(nbad == 0, "%ld mismatches; first: x=%lld shift=%d %s: got %lld, want %lld",
                  nbad, bad_x, bad_s, quant_round_name(all_modes[bad_m]), bad_got, bad_want);
}
END_TEST

/* Floor must be the arithmetic right shift it models, and every mode must land
 * on floor or floor + 1; checked on the exhaustive range. Relies on GCC/Clang
 * shifting negative numbers arithmetically (documented by both). */
START_TEST(round_shift_is_arithmetic_shift)
{
    for (int s = 0; s <= 8; s++)
        for (int64_t x = -4096; x <= 4095; x++) {
            int64_t fl = quant_round_shift(x, s, QUANT_ROUND_FLOOR);
            ck_assert_int_eq(fl, x >> s);
            for (int m = 1; m < NMODES; m++) {
                int64_t r = quant_round_shift(x, s, all_modes[m]);
                if (r != fl && r != fl + 1)
                    ck_abort_msg("x=%lld shift=%d: %lld not floor or floor+1",
                                 (long long)x, s, (long long)r);
            }
        }
}
END_TEST

/* ---------------------------------------------------------------- random */

/* Seeded, so that a failure reproduces; the stream index names this test. */
#define RANDOM_SEED UINT64_C(20240611)
#define RANDOM_DRAWS 200000

static uint64_t draw_u64(gsl_rng *r)
{
    /* mt19937 gives 32 bits a draw. */
    uint64_t hi = (uint64_t)gsl_rng_get(r) & 0xffffffffu;
    uint64_t lo = (uint64_t)gsl_rng_get(r) & 0xffffffffu;
    return hi << 32 | lo;
}

/* uint64_t to int64_t by the two's-complement bit pattern, without the
 * implementation-defined conversion. */
static int64_t as_i64(uint64_t u)
{
    int64_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}

#ifdef __SIZEOF_INT128__
__extension__ typedef __int128 i128;

static i128 ref128_floor_div(i128 n, i128 d)
{
    i128 q = n / d;
    return (n % d != 0 && n < 0) ? q - 1 : q;
}

/* ref_round() in 128 bits, exact for every int64_t x and shift <= 62. */
static i128 ref128_round(i128 x, int s, enum quant_round mode)
{
    i128 d = (i128)1 << s;
    i128 lo = ref128_floor_div(x, d);
    i128 twice_rem = 2 * (x - lo * d);
    switch (mode) {
    case QUANT_ROUND_FLOOR:
        return lo;
    case QUANT_ROUND_HALF_UP:
        return ref128_floor_div(2 * x + d, 2 * d);
    case QUANT_ROUND_HALF_EVEN:
        if (twice_rem != d)
            return twice_rem < d ? lo : lo + 1;
        return lo % 2 == 0 ? lo : lo + 1;
    }
    return 0;
}

static i128 ref128_saturate(i128 x, int bits)
{
    i128 hi = ((i128)1 << (bits - 1)) - 1;
    return x > hi ? hi : x < -hi - 1 ? -hi - 1 : x;
}

static i128 ref128_wrap(i128 x, int bits)
{
    i128 m = (i128)1 << bits;
    i128 r = ((x % m) + m) % m;
    return r >= m / 2 ? r - m : r;
}
#endif

/* Random x over all of int64_t (a third of them forced onto a tie, a third onto
 * a random small remainder), random shift, bits and modes. */
START_TEST(round_random_full_range)
{
#ifdef __SIZEOF_INT128__
    gsl_rng *r = cim_rng_alloc(RANDOM_SEED, cim_rng_stream(CIM_RNG_TEST, 1));
    ck_assert_ptr_nonnull(r);
    for (long i = 0; i < RANDOM_DRAWS; i++) {
        uint64_t u = draw_u64(r);
        int s = (int)(gsl_rng_get(r) % (QUANT_SHIFT_MAX + 1));
        int bits = 1 + (int)(gsl_rng_get(r) % QUANT_BITS_MAX);
        enum quant_round m = all_modes[gsl_rng_get(r) % NMODES];
        enum quant_overflow ov = (enum quant_overflow)(gsl_rng_get(r) % 2);
        uint64_t mask = (UINT64_C(1) << s) - 1;
        if (s > 0 && i % 3 == 1)
            u = (u & ~mask) | (UINT64_C(1) << (s - 1)); /* a tie */
        else if (s > 0 && i % 3 == 2)
            u = (u & ~mask) | (u >> 60);                /* near a multiple */
        int64_t x = as_i64(u);

        i128 rounded = ref128_round(x, s, m);
        int64_t got = quant_round_shift(x, s, m);
        if ((i128)got != rounded)
            ck_abort_msg("round: x=%lld shift=%d %s: got %lld", (long long)x, s,
                         quant_round_name(m), (long long)got);

        i128 want = ov == QUANT_OVERFLOW_SATURATE ? ref128_saturate(rounded, bits)
                                                  : ref128_wrap(rounded, bits);
        got = quant_requantize(x, s, bits, m, ov);
        if ((i128)got != want)
            ck_abort_msg("requantize: x=%lld shift=%d bits=%d %s %s: got %lld, want %lld",
                         (long long)x, s, bits, quant_round_name(m), quant_overflow_name(ov),
                         (long long)got, (long long)want);

        if ((i128)quant_saturate(x, bits) != ref128_saturate(x, bits))
            ck_abort_msg("saturate: x=%lld bits=%d", (long long)x, bits);
        if ((i128)quant_wrap(x, bits) != ref128_wrap(x, bits))
            ck_abort_msg("wrap: x=%lld bits=%d", (long long)x, bits);
    }
    gsl_rng_free(r);
#endif
}
END_TEST

/* ---------------------------------------------------------------- overflow */

struct ov_case {
    int64_t x;
    int bits;
    int64_t sat, wrap;
};

static const struct ov_case ov_cases[] = {
    /* bits 1: the range is [-1, 0]; wrapping keeps the parity bit. */
    {0, 1, 0, 0},
    {1, 1, 0, -1},
    {2, 1, 0, 0},
    {3, 1, 0, -1},
    {-1, 1, -1, -1},
    {-2, 1, -1, 0},
    {5, 1, 0, -1},
    {-5, 1, -1, -1},
    /* bits 2: [-2, 1]. */
    {1, 2, 1, 1},
    {2, 2, 1, -2},
    {3, 2, 1, -1},
    {4, 2, 1, 0},
    {-2, 2, -2, -2},
    {-3, 2, -2, 1},
    /* bits 8: [-128, 127]. */
    {127, 8, 127, 127},
    {128, 8, 127, -128},
    {255, 8, 127, -1},
    {256, 8, 127, 0},
    {300, 8, 127, 44},
    {-128, 8, -128, -128},
    {-129, 8, -128, 127},
    {-300, 8, -128, -44},
    /* bits 16: [-32768, 32767]. */
    {32767, 16, 32767, 32767},
    {32768, 16, 32767, -32768},
    {65535, 16, 32767, -1},
    {70000, 16, 32767, 4464},
    {-32768, 16, -32768, -32768},
    {-32769, 16, -32768, 32767},
    /* bits 32. */
    {INT32_MAX, 32, INT32_MAX, INT32_MAX},
    {P2(31), 32, INT32_MAX, INT32_MIN},
    {INT64_C(0xffffffff), 32, INT32_MAX, -1},
    {INT64_C(0x123456789), 32, INT32_MAX, INT64_C(0x23456789)},
    {INT32_MIN, 32, INT32_MIN, INT32_MIN},
    {(int64_t)INT32_MIN - 1, 32, INT32_MIN, INT32_MAX},
    /* bits 63: [-2^62, 2^62 - 1]. */
    {P2(62) - 1, 63, P2(62) - 1, P2(62) - 1},
    {P2(62), 63, P2(62) - 1, -P2(62)},
    {INT64_MAX, 63, P2(62) - 1, -1},
    {-P2(62), 63, -P2(62), -P2(62)},
    {-P2(62) - 1, 63, -P2(62), P2(62) - 1},
    {INT64_MIN, 63, -P2(62), 0},
    /* bits 64: the identity. */
    {INT64_MAX, 64, INT64_MAX, INT64_MAX},
    {INT64_MIN, 64, INT64_MIN, INT64_MIN},
    {-1, 64, -1, -1},
    /* The ends of int64_t at narrow widths. */
    {INT64_MAX, 8, 127, -1},
    {INT64_MIN, 8, -128, 0},
    {INT64_MAX, 1, 0, -1},
    {INT64_MIN, 1, -1, 0},
};

START_TEST(overflow_table)
{
    for (size_t i = 0; i < sizeof ov_cases / sizeof ov_cases[0]; i++) {
        const struct ov_case *c = &ov_cases[i];
        int64_t sat = quant_saturate(c->x, c->bits);
        int64_t wrap = quant_wrap(c->x, c->bits);
        ck_assert_msg(sat == c->sat, "row %zu: saturate(%lld, %d) = %lld, want %lld", i,
                      (long long)c->x, c->bits, (long long)sat, (long long)c->sat);
        ck_assert_msg(wrap == c->wrap, "row %zu: wrap(%lld, %d) = %lld, want %lld", i,
                      (long long)c->x, c->bits, (long long)wrap, (long long)c->wrap);
    }
}
END_TEST

/* Every x in [-4096, 4095] at bits 1..14 against a clamp and a modulo written
 * with comparisons and C's `%`. */
START_TEST(overflow_exhaustive)
{
    for (int b = 1; b <= 14; b++) {
        long long m = 1LL << b, hi = m / 2 - 1, lo = -m / 2;
        for (long long x = -4096; x <= 4095; x++) {
            long long sat = x > hi ? hi : x < lo ? lo : x;
            long long wrap = ((x % m) + m) % m;
            if (wrap > hi)
                wrap -= m;
            if (quant_saturate(x, b) != sat || quant_wrap(x, b) != wrap)
                ck_abort_msg("x=%lld bits=%d: saturate %lld (want %lld), wrap %lld (want %lld)",
                             x, b, (long long)quant_saturate(x, b), sat,
                             (long long)quant_wrap(x, b), wrap);
        }
    }
}
END_TEST

/* ---------------------------------------------------------------- requantize */

struct requant_case {
    int64_t acc;
    int shift, out_bits;
    enum quant_round mode;
    int64_t sat, wrap;
};

static const struct requant_case requant_cases[] = {
    {1000, 3, 8, QUANT_ROUND_HALF_UP, 125, 125},
    {1012, 3, 8, QUANT_ROUND_HALF_UP, 127, 127},   /* 126.5 -> 127 */
    {1012, 3, 8, QUANT_ROUND_HALF_EVEN, 126, 126}, /* 126.5 -> 126 */
    /* 127.5: floor stays in range, the rounding carry overflows. */
    {1020, 3, 8, QUANT_ROUND_FLOOR, 127, 127},
    {1020, 3, 8, QUANT_ROUND_HALF_UP, 127, -128},
    {1020, 3, 8, QUANT_ROUND_HALF_EVEN, 127, -128},
    /* -128.5: floor overflows below, both nearest modes give -128. */
    {-1028, 3, 8, QUANT_ROUND_FLOOR, -128, 127},
    {-1028, 3, 8, QUANT_ROUND_HALF_UP, -128, -128},
    {-1028, 3, 8, QUANT_ROUND_HALF_EVEN, -128, -128},
    /* A 20-bit accumulator to 4 bits. */
    {300000, 12, 4, QUANT_ROUND_HALF_EVEN, 7, 9 - 16}, /* 73.24 -> 73 */
    {-2048, 12, 4, QUANT_ROUND_HALF_EVEN, 0, 0},       /* -0.5 -> 0 */
    {-6144, 12, 4, QUANT_ROUND_HALF_EVEN, -2, -2},     /* -1.5 -> -2 */
    {-6144, 12, 4, QUANT_ROUND_HALF_UP, -1, -1},       /* -1.5 -> -1 */
    /* Shift 0 is pure overflow handling; width 64 is pure rounding. */
    {INT64_MIN, 0, 8, QUANT_ROUND_HALF_UP, -128, 0},
    {INT64_MAX, 0, 8, QUANT_ROUND_FLOOR, 127, -1},
    {INT64_MAX, 0, 64, QUANT_ROUND_HALF_EVEN, INT64_MAX, INT64_MAX},
    {INT64_MAX, 62, 64, QUANT_ROUND_HALF_UP, 2, 2},
    {INT64_MAX, 62, 2, QUANT_ROUND_HALF_UP, 1, -2},
    {INT64_MIN, 62, 2, QUANT_ROUND_FLOOR, -2, -2},
    {INT64_MIN, 62, 1, QUANT_ROUND_FLOOR, -1, 0},
    {INT64_MAX, 1, 63, QUANT_ROUND_HALF_UP, P2(62) - 1, -P2(62)},
};

START_TEST(requantize_table)
{
    for (size_t i = 0; i < sizeof requant_cases / sizeof requant_cases[0]; i++) {
        const struct requant_case *c = &requant_cases[i];
        int64_t sat = quant_requantize(c->acc, c->shift, c->out_bits, c->mode,
                                       QUANT_OVERFLOW_SATURATE);
        int64_t wrap = quant_requantize(c->acc, c->shift, c->out_bits, c->mode,
                                        QUANT_OVERFLOW_WRAP);
        ck_assert_msg(sat == c->sat && wrap == c->wrap,
                      "row %zu: acc=%lld shift=%d bits=%d %s: saturate %lld (want %lld), "
                      "wrap %lld (want %lld)",
                      i, (long long)c->acc, c->shift, c->out_bits, quant_round_name(c->mode),
                      (long long)sat, (long long)c->sat, (long long)wrap, (long long)c->wrap);
    }
}
END_TEST

/* requantize is round_shift followed by the overflow step, for every mode. */
START_TEST(requantize_composes)
{
    static const int widths[] = {1, 2, 4, 8, 12, 64};
    for (int m = 0; m < NMODES; m++)
        for (int s = 0; s <= 6; s++)
            for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++)
                for (int64_t x = -4096; x <= 4095; x++) {
                    int b = widths[w];
                    int64_t r = ref_round(x, s, all_modes[m]);
                    if (quant_requantize(x, s, b, all_modes[m], QUANT_OVERFLOW_SATURATE) !=
                            quant_saturate(r, b) ||
                        quant_requantize(x, s, b, all_modes[m], QUANT_OVERFLOW_WRAP) !=
                            quant_wrap(r, b))
                        ck_abort_msg("x=%lld shift=%d bits=%d %s", (long long)x, s, b,
                                     quant_round_name(all_modes[m]));
                }
}
END_TEST

/* ---------------------------------------------------------------- names */

START_TEST(names)
{
    ck_assert_str_eq(quant_round_name(QUANT_ROUND_FLOOR), "floor");
    ck_assert_str_eq(quant_round_name(QUANT_ROUND_HALF_UP), "half-up");
    ck_assert_str_eq(quant_round_name(QUANT_ROUND_HALF_EVEN), "half-even");
    ck_assert_str_eq(quant_overflow_name(QUANT_OVERFLOW_WRAP), "wrap");
    ck_assert_str_eq(quant_overflow_name(QUANT_OVERFLOW_SATURATE), "saturate");

    for (int m = 0; m < QUANT_ROUND_COUNT; m++)
        ck_assert_int_eq(quant_round_parse(quant_round_name((enum quant_round)m)), m);
    for (int o = 0; o < QUANT_OVERFLOW_COUNT; o++)
        ck_assert_int_eq(quant_overflow_parse(quant_overflow_name((enum quant_overflow)o)), o);

    static const char *const unknown[] = {
        "", "Floor", "FLOOR", "half_up", "halfup", "half-even ", " floor", "round",
        "truncate", "sat", "Saturate", "wrap\n", "floorx", "half"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ck_assert_msg(quant_round_parse(unknown[i]) == -1, "round name '%s'", unknown[i]);
        ck_assert_msg(quant_overflow_parse(unknown[i]) == -1, "overflow name '%s'", unknown[i]);
    }
    ck_assert_int_eq(quant_round_parse(NULL), -1);
    ck_assert_int_eq(quant_overflow_parse(NULL), -1);
    /* A name of one family is not a name of the other. */
    ck_assert_int_eq(quant_round_parse("saturate"), -1);
    ck_assert_int_eq(quant_overflow_parse("floor"), -1);
}
END_TEST

/* ---------------------------------------------------------------- float */

START_TEST(round_even_float)
{
    static const struct {
        float x, want;
    } cases[] = {
        {0.0f, 0.0f},    {0.5f, 0.0f},    {1.5f, 2.0f},     {2.5f, 2.0f},
        {3.5f, 4.0f},    {-0.5f, -0.0f},  {-1.5f, -2.0f},   {-2.5f, -2.0f},
        {2.385f, 2.0f},  {-2.385f, -2.0f}, {3.7f, 4.0f},    {-3.7f, -4.0f},
        {0.49999997f, 0.0f},               /* largest float below 0.5 */
        {8388607.5f, 8388608.0f},          /* 2^23 - 0.5: a tie, to even */
        {8388609.0f, 8388609.0f},          /* 2^23 + 1: already integral */
        {-8388609.0f, -8388609.0f},
        {1e30f, 1e30f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float got = quant_round_even(cases[i].x);
        ck_assert_msg(got == cases[i].want && !signbit(got) == !signbit(cases[i].want),
                      "quant_round_even(%.9g) = %.9g, want %.9g", (double)cases[i].x,
                      (double)got, (double)cases[i].want);
    }
    ck_assert(isinf(quant_round_even(INFINITY)) && quant_round_even(INFINITY) > 0.0f);
    ck_assert(isinf(quant_round_even(-INFINITY)) && quant_round_even(-INFINITY) < 0.0f);
    ck_assert(isnan(quant_round_even(NAN)));
}
END_TEST

/* ---------------------------------------------------------------- asserts */

/* Out-of-range arguments are programmer errors: each must abort. The test runs
 * in a forked child, which first silences its own stderr so that the expected
 * assertion message does not read as a failure in the test log. */
static volatile int64_t sink;

static void quiet_stderr(void)
{
    ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
}

START_TEST(abort_shift_negative)
{
    quiet_stderr();
    sink = quant_round_shift(1, -1, QUANT_ROUND_FLOOR);
}
END_TEST

START_TEST(abort_shift_too_large)
{
    quiet_stderr();
    sink = quant_round_shift(1, QUANT_SHIFT_MAX + 1, QUANT_ROUND_FLOOR);
}
END_TEST

START_TEST(abort_mode_invalid)
{
    quiet_stderr();
    sink = quant_round_shift(5, 1, (enum quant_round)QUANT_ROUND_COUNT);
}
END_TEST

START_TEST(abort_bits_zero)
{
    quiet_stderr();
    sink = quant_saturate(1, 0);
}
END_TEST

START_TEST(abort_bits_too_large)
{
    quiet_stderr();
    sink = quant_wrap(1, 65);
}
END_TEST

START_TEST(abort_requantize_bits)
{
    quiet_stderr();
    sink = quant_requantize(1, 0, 0, QUANT_ROUND_FLOOR, QUANT_OVERFLOW_WRAP);
}
END_TEST

START_TEST(abort_requantize_overflow_mode)
{
    quiet_stderr();
    sink = quant_requantize(1, 0, 8, QUANT_ROUND_FLOOR, (enum quant_overflow)2);
}
END_TEST

START_TEST(abort_name_invalid)
{
    quiet_stderr();
    sink = (int64_t)strlen(quant_round_name((enum quant_round)7));
}
END_TEST

/* ---------------------------------------------------------------- suite */

static Suite *quant_suite(void)
{
    Suite *s = suite_create("quant");
    TCase *tc = tcase_create("round");
    tcase_add_test(tc, round_shift_table);
    tcase_add_test(tc, round_shift_exhaustive);
    tcase_add_test(tc, round_shift_is_arithmetic_shift);
    tcase_add_test(tc, round_random_full_range);
    tcase_add_test(tc, overflow_table);
    tcase_add_test(tc, overflow_exhaustive);
    tcase_add_test(tc, requantize_table);
    tcase_add_test(tc, requantize_composes);
    tcase_add_test(tc, names);
    tcase_add_test(tc, round_even_float);

    /* An abort kills the runner itself when Check does not fork (CK_FORK=no,
     * used under gdb and valgrind), so the assert tests run only when forking. */
    const char *fork_env = getenv("CK_FORK");
    if (fork_env == NULL || strcmp(fork_env, "no") != 0) {
        tcase_add_test_raise_signal(tc, abort_shift_negative, SIGABRT);
        tcase_add_test_raise_signal(tc, abort_shift_too_large, SIGABRT);
        tcase_add_test_raise_signal(tc, abort_mode_invalid, SIGABRT);
        tcase_add_test_raise_signal(tc, abort_bits_zero, SIGABRT);
        tcase_add_test_raise_signal(tc, abort_bits_too_large, SIGABRT);
        tcase_add_test_raise_signal(tc, abort_requantize_bits, SIGABRT);
        tcase_add_test_raise_signal(tc, abort_requantize_overflow_mode, SIGABRT);
        tcase_add_test_raise_signal(tc, abort_name_invalid, SIGABRT);
    }
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(quant_suite)
