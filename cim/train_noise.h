/*
 * train_noise.h: the crossbar's noise, for noise-aware training.
 *
 * Quantization-aware training (nn/train.h) can run every pass on the weights
 * and dot products a noisy crossbar would compute with. This object provides
 * the perturbation as nn/noise.h's hook, for the crossbar mapping of
 * cim/xbar.h with configuration cfg (differential encoding only):
 *
 *   weights       every cell of the mapping gets its own programming-noise
 *                 draw, fresh at every training step: a code q (the high
 *                 precision's, wbits bits) is cut into S = ceil((wbits - 1) /
 *                 cell_bits) slices of its magnitude in a differential column
 *                 pair (cim_device_slice_level()), each of the 2 S cells is
 *                 programmed as cim_device_prog_g() says, and the weight the
 *                 pass uses is the step times the effective code
 *                     sum_j 2^((j - skip) cell_bits) (l+_j - l-_j),
 *                 l_j the noisy conductance minus Gmin in level units, j over
 *                 the slices read. The nested low precision (cim_xbar_reuses()'s
 *                 case) reads the top slices of the same cells (skip =
 *                 (wbits_hi - wbits_lo) / cell_bits) with the same draws;
 *                 other low precisions get arrays, and draws, of their own.
 *                 Without noise the effective code is the code, bit for bit.
 *   accumulators  read noise, additive: each read of a column (one input
 *                 slice of dac_bits, one array) adds N(0, (s Gmax)^2 sum_r
 *                 x_r^2) to its current, x_r the DAC steps of the driven rows;
 *                 shift-added over input slices i, read weight slices j and
 *                 the two columns of a pair, and summed over row tiles (whose
 *                 row sets partition the fan-in), one output gets Gaussian
 *                 noise of variance, in dot-product units,
 *                     2 (s u)^2 (sum_j 4^((j - skip) cell_bits))
 *                       sum_r sum_i 4^(i dac_bits) x_ri^2
 *                 (u = cim_device_level_unit(): level units per Gmax), drawn
 *                 per output. The array size therefore does not matter. Not
 *                 modelled: the ADC's rounding of noisy currents and its clip
 *                 at 0 (a lossless ADC rounds each current to a level unit:
 *                 at most 1/2 per conversion, uniform once the noise exceeds
 *                 a level), and read noise proportional to G.
 *
 * Draws come from cim/noise.h's Philox keyed by cfg->seed and keyed by
 * (training step, layer, row of the fan-in) for the cells and (step, layer,
 * precision, sample, position) for the accumulators: the same bits for any
 * thread count and for a run resumed at an epoch boundary.
 *
 *     struct cim_train_noise *tn = cim_train_noise_alloc(m, &cfg, &err);
 *     struct nn_noise_hook h = cim_train_noise_hook(tn);
 *     opts.qat.noise = &h;
 *     ... train ...
 *     cim_train_noise_free(tn);
 */
#ifndef CIM_CIM_TRAIN_NOISE_H
#define CIM_CIM_TRAIN_NOISE_H

#include "base/err.h"
#include "cim/xbar.h"
#include "nn/model.h"
#include "nn/noise.h"

struct cim_train_noise;

/* The noise of crossbar cfg (copied) for training quantized model m (its
 * shapes and bit-widths are read now; its weights and steps at each call).
 * NULL with `err` set: CIM_EINVAL for a config cim_xbar_config_check()
 * rejects, an offset encoding, proportional read noise, or a model that is not
 * quantized; CIM_ENOMEM. */
struct cim_train_noise *cim_train_noise_alloc(const struct nn_model *m,
                                              const struct cim_xbar_config *cfg,
                                              struct cim_err *err);

/* Free; accepts NULL. */
void cim_train_noise_free(struct cim_train_noise *tn);

/* The hook for nn_train_opts.qat.noise; ctx is tn, which must outlive its use.
 * The weights function is not reentrant (one trainer per object); acc may run
 * on several threads at once. */
struct nn_noise_hook cim_train_noise_hook(struct cim_train_noise *tn);

#endif
