/*
 * quantizer.h: uniform quantizers for weights and activations, their
 * straight-through gradients, and the nesting of a low-precision code inside a
 * high-precision one.
 *
 * A quantizer maps a float to an integer code and back to a float value on a
 * uniform grid of step `s` (the scale), as in Jacob et al., "Quantization and
 * Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference",
 * CVPR 2018 (their r = S (q - Z), here with zero point Z = 0):
 *
 *     weights, signed symmetric, b bits:   q = clamp(nearbyint(w / s), -Q, Q),
 *                                          Q = 2^(b-1) - 1, value q * s
 *     activations, unsigned, b bits:       a = clamp(nearbyint(x / s), 0, Qu),
 *                                          Qu = 2^b - 1, value a * s
 *
 * nearbyint rounds half to even (quant_round_even() in round.h): w/s = 2.5 -> 2,
 * -2.5 -> -2, 3.5 -> 4. The weight grid is symmetric (-128 is never used at 8
 * bits) so that a sign-magnitude crossbar cell pair stores every code.
 *
 * "Fake" quantization returns the value q * s as a float so that training runs
 * the quantized network in floating point. Its gradient is the straight-through
 * estimator (STE) of Bengio, Leonard & Courville, "Estimating or Propagating
 * Gradients Through Stochastic Neurons for Conditional Computation", 2013:
 * rounding is treated as the identity, so d value / d w = 1 where the input is
 * not clipped and 0 where it is. The fake functions report this as a `pass` mask
 * (1: pass the upstream gradient, 0: zero it), and the caller multiplies:
 *
 *     quant_weight_fake(w, n, s, 8, wq, pass);          forward with wq
 *     ...                                                backward gives dL/dwq
 *     for (k = 0; k < n; k++) dw[k] = pass[k] ? dwq[k] : 0;
 *
 * One weight set, two precisions (DESIGN.md). With scheme "nested" the b_lo-bit
 * code is computed FROM the b_hi-bit code, never from w: a crossbar programmed
 * once with the 8-bit codes runs 4-bit inference by skipping its d = b_hi - b_lo
 * low weight slices, which for differential sign-magnitude cells truncates the
 * magnitude. The low code's scale is s_hi * 2^d. "nested-round" rounds the top
 * bits instead (digital hardware that can round). "independent" is not a
 * nesting: the caller quantizes w again with the low precision's own scale
 * (quant_weight_fake(w, n, s_lo, b_lo, ...)). Activations nest the same way: a
 * bit-serial input that skips its d low cycles sees a_hi >> d.
 *
 * Trainable ranges: LSQ (Esser et al., "Learned Step Size Quantization", ICLR
 * 2020) learns the weight step s; PACT (Choi et al., "PACT: Parameterized
 * Clipping Activation for Quantized Neural Networks", 2018) learns the
 * activation clip alpha, with s = alpha / Qu.
 *
 * Everything here is a pure function on float arrays: no layers, files or
 * crossbars. Scales must be positive and finite (quant_scale_from_range() in
 * range.h gives one from any range); bit-widths and scales outside their ranges
 * are programmer errors and are asserted. Output arrays may alias the input
 * array of the same type (out == w) since every element is computed from its
 * own input only. NaN inputs give code 0, a NaN fake value and pass 0, so that a
 * diverging training run shows NaN instead of silently quantizing it to zero.
 */
#ifndef CIM_QUANT_QUANTIZER_H
#define CIM_QUANT_QUANTIZER_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Valid bit-widths: signed weight codes 2..16 bits, unsigned activation codes
 * 1..16 bits. */
#define QUANT_WBITS_MIN 2
#define QUANT_WBITS_MAX 16
#define QUANT_ABITS_MIN 1
#define QUANT_ABITS_MAX 16

/* Largest signed symmetric code, 2^(bits-1) - 1: 127 at 8 bits, 7 at 4 bits,
 * 1 at 2 bits. bits: 2..16 (asserted). */
int quant_qmax_signed(int bits);

/* Largest unsigned code, 2^bits - 1: 255 at 8 bits, 15 at 4 bits, 1 at 1 bit.
 * bits: 1..16 (asserted). */
int quant_qmax_unsigned(int bits);

/* ---------------------------------------------------------------- scalar codes */

/* The code of v = w / s (already divided by the scale), clamped to [-qmax, qmax]
 * and rounded half to even; NaN gives 0. The clamp comes before the rounding, so
 * no float outside the int32_t range is ever converted. Every array function
 * below uses exactly this, and so should an integer inference path. */
static inline int32_t quant_code_signed(float v, int qmax)
{
    float m = (float)qmax;
    if (v != v)
        return 0;
    if (v >= m)
        return qmax;
    if (v <= -m)
        return -qmax;
    return (int32_t)nearbyintf(v);
}

/* The unsigned code of v = x / s: clamp(nearbyint(v), 0, qmax); NaN gives 0. */
static inline int32_t quant_code_unsigned(float v, int qmax)
{
    float m = (float)qmax;
    if (v != v || v <= 0.0f)
        return 0;
    if (v >= m)
        return qmax;
    return (int32_t)nearbyintf(v);
}

/* ---------------------------------------------------------------- weights */

/* Signed symmetric codes of w[0..n): q[k] = clamp(nearbyint(w[k] / s), -Q, Q)
 * with Q = quant_qmax_signed(bits).
 *
 * s: the step in units of w, > 0 and finite (asserted). bits: 2..16.
 * Example, s = 0.25, bits = 4 (Q = 7): w = 0.625 -> 2 (2.5, tie to even),
 * 0.875 -> 4 (3.5), -0.625 -> -2, 0.596 -> 2 (2.384), 1.875 -> 7 (7.5, clipped
 * by the clamp but still passing the STE), 2.385 -> 7 (clipped), -5 -> -7. */
void quant_weight_codes(const float *w, size_t n, float s, int bits, int32_t *q);

/* Fake-quantized weights: out[k] = q[k] * s, with q as quant_weight_codes().
 *
 * pass (may be NULL): the STE mask, pass[k] = 1 when |w[k] / s| <= Q + 1/2,
 * i.e. w[k] lies inside the interval that rounds to a code without clipping,
 * and 0 outside it (clipped; also NaN). Bengio et al. 2013. */
void quant_weight_fake(const float *w, size_t n, float s, int bits, float *out,
                       uint8_t *pass);

/* Per-output-channel versions: w is a row-major [rows, cols] matrix (a dense
 * weight [out, in], or a conv weight [out_c, in_c*kh*kw]) and row r uses scale
 * s[r] (> 0, finite). Otherwise exactly the per-tensor functions, row by row. */
void quant_weight_codes_rows(const float *w, int rows, int cols, const float *s, int bits,
                             int32_t *q);
void quant_weight_fake_rows(const float *w, int rows, int cols, const float *s, int bits,
                            float *out, uint8_t *pass);

/* ---------------------------------------------------------------- nesting */

/* How the low-precision weight code derives from the high-precision one. The
 * numeric values are those stored in model files; do not reorder. */
enum quant_scheme {
    QUANT_SCHEME_NESTED = 0,       /* "nested": sign-magnitude truncation (default) */
    QUANT_SCHEME_NESTED_ROUND = 1, /* "nested-round": rounded top bits */
    QUANT_SCHEME_INDEPENDENT = 2   /* "independent": own scale, not a nesting */
};
#define QUANT_SCHEME_COUNT 3

/* The command-line and file name of a scheme: "nested", "nested-round",
 * "independent". `s` must be a value of the enum (asserted; "?" if asserts are
 * compiled out); the string is static. */
const char *quant_scheme_name(enum quant_scheme s);

/* The scheme named `name` (exactly one of the names above), or -1 when `name`
 * is NULL or names no scheme. */
int quant_scheme_parse(const char *name);

/* The lo_bits code nested in the hi_bits code q_hi. With d = hi_bits - lo_bits:
 *
 *   NESTED:        sign(q_hi) * (|q_hi| >> d). What a crossbar with
 *                  differential sign-magnitude cells computes when it skips the
 *                  d low weight bits: the magnitude is truncated toward zero.
 *   NESTED_ROUND:  clamp(round_half_even(q_hi / 2^d), -Qlo, Qlo), with
 *                  quant_round_shift(q_hi, d, QUANT_ROUND_HALF_EVEN). The clamp
 *                  is needed: at 8 -> 4 bits, 127 / 16 = 7.94 rounds to 8.
 *   INDEPENDENT:   not a nesting; asserted never to be passed.
 *
 * The low code's value is q_lo * s_hi * 2^d (its scale is s_hi * 2^d). Both
 * schemes keep the sign and give |q_lo| <= Qlo = 2^(lo_bits-1) - 1 for every
 * |q_hi| <= Qhi: for NESTED, (2^(hi-1) - 1) >> d = 2^(lo-1) - 1 exactly; at 8 ->
 * 4 bits, |q8| <= 127 gives |q4| <= 7. Note that NESTED's value is biased
 * toward zero by (1 - 2^-d)/2 of a low step on average; no reconstruction
 * offset is added here (a periphery that adds one must define it on top).
 *
 * hi_bits, lo_bits: 2..16 with lo_bits <= hi_bits (d = 0 returns q_hi);
 * |q_hi| <= quant_qmax_signed(hi_bits). All asserted.
 * Examples, 8 -> 4 bits:  q8      nested   nested-round
 *                         127       7          7
 *                          24       1          2  (1.5 -> 2)
 *                          40       2          2  (2.5 -> 2)
 *                         -40      -2         -2
 *                         -31      -1         -2  (-1.94)
 *                          15       0          1  (0.94) */
int32_t quant_nest_code(int32_t q_hi, int hi_bits, int lo_bits, enum quant_scheme s);

/* Fake-quantized low-precision weights through the nesting:
 * out[k] = quant_nest_code(q_hi[k], hi_bits, lo_bits, sch) * s_hi * 2^d, where
 * q_hi[k] is the hi_bits code of w[k] with scale s_hi (quant_weight_codes()).
 *
 * pass (may be NULL): the STE through the whole function (quantize, then
 * nest), the same mask as the hi_bits code: |w[k] / s_hi| <= Qhi + 1/2. The
 * nesting does not clip on its own in scheme NESTED; in NESTED_ROUND the top
 * hi codes that round to Qlo + 1 are clamped, but the gradient still passes
 * there (the mask is defined by the hi code only).
 * sch: NESTED or NESTED_ROUND (asserted). */
void quant_weight_fake_nested(const float *w, size_t n, float s_hi, int hi_bits,
                              int lo_bits, enum quant_scheme sch, float *out,
                              uint8_t *pass);

/* Per-output-channel version: row r uses scale s_hi[r]. */
void quant_weight_fake_nested_rows(const float *w, int rows, int cols, const float *s_hi,
                                   int hi_bits, int lo_bits, enum quant_scheme sch,
                                   float *out, uint8_t *pass);

/* ---------------------------------------------------------------- activations */

/* Unsigned activation codes: a[k] = clamp(nearbyint(x[k] / s), 0, Qu), with
 * Qu = quant_qmax_unsigned(bits). For the output of a ReLU and for the network
 * input (pixels in [0, 1]); negative inputs give 0.
 * s > 0 and finite; bits: 1..16. Example, s = 0.5, bits = 2 (Qu = 3): x = -1 ->
 * 0, 0.25 -> 0 (0.5 -> 0), 0.75 -> 2 (1.5 -> 2), 1.25 -> 2, 7 -> 3. */
void quant_act_codes(const float *x, size_t n, float s, int bits, uint16_t *a);

/* Fake-quantized activations: out[k] = a[k] * s. pass (may be NULL): 1 where
 * 0 <= x[k] / s <= Qu + 1/2 (inside the range), 0 where clipped above or below
 * and for NaN. x = 0 passes: the ReLU before it owns the gradient at 0. */
void quant_act_fake(const float *x, size_t n, float s, int bits, float *out, uint8_t *pass);

/* The lo_bits activation code nested in the hi_bits code: a_hi >> d, the top
 * lo_bits bits, what a bit-serial input sees when it skips its d low cycles
 * (truncation; never exceeds 2^lo_bits - 1). Its scale is s_hi * 2^d.
 * bits: 1..16 with lo_bits <= hi_bits; a_hi <= Qu(hi_bits) (asserted). */
uint16_t quant_act_nest_code(uint16_t a_hi, int hi_bits, int lo_bits);

/* Fake-quantized nested activations: out[k] = (a_hi[k] >> d) * s_hi * 2^d,
 * a_hi the hi_bits code of x[k] with scale s_hi. pass (may be NULL) as for the
 * hi code (STE through the whole function). */
void quant_act_fake_nested(const float *x, size_t n, float s_hi, int hi_bits, int lo_bits,
                           float *out, uint8_t *pass);

/* ---------------------------------------------------------------- LSQ */

/* The LSQ gradient of a loss L with respect to the weight step s, Esser et al.
 * 2020, eq. 3 and section 2.2:
 *
 *     v = w / s
 *     d out / d s = round(v) - v    if -Q <= v <= Q     (STE: d round(v)/dv = 1)
 *                 = -Q              if v < -Q           (out = -Q s)
 *                 = +Q              if v > Q            (out = +Q s)
 *
 *     returns  gscale * sum_k g[k] * d out[k] / d s,   gscale = 1 / sqrt(n * Q)
 *
 * where out = quant_weight_fake(w, n, s, bits) and g[k] = dL/d out[k]. gscale
 * is LSQ's gradient scale for weights (N_W * Q_P in the paper): n is the number
 * of weights that share this s (the whole tensor, or one row: use the _rows
 * version for per-channel scales). The weights' own gradient is the STE mask of
 * quant_weight_fake().
 *
 * The trainer learns log s (with Adam a raw step size moves by about the
 * learning rate per step, as large as an 8-bit step itself); then dL/d log s = s * dL/ds, which the CALLER applies
 * by multiplying the value returned here by s. Sums are in double. n = 0
 * returns 0. s > 0 and finite; bits 2..16 (asserted). */
double quant_lsq_grad_scale(const float *w, const float *g, size_t n, float s, int bits);

/* Per-row LSQ gradients: grad[r] = quant_lsq_grad_scale(row r of w, row r of g,
 * cols, s[r], bits), gscale 1 / sqrt(cols * Q). */
void quant_lsq_grad_scale_rows(const float *w, const float *g, int rows, int cols,
                               const float *s, int bits, double *grad);

/* The LSQ gradient of the nested low-precision output with respect to the
 * SHARED high-precision step s_hi. The low output is
 *
 *     out_lo = N(q_hi) * s_hi * 2^d,   q_hi = clamp(round(w / s_hi), -Qhi, Qhi),
 *
 * N = quant_nest_code(., hi_bits, lo_bits, sch). Differentiating the product,
 * with the STE treating round and the nesting as the identity on their real
 * arguments (round(v) ~ v, N(q) ~ q / 2^d), so that d N(q_hi) / d s_hi =
 * 2^-d * d v / d s_hi = -2^-d v / s_hi inside the hi range and 0 where q_hi is
 * clipped:
 *
 *     d out_lo / d s_hi = 2^d N(q_hi) - v    if -Qhi <= v <= Qhi
 *                       = 2^d N(q_hi)        otherwise (N(+-Qhi) = +-Qlo)
 *
 * which reduces to the LSQ formula above when d = 0. The sum is multiplied by
 * the SAME gradient scale as the hi gradient, 1 / sqrt(n * Qhi): the scale
 * belongs to the parameter s_hi, so the 8-bit and 4-bit contributions of a
 * joint loss add up with one factor. Caller applies s_hi for log s_hi.
 * sch: NESTED or NESTED_ROUND (asserted). */
double quant_lsq_grad_scale_nested(const float *w, const float *g, size_t n, float s_hi,
                                   int hi_bits, int lo_bits, enum quant_scheme sch);

/* Per-row version of quant_lsq_grad_scale_nested(), gscale 1 / sqrt(cols * Qhi). */
void quant_lsq_grad_scale_nested_rows(const float *w, const float *g, int rows, int cols,
                                      const float *s_hi, int hi_bits, int lo_bits,
                                      enum quant_scheme sch, double *grad);

/* ---------------------------------------------------------------- PACT */

/* PACT forward, Choi et al. 2018, eq. 1-2: y = clamp(x, 0, alpha) quantized to
 * `bits` unsigned bits with s = alpha / Qu: out[k] = quant_act_fake with that s.
 * pass (may be NULL): PACT's STE for x, 1 where 0 <= x[k] < alpha, 0 elsewhere
 * (their eq. 3: the gradient w.r.t. x is cut where the clip is active). This
 * differs from quant_act_fake()'s mask on [alpha, alpha + s/2], where PACT
 * sends the gradient to alpha instead.
 * alpha > 0 and finite (asserted); bits 1..16. */
void quant_pact_fake(const float *x, size_t n, float alpha, int bits, float *out,
                     uint8_t *pass);

/* PACT's gradient w.r.t. the clip: dL/d alpha = sum of g[k] over x[k] >= alpha
 * (Choi et al. 2018, eq. 3, with the STE on the rounding: d y_q / d alpha = 1
 * where the clip is active, 0 elsewhere; the paper keeps only this clipped
 * term, and so do we). g[k] = dL/d out[k]. Sum in double; n = 0 gives 0. */
double quant_pact_grad_alpha(const float *x, const float *g, size_t n, float alpha);

/* PACT with nested activations: the hi_bits code with s_hi = alpha / Qu(hi_bits),
 * then its top lo_bits (quant_act_fake_nested()); pass as quant_pact_fake(). */
void quant_pact_fake_nested(const float *x, size_t n, float alpha, int hi_bits,
                            int lo_bits, float *out, uint8_t *pass);

/* dL/d alpha for the nested low output. A clipped input has a_hi = Qu_hi and
 * out_lo = (Qu_hi >> d) * 2^d * alpha / Qu_hi = alpha * 2^d Qu_lo / Qu_hi
 * (240/255 alpha at 8 -> 4 bits), so
 *     returns (2^d * Qu_lo / Qu_hi) * sum of g[k] over x[k] >= alpha;
 * inside the range the STE makes out_lo ~ x, independent of alpha (as in
 * quant_pact_grad_alpha()). */
double quant_pact_grad_alpha_nested(const float *x, const float *g, size_t n, float alpha,
                                    int hi_bits, int lo_bits);

#endif
