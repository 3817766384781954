/*
 * test_optim.c: parameter updates (nn/optim.h) against arithmetic done by hand in
 * double, the optimizer state as a checkpoint, and the trainer (nn/train.h):
 * epoch order, learning-rate schedules, argument checks and a loss that falls.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "base/err.h"
#include "base/rng.h"
#include "nn/forward.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "nn/train.h"
#include "testutil.h"

/* One update is a handful of float32 operations (decay term, moment(s), square
 * root, scale, divide, subtract), each within FLT_EPSILON / 2 of its exact value:
 * the update is within UPDATE_ULPS FLT_EPSILON of the magnitude it is computed
 * from (twice the count of roundings), and storing the new parameter adds
 * FLT_EPSILON / 2 of its own size. The references below carry these bounds along. */
#define UPDATE_ULPS 8.0
/* The hand-worked numbers in comments are rounded to 17 digits. */
#define HAND_TOL 1e-15
/* A learning rate is a double computed from the schedule's formula. */
#define LR_TOL 1e-15
/* With all logits 0 the loss is log 3 up to the rounding of a mean of 16 doubles. */
#define INIT_LOSS_TOL 1e-12

#define SEED 2385u

#define ck_assert_msg_has(err, needle)                                                   \
    ck_assert_msg(strstr((err).msg, (needle)) != NULL, "message '%s' lacks '%s'", (err).msg, \
                  (needle))

/* ---- a tiny model and its gradients ------------------------------------------------ */

/* dense 3 -> 2: weight [[w00 w01 w02] [w10 w11 w12]], bias [b0 b1]. */
static struct nn_model *tiny_model(double scale)
{
    struct nn_model *m = nn_model_alloc("tiny", (struct nn_shape){3, 1, 1}, 2);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(nn_model_add_dense(m, 2, NN_ACT_NONE, NULL), CIM_OK);
    const double w0[6] = {0.2385, -0.5, 1.125, -0.0625, 0.75, -1.5};
    const double b0[2] = {0.125, -0.2385};
    for (int k = 0; k < 6; k++)
        m->layers[0].weight.data[k] = (float)(scale * w0[k]);
    for (int k = 0; k < 2; k++)
        m->layers[0].bias.data[k] = (float)(scale * b0[k]);
    return m;
}

/* Gradients of three steps: weights then biases, 8 floats per step. */
static const float grads[3][8] = {
    {0.5f, -0.25f, 0.0385f, 1.5f, -2.0f, 0.75f, /* */ 0.3f, -0.7f},
    {-0.25f, 0.125f, 0.5f, 1.25f, 0.0f, -0.375f, /* */ -0.1f, 0.45f},
    {0.125f, 0.375f, -0.0625f, -0.5f, 1.0f, 0.25f, /* */ 0.2f, 0.05f},
};

/* Parameters of the tiny model as 8 doubles, weights then biases. */
static void tiny_params(const struct nn_model *m, double *p)
{
    for (int k = 0; k < 6; k++)
        p[k] = (double)m->layers[0].weight.data[k];
    for (int k = 0; k < 2; k++)
        p[6 + k] = (double)m->layers[0].bias.data[k];
}

static void tiny_step(struct nn_optim *opt, struct nn_model *m, int t, double lr)
{
    float dw[6], db[2];
    memcpy(dw, grads[t - 1], sizeof dw);
    memcpy(db, grads[t - 1] + 6, sizeof db);
    float *dwp[1] = {dw}, *dbp[1] = {db};
    nn_optim_step(opt, m, dwp, dbp, lr, t);
}

/* ---- SGD ------------------------------------------------------------------------------ */

START_TEST(test_sgd_hand)
{
    const double lr = 0.0385, mu = 0.875, wd = 0.02385;
    struct nn_optim_opts o = {.kind = NN_OPTIM_SGD, .momentum = mu, .weight_decay = wd};
    struct nn_model *m = tiny_model(1.0);
    struct nn_optim *opt = nn_optim_alloc(m, &o);
    ck_assert_ptr_nonnull(opt);

    /* reference: g = dW + wd W (weights only); v = mu v + g; W -= lr v */
    double p[8], v[8] = {0}, vmag[8] = {0}, tol[8] = {0};
    tiny_params(m, p);
    for (int t = 1; t <= 3; t++) {
        for (int k = 0; k < 8; k++) {
            const double decay = k < 6 ? wd * p[k] : 0.0; /* biases are not decayed */
            const double g = (double)grads[t - 1][k] + decay;
            v[k] = mu * v[k] + g;
            p[k] -= lr * v[k];
            vmag[k] = mu * vmag[k] + fabs((double)grads[t - 1][k]) + fabs(decay);
            tol[k] += UPDATE_ULPS * (double)FLT_EPSILON * lr * vmag[k] +
                      0.5 * (double)FLT_EPSILON * fabs(p[k]);
        }
        tiny_step(opt, m, t, lr);
        double got[8];
        tiny_params(m, got);
        for (int k = 0; k < 8; k++)
            ck_assert_msg(fabs(got[k] - p[k]) <= tol[k], "step %d param %d: %.9g, expected %.9g",
                          t, k, got[k], p[k]);
        if (t == 1) {
            /* w00 = 0.2385f = 0.23849999904632568:
             *   g = 0.5 + 0.02385 * 0.23849999904632568 = 0.50568822497725485 = v
             *   w = 0.23849999904632568 - 0.0385 * 0.50568822497725485 = 0.21903100238470136
             * b0 = 0.125: g = v = 0.3f = 0.30000001192092896 (no decay),
             *   b = 0.125 - 0.0385 * 0.30000001192092896 = 0.11344999954104423 */
            ck_assert_double_eq_tol(p[0], 0.21903100238470136, HAND_TOL);
            ck_assert_double_eq_tol(p[6], 0.11344999954104423, HAND_TOL);
        }
        if (t == 2) {
            /* w00: g = -0.25 + 0.02385 * 0.21903100238470136 = -0.24477611059312487,
             *   v = 0.875 * 0.50568822497725485 - 0.24477611059312487 = 0.19770108626197314,
             *   w = 0.21903100238470136 - 0.0385 * 0.19770108626197314 = 0.21141951056361538 */
            ck_assert_double_eq_tol(p[0], 0.21141951056361538, HAND_TOL);
        }
        if (t == 3) {
            /* w00: g = 0.125 + 0.02385 * 0.21141951056361538 = 0.13004235532694222,
             *   v = 0.875 * 0.19770108626197314 + 0.13004235532694222 = 0.3030308058061687,
             *   w = 0.21141951056361538 - 0.0385 * 0.3030308058061687 = 0.19975282454007789
             * b0: v = 0.875 * 0.16250000894069672 + 0.2 = 0.34218751080334187,
             *   b = 0.10719374919682741 - 0.0385 * 0.34218751080334187 = 0.094019530030898746 */
            ck_assert_double_eq_tol(p[0], 0.19975282454007789, HAND_TOL);
            ck_assert_double_eq_tol(p[6], 0.094019530030898746, HAND_TOL);
        }
    }
    nn_optim_free(opt);
    nn_model_free(m);
}
END_TEST

/* With zero gradients only the decay acts: weights shrink by (1 - lr wd) per
 * step, biases stay exactly; and plain SGD (mu = 0, wd = 0) is W -= lr dW. */
START_TEST(test_sgd_decay_weights_only)
{
    const double lr = 0.25, wd = 0.5;
    struct nn_optim_opts o = {.kind = NN_OPTIM_SGD, .momentum = 0.0, .weight_decay = wd};
    struct nn_model *m = tiny_model(1.0);
    struct nn_optim *opt = nn_optim_alloc(m, &o);
    ck_assert_ptr_nonnull(opt);
    double p0[8], p1[8];
    tiny_params(m, p0);
    float dw[6] = {0}, db[2] = {0};
    float *dwp[1] = {dw}, *dbp[1] = {db};
    nn_optim_step(opt, m, dwp, dbp, lr, 1);
    tiny_params(m, p1);
    for (int k = 0; k < 6; k++) /* (1 - 0.25 * 0.5) = 0.875: exact in float */
        ck_assert(p1[k] == p0[k] * 0.875);
    ck_assert(p1[6] == p0[6]);
    ck_assert(p1[7] == p0[7]);
    nn_optim_free(opt);
    nn_model_free(m);

    struct nn_optim_opts plain = {.kind = NN_OPTIM_SGD};
    m = tiny_model(1.0);
    opt = nn_optim_alloc(m, &plain);
    ck_assert_ptr_nonnull(opt);
    tiny_params(m, p0);
    tiny_step(opt, m, 1, 0.5);
    tiny_params(m, p1);
    for (int k = 0; k < 8; k++)
        ck_assert_msg(p1[k] == (double)(float)(p0[k] - 0.5 * (double)grads[0][k]),
                      "param %d: %.9g", k, p1[k]);
    nn_optim_free(opt);
    nn_model_free(m);
}
END_TEST

/* ---- Adam --------------------------------------------------------------------------- */

/* Small parameters (1e-3 of the tiny model's), so that float32 resolves each
 * update of ~lr to about 1e-7 of itself. */
START_TEST(test_adam_hand)
{
    const double lr = 0.001, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.02385;
    struct nn_optim_opts o = {
        .kind = NN_OPTIM_ADAM, .weight_decay = wd, .beta1 = b1, .beta2 = b2, .eps = eps};
    struct nn_model *m = tiny_model(1e-3);
    struct nn_optim *opt = nn_optim_alloc(m, &o);
    ck_assert_ptr_nonnull(opt);

    /* reference: g = dW + wd W (weights only); m = b1 m + (1-b1) g;
     * v = b2 v + (1-b2) g^2; W -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) */
    double p[8], m1[8] = {0}, m2[8] = {0}, mmag[8] = {0}, tol[8] = {0};
    tiny_params(m, p);
    for (int t = 1; t <= 3; t++) {
        const double c1 = 1.0 - pow(b1, t), c2 = 1.0 - pow(b2, t);
        for (int k = 0; k < 8; k++) {
            const double decay = k < 6 ? wd * p[k] : 0.0; /* biases are not decayed */
            const double g = (double)grads[t - 1][k] + decay;
            m1[k] = b1 * m1[k] + (1.0 - b1) * g;
            m2[k] = b2 * m2[k] + (1.0 - b2) * g * g;
            mmag[k] = b1 * mmag[k] + (1.0 - b1) * (fabs((double)grads[t - 1][k]) + fabs(decay));
            const double den = sqrt(m2[k] / c2) + eps;
            p[k] -= lr * (m1[k] / c1) / den;
            tol[k] += UPDATE_ULPS * (double)FLT_EPSILON * lr * (mmag[k] / c1) / den +
                      0.5 * (double)FLT_EPSILON * fabs(p[k]);
        }
        tiny_step(opt, m, t, lr);
        double got[8];
        tiny_params(m, got);
        for (int k = 0; k < 8; k++)
            ck_assert_msg(fabs(got[k] - p[k]) <= tol[k],
                          "step %d param %d: %.10g, expected %.10g (off by %.3g, allowed %.3g)", t,
                          k, got[k], p[k], fabs(got[k] - p[k]), tol[k]);
        if (t == 1) {
            /* w00 = 2.385e-4f = 2.3849999706726521e-04:
             *   g = 0.5 + 0.02385 w00 = 0.50000568822493008
             *   m = 0.1 g = 0.050000568822492999, v = 0.001 g^2 = 0.00025000568825728615
             *   bias-corrected: m / 0.1 = g, v / 0.001 = g^2, so the first step is
             *   lr g / (|g| + 1e-8) = 0.000999999980000228 (without the correction it
             *   would be 0.1 g / sqrt(0.001 g^2) lr = 3.16 lr)
             *   w = 2.3849999706726521e-04 - 0.000999999980000228 = -0.00076149998293296279 */
            ck_assert_double_eq_tol(p[0], -0.00076149998293296279, HAND_TOL);
            /* b0 = 1.25e-4f: no decay, the step is 0.001 * 0.3f / (0.3f + 1e-8),
             * b = -0.00087499996072948772 */
            ck_assert_double_eq_tol(p[6], -0.00087499996072948772, HAND_TOL);
        }
        if (t == 2) {
            /* w00: g = -0.25 + 0.02385 * -0.00076149998293296279 = -0.25001816177459296,
             *   m = 0.9 * 0.050000568822492999 + 0.1 g = 0.019998695762784412,
             *   v = 0.999 * 0.00025000568825728615 + 0.001 g^2 = 0.00031226476378617545,
             *   m / (1 - 0.81) = 0.10525629348833904, v / (1 - 0.998001) = 0.15621048713665817,
             *   step 0.001 * 0.10525629348833904 / (sqrt(0.15621048713665817) + 1e-8)
             *        = 0.00026631336875606676,  w = -0.0010278133516890295 */
            ck_assert_double_eq_tol(p[0], -0.0010278133516890295, HAND_TOL);
        }
        if (t == 3) {
            /* w00: m = 0.030496374851662192, v = 0.00032757137128618411,
             *   step 0.00034038419607559472, w = -0.0013681975477646243;
             * b0: step 0.00060308646420752395, b = -0.0018783049858311705 */
            ck_assert_double_eq_tol(p[0], -0.0013681975477646243, HAND_TOL);
            ck_assert_double_eq_tol(p[6], -0.0018783049858311705, HAND_TOL);
        }
    }
    nn_optim_free(opt);
    nn_model_free(m);
}
END_TEST

/* Adam with zero gradients and weight decay: the first step moves each weight by
 * lr toward zero (g = wd W, and m / sqrt(v) = sign(g) after correction) and
 * leaves biases exactly where they were (m = v = 0, 0 / eps). */
START_TEST(test_adam_decay_weights_only)
{
    const double lr = 0.0385;
    struct nn_optim_opts o = {
        .kind = NN_OPTIM_ADAM, .weight_decay = 0.125, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    struct nn_model *m = tiny_model(1.0);
    struct nn_optim *opt = nn_optim_alloc(m, &o);
    ck_assert_ptr_nonnull(opt);
    double p0[8], p1[8];
    tiny_params(m, p0);
    float dw[6] = {0}, db[2] = {0};
    float *dwp[1] = {dw}, *dbp[1] = {db};
    nn_optim_step(opt, m, dwp, dbp, lr, 1);
    tiny_params(m, p1);
    for (int k = 0; k < 6; k++) {
        /* |g| = 0.125 |w| >= 0.0078, so eps changes the step by < 2e-6 of itself */
        double expect = p0[k] - lr * (p0[k] > 0 ? 1.0 : -1.0);
        ck_assert_msg(fabs(p1[k] - expect) <= 2e-6 * lr + (double)FLT_EPSILON * fabs(p0[k]),
                      "weight %d: %.9g, expected %.9g", k, p1[k], expect);
    }
    ck_assert(p1[6] == p0[6]);
    ck_assert(p1[7] == p0[7]);
    nn_optim_free(opt);
    nn_model_free(m);
}
END_TEST

/* ---- state ----------------------------------------------------------------------------- */

/* conv -> maxpool (no parameters) -> dense, so that the state skips a layer. */
static struct nn_model *state_model(void)
{
    struct nn_model *m = nn_model_alloc("state", (struct nn_shape){2, 5, 5}, 3);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(nn_model_add_conv2d(m, 3, 3, 1, 1, NN_ACT_RELU, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_add_maxpool(m, 2, 2, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_add_dense(m, 3, NN_ACT_NONE, NULL), CIM_OK);
    ck_assert_int_eq(nn_model_init_params(m, SEED), CIM_OK);
    return m;
}

/* Gradients for state_model, different for each step t. */
static void state_grads(const struct nn_model *m, int t, float **dw, float **db)
{
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (l->weight.data == NULL) {
            dw[i] = db[i] = NULL;
            continue;
        }
        for (size_t k = 0; k < nn_tensor_size(&l->weight); k++)
            dw[i][k] = (float)(0.385 * sin(2.385 * (double)(k + 1) * t + i));
        for (size_t k = 0; k < nn_tensor_size(&l->bias); k++)
            db[i][k] = (float)(0.25 * cos(1.5 * (double)(k + 1) * t - i));
    }
}

START_TEST(test_state_roundtrip)
{
    const struct nn_optim_opts opts[2] = {
        {.kind = NN_OPTIM_SGD, .momentum = 0.9, .weight_decay = 1e-3},
        {.kind = NN_OPTIM_ADAM, .weight_decay = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8},
    };
    for (int j = 0; j < 2; j++) {
        struct nn_model *a = state_model();
        const size_t count = nn_model_param_count(a);
        ck_assert_uint_eq(count, (3 * 2 * 9 + 3) + (3 * 2 * 2 * 3 + 3)); /* 57 + 39 */
        struct nn_optim *oa = nn_optim_alloc(a, &opts[j]);
        ck_assert_ptr_nonnull(oa);
        const size_t len = nn_optim_state_len(oa);
        ck_assert_uint_eq(len, count * (j == 0 ? 1 : 2));
        float *st = malloc(len * sizeof *st), *st2 = malloc(len * sizeof *st2);
        ck_assert(st && st2);
        nn_optim_state_get(oa, st); /* a fresh state is zero */
        for (size_t k = 0; k < len; k++)
            ck_assert(st[k] == 0.0f);

        float dw0[54], db0[3], dw2[36], db2[3];
        float *dw[3] = {dw0, NULL, dw2}, *db[3] = {db0, NULL, db2};
        for (int t = 1; t <= 2; t++) {
            state_grads(a, t, dw, db);
            nn_optim_step(oa, a, dw, db, 0.0385, t);
        }
        nn_optim_state_get(oa, st);
        size_t nonzero = 0;
        for (size_t k = 0; k < len; k++)
            nonzero += st[k] != 0.0f;
        ck_assert_uint_gt(nonzero, len / 2);

        /* a new optimizer with the state restored continues exactly as the first */
        struct nn_model *b = nn_model_clone(a);
        ck_assert_ptr_nonnull(b);
        struct nn_optim *ob = nn_optim_alloc(b, &opts[j]);
        ck_assert_ptr_nonnull(ob);
        ck_assert_int_eq(nn_optim_state_set(ob, st, len - 1), CIM_EINVAL);
        ck_assert_int_eq(nn_optim_state_set(ob, st, len + 1), CIM_EINVAL);
        nn_optim_state_get(ob, st2);
        for (size_t k = 0; k < len; k++) /* a refused set changes nothing */
            ck_assert(st2[k] == 0.0f);
        ck_assert_int_eq(nn_optim_state_set(ob, st, len), CIM_OK);
        nn_optim_state_get(ob, st2);
        ck_assert_mem_eq(st, st2, len * sizeof *st);
        state_grads(a, 3, dw, db);
        nn_optim_step(oa, a, dw, db, 0.0385, 3);
        nn_optim_step(ob, b, dw, db, 0.0385, 3);
        for (int i = 0; i < 3; i++) {
            if (a->layers[i].weight.data == NULL)
                continue;
            ck_assert_mem_eq(a->layers[i].weight.data, b->layers[i].weight.data,
                             nn_tensor_size(&a->layers[i].weight) * sizeof(float));
            ck_assert_mem_eq(a->layers[i].bias.data, b->layers[i].bias.data,
                             nn_tensor_size(&a->layers[i].bias) * sizeof(float));
        }
        nn_optim_state_get(oa, st);
        nn_optim_state_get(ob, st2);
        ck_assert_mem_eq(st, st2, len * sizeof *st);
        free(st);
        free(st2);
        nn_optim_free(oa);
        nn_optim_free(ob);
        nn_model_free(a);
        nn_model_free(b);
    }
    nn_optim_free(NULL);
}
END_TEST

START_TEST(test_names)
{
    ck_assert_str_eq(nn_optim_name(NN_OPTIM_SGD), "sgd");
    ck_assert_str_eq(nn_optim_name(NN_OPTIM_ADAM), "adam");
    ck_assert_int_eq(nn_optim_parse("sgd"), NN_OPTIM_SGD);
    ck_assert_int_eq(nn_optim_parse("adam"), NN_OPTIM_ADAM);
    ck_assert_int_eq(nn_optim_parse(nn_optim_name(NN_OPTIM_ADAM)), NN_OPTIM_ADAM);
    const enum nn_lr_schedule sch[] = {NN_LR_CONSTANT, NN_LR_COSINE, NN_LR_STEP};
    const char *sch_names[] = {"constant", "cosine", "step"};
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(nn_lr_schedule_name(sch[i]), sch_names[i]);
        ck_assert_int_eq(nn_lr_schedule_parse(sch_names[i]), (int)sch[i]);
    }
    ck_assert_str_eq(nn_lr_schedule_name((enum nn_lr_schedule)3), "unknown");
    const char *bad[] = {"", "SGD", "adamw", "Cosine", "steps", "const"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(nn_optim_parse(bad[i]), -1);
        ck_assert_int_eq(nn_lr_schedule_parse(bad[i]), -1);
    }
}
END_TEST

/* ---- trainer ------------------------------------------------------------------------------ */

static struct nn_train_opts train_opts(void)
{
    struct nn_train_opts o = {
        .epochs = 4,
        .batch = 5,
        .n_train = 10,
        .lr = 0.0385,
        .schedule = NN_LR_CONSTANT,
        .step_epochs = 1,
        .step_gamma = 1.0,
        .optim = {.kind = NN_OPTIM_SGD, .momentum = 0.9},
        .seed = SEED,
    };
    return o;
}

START_TEST(test_shuffle)
{
    struct nn_model *m = tiny_model(1.0);
    struct nn_train_opts o = train_opts();
    o.n_train = 37;
    struct nn_trainer *t1 = nn_trainer_alloc(m, &o, NULL);
    /* the same seed with other options: the order depends on (seed, epoch) only */
    struct nn_train_opts o2 = o;
    o2.batch = 3;
    o2.lr = 0.5;
    o2.epochs = 9;
    o2.schedule = NN_LR_COSINE;
    o2.optim = (struct nn_optim_opts){
        .kind = NN_OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    struct nn_model *m2 = tiny_model(1.0);
    struct nn_trainer *t2 = nn_trainer_alloc(m2, &o2, NULL);
    struct nn_train_opts o3 = o;
    o3.seed = SEED + 1;
    struct nn_trainer *t3 = nn_trainer_alloc(m, &o3, NULL);
    ck_assert(t1 && t2 && t3);

    int a[37], b[37], c[37], e1[37];
    for (int epoch = 0; epoch < 5; epoch++) {
        nn_trainer_shuffle(t1, epoch, a);
        int seen[37] = {0};
        for (int k = 0; k < 37; k++) {
            ck_assert(a[k] >= 0 && a[k] < 37);
            seen[a[k]]++;
        }
        for (int k = 0; k < 37; k++)
            ck_assert_int_eq(seen[k], 1);
        nn_trainer_shuffle(t2, epoch, b);
        ck_assert_mem_eq(a, b, sizeof a);
        nn_trainer_shuffle(t3, epoch, c);
        ck_assert(memcmp(a, c, sizeof a) != 0);
        /* the documented stream: gsl_ran_shuffle of 0..n-1 from (seed, SHUFFLE, epoch) */
        gsl_rng *r = cim_rng_alloc(SEED, cim_rng_stream(CIM_RNG_SHUFFLE, (uint64_t)epoch));
        ck_assert_ptr_nonnull(r);
        for (int k = 0; k < 37; k++)
            c[k] = k;
        gsl_ran_shuffle(r, c, 37, sizeof *c);
        gsl_rng_free(r);
        ck_assert_mem_eq(a, c, sizeof a);
        if (epoch == 1)
            memcpy(e1, a, sizeof e1);
        if (epoch > 0) {
            int prev[37];
            nn_trainer_shuffle(t1, epoch - 1, prev);
            ck_assert(memcmp(a, prev, sizeof a) != 0);
        }
    }
    /* neither training steps nor finished epochs change an epoch's order */
    float x[3] = {0.5f, -0.25f, 2.385f};
    uint8_t y[1] = {1};
    ck_assert_int_eq(nn_trainer_step(t1, x, y, 1, NULL), CIM_OK);
    nn_trainer_end_epoch(t1);
    nn_trainer_end_epoch(t1);
    nn_trainer_shuffle(t1, 1, a);
    ck_assert_mem_eq(a, e1, sizeof a);
    nn_trainer_free(t1);
    nn_trainer_free(t2);
    nn_trainer_free(t3);
    nn_trainer_free(NULL);
    nn_model_free(m);
    nn_model_free(m2);
}
END_TEST

/* One step on the first sample of a fixed toy batch. */
static void one_step(struct nn_trainer *t)
{
    const float x[3] = {0.5f, -0.25f, 2.385f};
    const uint8_t y[1] = {1};
    double loss = -1.0;
    ck_assert_int_eq(nn_trainer_step(t, x, y, 1, &loss), CIM_OK);
    ck_assert(loss > 0.0 && isfinite(loss));
}

START_TEST(test_lr_constant)
{
    struct nn_model *m = tiny_model(1.0);
    struct nn_train_opts o = train_opts();
    struct nn_trainer *t = nn_trainer_alloc(m, &o, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(nn_trainer_steps_per_epoch(t), 2);
    ck_assert_int_eq(nn_trainer_epoch(t), 0);
    for (int e = 0; e < 6; e++) { /* also past the last epoch */
        ck_assert(nn_trainer_lr(t) == 0.0385);
        one_step(t);
        ck_assert(nn_trainer_lr(t) == 0.0385);
        nn_trainer_end_epoch(t);
        ck_assert_int_eq(nn_trainer_epoch(t), e + 1);
    }
    nn_trainer_free(t);
    nn_model_free(m);
}
END_TEST

/* Cosine over 4 epochs of 2 steps (10 samples, batch 5): 8 steps in all, lr(s) =
 * lr (1 + cos(pi s / 8)) / 2. */
START_TEST(test_lr_cosine)
{
    const double lr = 0.0385, pi = 3.14159265358979323846;
    struct nn_model *m = tiny_model(1.0);
    struct nn_train_opts o = train_opts();
    o.schedule = NN_LR_COSINE;
    struct nn_trainer *t = nn_trainer_alloc(m, &o, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_double_eq_tol(nn_trainer_lr(t), lr, LR_TOL); /* step 0: lr */
    one_step(t);                                           /* step 1 */
    ck_assert_double_eq_tol(nn_trainer_lr(t), lr * (1.0 + cos(pi / 8.0)) / 2.0, LR_TOL);
    nn_trainer_end_epoch(t); /* step 2, whatever was taken in the epoch */
    ck_assert_double_eq_tol(nn_trainer_lr(t), lr * (1.0 + cos(pi / 4.0)) / 2.0, LR_TOL);
    nn_trainer_end_epoch(t); /* step 4: the middle */
    ck_assert_double_eq_tol(nn_trainer_lr(t), lr / 2.0, LR_TOL);
    one_step(t);
    one_step(t); /* step 6 */
    ck_assert_double_eq_tol(nn_trainer_lr(t), lr * (1.0 + cos(0.75 * pi)) / 2.0, LR_TOL);
    nn_trainer_end_epoch(t);
    nn_trainer_end_epoch(t); /* step 8: the end */
    ck_assert_double_eq_tol(nn_trainer_lr(t), 0.0, LR_TOL);
    nn_trainer_end_epoch(t); /* beyond the end it stays 0 */
    ck_assert_double_eq_tol(nn_trainer_lr(t), 0.0, LR_TOL);

    /* a checkpoint restored at epoch 2 resumes at the middle */
    float *st = malloc(nn_trainer_state_len(t) * sizeof *st);
    ck_assert_ptr_nonnull(st);
    ck_assert_uint_eq(nn_trainer_state_len(t), nn_model_param_count(m));
    nn_trainer_state_get(t, st);
    ck_assert_int_eq(nn_trainer_state_set(t, 2, st, nn_trainer_state_len(t)), CIM_OK);
    ck_assert_int_eq(nn_trainer_epoch(t), 2);
    ck_assert_double_eq_tol(nn_trainer_lr(t), lr / 2.0, LR_TOL);
    ck_assert_int_eq(nn_trainer_state_set(t, 1, st, nn_trainer_state_len(t) + 1), CIM_EINVAL);
    ck_assert_int_eq(nn_trainer_state_set(t, -1, st, nn_trainer_state_len(t)), CIM_EINVAL);
    ck_assert_int_eq(nn_trainer_epoch(t), 2);
    free(st);
    nn_trainer_free(t);
    nn_model_free(m);
}
END_TEST

/* Step decay by 0.5 every 2 epochs: 1, 1, 0.5, 0.5, 0.25, 0.25, 0.125 times lr. */
START_TEST(test_lr_step)
{
    const double lr = 0.0385;
    struct nn_model *m = tiny_model(1.0);
    struct nn_train_opts o = train_opts();
    o.epochs = 7;
    o.schedule = NN_LR_STEP;
    o.step_epochs = 2;
    o.step_gamma = 0.5;
    struct nn_trainer *t = nn_trainer_alloc(m, &o, NULL);
    ck_assert_ptr_nonnull(t);
    const double factor[7] = {1, 1, 0.5, 0.5, 0.25, 0.25, 0.125};
    for (int e = 0; e < 7; e++) {
        ck_assert_double_eq_tol(nn_trainer_lr(t), lr * factor[e], LR_TOL);
        one_step(t);
        ck_assert_double_eq_tol(nn_trainer_lr(t), lr * factor[e], LR_TOL);
        nn_trainer_end_epoch(t);
    }
    nn_trainer_free(t);

    /* the epoch is counted in steps too: 2 steps make an epoch here */
    t = nn_trainer_alloc(m, &o, NULL);
    ck_assert_ptr_nonnull(t);
    for (int s = 0; s < 4; s++) {
        ck_assert_double_eq_tol(nn_trainer_lr(t), lr, LR_TOL);
        one_step(t);
    }
    ck_assert_double_eq_tol(nn_trainer_lr(t), lr * 0.5, LR_TOL);
    nn_trainer_free(t);
    nn_model_free(m);
}
END_TEST

START_TEST(test_step_rejects)
{
    struct nn_model *m = tiny_model(1.0);
    struct nn_model *before = nn_model_clone(m);
    ck_assert_ptr_nonnull(before);
    struct nn_train_opts o = train_opts();
    o.schedule = NN_LR_COSINE; /* so that a counted step would show in the lr */
    struct nn_trainer *t = nn_trainer_alloc(m, &o, NULL);
    ck_assert_ptr_nonnull(t);
    const float x[6 * 3] = {0.5f, -0.25f, 2.385f, 1.0f, 0.0f, -1.0f, 0.25f, 0.125f, 3.0f};
    double loss = -7.0;
    const uint8_t y_bad1[2] = {0, 2}; /* 2 classes: label 2 is out of range */
    const uint8_t y_bad2[3] = {1, 0, 255};
    const uint8_t y_ok[6] = {0, 1, 1, 0, 1, 0};
    ck_assert_int_eq(nn_trainer_step(t, x, y_bad1, 2, &loss), CIM_EINVAL);
    ck_assert_int_eq(nn_trainer_step(t, x, y_bad2, 3, &loss), CIM_EINVAL);
    ck_assert_int_eq(nn_trainer_step(t, x, y_ok, 0, &loss), CIM_EINVAL);
    ck_assert_int_eq(nn_trainer_step(t, x, y_ok, -1, &loss), CIM_EINVAL);
    ck_assert_int_eq(nn_trainer_step(t, x, y_ok, 6, &loss), CIM_EINVAL); /* batch is 5 */
    ck_assert(loss == -7.0);
    ck_assert_mem_eq(m->layers[0].weight.data, before->layers[0].weight.data, 6 * sizeof(float));
    ck_assert_mem_eq(m->layers[0].bias.data, before->layers[0].bias.data, 2 * sizeof(float));
    ck_assert(nn_trainer_lr(t) == o.lr); /* no step was counted */
    ck_assert_int_eq(nn_trainer_step(t, x, y_ok, 5, &loss), CIM_OK);
    ck_assert(loss > 0.0);
    ck_assert(nn_trainer_lr(t) < o.lr);
    ck_assert_int_eq(nn_trainer_step(t, x, y_ok, 5, NULL), CIM_OK); /* loss may be NULL */
    nn_trainer_free(t);
    nn_model_free(before);
    nn_model_free(m);
}
END_TEST

/* ---- training ------------------------------------------------------------------------------- */

/* Three Gaussian blobs in 8 dimensions, centres +-1 per coordinate, spread 0.3:
 * linearly separable with a wide margin. */
#define BLOB_N 96
#define BLOB_DIM 8

static void blobs(float *x, uint8_t *y)
{
    gsl_rng *r = cim_rng_alloc(SEED, cim_rng_stream(CIM_RNG_TEST, 1));
    ck_assert_ptr_nonnull(r);
    double centre[3][BLOB_DIM];
    for (int c = 0; c < 3; c++)
        for (int d = 0; d < BLOB_DIM; d++)
            centre[c][d] = gsl_rng_uniform(r) < 0.5 ? -1.0 : 1.0;
    for (int s = 0; s < BLOB_N; s++) {
        y[s] = (uint8_t)(s % 3);
        for (int d = 0; d < BLOB_DIM; d++)
            x[s * BLOB_DIM + d] = (float)(centre[y[s]][d] + gsl_ran_gaussian(r, 0.3));
    }
    gsl_rng_free(r);
}

/* Train for 200 steps; return the loss of the first step (before any update),
 * the mean loss of the last 6 steps and the training accuracy after. */
static void train_blobs(struct nn_model *m, const struct nn_train_opts *o, double *first,
                        double *last, double *acc)
{
    float x[BLOB_N * BLOB_DIM], xb[16 * BLOB_DIM];
    uint8_t y[BLOB_N], yb[16];
    blobs(x, y);
    struct cim_err err = {0};
    struct nn_trainer *t = nn_trainer_alloc(m, o, &err);
    ck_assert_msg(t != NULL, "%s", err.msg);
    int order[BLOB_N], steps = 0;
    double losses[200];
    for (int e = nn_trainer_epoch(t); steps < 200; e++) {
        nn_trainer_shuffle(t, e, order);
        for (int s = 0; s < BLOB_N && steps < 200; s += o->batch) {
            int b = BLOB_N - s < o->batch ? BLOB_N - s : o->batch;
            for (int k = 0; k < b; k++) {
                memcpy(xb + k * BLOB_DIM, x + order[s + k] * BLOB_DIM, sizeof(float) * BLOB_DIM);
                yb[k] = y[order[s + k]];
            }
            ck_assert_int_eq(nn_trainer_step(t, xb, yb, b, &losses[steps]), CIM_OK);
            steps++;
        }
        nn_trainer_end_epoch(t);
    }
    *first = losses[0];
    *last = 0.0;
    for (int k = 0; k < 6; k++)
        *last += losses[194 + k] / 6.0;
    struct nn_ws *ws = nn_ws_alloc(m, BLOB_N, 0);
    ck_assert_ptr_nonnull(ws);
    const float *logits = NULL;
    ck_assert_int_eq(nn_forward(m, &nn_exec_fp32, ws, x, BLOB_N, &logits), CIM_OK);
    int pred[BLOB_N], right = 0;
    nn_argmax_rows(logits, BLOB_N, 3, pred);
    for (int s = 0; s < BLOB_N; s++)
        right += pred[s] == y[s];
    *acc = right / (double)BLOB_N;
    nn_ws_free(ws);
    nn_trainer_free(t);
}

START_TEST(test_loss_falls)
{
    for (int j = 0; j < 2; j++) {
        struct nn_model *m = nn_model_alloc("blobs", (struct nn_shape){BLOB_DIM, 1, 1}, 3);
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(nn_model_add_dense(m, 16, NN_ACT_RELU, NULL), CIM_OK);
        ck_assert_int_eq(nn_model_add_dense(m, 3, NN_ACT_NONE, NULL), CIM_OK);
        ck_assert_int_eq(nn_model_init_params(m, SEED), CIM_OK);
        /* a zero last layer: all logits 0, so the first loss is exactly log 3 */
        memset(m->layers[1].weight.data, 0, 16 * 3 * sizeof(float));
        struct nn_train_opts o = train_opts();
        o.epochs = 200 / 6 + 1;
        o.batch = 16;
        o.n_train = BLOB_N;
        o.schedule = NN_LR_COSINE;
        o.optim.weight_decay = 1e-4;
        if (j == 0) {
            o.lr = 0.05;
        } else {
            o.lr = 0.01;
            o.optim = (struct nn_optim_opts){.kind = NN_OPTIM_ADAM, .weight_decay = 1e-4,
                                             .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
        }
        double first, last, acc;
        train_blobs(m, &o, &first, &last, &acc);
        /* from log 3 = 1.0986 to near 0 on a separable problem */
        ck_assert_msg(fabs(first - log(3.0)) < INIT_LOSS_TOL, "%s: first loss %.17g",
                      nn_optim_name(o.optim.kind), first);
        ck_assert_msg(last < 0.05 && last < 0.05 * first, "%s: loss %g -> %g",
                      nn_optim_name(o.optim.kind), first, last);
        ck_assert_msg(acc == 1.0, "%s: training accuracy %g", nn_optim_name(o.optim.kind), acc);
        nn_model_free(m);
    }
}
END_TEST

/* ---- option checks ------------------------------------------------------------------------------ */

/* nn_trainer_alloc with `o` must fail with CIM_EINVAL and `needle` in the message. */
static void expect_bad_opts(const struct nn_train_opts *o, const char *needle)
{
    struct nn_model *m = tiny_model(1.0);
    struct cim_err err = {0};
    ck_assert_ptr_null(nn_trainer_alloc(m, o, &err));
    ck_assert_int_eq(err.code, CIM_EINVAL);
    ck_assert_msg_has(err, needle);
    ck_assert_ptr_null(nn_trainer_alloc(m, o, NULL));
    nn_model_free(m);
}

START_TEST(test_trainer_opts)
{
    struct nn_train_opts o;
    o = train_opts();
    o.epochs = 0;
    expect_bad_opts(&o, "--epochs 0");
    o = train_opts();
    o.epochs = -3;
    expect_bad_opts(&o, "--epochs -3");
    o = train_opts();
    o.batch = 0;
    expect_bad_opts(&o, "--batch 0");
    o = train_opts();
    o.batch = 65537;
    expect_bad_opts(&o, "--batch 65537");
    o = train_opts();
    o.lr = 0.0;
    expect_bad_opts(&o, "--lr");
    o = train_opts();
    o.lr = -0.0385;
    expect_bad_opts(&o, "--lr -0.0385");
    o = train_opts();
    o.lr = NAN;
    expect_bad_opts(&o, "--lr");
    o = train_opts();
    o.lr = INFINITY;
    expect_bad_opts(&o, "--lr");
    o = train_opts();
    o.optim.weight_decay = -1e-4;
    expect_bad_opts(&o, "--weight-decay");
    o = train_opts();
    o.optim.weight_decay = NAN;
    expect_bad_opts(&o, "--weight-decay");
    o = train_opts();
    o.optim.weight_decay = INFINITY;
    expect_bad_opts(&o, "--weight-decay");
    o = train_opts();
    o.optim.momentum = 1.0;
    expect_bad_opts(&o, "--momentum 1");
    o = train_opts();
    o.optim.momentum = -0.125;
    expect_bad_opts(&o, "--momentum");
    o = train_opts();
    o.optim.momentum = NAN;
    expect_bad_opts(&o, "--momentum");
    o = train_opts();
    o.n_train = 0;
    expect_bad_opts(&o, "training set");
    /* Adam's betas and eps have no command-line option: the message says Adam */
    const struct nn_optim_opts adam = {
        .kind = NN_OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    o = train_opts();
    o.optim = adam; o.optim.beta1 = 1.0;
    expect_bad_opts(&o, "Adam");
    o = train_opts();
    o.optim = adam; o.optim.beta2 = 1.0;
    expect_bad_opts(&o, "beta");
    o = train_opts();
    o.optim = adam; o.optim.beta1 = -0.1;
    expect_bad_opts(&o, "beta");
    o = train_opts();
    o.optim = adam; o.optim.eps = 0.0;
    expect_bad_opts(&o, "eps");

    /* the limits themselves are accepted */
    struct nn_model *m = tiny_model(1.0);
    struct nn_train_opts ok[5];
    for (int i = 0; i < 5; i++)
        ok[i] = train_opts();
    ok[0].epochs = 1;
    ok[0].batch = 1;
    ok[0].n_train = 1;
    ok[1].batch = 65536;
    ok[2].optim.momentum = 0.0;
    ok[2].optim.weight_decay = 0.0;
    ok[3].schedule = NN_LR_STEP;
    ok[3].step_epochs = 1;
    ok[3].step_gamma = 1.0;
    ok[4].optim = adam;
    ok[4].optim.beta1 = 0.0;
    ok[4].optim.beta2 = 0.0;
    ok[4].optim.eps = 1e-30;
    for (int i = 0; i < 5; i++) {
        struct cim_err err = {0};
        struct nn_trainer *t = nn_trainer_alloc(m, &ok[i], &err);
        ck_assert_msg(t != NULL, "options %d refused: %s", i, err.msg);
        nn_trainer_free(t);
    }
    nn_model_free(m);
}
END_TEST

/* The step schedule's options are --step-epochs and --step-gamma (cli/cmd_train.c);
 * the message should name the one at fault, as every other check does. */
START_TEST(test_trainer_opts_step)
{
    struct nn_train_opts o = train_opts();
    o.schedule = NN_LR_STEP;
    o.step_epochs = 0;
    expect_bad_opts(&o, "--step-epochs");
    o = train_opts();
    o.schedule = NN_LR_STEP;
    o.step_gamma = 0.0;
    expect_bad_opts(&o, "--step-gamma");
    o.step_gamma = 1.5;
    expect_bad_opts(&o, "--step-gamma");
    o.step_gamma = NAN;
    expect_bad_opts(&o, "--step-gamma");
}
END_TEST

static Suite *nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("optim");
    tcase_add_test(tc, test_sgd_hand);
    tcase_add_test(tc, test_sgd_decay_weights_only);
    tcase_add_test(tc, test_adam_hand);
    tcase_add_test(tc, test_adam_decay_weights_only);
    tcase_add_test(tc, test_state_roundtrip);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_shuffle);
    tcase_add_test(tc, test_lr_constant);
    tcase_add_test(tc, test_lr_cosine);
    tcase_add_test(tc, test_lr_step);
    tcase_add_test(tc, test_step_rejects);
    tcase_add_test(tc, test_loss_falls);
    tcase_add_test(tc, test_trainer_opts);
    tcase_add_test(tc, test_trainer_opts_step);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(nn_suite)
