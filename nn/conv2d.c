/*
 * conv2d.c: 2-D convolution as one matrix product over the whole batch.
 *
 * Every output position of every sample is one row of the patch matrix
 * cols [b*oh*ow, ic*k*k] (im2col); the convolution is then the product of cols
 * with the weight matrix [oc, ic*k*k], a single sgemm per layer and batch, which
 * is also exactly the view a crossbar takes: each patch is one input vector
 * applied to the array's rows. The product comes out patch-major [b*oh*ow, oc]
 * and is transposed into NCHW while the bias is added.
 */
#include <string.h>

#include <cblas.h>

#include "base/err.h"
#include "nn/layers.h"

void nn_im2col(const struct nn_layer *l, const float *x, float *cols, int b)
{
    const int ic = l->in.c, ih = l->in.h, iw = l->in.w;
    const int oh = l->out.h, ow = l->out.w, k = l->kernel, st = l->stride, pad = l->pad;
    const size_t kk = (size_t)ic * k * k;
    for (int s = 0; s < b; s++) {
        const float *xs = x + (size_t)s * ic * ih * iw;
        for (int y = 0; y < oh; y++) {
            for (int xo = 0; xo < ow; xo++) {
                float *row = cols + (((size_t)s * oh + y) * ow + xo) * kk;
                const int y0 = y * st - pad, x0 = xo * st - pad;
                for (int c = 0; c < ic; c++) {
                    const float *xc = xs + (size_t)c * ih * iw;
                    for (int ky = 0; ky < k; ky++) {
                        float *dst = row + ((size_t)c * k + ky) * k;
                        const int yy = y0 + ky;
                        if (yy < 0 || yy >= ih) {
                            memset(dst, 0, (size_t)k * sizeof *dst);
                            continue;
                        }
                        const float *src = xc + (size_t)yy * iw;
                        for (int kx = 0; kx < k; kx++) {
                            const int xx = x0 + kx;
                            dst[kx] = (xx >= 0 && xx < iw) ? src[xx] : 0.0f;
                        }
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
    const size_t kk = (size_t)ic * k * k;
    memset(dx, 0, (size_t)b * ic * ih * iw * sizeof *dx);
    for (int s = 0; s < b; s++) {
        float *dxs = dx + (size_t)s * ic * ih * iw;
        for (int y = 0; y < oh; y++) {
            for (int xo = 0; xo < ow; xo++) {
                const float *row = dcols + (((size_t)s * oh + y) * ow + xo) * kk;
                const int y0 = y * st - pad, x0 = xo * st - pad;
                for (int c = 0; c < ic; c++) {
                    float *dxc = dxs + (size_t)c * ih * iw;
                    for (int ky = 0; ky < k; ky++) {
                        const int yy = y0 + ky;
                        if (yy < 0 || yy >= ih)
                            continue;
                        const float *src = row + ((size_t)c * k + ky) * k;
                        float *dst = dxc + (size_t)yy * iw;
                        for (int kx = 0; kx < k; kx++) {
                            const int xx = x0 + kx;
                            if (xx >= 0 && xx < iw)
                                dst[xx] += src[kx];
                        }
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
    nn_im2col(l, x, cols, b);
    int rc = ex->matmul(ex->ctx, li, cols, w, rows, b * hw, oc, kk);
    if (rc != CIM_OK)
        return rc;
    const float *bias = l->bias.data;
    for (int s = 0; s < b; s++) {
        const float *rs = rows + (size_t)s * hw * oc;
        float *ys = y + (size_t)s * oc * hw;
        for (int p = 0; p < hw; p++)
            for (int c = 0; c < oc; c++)
                ys[(size_t)c * hw + p] = rs[(size_t)p * oc + c] + bias[c];
    }
    if (l->act == NN_ACT_RELU)
        nn_relu_forward(y, (size_t)b * oc * hw);
    return CIM_OK;
}

/* With dy gathered patch-major into rows [b*hw, oc]:
 * dW = rows^T cols, db = column sums of rows, dcols = rows W, dx = col2im(dcols). */
void nn_conv2d_backward(const struct nn_layer *l, const float *w, const float *cols,
                        const float *dy, float *dx, float *dw, float *db, float *rows,
                        float *dcols, int b)
{
    const int oc = l->out.c, hw = l->out.h * l->out.w;
    const int kk = l->in.c * l->kernel * l->kernel;
    const int p = b * hw;
    memset(db, 0, (size_t)oc * sizeof *db);
    for (int s = 0; s < b; s++) {
        const float *dys = dy + (size_t)s * oc * hw;
        float *rs = rows + (size_t)s * hw * oc;
        for (int c = 0; c < oc; c++) {
            const float *dyc = dys + (size_t)c * hw;
            float sum = 0.0f;
            for (int q = 0; q < hw; q++) {
                rs[(size_t)q * oc + c] = dyc[q];
                sum += dyc[q];
            }
            db[c] += sum;
        }
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, oc, kk, p, 1.0f, rows, oc, cols, kk,
                0.0f, dw, kk);
    if (dx != NULL) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p, kk, oc, 1.0f, rows, oc, w, kk,
                    0.0f, dcols, kk);
        nn_col2im(l, dcols, dx, b);
    }
}
