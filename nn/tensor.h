/*
 * tensor.h: plain float32 tensors in NCHW order.
 *
 * A tensor is plain data that anyone may read: four extents and a pointer. A dense
 * weight [out, in] is the tensor {n = out, c = in, h = 1, w = 1}; a batch of B
 * feature vectors of length F is {B, F, 1, 1}; a batch of images is {B, C, H, W}.
 * Element (n, c, h, w) is data[((n*C + c)*H + h)*W + w].
 *
 *     struct nn_tensor t = {0};
 *     if (nn_tensor_init(&t, 16, 6, 5, 5) != CIM_OK) ...;
 *     ...
 *     nn_tensor_release(&t);
 */
#ifndef CIM_NN_TENSOR_H
#define CIM_NN_TENSOR_H

#include <stddef.h>

struct nn_tensor {
    int n, c, h, w;
    float *data; /* owned by whoever called nn_tensor_init(); NULL when empty */
};

/* Number of elements; 0 for an empty tensor. */
static inline size_t nn_tensor_size(const struct nn_tensor *t)
{
    return t->data == NULL ? 0 : (size_t)t->n * (size_t)t->c * (size_t)t->h * (size_t)t->w;
}

/* Allocate zeroed storage for an n x c x h x w tensor (each extent >= 1) into `t`,
 * which must be empty. Returns CIM_OK, CIM_EINVAL for a non-positive extent, or
 * CIM_ENOMEM (also when the size overflows). */
int nn_tensor_init(struct nn_tensor *t, int n, int c, int h, int w);

/* Free the storage of `t` and make it empty; accepts an empty tensor. */
void nn_tensor_release(struct nn_tensor *t);

#endif
