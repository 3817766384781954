/*
 * model.h: a feed-forward network as a list of layers.
 *
 * A model is the network's structure and parameters, nothing else: no activations,
 * gradients or optimizer state (those live in the workspaces of nn/forward.h and
 * the trainer of nn/train.h). Layers run in order; each has a type, an optional
 * fused activation, per-sample input and output shapes, and for dense and conv2d
 * layers a weight and a bias tensor:
 *
 *     dense   weight {out, in, 1, 1}        bias {out, 1, 1, 1}   (input flattened)
 *     conv2d  weight {oc, ic, k, k}         bias {oc, 1, 1, 1}
 *     maxpool no parameters
 *
 * Build one from a known architecture, or layer by layer:
 *
 *     struct nn_model *m = nn_model_build("lenet5", &err);
 *     nn_model_init_params(m, seed);
 *     ...
 *     nn_model_free(m);
 *
 *     struct nn_model *m = nn_model_alloc("custom", (struct nn_shape){1, 28, 28}, 10);
 *     nn_model_add_conv2d(m, 6, 5, 1, 2, NN_ACT_RELU, &err);
 *     nn_model_add_maxpool(m, 2, 2, &err);
 *     nn_model_add_dense(m, 10, NN_ACT_NONE, &err);
 *
 * The last layer's output is the logits; its width must equal num_classes.
 */
#ifndef CIM_NN_MODEL_H
#define CIM_NN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "nn/tensor.h"
#include "quant/quantizer.h"

#define NN_MODEL_LAYERS_MAX 32
#define NN_NAME_MAX 32
/* Largest tensor a layer may have, in elements (1 GiB of float32): a weight
 * tensor, or one sample's input or output. Far above any network cim trains,
 * and low enough that a model file claiming more is refused before anything
 * is allocated rather than after gigabytes are. */
#define NN_TENSOR_ELEMS_MAX ((size_t)1 << 28)
/* Largest number of parameters of a whole model, for the same reason. */
#define NN_MODEL_PARAMS_MAX ((size_t)1 << 28)

enum nn_layer_type { NN_LAYER_DENSE, NN_LAYER_CONV2D, NN_LAYER_MAXPOOL };
enum nn_act { NN_ACT_NONE, NN_ACT_RELU };

/* Per-sample shape: channels, height, width (a vector of F features is {F, 1, 1}). */
struct nn_shape {
    int c, h, w;
};

/* Precisions of a quantized model: index 0 is the high one (W8A8), 1 the low one
 * (W4A4), both from the same FP32 weights. */
#define NN_PREC_MAX 2

/* How a model is quantized (DESIGN.md, "Numbers and their meaning"). Weights are
 * signed symmetric codes, activations (the input of every dense and conv2d
 * layer, the network input included) unsigned codes. The low-precision weight
 * code derives from the high one by `scheme`; the low activation code is always
 * the top abits[1] bits of the high one (a bit-serial input that skips its low
 * cycles). */
struct nn_quant {
    int n_prec;               /* 0: an FP32 model (nothing below is used); 1 or 2 */
    enum quant_scheme scheme; /* nested (default), nested-round, independent */
    int wbits[NN_PREC_MAX];   /* weight bits per precision, high first */
    int abits[NN_PREC_MAX];   /* activation bits per precision */
    int per_channel;          /* weight scales per output channel, else per tensor */
    char wrange[16];          /* how weight ranges are found: max, percentile, mse, lsq */
    char arange[16];          /* how activation ranges are found: max, percentile, mse,
                                 ema, pact */
    double percentile;        /* for the percentile methods */
};

struct nn_layer {
    enum nn_layer_type type;
    enum nn_act act;         /* applied after the layer's own operation */
    int kernel, stride, pad; /* conv2d and maxpool; 0 for dense */
    struct nn_shape in, out;
    struct nn_tensor weight; /* empty for maxpool */
    struct nn_tensor bias;   /* empty for maxpool */
    /* quantized models only (dense and conv2d): the weight step of each precision,
     * {out, 1, 1, 1} per channel or {1, 1, 1, 1} per tensor (nested schemes: the
     * low step is the high one times 2^(wbits[0] - wbits[1])), and the step of
     * the input activation code at high precision (the low code's step is
     * ascale * 2^(abits[0] - abits[1])). */
    struct nn_tensor wscale[NN_PREC_MAX];
    float ascale;
};

/* How a model was trained, as stored in its file; every field may be unknown. */
struct nn_train_record {
    char command[1024];      /* the command line that trained it; "" unknown */
    char optimizer[16];      /* "sgd", "adam"; "" unknown */
    char created[32];        /* ISO 8601 UTC time of saving; "" unknown */
    int epochs;              /* epochs completed; 0 unknown */
    int batch;               /* mini-batch size; 0 unknown */
    double lr;               /* base learning rate; 0 unknown */
    uint64_t seed;           /* the training seed */
    double test_accuracy;    /* fraction in [0, 1] on the full test set; < 0 unknown */
    double train_loss;       /* mean training loss of the last epoch; < 0 unknown */
    double seconds;          /* wall time of training; < 0 unknown */
    char noise_aware[128];   /* noise-aware training's setting, as the program that
                                trained it spells it; "" none or unknown */
};

struct nn_model {
    char arch[NN_NAME_MAX];    /* "lenet5", "mlp", or a user's name */
    char dataset[NN_NAME_MAX]; /* "fashion-mnist", "mnist", or "" */
    struct nn_shape input;
    int num_classes;
    int n_layers;
    struct nn_layer layers[NN_MODEL_LAYERS_MAX];
    struct nn_train_record record;
    struct nn_quant quant;
};

/* A new model with no layers; NULL when out of memory, when a shape extent or
 * num_classes is < 1, or when the input has more than NN_TENSOR_ELEMS_MAX
 * values. Free with nn_model_free(). */
struct nn_model *nn_model_alloc(const char *arch, struct nn_shape input, int num_classes);

/* A new model of a known architecture for 1x28x28 inputs and 10 classes:
 *   "mlp":    dense 256 relu, dense 128 relu, dense 10
 *   "lenet5": conv 6@5x5 pad 2 relu, maxpool 2, conv 16@5x5 relu, maxpool 2,
 *             dense 120 relu, dense 84 relu, dense 10
 * Parameters are zero until nn_model_init_params(). NULL (and `err` set) for an
 * unknown name. */
struct nn_model *nn_model_build(const char *arch, struct cim_err *err);

/* Append a layer after the last one (whose output shape is this one's input).
 * Weights and bias are allocated and zeroed. Return CIM_OK, or CIM_EINVAL with a
 * message when a size is non-positive, the kernel does not fit its input, the
 * weight tensor or one sample's output would exceed NN_TENSOR_ELEMS_MAX or the
 * model's parameters NN_MODEL_PARAMS_MAX ("too large", checked before
 * allocating), or the model is full; CIM_ENOMEM when
 * allocation fails. */
int nn_model_add_dense(struct nn_model *m, int out, enum nn_act act, struct cim_err *err);
int nn_model_add_conv2d(struct nn_model *m, int out_c, int kernel, int stride, int pad,
                        enum nn_act act, struct cim_err *err);
int nn_model_add_maxpool(struct nn_model *m, int kernel, int stride, struct cim_err *err);

/* Check that the layers chain (each input is the previous output, parameter
 * tensors have the shapes their layer implies) and that the last output is
 * num_classes wide. CIM_OK or CIM_EFORMAT with a message naming the layer. */
int nn_model_validate(const struct nn_model *m, struct cim_err *err);

/* He-uniform weights, U(-sqrt(6/fan_in), +sqrt(6/fan_in)) (He et al., ICCV 2015),
 * and zero biases, drawn from the stream (seed, CIM_RNG_INIT, layer index). */
int nn_model_init_params(struct nn_model *m, uint64_t seed);

/* A deep copy (structure, parameters and record); NULL when out of memory. */
struct nn_model *nn_model_clone(const struct nn_model *m);

/* Total number of trainable parameters. */
size_t nn_model_param_count(const struct nn_model *m);

/* Multiply-accumulates of one forward pass on one sample. */
size_t nn_model_macs(const struct nn_model *m);

/* Per-sample element count of a shape. */
static inline size_t nn_shape_size(struct nn_shape s)
{
    return (size_t)s.c * (size_t)s.h * (size_t)s.w;
}

/* Whether a*b*c*d elements are at most NN_TENSOR_ELEMS_MAX (no overflow: each
 * factor is checked before it multiplies). */
static inline int nn_elems_ok(size_t a, size_t b, size_t c, size_t d)
{
    const size_t lim = NN_TENSOR_ELEMS_MAX;
    if (a > lim || b > lim || c > lim || d > lim)
        return 0;
    size_t n = a * b; /* both <= 2^28: fits */
    if (n > lim)
        return 0;
    n *= c;
    if (n > lim)
        return 0;
    n *= d;
    return n <= lim;
}

/* Layer type names as stored in files: "dense", "conv2d", "maxpool"; and back
 * (returns -1 for an unknown name). Same for activations: "none", "relu". */
const char *nn_layer_type_name(enum nn_layer_type t);
int nn_layer_type_parse(const char *name);
const char *nn_act_name(enum nn_act a);
int nn_act_parse(const char *name);

/* Free the model and its parameters; accepts NULL. */
void nn_model_free(struct nn_model *m);

#endif
