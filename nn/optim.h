/*
 * optim.h: parameter updates from gradients: SGD with momentum, and Adam.
 *
 * An optimizer holds per-parameter state (SGD: one velocity; Adam: first and
 * second moments) for every weight and bias of one model. Weight decay is an L2
 * term added to the gradient of weights only (biases are not decayed), as in
 * PyTorch's SGD and Adam:
 *
 *   SGD:  g = dW + wd W;  v = mu v + g;  W -= lr v
 *   Adam: g = dW + wd W;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *         W -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)     (Kingma & Ba, 2015)
 *
 * The state can be read out and restored as one flat vector (checkpoints).
 */
#ifndef CIM_NN_OPTIM_H
#define CIM_NN_OPTIM_H

#include <stddef.h>

#include "nn/model.h"

enum nn_optim_kind { NN_OPTIM_SGD, NN_OPTIM_ADAM };

struct nn_optim_opts {
    enum nn_optim_kind kind;
    double momentum;     /* SGD: mu in [0, 1) */
    double weight_decay; /* L2 coefficient >= 0 */
    double beta1, beta2; /* Adam: in [0, 1); 0.9 and 0.999 are usual */
    double eps;          /* Adam: > 0; 1e-8 is usual */
};

struct nn_optim;

/* Optimizer state (zeroed) for the parameters of `m`; NULL when out of memory. */
struct nn_optim *nn_optim_alloc(const struct nn_model *m, const struct nn_optim_opts *o);

/* One update of every parameter of `m` with learning rate `lr` from the gradients
 * dweight[i], dbias[i] of layer i (NULL for layers without parameters). `t` is the
 * 1-based step count, used by Adam's bias correction. */
void nn_optim_step(struct nn_optim *opt, struct nn_model *m, float *const *dweight,
                   float *const *dbias, double lr, long t);

/* Length of the flat state vector, and copies out of and into it (set returns
 * CIM_EINVAL when n differs from the length). */
size_t nn_optim_state_len(const struct nn_optim *opt);
void nn_optim_state_get(const struct nn_optim *opt, float *dst);
int nn_optim_state_set(struct nn_optim *opt, const float *src, size_t n);

/* "sgd", "adam"; parse returns -1 for an unknown name. */
const char *nn_optim_name(enum nn_optim_kind k);
int nn_optim_parse(const char *name);

/* Free; accepts NULL. */
void nn_optim_free(struct nn_optim *opt);

#endif
