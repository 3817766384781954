/*
 * nn_testutil.h: what the layer tests of tests/nn share: seeded random draws,
 * fills that keep a network away from its kinks, and a finite-difference
 * harness that checks a model's analytic gradients.
 *
 * A test draws from test_rng(k) (stream k of CIM_RNG_TEST under SEED), fills
 * parameters and inputs with uniform_fill() or lattice_fill(), then checks
 * gradients: fd_init() on a model, a batch and a loss, fd_check_params() (or
 * fd_backward() and fd_check() on chosen tensors), and fd_release(). A check
 * fails the test if a step of FD_H changes which ReLUs are on or which input a
 * pool picks, since the central difference then straddles a kink.
 */
#ifndef CIM_TESTS_NN_TESTUTIL_H
#define CIM_TESTS_NN_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "nn/forward.h"
#include "nn/model.h"
#include "testutil.h"

/* Finite-difference step: small enough that no perturbation crosses a ReLU or
 * max-pool kink (see lattice_fill: pre-activations sit >= 1/64 from zero, a step
 * moves them by at most h * max|x| = h), large enough to swamp float32 noise. */
#define FD_H 1e-2
/* The loss is a double sum over float32 logits, each rounded to a few ulps of
 * sums of magnitude <= 10 (dense) or of up to ~100 terms (conv2d), which leaves
 * ~1e-6 to ~1e-5 of noise in L and so ~1e-4 to ~5e-4 in (L+ - L-) / 2h; along
 * one parameter the loss is linear (or, with cross-entropy, smooth with h^2
 * truncation error ~1e-5). Measured errors stay below 5e-4 (conv2d's first
 * layer's bias, whose gradient sums over every output position); we allow 1e-3
 * absolute plus 1e-3 of the gradient, while a wrong term (one tap, one sample,
 * one position) is off by 1e-2 or more. */
#define FD_ATOL 1e-3
#define FD_RTOL 1e-3

/* The seed of every random draw in these tests. */
#define SEED 2385u

/* A model, a batch and a loss: L = sum r * logits when r is non-NULL (so that
 * dL/dlogits = r), else the mean softmax cross-entropy over labels y. */
struct fd {
    struct nn_model *m;
    struct nn_ws *ws;
    const float *x;
    int b;
    const float *r;
    const uint8_t *y;
    size_t every;              /* check every `every`-th parameter (1: all) */
    unsigned char *pat0, *pat; /* activation pattern: ReLU signs, pooling arg-max */
    size_t pat_cap, pat_len;   /* allocated for the largest batch; in use */
};

/* Stream k of CIM_RNG_TEST under SEED; the caller frees it with gsl_rng_free(). */
gsl_rng *test_rng(uint64_t k);

/* Fill v[0 .. n) with uniform floats in [lo, hi). */
void uniform_fill(gsl_rng *r, float *v, size_t n, double lo, double hi);

/* Fill v[0 .. n) with offset + step j, j uniform in [-half_range, half_range].
 *
 * Values on a lattice, so that a ReLU's pre-activation can never come near its
 * kink: inputs are multiples of 1/4 in [-1, 1], weights multiples of 1/8 in
 * [-1/2, 1/2], biases 1/64 plus a multiple of 1/32. Every sum x w is then a
 * multiple of 1/32 (exact in float), every pre-activation an odd multiple of 1/64,
 * at least 1/64 from zero, and a step of FD_H on one weight, bias or input moves
 * it by at most FD_H < 1/64. */
void lattice_fill(gsl_rng *r, float *v, size_t n, double step, int half_range, double offset);

/* Set up f for model m on batch x of b samples with loss r (or labels y); every = 1. */
void fd_init(struct fd *f, struct nn_model *m, const float *x, int b, const float *r,
             const uint8_t *y);

/* Free what fd_init() allocated (not the model nor the batch). */
void fd_release(struct fd *f);

/* Forward and backward at the current parameters; remembers the pattern. */
void fd_backward(struct fd *f);

/* Compare grad[k] with (L(v + h) - L(v - h)) / 2h for every f->every-th entry v
 * of p[0 .. n), after fd_backward(); the denominator is the difference of the two
 * float values actually used. `what` names p in messages. Returns the largest
 * error seen. */
double fd_check(struct fd *f, float *p, const float *grad, size_t n, const char *what);

/* Check the weight and bias gradients of every layer with parameters. */
void fd_check_params(struct fd *f);

#endif
