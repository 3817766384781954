/*
 * device.h: one crossbar cell, from its target level to its conductance.
 *
 * A cell of `cell_bits` bits is programmed to level l in 0 .. L (L =
 * 2^cell_bits - 1), the conductance G = Gmin + l / L (Gmax - Gmin); here
 * normalized so that Gmax = 1 and Gmin = 1 / on_off. Then, as configured
 * (struct cim_xbar_config, all off by default):
 *   faults       with probability saf0 the cell is stuck at Gmin, with saf1 at
 *                Gmax, whatever its level; a stuck cell has no noise or drift;
 *   programming  G + s N(0,1) (additive, s in units of Gmax) or G (1 + s N(0,1))
 *                (proportional), clipped at 0;
 *   drift        G(t) = G(t0) (t / t0)^-nu, nu ~ N(mean, std) clipped at 0,
 *                when drift_t > 0 (Ielmini et al., IEEE TED 54(2), 2007).
 * Every draw comes from cim/noise.h's CIM_NOISE_PROGRAM key and the cell's
 * coordinates (layer, row, column): a cell's conductance depends on nothing
 * else, so arrays programmed in any order, on any thread, agree.
 *
 *     double g_t0, g = cim_device_program(&cfg, layer, row, col, level, &g_t0);
 */
#ifndef CIM_CIM_DEVICE_H
#define CIM_CIM_DEVICE_H

#include <stdint.h>

struct cim_xbar_config;

/* The conductance (Gmax = 1) of the cell at (layer, row, col) programmed to
 * `level` (0 .. 2^cell_bits - 1), at time drift_t (or right after programming
 * without drift); *g_t0 gets its conductance before drift. cfg must pass
 * cim_xbar_config_check(). */
double cim_device_program(const struct cim_xbar_config *cfg, uint32_t layer, uint32_t row,
                          uint32_t col, int level, double *g_t0);

/* The conductance (Gmax = 1) of a cell programmed to `level` with the
 * programming noise of the standard normal draw z, as cim_device_program()
 * applies it (additive or proportional, clipped at 0; no fault, no drift):
 * the one place that noise model is written, shared with noise-aware
 * training (cim/train_noise.h). */
double cim_device_prog_g(const struct cim_xbar_config *cfg, int level, double z);

/* Conductance units of a crossbar of cells of `cell_bits` bits and on/off
 * ratio on_off (may be INFINITY): the "level unit" is one level step,
 * (Gmax - Gmin) / L with L = 2^cell_bits - 1. level_unit is the number of
 * level units per Gmax, L / (1 - Gmin/Gmax), and leak_level the level-0
 * conductance Gmin in level units, L / (on_off - 1) (0 for an infinite
 * ratio); a conductance g (Gmax = 1) is g level_unit - leak_level levels above
 * level 0. */
double cim_device_level_unit(int cell_bits, double on_off);
double cim_device_leak_level(int cell_bits, double on_off);

/* The level of slice j (0 = least significant) of weight code q (|q| <=
 * 2^(wbits-1) - 1) in a column of cells of `cell_bits` bits: with sign +1 the
 * positive column of a differential pair (|q| if q > 0, else 0), with sign -1
 * the negative one (|q| if q < 0), with sign 0 the offset encoding's column
 * (q + 2^(wbits-1) - 1). Slices reconstruct: sum_j level_j 2^(j cell_bits) is
 * that magnitude. */
int cim_device_slice_level(int32_t q, int wbits, int cell_bits, int j, int sign);

#endif
