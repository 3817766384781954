/* train_noise.c: the crossbar's noise for noise-aware training; see train_noise.h. */
#include "train_noise.h"

#include <math.h>
#include <stdlib.h>

#include <omp.h>

#include "cim/device.h"
#include "cim/noise.h"
#include "nn/forward.h"
#include "quant/quantizer.h"

#define POS_BLOCK 16 /* accumulators: positions and outputs per block of draws */
#define OUT_BLOCK 64

struct cim_train_noise {
    struct cim_xbar_config cfg;
    struct cim_noise_key key_prog, key_read;
    double unit, g0;      /* level units per Gmax; Gmin in level units */
    int32_t *codes;       /* [largest layer] codes the cells hold */
    float *z;             /* [threads][zlen] draws of one fan-in row, per thread */
    size_t zlen;          /* 2 S outputs of the widest layer, even */
    int threads;          /* of the weights' loop: nn_threads_get() at alloc */
    double *xsq[NN_PREC_MAX]; /* [2^abits] sum_i 4^(i dac_bits) x_i^2 of an input code */
    double wsq[NN_PREC_MAX];  /* sum over read slices j of 4^((j - skip) cell_bits) */
};

/* How precision p's codes sit on the cells: the rule of cim_xbar_reuses()
 * (xbar.h, "Precision") for the differential encoding. */
struct mapping {
    int wbits;    /* bits of the programmed codes */
    int skip;     /* low slices not read */
    int set;      /* 0: the high codes' arrays; p: arrays of p's own codes */
};

static struct mapping mapping_of(const struct nn_quant *q, int p, int cell_bits)
{
    const int d = q->wbits[0] - q->wbits[p];
    if (p == 0 || (q->scheme == QUANT_SCHEME_NESTED && d % cell_bits == 0))
        return (struct mapping){q->wbits[0], d / cell_bits, 0};
    return (struct mapping){q->wbits[p], 0, p};
}

/* Differential slices: wbits - 1 magnitude bits (xbar.h, "Mapping"). */
static int slices_of(int wbits, int cell_bits)
{
    return (wbits - 1 + cell_bits - 1) / cell_bits;
}

void cim_train_noise_free(struct cim_train_noise *tn)
{
    if (tn == NULL)
        return;
    free(tn->codes);
    free(tn->z);
    for (int p = 0; p < NN_PREC_MAX; p++)
        free(tn->xsq[p]);
    free(tn);
}

/* The read-noise tables of precision p: xsq over the input codes (the DAC
 * slices' squared steps, weighted as the shift-add weighs them) and wsq. */
static int read_tables(struct cim_train_noise *tn, const struct nn_quant *q, int p)
{
    const int dac = tn->cfg.dac_bits, cb = tn->cfg.cell_bits, qmax = quant_qmax_unsigned(q->abits[p]);
    tn->xsq[p] = malloc(((size_t)qmax + 1) * sizeof *tn->xsq[p]);
    if (tn->xsq[p] == NULL)
        return CIM_ENOMEM;
    for (int a = 0; a <= qmax; a++) {
        double sum = 0.0;
        for (int i = 0; i * dac < q->abits[p]; i++) {
            const double x = (double)((a >> (i * dac)) & ((1 << dac) - 1));
            sum += ldexp(x * x, 2 * i * dac);
        }
        tn->xsq[p][a] = sum;
    }
    const struct mapping mp = mapping_of(q, p, cb);
    tn->wsq[p] = 0.0;
    for (int j = mp.skip; j < slices_of(mp.wbits, cb); j++)
        tn->wsq[p] += ldexp(1.0, 2 * (j - mp.skip) * cb);
    return CIM_OK;
}

struct cim_train_noise *cim_train_noise_alloc(const struct nn_model *m,
                                              const struct cim_xbar_config *cfg,
                                              struct cim_err *err)
{
    if (cim_xbar_config_check(cfg, err) != CIM_OK)
        return NULL;
    if (cfg->encoding != CIM_ENCODING_DIFFERENTIAL) {
        cim_err_set(err, CIM_EINVAL, "noise-aware training: expected the differential encoding");
        return NULL;
    }
    if (cfg->read_noise > 0.0 && cfg->noise_model != CIM_NOISE_ADDITIVE) {
        cim_err_set(err, CIM_EINVAL, "noise-aware training: read noise must be additive");
        return NULL;
    }
    if (m->quant.n_prec < 1) {
        cim_err_set(err, CIM_EINVAL, "noise-aware training: the model is not quantized");
        return NULL;
    }
    struct cim_train_noise *tn = calloc(1, sizeof *tn);
    if (tn == NULL)
        goto oom;
    tn->cfg = *cfg;
    tn->key_prog = cim_noise_key(cfg->seed, CIM_NOISE_TRAIN_PROGRAM);
    tn->key_read = cim_noise_key(cfg->seed, CIM_NOISE_TRAIN_READ);
    tn->unit = cim_device_level_unit(cfg->cell_bits, cfg->on_off);
    tn->g0 = cim_device_leak_level(cfg->cell_bits, cfg->on_off);
    const int S = slices_of(m->quant.wbits[0], cfg->cell_bits);
    size_t most = 0, outs = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const size_t n = nn_tensor_size(&m->layers[i].weight);
        most = n > most ? n : most;
        outs = n > 0 && (size_t)m->layers[i].weight.n > outs ? (size_t)m->layers[i].weight.n
                                                              : outs;
    }
    tn->codes = malloc((most + 1) * sizeof *tn->codes);
    tn->threads = nn_threads_get();
    tn->zlen = 2 * (size_t)S * outs;
    tn->z = malloc(((size_t)tn->threads * tn->zlen + 2) * sizeof *tn->z);
    if (tn->codes == NULL || tn->z == NULL)
        goto oom;
    for (int p = 0; p < m->quant.n_prec; p++)
        if (read_tables(tn, &m->quant, p) != CIM_OK)
            goto oom;
    return tn;
oom:
    cim_train_noise_free(tn);
    cim_err_set(err, CIM_ENOMEM, "out of memory for noise-aware training");
    return NULL;
}

/* ---- weights ------------------------------------------------------------------- */

/* The codes layer l's cells hold for precision p (as mapping_of() says). */
static void cell_codes(const struct nn_quant *q, const struct nn_layer *l, int p,
                       struct mapping mp, int32_t *codes)
{
    const int rows = l->weight.n, cols = (int)(nn_tensor_size(&l->weight) / (size_t)rows);
    const int own = mp.set != 0 && q->scheme == QUANT_SCHEME_INDEPENDENT;
    const float *s = l->wscale[own ? p : 0].data;
    const int bits = q->wbits[own ? p : 0];
    if (q->per_channel)
        quant_weight_codes_rows(l->weight.data, rows, cols, s, bits, codes);
    else
        quant_weight_codes(l->weight.data, nn_tensor_size(&l->weight), s[0], bits, codes);
    if (mp.set != 0 && !own) /* nested-round (or a nesting the cells cannot skip) */
        for (size_t k = 0; k < nn_tensor_size(&l->weight); k++)
            codes[k] = quant_nest_code(codes[k], q->wbits[0], q->wbits[p], q->scheme);
}

/* A programmed cell, in level units above Gmin, as the crossbar stores it. */
static float cell_level(const struct cim_train_noise *tn, int level, float z)
{
    return (float)(cim_device_prog_g(&tn->cfg, level, (double)z) * tn->unit - tn->g0);
}

/* The effective code of code q whose 2 S cells drew z[0 .. 2 S) (positive and
 * negative column of slice 0, then of slice 1, ...). */
static float effective_code(const struct cim_train_noise *tn, int32_t q, struct mapping mp,
                            int S, const float *z)
{
    const int cb = tn->cfg.cell_bits;
    float eff = 0.0f;
    for (int j = mp.skip; j < S; j++) {
        const int lp = cim_device_slice_level(q, mp.wbits, cb, j, 1);
        const int ln = cim_device_slice_level(q, mp.wbits, cb, j, -1);
        const float d = cell_level(tn, lp, z[2 * j]) - cell_level(tn, ln, z[2 * j + 1]);
        eff += ldexpf(d, (j - mp.skip) * cb);
    }
    return eff;
}

static int noise_weights(void *ctx, const struct nn_model *m, long step, int p, int layer,
                         float *w)
{
    struct cim_train_noise *tn = ctx;
    const struct nn_layer *l = &m->layers[layer];
    const struct mapping mp = mapping_of(&m->quant, p, tn->cfg.cell_bits);
    const int S = slices_of(mp.wbits, tn->cfg.cell_bits);
    const int o = l->weight.n, k = (int)(nn_tensor_size(&l->weight) / (size_t)o);
    const float *s = l->wscale[p].data;
    cell_codes(&m->quant, l, p, mp, tn->codes);
    const int n = 2 * S * o; /* cells of one fan-in row: even */
#pragma omp parallel for schedule(static) num_threads(tn->threads) if (k > 1)
    for (int r = 0; r < k; r++) {
        float *z = tn->z + (size_t)omp_get_thread_num() * tn->zlen;
        const uint32_t ctr[3] = {(uint32_t)step, (uint32_t)(layer | mp.set << 8), (uint32_t)r};
        cim_noise_normal(tn->key_prog, ctr, z, n);
        for (int oo = 0; oo < o; oo++) {
            const size_t at = (size_t)oo * k + r;
            const float eff = effective_code(tn, tn->codes[at], mp, S, z + 2 * S * oo);
            w[at] = eff * s[m->quant.per_channel ? oo : 0];
        }
    }
    return CIM_OK;
}

/* ---- accumulators -------------------------------------------------------------- */

/* sd[i] = the read noise's standard deviation (dot-product units) at vector
 * v0 + i, i < nv, from its input codes. */
static void acc_sd(const struct cim_train_noise *tn, int p, int abits, enum nn_exec_layout layout,
                   const float *x, float a_step, int n, int k, int v0, int nv, double *sd)
{
    const int qmax = quant_qmax_unsigned(abits);
    const double *xsq = tn->xsq[p];
    double sum[POS_BLOCK] = {0};
    for (int r = 0; r < k; r++)
        for (int i = 0; i < nv; i++) {
            const float xv = layout == NN_EXEC_COLS ? x[(size_t)r * n + v0 + i]
                                                    : x[(size_t)(v0 + i) * k + r];
            sum[i] += xsq[quant_code_unsigned(xv / a_step, qmax)];
        }
    const double su = tn->cfg.read_noise * tn->unit;
    for (int i = 0; i < nv; i++)
        sd[i] = su * sqrt(2.0 * tn->wsq[p] * sum[i]);
}

static int noise_acc(void *ctx, const struct nn_model *m, long step, int p, int layer,
                     enum nn_exec_layout layout, const float *x, float a_step, float *y, int n,
                     int o, int k, int first, int per)
{
    const struct cim_train_noise *tn = ctx;
    if (tn->cfg.read_noise == 0.0)
        return CIM_OK;
    const float *sw = m->layers[layer].wscale[p].data;
    const int pc = m->quant.per_channel, blocks = (per + POS_BLOCK - 1) / POS_BLOCK;
    float z[POS_BLOCK * OUT_BLOCK];
    double sd[POS_BLOCK];
    for (int v0 = 0, nv; v0 < n; v0 += nv) { /* blocks within one sample */
        const int sample = first + v0 / per, pos0 = v0 % per;
        nv = per - pos0 < POS_BLOCK ? per - pos0 : POS_BLOCK;
        acc_sd(tn, p, m->quant.abits[p], layout, x, a_step, n, k, v0, nv, sd);
        for (int o0 = 0; o0 < o; o0 += OUT_BLOCK) {
            const int no = o - o0 < OUT_BLOCK ? o - o0 : OUT_BLOCK, cnt = nv * no;
            const uint32_t ctr[3] = {(uint32_t)step,
                                     (uint32_t)(layer | p << 8 | (o0 / OUT_BLOCK) << 12),
                                     (uint32_t)(sample * blocks + pos0 / POS_BLOCK)};
            cim_noise_normal(tn->key_read, ctr, z, cnt + (cnt & 1));
            for (int i = 0; i < nv; i++)
                for (int j = 0; j < no; j++) {
                    const int oo = o0 + j;
                    const size_t at = layout == NN_EXEC_COLS ? (size_t)oo * n + v0 + i
                                                             : (size_t)(v0 + i) * o + oo;
                    y[at] += (float)(sd[i] * (double)a_step * (double)sw[pc ? oo : 0]) *
                             z[i * no + j];
                }
        }
    }
    return CIM_OK;
}

struct nn_noise_hook cim_train_noise_hook(struct cim_train_noise *tn)
{
    return (struct nn_noise_hook){.weights = noise_weights, .acc = noise_acc, .ctx = tn};
}
