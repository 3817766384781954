/* optim.c: SGD with momentum and Adam over all parameters of a model; see optim.h. */
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

struct nn_optim {
    struct nn_optim_opts o;
    size_t len;  /* floats per state slot: the model's parameter count */
    int slots;   /* 1 (SGD) or 2 (Adam) */
    float *state; /* slots * len: slot 0 velocity / first moment, slot 1 second moment */
};

struct nn_optim *nn_optim_alloc(const struct nn_model *m, const struct nn_optim_opts *o)
{
    struct nn_optim *opt = calloc(1, sizeof *opt);
    if (opt == NULL)
        return NULL;
    opt->o = *o;
    opt->len = nn_model_param_count(m);
    opt->slots = o->kind == NN_OPTIM_ADAM ? 2 : 1;
    opt->state = calloc(opt->len * (size_t)opt->slots + 1, sizeof *opt->state);
    if (opt->state == NULL) {
        free(opt);
        return NULL;
    }
    return opt;
}

static void sgd_update(const struct nn_optim_opts *o, float *w, const float *g, float *v,
                       size_t n, double lr, double wd)
{
    const float mu = (float)o->momentum, lrf = (float)lr, wdf = (float)wd;
    for (size_t k = 0; k < n; k++) {
        float gk = g[k] + wdf * w[k];
        v[k] = mu * v[k] + gk;
        w[k] -= lrf * v[k];
    }
}

static void adam_update(const struct nn_optim_opts *o, float *w, const float *g, float *m1,
                        float *m2, size_t n, double lr, double wd, long t)
{
    /* 1 - beta in double, then rounded: 1.0f - (float)0.999 is 1.3e-5 of itself off */
    const float b1 = (float)o->beta1, b2 = (float)o->beta2, wdf = (float)wd;
    const float c_b1 = (float)(1.0 - o->beta1), c_b2 = (float)(1.0 - o->beta2);
    const double c1 = 1.0 - pow(o->beta1, (double)t), c2 = 1.0 - pow(o->beta2, (double)t);
    /* fold the bias corrections into one step size and one denominator scale */
    const float step = (float)(lr / c1), vscale = (float)(1.0 / sqrt(c2)), eps = (float)o->eps;
    for (size_t k = 0; k < n; k++) {
        float gk = g[k] + wdf * w[k];
        m1[k] = b1 * m1[k] + c_b1 * gk;
        m2[k] = b2 * m2[k] + c_b2 * gk * gk;
        w[k] -= step * m1[k] / (sqrtf(m2[k]) * vscale + eps);
    }
}

void nn_optim_step(struct nn_optim *opt, struct nn_model *m, float *const *dweight,
                   float *const *dbias, double lr, long t)
{
    size_t off = 0;
    for (int i = 0; i < m->n_layers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (l->weight.data == NULL)
            continue;
        struct nn_tensor *p[2] = {&l->weight, &l->bias};
        const float *g[2] = {dweight[i], dbias[i]};
        for (int j = 0; j < 2; j++) {
            size_t n = nn_tensor_size(p[j]);
            double wd = j == 0 ? opt->o.weight_decay : 0.0;
            float *s0 = opt->state + off;
            if (opt->o.kind == NN_OPTIM_ADAM)
                adam_update(&opt->o, p[j]->data, g[j], s0, s0 + opt->len, n, lr, wd, t);
            else
                sgd_update(&opt->o, p[j]->data, g[j], s0, n, lr, wd);
            off += n;
        }
    }
}

size_t nn_optim_state_len(const struct nn_optim *opt)
{
    return opt->len * (size_t)opt->slots;
}

void nn_optim_state_get(const struct nn_optim *opt, float *dst)
{
    memcpy(dst, opt->state, nn_optim_state_len(opt) * sizeof *dst);
}

int nn_optim_state_set(struct nn_optim *opt, const float *src, size_t n)
{
    if (n != nn_optim_state_len(opt))
        return CIM_EINVAL;
    memcpy(opt->state, src, n * sizeof *src);
    return CIM_OK;
}

const char *nn_optim_name(enum nn_optim_kind k)
{
    return k == NN_OPTIM_ADAM ? "adam" : "sgd";
}

int nn_optim_parse(const char *name)
{
    if (strcmp(name, "sgd") == 0)
        return NN_OPTIM_SGD;
    if (strcmp(name, "adam") == 0)
        return NN_OPTIM_ADAM;
    return -1;
}

void nn_optim_free(struct nn_optim *opt)
{
    if (opt == NULL)
        return;
    free(opt->state);
    free(opt);
}
