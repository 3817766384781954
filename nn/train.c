/* train.c: the caller-driven training loop's steps; see train.h. */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "base/rng.h"
#include "nn/exec.h"
#include "nn/forward.h"
#include "nn/loss.h"
#include "nn/quantize.h"

struct nn_trainer {
    struct nn_model *m;
    struct nn_train_opts o;
    struct nn_ws *ws;
    struct nn_optim *opt;
    float *dlogits;
    int epoch; /* epochs completed */
    long step; /* steps taken since the start of training */
    /* QAT: fake-quantized weights, gradients summed over precisions, and the
     * quantization parameters that evolve (LSQ log-steps, PACT clips, moving
     * averages) with the Adam moments of the learned ones */
    struct nn_qweights *qw;
    float *gw[NN_MODEL_LAYERS_MAX], *gb[NN_MODEL_LAYERS_MAX];
    int wofs[NN_MODEL_LAYERS_MAX]; /* first log-step of layer i in qv, or -1 */
    int aofs[NN_MODEL_LAYERS_MAX]; /* its clip or moving average in qv, or -1 */
    size_t nq;
    float *qv, *qm1, *qm2;
    double *qg;
    double *lsq_grad; /* scratch: one value per output of the widest layer */
    float *teacher;   /* distillation: the high precision's logits of the batch */
};

static int train_opts_check(const struct nn_train_opts *o, struct cim_err *err)
{
    if (o->epochs < 1)
        return cim_err_set(err, CIM_EINVAL, "--epochs %d: expected at least 1", o->epochs);
    if (o->batch < 1 || o->batch > 65536)
        return cim_err_set(err, CIM_EINVAL, "--batch %d: expected 1 to 65536", o->batch);
    if (o->n_train < 1)
        return cim_err_set(err, CIM_EINVAL, "training set is empty");
    if (!(o->lr > 0.0) || !isfinite(o->lr))
        return cim_err_set(err, CIM_EINVAL, "--lr %g: expected a positive number", o->lr);
    if (!(o->optim.weight_decay >= 0.0) || !isfinite(o->optim.weight_decay))
        return cim_err_set(err, CIM_EINVAL, "--weight-decay %g: expected a number >= 0",
                           o->optim.weight_decay);
    if (!(o->optim.momentum >= 0.0 && o->optim.momentum < 1.0))
        return cim_err_set(err, CIM_EINVAL, "--momentum %g: expected 0 <= momentum < 1",
                           o->optim.momentum);
    if (o->optim.kind == NN_OPTIM_ADAM &&
        (!(o->optim.beta1 >= 0.0 && o->optim.beta1 < 1.0) ||
         !(o->optim.beta2 >= 0.0 && o->optim.beta2 < 1.0) || !(o->optim.eps > 0.0)))
        return cim_err_set(err, CIM_EINVAL, "Adam: expected betas in [0, 1) and eps > 0");
    if (o->schedule == NN_LR_STEP &&
        (o->step_epochs < 1 || !(o->step_gamma > 0.0 && o->step_gamma <= 1.0)))
        return cim_err_set(err, CIM_EINVAL,
                           "--step-epochs %d, --step-gamma %g: expected epochs >= 1 and "
                           "0 < gamma <= 1", o->step_epochs, o->step_gamma);
    return CIM_OK;
}

/* ---- quantization-aware training ------------------------------------------------ */

/* Rows of layer i's step vector: outputs (per channel) or 1. */
static int step_rows(const struct nn_layer *l)
{
    return (int)nn_tensor_size(&l->wscale[0]);
}

/* Learned weight-step sets per layer: one (shared by nested precisions) or one
 * per precision (independent). */
static int step_sets(const struct nn_model *m)
{
    return m->quant.scheme == QUANT_SCHEME_INDEPENDENT ? m->quant.n_prec : 1;
}

/* Copy the evolving quantization parameters into the model's steps. */
static void qat_to_model(struct nn_trainer *t)
{
    struct nn_model *m = t->m;
    const int qu = quant_qmax_unsigned(m->quant.abits[0]);
    for (int i = 0; i < m->n_layers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (t->wofs[i] >= 0)
            for (int p = 0; p < step_sets(m); p++)
                for (int r = 0; r < step_rows(l); r++)
                    l->wscale[p].data[r] = expf(t->qv[t->wofs[i] + p * step_rows(l) + r]);
        if (t->aofs[i] >= 0)
            l->ascale = quant_scale_from_range(t->qv[t->aofs[i]], qu);
    }
    nn_quant_nest_steps(m);
}

static int qat_alloc(struct nn_trainer *t)
{
    struct nn_model *m = t->m;
    const struct nn_qat_opts *qo = &t->o.qat;
    if (m->quant.n_prec < 1)
        return CIM_EINVAL;
    t->qw = nn_qweights_alloc(m, 1);
    if (t->qw == NULL)
        return CIM_ENOMEM;
    size_t nq = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        t->wofs[i] = t->aofs[i] = -1;
        if (l->weight.data == NULL)
            continue;
        t->gw[i] = malloc(nn_tensor_size(&l->weight) * sizeof(float));
        t->gb[i] = malloc(nn_tensor_size(&l->bias) * sizeof(float));
        if (t->gw[i] == NULL || t->gb[i] == NULL)
            return CIM_ENOMEM;
        if (qo->lsq) {
            t->wofs[i] = (int)nq;
            nq += (size_t)step_rows(l) * step_sets(m);
        }
        if (i > 0 && qo->acts != NN_QAT_A_FIXED)
            t->aofs[i] = (int)nq++;
    }
    t->nq = nq;
    int rows_max = 1;
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].weight.data != NULL && m->layers[i].weight.n > rows_max)
            rows_max = m->layers[i].weight.n;
    t->lsq_grad = calloc((size_t)rows_max, sizeof *t->lsq_grad);
    t->teacher = calloc((size_t)t->o.batch * m->num_classes, sizeof *t->teacher);
    t->qv = calloc(nq + 1, sizeof *t->qv);
    t->qm1 = calloc(nq + 1, sizeof *t->qm1);
    t->qm2 = calloc(nq + 1, sizeof *t->qm2);
    t->qg = calloc(nq + 1, sizeof *t->qg);
    if (t->qv == NULL || t->qm1 == NULL || t->qm2 == NULL || t->qg == NULL ||
        t->lsq_grad == NULL || t->teacher == NULL)
        return CIM_ENOMEM;
    const int qu = quant_qmax_unsigned(m->quant.abits[0]);
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (t->wofs[i] >= 0)
            for (int p = 0; p < step_sets(m); p++)
                for (int r = 0; r < step_rows(l); r++)
                    t->qv[t->wofs[i] + p * step_rows(l) + r] = logf(l->wscale[p].data[r]);
        if (t->aofs[i] >= 0)
            t->qv[t->aofs[i]] = l->ascale * (float)qu;
    }
    return CIM_OK;
}

static void qat_free(struct nn_trainer *t)
{
    nn_qweights_free(t->qw);
    for (int i = 0; i < NN_MODEL_LAYERS_MAX; i++) {
        free(t->gw[i]);
        free(t->gb[i]);
    }
    free(t->qv);
    free(t->qm1);
    free(t->qm2);
    free(t->qg);
    free(t->lsq_grad);
    free(t->teacher);
}

/* Add precision p's gradients: weights through their straight-through masks,
 * LSQ step gradients (times s, for log s), PACT clip gradients. */
static void qat_accumulate(struct nn_trainer *t, int p)
{
    const struct nn_model *m = t->m;
    const struct nn_quant *q = &m->quant;
    const struct nn_ws *ws = t->ws;
    double *grad = t->lsq_grad;
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (l->weight.data == NULL)
            continue;
        const size_t n = nn_tensor_size(&l->weight), nb = nn_tensor_size(&l->bias);
        const float *dw = ws->dweight[i];
        const uint8_t *pass = t->qw->pass[i];
        for (size_t k = 0; k < n; k++)
            t->gw[i][k] = (p == 0 ? 0.0f : t->gw[i][k]) + (pass[k] ? dw[k] : 0.0f);
        for (size_t k = 0; k < nb; k++)
            t->gb[i][k] = (p == 0 ? 0.0f : t->gb[i][k]) + ws->dbias[i][k];
        if (t->wofs[i] >= 0) {
            const int rows = step_rows(l), cols = (int)(n / (size_t)l->weight.n);
            const int nested = p > 0 && q->scheme != QUANT_SCHEME_INDEPENDENT;
            const int set = nested ? 0 : p;
            const float *s = l->wscale[set].data;
            const int per_row = rows > 1;
            const int r_n = per_row ? rows : 1, c_n = per_row ? cols : (int)n;
            if (nested)
                quant_lsq_grad_scale_nested_rows(l->weight.data, dw, r_n, c_n, s, q->wbits[0],
                                                 q->wbits[p], q->scheme, grad);
            else
                quant_lsq_grad_scale_rows(l->weight.data, dw, r_n, c_n, s, q->wbits[p], grad);
            for (int r = 0; r < rows; r++)
                t->qg[t->wofs[i] + set * rows + r] += (double)s[r] * grad[r];
        }
        if (t->aofs[i] >= 0 && t->o.qat.acts == NN_QAT_A_PACT)
            t->qg[t->aofs[i]] += ws->dalpha[i];
    }
}

/* Adam on the learned quantization parameters (log-steps, clips). */
static void qat_update(struct nn_trainer *t, double lr)
{
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const double c1 = 1.0 - pow(b1, (double)t->step), c2 = 1.0 - pow(b2, (double)t->step);
    for (int i = 0; i < t->m->n_layers; i++) {
        int lo = t->wofs[i] >= 0 ? t->wofs[i] : t->aofs[i];
        if (lo < 0)
            continue;
        int hi = t->aofs[i] >= 0 ? t->aofs[i] + 1
                                 : t->wofs[i] + step_rows(&t->m->layers[i]) * step_sets(t->m);
        if (t->o.qat.acts == NN_QAT_A_EMA && t->aofs[i] >= 0)
            hi = t->aofs[i]; /* the moving average is not learned */
        for (int k = lo; k < hi; k++) {
            const double g = t->qg[k], old = (double)t->qv[k];
            t->qm1[k] = (float)(b1 * (double)t->qm1[k] + (1.0 - b1) * g);
            t->qm2[k] = (float)(b2 * (double)t->qm2[k] + (1.0 - b2) * g * g);
            double v = old - lr * ((double)t->qm1[k] / c1) / (sqrt((double)t->qm2[k] / c2) + eps);
            /* a clip must stay positive: keep 1% of it at least */
            if (t->aofs[i] == k && v < 0.01 * old)
                v = 0.01 * old;
            t->qv[k] = (float)v;
        }
    }
}

/* Distillation from the high precision to the low one (Hinton et al., 2015, at
 * temperature 1): add w * d/dz of the cross-entropy between softmax(teacher), held
 * constant, and softmax(z), i.e. w (softmax(z) - softmax(teacher)) / b. */
static void distill_add(const float *teacher, const float *z, int b, int classes, double w,
                        float *dz)
{
    for (int s = 0; s < b; s++) {
        const float *zt = teacher + (size_t)s * classes, *zs = z + (size_t)s * classes;
        double mt = zt[0], ms = zs[0], st = 0.0, ss = 0.0;
        for (int c = 1; c < classes; c++) {
            mt = (double)zt[c] > mt ? (double)zt[c] : mt;
            ms = (double)zs[c] > ms ? (double)zs[c] : ms;
        }
        for (int c = 0; c < classes; c++) {
            st += exp((double)zt[c] - mt);
            ss += exp((double)zs[c] - ms);
        }
        for (int c = 0; c < classes; c++) {
            double pt = exp((double)zt[c] - mt) / st, ps = exp((double)zs[c] - ms) / ss;
            dz[(size_t)s * classes + c] += (float)(w * (ps - pt) / b);
        }
    }
}

/* Noise-aware training: the hook perturbs pass (step, p)'s weights, and its
 * products through the workspace. */
static int noise_begin(struct nn_trainer *t, int p)
{
    const struct nn_noise_hook *h = t->o.qat.noise;
    t->ws->noise = h;
    t->ws->noise_step = t->step;
    t->ws->noise_prec = p;
    if (h == NULL || h->weights == NULL)
        return CIM_OK;
    for (int i = 0; i < t->m->n_layers; i++) {
        if (t->m->layers[i].weight.data == NULL)
            continue;
        int rc = h->weights(h->ctx, t->m, t->step, p, i, t->qw->w[i]);
        if (rc != CIM_OK)
            return rc;
    }
    return CIM_OK;
}

static int trainer_step_qat(struct nn_trainer *t, const float *x, const uint8_t *y, int b,
                            double *loss)
{
    struct nn_model *m = t->m;
    const struct nn_qat_opts *qo = &t->o.qat;
    if (!qo->lsq)
        nn_quant_weight_ranges(m, qo->wmethod, qo->pct);
    memset(t->qg, 0, t->nq * sizeof *t->qg);
    double total = 0.0;
    for (int p = 0; p < m->quant.n_prec; p++) {
        nn_quant_apply(m, p, t->qw, t->ws);
        if (qo->acts == NN_QAT_A_PACT)
            for (int i = 0; i < m->n_layers; i++)
                if (t->aofs[i] >= 0)
                    t->ws->aq[i].alpha = t->qv[t->aofs[i]];
        int rc = noise_begin(t, p);
        const float *logits;
        if (rc == CIM_OK)
            rc = nn_forward(m, &nn_exec_fp32, t->ws, x, b, &logits);
        if (rc != CIM_OK) {
            t->ws->noise = NULL;
            return rc;
        }
        total += nn_softmax_xent(logits, y, b, m->num_classes, t->dlogits);
        if (qo->distill > 0.0 && p == 0)
            memcpy(t->teacher, logits, (size_t)b * m->num_classes * sizeof *t->teacher);
        if (qo->distill > 0.0 && p > 0)
            distill_add(t->teacher, logits, b, m->num_classes, qo->distill, t->dlogits);
        if ((rc = nn_backward(m, t->ws, t->dlogits, b)) != CIM_OK)
            return rc;
        qat_accumulate(t, p);
        if (p == 0 && qo->acts == NN_QAT_A_EMA)
            for (int i = 0; i < m->n_layers; i++)
                if (t->aofs[i] >= 0)
                    t->qv[t->aofs[i]] =
                        (float)(qo->ema_momentum * (double)t->qv[t->aofs[i]] +
                                (1.0 - qo->ema_momentum) * (double)t->ws->amax[i]);
    }
    nn_quant_apply(m, -1, t->qw, t->ws);
    t->ws->noise = NULL;
    if (loss != NULL)
        *loss = total / m->quant.n_prec;
    double lr = nn_trainer_lr(t);
    t->step++;
    nn_optim_step(t->opt, m, t->gw, t->gb, lr, t->step);
    qat_update(t, qo->qlr * lr / t->o.lr);
    qat_to_model(t);
    return CIM_OK;
}

struct nn_trainer *nn_trainer_alloc(struct nn_model *m, const struct nn_train_opts *o,
                                    struct cim_err *err)
{
    if (train_opts_check(o, err) != CIM_OK)
        return NULL;
    struct nn_trainer *t = calloc(1, sizeof *t);
    if (t == NULL)
        goto oom;
    t->m = m;
    t->o = *o;
    t->ws = nn_ws_alloc(m, o->batch, 1);
    t->opt = nn_optim_alloc(m, &o->optim);
    t->dlogits = calloc((size_t)o->batch * m->num_classes, sizeof *t->dlogits);
    if (t->ws == NULL || t->opt == NULL || t->dlogits == NULL)
        goto oom;
    if (o->qat.on && qat_alloc(t) != CIM_OK)
        goto oom;
    return t;
oom:
    nn_trainer_free(t);
    cim_err_set(err, CIM_ENOMEM, "out of memory for training at batch %d", o->batch);
    return NULL;
}

void nn_trainer_shuffle(const struct nn_trainer *t, int epoch, int *order)
{
    for (int k = 0; k < t->o.n_train; k++)
        order[k] = k;
    gsl_rng *r = cim_rng_alloc(t->o.seed, cim_rng_stream(CIM_RNG_SHUFFLE, (uint64_t)epoch));
    if (r != NULL) {
        gsl_ran_shuffle(r, order, (size_t)t->o.n_train, sizeof *order);
        gsl_rng_free(r);
    }
}

int nn_trainer_steps_per_epoch(const struct nn_trainer *t)
{
    return (t->o.n_train + t->o.batch - 1) / t->o.batch;
}

double nn_trainer_lr(const struct nn_trainer *t)
{
    const struct nn_train_opts *o = &t->o;
    switch (o->schedule) {
    case NN_LR_COSINE: {
        double total = (double)o->epochs * nn_trainer_steps_per_epoch(t);
        double frac = fmin((double)t->step / total, 1.0);
        return o->lr * 0.5 * (1.0 + cos(3.14159265358979323846 * frac));
    }
    case NN_LR_STEP: {
        int epoch = (int)(t->step / nn_trainer_steps_per_epoch(t));
        return o->lr * pow(o->step_gamma, (double)(epoch / o->step_epochs));
    }
    case NN_LR_CONSTANT:
    default:
        return o->lr;
    }
}

int nn_trainer_step(struct nn_trainer *t, const float *x, const uint8_t *y, int b, double *loss)
{
    const struct nn_model *m = t->m;
    if (b < 1 || b > t->o.batch)
        return CIM_EINVAL;
    for (int s = 0; s < b; s++)
        if (y[s] >= m->num_classes)
            return CIM_EINVAL;
    if (t->o.qat.on)
        return trainer_step_qat(t, x, y, b, loss);
    const float *logits;
    int rc = nn_forward(m, &nn_exec_fp32, t->ws, x, b, &logits);
    if (rc != CIM_OK)
        return rc;
    double l = nn_softmax_xent(logits, y, b, m->num_classes, t->dlogits);
    if (loss != NULL)
        *loss = l;
    rc = nn_backward(m, t->ws, t->dlogits, b);
    if (rc != CIM_OK)
        return rc;
    double lr = nn_trainer_lr(t);
    t->step++;
    nn_optim_step(t->opt, t->m, t->ws->dweight, t->ws->dbias, lr, t->step);
    return CIM_OK;
}

int nn_trainer_epoch(const struct nn_trainer *t)
{
    return t->epoch;
}

void nn_trainer_end_epoch(struct nn_trainer *t)
{
    t->epoch++;
    t->step = (long)t->epoch * nn_trainer_steps_per_epoch(t);
}

/* The state vector: the optimizer's, then (QAT) the quantization parameters and
 * their two Adam moments. */
size_t nn_trainer_state_len(const struct nn_trainer *t)
{
    return nn_optim_state_len(t->opt) + 3 * t->nq;
}

void nn_trainer_state_get(const struct nn_trainer *t, float *dst)
{
    size_t no = nn_optim_state_len(t->opt);
    nn_optim_state_get(t->opt, dst);
    if (t->nq > 0) {
        memcpy(dst + no, t->qv, t->nq * sizeof *dst);
        memcpy(dst + no + t->nq, t->qm1, t->nq * sizeof *dst);
        memcpy(dst + no + 2 * t->nq, t->qm2, t->nq * sizeof *dst);
    }
}

int nn_trainer_state_set(struct nn_trainer *t, int epoch, const float *src, size_t n)
{
    size_t no = nn_optim_state_len(t->opt);
    if (epoch < 0 || n != nn_trainer_state_len(t) || nn_optim_state_set(t->opt, src, no) != CIM_OK)
        return CIM_EINVAL;
    if (t->nq > 0) {
        memcpy(t->qv, src + no, t->nq * sizeof *src);
        memcpy(t->qm1, src + no + t->nq, t->nq * sizeof *src);
        memcpy(t->qm2, src + no + 2 * t->nq, t->nq * sizeof *src);
        qat_to_model(t);
    }
    t->epoch = epoch;
    t->step = (long)epoch * nn_trainer_steps_per_epoch(t);
    return CIM_OK;
}

static const char *const schedule_names[] = {"constant", "cosine", "step"};

const char *nn_lr_schedule_name(enum nn_lr_schedule s)
{
    return (unsigned)s < 3 ? schedule_names[s] : "unknown";
}

int nn_lr_schedule_parse(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, schedule_names[i]) == 0)
            return i;
    return -1;
}

void nn_trainer_free(struct nn_trainer *t)
{
    if (t == NULL)
        return;
    nn_ws_free(t->ws);
    nn_optim_free(t->opt);
    free(t->dlogits);
    qat_free(t);
    free(t);
}
