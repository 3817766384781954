/*
 * layers.h: forward and backward kernels of each layer type (internal to nn/).
 *
 * Each forward kernel reads x [b, in] and writes y [b, out] (NCHW per sample) and
 * applies the layer's fused activation. Each backward kernel receives dy with the
 * activation's gradient already applied (nn_relu_backward), writes the parameter
 * gradients, and writes dx only when dx is non-NULL. `w` is the weight the pass
 * uses (the layer's own or ws->weight_eff).
 */
#ifndef CIM_NN_LAYERS_H
#define CIM_NN_LAYERS_H

#include <stdint.h>

#include "nn/exec.h"
#include "nn/model.h"

int nn_dense_forward(const struct nn_layer *l, int li, const struct nn_exec *ex, const float *w,
                     const float *x, float *y, int b);
void nn_dense_backward(const struct nn_layer *l, const float *w, const float *x, const float *dy,
                       float *dx, float *dw, float *db, int b);

/* cols [ic*k*k, b*oh*ow] and rows [oc, b*oh*ow] are scratch; forward leaves the
 * patches in cols for the backward pass. */
int nn_conv2d_forward(const struct nn_layer *l, int li, const struct nn_exec *ex, const float *w,
                      const float *x, float *y, float *cols, float *rows, int b);
void nn_conv2d_backward(const struct nn_layer *l, const float *w, const float *cols,
                        const float *dy, float *dx, float *dw, float *db, float *rows,
                        float *dcols, int b);

/* Patches of x for a conv2d layer as cols [ic*k*k, b*oh*ow], one column per output
 * position (see conv2d.c); zero outside x. */
void nn_im2col(const struct nn_layer *l, const float *x, float *cols, int b);
/* The adjoint of nn_im2col: dx = sum of the patch gradients at each position. */
void nn_col2im(const struct nn_layer *l, const float *dcols, float *dx, int b);

/* argmax may be NULL (inference): then only y is written. */
void nn_maxpool_forward(const struct nn_layer *l, const float *x, float *y, int32_t *argmax,
                        int b);
void nn_maxpool_backward(const struct nn_layer *l, const int32_t *argmax, const float *dy,
                         float *dx, int b);

/* In place: y = max(y, 0). */
void nn_relu_forward(float *y, size_t n);
/* In place: dy = 0 where the ReLU output y is 0. */
void nn_relu_backward(const float *y, float *dy, size_t n);

#endif
