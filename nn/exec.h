/*
 * exec.h: execution backends, the one place a layer's matrix product happens.
 *
 * The network code is written once. Dense and conv2d layers reduce their forward
 * pass to a single product of P input vectors (samples for dense, im2col patches
 * for conv) with the layer's weight matrix W [O, K]:
 *
 *     y(p, o) = sum_k x(p, k) * w[o, k]        p < P, o < O, k < K
 *
 * and hand it to a backend, in one of two layouts: NN_EXEC_ROWS, x [P, K] and
 * y [P, O] (one vector per row: dense layers), or NN_EXEC_COLS, x [K, P] and
 * y [O, P] (one vector per column: conv2d, whose im2col is fastest that way). nn_exec_fp32 computes it with OpenBLAS sgemm; the
 * fake-quant, integer and analog-crossbar backends of quant/ and cim/ plug in
 * here, so the same model runs digitally and on the crossbar model.
 */
#ifndef CIM_NN_EXEC_H
#define CIM_NN_EXEC_H

enum nn_exec_layout { NN_EXEC_ROWS, NN_EXEC_COLS };

struct nn_exec {
    const char *name;
    /* Compute y as above for layer `layer` (index in the model), row-major in the
     * given layout; y is overwritten. Returns CIM_OK or an error code. Called
     * concurrently from several threads, each on its own x and y. */
    int (*matmul)(void *ctx, int layer, enum nn_exec_layout layout, const float *x,
                  const float *w, float *y, int p, int o, int k);
    void *ctx;
};

/* Single-precision BLAS (OpenBLAS sgemm). */
extern const struct nn_exec nn_exec_fp32;

#endif
