/* integer.c: integer inference of a quantized model; see integer.h. */
#include "integer.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "nn/forward.h"
#include "quant/quantizer.h"
#include "quant/round.h"

/* ---- requantization ------------------------------------------------------------ */

/* floor(a / b) and ceil(a / b) for b > 0 (C's division truncates toward 0). */
static int64_t div_floor(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return q * b > a ? q - 1 : q;
}

static int64_t div_ceil(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return q * b < a ? q + 1 : q;
}

#define REQ_LIM (INT64_C(1) << 61) /* |bias| and (qmax + 1) 2^shift stay below this */

/* M = f 2^e with f in [0.5, 1) (frexp), so m0 = round(f 2^31) has 31 significant
 * bits and shift = 31 - e. The shift is capped so that (qmax + 1) 2^shift and
 * |bias| 2^shift stay <= 2^61 (integer.h, "Overflow"), then the thresholds lo
 * and hi bracket the accumulators whose output is neither 0 nor qmax. */
void nn_int_requant_init(struct nn_int_requant *rq, double m, double bias, int abits)
{
    assert(abits >= QUANT_ABITS_MIN && abits <= QUANT_ABITS_MAX);
    assert(m > 0.0 && isfinite(m) && isfinite(bias));
    rq->qmax = quant_qmax_unsigned(abits);
    int smax = 61 - abits, eb;
    if (bias != 0.0) {
        frexp(bias, &eb); /* |bias| < 2^eb */
        smax = 61 - eb < smax ? 61 - eb : smax;
        smax = smax < 0 ? 0 : smax;
    }
    int e;
    double f = frexp(m, &e);
    int64_t m0 = (int64_t)nearbyint(ldexp(f, 31));
    if (m0 == (INT64_C(1) << 31)) { /* f rounded up to 1 */
        m0 = INT64_C(1) << 30;
        e++;
    }
    int shift = 31 - e;
    if (shift < 0) {
        /* M >= 2^31: acc >= 1 moves the output by over 2^31 codes (see integer.h) */
        m0 = INT32_MAX;
        shift = 0;
    } else if (shift > smax) {
        int drop = shift - smax;
        m0 = drop > 32 ? 0 : quant_round_shift(m0, drop, QUANT_ROUND_HALF_EVEN);
        shift = smax;
    }
    rq->m0 = (int32_t)m0;
    rq->shift = shift;
    double bq = nearbyint(ldexp(bias, shift)); /* half even; |bq| <= 2^61 but for shift 0 */
    bq = bq > (double)REQ_LIM ? (double)REQ_LIM : bq < -(double)REQ_LIM ? -(double)REQ_LIM : bq;
    rq->bias = (int64_t)bq;
    if (m0 == 0) { /* the output is the bias alone; apply() skips the thresholds */
        rq->lo = rq->hi = 0;
        return;
    }
    const int64_t top = (int64_t)(rq->qmax + 1) << shift; /* <= 2^61 */
    rq->lo = div_floor(-rq->bias, m0);
    rq->hi = div_ceil(top - rq->bias, m0);
}

int32_t nn_int_requant_apply(const struct nn_int_requant *rq, int64_t acc)
{
    if (rq->m0 != 0) {
        if (acc <= rq->lo)
            return 0;
        if (acc >= rq->hi)
            return rq->qmax;
    }
    /* lo < acc < hi: 0 < acc m0 + bias < (qmax + 1) 2^shift <= 2^61, so the
     * product lies within 2^61 of -bias, itself within 2^61 of 0 */
    int64_t y = acc * (int64_t)rq->m0 + rq->bias;
    int64_t r = quant_round_shift(y, rq->shift, QUANT_ROUND_HALF_EVEN);
    return r < 0 ? 0 : r > rq->qmax ? rq->qmax : (int32_t)r;
}

/* ---- model --------------------------------------------------------------------- */

/* One layer in integer form. Hidden weight layers requantize to the next weight
 * layer's input code (rq, bias folded in); the last one scales its accumulator
 * to a logit (oscale, obias). */
struct int_layer {
    enum nn_layer_type type;
    enum nn_act act;
    int kernel, stride, pad;
    struct nn_shape in, out;
    int rows, cols;               /* weight matrix [rows, cols]; 0 for maxpool */
    int acc64;                    /* accumulate in int64 (see integer.h) */
    int32_t *w;                   /* codes [rows, cols] */
    struct nn_int_requant *rq;    /* [rows], hidden weight layers */
    double *oscale, *obias;       /* [rows], the last layer: s_w[o] s_a and the bias */
};

struct nn_int_model {
    int p;                 /* the precision */
    int n_layers, num_classes;
    struct nn_shape input;
    float in_scale;        /* high step of the network input's code */
    int abits_hi, adrop;   /* activation bits of the high code; bits dropped at p */
    size_t act_max;        /* largest per-sample activation (codes) */
    size_t cols_max;       /* largest per-sample im2col buffer (codes) */
    size_t hw_max;         /* most output positions of a conv2d layer */
    struct int_layer layers[NN_MODEL_LAYERS_MAX];
};

static int has_weights(enum nn_layer_type t)
{
    return t == NN_LAYER_DENSE || t == NN_LAYER_CONV2D;
}

static int step_ok(float s)
{
    return s > 0.0f && isfinite(s);
}

void nn_int_model_free(struct nn_int_model *im)
{
    if (im == NULL)
        return;
    for (int i = 0; i < NN_MODEL_LAYERS_MAX; i++) {
        free(im->layers[i].w);
        free(im->layers[i].rq);
        free(im->layers[i].oscale);
        free(im->layers[i].obias);
    }
    free(im);
}

/* The bit-widths and steps that the derivation below relies on; quant/ asserts
 * them, and a model from a file must not reach an assert. */
static int check_quant(const struct nn_model *m, int p, struct cim_err *err)
{
    const struct nn_quant *q = &m->quant;
    if (q->n_prec < 1)
        return cim_err_set(err, CIM_EINVAL,
                           "integer inference of %s: the model is FP32 (not quantized); "
                           "quantize it first (QAT file or nn_quant_enable)", m->arch);
    if (q->n_prec > NN_PREC_MAX)
        return cim_err_set(err, CIM_EINVAL, "integer inference of %s: %d precisions, at most %d",
                           m->arch, q->n_prec, NN_PREC_MAX);
    if (p < 0 || p >= q->n_prec)
        return cim_err_set(err, CIM_EINVAL,
                           "integer inference of %s: precision %d out of range 0..%d", m->arch,
                           p, q->n_prec - 1);
    for (int k = 0; k <= p; k++)
        if (q->wbits[k] < QUANT_WBITS_MIN || q->wbits[k] > q->wbits[0] ||
            q->wbits[0] > QUANT_WBITS_MAX || q->abits[k] < QUANT_ABITS_MIN ||
            q->abits[k] > q->abits[0] || q->abits[0] > QUANT_ABITS_MAX)
            return cim_err_set(err, CIM_EINVAL,
                               "integer inference of %s: precision W%dA%d out of range", m->arch,
                               q->wbits[k], q->abits[k]);
    if ((unsigned)q->scheme >= QUANT_SCHEME_COUNT)
        return cim_err_set(err, CIM_EINVAL, "integer inference of %s: unknown scheme %d",
                           m->arch, (int)q->scheme);
    int last_w = -1;
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (l->type == NN_LAYER_MAXPOOL)
            continue;
        if (!has_weights(l->type))
            return cim_err_set(err, CIM_EUNSUPPORTED,
                               "integer inference of %s: layer %d has a type it lacks", m->arch,
                               i);
        last_w = i;
        const size_t want = q->per_channel ? (size_t)l->weight.n : 1;
        for (int k = 0; k <= p; k++) {
            const struct nn_tensor *s = &l->wscale[k];
            if (s->data == NULL || nn_tensor_size(s) != want)
                return cim_err_set(err, CIM_EINVAL,
                                   "integer inference of %s: layer %d has no weight steps of "
                                   "precision %d", m->arch, i, k);
            for (size_t r = 0; r < want; r++)
                if (!step_ok(s->data[r]))
                    return cim_err_set(err, CIM_EINVAL,
                                       "integer inference of %s: layer %d: weight step %g is "
                                       "not positive and finite", m->arch, i,
                                       (double)s->data[r]);
        }
        if (!step_ok(l->ascale))
            return cim_err_set(err, CIM_EINVAL,
                               "integer inference of %s: layer %d: activation step %g is not "
                               "positive and finite", m->arch, i, (double)l->ascale);
        for (int r = 0; r < l->bias.n; r++)
            if (!isfinite(l->bias.data[r]))
                return cim_err_set(err, CIM_EINVAL,
                                   "integer inference of %s: layer %d: bias %d is not finite",
                                   m->arch, i, r);
    }
    if (last_w < 0 || last_w != m->n_layers - 1)
        return cim_err_set(err, CIM_EUNSUPPORTED,
                           "integer inference of %s: the last layer must be dense or conv2d",
                           m->arch);
    return CIM_OK;
}

/* The weight step of output row r at precision p, exactly the float step the
 * fake-quant path multiplies its codes by (quantize.c, quantizer.c). */
static float weight_step(const struct nn_model *m, const struct nn_layer *l, int p, int r)
{
    const struct nn_quant *q = &m->quant;
    const int k = q->per_channel ? r : 0;
    if (p == 0 || q->scheme == QUANT_SCHEME_INDEPENDENT)
        return l->wscale[p].data[k];
    return ldexpf(l->wscale[0].data[k], q->wbits[0] - q->wbits[p]);
}

/* Codes of layer l at precision p, as nn_quant_apply() derives its fake weights:
 * quant_code_signed(w / s) with the precision's own step (high, independent), or
 * the high code nested by the scheme. */
static void weight_codes(const struct nn_model *m, const struct nn_layer *l, int p, int rows,
                         int cols, int32_t *qc)
{
    const struct nn_quant *q = &m->quant;
    const int own = p == 0 || q->scheme == QUANT_SCHEME_INDEPENDENT;
    const float *s = l->wscale[own ? p : 0].data;
    if (q->per_channel)
        quant_weight_codes_rows(l->weight.data, rows, cols, s, q->wbits[own ? p : 0], qc);
    else
        quant_weight_codes(l->weight.data, (size_t)rows * cols, s[0], q->wbits[own ? p : 0], qc);
    if (!own)
        for (size_t k = 0; k < (size_t)rows * cols; k++)
            qc[k] = quant_nest_code(qc[k], q->wbits[0], q->wbits[p], q->scheme);
}

/* The index of the next dense/conv2d layer after i; -1 if none. */
static int next_weight_layer(const struct nn_model *m, int i)
{
    for (int j = i + 1; j < m->n_layers; j++)
        if (has_weights(m->layers[j].type))
            return j;
    return -1;
}

/* Everything of weight layer i at precision p, whose input step is s_a;
 * CIM_ENOMEM on failure. */
static int layer_setup(struct nn_int_model *im, const struct nn_model *m, int i, float s_a)
{
    const struct nn_layer *l = &m->layers[i];
    struct int_layer *il = &im->layers[i];
    const int p = im->p;
    const int rows = l->weight.n, cols = l->weight.c * l->weight.h * l->weight.w;
    il->rows = rows;
    il->cols = cols;
    il->w = malloc((size_t)rows * cols * sizeof *il->w);
    const int next = next_weight_layer(m, i);
    if (next >= 0) {
        il->rq = malloc((size_t)rows * sizeof *il->rq);
    } else {
        il->oscale = malloc((size_t)rows * sizeof *il->oscale);
        il->obias = malloc((size_t)rows * sizeof *il->obias);
    }
    if (il->w == NULL || (il->rq == NULL && (il->oscale == NULL || il->obias == NULL)))
        return CIM_ENOMEM;
    weight_codes(m, l, p, rows, cols, il->w);
    const int64_t qa = quant_qmax_unsigned(m->quant.abits[p]);
    il->acc64 = 0;
    for (int r = 0; r < rows; r++) {
        /* the bound of integer.h: Qa sum |q_w| <= INT32_MAX (< 2^16 2^46, no overflow) */
        int64_t wsum = 0;
        for (int k = 0; k < cols; k++) {
            int32_t c = il->w[(size_t)r * cols + k];
            wsum += c < 0 ? -(int64_t)c : c;
        }
        if (qa * wsum > INT32_MAX)
            il->acc64 = 1;
        const double acc_step = (double)weight_step(m, l, p, r) * (double)s_a;
        if (next >= 0) {
            const double s_next = (double)m->layers[next].ascale;
            nn_int_requant_init(&il->rq[r], acc_step / s_next,
                                (double)l->bias.data[r] / s_next, im->abits_hi);
        } else {
            il->oscale[r] = acc_step;
            il->obias[r] = (double)l->bias.data[r];
        }
    }
    return CIM_OK;
}

struct nn_int_model *nn_int_model_alloc(const struct nn_model *m, int p, struct cim_err *err)
{
    assert(m != NULL);
    if (nn_model_validate(m, err) != CIM_OK || check_quant(m, p, err) != CIM_OK)
        return NULL;
    struct nn_int_model *im = calloc(1, sizeof *im);
    if (im == NULL) {
        cim_err_set(err, CIM_ENOMEM, "out of memory for the integer model of %s", m->arch);
        return NULL;
    }
    const struct nn_quant *q = &m->quant;
    im->p = p;
    im->n_layers = m->n_layers;
    im->num_classes = m->num_classes;
    im->input = m->input;
    im->abits_hi = q->abits[0];
    im->adrop = q->abits[0] - q->abits[p];
    im->in_scale = m->layers[next_weight_layer(m, -1)].ascale;
    im->act_max = nn_shape_size(m->input);
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        struct int_layer *il = &im->layers[i];
        il->type = l->type;
        il->act = l->act;
        il->kernel = l->kernel;
        il->stride = l->stride;
        il->pad = l->pad;
        il->in = l->in;
        il->out = l->out;
        size_t out = nn_shape_size(l->out);
        im->act_max = out > im->act_max ? out : im->act_max;
        if (l->type == NN_LAYER_CONV2D) {
            size_t c = (size_t)l->out.h * l->out.w * l->in.c * l->kernel * l->kernel;
            size_t hw = (size_t)l->out.h * l->out.w;
            im->cols_max = c > im->cols_max ? c : im->cols_max;
            im->hw_max = hw > im->hw_max ? hw : im->hw_max;
        }
        if (!has_weights(l->type))
            continue;
        /* this layer's input step at precision p: the nested low code's step is
         * the high one times 2^drop, as in quant_act_fake_nested() */
        const float s_a = ldexpf(l->ascale, im->adrop);
        if (layer_setup(im, m, i, s_a) != CIM_OK) {
            nn_int_model_free(im);
            cim_err_set(err, CIM_ENOMEM, "out of memory for the integer model of %s", m->arch);
            return NULL;
        }
    }
    return im;
}

const int32_t *nn_int_model_codes(const struct nn_int_model *im, int layer)
{
    if (layer < 0 || layer >= im->n_layers)
        return NULL;
    return im->layers[layer].w;
}

int nn_int_model_acc64(const struct nn_int_model *im, int layer)
{
    if (layer < 0 || layer >= im->n_layers)
        return 0;
    return im->layers[layer].acc64;
}

/* ---- workspace ----------------------------------------------------------------- */

/* Per chunk of NN_CHUNK samples, which runs sample by sample on one thread: two
 * activation buffers (a layer reads one and writes the other) and the patches
 * of one sample (codes), and one conv2d channel's accumulators. */
struct nn_int_ws {
    int batch_max, chunks;
    size_t per_chunk; /* codes per chunk: 2 act_max + cols_max */
    uint16_t *buf;    /* [chunks, per_chunk] */
    int64_t *acc;     /* [chunks, hw_max] (int32 or int64 accumulators) */
};

struct nn_int_ws *nn_int_ws_alloc(const struct nn_int_model *im, int batch_max)
{
    if (batch_max < 1)
        return NULL;
    struct nn_int_ws *ws = calloc(1, sizeof *ws);
    if (ws == NULL)
        return NULL;
    ws->batch_max = batch_max;
    ws->chunks = (batch_max + NN_CHUNK - 1) / NN_CHUNK;
    const size_t chunks = (size_t)ws->chunks, hw = im->hw_max > 0 ? im->hw_max : 1;
    size_t per, total, acc;
    if (cim_size_mul(im->act_max, 2, &per) != CIM_OK ||
        cim_size_add(per, im->cols_max, &per) != CIM_OK ||
        cim_size_mul(per, chunks, &total) != CIM_OK ||
        cim_size_mul(total, sizeof *ws->buf, &total) != CIM_OK ||
        cim_size_mul(hw, chunks, &acc) != CIM_OK ||
        cim_size_mul(acc, sizeof *ws->acc, &acc) != CIM_OK ||
        (ws->buf = malloc(total)) == NULL || (ws->acc = malloc(acc)) == NULL) {
        nn_int_ws_free(ws);
        return NULL;
    }
    ws->per_chunk = per;
    return ws;
}

void nn_int_ws_free(struct nn_int_ws *ws)
{
    if (ws == NULL)
        return;
    free(ws->buf);
    free(ws->acc);
    free(ws);
}

/* ---- kernels ------------------------------------------------------------------- */

/* sum_k w[k] a[k] in int32: the caller has checked the bound of integer.h, under
 * which no partial sum leaves the int32 range. */
static int32_t dot32(const int32_t *w, const uint16_t *a, int n)
{
    int32_t s = 0;
    for (int k = 0; k < n; k++)
        s += w[k] * (int32_t)a[k];
    return s;
}

/* The same in int64, for layers that fail the bound; each product fits int32
 * (|w| <= 32767, a <= 65535). */
static int64_t dot64(const int32_t *w, const uint16_t *a, int n)
{
    int64_t s = 0;
    for (int k = 0; k < n; k++)
        s += (int64_t)(w[k] * (int32_t)a[k]);
    return s;
}

/* Patches of one sample's codes x [ic, ih, iw] as cols [ic*k*k, oh*ow]: row
 * (c, ky, kx) holds the code under that kernel tap for every output position,
 * code 0 (the value 0) in the padding. Each row is then one term of every
 * output of a channel, added with a contiguous, vectorizable loop. */
static void im2col_codes(const struct int_layer *l, const uint16_t *x, uint16_t *cols)
{
    const int ic = l->in.c, ih = l->in.h, iw = l->in.w;
    const int oh = l->out.h, ow = l->out.w, k = l->kernel, st = l->stride, pad = l->pad;
    for (int c = 0; c < ic; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                uint16_t *row = cols;
                cols += (size_t)oh * ow;
                for (int oy = 0; oy < oh; oy++) {
                    const int iy = oy * st - pad + ky;
                    for (int ox = 0; ox < ow; ox++) {
                        const int ix = ox * st - pad + kx;
                        *row++ = iy < 0 || iy >= ih || ix < 0 || ix >= iw
                                     ? 0
                                     : x[((size_t)c * ih + iy) * iw + ix];
                    }
                }
            }
}

/* The accumulator of dense output o for input a: the exact dot product of the
 * codes, without the bias (which the output stage adds). */
static int64_t accumulate(const struct int_layer *l, int o, const uint16_t *a)
{
    const int32_t *w = l->w + (size_t)o * l->cols;
    return l->acc64 ? dot64(w, a, l->cols) : (int64_t)dot32(w, a, l->cols);
}

/* Output o from its accumulator: the next layer's input code at precision p
 * (the high code, ReLU and bias included, then its top bits), or, for the last
 * layer, a float logit. */
static void emit(const struct nn_int_model *im, const struct int_layer *l, int o, int64_t acc,
                 uint16_t *y, size_t at, float *logits)
{
    if (l->rq != NULL) {
        uint16_t hi = (uint16_t)nn_int_requant_apply(&l->rq[o], acc);
        y[at] = im->adrop ? quant_act_nest_code(hi, im->abits_hi, im->abits_hi - im->adrop) : hi;
    } else {
        double v = (double)acc * l->oscale[o] + l->obias[o];
        logits[at] = (float)(l->act == NN_ACT_RELU && v < 0.0 ? 0.0 : v);
    }
}

static void dense_codes(const struct nn_int_model *im, const struct int_layer *l,
                        const uint16_t *x, uint16_t *y, float *logits)
{
    for (int o = 0; o < l->rows; o++)
        emit(im, l, o, accumulate(l, o, x), y, (size_t)o, logits);
}

/* Output channel o of a conv2d layer over its hw positions: acc[q] = sum_k
 * w[o, k] cols[k, q], one row of cols at a time (zero codes skipped: at low
 * precision most are zero); in int32 under the bound of integer.h, else int64.
 * acc is scratch for hw int64s. */
static void conv_codes(const struct nn_int_model *im, const struct int_layer *l,
                       const uint16_t *x, uint16_t *y, uint16_t *cols, void *acc, float *logits)
{
    const size_t hw = (size_t)l->out.h * l->out.w;
    im2col_codes(l, x, cols);
    for (int o = 0; o < l->rows; o++) {
        const int32_t *w = l->w + (size_t)o * l->cols;
        if (!l->acc64) {
            int32_t *a = acc;
            memset(a, 0, hw * sizeof *a);
            for (int k = 0; k < l->cols; k++) {
                const int32_t wk = w[k];
                const uint16_t *row = cols + (size_t)k * hw;
                if (wk != 0)
                    for (size_t q = 0; q < hw; q++)
                        a[q] += wk * (int32_t)row[q];
            }
            for (size_t q = 0; q < hw; q++)
                emit(im, l, o, a[q], y, (size_t)o * hw + q, logits);
        } else {
            int64_t *a = acc;
            memset(a, 0, hw * sizeof *a);
            for (int k = 0; k < l->cols; k++) {
                const int32_t wk = w[k];
                const uint16_t *row = cols + (size_t)k * hw;
                if (wk != 0)
                    for (size_t q = 0; q < hw; q++)
                        a[q] += (int64_t)(wk * (int32_t)row[q]);
            }
            for (size_t q = 0; q < hw; q++)
                emit(im, l, o, a[q], y, (size_t)o * hw + q, logits);
        }
    }
}

static void maxpool_codes(const struct int_layer *l, const uint16_t *x, uint16_t *y)
{
    const int ih = l->in.h, iw = l->in.w, oh = l->out.h, ow = l->out.w;
    const int k = l->kernel, st = l->stride;
    for (int c = 0; c < l->in.c; c++) {
        const uint16_t *xc = x + (size_t)c * ih * iw;
        uint16_t *yc = y + (size_t)c * oh * ow;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                uint16_t v = 0;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        uint16_t u = xc[(size_t)(oy * st + ky) * iw + ox * st + kx];
                        v = u > v ? u : v;
                    }
                yc[(size_t)oy * ow + ox] = v;
            }
    }
}

/* The input codes of one sample x [C, H, W] (floats) at the model's precision:
 * the float division the fake-quant path does, its high code, then the top bits
 * at the low precision. */
static void input_codes(const struct nn_int_model *im, const float *x, uint16_t *codes)
{
    const size_t n = nn_shape_size(im->input);
    const int qu = quant_qmax_unsigned(im->abits_hi);
    const int lo = im->abits_hi - im->adrop;
    for (size_t k = 0; k < n; k++) {
        uint16_t a = (uint16_t)quant_code_unsigned(x[k] / im->in_scale, qu);
        codes[k] = im->adrop ? quant_act_nest_code(a, im->abits_hi, lo) : a;
    }
}

/* One sample through every layer: x [C, H, W] floats, logits [classes]. */
static void forward_sample(const struct nn_int_model *im, const float *x, uint16_t *buf,
                           int64_t *acc, float *logits)
{
    uint16_t *cur = buf, *nxt = buf + im->act_max, *cols = buf + 2 * im->act_max;
    input_codes(im, x, cur);
    for (int i = 0; i < im->n_layers; i++) {
        const struct int_layer *l = &im->layers[i];
        switch (l->type) {
        case NN_LAYER_DENSE:
            dense_codes(im, l, cur, nxt, logits);
            break;
        case NN_LAYER_CONV2D:
            conv_codes(im, l, cur, nxt, cols, acc, logits);
            break;
        case NN_LAYER_MAXPOOL:
            maxpool_codes(l, cur, nxt);
            break;
        }
        uint16_t *t = cur;
        cur = nxt;
        nxt = t;
    }
}

int nn_int_forward(const struct nn_int_model *im, struct nn_int_ws *ws, const float *x, int b,
                   float *logits)
{
    if (b < 1 || b > ws->batch_max)
        return CIM_EINVAL;
    const int chunks = (b + NN_CHUNK - 1) / NN_CHUNK;
    const size_t in = nn_shape_size(im->input);
#pragma omp parallel for schedule(static) num_threads(nn_threads_get()) if (chunks > 1)
    for (int c = 0; c < chunks; c++) {
        uint16_t *buf = ws->buf + (size_t)c * ws->per_chunk;
        int64_t *acc = ws->acc + (size_t)c * (im->hw_max > 0 ? im->hw_max : 1);
        const int first = c * NN_CHUNK, end = b - first < NN_CHUNK ? b : first + NN_CHUNK;
        for (int s = first; s < end; s++)
            forward_sample(im, x + (size_t)s * in, buf, acc,
                           logits + (size_t)s * im->num_classes);
    }
    return CIM_OK;
}

/* ---- passes through a backend -------------------------------------------------- */

int nn_int_model_vectors(const struct nn_int_model *im, int layer)
{
    if (layer < 0 || layer >= im->n_layers)
        return 0;
    const struct int_layer *l = &im->layers[layer];
    return l->type == NN_LAYER_DENSE ? 1
           : l->type == NN_LAYER_CONV2D ? l->out.h * l->out.w
                                        : 0;
}

void nn_int_model_shape(const struct nn_int_model *im, int layer, int *rows, int *cols)
{
    const int in = layer >= 0 && layer < im->n_layers;
    *rows = in ? im->layers[layer].rows : 0;
    *cols = in ? im->layers[layer].cols : 0;
}

int nn_int_model_layers(const struct nn_int_model *im)
{
    return im->n_layers;
}

int nn_int_model_classes(const struct nn_int_model *im)
{
    return im->num_classes;
}

int nn_int_model_abits(const struct nn_int_model *im)
{
    return im->abits_hi - im->adrop;
}

static int exact_matmul(void *ctx, int layer, const uint16_t *a, int64_t *acc, int n, int o,
                        int k, long first, int per)
{
    const struct int_layer *l = &((const struct nn_int_model *)ctx)->layers[layer];
    (void)first;
    (void)per;
    assert(o == l->rows && k == l->cols);
    for (int v = 0; v < n; v++)
        for (int j = 0; j < o; j++)
            acc[(size_t)v * o + j] = accumulate(l, j, a + (size_t)v * k);
    return CIM_OK;
}

struct nn_int_exec nn_int_exec_exact(const struct nn_int_model *im)
{
    return (struct nn_int_exec){.name = "exact", .matmul = exact_matmul, .ctx = (void *)im};
}

/* Patches of one sample's codes x [ic, ih, iw] as rows [oh*ow, ic*k*k]: the row
 * of output position q holds the codes under the kernel, (c, ky, kx) order,
 * code 0 in the padding. The layout backends take (one vector per row). */
static void im2row_codes(const struct int_layer *l, const uint16_t *x, uint16_t *rows)
{
    const int ic = l->in.c, ih = l->in.h, iw = l->in.w;
    const int oh = l->out.h, ow = l->out.w, k = l->kernel, st = l->stride, pad = l->pad;
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
            for (int c = 0; c < ic; c++)
                for (int ky = 0; ky < k; ky++) {
                    const int iy = oy * st - pad + ky;
                    for (int kx = 0; kx < k; kx++) {
                        const int ix = ox * st - pad + kx;
                        *rows++ = iy < 0 || iy >= ih || ix < 0 || ix >= iw
                                      ? 0
                                      : x[((size_t)c * ih + iy) * iw + ix];
                    }
                }
}

/* Per-thread scratch of a backend pass: the chunk's activations (two buffers of
 * NN_CHUNK samples), its patches and its accumulators. */
struct exec_scratch {
    uint16_t *cur, *nxt, *vec;
    int64_t *acc;
};

/* One chunk of n samples (x [n, C, H, W]) layer by layer through backend ex. */
static int forward_chunk_exec(const struct nn_int_model *im, const struct nn_int_exec *ex,
                              struct exec_scratch *sc, const float *x, int n, long first,
                              float *logits)
{
    const size_t in = nn_shape_size(im->input), am = im->act_max;
    uint16_t *cur = sc->cur, *nxt = sc->nxt;
    for (int s = 0; s < n; s++)
        input_codes(im, x + (size_t)s * in, cur + (size_t)s * am);
    for (int i = 0; i < im->n_layers; i++) {
        const struct int_layer *l = &im->layers[i];
        if (l->type == NN_LAYER_MAXPOOL) {
            for (int s = 0; s < n; s++)
                maxpool_codes(l, cur + (size_t)s * am, nxt + (size_t)s * am);
        } else {
            const int per = nn_int_model_vectors(im, i);
            const uint16_t *a = cur;
            if (l->type == NN_LAYER_CONV2D) {
                for (int s = 0; s < n; s++)
                    im2row_codes(l, cur + (size_t)s * am, sc->vec + (size_t)s * per * l->cols);
                a = sc->vec;
            } else if (am != (size_t)l->cols) {
                for (int s = 0; s < n; s++)
                    memmove(sc->vec + (size_t)s * l->cols, cur + (size_t)s * am,
                            (size_t)l->cols * sizeof *cur);
                a = sc->vec;
            }
            int rc = ex->matmul(ex->ctx, i, a, sc->acc, n * per, l->rows, l->cols, first, per);
            if (rc != CIM_OK)
                return rc;
            for (int s = 0; s < n; s++)
                for (int q = 0; q < per; q++) {
                    const int64_t *acc = sc->acc + ((size_t)s * per + q) * l->rows;
                    for (int o = 0; o < l->rows; o++)
                        emit(im, l, o, acc[o], nxt + (size_t)s * am, (size_t)o * per + q,
                             logits + (size_t)s * im->num_classes);
                }
        }
        uint16_t *t = cur;
        cur = nxt;
        nxt = t;
    }
    return CIM_OK;
}

int nn_int_forward_exec(const struct nn_int_model *im, const struct nn_int_exec *ex,
                        const float *x, int b, long first, float *logits)
{
    if (b < 1)
        return CIM_EINVAL;
    const int chunks = (b + NN_CHUNK - 1) / NN_CHUNK;
    const int threads = nn_threads_get() < chunks ? nn_threads_get() : chunks;
    /* the largest patch matrix and accumulator block of one chunk */
    size_t vec = 0, acc = 0;
    for (int i = 0; i < im->n_layers; i++) {
        const size_t per = (size_t)nn_int_model_vectors(im, i);
        const size_t v = per * im->layers[i].cols, a = per * im->layers[i].rows;
        vec = v > vec ? v : vec;
        acc = a > acc ? a : acc;
    }
    const size_t n_act = (size_t)NN_CHUNK * im->act_max, n_vec = (size_t)NN_CHUNK * vec;
    struct exec_scratch *sc = calloc((size_t)threads, sizeof *sc);
    int rc = sc == NULL ? CIM_ENOMEM : CIM_OK;
    for (int t = 0; rc == CIM_OK && t < threads; t++) {
        sc[t].cur = malloc(n_act * sizeof *sc[t].cur);
        sc[t].nxt = malloc(n_act * sizeof *sc[t].nxt);
        sc[t].vec = malloc((n_vec > 0 ? n_vec : 1) * sizeof *sc[t].vec);
        sc[t].acc = malloc((size_t)NN_CHUNK * acc * sizeof *sc[t].acc);
        if (!sc[t].cur || !sc[t].nxt || !sc[t].vec || !sc[t].acc)
            rc = CIM_ENOMEM;
    }
    const size_t in = nn_shape_size(im->input);
    if (rc == CIM_OK) {
#pragma omp parallel num_threads(threads) if (threads > 1)
        {
            struct exec_scratch *mine = &sc[omp_get_thread_num()];
#pragma omp for schedule(static)
            for (int c = 0; c < chunks; c++) {
                const int s0 = c * NN_CHUNK, n = b - s0 < NN_CHUNK ? b - s0 : NN_CHUNK;
                int r = forward_chunk_exec(im, ex, mine, x + (size_t)s0 * in, n, first + s0,
                                           logits + (size_t)s0 * im->num_classes);
                if (r != CIM_OK) {
#pragma omp critical(nn_int_exec_rc)
                    rc = rc == CIM_OK ? r : rc;
                }
            }
        }
    }
    for (int t = 0; sc != NULL && t < threads; t++) {
        free(sc[t].cur);
        free(sc[t].nxt);
        free(sc[t].vec);
        free(sc[t].acc);
    }
    free(sc);
    return rc;
}
