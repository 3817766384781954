/* nn_testutil.c: helpers of the nn layer tests; see nn_testutil.h. */
#include "nn_testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "nn/layers.h"
#include "nn/loss.h"

/* ---- random draws ------------------------------------------------------------ */

gsl_rng *test_rng(uint64_t k)
{
    gsl_rng *r = cim_rng_alloc(SEED, cim_rng_stream(CIM_RNG_TEST, k));
    ck_assert_ptr_nonnull(r);
    return r;
}

void uniform_fill(gsl_rng *r, float *v, size_t n, double lo, double hi)
{
    for (size_t k = 0; k < n; k++)
        v[k] = (float)(lo + (hi - lo) * gsl_rng_uniform(r));
}

void lattice_fill(gsl_rng *r, float *v, size_t n, double step, int half_range, double offset)
{
    for (size_t k = 0; k < n; k++) {
        int j = (int)gsl_rng_uniform_int(r, (unsigned long)(2 * half_range + 1)) - half_range;
        v[k] = (float)(offset + step * j);
    }
}

/* ---- finite-difference harness ----------------------------------------------- */

/* Bytes of the activation pattern at the workspace's largest batch. */
static size_t pattern_len(const struct fd *f)
{
    size_t n = 0;
    for (int i = 0; i < f->m->n_layers; i++) {
        const struct nn_layer *l = &f->m->layers[i];
        size_t out = (size_t)f->b * nn_shape_size(l->out);
        if (l->act == NN_ACT_RELU)
            n += out;
        if (l->type == NN_LAYER_MAXPOOL)
            n += out * sizeof(int32_t);
    }
    return n;
}

/* Which ReLUs are on and which inputs the pools picked, after a forward pass;
 * returns the number of bytes written. */
static size_t pattern(const struct fd *f, unsigned char *p)
{
    unsigned char *p0 = p;
    for (int i = 0; i < f->m->n_layers; i++) {
        const struct nn_layer *l = &f->m->layers[i];
        size_t out = (size_t)f->b * nn_shape_size(l->out);
        if (l->act == NN_ACT_RELU)
            for (size_t k = 0; k < out; k++)
                *p++ = f->ws->act[i + 1][k] > 0.0f;
        if (l->type == NN_LAYER_MAXPOOL) {
            memcpy(p, f->ws->argmax[i], out * sizeof(int32_t));
            p += out * sizeof(int32_t);
        }
    }
    return (size_t)(p - p0);
}

/* The loss at the current parameters (a forward pass). */
static double fd_loss(struct fd *f)
{
    const float *logits = NULL;
    ck_assert_int_eq(nn_forward(f->m, &nn_exec_fp32, f->ws, f->x, f->b, &logits), CIM_OK);
    const size_t n = (size_t)f->b * (size_t)f->m->num_classes;
    if (f->r == NULL)
        return nn_softmax_xent(logits, f->y, f->b, f->m->num_classes, NULL);
    double loss = 0.0;
    for (size_t k = 0; k < n; k++)
        loss += (double)f->r[k] * (double)logits[k];
    return loss;
}

void fd_init(struct fd *f, struct nn_model *m, const float *x, int b, const float *r,
             const uint8_t *y)
{
    f->m = m;
    f->x = x;
    f->b = b;
    f->r = r;
    f->y = y;
    f->every = 1;
    f->ws = nn_ws_alloc(m, b, 1);
    ck_assert_ptr_nonnull(f->ws);
    f->pat_cap = pattern_len(f);
    f->pat0 = calloc(f->pat_cap + 1, 1);
    f->pat = calloc(f->pat_cap + 1, 1);
    ck_assert(f->pat0 && f->pat);
}

void fd_release(struct fd *f)
{
    nn_ws_free(f->ws);
    free(f->pat0);
    free(f->pat);
}

void fd_backward(struct fd *f)
{
    const float *logits = NULL;
    ck_assert_int_eq(nn_forward(f->m, &nn_exec_fp32, f->ws, f->x, f->b, &logits), CIM_OK);
    const size_t n = (size_t)f->b * (size_t)f->m->num_classes;
    float *d = malloc(n * sizeof *d);
    ck_assert_ptr_nonnull(d);
    if (f->r != NULL)
        memcpy(d, f->r, n * sizeof *d);
    else
        nn_softmax_xent(logits, f->y, f->b, f->m->num_classes, d);
    ck_assert_int_eq(nn_backward(f->m, f->ws, d, f->b), CIM_OK);
    free(d);
    f->pat_len = pattern(f, f->pat0);
}

double fd_check(struct fd *f, float *p, const float *grad, size_t n, const char *what)
{
    double worst = 0.0;
    for (size_t k = 0; k < n; k += f->every) {
        const float v = p[k];
        const float vp = (float)((double)v + FD_H), vm = (float)((double)v - FD_H);
        p[k] = vp;
        double lp = fd_loss(f);
        ck_assert_uint_eq(pattern(f, f->pat), f->pat_len);
        ck_assert_msg(memcmp(f->pat, f->pat0, f->pat_len) == 0, "%s[%zu] + h crosses a kink",
                      what, k);
        p[k] = vm;
        double lm = fd_loss(f);
        ck_assert_uint_eq(pattern(f, f->pat), f->pat_len);
        ck_assert_msg(memcmp(f->pat, f->pat0, f->pat_len) == 0, "%s[%zu] - h crosses a kink",
                      what, k);
        p[k] = v;
        const double fd = (lp - lm) / ((double)vp - (double)vm);
        const double g = (double)grad[k], e = fabs(g - fd);
        ck_assert_msg(e <= FD_ATOL + FD_RTOL * fabs(fd),
                      "%s[%zu]: analytic %.9g, finite difference %.9g", what, k, g, fd);
        worst = fmax(worst, e);
    }
    return worst;
}

void fd_check_params(struct fd *f)
{
    fd_backward(f);
    for (int i = 0; i < f->m->n_layers; i++) {
        struct nn_layer *l = &f->m->layers[i];
        if (l->weight.data == NULL)
            continue;
        size_t nw = nn_tensor_size(&l->weight), nb = nn_tensor_size(&l->bias);
        float *gw = malloc(nw * sizeof *gw), *gb = malloc(nb * sizeof *gb);
        ck_assert(gw && gb);
        memcpy(gw, f->ws->dweight[i], nw * sizeof *gw);
        memcpy(gb, f->ws->dbias[i], nb * sizeof *gb);
        char what[64];
        snprintf(what, sizeof what, "layer %d %s weight", i, nn_layer_type_name(l->type));
        fd_check(f, l->weight.data, gw, nw, what);
        snprintf(what, sizeof what, "layer %d %s bias", i, nn_layer_type_name(l->type));
        fd_check(f, l->bias.data, gb, nb, what);
        free(gw);
        free(gb);
    }
}
