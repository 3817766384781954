/* maxpool.c: max pooling over k x k windows (no padding), per channel. */
#include <string.h>

#include "nn/layers.h"

/* The common 2x2 window of stride 2, unrolled; same tie rule as the general loop. */
static void maxpool_2x2(const float *x, float *y, int32_t *argmax, size_t planes, int ih, int iw,
                        int oh, int ow)
{
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * ih * iw;
        float *yp = y + pl * oh * ow;
        int32_t *ap = argmax ? argmax + pl * oh * ow : NULL;
        for (int oy = 0; oy < oh; oy++) {
            const float *r0 = xp + (2 * oy) * iw, *r1 = r0 + iw;
            for (int ox = 0; ox < ow; ox++) {
                int best = 2 * oy * iw + 2 * ox;
                float v = r0[2 * ox];
                if (r0[2 * ox + 1] > v) {
                    v = r0[2 * ox + 1];
                    best = 2 * oy * iw + 2 * ox + 1;
                }
                if (r1[2 * ox] > v) {
                    v = r1[2 * ox];
                    best = (2 * oy + 1) * iw + 2 * ox;
                }
                if (r1[2 * ox + 1] > v) {
                    v = r1[2 * ox + 1];
                    best = (2 * oy + 1) * iw + 2 * ox + 1;
                }
                yp[oy * ow + ox] = v;
                if (ap)
                    ap[oy * ow + ox] = best;
            }
        }
    }
}

void nn_maxpool_forward(const struct nn_layer *l, const float *x, float *y, int32_t *argmax,
                        int b)
{
    const int ih = l->in.h, iw = l->in.w, oh = l->out.h, ow = l->out.w;
    const int k = l->kernel, st = l->stride;
    const size_t planes = (size_t)b * l->in.c;
    if (k == 2 && st == 2) {
        maxpool_2x2(x, y, argmax, planes, ih, iw, oh, ow);
        return;
    }
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * ih * iw;
        float *yp = y + pl * oh * ow;
        int32_t *ap = argmax ? argmax + pl * oh * ow : NULL;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                int best = (oy * st) * iw + ox * st;
                float v = xp[best];
                for (int ky = 0; ky < k; ky++) {
                    for (int kx = 0; kx < k; kx++) {
                        int idx = (oy * st + ky) * iw + ox * st + kx;
                        /* strict '>' keeps the first maximum: a tie sends the whole
                         * gradient to one input, as PyTorch does */
                        if (xp[idx] > v) {
                            v = xp[idx];
                            best = idx;
                        }
                    }
                }
                yp[oy * ow + ox] = v;
                if (ap)
                    ap[oy * ow + ox] = best;
            }
        }
    }
}

void nn_maxpool_backward(const struct nn_layer *l, const int32_t *argmax, const float *dy,
                         float *dx, int b)
{
    const size_t in_plane = (size_t)l->in.h * l->in.w, out_plane = (size_t)l->out.h * l->out.w;
    const size_t planes = (size_t)b * l->in.c;
    memset(dx, 0, planes * in_plane * sizeof *dx);
    for (size_t pl = 0; pl < planes; pl++) {
        float *dxp = dx + pl * in_plane;
        const float *dyp = dy + pl * out_plane;
        const int32_t *ap = argmax + pl * out_plane;
        for (size_t q = 0; q < out_plane; q++)
            dxp[ap[q]] += dyp[q];
    }
}
