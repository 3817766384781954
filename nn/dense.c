/* dense.c: fully connected layer, y = x W^T + b on flattened samples. */
#include <string.h>

#include <cblas.h>

#include "base/err.h"
#include "nn/layers.h"

int nn_dense_forward(const struct nn_layer *l, int li, const struct nn_exec *ex, const float *w,
                     const float *x, float *y, int b)
{
    const int out = l->weight.n, in = l->weight.c;
    int rc = ex->matmul(ex->ctx, li, NN_EXEC_ROWS, x, w, y, b, out, in);
    if (rc != CIM_OK)
        return rc;
    const float *bias = l->bias.data;
    for (int s = 0; s < b; s++) {
        float *ys = y + (size_t)s * out;
        for (int o = 0; o < out; o++)
            ys[o] += bias[o];
    }
    if (l->act == NN_ACT_RELU)
        nn_relu_forward(y, (size_t)b * out);
    return CIM_OK;
}

/* dW = dy^T x, db = column sums of dy, dx = dy W. */
void nn_dense_backward(const struct nn_layer *l, const float *w, const float *x, const float *dy,
                       float *dx, float *dw, float *db, int b)
{
    const int out = l->weight.n, in = l->weight.c;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, b, 1.0f, dy, out, x, in, 0.0f,
                dw, in);
    memset(db, 0, (size_t)out * sizeof *db);
    for (int s = 0; s < b; s++) {
        const float *dys = dy + (size_t)s * out;
        for (int o = 0; o < out; o++)
            db[o] += dys[o];
    }
    if (dx != NULL)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, in, out, 1.0f, dy, out, w, in,
                    0.0f, dx, in);
}

void nn_relu_forward(float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = y[i] > 0.0f ? y[i] : 0.0f;
}

void nn_relu_backward(const float *y, float *dy, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}
