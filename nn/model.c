/* model.c: building, checking and initializing a network's layers; see model.h. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "base/rng.h"

/* ---- names ---------------------------------------------------------------- */

static const char *const layer_type_names[] = {"dense", "conv2d", "maxpool"};
static const char *const act_names[] = {"none", "relu"};

const char *nn_layer_type_name(enum nn_layer_type t)
{
    return (unsigned)t < 3 ? layer_type_names[t] : "unknown";
}

int nn_layer_type_parse(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, layer_type_names[i]) == 0)
            return i;
    return -1;
}

const char *nn_act_name(enum nn_act a)
{
    return (unsigned)a < 2 ? act_names[a] : "unknown";
}

int nn_act_parse(const char *name)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(name, act_names[i]) == 0)
            return i;
    return -1;
}

/* ---- construction ----------------------------------------------------------- */

struct nn_model *nn_model_alloc(const char *arch, struct nn_shape input, int num_classes)
{
    if (input.c < 1 || input.h < 1 || input.w < 1 || num_classes < 1 ||
        !nn_elems_ok((size_t)input.c, (size_t)input.h, (size_t)input.w, 1))
        return NULL;
    struct nn_model *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    snprintf(m->arch, sizeof m->arch, "%s", arch ? arch : "custom");
    m->input = input;
    m->num_classes = num_classes;
    m->record.test_accuracy = -1;
    m->record.train_loss = -1;
    m->record.seconds = -1;
    return m;
}

static struct nn_shape model_out_shape(const struct nn_model *m)
{
    return m->n_layers == 0 ? m->input : m->layers[m->n_layers - 1].out;
}

/* Reserve the next layer slot, or say why there is none. */
static struct nn_layer *model_next(struct nn_model *m, const char *what, struct cim_err *err)
{
    if (m->n_layers >= NN_MODEL_LAYERS_MAX) {
        cim_err_set(err, CIM_EINVAL, "%s layer %d: a model has at most %d layers", what,
                    m->n_layers, NN_MODEL_LAYERS_MAX);
        return NULL;
    }
    struct nn_layer *l = &m->layers[m->n_layers];
    memset(l, 0, sizeof *l);
    l->in = model_out_shape(m);
    return l;
}

/* Allocate the weight [out, c, k, k] and bias [out] of the layer being added
 * to m (sizes checked by the caller against NN_TENSOR_ELEMS_MAX), unless the
 * model would then hold more than NN_MODEL_PARAMS_MAX parameters. */
static int layer_alloc_params(const struct nn_model *m, struct nn_layer *l, int out, int c, int k,
                              struct cim_err *err)
{
    const size_t have = nn_model_param_count(m);
    const size_t add = (size_t)out * (size_t)c * (size_t)k * (size_t)k + (size_t)out;
    if (have > NN_MODEL_PARAMS_MAX || add > NN_MODEL_PARAMS_MAX - have)
        return cim_err_set(err, CIM_EINVAL, "%s layer %d: %zu more parameters after %zu: too "
                           "large (a model holds at most %zu)", nn_layer_type_name(l->type),
                           m->n_layers, add, have, NN_MODEL_PARAMS_MAX);
    if (nn_tensor_init(&l->weight, out, c, k, k) != CIM_OK ||
        nn_tensor_init(&l->bias, out, 1, 1, 1) != CIM_OK) {
        nn_tensor_release(&l->weight);
        nn_tensor_release(&l->bias);
        return cim_err_set(err, CIM_ENOMEM, "out of memory for the parameters of a %s layer",
                           nn_layer_type_name(l->type));
    }
    return CIM_OK;
}

int nn_model_add_dense(struct nn_model *m, int out, enum nn_act act, struct cim_err *err)
{
    struct nn_layer *l = model_next(m, "dense", err);
    if (l == NULL)
        return CIM_EINVAL;
    if (out < 1)
        return cim_err_set(err, CIM_EINVAL, "dense layer %d: %d units; expected at least 1",
                           m->n_layers, out);
    size_t in = nn_shape_size(l->in);
    if (in > NN_TENSOR_ELEMS_MAX)
        return cim_err_set(err, CIM_EINVAL, "dense layer %d: input of %zu features is too large",
                           m->n_layers, in);
    if (!nn_elems_ok((size_t)out, in, 1, 1))
        return cim_err_set(err, CIM_EINVAL, "dense layer %d: %d units x %zu inputs: weight too "
                           "large (at most %zu values)", m->n_layers, out, in,
                           NN_TENSOR_ELEMS_MAX);
    l->type = NN_LAYER_DENSE;
    l->act = act;
    l->out = (struct nn_shape){out, 1, 1};
    int rc = layer_alloc_params(m, l, out, (int)in, 1, err);
    if (rc != CIM_OK)
        return rc;
    m->n_layers++;
    return CIM_OK;
}

/* Output extent of a sliding window; 0 when the window does not fit. */
static int window_out(int in, int kernel, int stride, int pad)
{
    int span = in + 2 * pad - kernel;
    return span < 0 ? 0 : span / stride + 1;
}

int nn_model_add_conv2d(struct nn_model *m, int out_c, int kernel, int stride, int pad,
                        enum nn_act act, struct cim_err *err)
{
    struct nn_layer *l = model_next(m, "conv2d", err);
    if (l == NULL)
        return CIM_EINVAL;
    int li = m->n_layers;
    if (out_c < 1 || kernel < 1 || stride < 1 || pad < 0 || pad >= kernel)
        return cim_err_set(err, CIM_EINVAL,
                           "conv2d layer %d: channels %d, kernel %d, stride %d, padding %d; "
                           "expected channels, kernel, stride >= 1 and 0 <= padding < kernel",
                           li, out_c, kernel, stride, pad);
    int oh = window_out(l->in.h, kernel, stride, pad);
    int ow = window_out(l->in.w, kernel, stride, pad);
    if (oh < 1 || ow < 1)
        return cim_err_set(err, CIM_EINVAL,
                           "conv2d layer %d: a %dx%d kernel does not fit a %dx%d input", li,
                           kernel, kernel, l->in.h, l->in.w);
    if (!nn_elems_ok((size_t)out_c, (size_t)l->in.c, (size_t)kernel, (size_t)kernel) ||
        !nn_elems_ok((size_t)out_c, (size_t)oh, (size_t)ow, 1))
        return cim_err_set(err, CIM_EINVAL, "conv2d layer %d: %d channels of %dx%d from %d "
                           "input channels with a %dx%d kernel: too large (at most %zu values "
                           "per weight or output)", li, out_c, oh, ow, l->in.c, kernel, kernel,
                           NN_TENSOR_ELEMS_MAX);
    l->type = NN_LAYER_CONV2D;
    l->act = act;
    l->kernel = kernel;
    l->stride = stride;
    l->pad = pad;
    l->out = (struct nn_shape){out_c, oh, ow};
    int rc = layer_alloc_params(m, l, out_c, l->in.c, kernel, err);
    if (rc != CIM_OK)
        return rc;
    m->n_layers++;
    return CIM_OK;
}

int nn_model_add_maxpool(struct nn_model *m, int kernel, int stride, struct cim_err *err)
{
    struct nn_layer *l = model_next(m, "maxpool", err);
    if (l == NULL)
        return CIM_EINVAL;
    int li = m->n_layers;
    if (kernel < 1 || stride < 1)
        return cim_err_set(err, CIM_EINVAL,
                           "maxpool layer %d: kernel %d, stride %d; expected both >= 1", li,
                           kernel, stride);
    int oh = window_out(l->in.h, kernel, stride, 0);
    int ow = window_out(l->in.w, kernel, stride, 0);
    if (oh < 1 || ow < 1)
        return cim_err_set(err, CIM_EINVAL,
                           "maxpool layer %d: a %dx%d window does not fit a %dx%d input", li,
                           kernel, kernel, l->in.h, l->in.w);
    l->type = NN_LAYER_MAXPOOL;
    l->act = NN_ACT_NONE;
    l->kernel = kernel;
    l->stride = stride;
    l->out = (struct nn_shape){l->in.c, oh, ow};
    m->n_layers++;
    return CIM_OK;
}

struct nn_model *nn_model_build(const char *arch, struct cim_err *err)
{
    const struct nn_shape in28 = {1, 28, 28};
    struct nn_model *m = NULL;
    int rc = CIM_OK;
    if (arch != NULL && strcmp(arch, "mlp") == 0) {
        m = nn_model_alloc("mlp", in28, 10);
        if (m == NULL)
            goto oom;
        rc = nn_model_add_dense(m, 256, NN_ACT_RELU, err);
        if (!rc) rc = nn_model_add_dense(m, 128, NN_ACT_RELU, err);
        if (!rc) rc = nn_model_add_dense(m, 10, NN_ACT_NONE, err);
    } else if (arch != NULL && strcmp(arch, "lenet5") == 0) {
        m = nn_model_alloc("lenet5", in28, 10);
        if (m == NULL)
            goto oom;
        rc = nn_model_add_conv2d(m, 6, 5, 1, 2, NN_ACT_RELU, err);
        if (!rc) rc = nn_model_add_maxpool(m, 2, 2, err);
        if (!rc) rc = nn_model_add_conv2d(m, 16, 5, 1, 0, NN_ACT_RELU, err);
        if (!rc) rc = nn_model_add_maxpool(m, 2, 2, err);
        if (!rc) rc = nn_model_add_dense(m, 120, NN_ACT_RELU, err);
        if (!rc) rc = nn_model_add_dense(m, 84, NN_ACT_RELU, err);
        if (!rc) rc = nn_model_add_dense(m, 10, NN_ACT_NONE, err);
    } else {
        cim_err_set(err, CIM_EINVAL, "model '%s': unknown architecture; expected lenet5 or mlp",
                    arch ? arch : "");
        return NULL;
    }
    if (rc != CIM_OK) {
        nn_model_free(m);
        return NULL;
    }
    snprintf(m->dataset, sizeof m->dataset, "fashion-mnist");
    return m;
oom:
    cim_err_set(err, CIM_ENOMEM, "out of memory building model '%s'", arch);
    return NULL;
}

/* ---- checks and counts ------------------------------------------------------ */

static int tensor_is(const struct nn_tensor *t, int n, int c, int h, int w)
{
    return t->data != NULL && t->n == n && t->c == c && t->h == h && t->w == w;
}

int nn_model_validate(const struct nn_model *m, struct cim_err *err)
{
    if (m->n_layers < 1)
        return cim_err_set(err, CIM_EFORMAT, "model has no layers");
    struct nn_shape s = m->input;
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        const char *tn = nn_layer_type_name(l->type);
        if (l->in.c != s.c || l->in.h != s.h || l->in.w != s.w)
            return cim_err_set(err, CIM_EFORMAT,
                               "layer %03d_%s: input %dx%dx%d does not match the previous "
                               "output %dx%dx%d", i, tn, l->in.c, l->in.h, l->in.w, s.c, s.h, s.w);
        int ok = 1;
        switch (l->type) {
        case NN_LAYER_DENSE:
            ok = l->out.h == 1 && l->out.w == 1 && l->out.c >= 1 &&
                 tensor_is(&l->weight, l->out.c, (int)nn_shape_size(s), 1, 1) &&
                 tensor_is(&l->bias, l->out.c, 1, 1, 1);
            break;
        case NN_LAYER_CONV2D:
            ok = l->kernel >= 1 && l->stride >= 1 && l->pad >= 0 && l->pad < l->kernel &&
                 l->out.h == window_out(s.h, l->kernel, l->stride, l->pad) &&
                 l->out.w == window_out(s.w, l->kernel, l->stride, l->pad) && l->out.h >= 1 &&
                 l->out.w >= 1 &&
                 tensor_is(&l->weight, l->out.c, s.c, l->kernel, l->kernel) &&
                 tensor_is(&l->bias, l->out.c, 1, 1, 1);
            break;
        case NN_LAYER_MAXPOOL:
            ok = l->kernel >= 1 && l->stride >= 1 && l->out.c == s.c &&
                 l->out.h == window_out(s.h, l->kernel, l->stride, 0) &&
                 l->out.w == window_out(s.w, l->kernel, l->stride, 0) && l->out.h >= 1 &&
                 l->out.w >= 1 && l->weight.data == NULL && l->bias.data == NULL;
            break;
        default:
            return cim_err_set(err, CIM_EFORMAT, "layer %03d: unknown type %d", i, (int)l->type);
        }
        if (!ok)
            return cim_err_set(err, CIM_EFORMAT,
                               "layer %03d_%s: shapes of output, weight or bias do not follow "
                               "from its input and hyper-parameters", i, tn);
        s = l->out;
    }
    if (nn_shape_size(s) != (size_t)m->num_classes)
        return cim_err_set(err, CIM_EFORMAT, "last layer gives %zu outputs; expected %d classes",
                           nn_shape_size(s), m->num_classes);
    return CIM_OK;
}

size_t nn_model_param_count(const struct nn_model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->n_layers; i++)
        n += nn_tensor_size(&m->layers[i].weight) + nn_tensor_size(&m->layers[i].bias);
    return n;
}

size_t nn_model_macs(const struct nn_model *m)
{
    size_t macs = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (l->type == NN_LAYER_DENSE)
            macs += nn_tensor_size(&l->weight);
        else if (l->type == NN_LAYER_CONV2D)
            macs += nn_tensor_size(&l->weight) * (size_t)l->out.h * (size_t)l->out.w;
    }
    return macs;
}

/* ---- parameters ------------------------------------------------------------- */

int nn_model_init_params(struct nn_model *m, uint64_t seed)
{
    gsl_rng *r = cim_rng_alloc(seed, 0);
    if (r == NULL)
        return CIM_ENOMEM;
    for (int i = 0; i < m->n_layers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (l->weight.data == NULL)
            continue;
        cim_rng_reseed(r, seed, cim_rng_stream(CIM_RNG_INIT, (uint64_t)i));
        size_t fan_in = (size_t)l->weight.c * (size_t)l->weight.h * (size_t)l->weight.w;
        double bound = sqrt(6.0 / (double)fan_in);
        size_t n = nn_tensor_size(&l->weight);
        for (size_t k = 0; k < n; k++)
            l->weight.data[k] = (float)((2.0 * gsl_rng_uniform(r) - 1.0) * bound);
        memset(l->bias.data, 0, nn_tensor_size(&l->bias) * sizeof(float));
    }
    gsl_rng_free(r);
    return CIM_OK;
}

static int tensor_copy(struct nn_tensor *dst, const struct nn_tensor *src)
{
    if (src->data == NULL)
        return CIM_OK;
    if (nn_tensor_init(dst, src->n, src->c, src->h, src->w) != CIM_OK)
        return CIM_ENOMEM;
    memcpy(dst->data, src->data, nn_tensor_size(src) * sizeof(float));
    return CIM_OK;
}

struct nn_model *nn_model_clone(const struct nn_model *m)
{
    struct nn_model *c = malloc(sizeof *c);
    if (c == NULL)
        return NULL;
    *c = *m;
    for (int i = 0; i < m->n_layers; i++) {
        c->layers[i].weight.data = NULL;
        c->layers[i].bias.data = NULL;
        for (int p = 0; p < NN_PREC_MAX; p++)
            c->layers[i].wscale[p].data = NULL;
    }
    for (int i = 0; i < m->n_layers; i++) {
        int rc = tensor_copy(&c->layers[i].weight, &m->layers[i].weight) |
                 tensor_copy(&c->layers[i].bias, &m->layers[i].bias);
        for (int p = 0; p < NN_PREC_MAX; p++)
            rc |= tensor_copy(&c->layers[i].wscale[p], &m->layers[i].wscale[p]);
        if (rc != CIM_OK) {
            nn_model_free(c);
            return NULL;
        }
    }
    return c;
}

void nn_model_free(struct nn_model *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < m->n_layers; i++) {
        nn_tensor_release(&m->layers[i].weight);
        nn_tensor_release(&m->layers[i].bias);
        for (int p = 0; p < NN_PREC_MAX; p++)
            nn_tensor_release(&m->layers[i].wscale[p]);
    }
    free(m);
}
