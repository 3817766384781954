/* h5io.c: HDF5 reading and writing with one-line errors; see h5io.h. */
#include "h5io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/atomic.h"
#include "data/model_file.h"

/* HDF5's reason for a failure, as quoted in our messages. */
#define REASON_MAX 160

/* HDF5 keeps a stack of errors, outermost last. The innermost one says what went
 * wrong at the bottom ("unable to open file: ... error message = 'Permission
 * denied'"); we keep its errno text when it has one, else its description. Any
 * HDF5 API call clears the stack, so this must run right after the failure. */
static herr_t reason_walk(unsigned n, const H5E_error2_t *e, void *data)
{
    char *out = data;
    if (n != 0 || e->desc == NULL)
        return 0;
    const char *key = "error message = '";
    const char *m = strstr(e->desc, key);
    if (m != NULL) {
        m += strlen(key);
        const char *end = strchr(m, '\'');
        snprintf(out, REASON_MAX, "%.*s", end ? (int)(end - m) : REASON_MAX - 1, m);
    } else {
        snprintf(out, REASON_MAX, "%s", e->desc);
    }
    return 0;
}

static void h5_reason(char out[REASON_MAX])
{
    out[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, reason_walk, out);
    if (out[0] == '\0')
        snprintf(out, REASON_MAX, "HDF5 error");
}

/* An HDF5 call failed on object `obj`: "<file>: <obj>: <what>: <reason>"; with a
 * NULL `obj` (the file as a whole), "<file>: <what>: <reason>". */
int data_h5_fail(struct data_h5io *io, int code, const char *obj, const char *fmt, ...)
{
    char why[REASON_MAX];
    h5_reason(why);
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (obj == NULL)
        return cim_err_set(io->err, code, "%s: %s: %s", io->file, what, why);
    return cim_err_set(io->err, code, "%s: %s: %s: %s", io->file, obj, what, why);
}

/* The content of object `obj` is not what the format says: "<file>: <obj>: <what>". */
int data_h5_bad(struct data_h5io *io, int code, const char *obj, const char *fmt, ...)
{
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return cim_err_set(io->err, code, "%s: %s: %s", io->file, obj, what);
}

/* A short name of an HDF5 datatype for messages: "int32", "float64", "string". */
void data_h5_type_desc(hid_t t, char *buf, size_t n)
{
    size_t bits = H5Tget_size(t) * 8;
    switch (H5Tget_class(t)) {
    case H5T_INTEGER:
        snprintf(buf, n, "%s%zu", H5Tget_sign(t) == H5T_SGN_NONE ? "uint" : "int", bits);
        break;
    case H5T_FLOAT: snprintf(buf, n, "float%zu", bits); break;
    case H5T_STRING: snprintf(buf, n, "string"); break;
    case H5T_COMPOUND: snprintf(buf, n, "compound"); break;
    case H5T_ENUM: snprintf(buf, n, "enum"); break;
    case H5T_ARRAY: snprintf(buf, n, "array"); break;
    case H5T_VLEN: snprintf(buf, n, "variable-length sequence"); break;
    case H5T_BITFIELD: snprintf(buf, n, "bitfield"); break;
    case H5T_OPAQUE: snprintf(buf, n, "opaque"); break;
    case H5T_REFERENCE: snprintf(buf, n, "reference"); break;
    default: snprintf(buf, n, "unknown type"); break;
    }
}

/* "[6, 1, 5, 5]" */
void data_h5_dims_desc(int rank, const hsize_t *dims, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

/* ---- writing: attributes and datasets ---------------------------------------- */

/* Fixed-length, null-terminated strings of exactly the value's length: h5py
 * reads them as bytes, h5dump prints them, and no reader needs a VL heap. */
hid_t data_h5_str_fixed(size_t len, H5T_cset_t cset)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return H5I_INVALID_HID;
    if (H5Tset_size(t, len + 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(t, cset) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* Variable-length UTF-8 strings, for texts of any length (the checkpoint's JSON
 * options): the attribute holds a reference, the text lives in the global heap,
 * so the 64 KiB limit of an object header does not apply. */
hid_t data_h5_str_vl(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return H5I_INVALID_HID;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* Create attribute `name` on `obj` with file type `ftype` and write `buf` (memory
 * type `mtype`); rank 0 is a scalar. */
int data_h5_put_attr(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                     hid_t ftype, hid_t mtype, int rank, const hsize_t *dims, const void *buf)
{
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
    if (space < 0)
        return data_h5_fail(io, CIM_EIO, opath, "cannot write attribute '%s'", name);
    int rc = CIM_OK;
    hid_t a = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) {
        rc = data_h5_fail(io, CIM_EIO, opath, "cannot create attribute '%s'", name);
    } else {
        if (H5Awrite(a, mtype, buf) < 0)
            rc = data_h5_fail(io, CIM_EIO, opath, "cannot write attribute '%s'", name);
        if (H5Aclose(a) < 0 && rc == CIM_OK)
            rc = data_h5_fail(io, CIM_EIO, opath, "cannot close attribute '%s'", name);
    }
    if (H5Sclose(space) < 0 && rc == CIM_OK)
        rc = data_h5_fail(io, CIM_EIO, opath, "cannot write attribute '%s'", name);
    return rc;
}

int data_h5_put_str(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                    const char *value, H5T_cset_t cset)
{
    hid_t t = data_h5_str_fixed(strlen(value), cset);
    if (t < 0)
        return data_h5_fail(io, CIM_EIO, opath, "cannot make a string type for '%s'", name);
    int rc = data_h5_put_attr(io, obj, opath, name, t, t, 0, NULL, value);
    if (H5Tclose(t) < 0 && rc == CIM_OK)
        rc = data_h5_fail(io, CIM_EIO, opath, "cannot close a string type");
    return rc;
}

int data_h5_put_str_vl(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                       const char *value)
{
    hid_t t = data_h5_str_vl();
    if (t < 0)
        return data_h5_fail(io, CIM_EIO, opath, "cannot make a string type for '%s'", name);
    int rc = data_h5_put_attr(io, obj, opath, name, t, t, 0, NULL, &value);
    if (H5Tclose(t) < 0 && rc == CIM_OK)
        rc = data_h5_fail(io, CIM_EIO, opath, "cannot close a string type");
    return rc;
}

int data_h5_put_i32(struct data_h5io *io, hid_t obj, const char *opath, const char *name, int v)
{
    return data_h5_put_attr(io, obj, opath, name, H5T_STD_I32LE, H5T_NATIVE_INT, 0, NULL, &v);
}

int data_h5_put_f64(struct data_h5io *io, hid_t obj, const char *opath, const char *name, double v)
{
    return data_h5_put_attr(io, obj, opath, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &v);
}

int data_h5_put_u64(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                    uint64_t v)
{
    return data_h5_put_attr(io, obj, opath, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, 0, NULL, &v);
}

/* A dataset `name` in `loc` of file type ftype and the given extents, written
 * from memory type mtype; `data` may be NULL when an extent is 0. */
static int put_dataset(struct data_h5io *io, hid_t loc, const char *dpath, const char *name,
                       hid_t ftype, hid_t mtype, int rank, const hsize_t *dims, const void *data)
{
    hsize_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    hid_t space = H5Screate_simple(rank, dims, NULL);
    if (space < 0)
        return data_h5_fail(io, CIM_EIO, dpath, "cannot create dataset");
    int rc = CIM_OK;
    hid_t d = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0) {
        rc = data_h5_fail(io, CIM_EIO, dpath, "cannot create dataset");
    } else {
        if (n > 0 && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
            rc = data_h5_fail(io, CIM_EIO, dpath, "cannot write dataset");
        if (H5Dclose(d) < 0 && rc == CIM_OK)
            rc = data_h5_fail(io, CIM_EIO, dpath, "cannot close dataset");
    }
    if (H5Sclose(space) < 0 && rc == CIM_OK)
        rc = data_h5_fail(io, CIM_EIO, dpath, "cannot close dataspace");
    return rc;
}

/* A float32 dataset `name` in `loc` of the given extents; `data` may be NULL when
 * an extent is 0 (HDF5 allows empty datasets; there is nothing to write). */
int data_h5_put_floats(struct data_h5io *io, hid_t loc, const char *dpath, const char *name,
                       int rank, const hsize_t *dims, const float *data)
{
    return put_dataset(io, loc, dpath, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, rank, dims, data);
}

int data_h5_group_create(struct data_h5io *io, hid_t loc, const char *name, const char *gpath,
                         hid_t *g)
{
    *g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (*g < 0)
        return data_h5_fail(io, CIM_EIO, gpath, "cannot create group");
    return CIM_OK;
}

int data_h5_group_close(struct data_h5io *io, hid_t g, const char *gpath, int rc)
{
    if (H5Gclose(g) < 0 && rc == CIM_OK)
        rc = data_h5_fail(io, CIM_EIO, gpath, "cannot close group");
    return rc;
}

/* Build the whole file in memory (HDF5's core driver, no backing store) and
 * return its bytes in *image (caller frees).
 *
 * Why not let HDF5 write the temporary file itself: when a write fails while
 * HDF5 1.10 flushes at H5Fclose (a full disk, EFBIG), the close fails yet the
 * file id stays registered over freed state, and the library crashes at process
 * exit. In memory, HDF5 never meets an I/O error; the bytes then go to disk
 * through plain write(2), whose errors we report and recover from ourselves. */
static int image_build(struct data_h5io *io, data_h5_contents_fn contents, void *ctx, void **image,
                       size_t *size)
{
    *image = NULL;
    *size = 0;
    /* The oldest file format that holds what we store (superblock 0, version 1
     * object headers, symbol-table groups): every HDF5 since 1.8 and every h5py
     * reads it. The upper bound keeps 1.10-only structures out. The newer
     * superblock that a V18 lower bound brings is not an option here: HDF5 1.10.8
     * returns it from H5Fget_file_image with a stale checksum. Nothing we write
     * needs more: no attribute comes near the 64 KiB object-header limit (the
     * long JSON options are a variable-length string, stored in the heap). */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return data_h5_fail(io, CIM_EIO, NULL, "cannot create file");
    int rc = CIM_OK;
    if (H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_V18) < 0 ||
        H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) < 0)
        rc = data_h5_fail(io, CIM_EIO, NULL, "cannot create file");
    hid_t file =
        rc == CIM_OK ? H5Fcreate(io->file, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : H5I_INVALID_HID;
    if (rc == CIM_OK && file < 0)
        rc = data_h5_fail(io, CIM_EIO, NULL, "cannot create file");
    if (H5Pclose(fapl) < 0 && rc == CIM_OK)
        rc = data_h5_fail(io, CIM_EIO, NULL, "cannot create file");
    if (file < 0)
        return rc;

    if (rc == CIM_OK)
        rc = contents(io, file, ctx);
    /* The image holds only what has been flushed from the metadata cache. */
    if (rc == CIM_OK && H5Fflush(file, H5F_SCOPE_GLOBAL) < 0)
        rc = data_h5_fail(io, CIM_EIO, NULL, "cannot build the file image");
    if (rc == CIM_OK) {
        ssize_t n = H5Fget_file_image(file, NULL, 0);
        if (n <= 0) {
            rc = data_h5_fail(io, CIM_EIO, NULL, "cannot build the file image");
        } else if ((*image = malloc((size_t)n)) == NULL) {
            rc = cim_err_set(io->err, CIM_ENOMEM, "%s: out of memory for a %zd-byte file", io->file,
                             n);
        } else if (H5Fget_file_image(file, *image, (size_t)n) != n) {
            rc = data_h5_fail(io, CIM_EIO, NULL, "cannot build the file image");
        } else {
            *size = (size_t)n;
        }
    }
    if (H5Fclose(file) < 0 && rc == CIM_OK)
        rc = data_h5_fail(io, CIM_EIO, NULL, "cannot close the in-memory file");
    if (rc != CIM_OK) {
        free(*image);
        *image = NULL;
        *size = 0;
    }
    return rc;
}

/* Write all `n` bytes of `buf` to a new file `tmp`; `path` names it in messages. */
static int bytes_write(const char *path, const char *tmp, const void *buf, size_t n,
                       struct cim_err *err)
{
    /* O_EXCL: the temporary name is ours alone; never follow or reuse another's. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        return cim_err_set(err, CIM_EIO, "%s: cannot create temporary file: %s", path,
                           strerror(errno));
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            close(fd);
            return cim_err_set(err, CIM_EIO, "%s: cannot write: %s", path, strerror(e));
        }
        p += w;
        n -= (size_t)w;
    }
    if (close(fd) != 0)
        return cim_err_set(err, CIM_EIO, "%s: cannot write: %s", path, strerror(errno));
    return CIM_OK;
}

int data_h5_save(const char *path, data_h5_contents_fn contents, void *ctx, struct cim_err *err)
{
    data_init();
    struct data_atomic a;
    int rc = data_atomic_begin(&a, path, err);
    if (rc != CIM_OK)
        return rc;
    struct data_h5io io = {path, err};
    void *image;
    size_t size;
    rc = image_build(&io, contents, ctx, &image, &size);
    if (rc == CIM_OK) {
        rc = bytes_write(path, a.tmp_path, image, size, err);
        free(image);
    }
    if (rc != CIM_OK) {
        data_atomic_abort(&a);
        return rc;
    }
    return data_atomic_commit(&a, err);
}

/* ---- reading: attributes ------------------------------------------------------ */

/* Open attribute `name` of `obj`. CIM_OK with *a open; CIM_OK with *a < 0 when it
 * is absent and not `required`; otherwise an error ("missing attribute"). */
int data_h5_attr_find(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                      const char *expect, int required, hid_t *a)
{
    *a = H5I_INVALID_HID;
    htri_t e = H5Aexists(obj, name);
    if (e < 0)
        return data_h5_fail(io, CIM_EFORMAT, opath, "cannot look up attribute '%s'", name);
    if (e == 0)
        return required ? data_h5_bad(io, CIM_EFORMAT, opath, "missing attribute '%s' (%s)", name,
                                      expect)
                        : CIM_OK;
    *a = H5Aopen(obj, name, H5P_DEFAULT);
    if (*a < 0)
        return data_h5_fail(io, CIM_EFORMAT, opath, "cannot open attribute '%s'", name);
    return CIM_OK;
}

/* Check that attribute `a` has class `cls` or `cls2` and holds `count` values (count 1:
 * a scalar or any one-element array; count > 1: a 1-D array of that length).
 * On success *type is its file datatype, to be closed by the caller. */
int data_h5_attr_check(struct data_h5io *io, hid_t a, const char *opath, const char *name,
                       const char *expect, H5T_class_t cls, H5T_class_t cls2, hssize_t count,
                       hid_t *type)
{
    *type = H5Aget_type(a);
    if (*type < 0)
        return data_h5_fail(io, CIM_EFORMAT, opath, "cannot read the type of attribute '%s'", name);
    H5T_class_t c = H5Tget_class(*type);
    if (c != cls && c != cls2) {
        char td[32];
        data_h5_type_desc(*type, td, sizeof td);
        H5Tclose(*type);
        *type = H5I_INVALID_HID;
        return data_h5_bad(io, CIM_EFORMAT, opath, "attribute '%s' is of type %s; expected %s",
                           name, td, expect);
    }
    hid_t space = H5Aget_space(a);
    if (space < 0) {
        int rc =
            data_h5_fail(io, CIM_EFORMAT, opath, "cannot read the shape of attribute '%s'", name);
        H5Tclose(*type);
        *type = H5I_INVALID_HID;
        return rc;
    }
    hssize_t np = H5Sget_simple_extent_npoints(space);
    int rank = H5Sget_simple_extent_ndims(space);
    H5Sclose(space);
    if (np != count || (count > 1 && rank != 1)) {
        H5Tclose(*type);
        *type = H5I_INVALID_HID;
        return data_h5_bad(io, CIM_EFORMAT, opath, "attribute '%s' holds %lld values; expected %s",
                           name, (long long)np, expect);
    }
    return CIM_OK;
}

/* Read string attribute `name` (fixed or variable length) into a new string
 * *out (caller frees); *out stays NULL when it is absent and not `required`. */
int data_h5_attr_str(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                     int required, char **out)
{
    *out = NULL;
    hid_t a, ft;
    int rc = data_h5_attr_find(io, obj, opath, name, "string", required, &a);
    if (rc != CIM_OK || a < 0)
        return rc;
    rc = data_h5_attr_check(io, a, opath, name, "a string", H5T_STRING, H5T_STRING, 1, &ft);
    if (rc != CIM_OK) {
        H5Aclose(a);
        return rc;
    }
    /* The memory type takes the file's character set: HDF5 does not convert
     * between ASCII and UTF-8 variable-length strings. */
    H5T_cset_t cset = H5Tget_cset(ft);
    hid_t mt = H5Tcopy(H5T_C_S1);
    htri_t vl = H5Tis_variable_str(ft);
    size_t size = H5Tget_size(ft);
    if (mt < 0 || vl < 0 || cset < 0 || H5Tset_cset(mt, cset) < 0) {
        rc = data_h5_fail(io, CIM_EFORMAT, opath, "cannot read attribute '%s'", name);
    } else if (vl > 0) {
        char *s = NULL;
        if (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Aread(a, mt, &s) < 0) {
            rc = data_h5_fail(io, CIM_EFORMAT, opath, "cannot read attribute '%s'", name);
        } else {
            size_t n = s ? strlen(s) : 0;
            *out = malloc(n + 1);
            if (*out == NULL)
                rc = cim_err_set(io->err, CIM_ENOMEM, "%s: %s: out of memory reading '%s'",
                                 io->file, opath, name);
            else
                memcpy(*out, s ? s : "", n + 1);
            H5free_memory(s);
        }
    } else {
        /* One byte more than stored, so that a value filling its whole
         * null-padded field still ends in a terminator. */
        char *s = size > 0 && size < SIZE_MAX ? calloc(size + 1, 1) : NULL;
        if (s == NULL) {
            rc = cim_err_set(io->err, CIM_ENOMEM, "%s: %s: out of memory reading '%s'", io->file,
                             opath, name);
        } else if (H5Tset_size(mt, size + 1) < 0 || H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 ||
                   H5Aread(a, mt, s) < 0) {
            rc = data_h5_fail(io, CIM_EFORMAT, opath, "cannot read attribute '%s'", name);
            free(s);
        } else {
            *out = s;
        }
    }
    if (mt >= 0)
        H5Tclose(mt);
    H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

/* A string attribute into a buffer of `size` bytes. Longer values are an error
 * for names that must be kept exactly (`truncate` 0) and cut otherwise. */
int data_h5_attr_strbuf(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                        int required, int truncate, char *buf, size_t size)
{
    char *s;
    int rc = data_h5_attr_str(io, obj, opath, name, required, &s);
    if (rc != CIM_OK || s == NULL)
        return rc;
    size_t n = strlen(s);
    if (n >= size && !truncate)
        rc = data_h5_bad(io, CIM_EFORMAT, opath,
                         "attribute '%s' is %zu characters long; at most %zu "
                         "are supported",
                         name, n, size - 1);
    else
        snprintf(buf, size, "%s", s);
    free(s);
    return rc;
}

/* Read `count` integers from attribute `name`, any integer type, each checked to
 * lie in [lo, hi]. *present is 0 when it is absent and not `required`. */
int data_h5_attr_ints(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                      const char *expect, int required, hssize_t count, long long lo, long long hi,
                      long long *v, int *present)
{
    *present = 0;
    hid_t a, ft;
    int rc = data_h5_attr_find(io, obj, opath, name, expect, required, &a);
    if (rc != CIM_OK || a < 0)
        return rc;
    rc = data_h5_attr_check(io, a, opath, name, expect, H5T_INTEGER, H5T_INTEGER, count, &ft);
    if (rc == CIM_OK) {
        H5Tclose(ft);
        /* Values beyond long long saturate and then fail the range check. */
        if (H5Aread(a, H5T_NATIVE_LLONG, v) < 0)
            rc = data_h5_fail(io, CIM_EFORMAT, opath, "cannot read attribute '%s'", name);
    }
    H5Aclose(a);
    for (hssize_t i = 0; rc == CIM_OK && i < count; i++)
        if (v[i] < lo || v[i] > hi)
            rc = data_h5_bad(io, CIM_EFORMAT, opath,
                             "attribute '%s' is %lld; expected %lld to %lld", name, v[i], lo, hi);
    if (rc == CIM_OK)
        *present = 1;
    return rc;
}

/* One int attribute into *out, left unchanged when absent and not `required`. */
int data_h5_attr_int(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                     int required, int lo, int *out)
{
    long long v;
    int present;
    int rc =
        data_h5_attr_ints(io, obj, opath, name, "int32", required, 1, lo, INT_MAX, &v, &present);
    if (rc == CIM_OK && present)
        *out = (int)v;
    return rc;
}

/* An optional scalar numeric attribute read as `mtype` into *out: `expect` names
 * the stored type for messages, `cls` is its HDF5 class and `alt` another class
 * accepted and converted. */
int data_h5_attr_num(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                     const char *expect, H5T_class_t cls, H5T_class_t alt, hid_t mtype, void *out)
{
    hid_t a, ft;
    int rc = data_h5_attr_find(io, obj, opath, name, expect, 0, &a);
    if (rc != CIM_OK || a < 0)
        return rc;
    rc = data_h5_attr_check(io, a, opath, name, expect, cls, alt, 1, &ft);
    if (rc == CIM_OK) {
        H5Tclose(ft);
        if (H5Aread(a, mtype, out) < 0)
            rc = data_h5_fail(io, CIM_EFORMAT, opath, "cannot read attribute '%s'", name);
    }
    H5Aclose(a);
    return rc;
}

/* An optional float64 attribute (integers are accepted and converted). */
int data_h5_attr_f64(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                     double *out)
{
    return data_h5_attr_num(io, obj, opath, name, "float64", H5T_FLOAT, H5T_INTEGER,
                            H5T_NATIVE_DOUBLE, out);
}

/* An optional uint64 attribute; read unsigned so that seeds >= 2^63 survive. */
int data_h5_attr_u64(struct data_h5io *io, hid_t obj, const char *opath, const char *name,
                     uint64_t *out)
{
    return data_h5_attr_num(io, obj, opath, name, "uint64", H5T_INTEGER, H5T_INTEGER,
                            H5T_NATIVE_UINT64, out);
}

/* ---- reading: groups and datasets -------------------------------------------- */

/* Open group `name` in `loc`. CIM_OK with *g open; CIM_OK with *g < 0 when it is
 * absent and not `required`; otherwise an error naming `gpath`. */
int data_h5_group_open(struct data_h5io *io, hid_t loc, const char *name, const char *gpath,
                       int required, hid_t *g)
{
    *g = H5I_INVALID_HID;
    htri_t e = H5Lexists(loc, name, H5P_DEFAULT);
    if (e < 0)
        return data_h5_fail(io, CIM_EFORMAT, gpath, "cannot look up group");
    if (e == 0)
        return required ? data_h5_bad(io, CIM_EFORMAT, gpath, "missing group") : CIM_OK;
    *g = H5Gopen2(loc, name, H5P_DEFAULT);
    if (*g < 0)
        return data_h5_fail(io, CIM_EFORMAT, gpath, "cannot open as a group");
    return CIM_OK;
}

int data_h5_open(struct data_h5io *io, const char *path, const char *what, hid_t *file)
{
    *file = H5I_INVALID_HID;
    data_init();
    if (path == NULL || path[0] == '\0')
        return cim_err_set(io->err, CIM_EINVAL, "empty %s name", what);
    struct stat st;
    if (stat(path, &st) != 0)
        return cim_err_set(io->err, CIM_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return cim_err_set(io->err, CIM_EIO, "%s: is a directory; expected an HDF5 %s", path, what);
    if (access(path, R_OK) != 0)
        return cim_err_set(io->err, CIM_EIO, "%s: cannot read: %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return cim_err_set(io->err, CIM_EFORMAT, "%s: not an HDF5 file", path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return data_h5_fail(io, CIM_EIO, NULL, "cannot open");
#if H5_VERSION_GE(1, 10, 7)
    /* HDF5 locks files it opens and, by default, fails on file systems without
     * locks (some NFS and container mounts). cim never modifies a file in place
     * (saving renames a new file over it), so a reader loses nothing when
     * the lock is unavailable. */
    if (H5Pset_file_locking(fapl, 1, 1) < 0) {
        int rc = data_h5_fail(io, CIM_EIO, NULL, "cannot open");
        H5Pclose(fapl);
        return rc;
    }
#endif
    *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    int rc = *file < 0 ? data_h5_fail(io, CIM_EIO, NULL, "cannot open") : CIM_OK;
    H5Pclose(fapl);
    return rc;
}

int data_h5_open_image(struct data_h5io *io, const void *buf, size_t len, hid_t *file)
{
    *file = H5I_INVALID_HID;
    data_init();
    if (buf == NULL || len == 0)
        return cim_err_set(io->err, CIM_EFORMAT, "%s: empty; expected an HDF5 file", io->file);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return data_h5_fail(io, CIM_EIO, NULL, "cannot open");
    int rc = CIM_OK;
    if (H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 || H5Pset_file_image(fapl, (void *)buf, len) < 0)
        rc = data_h5_fail(io, CIM_EIO, NULL, "cannot open");
    else if ((*file = H5Fopen(io->file, H5F_ACC_RDONLY, fapl)) < 0)
        rc = cim_err_set(io->err, CIM_EFORMAT, "%s: not an HDF5 file", io->file);
    H5Pclose(fapl);
    return rc;
}

/* ---- one-dimensional columns ---------------------------------------------------- */

int data_h5_put_column(struct data_h5io *io, hid_t loc, const char *dpath, const char *name,
                       hid_t ftype, hid_t mtype, size_t n, const void *data)
{
    const hsize_t dims[1] = {n};
    return put_dataset(io, loc, dpath, name, ftype, mtype, 1, dims, data);
}

int data_h5_put_strings(struct data_h5io *io, hid_t loc, const char *dpath, const char *name,
                        size_t n, const char *const *s)
{
    hid_t t = data_h5_str_vl();
    if (t < 0)
        return data_h5_fail(io, CIM_EIO, dpath, "cannot make a string type");
    int rc = data_h5_put_column(io, loc, dpath, name, t, t, n, s);
    if (H5Tclose(t) < 0 && rc == CIM_OK)
        rc = data_h5_fail(io, CIM_EIO, dpath, "cannot close a string type");
    return rc;
}

int data_h5_dset_stored(struct data_h5io *io, hid_t d, const char *dpath, size_t n, size_t elem)
{
    const hsize_t stored = H5Dget_storage_size(d);
    hid_t dcpl = H5Dget_create_plist(d);
    const H5D_layout_t layout = dcpl < 0 ? H5D_LAYOUT_ERROR : H5Pget_layout(dcpl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (layout == H5D_LAYOUT_ERROR)
        return data_h5_fail(io, CIM_EFORMAT, dpath, "cannot read the dataset's layout");
    const int whole = elem > 0 && (layout == H5D_CONTIGUOUS || layout == H5D_COMPACT);
    if (n > 0 && stored == 0)
        return data_h5_bad(io, CIM_EFORMAT, dpath, "no values stored; expected %zu", n);
    if (n > 0 && whole && stored != (hsize_t)n * elem)
        return data_h5_bad(io, CIM_EFORMAT, dpath, "%llu bytes stored for %zu values of %zu "
                           "bytes", (unsigned long long)stored, n, elem);
    return CIM_OK;
}

/* Open 1-D dataset `name`, check its class, length and storage (variable-length
 * strings: present only, their heap references have no fixed size to check). */
static int column_open(struct data_h5io *io, hid_t loc, const char *dpath, const char *name,
                       H5T_class_t cls, const char *expect, size_t n, hid_t *d)
{
    *d = H5I_INVALID_HID;
    htri_t e = H5Lexists(loc, name, H5P_DEFAULT);
    if (e < 0)
        return data_h5_fail(io, CIM_EFORMAT, dpath, "cannot look up dataset");
    if (e == 0)
        return data_h5_bad(io, CIM_EFORMAT, dpath, "missing dataset (%s [%zu])", expect, n);
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0)
        return data_h5_fail(io, CIM_EFORMAT, dpath, "cannot open as a dataset");
    int rc = CIM_OK;
    hid_t t = H5Dget_type(ds), space = H5Dget_space(ds);
    if (t < 0 || space < 0) {
        rc = data_h5_fail(io, CIM_EFORMAT, dpath, "cannot read the dataset's type and shape");
    } else {
        hsize_t dims[1];
        int rank = H5Sget_simple_extent_ndims(space);
        if (H5Tget_class(t) != cls) {
            char td[32];
            data_h5_type_desc(t, td, sizeof td);
            rc = data_h5_bad(io, CIM_EFORMAT, dpath, "type is %s; expected %s", td, expect);
        } else if (rank != 1 || H5Sget_simple_extent_dims(space, dims, NULL) < 0 ||
                   dims[0] != n) {
            rc = data_h5_bad(io, CIM_EFORMAT, dpath, "expected %zu values in one dimension", n);
        } else {
            rc = data_h5_dset_stored(io, ds, dpath, n, cls == H5T_STRING ? 0 : H5Tget_size(t));
        }
    }
    if (t >= 0)
        H5Tclose(t);
    if (space >= 0)
        H5Sclose(space);
    if (rc != CIM_OK)
        H5Dclose(ds);
    else
        *d = ds;
    return rc;
}

int data_h5_get_column(struct data_h5io *io, hid_t loc, const char *dpath, const char *name,
                       H5T_class_t cls, hid_t mtype, size_t n, void *out)
{
    hid_t d;
    const char *expect = cls == H5T_FLOAT ? "numbers" : "integers";
    int rc = column_open(io, loc, dpath, name, cls, expect, n, &d);
    if (rc != CIM_OK)
        return rc;
    if (n > 0 && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        rc = data_h5_fail(io, CIM_EFORMAT, dpath, "cannot read dataset");
    H5Dclose(d);
    return rc;
}

int data_h5_get_strings(struct data_h5io *io, hid_t loc, const char *dpath, const char *name,
                        size_t n, char **out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    hid_t d;
    int rc = column_open(io, loc, dpath, name, H5T_STRING, "strings", n, &d);
    if (rc != CIM_OK)
        return rc;
    char **vl = n > 0 ? calloc(n, sizeof *vl) : NULL;
    hid_t t = data_h5_str_vl();
    if ((n > 0 && vl == NULL) || t < 0) {
        rc = cim_err_set(io->err, CIM_ENOMEM, "%s: %s: out of memory", io->file, dpath);
    } else if (n > 0 && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, vl) < 0) {
        rc = data_h5_fail(io, CIM_EFORMAT, dpath, "cannot read dataset (variable-length UTF-8 "
                          "strings expected)");
    } else {
        for (size_t i = 0; i < n && rc == CIM_OK; i++) {
            const char *s = vl[i] ? vl[i] : "";
            if ((out[i] = malloc(strlen(s) + 1)) == NULL)
                rc = cim_err_set(io->err, CIM_ENOMEM, "%s: %s: out of memory", io->file, dpath);
            else
                memcpy(out[i], s, strlen(s) + 1);
        }
        for (size_t i = 0; i < n; i++)
            H5free_memory(vl[i]);
    }
    if (t >= 0)
        H5Tclose(t);
    free(vl);
    H5Dclose(d);
    if (rc != CIM_OK)
        for (size_t i = 0; i < n; i++) {
            free(out[i]);
            out[i] = NULL;
        }
    return rc;
}
