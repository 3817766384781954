/*
 * energy.c: the crossbar's energy and area model (energy.h; sources of every
 * default in docs/ENERGY.md).
 */
#include "cim/energy.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct cim_energy_config cim_energy_config_default(void)
{
    return (struct cim_energy_config){
        .adc_fom = CIM_ADC_FOM_MAX,
        .adc_fom_walden = 5e-15,  /* J/conv-step, high-speed SAR designs (Murmann survey) */
        .adc_fom_schreier = 175.0, /* dB, the same survey's envelope near 1 GS/s */
        .adc_enob_loss = 0.0,     /* the model's ADC is an ideal quantizer */
        .adc_area = 1.2e-9,       /* 8 bits, 1.28 GS/s, 32 nm: ISAAC, Table I */
        .adc_area_bits = 8.0,
        .adc_share = 1.0,         /* one ADC per column, as the crossbar model has it */
        .v_read = 0.2,
        .g_max = 40e-6,           /* 25 kOhm low-resistance state */
        .t_read = 10e-9,
        .dac_energy = 0.39e-12,   /* ISAAC: 4 mW for 1,024 1-bit DACs, 100 ns cycle */
        .dac_area = 1.66e-13,     /* ISAAC: 0.00017 mm^2 for 1,024 */
        .cell_area_f2 = 4.0,      /* cross-point cell, the minimum */
        .node_nm = 32.0,
        .vdd = 0.9,
        .periph_glitch = 1,
    };
}

/* ---- parameters by name ------------------------------------------------------ */

static const struct param {
    const char *name;
    size_t off;
    int is_int;
} params[] = {
#define P(f) {#f, offsetof(struct cim_energy_config, f), 0}
    {"adc_fom", offsetof(struct cim_energy_config, adc_fom), 1},
    P(adc_fom_walden), P(adc_fom_schreier), P(adc_enob_loss), P(adc_area), P(adc_area_bits),
    P(adc_share),
    P(v_read), P(g_max), P(t_read), P(dac_energy), P(dac_area), P(cell_area_f2), P(node_nm),
    P(vdd),
    {"periph_glitch", offsetof(struct cim_energy_config, periph_glitch), 1},
#undef P
};
#define NPARAMS ((int)(sizeof params / sizeof params[0]))

const char *cim_energy_param_name(int i)
{
    return i >= 0 && i < NPARAMS ? params[i].name : NULL;
}

static const struct param *param_find(const char *name)
{
    for (int i = 0; i < NPARAMS; i++)
        if (strcmp(params[i].name, name) == 0)
            return &params[i];
    return NULL;
}

int cim_energy_param_get(const struct cim_energy_config *e, const char *name, double *v)
{
    const struct param *p = param_find(name);
    if (p == NULL)
        return CIM_EINVAL;
    const char *at = (const char *)e + p->off;
    *v = p->is_int ? (double)*(const int *)at : *(const double *)at;
    return CIM_OK;
}

int cim_energy_param_set(struct cim_energy_config *e, const char *name, double v,
                         struct cim_err *err)
{
    const struct param *p = param_find(name);
    if (p == NULL)
        return cim_err_set(err, CIM_EINVAL, "energy parameter \"%s\": unknown (see docs/ENERGY.md)",
                           name);
    char *at = (char *)e + p->off;
    if (strcmp(name, "adc_fom") == 0 || strcmp(name, "periph_glitch") == 0) {
        const int hi = strcmp(name, "adc_fom") == 0 ? 2 : 1;
        if (!(v == floor(v) && v >= 0 && v <= hi))
            return cim_err_set(err, CIM_EINVAL, "energy parameter %s=%g: expected an integer 0..%d",
                               name, v, hi);
        *(int *)at = (int)v;
        return CIM_OK;
    }
    const int zero_ok = strcmp(name, "adc_enob_loss") == 0;
    if (!isfinite(v) || v < 0.0 || (v == 0.0 && !zero_ok))
        return cim_err_set(err, CIM_EINVAL, "energy parameter %s=%g: expected a finite number %s",
                           name, v, zero_ok ? ">= 0" : "> 0");
    *(double *)at = v;
    return CIM_OK;
}

/* ---- components ---------------------------------------------------------------- */

double cim_energy_adc_conversion(const struct cim_energy_config *e, int bits)
{
    const double enob = fmax((double)bits - e->adc_enob_loss, 0.0);
    const double walden = e->adc_fom_walden * exp2(enob);
    /* P / f_s with P from F_S = SNDR + 10 log10(f_s / 2 / P) */
    const double sndr = 6.02 * enob + 1.76;
    const double schreier = 0.5 * pow(10.0, (sndr - e->adc_fom_schreier) / 10.0);
    switch (e->adc_fom) {
    case CIM_ADC_FOM_WALDEN:
        return walden;
    case CIM_ADC_FOM_SCHREIER:
        return schreier;
    default:
        return fmax(walden, schreier);
    }
}

/* The synthesized shift-add closest to crossbar x: same rounding and overflow,
 * the output width nearest periph_bits (the widest one for a lossless
 * periphery). */
static const struct cim_periph_cost_row *periph_row(const struct cim_xbar_config *x)
{
    const struct cim_periph_cost_row *best = NULL;
    for (int i = 0; i < cim_periph_cost_count; i++) {
        const struct cim_periph_cost_row *r = &cim_periph_cost_rows[i];
        if (r->round != (int)x->round || r->sat != (x->overflow == QUANT_OVERFLOW_SATURATE))
            continue;
        const int want = x->periph_bits == 0 ? r->acc_w : x->periph_bits;
        if (best == NULL || abs(r->out_w - want) < abs(best->out_w - want) ||
            (abs(r->out_w - want) == abs(best->out_w - want) && r->out_w > best->out_w))
            best = r;
    }
    return best != NULL ? best : &cim_periph_cost_rows[0];
}

void cim_energy_periph(const struct cim_energy_config *e, const struct cim_xbar_config *x,
                       int adc_bits, int w_slices, double *j_per_code, double *area_per_unit)
{
    const struct cim_periph_cost_row *r = periph_row(x);
    const double width = (double)(adc_bits + 1) / (double)(r->adc_w + 1);
    const double node = e->node_nm / 180.0, volt = e->vdd / 1.8;
    /* one output takes in_slices x w_slices differential codes, two conversions each */
    const double per_out = (e->periph_glitch ? r->energy_glitch_pj : r->energy_pj) * 1e-12;
    *j_per_code = per_out / (2.0 * r->in_slices * r->w_slices) * width * node * volt * volt;
    *area_per_unit = r->area_um2 * 1e-12 * width * ((double)w_slices / r->w_slices) * node * node;
}

void cim_energy_layer(const struct cim_energy_config *e, const struct cim_xbar_config *x,
                      const struct cim_xbar_stats *st, struct cim_energy_cost *c)
{
    memset(c, 0, sizeof *c);
    if (!st->is_weight_layer)
        return;
    const double levels = ldexp(1.0, x->cell_bits) - 1.0;
    const double g_min = isinf(x->on_off) ? 0.0 : e->g_max / x->on_off;
    const double v_step = e->v_read / (ldexp(1.0, x->dac_bits) - 1.0);
    c->adc = (double)st->conversions * cim_energy_adc_conversion(e, st->adc_bits);
    c->array = e->t_read * v_step * v_step *
               (g_min * st->drive_sq * st->columns + (e->g_max - g_min) / levels * st->drive_g);
    c->dac = (double)st->row_drives * e->dac_energy * ldexp(1.0, x->dac_bits - 1);
    double j_code, a_unit;
    cim_energy_periph(e, x, st->adc_bits, st->w_slices, &j_code, &a_unit);
    c->periph = (double)st->conversions * j_code;
    const double arrays = (double)st->row_tiles * st->col_tiles;
    const double f = e->node_nm * 1e-9;
    c->area_cells = arrays * x->rows * x->cols * e->cell_area_f2 * f * f;
    /* ADCs of one row tile; each shift-add unit takes the codes of 2 w_slices
     * ADCs at once (rtl/cim_shift_add.v: W_SLICES column pairs) */
    const double adcs = ceil(st->columns / e->adc_share);
    c->area_adc = adcs * st->row_tiles * e->adc_area *
                  exp2((double)st->adc_bits - e->adc_area_bits);
    c->area_dac = arrays * x->rows * e->dac_area * ldexp(1.0, x->dac_bits - 1);
    c->area_periph = ceil(adcs / (2.0 * st->w_slices)) * st->row_tiles * a_unit;
}

void cim_energy_add(struct cim_energy_cost *sum, const struct cim_energy_cost *c, double per_energy,
                    double per_area)
{
    sum->adc += c->adc * per_energy;
    sum->array += c->array * per_energy;
    sum->dac += c->dac * per_energy;
    sum->periph += c->periph * per_energy;
    sum->area_cells += c->area_cells * per_area;
    sum->area_adc += c->area_adc * per_area;
    sum->area_dac += c->area_dac * per_area;
    sum->area_periph += c->area_periph * per_area;
}

double cim_energy_total(const struct cim_energy_cost *c)
{
    return c->adc + c->array + c->dac + c->periph;
}

double cim_energy_area_total(const struct cim_energy_cost *c)
{
    return c->area_cells + c->area_adc + c->area_dac + c->area_periph;
}
