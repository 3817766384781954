/*
 * conv2d.c: 2-D convolution as one matrix product per chunk of samples.
 *
 * im2col lays the input out as cols [K, P]: row (c, ky, kx) of K = ic*k*k holds,
 * for every output position p = (sample, oy, ox) of the P = b*oh*ow positions,
 * the input value under that kernel tap (zero in the padding). The convolution
 * is then y [oc, P] = W [oc, K] cols, one sgemm, and each column of cols is one
 * input vector, as a crossbar sees it. This layout makes im2col and its adjoint
 * copies of contiguous input rows, and y reaches NCHW by block copies of oh*ow
 * values while the bias is added.
 */
#include <string.h>

#include <cblas.h>

#include "base/err.h"
#include "nn/layers.h"

/* The output columns [lo, hi) whose tap kx falls inside the input row. */
static void tap_range(int ow, int iw, int st, int pad, int kx, int *lo, int *hi)
{
    int a = 0, z = ow;
    while (a < z && a * st - pad + kx < 0)
        a++;
    while (z > a && (z - 1) * st - pad + kx >= iw)
        z--;
    *lo = a;
    *hi = z;
}

void nn_im2col(const struct nn_layer *l, const float *x, float *cols, int b)
{
    const int ic = l->in.c, ih = l->in.h, iw = l->in.w;
    const int oh = l->out.h, ow = l->out.w, k = l->kernel, st = l->stride, pad = l->pad;
    const size_t hw = (size_t)oh * ow, p = (size_t)b * hw;
    for (int c = 0; c < ic; c++) {
        for (int ky = 0; ky < k; ky++) {
            for (int kx = 0; kx < k; kx++) {
                float *row = cols + ((size_t)(c * k + ky) * k + kx) * p;
                int lo, hi;
                tap_range(ow, iw, st, pad, kx, &lo, &hi);
                for (int s = 0; s < b; s++) {
                    const float *xc = x + ((size_t)s * ic + c) * ih * iw;
                    for (int oy = 0; oy < oh; oy++) {
                        float *dst = row + (size_t)s * hw + (size_t)oy * ow;
                        const int iy = oy * st - pad + ky;
                        if (iy < 0 || iy >= ih) {
                            memset(dst, 0, (size_t)ow * sizeof *dst);
                            continue;
                        }
                        const float *src = xc + (size_t)iy * iw - pad + kx;
                        for (int ox = 0; ox < lo; ox++)
                            dst[ox] = 0.0f;
                        if (st == 1) /* rows are short (ow values): a loop beats a call */
                            for (int ox = lo; ox < hi; ox++)
                                dst[ox] = src[ox];
                        else
                            for (int ox = lo; ox < hi; ox++)
                                dst[ox] = src[ox * st];
                        for (int ox = hi; ox < ow; ox++)
                            dst[ox] = 0.0f;
                    }
                }
            }
        }
    }
}

void nn_col2im(const struct nn_layer *l, const float *dcols, float *dx, int b)
{
    const int ic = l->in.c, ih = l->in.h, iw = l->in.w;
    const int oh = l->out.h, ow = l->out.w, k = l->kernel, st = l->stride, pad = l->pad;
    const size_t hw = (size_t)oh * ow, p = (size_t)b * hw;
    memset(dx, 0, (size_t)b * ic * ih * iw * sizeof *dx);
    for (int c = 0; c < ic; c++) {
        for (int ky = 0; ky < k; ky++) {
            for (int kx = 0; kx < k; kx++) {
                const float *row = dcols + ((size_t)(c * k + ky) * k + kx) * p;
                int lo, hi;
                tap_range(ow, iw, st, pad, kx, &lo, &hi);
                for (int s = 0; s < b; s++) {
                    float *dxc = dx + ((size_t)s * ic + c) * ih * iw;
                    for (int oy = 0; oy < oh; oy++) {
                        const int iy = oy * st - pad + ky;
                        if (iy < 0 || iy >= ih)
                            continue;
                        const float *src = row + (size_t)s * hw + (size_t)oy * ow;
                        float *dst = dxc + (size_t)iy * iw - pad + kx;
                        if (st == 1) /* contiguous: let the compiler vectorize it */
                            for (int ox = lo; ox < hi; ox++)
                                dst[ox] += src[ox];
                        else
                            for (int ox = lo; ox < hi; ox++)
                                dst[ox * st] += src[ox];
                    }
                }
            }
        }
    }
}

int nn_conv2d_forward(const struct nn_layer *l, int li, const struct nn_exec *ex, const float *w,
                      const float *x, float *y, float *cols, float *rows, int b)
{
    const int oc = l->out.c, hw = l->out.h * l->out.w;
    const int kk = l->in.c * l->kernel * l->kernel;
    const size_t p = (size_t)b * hw;
    nn_im2col(l, x, cols, b);
    int rc = ex->matmul(ex->ctx, li, NN_EXEC_COLS, cols, w, rows, (int)p, oc, kk);
    if (rc != CIM_OK)
        return rc;
    const float *bias = l->bias.data;
    for (int s = 0; s < b; s++)
        for (int c = 0; c < oc; c++) {
            const float *src = rows + (size_t)c * p + (size_t)s * hw;
            float *dst = y + ((size_t)s * oc + c) * hw;
            for (int q = 0; q < hw; q++)
                dst[q] = src[q] + bias[c];
        }
    if (l->act == NN_ACT_RELU)
        nn_relu_forward(y, (size_t)b * oc * hw);
    return CIM_OK;
}

/* With dy gathered into rows [oc, P]: dW = rows cols^T, db = row sums of rows,
 * dcols = W^T rows, dx = col2im(dcols). */
void nn_conv2d_backward(const struct nn_layer *l, const float *w, const float *cols,
                        const float *dy, float *dx, float *dw, float *db, float *rows,
                        float *dcols, int b)
{
    const int oc = l->out.c, hw = l->out.h * l->out.w;
    const int kk = l->in.c * l->kernel * l->kernel;
    const size_t p = (size_t)b * hw;
    memset(db, 0, (size_t)oc * sizeof *db);
    for (int s = 0; s < b; s++)
        for (int c = 0; c < oc; c++) {
            const float *src = dy + ((size_t)s * oc + c) * hw;
            float *dst = rows + (size_t)c * p + (size_t)s * hw;
            float sum = 0.0f;
            for (int q = 0; q < hw; q++) {
                dst[q] = src[q];
                sum += src[q];
            }
            db[c] += sum;
        }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, oc, kk, (int)p, 1.0f, rows, (int)p, cols,
                (int)p, 0.0f, dw, kk);
    if (dx != NULL) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kk, (int)p, oc, 1.0f, w, kk, rows,
                    (int)p, 0.0f, dcols, (int)p);
        nn_col2im(l, dcols, dx, b);
    }
}
