/*
 * periph.h: the digital periphery of a crossbar output, as integer arithmetic.
 *
 * A weight magnitude lives in `w_slices` cells of `cell_bits` bits (slice j
 * weighs 2^(j*cell_bits)); a signed weight uses a differential column pair. An
 * activation is applied as `in_slices` slices of `dac_bits` bits (slice i
 * weighs 2^(i*dac_bits)). Each (input slice i, weight slice j) read gives, per
 * column pair, a signed differential ADC code
 *
 *     d[i][j] = code(positive column) - code(negative column),
 *     |d| <= 2^adc_bits - 1 (adc_bits + 1 signed bits),
 *
 * and the periphery shift-adds them, keeps the sum in an `acc_bits` register
 * and drops `shift` bits with the rounding and overflow rules of quant/round.h:
 *
 *     acc = sum_i sum_j d[i][j] * 2^(i*dac_bits + j*cell_bits)  (mod 2^acc_bits)
 *     y   = quant_requantize(acc, shift, out_bits, round, overflow)
 *
 * This is exactly what rtl/cim_shift_add.v computes (same parameters, same
 * result bit for bit; rtl/README.md maps the names); tests/rtl checks the two
 * against each other. With an ideal ADC (d equal to the exact column
 * difference), acc_bits >= cim_periph_acc_bits_lossless() and shift 0, y is
 * the exact integer dot product of the codes.
 *
 *     struct cim_periph p = {.adc_bits = 6, .dac_bits = 1, .in_slices = 8,
 *                            .cell_bits = 2, .w_slices = 4, .out_bits = 16,
 *                            .round = QUANT_ROUND_HALF_EVEN,
 *                            .overflow = QUANT_OVERFLOW_SATURATE};
 *     p.acc_bits = cim_periph_acc_bits_lossless(&p);
 *     if (cim_periph_check(&p, &err) != CIM_OK) ...
 *     int64_t y = cim_periph_combine(&p, codes);
 *
 * Pure computation: no allocation, no I/O, safe from any thread.
 */
#ifndef CIM_CIM_PERIPH_H
#define CIM_CIM_PERIPH_H

#include <stdint.h>

#include "base/err.h"
#include "quant/round.h"

/* Parameter limits, chosen so that every exact sum fits in int64_t. */
#define CIM_PERIPH_ADC_BITS_MAX 16
#define CIM_PERIPH_SLICE_BITS_MAX 8  /* dac_bits and cell_bits */
#define CIM_PERIPH_SLICES_MAX 16     /* in_slices and w_slices */
#define CIM_PERIPH_LOSSLESS_MAX 62   /* cim_periph_acc_bits_lossless() at most */

/* The periphery of one output; plain data (RTL parameter in brackets). */
struct cim_periph {
    int adc_bits;   /* ADC resolution, 1 .. 16 [ADC_W] */
    int dac_bits;   /* bits per input slice, 1 .. 8 [DAC_BITS] */
    int in_slices;  /* input slices per activation, 1 .. 16 [IN_SLICES] */
    int cell_bits;  /* bits per weight slice (cell), 1 .. 8 [CELL_BITS] */
    int w_slices;   /* weight slices per weight, 1 .. 16 [W_SLICES] */
    int acc_bits;   /* accumulator width, 1 .. 64 [ACC_W] */
    int out_bits;   /* output width, 1 .. 64 [OUT_W] */
    int shift;      /* low accumulator bits dropped, 0 .. 62 [SHIFT] */
    enum quant_round round;       /* [ROUND] */
    enum quant_overflow overflow; /* [SAT] */
};

/* CIM_OK when every field of `p` is in its range (above) and the lossless
 * accumulator width is at most CIM_PERIPH_LOSSLESS_MAX; otherwise CIM_EINVAL
 * with a message naming the field, e.g. "periphery: cell_bits 9 is outside
 * 1..8". `err` may be NULL. */
int cim_periph_check(const struct cim_periph *p, struct cim_err *err);

/* The smallest accumulator width that holds every sum of codes within
 * [-(2^adc_bits - 1), 2^adc_bits - 1] exactly (signed bits, sign included):
 * the bits of (2^adc_bits - 1) * sum_j 2^(j*cell_bits) * sum_i 2^(i*dac_bits),
 * plus one. Reads only adc_bits, dac_bits, in_slices, cell_bits, w_slices,
 * which must be in range (asserted). Example: adc 6, dac 1 x 8, cell 2 x 4 gives
 * 22 (the largest sum is 63 * 85 * 255 = 1,365,525, 21 magnitude bits, plus
 * the sign). */
int cim_periph_acc_bits_lossless(const struct cim_periph *p);

/* The accumulator before rounding: the shift-added codes, wrapped to
 * p->acc_bits (quant_wrap()).
 *
 * codes: in_slices * w_slices signed differential codes, codes[i * w_slices + j]
 * for input slice i (0 = least significant) and weight slice j (0 = least
 * significant), each within [-(2^adc_bits - 1), 2^adc_bits - 1] (asserted: a
 * code outside is a bug of the ADC model, which clips). `p` must pass
 * cim_periph_check() (asserted in part). */
int64_t cim_periph_accumulate(const struct cim_periph *p, const int32_t *codes);

/* The periphery output: cim_periph_accumulate(), then quant_requantize() with
 * p->shift, p->out_bits, p->round and p->overflow. Same arguments. */
int64_t cim_periph_combine(const struct cim_periph *p, const int32_t *codes);

#endif
