/* quantize.c: steps, calibration and fake-quant set-up of a model; see quantize.h. */
#include "quantize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/exec.h"

/* Weight matrix view of a layer: rows = outputs, cols = fan-in. */
static void weight_dims(const struct nn_layer *l, int *rows, int *cols)
{
    *rows = l->weight.n;
    *cols = l->weight.c * l->weight.h * l->weight.w;
}

static int has_weights(const struct nn_layer *l)
{
    return l->type == NN_LAYER_DENSE || l->type == NN_LAYER_CONV2D;
}

int nn_quant_enable(struct nn_model *m, const struct nn_quant *q, struct cim_err *err)
{
    if (q->n_prec < 1 || q->n_prec > NN_PREC_MAX)
        return cim_err_set(err, CIM_EINVAL, "--qat: expected 1 or 2 precisions");
    for (int p = 0; p < q->n_prec; p++) {
        if (q->wbits[p] < QUANT_WBITS_MIN || q->wbits[p] > QUANT_WBITS_MAX ||
            q->abits[p] < QUANT_ABITS_MIN || q->abits[p] > QUANT_ABITS_MAX)
            return cim_err_set(err, CIM_EINVAL,
                               "precision W%dA%d: expected weight bits %d..%d and activation "
                               "bits %d..%d", q->wbits[p], q->abits[p], QUANT_WBITS_MIN,
                               QUANT_WBITS_MAX, QUANT_ABITS_MIN, QUANT_ABITS_MAX);
    }
    if (q->n_prec == 2 && (q->wbits[1] > q->wbits[0] || q->abits[1] > q->abits[0]))
        return cim_err_set(err, CIM_EINVAL,
                           "precisions W%dA%d, W%dA%d: the second must not exceed the first",
                           q->wbits[0], q->abits[0], q->wbits[1], q->abits[1]);
    m->quant = *q;
    for (int i = 0; i < m->n_layers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        int rows, cols;
        weight_dims(l, &rows, &cols);
        for (int p = 0; p < NN_PREC_MAX; p++) {
            nn_tensor_release(&l->wscale[p]);
            if (nn_tensor_init(&l->wscale[p], q->per_channel ? rows : 1, 1, 1, 1) != CIM_OK)
                return cim_err_set(err, CIM_ENOMEM, "out of memory for quantization steps");
        }
        /* a range of 1: exact for pixels / 255 at the input, a start elsewhere */
        l->ascale = 1.0f / (float)quant_qmax_unsigned(q->abits[0]);
    }
    nn_quant_weight_ranges(m, QUANT_RANGE_MAX, 100.0);
    return CIM_OK;
}

void nn_quant_nest_steps(struct nn_model *m)
{
    const struct nn_quant *q = &m->quant;
    if (q->n_prec < 2 || q->scheme == QUANT_SCHEME_INDEPENDENT)
        return;
    const float f = ldexpf(1.0f, q->wbits[0] - q->wbits[1]);
    for (int i = 0; i < m->n_layers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        for (size_t r = 0; r < nn_tensor_size(&l->wscale[0]); r++)
            l->wscale[1].data[r] = l->wscale[0].data[r] * f;
    }
}

void nn_quant_weight_ranges(struct nn_model *m, enum quant_range_method method, double pct)
{
    const struct nn_quant *q = &m->quant;
    for (int i = 0; i < m->n_layers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        int rows, cols;
        weight_dims(l, &rows, &cols);
        const int np = q->scheme == QUANT_SCHEME_INDEPENDENT ? q->n_prec : 1;
        for (int p = 0; p < np; p++) {
            const int qmax = quant_qmax_signed(q->wbits[p]);
            float *s = l->wscale[p].data;
            /* per tensor is one row of all the weights */
            const int nr = q->per_channel ? rows : 1, nc = q->per_channel ? cols : rows * cols;
            quant_range_rows(l->weight.data, nr, nc, method, q->wbits[p], pct, s);
            for (int r = 0; r < nr; r++)
                s[r] = quant_scale_from_range(s[r], qmax);
        }
    }
    nn_quant_nest_steps(m);
}

int nn_quant_calibrate(struct nn_model *m, const float *x, int n, enum quant_range_method method,
                       double pct, struct cim_err *err)
{
    const int qmax = quant_qmax_unsigned(m->quant.abits[0]);
    const int batch = 256;
    struct nn_ws *ws = nn_ws_alloc(m, batch, 0);
    float *vals[NN_MODEL_LAYERS_MAX] = {0};
    int rc = CIM_OK;
    if (ws == NULL) {
        rc = cim_err_set(err, CIM_ENOMEM, "out of memory for calibration");
        goto done;
    }
    for (int i = 1; i < m->n_layers; i++) {
        if (!has_weights(&m->layers[i]))
            continue;
        vals[i] = malloc((size_t)n * nn_shape_size(m->layers[i].in) * sizeof(float));
        if (vals[i] == NULL) {
            rc = cim_err_set(err, CIM_ENOMEM, "out of memory for calibration of %d images", n);
            goto done;
        }
    }
    const size_t in0 = nn_shape_size(m->input);
    float in_max = 0.0f;
    for (int first = 0; first < n; first += batch) {
        int b = n - first < batch ? n - first : batch;
        const float *logits;
        if ((rc = nn_forward(m, &nn_exec_fp32, ws, x + (size_t)first * in0, b, &logits)) !=
            CIM_OK)
            goto done;
        float mx = quant_range_maxabs(x + (size_t)first * in0, (size_t)b * in0);
        in_max = mx > in_max ? mx : in_max;
        for (int i = 1; i < m->n_layers; i++)
            if (vals[i] != NULL) {
                size_t per = nn_shape_size(m->layers[i].in);
                memcpy(vals[i] + (size_t)first * per, ws->act[i], (size_t)b * per * sizeof(float));
            }
    }
    m->layers[0].ascale = quant_scale_from_range(in_max, qmax);
    for (int i = 1; i < m->n_layers; i++) {
        if (vals[i] == NULL)
            continue;
        size_t cnt = (size_t)n * nn_shape_size(m->layers[i].in);
        float c = method == QUANT_RANGE_MSE ? quant_range_mse_acts(vals[i], cnt, m->quant.abits[0])
                  : method == QUANT_RANGE_PERCENTILE ? quant_range_percentile(vals[i], cnt, pct)
                                                     : quant_range_maxabs(vals[i], cnt);
        m->layers[i].ascale = quant_scale_from_range(c, qmax);
    }
done:
    for (int i = 0; i < NN_MODEL_LAYERS_MAX; i++)
        free(vals[i]);
    nn_ws_free(ws);
    return rc;
}

struct nn_qweights *nn_qweights_alloc(const struct nn_model *m, int with_pass)
{
    struct nn_qweights *qw = calloc(1, sizeof *qw);
    if (qw == NULL)
        return NULL;
    for (int i = 0; i < m->n_layers; i++) {
        size_t n = nn_tensor_size(&m->layers[i].weight);
        if (n == 0)
            continue;
        qw->w[i] = malloc(n * sizeof(float));
        qw->pass[i] = with_pass ? malloc(n) : NULL;
        if (qw->w[i] == NULL || (with_pass && qw->pass[i] == NULL)) {
            nn_qweights_free(qw);
            return NULL;
        }
    }
    return qw;
}

void nn_qweights_free(struct nn_qweights *qw)
{
    if (qw == NULL)
        return;
    for (int i = 0; i < NN_MODEL_LAYERS_MAX; i++) {
        free(qw->w[i]);
        free(qw->pass[i]);
    }
    free(qw);
}

void nn_quant_apply(const struct nn_model *m, int p, struct nn_qweights *qw, struct nn_ws *ws)
{
    const struct nn_quant *q = &m->quant;
    const int on = q->n_prec > 0 && p >= 0 && p < q->n_prec;
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        ws->weight_eff[i] = NULL;
        memset(&ws->aq[i], 0, sizeof ws->aq[i]);
        if (!on || !has_weights(l))
            continue;
        int rows, cols;
        weight_dims(l, &rows, &cols);
        const int pc = q->per_channel;
        const float *s_hi = l->wscale[0].data;
        if (p == 0 || q->scheme == QUANT_SCHEME_INDEPENDENT) {
            const float *s = l->wscale[p].data;
            if (pc)
                quant_weight_fake_rows(l->weight.data, rows, cols, s, q->wbits[p], qw->w[i],
                                       qw->pass[i]);
            else
                quant_weight_fake(l->weight.data, (size_t)rows * cols, s[0], q->wbits[p],
                                  qw->w[i], qw->pass[i]);
        } else if (pc) {
            quant_weight_fake_nested_rows(l->weight.data, rows, cols, s_hi, q->wbits[0],
                                          q->wbits[1], q->scheme, qw->w[i], qw->pass[i]);
        } else {
            quant_weight_fake_nested(l->weight.data, (size_t)rows * cols, s_hi[0], q->wbits[0],
                                     q->wbits[1], q->scheme, qw->w[i], qw->pass[i]);
        }
        ws->weight_eff[i] = qw->w[i];
        ws->aq[i].bits = q->abits[0];
        ws->aq[i].drop = p == 0 ? 0 : q->abits[0] - q->abits[p];
        ws->aq[i].scale = l->ascale;
    }
}

void nn_quant_label(const struct nn_model *m, int p, char *buf, size_t size)
{
    if (m->quant.n_prec == 0 || p < 0)
        snprintf(buf, size, "FP32");
    else
        snprintf(buf, size, "W%dA%d", m->quant.wbits[p], m->quant.abits[p]);
}
