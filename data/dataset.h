/*
 * dataset.h: an image-classification data set in memory (Fashion-MNIST, MNIST).
 *
 * Images are kept as the original 8-bit pixels; a mini-batch is gathered and
 * scaled to float32 in [0, 1] (pixel / 255, no mean subtraction, so that the
 * 8-bit input code of a quantized network is the pixel itself) by
 * data_set_batch(). Files are looked for in `dir`, or when `dir` is NULL in
 * $CIM_DATA, or else in DATA_DIR_DEFAULT (Debian's dataset-fashion-mnist):
 *
 *     train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]
 *     t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]
 *
 *     struct data_set test = {0};
 *     if (data_set_load(NULL, DATA_SPLIT_TEST, &test, &err) != CIM_OK) ...
 *     data_set_batch(&test, idx, 128, x, y);
 *     data_set_release(&test);
 */
#ifndef CIM_DATA_DATASET_H
#define CIM_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define DATA_DIR_DEFAULT "/usr/share/datasets/fashion-mnist"
#define DATA_CLASSES 10

enum data_split { DATA_SPLIT_TRAIN, DATA_SPLIT_TEST };

struct data_set {
    int n;           /* number of images */
    int c, h, w;     /* per-image shape (1, 28, 28) */
    int num_classes; /* DATA_CLASSES */
    uint8_t *pixels; /* n*c*h*w, owned */
    uint8_t *labels; /* n, each < num_classes, owned */
};

/* The directory to read: `dir` itself when not NULL, else $CIM_DATA if set and
 * non-empty, else DATA_DIR_DEFAULT. The result is borrowed (from `dir`, the
 * environment or a constant). */
const char *data_dir_resolve(const char *dir);

/* Load one split from `dir` (NULL: data_dir_resolve(NULL)) into `out`, which
 * must be empty (zeroed or released), preferring NAME.gz to NAME when both
 * exist. On success c = 1, h and w come from the image file, num_classes =
 * DATA_CLASSES, and `out` owns both arrays. Errors, each a one-line message
 * naming the file:
 *   CIM_EIO      a file is missing ("cannot open DIR/NAME.gz: No such file or
 *                directory (choose the data directory with --data DIR or
 *                CIM_DATA)") or unreadable;
 *   CIM_EFORMAT  a file is bad (see data_idx_load()), the images are not rank 3,
 *                the labels not rank 1, the counts differ, or a label is
 *                >= DATA_CLASSES;
 *   CIM_EUNSUPPORTED a valid IDX file of another element type;
 *   CIM_EINVAL   `dir` makes a path longer than 4095 bytes, or `split` is
 *                not a data_split;
 *   CIM_ENOMEM.
 * On error `out` stays empty. */
int data_set_load(const char *dir, enum data_split split, struct data_set *out,
                  struct cim_err *err);

/* Gather images idx[0..b) into x (b*c*h*w floats, pixel / 255.0f: the correctly
 * rounded quotient, so 0 -> 0.0f and 255 -> 1.0f exactly) and their labels into
 * y (b bytes; may be NULL). Indices must be in [0, n) (asserted). */
void data_set_batch(const struct data_set *ds, const int *idx, int b, float *x, uint8_t *y);

/* Same for the contiguous range [first, first + b), which must lie in [0, n). */
void data_set_range(const struct data_set *ds, int first, int b, float *x, uint8_t *y);

/* Free the data of `ds` and make it empty; accepts an empty one. */
void data_set_release(struct data_set *ds);

#endif
