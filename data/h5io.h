/*
 * h5io.h: reading and writing HDF5 files with one-line errors (inside data/).
 *
 * What the model store and the sweep store share: every HDF5 failure becomes
 * one message naming the file, the object and HDF5's own reason; files are
 * built in memory and land atomically; attributes are read with their type and
 * shape checked. A struct data_h5io carries the file name and the error of one
 * save or load.
 *
 *     static int contents(struct data_h5io *io, hid_t file, void *ctx)
 *     {
 *         return data_h5_put_i32(io, file, "/", "version", 1);
 *     }
 *     rc = data_h5_save("out.h5", contents, NULL, &err);
 */
#ifndef CIM_DATA_H5IO_H
#define CIM_DATA_H5IO_H

#include <stdint.h>

#include <hdf5.h>

#include "base/err.h"

#if defined(__GNUC__)
#define DATA_H5_FMT __attribute__((format(printf, 4, 5)))
#else
#define DATA_H5_FMT
#endif

/* What one save or load is working on, for messages. */
struct data_h5io {
    const char *file;
    struct cim_err *err;
};

/* Writes a file's contents into the open (in-memory) file. */
typedef int (*data_h5_contents_fn)(struct data_h5io *io, hid_t file, void *ctx);

/* An HDF5 call failed on object `obj` (NULL: the file as a whole): sets
 * "<file>: <obj>: <what>: <HDF5 reason>" and returns `code`. */
int data_h5_fail(struct data_h5io *io, int code, const char *obj, const char *fmt, ...) DATA_H5_FMT;

/* The content of `obj` is not what the format says: "<file>: <obj>: <what>". */
int data_h5_bad(struct data_h5io *io, int code, const char *obj, const char *fmt, ...) DATA_H5_FMT;

/* A short name of an HDF5 datatype for messages: "int32", "float64", "string". */
void data_h5_type_desc(hid_t t, char *buf, size_t n);

/* Extents for messages: "[6, 1, 5, 5]". */
void data_h5_dims_desc(int rank, const hsize_t *dims, char *buf, size_t n);

/* A fixed-length, null-terminated string type of `len` characters (close it). */
hid_t data_h5_str_fixed(size_t len, H5T_cset_t cset);

/* A variable-length UTF-8 string type (close it). */
hid_t data_h5_str_vl(void);

/* Create attribute `name` on `obj` (file type ftype) and write buf (memory
 * type mtype); rank 0 is a scalar. opath names `obj` in messages. */
int data_h5_put_attr(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                     hid_t ftype, hid_t mtype, int rank, const hsize_t *dims, const void *buf);

/* Scalar attributes: a fixed-length string, a variable-length one, int32,
 * float64, uint64. */
int data_h5_put_str(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                    const char *value, H5T_cset_t cset);

int data_h5_put_str_vl(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                       const char *value);

int data_h5_put_i32(struct data_h5io *io, hid_t obj, const char *opath, const char *name, int v);

int data_h5_put_f64(struct data_h5io *io, hid_t obj, const char *opath, const char *name, double v);

int data_h5_put_u64(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                    uint64_t v);

/* A float32 dataset `name` in `loc`; data may be NULL when an extent is 0. */
int data_h5_put_floats(struct data_h5io *io, hid_t loc, const char *dpath, const char *name,
                       int rank, const hsize_t *dims, const float *data);

/* Create group `name` in `loc` / close it, keeping the first error in rc. */
int data_h5_group_create(struct data_h5io *io, hid_t loc, const char *name, const char *gpath,
                         hid_t *g);

int data_h5_group_close(struct data_h5io *io, hid_t g, const char *gpath, int rc);

/* Save a new HDF5 file at `path`, atomically: the file is built in memory
 * (HDF5's core driver) by `contents`, written under a temporary name and
 * renamed (data/atomic.h). CIM_OK, or an error with a message naming path. */
int data_h5_save(const char *path, data_h5_contents_fn contents, void *ctx, struct cim_err *err);

/* Open attribute `name` of `obj`: CIM_OK with *a open; CIM_OK with *a < 0 when
 * absent and not `required`; else an error ("missing attribute 'name' (expect)"). */
int data_h5_attr_find(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                      const char *expect, int required, hid_t *a);

/* Check that attribute `a` has class cls or cls2 and holds `count` values;
 * *type gets its file type (caller closes). */
int data_h5_attr_check(struct data_h5io *io, hid_t a, const char *opath, const char *name,
                       const char *expect, H5T_class_t cls, H5T_class_t cls2, hssize_t count,
                       hid_t *type);

/* Readers of attributes, each checking type and shape with a message naming
 * the object: a string into a new *out (caller frees; NULL when absent and
 * optional); into a buffer (too long: an error unless `truncate`); `count`
 * integers within [lo, hi]; one int; a scalar number; float64 (integers
 * accepted); uint64. Optional attributes leave their output unchanged. */
int data_h5_attr_str(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                     int required, char **out);

int data_h5_attr_strbuf(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                        int required, int truncate, char *buf, size_t size);

int data_h5_attr_ints(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                      const char *expect, int required, hssize_t count, long long lo, long long hi,
                      long long *v, int *present);

int data_h5_attr_int(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                     int required, int lo, int *out);

int data_h5_attr_num(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                     const char *expect, H5T_class_t cls, H5T_class_t alt, hid_t mtype, void *out);

int data_h5_attr_f64(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                     double *out);

int data_h5_attr_u64(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                     uint64_t *out);

/* Open group `name` in `loc`: CIM_OK with *g open; CIM_OK with *g < 0 when
 * absent and not `required`; else an error naming gpath. */
int data_h5_group_open(struct data_h5io *io, hid_t loc, const char *name, const char *gpath,
                       int required, hid_t *g);

/* Open an existing HDF5 file for reading, with one-line errors for a missing,
 * unreadable, directory or non-HDF5 path (`what` names the expected file:
 * "model file", "sweep file"). */
int data_h5_open(struct data_h5io *io, const char *path, const char *what, hid_t *file);

/* Open the `len` bytes at `buf` (copied) as a read-only HDF5 file held in
 * memory (HDF5's core driver with a file image), named io->file in messages;
 * CIM_OK, or CIM_EFORMAT when HDF5 cannot open them as a file. */
int data_h5_open_image(struct data_h5io *io, const void *buf, size_t len, hid_t *file);

/* 1-D datasets ("columns") of n values: numbers of file type ftype written from
 * memory type mtype; variable-length UTF-8 strings. Readers check the class
 * (H5T_INTEGER, H5T_FLOAT, strings) and the length n, with messages naming
 * dpath; strings come back as new strings the caller frees (all NULL on
 * failure). */
int data_h5_put_column(struct data_h5io *io, hid_t loc, const char *dpath, const char *name,
                       hid_t ftype, hid_t mtype, size_t n, const void *data);
int data_h5_put_strings(struct data_h5io *io, hid_t loc, const char *dpath, const char *name,
                        size_t n, const char *const *s);
/* Whether open dataset `d` of `n` values stores them, before reading it:
 * libhdf5 1.10 copies a contiguous or compact dataset from the storage its
 * layout message names without checking that against the dataspace (a
 * damaged file whose compact storage held 0 bytes made H5Dread copy from a
 * null pointer). Refused: no storage at all for n > 0 (a dataset never
 * written holds fill values, not data), and contiguous or compact storage of
 * other than n * elem bytes (elem: bytes per value in the file; 0 skips this
 * check, for variable-length strings). CIM_OK or CIM_EFORMAT naming dpath. */
int data_h5_dset_stored(struct data_h5io *io, hid_t d, const char *dpath, size_t n, size_t elem);

int data_h5_get_column(struct data_h5io *io, hid_t loc, const char *dpath, const char *name,
                       H5T_class_t cls, hid_t mtype, size_t n, void *out);
int data_h5_get_strings(struct data_h5io *io, hid_t loc, const char *dpath, const char *name,
                        size_t n, char **out);

#endif
