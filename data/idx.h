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

/* Load the IDX file at `path` (gzip or plain) into `out`, which must be empty
 * (zeroed or released). On success `out` owns `count` bytes in row-major order.
 * Returns CIM_OK, or with a one-line message naming `path`:
 *   CIM_EIO          the file cannot be opened or read (errno's reason);
 *   CIM_EFORMAT      bad magic, rank outside 1..DATA_IDX_RANK_MAX, an extent of 0,
 *                    more than DATA_IDX_ELEMS_MAX elements ("too large", refused
 *                    before allocating), a truncated header or payload, trailing
 *                    bytes, or a gzip stream that is cut or corrupt;
 *   CIM_EUNSUPPORTED a valid IDX element type other than unsigned byte
 *                    (0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32,
 *                    0x0E float64);
 *   CIM_ENOMEM       an allocation failed.
 * Memory grows with the data actually read, never with what a header claims.
 * Bytes after the end of a gzip stream are ignored by zlib (as by gunzip);
 * everything inside it is checked. On error `out` stays empty. */
int data_idx_load(const char *path, struct data_idx *out, struct cim_err *err);

/* Parse an already decompressed IDX image of `len` bytes (`bytes` is borrowed
 * and copied); `name` is used in messages in place of a path. Same checks,
 * results and messages as data_idx_load(). */
int data_idx_parse(const uint8_t *bytes, size_t len, const char *name, struct data_idx *out,
                   struct cim_err *err);

/* Free the data of `idx` and make it empty; accepts an empty one. */
void data_idx_release(struct data_idx *idx);

#endif
