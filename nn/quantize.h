/*
 * quantize.h: running one FP32 weight set at two precisions.
 *
 * A quantized model (struct nn_quant in nn/model.h) keeps its FP32 weights as the
 * master copy plus, per dense/conv2d layer, a weight step per precision and the
 * step of its input activation code. Running it at precision p (0 high, 1 low)
 * means: weights fake-quantized to their codes times their step (the low code
 * nested in the high one as the scheme says), and each layer's input
 * fake-quantized to unsigned codes (the low code the top bits of the high one).
 * This fake-quant run computes exactly what an integer datapath computes, in
 * float (nn/integer.h does it in integers):
 *
 *     struct nn_qweights *qw = nn_qweights_alloc(m, 0);
 *     nn_quant_apply(m, 1, qw, ws);                  W4A4 from now on in ws
 *     nn_forward(m, &nn_exec_fp32, ws, x, b, &logits);
 *     nn_quant_apply(m, -1, qw, ws);                 back to FP32
 *
 * Steps come from ranges (quant/range.h): weights from their own values, and
 * activations from calibration images, a moving average, or training.
 */
#ifndef CIM_NN_QUANTIZE_H
#define CIM_NN_QUANTIZE_H

#include <stdint.h>

#include "base/err.h"
#include "nn/forward.h"
#include "nn/model.h"
#include "quant/range.h"

/* Make `m` quantized as `q` says (n_prec 1 or 2, bits, scheme, per-channel) and
 * allocate its steps: weights from their max-abs range, activations 1/255 for the
 * network input (the 8-bit code of a pixel is the pixel) and 1/Qu elsewhere until
 * nn_quant_calibrate(). CIM_EINVAL with a message for bits out of range or a low
 * precision not below the high one. */
int nn_quant_enable(struct nn_model *m, const struct nn_quant *q, struct cim_err *err);

/* Set every weight step from the current FP32 weights by `method` (per tensor or
 * per channel as the model says; pct for QUANT_RANGE_PERCENTILE): the high step
 * is range / Q(wbits[0]); nested schemes derive the low step as high * 2^d,
 * the independent scheme ranges the low precision on its own. */
void nn_quant_weight_ranges(struct nn_model *m, enum quant_range_method method, double pct);

/* Derive the low weight steps of nested schemes from the high ones. */
void nn_quant_nest_steps(struct nn_model *m);

/* Set the activation steps from the FP32 activations of n calibration images x:
 * the input of each dense/conv2d layer after the first gets range / Qu(abits[0])
 * by `method`; the network input keeps its max-abs range. */
int nn_quant_calibrate(struct nn_model *m, const float *x, int n, enum quant_range_method method,
                       double pct, struct cim_err *err);

/* Buffers for the fake-quantized weights of one precision (and, for training,
 * their straight-through masks). */
struct nn_qweights {
    float *w[NN_MODEL_LAYERS_MAX];
    uint8_t *pass[NN_MODEL_LAYERS_MAX];
};
struct nn_qweights *nn_qweights_alloc(const struct nn_model *m, int with_pass);
void nn_qweights_free(struct nn_qweights *qw);

/* Prepare ws to run `m` at precision p (0 high, 1 low; -1: plain FP32): fill qw
 * with the fake-quantized weights and point ws at them, and set the activation
 * quantizers. A model that is not quantized runs FP32 whatever p is. */
void nn_quant_apply(const struct nn_model *m, int p, struct nn_qweights *qw, struct nn_ws *ws);

/* "W8A8"-style label of precision p into buf. */
void nn_quant_label(const struct nn_model *m, int p, char *buf, size_t size);

#endif
