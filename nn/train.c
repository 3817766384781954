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

struct nn_trainer {
    struct nn_model *m;
    struct nn_train_opts o;
    struct nn_ws *ws;
    struct nn_optim *opt;
    float *dlogits;
    int epoch; /* epochs completed */
    long step; /* steps taken since the start of training */
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

size_t nn_trainer_state_len(const struct nn_trainer *t)
{
    return nn_optim_state_len(t->opt);
}

void nn_trainer_state_get(const struct nn_trainer *t, float *dst)
{
    nn_optim_state_get(t->opt, dst);
}

int nn_trainer_state_set(struct nn_trainer *t, int epoch, const float *src, size_t n)
{
    if (epoch < 0 || nn_optim_state_set(t->opt, src, n) != CIM_OK)
        return CIM_EINVAL;
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
    free(t);
}
