/* forward.c: workspaces and the forward/backward passes over a model's layers. */
#include "forward.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <cblas.h>
#include <omp.h>

#include "base/err.h"
#include "nn/layers.h"
#include "quant/quantizer.h"

/* ---- workspace ---------------------------------------------------------------- */

/* One buffer of n elements of `elem` bytes: its size is added to *bytes
 * (saturating at SIZE_MAX), and it is allocated, zeroed, when `alloc` is set;
 * without, a non-NULL pointer that only says "counted" (nn_ws_bytes). NULL on
 * overflow or when out of memory. */
static void *ws_buf(int alloc, size_t n, size_t elem, size_t *bytes)
{
    size_t size;
    if (n == 0 || cim_size_mul(n, elem, &size) != CIM_OK ||
        cim_size_add(*bytes, size, bytes) != CIM_OK) {
        *bytes = SIZE_MAX;
        return NULL;
    }
    return alloc ? calloc(n, elem) : (void *)bytes;
}

/* n = a * b, or SIZE_MAX when that overflows (ws_buf then refuses it). */
static size_t ws_mul(size_t a, size_t b)
{
    size_t n;
    return cim_size_mul(a, b, &n) == CIM_OK ? n : SIZE_MAX;
}

/* Lay out the workspace of `m` for `batch_max` samples: allocate its buffers
 * into `ws`, or with ws NULL only count their bytes. 0, or -1 (overflow or out
 * of memory: buffers allocated so far stay in ws for nn_ws_free). */
static int ws_layout(const struct nn_model *m, size_t b, int train, struct nn_ws *ws,
                     size_t *bytes)
{
#define BUF(field, n, elem)                                                              \
    (ws != NULL ? (ws->field = ws_buf(1, (n), (elem), bytes)) == NULL                    \
                : ws_buf(0, (n), (elem), bytes) == NULL)
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        size_t out = ws_mul(b, nn_shape_size(l->out));
        if (BUF(act[i + 1], out, sizeof(float)))
            return -1;
        if (train && BUF(dact[i + 1], out, sizeof(float)))
            return -1;
        if (l->type == NN_LAYER_CONV2D) {
            size_t p = ws_mul(b, ws_mul((size_t)l->out.h, (size_t)l->out.w));
            size_t kk = ws_mul((size_t)l->in.c, ws_mul((size_t)l->kernel, (size_t)l->kernel));
            size_t ncols = ws_mul(p, kk);
            if (BUF(cols[i], ncols, sizeof(float)) ||
                BUF(rows[i], ws_mul(p, (size_t)l->out.c), sizeof(float)))
                return -1;
            if (train && i > 0 && BUF(dcols[i], ncols, sizeof(float)))
                return -1;
        }
        if (l->type == NN_LAYER_MAXPOOL && train && BUF(argmax[i], out, sizeof(int32_t)))
            return -1;
        const size_t chunks = (b + NN_CHUNK - 1) / NN_CHUNK;
        if (l->weight.data != NULL) {
            size_t in = ws_mul(b, nn_shape_size(l->in));
            if (BUF(actq[i], in, sizeof(float)) || BUF(amax_part[i], chunks, sizeof(float)))
                return -1;
            if (train &&
                (BUF(apass[i], in, sizeof(uint8_t)) || BUF(dalpha_part[i], chunks, sizeof(double))))
                return -1;
        }
        if (train && l->weight.data != NULL) {
            size_t nw = nn_tensor_size(&l->weight), nb = nn_tensor_size(&l->bias);
            if (BUF(dweight[i], nw, sizeof(float)) || BUF(dbias[i], nb, sizeof(float)) ||
                BUF(dweight_part[i], ws_mul(chunks, nw), sizeof(float)) ||
                BUF(dbias_part[i], ws_mul(chunks, nb), sizeof(float)))
                return -1;
        }
    }
#undef BUF
    return 0;
}

size_t nn_ws_bytes(const struct nn_model *m, int batch_max, int train)
{
    size_t bytes = sizeof(struct nn_ws);
    if (batch_max < 1 || ws_layout(m, (size_t)batch_max, train != 0, NULL, &bytes) != 0)
        return SIZE_MAX;
    return bytes;
}

struct nn_ws *nn_ws_alloc(const struct nn_model *m, int batch_max, int train)
{
    if (batch_max < 1)
        return NULL;
    struct nn_ws *ws = calloc(1, sizeof *ws);
    if (ws == NULL)
        return NULL;
    ws->batch_max = batch_max;
    ws->train = train != 0;
    size_t bytes = 0;
    if (ws_layout(m, (size_t)batch_max, ws->train, ws, &bytes) != 0) {
        nn_ws_free(ws);
        return NULL;
    }
    return ws;
}

void nn_ws_free(struct nn_ws *ws)
{
    if (ws == NULL)
        return;
    for (int i = 0; i < NN_MODEL_LAYERS_MAX; i++) {
        free(ws->act[i + 1]);
        free(ws->dact[i + 1]);
        free(ws->argmax[i]);
        free(ws->cols[i]);
        free(ws->rows[i]);
        free(ws->dcols[i]);
        free(ws->dweight[i]);
        free(ws->dbias[i]);
        free(ws->dweight_part[i]);
        free(ws->dbias_part[i]);
        free(ws->actq[i]);
        free(ws->apass[i]);
        free(ws->amax_part[i]);
        free(ws->dalpha_part[i]);
    }
    free(ws);
}

/* ---- threads ------------------------------------------------------------------ */

static int threads_n; /* 0 until first use */

void nn_threads_set(int n)
{
    threads_n = n > 0 ? n : omp_get_max_threads();
    openblas_set_num_threads(1);
}

int nn_threads_get(void)
{
    if (threads_n == 0)
        nn_threads_set(0);
    return threads_n;
}

/* ---- passes ------------------------------------------------------------------- */

static const float *layer_weight(const struct nn_ws *ws, const struct nn_layer *l, int i)
{
    return ws->weight_eff[i] != NULL ? ws->weight_eff[i] : l->weight.data;
}

/* Offset of sample `first` in a buffer holding `per` floats per sample. */
#define AT(buf, first, per) ((buf) + (size_t)(first) * (per))

/* Fake-quantize the input x of layer i for chunk c into q (see struct nn_actq),
 * writing the straight-through mask when training and the chunk's largest x. */
static void quantize_input(struct nn_ws *ws, int i, int c, const float *x, float *q,
                           uint8_t *pass, size_t n)
{
    const struct nn_actq *a = &ws->aq[i];
    float mx = 0.0f;
    for (size_t k = 0; k < n; k++)
        mx = x[k] > mx ? x[k] : mx;
    ws->amax_part[i][c] = mx;
    const int lo = a->bits - a->drop;
    if (a->alpha > 0.0f) {
        if (a->drop > 0)
            quant_pact_fake_nested(x, n, a->alpha, a->bits, lo, q, pass);
        else
            quant_pact_fake(x, n, a->alpha, a->bits, q, pass);
    } else {
        if (a->drop > 0)
            quant_act_fake_nested(x, n, a->scale, a->bits, lo, q, pass);
        else
            quant_act_fake(x, n, a->scale, a->bits, q, pass);
    }
}

/* The backend of a pass with accumulator noise (nn/noise.h): the pass's own
 * backend, then the hook on its product, which needs to know the chunk (first
 * sample), the vectors per sample and the step of the input codes. */
struct noisy_exec {
    const struct nn_exec *inner;
    const struct nn_model *m;
    const struct nn_ws *ws;
    int first, per;
    float a_step;
};

static int noisy_matmul(void *ctx, int layer, enum nn_exec_layout layout, const float *x,
                        const float *w, float *y, int p, int o, int k)
{
    const struct noisy_exec *ne = ctx;
    int rc = ne->inner->matmul(ne->inner->ctx, layer, layout, x, w, y, p, o, k);
    if (rc != CIM_OK)
        return rc;
    const struct nn_ws *ws = ne->ws;
    return ws->noise->acc(ws->noise->ctx, ne->m, ws->noise_step, ws->noise_prec, layer, layout,
                          x, ne->a_step, y, p, o, k, ne->first, ne->per);
}

/* The real value of one input code of layer i in this pass (struct nn_actq). */
static float input_step(const struct nn_actq *a)
{
    const float s = a->alpha > 0.0f ? a->alpha / (float)quant_qmax_unsigned(a->bits) : a->scale;
    return ldexpf(s, a->drop);
}

/* Samples [first, first + b) (chunk c) through every layer. */
static int forward_chunk(const struct nn_model *m, const struct nn_exec *ex, struct nn_ws *ws,
                         int c, int first, int b)
{
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        const size_t in_per = nn_shape_size(l->in);
        const float *in = AT(ws->act[i], first, in_per);
        float *out = AT(ws->act[i + 1], first, nn_shape_size(l->out));
        if (ws->aq[i].bits > 0 && ws->actq[i] != NULL) {
            float *q = AT(ws->actq[i], first, in_per);
            quantize_input(ws, i, c, in, q,
                           ws->apass[i] ? ws->apass[i] + (size_t)first * in_per : NULL,
                           (size_t)b * in_per);
            in = q;
        }
        int rc = CIM_OK;
        const struct nn_exec *lex = ex;
        struct noisy_exec ne;
        struct nn_exec noisy;
        if (ws->noise != NULL && ws->noise->acc != NULL && l->weight.data != NULL &&
            ws->aq[i].bits > 0) {
            ne = (struct noisy_exec){ex, m, ws, first,
                                     l->type == NN_LAYER_CONV2D ? l->out.h * l->out.w : 1,
                                     input_step(&ws->aq[i])};
            noisy = (struct nn_exec){"noisy", noisy_matmul, &ne};
            lex = &noisy;
        }
        switch (l->type) {
        case NN_LAYER_DENSE:
            rc = nn_dense_forward(l, i, lex, layer_weight(ws, l, i), in, out, b);
            break;
        case NN_LAYER_CONV2D: {
            size_t hw = (size_t)l->out.h * l->out.w;
            size_t kk = (size_t)l->in.c * l->kernel * l->kernel;
            rc = nn_conv2d_forward(l, i, lex, layer_weight(ws, l, i), in, out,
                                   AT(ws->cols[i], first, hw * kk),
                                   AT(ws->rows[i], first, hw * l->out.c), b);
            break;
        }
        case NN_LAYER_MAXPOOL:
            nn_maxpool_forward(l, in, out,
                               ws->argmax[i] ? ws->argmax[i] + (size_t)first * nn_shape_size(l->out)
                                             : NULL,
                               b);
            break;
        }
        if (rc != CIM_OK)
            return rc;
    }
    return CIM_OK;
}

int nn_forward(const struct nn_model *m, const struct nn_exec *ex, struct nn_ws *ws,
               const float *x, int b, const float **logits)
{
    if (b < 1 || b > ws->batch_max)
        return CIM_EINVAL;
    ws->act[0] = (float *)x; /* borrowed; never written */
    const int chunks = (b + NN_CHUNK - 1) / NN_CHUNK;
    int rc = CIM_OK;
#pragma omp parallel for schedule(static) num_threads(nn_threads_get()) if (chunks > 1)
    for (int c = 0; c < chunks; c++) {
        int first = c * NN_CHUNK, n = b - first < NN_CHUNK ? b - first : NN_CHUNK;
        int crc = forward_chunk(m, ex, ws, c, first, n);
        if (crc != CIM_OK) {
#pragma omp critical(nn_forward_rc)
            rc = crc;
        }
    }
    for (int i = 0; i < m->n_layers; i++) {
        if (ws->aq[i].bits > 0 && ws->amax_part[i] != NULL) {
            float mx = 0.0f;
            for (int c = 0; c < chunks; c++)
                mx = ws->amax_part[i][c] > mx ? ws->amax_part[i][c] : mx;
            ws->amax[i] = mx;
        }
    }
    *logits = ws->act[m->n_layers];
    return rc;
}

/* Through the quantizer of layer i's input: PACT's clip gradient from the
 * gradient dx with respect to the quantized input, then the straight-through
 * mask (Bengio et al. 2013) turns dx into the gradient of the FP input x. */
static void input_quant_backward(struct nn_ws *ws, int i, int c, const float *x, float *dx,
                                 const uint8_t *pass, size_t n)
{
    const struct nn_actq *a = &ws->aq[i];
    double da = 0.0;
    if (a->alpha > 0.0f)
        da = a->drop > 0 ? quant_pact_grad_alpha_nested(x, dx, n, a->alpha, a->bits,
                                                        a->bits - a->drop)
                         : quant_pact_grad_alpha(x, dx, n, a->alpha);
    ws->dalpha_part[i][c] = da;
    for (size_t k = 0; k < n; k++)
        dx[k] = pass[k] ? dx[k] : 0.0f;
}

/* Backward through every layer for samples [first, first + b) (chunk c), leaving
 * that chunk's parameter gradients in the per-chunk buffers. */
static void backward_chunk(const struct nn_model *m, struct nn_ws *ws, int c, int first, int b)
{
    for (int i = m->n_layers - 1; i >= 0; i--) {
        const struct nn_layer *l = &m->layers[i];
        const size_t in_per = nn_shape_size(l->in), out_per = nn_shape_size(l->out);
        float *dy = AT(ws->dact[i + 1], first, out_per);
        float *dx = i > 0 ? AT(ws->dact[i], first, in_per) : NULL;
        const int quantized = ws->aq[i].bits > 0 && ws->actq[i] != NULL;
        const float *x = AT(quantized ? ws->actq[i] : ws->act[i], first, in_per);
        float *dw = l->weight.data ? AT(ws->dweight_part[i], c, nn_tensor_size(&l->weight)) : NULL;
        float *db = l->weight.data ? AT(ws->dbias_part[i], c, nn_tensor_size(&l->bias)) : NULL;
        if (l->act == NN_ACT_RELU)
            nn_relu_backward(AT(ws->act[i + 1], first, out_per), dy, (size_t)b * out_per);
        switch (l->type) {
        case NN_LAYER_DENSE:
            nn_dense_backward(l, layer_weight(ws, l, i), x, dy, dx, dw, db, b);
            break;
        case NN_LAYER_CONV2D: {
            size_t hw = (size_t)l->out.h * l->out.w;
            size_t kk = (size_t)l->in.c * l->kernel * l->kernel;
            nn_conv2d_backward(l, layer_weight(ws, l, i), AT(ws->cols[i], first, hw * kk), dy, dx,
                               dw, db, AT(ws->rows[i], first, hw * l->out.c),
                               dx ? AT(ws->dcols[i], first, hw * kk) : NULL, b);
            break;
        }
        case NN_LAYER_MAXPOOL:
            if (dx != NULL)
                nn_maxpool_backward(l, ws->argmax[i] + (size_t)first * out_per, dy, dx, b);
            break;
        }
        if (quantized && dx != NULL)
            input_quant_backward(ws, i, c, AT(ws->act[i], first, in_per), dx,
                                 ws->apass[i] + (size_t)first * in_per, (size_t)b * in_per);
    }
}

/* dst[k] = sum over chunks, in chunk order, of part[c * n + k]. */
static void reduce_chunks(float *dst, const float *part, size_t n, int chunks)
{
#pragma omp parallel for schedule(static) num_threads(nn_threads_get()) if (n > 4096)
    for (size_t k = 0; k < n; k++) {
        float sum = part[k];
        for (int c = 1; c < chunks; c++)
            sum += part[(size_t)c * n + k];
        dst[k] = sum;
    }
}

int nn_backward(const struct nn_model *m, struct nn_ws *ws, const float *dlogits, int b)
{
    if (!ws->train || b < 1 || b > ws->batch_max)
        return CIM_EINVAL;
    const int last = m->n_layers;
    const size_t nlog = (size_t)b * m->num_classes;
    for (size_t k = 0; k < nlog; k++)
        ws->dact[last][k] = dlogits[k];
    const int chunks = (b + NN_CHUNK - 1) / NN_CHUNK;
#pragma omp parallel for schedule(static) num_threads(nn_threads_get()) if (chunks > 1)
    for (int c = 0; c < chunks; c++) {
        int first = c * NN_CHUNK, n = b - first < NN_CHUNK ? b - first : NN_CHUNK;
        backward_chunk(m, ws, c, first, n);
    }
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (l->weight.data == NULL)
            continue;
        reduce_chunks(ws->dweight[i], ws->dweight_part[i], nn_tensor_size(&l->weight), chunks);
        reduce_chunks(ws->dbias[i], ws->dbias_part[i], nn_tensor_size(&l->bias), chunks);
        ws->dalpha[i] = 0.0;
        if (ws->aq[i].bits > 0 && i > 0)
            for (int c = 0; c < chunks; c++)
                ws->dalpha[i] += ws->dalpha_part[i][c];
    }
    return CIM_OK;
}

void nn_argmax_rows(const float *logits, int b, int classes, int *pred)
{
    for (int s = 0; s < b; s++) {
        const float *r = logits + (size_t)s * classes;
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (r[c] > r[best])
                best = c;
        pred[s] = best;
    }
}
