/* tensor.c: allocation of plain NCHW tensors; see tensor.h. */
#include "tensor.h"

#include <stdint.h>
#include <stdlib.h>

#include "base/err.h"

int nn_tensor_init(struct nn_tensor *t, int n, int c, int h, int w)
{
    if (n < 1 || c < 1 || h < 1 || w < 1)
        return CIM_EINVAL;
    size_t size = (size_t)n;
    if (cim_size_mul(size, (size_t)c, &size) || cim_size_mul(size, (size_t)h, &size) ||
        cim_size_mul(size, (size_t)w, &size) || size > SIZE_MAX / sizeof(float))
        return CIM_ENOMEM;
    float *data = calloc(size, sizeof *data);
    if (data == NULL)
        return CIM_ENOMEM;
    t->n = n;
    t->c = c;
    t->h = h;
    t->w = w;
    t->data = data;
    return CIM_OK;
}

void nn_tensor_release(struct nn_tensor *t)
{
    if (t == NULL)
        return;
    free(t->data);
    t->data = NULL;
    t->n = t->c = t->h = t->w = 0;
}
