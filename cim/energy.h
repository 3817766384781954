/*
 * energy.h: energy and area of a crossbar run, from what the run really did.
 *
 * The model prices the counts a struct cim_xbar gathered while it classified
 * images (cim_xbar_stats: ADC conversions, rows driven, the conductances those
 * rows saw) with per-component constants, each a named parameter with a
 * documented source (docs/ENERGY.md):
 *   ADC        energy per conversion from a figure of merit at ENOB = adc_bits -
 *              adc_enob_loss: Walden, E = F_W 2^ENOB; Schreier, E = P / f_s
 *              = 10^((SNDR - F_S) / 10) / 2 with SNDR = 6.02 ENOB + 1.76 dB and
 *              a Nyquist band f_s / 2; or the larger of the two (default:
 *              Walden where it rules, the thermal-noise bound of Schreier's
 *              figure at high resolution). Area 2^(bits - ref) times a reference
 *              ADC's, one ADC per adc_share physical columns of every array.
 *   array      sum over reads and driven rows of V^2 G t: a DAC step x drives
 *              x V_read / (2^dac_bits - 1) across every cell of its row, each at
 *              its programmed conductance (noise, faults and drift included).
 *              Area: every cell of every array, cell_area_f2 F^2.
 *   DAC        dac_energy 2^(dac_bits - 1) per row driven with a non-zero step
 *              per read (an idle row costs nothing); one DAC per row per array.
 *   periphery  the shift-add and output rounding of rtl/cim_shift_add.v,
 *              synthesized on OSU 0.18 um cells (rtl/flow/results.csv, built
 *              into cim as cim_periph_cost_rows): energy per ADC code it
 *              accumulates, scaled with the code's width; area per unit,
 *              one unit per 2 w_slices ADCs (one output's column pairs at
 *              once, as the RTL takes them); both scaled to node_nm by area (node/180)^2 and energy (node /
 *              180) (vdd / 1.8)^2, the first-order C V^2 rule.
 * Everything else on a chip (buffers, interconnect, pooling, activation) is not
 * priced: the breakdown is of the crossbar tiles alone.
 *
 *     struct cim_energy_config e = cim_energy_config_default();
 *     cim_energy_param_set(&e, "adc_fom_walden", 10e-15, &err);
 *     cim_xbar_stats(xb, layer, &st);
 *     struct cim_energy_cost c;
 *     cim_energy_layer(&e, &xcfg, &st, &c);   (joules over the run, m^2)
 */
#ifndef CIM_CIM_ENERGY_H
#define CIM_CIM_ENERGY_H

#include "base/err.h"
#include "cim/xbar.h"

enum cim_adc_fom { CIM_ADC_FOM_WALDEN = 0, CIM_ADC_FOM_SCHREIER = 1, CIM_ADC_FOM_MAX = 2 };

/* The constants; SI units (J, s, V, S, m^2, dB). Names are the parameter names
 * of cim_energy_param_set() and of `cim infer --energy-params`. */
struct cim_energy_config {
    enum cim_adc_fom adc_fom;  /* adc_fom: walden, schreier or max */
    double adc_fom_walden;     /* J per conversion step */
    double adc_fom_schreier;   /* dB */
    double adc_enob_loss;      /* bits: ENOB = adc_bits - this */
    double adc_area;           /* m^2 of one ADC of adc_area_bits bits */
    double adc_area_bits;
    double adc_share;          /* columns that share one ADC in turn (area only;
                                  conversions cost the same) */
    double v_read;             /* V across a cell at a full DAC step */
    double g_max;              /* S, Gmax (Gmin = g_max / on_off of the crossbar) */
    double t_read;             /* s, one read (one input slice) */
    double dac_energy;         /* J per driven row per read, 1-bit DAC */
    double dac_area;           /* m^2 of one 1-bit DAC (row driver) */
    double cell_area_f2;       /* cell area in F^2 */
    double node_nm;            /* feature size F, nm: cells and periphery scaling */
    double vdd;                /* V, supply of the periphery at node_nm */
    int periph_glitch;         /* 1: periphery energy with glitches (SDF timing),
                                  0: zero-delay */
};

/* The defaults (docs/ENERGY.md gives each one's source). */
struct cim_energy_config cim_energy_config_default(void);

/* Set parameter `name` (a field name above; adc_fom as 0 walden, 1 schreier, 2
 * max) to v. CIM_EINVAL with a message naming it when the name is unknown or v
 * is out of range (every parameter is finite and > 0, adc_enob_loss >= 0,
 * periph_glitch 0 or 1). */
int cim_energy_param_set(struct cim_energy_config *e, const char *name, double v,
                         struct cim_err *err);

/* Parameter names, NULL after the last; for help texts and JSON output. */
const char *cim_energy_param_name(int i);

/* The value of parameter `name` into *v; CIM_EINVAL for an unknown name. */
int cim_energy_param_get(const struct cim_energy_config *e, const char *name, double *v);

/* Energy of one ADC conversion of `bits` bits, J. */
double cim_energy_adc_conversion(const struct cim_energy_config *e, int bits);

/* The periphery's energy per accumulated ADC code (J) and area per unit
 * (m^2) behind ADCs of adc_bits bits and w_slices weight slices of crossbar
 * x, from the synthesized shift-add closest to it (same output rounding and
 * overflow; the output width nearest periph_bits), scaled to the code width,
 * the slices and node_nm. */
void cim_energy_periph(const struct cim_energy_config *e, const struct cim_xbar_config *x,
                       int adc_bits, int w_slices, double *j_per_code, double *area_per_unit);

/* The cost of one layer: energies over the run the statistics cover (J) and
 * the area of its arrays and their periphery (m^2). */
struct cim_energy_cost {
    double adc, array, dac, periph;               /* J */
    double area_cells, area_adc, area_dac, area_periph; /* m^2 */
};

/* Price layer statistics `st` (a weight layer's; zero cost otherwise) of a
 * crossbar configured as `x`. */
void cim_energy_layer(const struct cim_energy_config *e, const struct cim_xbar_config *x,
                      const struct cim_xbar_stats *st, struct cim_energy_cost *c);

/* *sum += c, its energies times per_energy and its areas times per_area
 * (1.0 and 1.0 for a plain sum; 1/images for energy per image). */
void cim_energy_add(struct cim_energy_cost *sum, const struct cim_energy_cost *c, double per_energy,
                    double per_area);

/* Totals of a cost. */
double cim_energy_total(const struct cim_energy_cost *c);
double cim_energy_area_total(const struct cim_energy_cost *c);

/* One synthesized shift-add (rtl/flow/results.csv, unit cim_shift_add). */
struct cim_periph_cost_row {
    int adc_w, dac_bits, in_slices, cell_bits, w_slices, acc_w, out_w, round, sat;
    double area_um2, energy_pj, energy_glitch_pj; /* energy per output */
};

/* The rows, built into cim from rtl/flow/results.csv. */
extern const struct cim_periph_cost_row cim_periph_cost_rows[];
extern const int cim_periph_cost_count;

#endif
