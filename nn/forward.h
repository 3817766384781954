/*
 * forward.h: running a model forward (and backward) on a mini-batch.
 *
 * All memory a pass needs lives in a workspace sized once for a model and a
 * largest batch; passes never allocate. A workspace made for training also keeps
 * what the backward pass needs (every layer's output, pooling arg-max indices,
 * im2col patches) and the parameter gradients.
 *
 *     struct nn_ws *ws = nn_ws_alloc(m, 128, 0);
 *     const float *logits;
 *     nn_forward(m, &nn_exec_fp32, ws, x, b, &logits);   logits: [b, classes]
 *     nn_ws_free(ws);
 *
 * Activations are NCHW; a dense layer reads its input flattened per sample.
 *
 * Threads. A batch is cut into chunks of NN_CHUNK samples; each chunk goes
 * through all layers on one thread (OpenMP), with the BLAS single-threaded inside,
 * so the cores are owned by one level only and threads meet once per pass. The
 * chunking depends on the batch alone, and the per-chunk parameter gradients are
 * summed in chunk order, so results are bit-identical for any thread count.
 */
#ifndef CIM_NN_FORWARD_H
#define CIM_NN_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "nn/exec.h"
#include "nn/model.h"
#include "nn/noise.h"

/* Samples per chunk (see "Threads" above). */
#define NN_CHUNK 32

/* Fake quantization of a layer's input activations (see nn/quantize.h, which
 * sets it). With bits = 0 the input passes unchanged. */
struct nn_actq {
    int bits;    /* bits of the high-precision code; 0: not quantized */
    int drop;    /* low bits dropped from it (the nested low precision); else 0 */
    float scale; /* step of the high-precision code (when alpha is 0) */
    float alpha; /* > 0: PACT clip, the step is alpha / (2^bits - 1) */
};

struct nn_ws {
    int batch_max;
    int train;                                /* 1: backward possible */
    float *act[NN_MODEL_LAYERS_MAX + 1];      /* act[0]: input (borrowed); act[i+1]: layer i out */
    float *dact[NN_MODEL_LAYERS_MAX + 1];     /* gradients of act (train only; dact[0] unused) */
    int32_t *argmax[NN_MODEL_LAYERS_MAX];     /* maxpool: flat input index per output (train) */
    float *cols[NN_MODEL_LAYERS_MAX];         /* conv2d: im2col patches [ic*k*k, b*oh*ow] */
    /* conv2d scratch, per layer so that chunks at different layers never share it */
    float *rows[NN_MODEL_LAYERS_MAX];         /* outputs/gradients by channel [oc, b*oh*ow] */
    float *dcols[NN_MODEL_LAYERS_MAX];        /* patch gradients (train, not the first layer) */
    float *dweight[NN_MODEL_LAYERS_MAX];      /* parameter gradients (train) */
    float *dbias[NN_MODEL_LAYERS_MAX];
    float *dweight_part[NN_MODEL_LAYERS_MAX]; /* per-chunk partial gradients (train) */
    float *dbias_part[NN_MODEL_LAYERS_MAX];
    /* Weights a pass uses instead of the layer's own, when non-NULL (same shape):
     * how quantization-aware training feeds fake-quantized weights forward and
     * backward (straight-through) without touching the FP32 master copy. */
    const float *weight_eff[NN_MODEL_LAYERS_MAX];
    /* Activation quantization at the input of each dense/conv2d layer: the
     * quantized inputs, their straight-through masks (train), and per pass the
     * largest FP input value of each such layer (for moving-average ranges) and
     * PACT's gradient with respect to each clip (train). */
    struct nn_actq aq[NN_MODEL_LAYERS_MAX];
    float *actq[NN_MODEL_LAYERS_MAX];
    uint8_t *apass[NN_MODEL_LAYERS_MAX];
    float *amax_part[NN_MODEL_LAYERS_MAX];    /* per chunk */
    double *dalpha_part[NN_MODEL_LAYERS_MAX]; /* per chunk */
    float amax[NN_MODEL_LAYERS_MAX];
    double dalpha[NN_MODEL_LAYERS_MAX];
    /* Noise-aware training (nn/noise.h): when noise is non-NULL and has an acc
     * function, every dense/conv2d product of a pass gets it, as pass
     * (noise_step, noise_prec); the trainer sets these, NULL otherwise. */
    const struct nn_noise_hook *noise;
    long noise_step;
    int noise_prec;
};

/* A workspace for passes of at most `batch_max` samples through `m`; `train`
 * non-zero adds what nn_backward() needs. NULL when out of memory or when a size
 * would overflow. Free with nn_ws_free(). */
struct nn_ws *nn_ws_alloc(const struct nn_model *m, int batch_max, int train);

/* The bytes nn_ws_alloc(m, batch_max, train) would allocate, without allocating;
 * SIZE_MAX when a size would overflow. For refusing a batch that cannot fit in
 * memory before trying (see cim_mem_total()). */
size_t nn_ws_bytes(const struct nn_model *m, int batch_max, int train);

/* Free a workspace; accepts NULL. */
void nn_ws_free(struct nn_ws *ws);

/* Forward pass of `b` samples x [b, C, H, W] (borrowed until the next pass).
 * Sets *logits to the last layer's output [b, num_classes] inside `ws`. Returns
 * CIM_OK, CIM_EINVAL when b is outside 1..batch_max, or the backend's error. */
int nn_forward(const struct nn_model *m, const struct nn_exec *ex, struct nn_ws *ws,
               const float *x, int b, const float **logits);

/* Backward pass after nn_forward() on the same workspace (made with train != 0):
 * from dlogits [b, num_classes] (the loss gradient), fill ws->dweight and
 * ws->dbias (overwritten, not accumulated). The gradient with respect to the
 * network input is not computed. */
int nn_backward(const struct nn_model *m, struct nn_ws *ws, const float *dlogits, int b);

/* Use n threads for the chunks of a pass (0: OpenMP's default, i.e. all cores or
 * OMP_NUM_THREADS) and make the BLAS single-threaded. Passes call it with 0 on
 * first use; programs call it to honour a --threads option. */
void nn_threads_set(int n);

/* The number of threads passes use. */
int nn_threads_get(void);

/* Index of the largest logit of each of the b rows of logits [b, classes]. */
void nn_argmax_rows(const float *logits, int b, int classes, int *pred);

#endif
