/* exec.c: the FP32 backend: one sgemm per layer; see exec.h. */
#include "exec.h"

#include <cblas.h>

#include "base/err.h"

static int exec_fp32_matmul(void *ctx, int layer, enum nn_exec_layout layout, const float *x,
                            const float *w, float *y, int p, int o, int k)
{
    (void)ctx;
    (void)layer;
    if (layout == NN_EXEC_COLS) /* y [O, P] = W [O, K] x [K, P] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, o, p, k, 1.0f, w, k, x, p, 0.0f,
                    y, p);
    else /* y [P, O] = x [P, K] W^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p, o, k, 1.0f, x, k, w, k, 0.0f, y,
                    o);
    return CIM_OK;
}

const struct nn_exec nn_exec_fp32 = {"fp32", exec_fp32_matmul, NULL};
