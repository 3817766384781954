/* xbar.c: a quantized network on analog crossbar arrays; see xbar.h. */
#include "xbar.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "cim/adc.h"
#include "cim/array.h"
#include "cim/device.h"
#include "cim/noise.h"
#include "nn/forward.h"
#include "quant/quantizer.h"

__extension__ typedef __int128 cim_i128;

#define SLICES_MAX 16      /* weight or input slices of one code */
#define ROWG_FRAC 16       /* fraction bits of the fixed-point row conductance sums */
#define SLOTS_MAX 256      /* OpenMP thread numbers served */
#define HIST_BINS 8192     /* calibration histogram bins over [0, full scale] */

/* ---- configuration ------------------------------------------------------------- */

struct cim_xbar_config cim_xbar_config_default(void)
{
    return (struct cim_xbar_config){
        .rows = 128,
        .cols = 128,
        .encoding = CIM_ENCODING_DIFFERENTIAL,
        .cell_bits = 2,
        .dac_bits = 1,
        .on_off = 100.0,
        .adc_bits = 0,
        .adc_range = CIM_ADC_RANGE_LOSSLESS,
        .adc_value = 0.0,
        .periph_bits = 0,
        .round = QUANT_ROUND_FLOOR,
        .overflow = QUANT_OVERFLOW_SATURATE,
        .noise_model = CIM_NOISE_ADDITIVE,
        .drift_t0 = 20.0,
        .drift_nu_mean = 0.05,
        .drift_nu_std = 0.01,
        .seed = 1,
    };
}

int cim_xbar_config_check(const struct cim_xbar_config *c, struct cim_err *err)
{
    if (c->rows < 8 || c->rows > 4096 || c->cols < 8 || c->cols > 4096)
        return cim_err_set(err, CIM_EINVAL, "--array %dx%d: expected ROWSxCOLS, each 8..4096",
                           c->rows, c->cols);
    if ((unsigned)c->encoding > CIM_ENCODING_OFFSET)
        return cim_err_set(err, CIM_EINVAL, "--encoding: expected differential or offset");
    if (c->cell_bits != 1 && c->cell_bits != 2 && c->cell_bits != 4 && c->cell_bits != 8)
        return cim_err_set(err, CIM_EINVAL, "--cell-bits %d: expected 1, 2, 4 or 8",
                           c->cell_bits);
    if (c->dac_bits < 1 || c->dac_bits > 8)
        return cim_err_set(err, CIM_EINVAL, "--dac-bits %d: expected 1..8", c->dac_bits);
    if (!(c->on_off > 1.0))
        return cim_err_set(err, CIM_EINVAL, "--on-off %g: expected a ratio above 1 (or inf)",
                           c->on_off);
    if (c->adc_bits < 0 || c->adc_bits > 24)
        return cim_err_set(err, CIM_EINVAL, "--adc-bits %d: expected 1..24 (0: lossless)",
                           c->adc_bits);
    if ((unsigned)c->adc_range > CIM_ADC_RANGE_FIXED)
        return cim_err_set(err, CIM_EINVAL,
                           "--adc-range: expected lossless, max, percentile:P or fixed:V");
    if (c->adc_range == CIM_ADC_RANGE_PERCENTILE && !(c->adc_value > 0.0 && c->adc_value <= 100.0))
        return cim_err_set(err, CIM_EINVAL, "--adc-range percentile:%g: expected P in (0, 100]",
                           c->adc_value);
    if (c->adc_range == CIM_ADC_RANGE_FIXED && !(c->adc_value > 0.0 && isfinite(c->adc_value)))
        return cim_err_set(err, CIM_EINVAL,
                           "--adc-range fixed:%g: expected a positive full scale in level units",
                           c->adc_value);
    if (c->periph_bits != 0 && (c->periph_bits < 2 || c->periph_bits > 62))
        return cim_err_set(err, CIM_EINVAL, "--periph-bits %d: expected 2..62 (0: lossless)",
                           c->periph_bits);
    if ((unsigned)c->round >= QUANT_ROUND_COUNT)
        return cim_err_set(err, CIM_EINVAL, "--round: expected floor, half-up or half-even");
    if ((unsigned)c->overflow >= QUANT_OVERFLOW_COUNT)
        return cim_err_set(err, CIM_EINVAL, "--saturate: expected on or off");
    if ((unsigned)c->noise_model > CIM_NOISE_PROPORTIONAL)
        return cim_err_set(err, CIM_EINVAL, "--noise-model: expected additive or proportional");
    if (!(c->prog_noise >= 0.0 && c->prog_noise <= 10.0))
        return cim_err_set(err, CIM_EINVAL, "--prog-noise %g: expected a sigma in 0..10",
                           c->prog_noise);
    if (!(c->read_noise >= 0.0 && c->read_noise <= 10.0))
        return cim_err_set(err, CIM_EINVAL, "--read-noise %g: expected a sigma in 0..10",
                           c->read_noise);
    if (!(c->drift_t0 > 0.0 && isfinite(c->drift_t0)))
        return cim_err_set(err, CIM_EINVAL, "--drift-t0 %g: expected seconds above 0",
                           c->drift_t0);
    if (!(c->drift_t == 0.0 || (c->drift_t >= c->drift_t0 && isfinite(c->drift_t))))
        return cim_err_set(err, CIM_EINVAL,
                           "--drift-t %g: expected 0 (no drift) or seconds >= t0 = %g",
                           c->drift_t, c->drift_t0);
    if (!(isfinite(c->drift_nu_mean) && c->drift_nu_std >= 0.0 && isfinite(c->drift_nu_std)))
        return cim_err_set(err, CIM_EINVAL, "--drift-nu %g,%g: expected MEAN,STD with STD >= 0",
                           c->drift_nu_mean, c->drift_nu_std);
    if (!(c->saf0 >= 0.0 && c->saf1 >= 0.0 && c->saf0 + c->saf1 <= 1.0))
        return cim_err_set(err, CIM_EINVAL,
                           "--saf0 %g --saf1 %g: expected probabilities summing to at most 1",
                           c->saf0, c->saf1);
    return CIM_OK;
}

const char *cim_encoding_name(enum cim_encoding e)
{
    return e == CIM_ENCODING_OFFSET ? "offset" : "differential";
}

int cim_encoding_parse(const char *s, enum cim_encoding *e)
{
    if (strcmp(s, "differential") == 0)
        *e = CIM_ENCODING_DIFFERENTIAL;
    else if (strcmp(s, "offset") == 0)
        *e = CIM_ENCODING_OFFSET;
    else
        return CIM_EINVAL;
    return CIM_OK;
}

const char *cim_adc_range_name(enum cim_adc_range r)
{
    static const char *const names[] = {"lossless", "max", "percentile", "fixed"};
    return (unsigned)r <= CIM_ADC_RANGE_FIXED ? names[r] : "?";
}

const char *cim_noise_model_name(enum cim_noise_model m)
{
    return m == CIM_NOISE_PROPORTIONAL ? "proportional" : "additive";
}

int cim_noise_model_parse(const char *s, enum cim_noise_model *m)
{
    if (strcmp(s, "additive") == 0)
        *m = CIM_NOISE_ADDITIVE;
    else if (strcmp(s, "proportional") == 0)
        *m = CIM_NOISE_PROPORTIONAL;
    else
        return CIM_EINVAL;
    return CIM_OK;
}

/* The largest column current of an array (level units). */
static double full_scale(int rows, int dac_bits, int cell_bits, double on_off)
{
    const double x = (double)((1 << dac_bits) - 1), levels = (double)((1 << cell_bits) - 1);
    return (double)rows * x * (levels + cim_device_leak_level(cell_bits, on_off));
}

int cim_xbar_adc_bits_lossless(int rows, int dac_bits, int cell_bits, double on_off)
{
    const double fs = full_scale(rows, dac_bits, cell_bits, on_off);
    int b = 1;
    while (b < 62 && ldexp(1.0, b) - 1.0 < fs)
        b++;
    return b;
}

/* ---- the programmed network ---------------------------------------------------- */

/* One dense/conv2d layer on its arrays. Physical columns are numbered column
 * tile by column tile; within a tile, output by output, slice by slice
 * (differential: positive then negative column), then the tile's reference
 * columns (offset). */
struct xlayer {
    int weight;              /* 0 for maxpool: nothing below is set */
    int o, k;                /* outputs, fan-in */
    int slices, skip;        /* weight slices programmed; low slices not read */
    int per_tile;            /* outputs per array */
    int row_tiles, col_tiles;
    int ncol;                /* physical columns */
    int *colp, *coln;        /* [o slices]: column of the code and of what it minus */
    uint8_t *col_read;       /* [ncol] 1 when the column's slice is read */
    int64_t *readm;          /* [ncol] the same as int64 (cim_adc_convert's mask) */
    int *col_slice;          /* [ncol] its weight slice */
    float *g;                /* [k, ncol] conductance minus Gmin, level units */
    float *g2;               /* [k, ncol] conductance^2 (proportional read noise) */
    int64_t *rowg;           /* [k] sum over the row's ncol cells of g, level units
                                times 2^ROWG_FRAC, rounded (energy statistics) */
    const int32_t *w;        /* exact codes of precision p [o, k] (statistics) */
    int e[SLICES_MAX];       /* ADC step log2 per weight slice */
    /* the tables of the current mode (xlayer_tables): calibration reads with e = 0 */
    int ncol_read;           /* columns of read slices */
    double *scale;           /* [ncol] gain / 2^e of the column's slice */
    int64_t *fw;             /* [2 S] differential: +-2^((j - skip) cell_bits + e_j), 0
                                for skipped slices; NULL for offset */
    int64_t sw[SLICES_MAX];  /* 2^((j - skip) cell_bits + e_j), read slices */
    double gain;             /* drift compensation gain */
    int periph_shift, periph_out;
};

/* Per-thread state: scratch of one call and the statistics and calibration
 * records of this thread's calls. */
struct slot {
    float *x, *cur, *z;       /* active rows' steps (and squares), currents, normals */
    int *meta;                /* active rows of each input slice */
    int32_t *code;            /* [ncol] codes of one read */
    int64_t *exact;           /* [n, o] exact results of one call */
    size_t cap_x, cap_cur, cap_z, cap_code, cap_exact, cap_meta;
    struct slot_stats {
        uint64_t vectors, reads, skipped, conversions, clipped, outputs;
        uint64_t drives, drive_sq;
        cim_i128 err_sq, ref_sq, drive_g;
    } st[NN_MODEL_LAYERS_MAX];
    uint64_t *hist;           /* [layers][SLICES_MAX][HIST_BINS], calibration */
    double vmax[NN_MODEL_LAYERS_MAX][SLICES_MAX];
};

struct cim_xbar {
    struct cim_xbar_config cfg;
    struct nn_int_model *im;  /* precision p */
    int p, reuse, n_layers;
    int in_slices, adc_lossless, adc_bits;
    double g0, unit;          /* Gmin in level units; level units per Gmax */
    double fs;                /* array full scale, level units */
    int calibrating;
    struct cim_noise_key key_read, key_calib;
    struct xlayer layers[NN_MODEL_LAYERS_MAX];
    struct slot *slots[SLOTS_MAX];
};

static void xlayer_free(struct xlayer *l)
{
    free(l->colp);
    free(l->coln);
    free(l->col_read);
    free(l->readm);
    free(l->col_slice);
    free(l->g);
    free(l->g2);
    free(l->rowg);
    free(l->scale);
    free(l->fw);
}

static void slot_free(struct slot *s)
{
    if (s == NULL)
        return;
    free(s->x);
    free(s->cur);
    free(s->z);
    free(s->meta);
    free(s->code);
    free(s->exact);
    free(s->hist);
    free(s);
}

void cim_xbar_free(struct cim_xbar *xb)
{
    if (xb == NULL)
        return;
    for (int i = 0; i < NN_MODEL_LAYERS_MAX; i++)
        xlayer_free(&xb->layers[i]);
    for (int t = 0; t < SLOTS_MAX; t++)
        slot_free(xb->slots[t]);
    nn_int_model_free(xb->im);
    free(xb);
}

const struct nn_int_model *cim_xbar_int_model(const struct cim_xbar *xb)
{
    return xb->im;
}

int cim_xbar_reuses(const struct cim_xbar *xb)
{
    return xb->reuse;
}

int cim_xbar_cells(const struct cim_xbar *xb, int layer, const float **g, int *k, int *ncol)
{
    if (layer < 0 || layer >= xb->n_layers || !xb->layers[layer].weight)
        return CIM_EINVAL;
    *g = xb->layers[layer].g;
    *k = xb->layers[layer].k;
    *ncol = xb->layers[layer].ncol;
    return CIM_OK;
}

/* ---- programming ---------------------------------------------------------------- */

/* The physical columns of a layer of o outputs whose codes have wbits bits:
 * slices per column pair (differential) or per column plus a reference column
 * per slice and array (offset), as xlayer_program lays them out; SIZE_MAX when
 * no output fits an array (xlayer_program says so). */
static size_t xlayer_ncol(const struct cim_xbar_config *c, int wbits, int o)
{
    const int diff = c->encoding == CIM_ENCODING_DIFFERENTIAL;
    const size_t S = (size_t)((diff ? wbits - 1 : wbits) + c->cell_bits - 1) / c->cell_bits;
    const int per_tile = diff ? c->cols / (2 * (int)S) : (c->cols - (int)S) / (int)S;
    if (per_tile < 1)
        return SIZE_MAX;
    const size_t col_tiles = ((size_t)o + (size_t)per_tile - 1) / (size_t)per_tile;
    return diff ? 2 * S * (size_t)o : S * (size_t)o + S * col_tiles;
}

/* Bytes of the conductances of a layer of o outputs and fan-in k, the bulk of a
 * crossbar's memory (one float per cell, two with proportional read noise). */
static size_t xlayer_bytes(const struct cim_xbar_config *c, int wbits, int o, int k)
{
    const size_t ncol = xlayer_ncol(c, wbits, o);
    const int prop = c->read_noise > 0.0 && c->noise_model == CIM_NOISE_PROPORTIONAL;
    size_t cells, bytes;
    if (ncol == SIZE_MAX || cim_size_mul(ncol, (size_t)k, &cells) != CIM_OK ||
        cim_size_mul(cells, sizeof(float) * (prop ? 2 : 1), &bytes) != CIM_OK)
        return ncol == SIZE_MAX ? 0 : SIZE_MAX;
    return bytes;
}

/* Lay out the columns of layer i and program its cells from codes w [o, k] of
 * wbits bits. */
static int xlayer_program(struct cim_xbar *xb, int i, const int32_t *w, int wbits, int skip,
                          struct cim_err *err)
{
    const struct cim_xbar_config *c = &xb->cfg;
    struct xlayer *l = &xb->layers[i];
    const int diff = c->encoding == CIM_ENCODING_DIFFERENTIAL;
    const int mbits = diff ? wbits - 1 : wbits; /* bits of what a column holds */
    const int S = (mbits + c->cell_bits - 1) / c->cell_bits;
    l->weight = 1;
    nn_int_model_shape(xb->im, i, &l->o, &l->k);
    l->slices = S;
    l->skip = skip;
    l->per_tile = diff ? c->cols / (2 * S) : (c->cols - S) / S;
    if (l->per_tile < 1)
        return cim_err_set(err, CIM_EINVAL,
                           "--array %dx%d: %d columns cannot hold one output of %d slices%s",
                           c->rows, c->cols, c->cols, S,
                           diff ? " (two columns each)" : " and its reference");
    if (xlayer_ncol(c, wbits, l->o) > INT_MAX)
        return cim_err_set(err, CIM_EINVAL, "layer %d: %d outputs of %d slices need more than "
                           "%d columns", i, l->o, S, INT_MAX);
    l->row_tiles = (l->k + c->rows - 1) / c->rows;
    l->col_tiles = (l->o + l->per_tile - 1) / l->per_tile;
    l->ncol = diff ? 2 * S * l->o : S * l->o + S * l->col_tiles;
    const size_t cells = (size_t)l->k * (size_t)l->ncol;
    l->colp = malloc((size_t)l->o * S * sizeof *l->colp);
    l->coln = malloc((size_t)l->o * S * sizeof *l->coln);
    l->col_read = malloc((size_t)l->ncol);
    l->readm = malloc((size_t)l->ncol * sizeof *l->readm);
    l->col_slice = malloc((size_t)l->ncol * sizeof *l->col_slice);
    l->g = malloc(cells * sizeof *l->g);
    l->scale = malloc((size_t)l->ncol * sizeof *l->scale);
    l->rowg = malloc((size_t)l->k * sizeof *l->rowg);
    if (diff)
        l->fw = malloc((size_t)2 * S * sizeof *l->fw);
    const int prop = c->read_noise > 0.0 && c->noise_model == CIM_NOISE_PROPORTIONAL;
    if (prop)
        l->g2 = malloc(cells * sizeof *l->g2);
    if (!l->colp || !l->coln || !l->col_read || !l->readm || !l->col_slice || !l->g || !l->scale ||
        !l->rowg || (diff && !l->fw) || (prop && !l->g2))
        return cim_err_set(err, CIM_ENOMEM, "out of memory for the crossbar of layer %d", i);
    /* the column map; sign[] and owner[] say what each column holds */
    int *owner = malloc((size_t)l->ncol * sizeof *owner); /* output, or -1: reference */
    int *sign = malloc((size_t)l->ncol * sizeof *sign);
    if (owner == NULL || sign == NULL) {
        free(owner);
        free(sign);
        return cim_err_set(err, CIM_ENOMEM, "out of memory for the crossbar of layer %d", i);
    }
    int col = 0;
    for (int t = 0; t < l->col_tiles; t++) {
        const int o0 = t * l->per_tile, o1 = o0 + l->per_tile < l->o ? o0 + l->per_tile : l->o;
        const int ref = col + (o1 - o0) * S; /* offset: the tile's reference columns */
        for (int o = o0; o < o1; o++)
            for (int j = 0; j < S; j++) {
                l->colp[o * S + j] = col;
                owner[col] = o;
                sign[col] = diff ? 1 : 0;
                l->col_slice[col++] = j;
                if (diff) {
                    l->coln[o * S + j] = col;
                    owner[col] = o;
                    sign[col] = -1;
                    l->col_slice[col++] = j;
                } else {
                    l->coln[o * S + j] = ref + j;
                }
            }
        if (!diff)
            for (int j = 0; j < S; j++) {
                owner[col] = -1;
                sign[col] = 0;
                l->col_slice[col++] = j;
            }
    }
    assert(col == l->ncol);
    for (int cc = 0; cc < l->ncol; cc++) {
        l->col_read[cc] = l->col_slice[cc] >= skip;
        l->readm[cc] = l->col_read[cc];
    }
    /* the cells, in level units minus Gmin; sums for the drift gain */
    double sum0 = 0.0, sum1 = 0.0;
    for (int r = 0; r < l->k; r++) {
        double row = 0.0;
        for (int cc = 0; cc < l->ncol; cc++) {
            const int32_t q = owner[cc] >= 0 ? w[(size_t)owner[cc] * l->k + r] : 0;
            const int level = cim_device_slice_level(q, wbits, c->cell_bits, l->col_slice[cc],
                                                     sign[cc]);
            double g_t0;
            const double g = cim_device_program(c, (uint32_t)i, (uint32_t)r, (uint32_t)cc, level,
                                                &g_t0);
            sum0 += g_t0;
            sum1 += g;
            const size_t at = (size_t)r * l->ncol + cc;
            /* g unit - g0 is exactly the level for an ideal cell (g = gmin + level / L
             * (1 - gmin)), up to double rounding that float removes */
            l->g[at] = (float)(g * xb->unit - xb->g0);
            if (prop)
                l->g2[at] = (float)(g * xb->unit * g * xb->unit);
            row += (double)l->g[at];
        }
        /* fixed point, so that the energy sums are integers, exact in any order */
        l->rowg[r] = llround(ldexp(row, ROWG_FRAC));
    }
    free(owner);
    free(sign);
    l->gain = c->drift_comp && sum1 > 0.0 ? sum0 / sum1 : 1.0;
    return CIM_OK;
}

/* The ADC step of every slice from a range V (level units): the smallest e >= 0
 * with (2^bits - 1) 2^e >= V. */
static int adc_step_for(double v, int bits)
{
    int e = 0;
    while (e < 40 && ldexp((double)((INT64_C(1) << bits) - 1), e) < v)
        e++;
    return e;
}

/* The periphery of layer l after its ADC steps are known: the lossless
 * accumulator width (sign included) and the shift to periph_bits. */
static void xlayer_periph(struct cim_xbar *xb, struct xlayer *l)
{
    const double dmax = ldexp(1.0, xb->adc_bits) - 1.0;
    double wsum = 0.0, isum = 0.0;
    for (int j = l->skip; j < l->slices; j++)
        wsum += ldexp(1.0, (j - l->skip) * xb->cfg.cell_bits + l->e[j]);
    for (int s = 0; s < xb->in_slices; s++)
        isum += ldexp(1.0, s * xb->cfg.dac_bits);
    const double bound = (double)l->row_tiles * dmax * wsum * isum;
    int bits = 1;
    while (bits < 62 && ldexp(1.0, bits) - 1.0 < bound)
        bits++;
    bits += 1; /* sign */
    const int pb = xb->cfg.periph_bits;
    l->periph_out = pb == 0 || pb >= bits ? bits : pb;
    l->periph_shift = pb == 0 || pb >= bits ? 0 : bits - pb;
}

/* The conversion and shift-add tables of layer l for the ADC steps in use: its
 * own (e), or 0 while calibrating. */
static void xlayer_tables(const struct cim_xbar *xb, struct xlayer *l)
{
    const int S = l->slices, cb = xb->cfg.cell_bits;
    int e[SLICES_MAX];
    for (int j = 0; j < S; j++)
        e[j] = xb->calibrating ? 0 : l->e[j];
    l->ncol_read = 0;
    for (int c = 0; c < l->ncol; c++) {
        l->scale[c] = ldexp(l->gain, -e[l->col_slice[c]]);
        l->ncol_read += l->col_read[c];
    }
    for (int j = 0; j < S; j++)
        l->sw[j] = j < l->skip ? 0 : INT64_C(1) << ((j - l->skip) * cb + e[j]);
    if (l->fw != NULL)
        for (int j = 0; j < S; j++) {
            l->fw[2 * j] = l->sw[j];
            l->fw[2 * j + 1] = -l->sw[j];
        }
}

/* ADC steps for the lossless and fixed ranges (calibrated ones wait for
 * cim_xbar_calibrate_end()). */
static void xlayer_adc_static(struct cim_xbar *xb, struct xlayer *l)
{
    const struct cim_xbar_config *c = &xb->cfg;
    for (int j = 0; j < SLICES_MAX; j++) {
        if (c->adc_range == CIM_ADC_RANGE_FIXED)
            l->e[j] = adc_step_for(c->adc_value, xb->adc_bits);
        else /* lossless, and the start of a calibrated range */
            l->e[j] = xb->adc_lossless > xb->adc_bits ? xb->adc_lossless - xb->adc_bits : 0;
    }
    xlayer_periph(xb, l);
    xlayer_tables(xb, l);
}

struct cim_xbar *cim_xbar_alloc(const struct nn_model *m, int p, const struct cim_xbar_config *cfg,
                                struct cim_err *err)
{
    if (cim_xbar_config_check(cfg, err) != CIM_OK)
        return NULL;
    struct cim_xbar *xb = calloc(1, sizeof *xb);
    if (xb == NULL) {
        cim_err_set(err, CIM_ENOMEM, "out of memory for the crossbar");
        return NULL;
    }
    xb->cfg = *cfg;
    xb->p = p;
    xb->im = nn_int_model_alloc(m, p, err);
    if (xb->im == NULL) {
        cim_xbar_free(xb);
        return NULL;
    }
    const struct nn_quant *q = &m->quant;
    const int cb = cfg->cell_bits, d = q->wbits[0] - q->wbits[p];
    xb->reuse = p > 0 && q->scheme == QUANT_SCHEME_NESTED &&
                cfg->encoding == CIM_ENCODING_DIFFERENTIAL && d % cb == 0;
    struct nn_int_model *hi = NULL;
    if (xb->reuse && (hi = nn_int_model_alloc(m, 0, err)) == NULL) {
        cim_xbar_free(xb);
        return NULL;
    }
    xb->n_layers = nn_int_model_layers(xb->im);
    xb->in_slices = (nn_int_model_abits(xb->im) + cfg->dac_bits - 1) / cfg->dac_bits;
    xb->g0 = cim_device_leak_level(cb, cfg->on_off);
    xb->unit = cim_device_level_unit(cb, cfg->on_off);
    xb->fs = full_scale(cfg->rows, cfg->dac_bits, cb, cfg->on_off);
    xb->adc_lossless = cim_xbar_adc_bits_lossless(cfg->rows, cfg->dac_bits, cb, cfg->on_off);
    xb->adc_bits = cfg->adc_bits == 0 ? xb->adc_lossless : cfg->adc_bits;
    xb->key_read = cim_noise_key(cfg->seed, CIM_NOISE_READ);
    xb->key_calib = cim_noise_key(cfg->seed, CIM_NOISE_CALIB);
    if (xb->in_slices > SLICES_MAX) {
        cim_err_set(err, CIM_EINVAL, "--dac-bits %d: %d input slices, at most %d", cfg->dac_bits,
                    xb->in_slices, SLICES_MAX);
        nn_int_model_free(hi);
        cim_xbar_free(xb);
        return NULL;
    }
    /* the conductances first, on paper: refuse what cannot fit before programming */
    size_t need = 0;
    for (int i = 0; i < xb->n_layers; i++) {
        int o, k;
        if (nn_int_model_vectors(xb->im, i) == 0)
            continue;
        nn_int_model_shape(xb->im, i, &o, &k);
        if (cim_size_add(need, xlayer_bytes(cfg, xb->reuse ? q->wbits[0] : q->wbits[p], o, k),
                         &need) != CIM_OK)
            need = SIZE_MAX;
    }
    if (need > cim_mem_total()) {
        cim_err_set(err, CIM_ENOMEM, "the crossbar of this model with %d-bit cells needs %.3g GiB "
                    "of cell conductances, more than the %.3g GiB available", cb,
                    (double)need / (1 << 30), (double)cim_mem_total() / (1 << 30));
        nn_int_model_free(hi);
        cim_xbar_free(xb);
        return NULL;
    }
    for (int i = 0; i < xb->n_layers; i++) {
        if (nn_int_model_vectors(xb->im, i) == 0)
            continue;
        const int32_t *w = xb->reuse ? nn_int_model_codes(hi, i) : nn_int_model_codes(xb->im, i);
        const int wbits = xb->reuse ? q->wbits[0] : q->wbits[p];
        xb->layers[i].w = nn_int_model_codes(xb->im, i);
        if (xlayer_program(xb, i, w, wbits, xb->reuse ? d / cb : 0, err) != CIM_OK) {
            nn_int_model_free(hi);
            cim_xbar_free(xb);
            return NULL;
        }
        xlayer_adc_static(xb, &xb->layers[i]);
    }
    nn_int_model_free(hi);
    return xb;
}

/* ---- calibration and statistics ------------------------------------------------ */

void cim_xbar_calibrate_begin(struct cim_xbar *xb)
{
    cim_xbar_stats_reset(xb);
    for (int t = 0; t < SLOTS_MAX; t++)
        if (xb->slots[t] != NULL && xb->slots[t]->hist != NULL) {
            memset(xb->slots[t]->hist, 0,
                   (size_t)NN_MODEL_LAYERS_MAX * SLICES_MAX * HIST_BINS * sizeof(uint64_t));
            memset(xb->slots[t]->vmax, 0, sizeof xb->slots[t]->vmax);
        }
    xb->calibrating = 1;
    for (int i = 0; i < xb->n_layers; i++)
        if (xb->layers[i].weight)
            xlayer_tables(xb, &xb->layers[i]);
}

int cim_xbar_calibrate_end(struct cim_xbar *xb, struct cim_err *err)
{
    xb->calibrating = 0;
    const struct cim_xbar_config *c = &xb->cfg;
    const int calibrated = c->adc_range == CIM_ADC_RANGE_MAX ||
                           c->adc_range == CIM_ADC_RANGE_PERCENTILE;
    int rc = CIM_OK;
    for (int i = 0; calibrated && i < xb->n_layers; i++) {
        struct xlayer *l = &xb->layers[i];
        if (!l->weight)
            continue;
        for (int j = l->skip; j < l->slices; j++) {
            /* merge the threads' records, in slot order (counts: exact) */
            double vmax = 0.0;
            uint64_t total = 0;
            uint64_t *hist = calloc(HIST_BINS, sizeof *hist);
            if (hist == NULL)
                return cim_err_set(err, CIM_ENOMEM, "out of memory for the ADC calibration");
            for (int t = 0; t < SLOTS_MAX; t++) {
                const struct slot *s = xb->slots[t];
                if (s == NULL || s->hist == NULL)
                    continue;
                vmax = s->vmax[i][j] > vmax ? s->vmax[i][j] : vmax;
                const uint64_t *h = s->hist + ((size_t)i * SLICES_MAX + j) * HIST_BINS;
                for (int b = 0; b < HIST_BINS; b++) {
                    hist[b] += h[b];
                    total += h[b];
                }
            }
            if (total == 0) {
                free(hist);
                rc = cim_err_set(err, CIM_EINVAL,
                                 "ADC calibration: layer %d slice %d saw no current; "
                                 "use more calibration images or a fixed range", i, j);
                continue;
            }
            double v = vmax;
            if (c->adc_range == CIM_ADC_RANGE_PERCENTILE) {
                /* the upper edge of the bin holding the P-th percentile */
                const double want = c->adc_value / 100.0 * (double)total;
                uint64_t seen = 0;
                int b = 0;
                while (b < HIST_BINS - 1 && (double)(seen + hist[b]) < want)
                    seen += hist[b++];
                v = (double)(b + 1) / HIST_BINS * xb->fs;
                v = v > vmax ? vmax : v;
            }
            free(hist);
            l->e[j] = adc_step_for(v, xb->adc_bits);
        }
        xlayer_periph(xb, l);
    }
    for (int i = 0; i < xb->n_layers; i++)
        if (xb->layers[i].weight)
            xlayer_tables(xb, &xb->layers[i]);
    cim_xbar_stats_reset(xb);
    return rc;
}

void cim_xbar_stats_reset(struct cim_xbar *xb)
{
    for (int t = 0; t < SLOTS_MAX; t++)
        if (xb->slots[t] != NULL)
            memset(xb->slots[t]->st, 0, sizeof xb->slots[t]->st);
}

int cim_xbar_stats(const struct cim_xbar *xb, int layer, struct cim_xbar_stats *st)
{
    if (layer < 0 || layer >= xb->n_layers)
        return CIM_EINVAL;
    memset(st, 0, sizeof *st);
    const struct xlayer *l = &xb->layers[layer];
    if (!l->weight)
        return CIM_OK;
    st->is_weight_layer = 1;
    st->row_tiles = l->row_tiles;
    st->col_tiles = l->col_tiles;
    st->w_slices = l->slices - l->skip;
    st->in_slices = xb->in_slices;
    st->adc_bits = xb->adc_bits;
    for (int j = l->skip; j < l->slices; j++)
        st->adc_shift[j - l->skip] = l->e[j];
    st->periph_shift = l->periph_shift;
    st->drift_gain = l->gain;
    st->fan_in = l->k;
    st->out_features = l->o;
    st->per_array = l->per_tile;
    st->columns = l->ncol;
    cim_i128 err_sq = 0, ref_sq = 0, drive_g = 0;
    uint64_t drive_sq = 0;
    for (int t = 0; t < SLOTS_MAX; t++) {
        const struct slot *s = xb->slots[t];
        if (s == NULL)
            continue;
        const struct slot_stats *a = &s->st[layer];
        st->vectors += a->vectors;
        st->reads += a->reads;
        st->reads_skipped += a->skipped;
        st->conversions += a->conversions;
        st->clipped += a->clipped;
        st->outputs += a->outputs;
        st->row_drives += a->drives;
        drive_sq += a->drive_sq;
        err_sq += a->err_sq;
        ref_sq += a->ref_sq;
        drive_g += a->drive_g;
    }
    st->err_sq = (double)err_sq;
    st->ref_sq = (double)ref_sq;
    st->drive_sq = (double)drive_sq;
    st->drive_g = ldexp((double)drive_g, -ROWG_FRAC);
    return CIM_OK;
}

/* ---- the backend ---------------------------------------------------------------- */

/* Grow *p to hold n elements of size sz; 0 on success. */
static int reserve(void **p, size_t *cap, size_t n, size_t sz)
{
    if (n <= *cap)
        return 0;
    void *q = realloc(*p, n * sz);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static struct slot *slot_get(struct cim_xbar *xb)
{
    const int t = omp_get_thread_num();
    if (t >= SLOTS_MAX)
        return NULL;
    if (xb->slots[t] == NULL)
        xb->slots[t] = calloc(1, sizeof(struct slot));
    struct slot *s = xb->slots[t];
    if (s != NULL && xb->calibrating && s->hist == NULL)
        s->hist = calloc((size_t)NN_MODEL_LAYERS_MAX * SLICES_MAX * HIST_BINS, sizeof *s->hist);
    return s != NULL && (!xb->calibrating || s->hist != NULL) ? s : NULL;
}

/* Calibration: every read column's current (gain applied, clipped at 0) into
 * the histogram and maximum of its layer and slice. */
static void record_read(const struct cim_xbar *xb, const struct xlayer *l, int layer,
                        struct slot *sl, const float *cur, const float *var, const float *z,
                        double leak, double sd_add)
{
    for (int c = 0; c < l->ncol; c++) {
        if (!l->col_read[c])
            continue;
        double i_col = (double)cur[c] + leak;
        if (z != NULL)
            i_col += (var != NULL ? xb->cfg.read_noise * sqrt((double)var[c]) : sd_add) *
                     (double)z[c];
        i_col *= l->gain;
        const double rec = i_col < 0.0 ? 0.0 : i_col;
        const int j = l->col_slice[c];
        sl->vmax[layer][j] = rec > sl->vmax[layer][j] ? rec : sl->vmax[layer][j];
        int b = (int)(rec / xb->fs * HIST_BINS);
        b = b >= HIST_BINS ? HIST_BINS - 1 : b;
        sl->hist[((size_t)layer * SLICES_MAX + j) * HIST_BINS + b]++;
    }
}

/* The periphery's shift-add of one read into the outputs' accumulators (the
 * sum cim_periph_accumulate() of cim/periph.h forms over all reads at once,
 * here added read by read as the reads happen, for every output of the array):
 * acc[o] += 2^(s dac) sum_j (code(p) - code(n)) 2^((j - skip) cell_bits + e_j).
 * Differential columns of output o are the 2 S after 2 S o, so the sum is a
 * dot product with the signed weights l->fw (0 for skipped slices). */
static void shift_add(const struct xlayer *l, const int32_t *code, int64_t in_weight,
                      int64_t *acc)
{
    const int S = l->slices;
    if (l->fw != NULL) {
        const int w = 2 * S;
        for (int o = 0; o < l->o; o++) {
            const int32_t *cd = code + (size_t)o * w;
            int64_t sum = 0;
            for (int q = 0; q < w; q++)
                sum += (int64_t)cd[q] * l->fw[q];
            acc[o] += sum * in_weight;
        }
        return;
    }
    for (int o = 0; o < l->o; o++) {
        int64_t sum = 0;
        for (int j = l->skip; j < S; j++) {
            const int32_t d = code[l->colp[o * S + j]] - code[l->coln[o * S + j]];
            sum += (int64_t)d * l->sw[j];
        }
        acc[o] += sum * in_weight;
    }
}

static int xbar_matmul(void *ctx, int layer, const uint16_t *a, int64_t *acc, int n, int o, int k,
                       long first, int per)
{
    struct cim_xbar *xb = ctx;
    const struct xlayer *l = &xb->layers[layer];
    const struct cim_xbar_config *c = &xb->cfg;
    assert(l->weight && o == l->o && k == l->k);
    struct slot *sl = slot_get(xb);
    const int R = c->rows, rmax = k < R ? k : R, ncol_even = l->ncol + (l->ncol & 1);
    const int S_in = xb->in_slices;
    if (sl == NULL ||
        reserve((void **)&sl->x, &sl->cap_x, (size_t)S_in * rmax * 2, sizeof *sl->x) ||
        reserve((void **)&sl->cur, &sl->cap_cur, (size_t)ncol_even * 2, sizeof *sl->cur) ||
        reserve((void **)&sl->z, &sl->cap_z, (size_t)S_in * ncol_even, sizeof *sl->z) ||
        reserve((void **)&sl->meta, &sl->cap_meta, (size_t)S_in * rmax, sizeof *sl->meta) ||
        reserve((void **)&sl->code, &sl->cap_code, (size_t)l->ncol, sizeof *sl->code) ||
        reserve((void **)&sl->exact, &sl->cap_exact, (size_t)n * o, sizeof *sl->exact))
        return CIM_ENOMEM;
    struct slot_stats *st = &sl->st[layer];
    memset(acc, 0, (size_t)n * o * sizeof *acc);
    const struct cim_noise_key key = xb->calibrating ? xb->key_calib : xb->key_read;
    const int read_noise = c->read_noise > 0.0, dac = c->dac_bits, mask = (1 << dac) - 1;
    const double qmax = ldexp(1.0, xb->calibrating ? xb->adc_lossless : xb->adc_bits) - 1.0;
    /* per input slice s: its active rows rows[s rmax ..] with steps x[s rmax ..]
     * (and x^2 at x2), counted in cnt[s] */
    int *rows = sl->meta, cnt[SLICES_MAX];
    float *xs = sl->x, *x2 = sl->x + (size_t)S_in * rmax;
    float *cur = sl->cur, *var = sl->cur + ncol_even;
    st->reads += (uint64_t)n * S_in * l->row_tiles * l->col_tiles;
    for (int v = 0; v < n; v++) {
        const long sample = first + v / per;
        const int pos = v % per;
        int64_t *av_acc = acc + (size_t)v * o;
        for (int rt = 0; rt < l->row_tiles; rt++) {
            const int r0 = rt * R, rn = k - r0 < R ? k - r0 : R;
            const uint16_t *av = a + (size_t)v * k + r0;
            for (int s = 0; s < S_in; s++)
                cnt[s] = 0;
            /* branch-free: write every slice's entry, advance only where the step
             * is not 0 (bit slices of activations are too random to predict) */
            if (dac == 1) { /* steps are 0 or 1: only the rows are needed */
                for (int r = 0; r < rn; r++) {
                    const unsigned code = av[r];
                    if (code == 0)
                        continue;
                    for (int s = 0; s < S_in; s++) {
                        rows[s * rmax + cnt[s]] = r0 + r;
                        cnt[s] += (int)((code >> s) & 1u);
                    }
                }
            } else {
                for (int r = 0; r < rn; r++) {
                    const unsigned code = av[r];
                    if (code == 0)
                        continue;
                    for (int s = 0; s < S_in; s++) {
                        const int xv = (int)((code >> (s * dac)) & (unsigned)mask);
                        const int at = s * rmax + cnt[s];
                        rows[at] = r0 + r;
                        xs[at] = (float)xv;
                        x2[at] = (float)(xv * xv);
                        cnt[s] += xv != 0;
                    }
                }
            }
            /* the read noise of every driven slice's read, in one call: keyed by
             * (sample, layer, row tile, position), na ncol_even draws in slice order */
            int na = 0;
            for (int s = 0; s < S_in; s++)
                na += cnt[s] != 0;
            st->skipped += (uint64_t)(S_in - na) * l->col_tiles;
            if (na == 0)
                continue; /* no row driven: no current, every code 0 */
            if (read_noise) {
                const uint32_t ctr[3] = {(uint32_t)sample, (uint32_t)(layer << 24 | rt),
                                         (uint32_t)pos};
                cim_noise_normal(key, ctr, sl->z, na * ncol_even);
            }
            for (int s = 0, q = 0; s < S_in; s++) {
                if (cnt[s] == 0)
                    continue;
                int sx = cnt[s], sx2 = cnt[s]; /* 1-bit DAC: every step is 1 */
                const float *xr = NULL, *xr2 = NULL;
                if (dac > 1) {
                    xr = xs + s * rmax;
                    xr2 = x2 + s * rmax;
                    sx = sx2 = 0;
                    for (int i = 0; i < cnt[s]; i++) {
                        sx += (int)xr[i];
                        sx2 += (int)xr2[i];
                    }
                }
                const int *rs = rows + s * rmax;
                int64_t dg = 0; /* sum of x^2 times the row's conductance (< 2^62) */
                if (dac > 1)
                    for (int i = 0; i < cnt[s]; i++)
                        dg += l->rowg[rs[i]] * (int64_t)xr2[i];
                else
                    for (int i = 0; i < cnt[s]; i++)
                        dg += l->rowg[rs[i]];
                st->drive_g += dg;
                st->drive_sq += (uint64_t)sx2;
                st->drives += (uint64_t)cnt[s] * (uint64_t)l->col_tiles;
                cim_array_read(l->g, (size_t)l->ncol, rs, xr, cnt[s], l->ncol, cur);
                if (l->g2 != NULL)
                    cim_array_read(l->g2, (size_t)l->ncol, rows + s * rmax, xr2, cnt[s], l->ncol,
                                   var);
                const double leak = xb->g0 * (double)sx;
                const double sd_add = c->read_noise * xb->unit * sqrt((double)sx2);
                const float *vr = l->g2 != NULL ? var : NULL;
                const float *z = read_noise ? sl->z + (size_t)q++ * ncol_even : NULL;
                if (xb->calibrating)
                    record_read(xb, l, layer, sl, cur, vr, z, leak, sd_add);
                st->clipped += cim_adc_convert(cur, z, vr, leak,
                                               vr != NULL ? c->read_noise : sd_add, l->scale,
                                               l->readm, qmax, l->ncol, sl->code);
                st->conversions += (uint64_t)l->ncol_read;
                shift_add(l, sl->code, INT64_C(1) << (s * dac), av_acc);
            }
        }
    }
    /* the periphery's output stage, and the error against the exact result
     * (nn/'s exact integer kernel on the same codes) */
    st->vectors += (uint64_t)n;
    const struct nn_int_exec exact = nn_int_exec_exact(xb->im);
    int rc = exact.matmul(exact.ctx, layer, a, sl->exact, n, o, k, first, per);
    if (rc != CIM_OK)
        return rc;
    for (size_t q = 0; q < (size_t)n * o; q++) {
        if (!xb->calibrating) { /* calibration passes keep the lossless sum */
            const int64_t y = quant_requantize(acc[q], l->periph_shift, l->periph_out, c->round,
                                               c->overflow);
            acc[q] = y * (INT64_C(1) << l->periph_shift);
        }
        const int64_t e = acc[q] - sl->exact[q], ex = sl->exact[q];
        st->err_sq += (cim_i128)e * e;
        st->ref_sq += (cim_i128)ex * ex;
    }
    st->outputs += (uint64_t)n * o;
    return CIM_OK;
}

struct nn_int_exec cim_xbar_exec(struct cim_xbar *xb)
{
    return (struct nn_int_exec){.name = "crossbar", .matmul = xbar_matmul, .ctx = xb};
}
