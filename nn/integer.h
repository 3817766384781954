/*
 * integer.h: true integer inference of a quantized model at one precision.
 *
 * The fake-quant path (nn/quantize.h) runs a quantized model in float: every
 * weight and every input activation of a dense/conv2d layer is a code times its
 * step. This file runs the same network with the codes themselves, as an
 * integer datapath (or an ideal crossbar) does, following Jacob et al.,
 * "Quantization and Training of Neural Networks for Efficient
 * Integer-Arithmetic-Only Inference", CVPR 2018, section 2 (zero points 0):
 *
 *   input    a = quant_code_unsigned(x / s_a, Qu_hi), x the pixel in [0, 1] and
 *            s_a the input step of the first weight layer (at W8A8 with the
 *            default step 1/255 the code is the pixel); at the low precision
 *            the top bits of that code, quant_act_nest_code(a, A_hi, A_lo),
 *            whose step is s_a * 2^(A_hi - A_lo).
 *   weights  the int32 codes of precision p, derived exactly as the fake-quant
 *            path derives them: quant_code_signed(w / s_hi, Q_hi) at the high
 *            precision; at the low one quant_nest_code() of that code (nested
 *            and nested-round, step s_hi * 2^(W_hi - W_lo)) or
 *            quant_code_signed(w / s_lo, Q_lo) (independent). Per tensor or
 *            per output channel, as the model says.
 *   layer    acc[o] = sum_k q_w[o, k] a[k], the exact integer dot product of
 *            the codes (conv2d through an integer im2col, code 0 in the
 *            padding), in int32 (see "Accumulator width").
 *   output   the input code of the NEXT dense/conv2d layer at its high step
 *            s_next, with the bias b[o] and the ReLU:
 *                a_next = clamp(round(acc * M + b[o] / s_next), 0, Qu_hi),
 *                M = s_w[o] s_a / s_next,
 *            s_w and s_a this layer's weight and input steps at precision p,
 *            in fixed point (below); at the low precision then its top bits,
 *            quant_act_nest_code(a_next, A_hi, A_lo), exactly what quantize.c's
 *            activation quantizer (quant_act_fake_nested) does to the float.
 *            The ReLU is the clamp at 0 on the integer pre-activation: codes
 *            are unsigned, and a layer without ReLU feeding another weight
 *            layer is clamped at 0 by the next quantizer in the fake path too.
 *   maxpool  on codes: quantization is monotone, so the max of the codes is the
 *            code of the max.
 *   logits   the last layer's accumulator, converted to float at the very end
 *            (the one float step of the pass): logit[o] = (float)(acc[o] s_w[o]
 *            s_a + b[o]) evaluated in double (then ReLU if the layer has one).
 *
 * Requantization (Jacob et al. 2018, section 2.2). The real multiplier M is
 * stored as a fixed-point number M = m0 2^-shift with an int32 mantissa m0 in
 * [2^30, 2^31) (31 significant bits, relative error <= 2^-31) and a right
 * shift, and the bias in the same fixed point, B = nearbyint(b / s_next 2^shift)
 * (units of 2^-shift output codes, half to even). Then
 *     a_next = clamp(quant_round_shift(acc m0 + B, shift, QUANT_ROUND_HALF_EVEN),
 *                    0, Qu_hi)
 * an int64 multiply-add and one rounding right shift: no division, no float.
 * Jacob et al. round half away from zero (gemmlowp's RoundingDivideByPOT); we
 * round half to EVEN, the rule of nearbyint() that the fake-quant path and
 * every quantizer of quant/ use, so that an exact tie in the fixed-point value
 * rounds the way the float path rounds an exact tie. On the positive side,
 * where the rounding matters, half-up and half-away agree; only the tie rule
 * differs, and ties are rare since M is rarely a short binary fraction.
 *
 * Why the bias joins at the output stage, not the accumulator. Jacob et al.
 * store an int32 bias on the accumulator grid s_w s_a. At W4A4 that grid is
 * 2^8 times coarser than at W8A8 while the output grid (the next layer's HIGH
 * code, whose top bits make the low code) is not: on the shipped lenet5, M
 * reached 1.13, so rounding the bias to the accumulator grid moved outputs by
 * up to 0.56 of a code and changed 663 of 2000 W4A4 predictions (5 at W8A8).
 * In the output's fixed point the bias keeps ~2^-shift of a code.
 *
 * Why the integer path may still differ from fake-quant by one code: the
 * fake-quant path rounds y / s_next where y is a float sum (sgemm order, 24-bit
 * mantissa) plus the FP32 bias; here the sum is exact and M has 31 bits. Both
 * errors are far below a code, so the two paths give the same code except where
 * the value lies within float error of a rounding boundary (a near-tie): there
 * they may differ by exactly one code. Such a difference moves the logits by a
 * few steps and very rarely the predicted class; cim promises accuracy within 0.05
 * points of fake-quant (tests/nn/test_integer.c).
 *
 * Accumulator width. A layer accumulates in int32 when, for every output o,
 *     Qa * sum_k |q_w[o, k]| <= INT32_MAX                  (Qa = 2^A_p - 1)
 * which bounds every partial sum. At W8A8 the worst case for fan-in K is
 * 255 * 127 * K (lenet5's and mlp's largest K, 400 and 784, give 1.3e7 and
 * 2.5e7); int32 holds any K up to 66,311. A layer that fails the bound (wide
 * codes or a huge fan-in) accumulates in int64 instead; every product fits
 * int32 since |q_w| <= 32767 and a <= 65535.
 *
 * Overflow. The output saturates at Qu, so accumulators at or below
 * lo = floor(-B / m0) give 0 and those at or above hi = ceil(((Qu + 1) 2^shift
 * - B) / m0) give Qu without multiplying; in between, 0 < acc m0 + B <
 * (Qu + 1) 2^shift, and the shift is capped so that this bound and |B| stay
 * <= 2^61: no int64 operation overflows, for any int64 accumulator. The cap
 * (shift <= 61 - A_hi, and <= 61 - log2|b / s_next|) costs significant bits of
 * m0 only for a multiplier below 2^(A_hi - 31) (2^-23 at 8 bits) or a bias
 * of more than about 2^30 accumulator steps (|b| > 2^30 s_w s_a); a multiplier
 * of 2^31 or more (no real model has one) is replaced by 2^31 - 1.
 *
 *     struct nn_int_model *im = nn_int_model_alloc(m, 1, &err);   W4A4
 *     struct nn_int_ws *ws = nn_int_ws_alloc(im, 256);
 *     nn_int_forward(im, ws, x, b, logits);                       logits [b, classes]
 *     nn_int_ws_free(ws);
 *     nn_int_model_free(im);
 *
 * The integer model is a snapshot: it copies what it needs from `m` at
 * allocation, so later changes to `m` do not reach it. Passes never allocate;
 * a batch is cut into chunks of NN_CHUNK samples run on the threads of
 * nn_threads_get(), and the result is the same bits for any thread count.
 */
#ifndef CIM_NN_INTEGER_H
#define CIM_NN_INTEGER_H

#include <stdint.h>

#include "base/err.h"
#include "nn/model.h"

/* ---------------------------------------------------------------- requantization */

/* The output stage of a hidden layer in fixed point: a real multiplier M > 0
 * and a bias (in output codes), and the output width it saturates at.
 * nn_int_requant_apply() returns
 *     clamp(round_half_even((acc m0 + bias) / 2^shift), 0, qmax). */
struct nn_int_requant {
    int32_t m0;     /* mantissa, in [2^30, 2^31) unless M is extreme (see above) */
    int shift;      /* right shift, 0 .. 61 - abits */
    int64_t bias;   /* the bias in units of 2^-shift output codes */
    int64_t lo, hi; /* accumulators <= lo give 0, >= hi give qmax (m0 > 0) */
    int32_t qmax;   /* largest output code, 2^abits - 1 */
};

/* The fixed-point form of multiplier m and bias `bias` (in output codes: the
 * real bias over the output step) for unsigned outputs of `abits` bits (1..16).
 * m must be positive and finite, bias finite (asserted; the model allocator
 * checks its steps and biases first). Examples: m = 0.5 -> m0 = 2^30, shift 31;
 * m = 2.385 -> m0 = round(2.385 / 4 * 2^31) = 1280437125, shift 29. */
void nn_int_requant_init(struct nn_int_requant *rq, double m, double bias, int abits);

/* The output code of accumulator acc (the dot product, bias not included):
 * 0 for acc <= lo (the ReLU), qmax for acc >= hi, else
 * clamp(quant_round_shift(acc m0 + bias, shift, half-even), 0, qmax). Exact
 * for every int64_t acc; never overflows. */
int32_t nn_int_requant_apply(const struct nn_int_requant *rq, int64_t acc);

/* ---------------------------------------------------------------- model */

struct nn_int_model;
struct nn_int_ws;

/* The integer form of quantized model `m` at precision p (0 high, 1 low): the
 * weight codes, the biases on the accumulator grid, the requantization
 * multipliers of every dense/conv2d layer but the last, and the logit steps of
 * the last. `m` is read, not kept. Returns NULL and sets `err`:
 *   CIM_EINVAL  `m` is FP32 (quant.n_prec 0), p is outside 0..n_prec-1, a
 *               bit-width is out of range (or a low one above the high one), a
 *               weight or activation step is not positive and finite, or a
 *               bias is not finite;
 *   CIM_EFORMAT the layers do not chain (nn_model_validate());
 *   CIM_EUNSUPPORTED  the last layer is not dense or conv2d (its logits would
 *               be pooled codes), or a layer type the integer path lacks;
 *   CIM_ENOMEM. */
struct nn_int_model *nn_int_model_alloc(const struct nn_model *m, int p, struct cim_err *err);

/* Free an integer model; accepts NULL. */
void nn_int_model_free(struct nn_int_model *im);

/* The weight codes of layer `layer` at the model's precision, row-major
 * [out, fan-in] (conv: [out_c, in_c*k*k]), borrowed from `im`; NULL for a
 * maxpool layer or an index out of range. These are the codes a crossbar is
 * programmed with. */
const int32_t *nn_int_model_codes(const struct nn_int_model *im, int layer);

/* Whether layer `layer` accumulates in int64 (1) or int32 (0; also for a
 * maxpool or an index out of range); see "Accumulator width". */
int nn_int_model_acc64(const struct nn_int_model *im, int layer);

/* A workspace for passes of at most batch_max samples; NULL when out of memory
 * or batch_max < 1. Free with nn_int_ws_free() (accepts NULL). */
struct nn_int_ws *nn_int_ws_alloc(const struct nn_int_model *im, int batch_max);
void nn_int_ws_free(struct nn_int_ws *ws);

/* ---------------------------------------------------------------- backends */

/* An integer execution backend: where the dot products of a dense/conv2d layer
 * on codes happen. The digital path (nn_int_forward) computes them exactly; an
 * analog crossbar model (cim/) computes them with its devices, ADCs and
 * periphery, and the network around them (im2col, requantization, pooling,
 * logits) stays this file's, written once.
 *
 * matmul computes, for n input vectors a [n, k] (codes, row-major; a dense
 * layer's input, or a conv2d layer's patches, one output position per row,
 * (c, ky, kx) order, code 0 in the padding) and the layer's codes w [o, k]
 * (nn_int_model_codes()), acc [n, o] with
 *     acc[v, j] ~ sum_k w[j, k] a[v, k]
 * in units of the exact dot product (equal to it for an exact backend). Vector v
 * belongs to sample first + v / per, per = 1 for dense and the output positions
 * (h w) for conv2d, so a backend that draws noise can key it by sample and give
 * every sample the same draws however the batch is cut. Called concurrently
 * from several threads, each with its own a and acc. Returns CIM_OK or an error
 * code, which ends the pass. */
struct nn_int_exec {
    const char *name;
    int (*matmul)(void *ctx, int layer, const uint16_t *a, int64_t *acc, int n, int o, int k,
                  long first, int per);
    void *ctx;
};

/* The exact integer backend (the dot products of nn_int_forward); its ctx is the
 * struct nn_int_model. For tests and as the reference of other backends. */
struct nn_int_exec nn_int_exec_exact(const struct nn_int_model *im);

/* Integer forward pass of b samples x [b, C, H, W] (floats, pixels in [0, 1]
 * for the shipped models) into logits [b, num_classes] (caller's buffer).
 * Returns CIM_OK, or CIM_EINVAL when b is outside 1..batch_max of ws. */
int nn_int_forward(const struct nn_int_model *im, struct nn_int_ws *ws, const float *x, int b,
                   float *logits);

/* The same pass with the dot products of backend `ex`: samples first .. first +
 * b - 1 of a longer sequence (the index only keys the backend's draws), x and
 * logits as above. Each chunk of NN_CHUNK samples goes through the network
 * layer by layer, so the backend sees up to NN_CHUNK vectors (dense) or
 * NN_CHUNK h w patches (conv2d) per call. Allocates its per-thread scratch per
 * call (CIM_ENOMEM when that fails); CIM_EINVAL for b < 1; else whatever the
 * backend returned. With nn_int_exec_exact() the logits equal nn_int_forward's
 * bit for bit. */
int nn_int_forward_exec(const struct nn_int_model *im, const struct nn_int_exec *ex,
                        const float *x, int b, long first, float *logits);

/* The number of vectors a layer hands its backend per sample: 1 for dense, the
 * output positions for conv2d, 0 for maxpool or an index out of range. */
int nn_int_model_vectors(const struct nn_int_model *im, int layer);

/* Layer `layer`'s weight matrix shape: *rows outputs and *cols fan-in (0 and 0
 * for maxpool or an index out of range). */
void nn_int_model_shape(const struct nn_int_model *im, int layer, int *rows, int *cols);

/* The number of layers and the activation bits of the input codes at the
 * model's precision (what a backend slices into DAC steps). */
int nn_int_model_layers(const struct nn_int_model *im);
int nn_int_model_classes(const struct nn_int_model *im);
int nn_int_model_abits(const struct nn_int_model *im);

#endif
