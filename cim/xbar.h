/*
 * xbar.h: a quantized network programmed onto analog crossbar arrays.
 *
 * A struct cim_xbar holds every dense/conv2d layer of a quantized model as
 * conductances of crossbar cells and runs the layers' dot products the way the
 * arrays would: inputs applied bit-serially through DACs, one column current
 * per (input slice, weight slice, array), one ADC per column, and the digital
 * periphery's shift-add. It is an integer backend of nn/integer.h (struct
 * nn_int_exec), so the network around the arrays (im2col, requantization,
 * pooling) is nn/'s, written once, and the ideal crossbar (no noise, lossless
 * ADC) gives exactly the integer digital result.
 *
 * Mapping (DESIGN.md, "Crossbar model"). A layer's codes w [O, K] (conv2d: K =
 * in_c k k, through im2col) are cut into row tiles of `rows` inputs. A code's
 * magnitude is split into `cell_bits`-bit slices, one cell each, slice j
 * weighing 2^(j cell_bits):
 *   differential  |q| in a column pair, the positive column holds it when q > 0,
 *                 the negative one when q < 0 (the other at level 0); wbits - 1
 *                 magnitude bits, so ceil((wbits - 1) / cell_bits) slices. An
 *                 output uses 2 S columns; an array holds cols / (2 S) outputs.
 *   offset        q + Q (Q = 2^(wbits-1) - 1) in one column, unsigned, wbits
 *                 bits, S = ceil(wbits / cell_bits) slices; each array has one
 *                 reference column per slice holding that slice of Q, and the
 *                 periphery subtracts the reference's code. An array holds
 *                 (cols - S) / S outputs.
 * Slices of one output sit in adjacent columns of one array (as in ISAAC,
 * Shafiee et al., ISCA 2016); arrays are counted per (row tile, column tile).
 *
 * Cells. Level l in 0 .. L (L = 2^cell_bits - 1) is the conductance
 * G = Gmin + l / L (Gmax - Gmin), Gmax / Gmin = on_off. Currents are kept in
 * "level units": one level step times one DAC step, so an ideal column current
 * is the integer sum_r x_r l_r plus the leakage g0 sum_r x_r of the cells'
 * Gmin, g0 = L / (on_off - 1). Leakage is the same in both columns of a pair
 * (and in the reference), so the subtraction of their codes removes it.
 *
 * Inputs. An activation code of abits bits is applied as ceil(abits /
 * dac_bits) slices of dac_bits bits (slice i weighs 2^(i dac_bits)), the DAC
 * driving the rows with x_r in 0 .. 2^dac_bits - 1 steps. A read is one input
 * slice applied to one array; a read whose slice is zero on every row of the
 * array draws no current and is skipped (it would give code 0 on every column).
 *
 * ADC. Each column current I (level units) becomes the code
 *     clamp(floor(I c / 2^e + 1/2), 0, 2^adc_bits - 1)
 * where c is the drift compensation gain (1 without) and 2^e the ADC step, a
 * power of two so that the periphery stays a pure shift-add (a range that is
 * not a power of two of the level unit is rounded up to one). The range:
 *   lossless     e = 0 when adc_bits reaches cim_xbar_adc_bits_lossless(), else
 *                the ADC keeps the top adc_bits of that full scale;
 *   max          the largest column current seen on calibration images;
 *   percentile   the P-th percentile of those currents;
 *   fixed        a full scale of V level units.
 * Calibrated ranges are per layer and per weight slice, measured by
 * cim_xbar_calibrate() on images the caller chooses (cim uses training
 * images, never test images).
 *
 * Periphery (cim/periph.h, rtl/cim_shift_add.v). Per output the codes are
 * shift-added over input slices, weight slices and row tiles, positive minus
 * negative (or reference), acc = sum d 2^(i dac_bits + j cell_bits + e_j), then
 * rounded to periph_bits with quant_requantize() (shift: the lossless width
 * minus periph_bits, MSB-aligned; round and overflow as configured). The layer
 * result handed back is that output times 2^shift, in dot-product units.
 *
 * Non-idealities (all off by default; every draw from cim/noise.h, keyed by
 * the seed, so the same seed gives the same bits for any thread count and any
 * batch cut):
 *   programming noise  drawn once per cell: G + s Gmax N(0,1) (additive) or
 *                      G (1 + s N(0,1)) (proportional), clipped at 0;
 *   stuck-at faults    a cell is stuck at Gmin with probability saf0, at Gmax
 *                      with probability saf1 (no noise, no drift);
 *   drift              G(t) = G(t0) (t / t0)^-nu, nu ~ N(mean, std) per cell,
 *                      clipped at 0 (Ielmini et al., IEEE TED 2007); with
 *                      drift_comp, the ADC gain c of each layer is the ratio
 *                      of its total conductance at t0 to that at t, what a
 *                      read of all-ones inputs at both times measures
 *                      (global drift compensation, as in Joshi et al., Nat.
 *                      Commun. 2020);
 *   read noise         fresh on every read: each cell's current gets s Gmax
 *                      N(0,1) x_r (additive) or s G N(0,1) x_r (proportional);
 *                      the column sum of independent Gaussians is drawn
 *                      directly from its variance, s^2 sum_r x_r^2 (Gmax^2 or
 *                      G_r^2).
 *
 * Precision. The backend runs the integer model of one precision p. With
 * scheme nested, differential encoding and cell_bits dividing wbits_hi -
 * wbits_p, the low precision runs on the arrays programmed with the HIGH
 * codes (same cells, same noise draws) and skips their low weight slices:
 * sign-magnitude truncation, exactly quant_nest_code(). Otherwise the arrays
 * hold the codes of precision p (cim_xbar_reuses() tells which).
 *
 *     struct cim_xbar_config cfg = cim_xbar_config_default();
 *     cfg.adc_bits = 6;
 *     struct cim_xbar *xb = cim_xbar_alloc(model, 0, &cfg, &err);
 *     struct nn_int_exec ex = cim_xbar_exec(xb);
 *     nn_int_forward_exec(cim_xbar_int_model(xb), &ex, x, b, first, logits);
 *     cim_xbar_stats(xb, layer, &st);
 *     cim_xbar_free(xb);
 */
#ifndef CIM_CIM_XBAR_H
#define CIM_CIM_XBAR_H

#include <stdint.h>

#include "base/err.h"
#include "nn/integer.h"
#include "nn/model.h"
#include "quant/round.h"

/* ---------------------------------------------------------------- configuration */

enum cim_encoding { CIM_ENCODING_DIFFERENTIAL = 0, CIM_ENCODING_OFFSET = 1 };

enum cim_adc_range {
    CIM_ADC_RANGE_LOSSLESS = 0,
    CIM_ADC_RANGE_MAX = 1,
    CIM_ADC_RANGE_PERCENTILE = 2,
    CIM_ADC_RANGE_FIXED = 3
};

enum cim_noise_model { CIM_NOISE_ADDITIVE = 0, CIM_NOISE_PROPORTIONAL = 1 };

/* Everything that defines the hardware and its non-idealities; plain data. The
 * names follow `cim infer`'s options (in brackets). */
struct cim_xbar_config {
    int rows, cols;                 /* array size [--array RxC], 8 .. 4096 each */
    enum cim_encoding encoding;     /* [--encoding differential|offset] */
    int cell_bits;                  /* bits per cell, 1, 2, 4 or 8 [--cell-bits] */
    int dac_bits;                   /* bits per input slice, 1 .. 8 [--dac-bits] */
    double on_off;                  /* Gmax / Gmin, > 1, may be INFINITY [--on-off] */
    int adc_bits;                   /* 1 .. 24; 0: lossless [--adc-bits] */
    enum cim_adc_range adc_range;   /* [--adc-range] */
    double adc_value;               /* percentile P in (0, 100], or fixed full scale
                                       in level units (> 0) */
    int periph_bits;                /* periphery output width 2 .. 62; 0: lossless
                                       [--periph-bits] */
    enum quant_round round;         /* [--round floor|half-up|half-even] */
    enum quant_overflow overflow;   /* [--saturate] */
    enum cim_noise_model noise_model; /* [--noise-model additive|proportional] */
    double prog_noise;              /* sigma, >= 0 [--prog-noise] */
    double read_noise;              /* sigma, >= 0 [--read-noise] */
    double drift_t;                 /* seconds after programming; 0: no drift
                                       [--drift-t] */
    double drift_t0;                /* reference time of the programmed state, s
                                       [--drift-t0] */
    double drift_nu_mean, drift_nu_std; /* [--drift-nu MEAN,STD] */
    int drift_comp;                 /* 1: global drift compensation [--drift-comp] */
    double saf0, saf1;              /* stuck-at-Gmin / Gmax probabilities [--saf0/1] */
    uint64_t seed;                  /* [--seed] */
};

/* The defaults: 128x128 arrays, differential, 2-bit cells, 1-bit DAC, on/off
 * 100, lossless ADC and periphery (floor, saturate), additive noise model, no
 * non-ideality, drift t0 20 s and nu 0.05 +- 0.01 (used only when drift_t > 0),
 * seed 1. */
struct cim_xbar_config cim_xbar_config_default(void);

/* CIM_OK when every field is in range and consistent; else CIM_EINVAL with a
 * message naming the option, e.g. "--cell-bits 3: expected 1, 2, 4 or 8".
 * `err` may be NULL. */
int cim_xbar_config_check(const struct cim_xbar_config *cfg, struct cim_err *err);

/* Names <-> values, as the command line spells them; parse functions return
 * CIM_OK or CIM_EINVAL (value untouched). */
const char *cim_encoding_name(enum cim_encoding e);
int cim_encoding_parse(const char *s, enum cim_encoding *e);
const char *cim_adc_range_name(enum cim_adc_range r);
const char *cim_noise_model_name(enum cim_noise_model m);
int cim_noise_model_parse(const char *s, enum cim_noise_model *m);

/* The number of ADC bits that loses nothing on an array of `rows` rows: the
 * smallest b with 2^b - 1 >= rows (2^dac_bits - 1) (2^cell_bits - 1 + g0),
 * g0 = (2^cell_bits - 1) / (on_off - 1) the leakage of a level-0 cell in level
 * units (0 for an infinite on/off). Without leakage this is
 * ceil(log2(rows (2^dac - 1) (2^cell - 1) + 1)): 128 rows, 1-bit DAC, 2-bit
 * cells: 9 bits. */
int cim_xbar_adc_bits_lossless(int rows, int dac_bits, int cell_bits, double on_off);

/* ---------------------------------------------------------------- the crossbar */

struct cim_xbar;

/* Program quantized model `m` at precision p (0 high, 1 low) onto crossbars as
 * configured (the config is copied; `m` is read, not kept). Programming noise,
 * faults and drift are drawn here. Returns NULL and sets `err`: CIM_EINVAL for
 * a bad config, a model that is not quantized or a precision out of range, or
 * arrays too narrow for one output (cols < 2 S); CIM_EUNSUPPORTED for what
 * nn_int_model_alloc() rejects; CIM_ENOMEM. */
struct cim_xbar *cim_xbar_alloc(const struct nn_model *m, int p, const struct cim_xbar_config *cfg,
                                struct cim_err *err);

/* Free a crossbar; accepts NULL. */
void cim_xbar_free(struct cim_xbar *xb);

/* The integer model the crossbar runs (requantization, layers), borrowed. */
const struct nn_int_model *cim_xbar_int_model(const struct cim_xbar *xb);

/* The backend for nn_int_forward_exec(); ctx is xb. Statistics accumulate in
 * xb (cim_xbar_stats) over every pass until cim_xbar_stats_reset(). */
struct nn_int_exec cim_xbar_exec(struct cim_xbar *xb);

/* 1 when precision p runs on the arrays of the high codes, skipping low
 * weight slices (see "Precision"); 0 when the arrays hold p's own codes. */
int cim_xbar_reuses(const struct cim_xbar *xb);

/* The programmed cells of layer `layer`: *g points at [k, ncol] conductances
 * minus Gmin in level units (row-major, k the fan-in, ncol the physical
 * columns in xbar.h's order), borrowed. Returns CIM_EINVAL for an index out of
 * range or a layer without weights. For tests and inspection. */
int cim_xbar_cells(const struct cim_xbar *xb, int layer, const float **g, int *k, int *ncol);

/* ADC calibration. Between _begin and _end, passes run with a lossless ADC
 * (their read noise drawn from the CIM_NOISE_CALIB key, so calibration and
 * inference never share draws) and record every column current per layer and
 * weight slice; _end sets each ADC step from the configured range (max or
 * percentile) and resets the statistics. For the lossless and fixed ranges
 * calibration is unnecessary and _end changes nothing. _end returns CIM_EINVAL
 * when no current was recorded for a layer that needs one. */
void cim_xbar_calibrate_begin(struct cim_xbar *xb);
int cim_xbar_calibrate_end(struct cim_xbar *xb, struct cim_err *err);

/* What a layer's arrays did, summed over the passes since the last reset. */
struct cim_xbar_stats {
    int is_weight_layer;     /* 0 for maxpool (everything else 0) */
    int row_tiles, col_tiles;/* arrays = row_tiles col_tiles */
    int fan_in, out_features;/* the layer's matrix: k rows, o outputs */
    int per_array;           /* outputs per array */
    int columns;             /* physical columns of one row tile, all column tiles */
    int w_slices, in_slices; /* slices read (after skipping) */
    int adc_bits;            /* ADC resolution */
    int adc_shift[16];       /* ADC step log2 per read weight slice */
    int periph_shift;        /* bits the periphery drops */
    double drift_gain;       /* drift compensation gain c (1 without) */
    uint64_t vectors;        /* input vectors (samples x positions) */
    uint64_t reads;          /* array reads scheduled: vectors x in_slices x arrays */
    uint64_t reads_skipped;  /* of those, reads with an all-zero slice */
    uint64_t conversions;    /* ADC conversions of the reads done */
    uint64_t clipped;        /* conversions that hit full scale (current above it) */
    double err_sq;           /* sum over outputs of (result - exact)^2, dot units */
    double ref_sq;           /* sum over outputs of exact^2 */
    uint64_t outputs;        /* outputs compared */
    /* what the energy model needs (cim/energy.h), over the reads done: */
    uint64_t row_drives;     /* rows driven with a non-zero step, counted per array */
    double drive_sq;         /* sum over reads and driven rows of step^2 (DAC steps) */
    double drive_g;          /* sum over reads and driven rows of step^2 times the
                                row's programmed conductance minus Gmin, summed over
                                its `columns` cells, level units (exact to 2^-16 per
                                row) */
};

/* The statistics of layer `layer` into *st; CIM_EINVAL for an index out of
 * range. RMS error = sqrt(err_sq / outputs), relative = sqrt(err_sq / ref_sq). */
int cim_xbar_stats(const struct cim_xbar *xb, int layer, struct cim_xbar_stats *st);
void cim_xbar_stats_reset(struct cim_xbar *xb);

#endif
