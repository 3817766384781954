/*
 * train.h: mini-batch training, one step at a time, driven by the caller.
 *
 * The trainer owns a training workspace and the optimizer state of one model,
 * which it updates in place. The caller feeds the batches, so that it decides
 * where data comes from, when to evaluate, log or checkpoint:
 *
 *     struct nn_trainer *t = nn_trainer_alloc(m, &opts, &err);
 *     for (int e = nn_trainer_epoch(t); e < opts.epochs; e++) {
 *         nn_trainer_shuffle(t, e, order);                order of opts.n_train
 *         for (int s = 0; s < opts.n_train; s += opts.batch) {
 *             ... gather x, y for order[s .. s+b) ...
 *             nn_trainer_step(t, x, y, b, &loss);
 *         }
 *         nn_trainer_end_epoch(t);
 *     }
 *     nn_trainer_free(t);
 *
 * Every random choice (the order of each epoch) derives from (seed, epoch), and
 * the learning rate from the step count, so a run resumed from a checkpoint at
 * an epoch boundary continues exactly as the uninterrupted run would.
 */
#ifndef CIM_NN_TRAIN_H
#define CIM_NN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "nn/model.h"
#include "nn/noise.h"
#include "nn/optim.h"
#include "quant/range.h"

enum nn_lr_schedule {
    NN_LR_CONSTANT, /* lr throughout */
    NN_LR_COSINE,   /* lr * (1 + cos(pi * step / steps_total)) / 2 (Loshchilov & Hutter, 2017) */
    NN_LR_STEP      /* lr * gamma^floor(epoch / step_epochs) */
};

/* Quantization-aware training (Jacob et al., CVPR 2018; the straight-through
 * estimator of Bengio et al., 2013): when `on`, every step runs the model at each
 * precision of m->quant (nn/quantize.h) and minimizes the sum of their losses,
 * so that one FP32 weight set serves them all. Weight steps follow `wmethod`
 * from the current weights at every step, or are learned (LSQ, Esser et al.,
 * ICLR 2020, on log s). Activation steps stay as the caller calibrated them
 * (profiling), follow a moving average of each batch's maximum, or are learned
 * as PACT clips (Choi et al., 2018). Learned steps and clips use Adam with
 * learning rate qlr times the schedule's factor. With a noise hook, pass
 * (step, p) perturbs the fake-quantized weights and the products as the hook
 * says; the gradients treat the perturbation as a constant (straight through
 * to the FP32 weights; the LSQ step gradients are those of the clean codes). */
enum nn_qat_acts { NN_QAT_A_FIXED, NN_QAT_A_EMA, NN_QAT_A_PACT };

struct nn_qat_opts {
    int on;
    int lsq;                          /* weights: learned steps, else wmethod each step */
    enum quant_range_method wmethod;  /* max, percentile, mse */
    double pct;                       /* percentile for wmethod */
    enum nn_qat_acts acts;
    double ema_momentum;              /* NN_QAT_A_EMA: in [0, 1) */
    double qlr;                       /* learned steps and clips: Adam learning rate */
    double distill;                   /* weight of distillation from the high precision's
                                         output to the low one's (0: off) */
    const struct nn_noise_hook *noise; /* noise-aware training (nn/noise.h): each pass
                                          runs on the weights and accumulators it
                                          perturbs; borrowed; NULL: none */
};

struct nn_train_opts {
    int epochs;           /* >= 1 */
    int batch;            /* >= 1 */
    int n_train;          /* training samples per epoch, >= 1 */
    double lr;            /* base learning rate, > 0 */
    enum nn_lr_schedule schedule;
    int step_epochs;      /* NN_LR_STEP: epochs between decays, >= 1 */
    double step_gamma;    /* NN_LR_STEP: decay factor in (0, 1] */
    struct nn_optim_opts optim;
    uint64_t seed;
    struct nn_qat_opts qat;
};

struct nn_trainer;

/* A trainer for `m` (borrowed; its parameters are updated in place). NULL with
 * `err` set when an option is out of range or memory runs out. */
struct nn_trainer *nn_trainer_alloc(struct nn_model *m, const struct nn_train_opts *o,
                                    struct cim_err *err);

/* Write into order[0 .. n_train) the sample order of `epoch`: a permutation drawn
 * from the stream (seed, CIM_RNG_SHUFFLE, epoch). */
void nn_trainer_shuffle(const struct nn_trainer *t, int epoch, int *order);

/* One step on b samples x [b, C, H, W] with labels y: forward, loss, backward,
 * update (at every precision, for QAT). *loss (may be NULL) gets the batch's mean
 * loss before the update (for QAT, the mean over precisions).
 * CIM_EINVAL when b is outside 1..batch or a label is out of range. */
int nn_trainer_step(struct nn_trainer *t, const float *x, const uint8_t *y, int b, double *loss);

/* The learning rate the next step will use. */
double nn_trainer_lr(const struct nn_trainer *t);

/* Epochs completed; and mark one more completed. */
int nn_trainer_epoch(const struct nn_trainer *t);
void nn_trainer_end_epoch(struct nn_trainer *t);

/* Steps per epoch: ceil(n_train / batch) (the last batch may be smaller). */
int nn_trainer_steps_per_epoch(const struct nn_trainer *t);

/* The trainer's state (optimizer moments) as one flat vector, and its restoration
 * at the start of epoch `epoch` (a checkpoint). set returns CIM_EINVAL when the
 * length does not match this model and optimizer. */
size_t nn_trainer_state_len(const struct nn_trainer *t);
void nn_trainer_state_get(const struct nn_trainer *t, float *dst);
int nn_trainer_state_set(struct nn_trainer *t, int epoch, const float *src, size_t n);

/* "constant", "cosine", "step"; parse returns -1 for an unknown name. */
const char *nn_lr_schedule_name(enum nn_lr_schedule s);
int nn_lr_schedule_parse(const char *name);

/* Free; accepts NULL. The model stays with the caller. */
void nn_trainer_free(struct nn_trainer *t);

#endif
