/*
 * idx.h: reader for the IDX format of MNIST and Fashion-MNIST.
 *
 * An IDX file is a big-endian header (two zero bytes, a type byte, a rank byte,
 * then one uint32 extent per dimension) followed by the elements. cim reads the
 * unsigned-byte type (0x08) of rank 1 (labels) to 3 (images), gzip-compressed
 * (detected by the gzip magic, read through zlib) or plain. Everything is
 * validated: magic, type, rank, non-zero extents, and a payload of exactly the
 * announced length (no truncation, no trailing bytes).
 *
 *     struct data_idx idx = {0};
 *     if (data_idx_load("train-labels-idx1-ubyte.gz", &idx, &err) != CIM_OK) ...
 *     ... idx.dims[0] labels in idx.data ...
 *     data_idx_release(&idx);
 */
#ifndef CIM_DATA_IDX_H
#define CIM_DATA_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define DATA_IDX_RANK_MAX 3
/* Refuse files announcing more than this many elements (1 GiB) before allocating. */
#define DATA_IDX_ELEMS_MAX ((size_t)1 << 30)

struct data_idx {
    int rank;
    uint32_t dims[DATA_IDX_RANK_MAX];
    size_t count;  /* product of dims */
    uint8_t *data; /* count bytes, owned */
};

/* Load the IDX file at `path` (gzip or plain) into `out`, which must be empty.
 * CIM_OK; CIM_EIO when it cannot be opened or read; CIM_EFORMAT (message naming
 * `path` and what is wrong) for a bad magic, type, rank, extent, truncation or
 * trailing data; CIM_ENOMEM. On error `out` stays empty. */
int data_idx_load(const char *path, struct data_idx *out, struct cim_err *err);

/* Parse an already decompressed IDX image of `len` bytes; `name` is used in
 * messages. Same results as data_idx_load(). */
int data_idx_parse(const uint8_t *bytes, size_t len, const char *name, struct data_idx *out,
                   struct cim_err *err);

/* Free the data of `idx` and make it empty; accepts an empty one. */
void data_idx_release(struct data_idx *idx);

#endif
