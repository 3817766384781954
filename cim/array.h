/*
 * array.h: one read of a crossbar array, the column currents of its active rows.
 *
 * A read applies one input slice to the rows of an array; a row whose DAC step
 * is 0 carries no current. The column currents are then the sum, over the
 * active rows only, of the row's step times its cells' conductances:
 *     cur[c] = sum_i x[i] g[rows[i] ld + c]          c < ncol
 * Summing only the active rows is both the physics (an idle row draws nothing)
 * and the speed: after ReLU and bit slicing most steps are 0, so a read costs
 * far less than a dense product over every row.
 *
 * With integer conductances (an ideal array, levels as floats) every partial
 * sum is an integer below 2^24 and the result is exact in any order.
 *
 *     cim_array_read(g, ncol, rows, x, n_active, ncol, cur);
 *
 * Pure computation, cloned for AVX-512 and AVX2 where the compiler can.
 */
#ifndef CIM_CIM_ARRAY_H
#define CIM_CIM_ARRAY_H

#include <stddef.h>

/* cur[0 .. ncol) = sum over i < n of x[i] times row rows[i] of g (row stride
 * ld floats); x NULL means every step is 1 (a 1-bit DAC); 0 for n = 0. Rows
 * are added in the order given. */
void cim_array_read(const float *g, size_t ld, const int *rows, const float *x, int n, int ncol,
                    float *cur);

#endif
