/*
 * range.h: where a quantizer's grid ends, found offline or on the fly.
 *
 * A quantizer (quantizer.h) needs a scale s; it comes from a clipping range c,
 * the largest magnitude that is represented without clipping:
 *
 *     signed weights:       s = c / Q,   Q  = 2^(b-1) - 1   (c = max |w| keeps all)
 *     unsigned activations: s = c / Qu,  Qu = 2^b - 1
 *
 * quant_scale_from_range() does that division safely. The range families of
 * `cim train --range`:
 *
 *   offline profiling, on the FP weights or on calibration activations:
 *     max         quant_range_maxabs()       no clipping at all
 *     percentile  quant_range_percentile()   clip the top (100 - p)% of |x|
 *     mse         quant_range_mse_weights(), quant_range_mse_acts(): the c that
 *                 minimizes the squared quantization error (clipping error vs
 *                 rounding error), found by search
 *   on the fly: struct quant_ema, an exponential moving average of a per-batch
 *     statistic (batch max or percentile of the activations) during training;
 *   trainable: LSQ and PACT live in quantizer.h.
 *
 *     float c = quant_range_mse_weights(w, n, 4);
 *     float s = quant_scale_from_range(c, quant_qmax_signed(4));
 *
 * Per-output-channel weight ranges: quant_range_rows(). All functions are pure,
 * never modify their input and never allocate. NaN elements are ignored by every
 * range function (they would otherwise poison a max); infinities are kept and
 * give an infinite max (quant_scale_from_range() then floors it). Bit-widths and
 * percentiles out of range are programmer errors (asserted): the command line
 * validates user input with quant_range_pct_valid() first.
 */
#ifndef CIM_QUANT_RANGE_H
#define CIM_QUANT_RANGE_H

#include <stddef.h>

/* The smallest scale quant_scale_from_range() returns. Far below any useful
 * weight or activation step (an 8-bit step of a weight range of 1e-6 is 8e-9),
 * large enough that x / s stays finite for every finite float |x| < 3e30. */
#define QUANT_SCALE_MIN 1e-8f

/* The step for range c and largest code qmax: c / qmax when that is finite and
 * at least QUANT_SCALE_MIN; QUANT_SCALE_MIN when c <= 0, c is NaN or infinite,
 * or c / qmax is tinier than that. Callers never divide by zero: an all-zero
 * tensor (range 0) gets the floor and quantizes to all-zero codes.
 * qmax >= 1 (asserted). Example: c = 2.385, qmax = 127 -> 0.018779528. */
float quant_scale_from_range(float c, int qmax);

/* max |x[k]| over k < n, ignoring NaN; 0 for n = 0 or all zeros (or all NaN).
 * Cost: one pass. */
float quant_range_maxabs(const float *x, size_t n);

/* Whether p is a valid percentile for quant_range_percentile(): 0 < p <= 100. */
int quant_range_pct_valid(double p);

/* The p-th percentile of |x[k]| (NaN elements ignored), an exact order
 * statistic with linear interpolation between neighbours (Hyndman & Fan 1996,
 * definition 7; numpy's default, GSL's gsl_stats_quantile_from_sorted_data):
 * with m the count of non-NaN elements and y the sorted magnitudes,
 *
 *     h = (p / 100) (m - 1),   i = floor(h),
 *     result = y[i] + (h - i) (y[i+1] - y[i])      (y[i] alone when i = m - 1)
 *
 * computed in double and rounded once to float. Example: x = 0, 1, ..., 999,
 * p = 99: h = 989.01, result 989.01. p = 100 gives the max, small p the min.
 *
 * The caller's array is neither sorted nor copied: y[i] is found by bisection
 * on the IEEE bit pattern of |x| (monotone for non-negative floats), counting
 * the elements at or below the midpoint, 31 passes; y[i+1] then takes one more
 * pass. Cost: about 33 passes over x, O(33 n) time, O(1) memory, no
 * allocation (so no failure), whatever the distribution.
 * p: 0 < p <= 100 (asserted). 0 for n = 0 or all NaN. */
float quant_range_percentile(const float *x, size_t n, double p);

/* The clipping range c in (0, max|w|] that minimizes the squared error of the
 * signed `bits`-bit fake quantization with s = c / Q:
 *
 *     E(c) = sum_k (w[k] - quant_weight_fake(w[k]; s = c / Q))^2
 *
 * Search: a grid c_j = max|w| * j / 100, j = 1..100, then a golden-section
 * search (Kiefer 1953) of 24 steps on [c_{j-1}, c_{j+1}] (clipped to
 * (0, max|w|]) around the best grid point j, shrinking that interval by
 * 0.618^24 ~ 1e-5. E is piecewise smooth and not unimodal in general (every
 * element's rounding jumps), so the golden section finds a local minimum of the
 * bracket; the result is the best point evaluated, never worse than the grid.
 * Cost: 126 passes over w, O(126 n), no allocation. E is summed in double with
 * the exact per-element quantizer of quantizer.h. Ties go to the smaller c.
 * Non-finite elements (NaN, +-inf) are left out of both max|w| and E: no finite
 * c can represent an infinity, so it would only make E infinite everywhere.
 * Returns 0 for n = 0 or when no element is finite and non-zero.
 * bits: 2..16 (asserted). */
float quant_range_mse_weights(const float *w, size_t n, int bits);

/* The same search for unsigned `bits`-bit activations, s = c / Qu, on
 * c in (0, max x]: E(c) = sum_k (x[k] - quant_act_fake(x[k]; c / Qu))^2. Meant
 * for x >= 0 (after ReLU); negative elements quantize to 0 for every c, so they
 * add a constant to E and do not move the optimum. Returns 0 when no element is
 * positive. bits: 1..16 (asserted). */
float quant_range_mse_acts(const float *x, size_t n, int bits);

/* How an offline range is determined. */
enum quant_range_method {
    QUANT_RANGE_MAX = 0,        /* "max": max |x| */
    QUANT_RANGE_PERCENTILE = 1, /* "percentile": p-th percentile of |x| */
    QUANT_RANGE_MSE = 2         /* "mse": MSE-optimal clip (weights) */
};
#define QUANT_RANGE_METHOD_COUNT 3

/* "max", "percentile", "mse"; `m` must be a value of the enum (asserted; "?"
 * otherwise); the string is static. */
const char *quant_range_method_name(enum quant_range_method m);

/* The method named `name`, or -1 when `name` is NULL or names none. */
int quant_range_method_parse(const char *name);

/* Per-row ranges of a row-major [rows, cols] weight matrix (one per output
 * channel): c_out[r] = maxabs, percentile(pct) or mse_weights(bits) of row r.
 * `bits` is used by MSE only (2..16, asserted then), `pct` by PERCENTILE only
 * (asserted valid then). A c_out[r] may be 0 (an all-zero row). */
void quant_range_rows(const float *w, int rows, int cols, enum quant_range_method m,
                      int bits, double pct, float *c_out);

/* ---------------------------------------------------------------- on the fly */

/* An exponential moving average of a per-batch range statistic. The first
 * update sets value to the batch value (no bias toward an arbitrary start);
 * after that value = momentum * value + (1 - momentum) * batch_value. `updates`
 * counts the updates. Plain data: store and restore the three fields freely. */
struct quant_ema {
    double value;    /* the current range, in the units of the statistic */
    double momentum; /* in [0, 1): weight of the past; 0.9 .. 0.999 is typical */
    long updates;    /* number of quant_ema_update() calls so far */
};

/* Set value 0, updates 0, and the momentum (0 <= momentum < 1, asserted). */
void quant_ema_init(struct quant_ema *e, double momentum);

/* Fold one batch statistic in. A NaN or infinite batch_value is ignored (not
 * counted), so one bad batch cannot destroy the range. */
void quant_ema_update(struct quant_ema *e, double batch_value);

#endif
