/*
 * noise.h: the hook through which training perturbs a quantized network.
 *
 * Noise-aware training runs each quantization-aware step on the network as
 * some hardware would compute it: weights and dot products disturbed the way
 * that hardware disturbs them, with gradients passing straight through to the
 * FP32 weights. nn/ knows nothing of that hardware: the trainer (nn/train.h)
 * calls these functions, and a model of the hardware that builds on nn/
 * provides them (cim/train_noise.h provides the crossbar's). Each call names
 * its pass, (training step, precision); an implementation draws its noise from
 * the pass and from what it perturbs, never from call order, so that any
 * thread count and a resumed run give the same bits.
 *
 *     struct nn_noise_hook h = {.weights = my_weights, .acc = my_acc, .ctx = me};
 *     opts.qat.noise = &h;                 struct nn_train_opts, nn/train.h
 */
#ifndef CIM_NN_NOISE_H
#define CIM_NN_NOISE_H

#include "nn/exec.h"

struct nn_model;

struct nn_noise_hook {
    /* Replace w, the fake-quantized weights of dense/conv2d layer `layer` at
     * precision p (row-major [outputs, fan-in], each the code times its step
     * m->layers[layer].wscale[p]), by the weights pass (step, p) computes
     * with. Called once per pass and layer before the forward pass; may be
     * NULL. Returns CIM_OK or an error code. */
    int (*weights)(void *ctx, const struct nn_model *m, long step, int p, int layer, float *w);
    /* Add to y, the product of layer `layer` (before bias and activation) in
     * pass (step, p), the noise of its accumulators: n input vectors of fan-in
     * k, o outputs, x and y laid out as `layout` says (nn/exec.h); x holds the
     * layer's quantized inputs, a_step the real value of one input code. Vector
     * v belongs to sample first + v / per, position v % per (per: 1 for dense,
     * the output positions of a conv2d), samples counted from the batch's
     * first. Called from the thread of the chunk (nn/forward.h); may be NULL.
     * Returns CIM_OK or an error code. */
    int (*acc)(void *ctx, const struct nn_model *m, long step, int p, int layer,
               enum nn_exec_layout layout, const float *x, float a_step, float *y, int n, int o,
               int k, int first, int per);
    void *ctx;
};

#endif
