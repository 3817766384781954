/*
 * adc.h: the column ADC of a crossbar, converting a block of column currents.
 *
 * An ADC of `bits` bits with step 2^e (level units, see xbar.h) and a gain c
 * (drift compensation) turns a column current I into
 *     code = clamp(floor(I c / 2^e + 1/2), 0, 2^bits - 1)
 * (a mid-tread quantizer: code k covers [(k - 1/2), (k + 1/2)) steps), and
 * clips at full scale when I c / 2^e >= 2^bits - 1/2. Per column the caller
 * gives scale = c / 2^e. The current is the ideal part plus the leakage of the
 * read plus read noise:
 *     I = cur[i] + leak + sd_i z[i],   sd_i = sd, or sd sqrt(var[i]) when var
 * is given (proportional noise), z = NULL for no read noise.
 * In double precision: with cur an integer below 2^24 and no noise, I c / 2^e
 * + 1/2 is exact enough that two columns with the same leakage differ by
 * exactly their integer difference, which keeps the ideal crossbar exact.
 *
 *     uint64_t clipped = cim_adc_convert(cur, NULL, NULL, leak, 0.0, scale, read,
 *                                        63.0, ncol, code);
 *
 * Pure computation, cloned for AVX-512 and AVX2 where the compiler can.
 */
#ifndef CIM_CIM_ADC_H
#define CIM_CIM_ADC_H

#include <stdint.h>

/* Convert n currents (see above) into code[0 .. n-1], qmax = 2^bits - 1.
 * read[i] is 1 for a column whose conversions count, 0 for one converted
 * only for convenience; returns the number of counted conversions that
 * clipped at full scale. */
uint64_t cim_adc_convert(const float *cur, const float *z, const float *var, double leak,
                         double sd, const double *scale, const int64_t *read, double qmax, int n,
                         int32_t *code);

#endif
