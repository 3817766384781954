/*
 * model_file.c: the HDF5 model store; see model_file.h, and docs/FORMAT.md for
 * every name in the file.
 *
 * Writing is straightforward: one group per layer, attributes for the structure,
 * float32 datasets for the parameters, built in memory and written to a
 * temporary file that is renamed into place only when complete (data/atomic.h).
 *
 * Reading trusts nothing. A model file may come from another program (h5py, a
 * converter) or be damaged, so every attribute and dataset is checked for
 * presence, class, size, rank and extents before it is used, the network is
 * rebuilt from its attributes with the same nn_model_add_* calls a user would
 * make, and the stored parameters must have exactly the shapes the rebuilt layers
 * imply. Every failure becomes one line that names the file and the HDF5 object.
 *
 * HDF5 identifiers are closed on every path, success or failure: a leaked id
 * keeps the file open (and locked) for the life of the process.
 */
#include "model_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>

#include "cim_config.h"
#include "data/atomic.h"

#if defined(__GNUC__)
#define FMT_ATTR __attribute__((format(printf, 4, 5)))
#else
#define FMT_ATTR
#endif

/* Object paths in messages: a layer group "/layers/NNN_<type>" and a dataset
 * inside it ("/layers/NNN_<type>/weight"), with room to spare. */
#define GROUP_PATH_MAX 64
#define OBJ_PATH_MAX (GROUP_PATH_MAX + 32)

/* Extents of a parameter dataset: at most 4 (a conv2d weight). */
#define RANK_MAX 4

/* HDF5's reason for a failure, as quoted in our messages. */
#define REASON_MAX 160

void data_init(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* ---- errors ----------------------------------------------------------------- */

/* What one save or load is working on, for messages. */
struct h5io {
    const char *file;
    struct cim_err *err;
};

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
static int io_fail(struct h5io *io, int code, const char *obj, const char *fmt, ...) FMT_ATTR;
static int io_fail(struct h5io *io, int code, const char *obj, const char *fmt, ...)
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
static int io_bad(struct h5io *io, int code, const char *obj, const char *fmt, ...) FMT_ATTR;
static int io_bad(struct h5io *io, int code, const char *obj, const char *fmt, ...)
{
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return cim_err_set(io->err, code, "%s: %s: %s", io->file, obj, what);
}

/* A short name of an HDF5 datatype for messages: "int32", "float64", "string". */
static void type_desc(hid_t t, char *buf, size_t n)
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
static void dims_desc(int rank, const hsize_t *dims, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%llu", i ? ", " : "",
                              (unsigned long long)dims[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

/* ---- writing: attributes and datasets ---------------------------------------- */

/* Fixed-length, null-terminated strings of exactly the value's length: h5py
 * reads them as bytes, h5dump prints them, and no reader needs a VL heap. */
static hid_t str_type_fixed(size_t len, H5T_cset_t cset)
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
static hid_t str_type_vl(void)
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
static int put_attr(struct h5io *io, hid_t obj, const char *opath, const char *name, hid_t ftype,
                    hid_t mtype, int rank, const hsize_t *dims, const void *buf)
{
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
    if (space < 0)
        return io_fail(io, CIM_EIO, opath, "cannot write attribute '%s'", name);
    int rc = CIM_OK;
    hid_t a = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) {
        rc = io_fail(io, CIM_EIO, opath, "cannot create attribute '%s'", name);
    } else {
        if (H5Awrite(a, mtype, buf) < 0)
            rc = io_fail(io, CIM_EIO, opath, "cannot write attribute '%s'", name);
        if (H5Aclose(a) < 0 && rc == CIM_OK)
            rc = io_fail(io, CIM_EIO, opath, "cannot close attribute '%s'", name);
    }
    if (H5Sclose(space) < 0 && rc == CIM_OK)
        rc = io_fail(io, CIM_EIO, opath, "cannot write attribute '%s'", name);
    return rc;
}

static int put_str(struct h5io *io, hid_t obj, const char *opath, const char *name,
                   const char *value, H5T_cset_t cset)
{
    hid_t t = str_type_fixed(strlen(value), cset);
    if (t < 0)
        return io_fail(io, CIM_EIO, opath, "cannot make a string type for '%s'", name);
    int rc = put_attr(io, obj, opath, name, t, t, 0, NULL, value);
    if (H5Tclose(t) < 0 && rc == CIM_OK)
        rc = io_fail(io, CIM_EIO, opath, "cannot close a string type");
    return rc;
}

static int put_str_vl(struct h5io *io, hid_t obj, const char *opath, const char *name,
                      const char *value)
{
    hid_t t = str_type_vl();
    if (t < 0)
        return io_fail(io, CIM_EIO, opath, "cannot make a string type for '%s'", name);
    int rc = put_attr(io, obj, opath, name, t, t, 0, NULL, &value);
    if (H5Tclose(t) < 0 && rc == CIM_OK)
        rc = io_fail(io, CIM_EIO, opath, "cannot close a string type");
    return rc;
}

static int put_i32(struct h5io *io, hid_t obj, const char *opath, const char *name, int v)
{
    return put_attr(io, obj, opath, name, H5T_STD_I32LE, H5T_NATIVE_INT, 0, NULL, &v);
}

static int put_f64(struct h5io *io, hid_t obj, const char *opath, const char *name, double v)
{
    return put_attr(io, obj, opath, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &v);
}

static int put_u64(struct h5io *io, hid_t obj, const char *opath, const char *name, uint64_t v)
{
    return put_attr(io, obj, opath, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, 0, NULL, &v);
}

/* A float32 dataset `name` in `loc` of the given extents; `data` may be NULL when
 * an extent is 0 (HDF5 allows empty datasets; there is nothing to write). */
static int put_floats(struct h5io *io, hid_t loc, const char *dpath, const char *name, int rank,
                      const hsize_t *dims, const float *data)
{
    hsize_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    hid_t space = H5Screate_simple(rank, dims, NULL);
    if (space < 0)
        return io_fail(io, CIM_EIO, dpath, "cannot create dataset");
    int rc = CIM_OK;
    hid_t d = H5Dcreate2(loc, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0) {
        rc = io_fail(io, CIM_EIO, dpath, "cannot create dataset");
    } else {
        if (n > 0 && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
            rc = io_fail(io, CIM_EIO, dpath, "cannot write dataset");
        if (H5Dclose(d) < 0 && rc == CIM_OK)
            rc = io_fail(io, CIM_EIO, dpath, "cannot close dataset");
    }
    if (H5Sclose(space) < 0 && rc == CIM_OK)
        rc = io_fail(io, CIM_EIO, dpath, "cannot close dataspace");
    return rc;
}

static int group_create(struct h5io *io, hid_t loc, const char *name, const char *gpath, hid_t *g)
{
    *g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (*g < 0)
        return io_fail(io, CIM_EIO, gpath, "cannot create group");
    return CIM_OK;
}

static int group_close(struct h5io *io, hid_t g, const char *gpath, int rc)
{
    if (H5Gclose(g) < 0 && rc == CIM_OK)
        rc = io_fail(io, CIM_EIO, gpath, "cannot close group");
    return rc;
}

/* ---- writing: the model ----------------------------------------------------- */

/* A quantized layer's steps: dataset weight_scale [precisions, rows] (rows: one
 * per output channel, or 1 per tensor) and attribute input_scale. */
static int layer_quant_write(struct h5io *io, hid_t g, const char *gpath, const struct nn_layer *l,
                             int n_prec)
{
    const size_t rows = nn_tensor_size(&l->wscale[0]);
    float buf[NN_PREC_MAX * 4096];
    float *all = rows * (size_t)n_prec <= sizeof buf / sizeof buf[0]
                     ? buf : malloc(rows * (size_t)n_prec * sizeof *all);
    if (all == NULL)
        return io_fail(io, CIM_ENOMEM, gpath, "out of memory");
    for (int p = 0; p < n_prec; p++)
        memcpy(all + (size_t)p * rows, l->wscale[p].data, rows * sizeof *all);
    char dpath[OBJ_PATH_MAX];
    snprintf(dpath, sizeof dpath, "%s/weight_scale", gpath);
    const hsize_t dims[2] = {(hsize_t)n_prec, (hsize_t)rows};
    int rc = put_floats(io, g, dpath, "weight_scale", 2, dims, all);
    if (all != buf)
        free(all);
    if (!rc)
        rc = put_attr(io, g, gpath, "input_scale", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 0, NULL,
                      &l->ascale);
    return rc;
}

static int layer_write(struct h5io *io, hid_t layers, int i, const struct nn_layer *l,
                       int n_prec)
{
    char name[32], gpath[GROUP_PATH_MAX];
    snprintf(name, sizeof name, "%03d_%s", i, nn_layer_type_name(l->type));
    snprintf(gpath, sizeof gpath, "/layers/%s", name);
    hid_t g;
    int rc = group_create(io, layers, name, gpath, &g);
    if (rc != CIM_OK)
        return rc;
    rc = put_str(io, g, gpath, "type", nn_layer_type_name(l->type), H5T_CSET_ASCII);
    if (!rc)
        rc = put_str(io, g, gpath, "activation", nn_act_name(l->act), H5T_CSET_ASCII);
    hsize_t wdims[RANK_MAX] = {0};
    int wrank = 0;
    switch (l->type) {
    case NN_LAYER_DENSE:
        if (!rc)
            rc = put_i32(io, g, gpath, "units", l->out.c);
        wrank = 2;
        wdims[0] = (hsize_t)l->weight.n;
        wdims[1] = (hsize_t)l->weight.c;
        break;
    case NN_LAYER_CONV2D:
        if (!rc)
            rc = put_i32(io, g, gpath, "channels", l->out.c);
        wrank = 4;
        wdims[0] = (hsize_t)l->weight.n;
        wdims[1] = (hsize_t)l->weight.c;
        wdims[2] = (hsize_t)l->weight.h;
        wdims[3] = (hsize_t)l->weight.w;
        break;
    case NN_LAYER_MAXPOOL:
        break;
    }
    if (l->type != NN_LAYER_DENSE) {
        if (!rc)
            rc = put_i32(io, g, gpath, "kernel", l->kernel);
        if (!rc)
            rc = put_i32(io, g, gpath, "stride", l->stride);
        if (!rc)
            rc = put_i32(io, g, gpath, "padding", l->type == NN_LAYER_MAXPOOL ? 0 : l->pad);
    }
    if (wrank > 0) {
        char dpath[OBJ_PATH_MAX];
        hsize_t bdims[1] = {(hsize_t)l->bias.n};
        snprintf(dpath, sizeof dpath, "%s/weight", gpath);
        if (!rc)
            rc = put_floats(io, g, dpath, "weight", wrank, wdims, l->weight.data);
        snprintf(dpath, sizeof dpath, "%s/bias", gpath);
        if (!rc)
            rc = put_floats(io, g, dpath, "bias", 1, bdims, l->bias.data);
        if (!rc && n_prec > 0)
            rc = layer_quant_write(io, g, gpath, l, n_prec);
    }
    return group_close(io, g, gpath, rc);
}

static int record_write(struct h5io *io, hid_t file, const struct nn_train_record *r)
{
    const char *gp = "/training";
    hid_t g;
    int rc = group_create(io, file, "training", gp, &g);
    if (rc != CIM_OK)
        return rc;

    /* `created` is the time of saving: stamp it unless the caller already did. */
    char created[sizeof r->created];
    snprintf(created, sizeof created, "%s", r->created);
    if (created[0] == '\0') {
        time_t now = time(NULL);
        struct tm tm;
        if (now != (time_t)-1 && gmtime_r(&now, &tm) != NULL)
            strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }

    rc = put_str(io, g, gp, "command", r->command, H5T_CSET_UTF8);
    if (!rc)
        rc = put_str(io, g, gp, "optimizer", r->optimizer, H5T_CSET_ASCII);
    if (!rc)
        rc = put_str(io, g, gp, "created", created, H5T_CSET_ASCII);
    if (!rc)
        rc = put_i32(io, g, gp, "epochs", r->epochs);
    if (!rc)
        rc = put_i32(io, g, gp, "batch", r->batch);
    if (!rc)
        rc = put_f64(io, g, gp, "lr", r->lr);
    if (!rc)
        rc = put_f64(io, g, gp, "test_accuracy", r->test_accuracy);
    if (!rc)
        rc = put_f64(io, g, gp, "train_loss", r->train_loss);
    if (!rc)
        rc = put_f64(io, g, gp, "seconds", r->seconds);
    if (!rc)
        rc = put_u64(io, g, gp, "seed", r->seed);
    return group_close(io, g, gp, rc);
}

/* /quant: how the model is quantized (docs/FORMAT.md). */
static int quant_write(struct h5io *io, hid_t file, const struct nn_quant *q)
{
    const char *gp = "/quant";
    hid_t g;
    int rc = group_create(io, file, "quant", gp, &g);
    if (rc != CIM_OK)
        return rc;
    const hsize_t np[1] = {(hsize_t)q->n_prec};
    rc = put_str(io, g, gp, "scheme", quant_scheme_name(q->scheme), H5T_CSET_ASCII);
    if (!rc)
        rc = put_i32(io, g, gp, "precisions", q->n_prec);
    if (!rc)
        rc = put_attr(io, g, gp, "weight_bits", H5T_STD_I32LE, H5T_NATIVE_INT, 1, np, q->wbits);
    if (!rc)
        rc = put_attr(io, g, gp, "activation_bits", H5T_STD_I32LE, H5T_NATIVE_INT, 1, np,
                      q->abits);
    if (!rc)
        rc = put_i32(io, g, gp, "per_channel", q->per_channel);
    if (!rc)
        rc = put_str(io, g, gp, "weight_range", q->wrange, H5T_CSET_ASCII);
    if (!rc)
        rc = put_str(io, g, gp, "activation_range", q->arange, H5T_CSET_ASCII);
    if (!rc)
        rc = put_f64(io, g, gp, "percentile", q->percentile);
    return group_close(io, g, gp, rc);
}

static int checkpoint_write(struct h5io *io, hid_t file, const struct data_checkpoint *ck)
{
    const char *gp = "/checkpoint";
    hid_t g;
    int rc = group_create(io, file, "checkpoint", gp, &g);
    if (rc != CIM_OK)
        return rc;
    hsize_t dims[1] = {(hsize_t)ck->state_len};
    rc = put_i32(io, g, gp, "epoch", ck->epoch);
    if (!rc)
        rc = put_str_vl(io, g, gp, "options", ck->options ? ck->options : "");
    if (!rc)
        rc = put_floats(io, g, "/checkpoint/state", "state", 1, dims, ck->state);
    return group_close(io, g, gp, rc);
}

static int contents_write(struct h5io *io, hid_t file, const struct nn_model *m,
                          const struct data_checkpoint *ck)
{
    const int shape[3] = {m->input.c, m->input.h, m->input.w};
    const hsize_t three[1] = {3};
    int rc = put_str(io, file, "/", "format", DATA_MODEL_FORMAT, H5T_CSET_ASCII);
    if (!rc)
        rc = put_i32(io, file, "/", "format_version", DATA_MODEL_FORMAT_VERSION);
    if (!rc)
        rc = put_str(io, file, "/", "architecture", m->arch, H5T_CSET_ASCII);
    if (!rc)
        rc = put_str(io, file, "/", "dataset", m->dataset, H5T_CSET_ASCII);
    if (!rc)
        rc = put_attr(io, file, "/", "input_shape", H5T_STD_I32LE, H5T_NATIVE_INT, 1, three, shape);
    if (!rc)
        rc = put_i32(io, file, "/", "num_classes", m->num_classes);
    if (!rc)
        rc = put_str(io, file, "/", "cim_version", CIM_VERSION, H5T_CSET_ASCII);
    if (rc)
        return rc;

    hid_t layers;
    rc = group_create(io, file, "layers", "/layers", &layers);
    if (rc)
        return rc;
    for (int i = 0; i < m->n_layers && rc == CIM_OK; i++)
        rc = layer_write(io, layers, i, &m->layers[i], m->quant.n_prec);
    rc = group_close(io, layers, "/layers", rc);

    if (!rc)
        rc = record_write(io, file, &m->record);
    if (!rc && m->quant.n_prec > 0)
        rc = quant_write(io, file, &m->quant);
    if (!rc && ck != NULL)
        rc = checkpoint_write(io, file, ck);
    return rc;
}

/* Index of the first NaN or infinity in `x`, or n when all are finite. */
static size_t first_nonfinite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return n;
}

/* A model that the loader would refuse is refused before anything is written,
 * so that a diverged training run fails at save time, not at the next load. */
static int model_check_saveable(const char *path, const struct nn_model *m, struct cim_err *err)
{
    struct cim_err verr = {0};
    if (nn_model_validate(m, &verr) != CIM_OK)
        return cim_err_set(err, CIM_EFORMAT, "%s: cannot save: %s", path, verr.msg);
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        const struct nn_tensor *t[2] = {&l->weight, &l->bias};
        for (int k = 0; k < 2; k++) {
            size_t n = nn_tensor_size(t[k]);
            size_t bad = first_nonfinite(t[k]->data, n);
            if (bad < n)
                return cim_err_set(err, CIM_EFORMAT,
                                   "%s: cannot save: layer %03d_%s: %s element %zu is %s; "
                                   "parameters must be finite", path, i,
                                   nn_layer_type_name(l->type), k ? "bias" : "weight", bad,
                                   isnan(t[k]->data[bad]) ? "NaN" : "infinite");
        }
    }
    return CIM_OK;
}

/* Build the whole file in memory (HDF5's core driver, no backing store) and
 * return its bytes in *image (caller frees).
 *
 * Why not let HDF5 write the temporary file itself: when a write fails while
 * HDF5 1.10 flushes at H5Fclose (a full disk, EFBIG), the close fails yet the
 * file id stays registered over freed state, and the library crashes at process
 * exit. In memory, HDF5 never meets an I/O error; the bytes then go to disk
 * through plain write(2), whose errors we report and recover from ourselves. */
static int image_build(struct h5io *io, const struct nn_model *m,
                       const struct data_checkpoint *ck, void **image, size_t *size)
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
        return io_fail(io, CIM_EIO, NULL, "cannot create file");
    int rc = CIM_OK;
    if (H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_V18) < 0 ||
        H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) < 0)
        rc = io_fail(io, CIM_EIO, NULL, "cannot create file");
    hid_t file = rc == CIM_OK ? H5Fcreate(io->file, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)
                              : H5I_INVALID_HID;
    if (rc == CIM_OK && file < 0)
        rc = io_fail(io, CIM_EIO, NULL, "cannot create file");
    if (H5Pclose(fapl) < 0 && rc == CIM_OK)
        rc = io_fail(io, CIM_EIO, NULL, "cannot create file");
    if (file < 0)
        return rc;

    if (rc == CIM_OK)
        rc = contents_write(io, file, m, ck);
    /* The image holds only what has been flushed from the metadata cache. */
    if (rc == CIM_OK && H5Fflush(file, H5F_SCOPE_GLOBAL) < 0)
        rc = io_fail(io, CIM_EIO, NULL, "cannot build the file image");
    if (rc == CIM_OK) {
        ssize_t n = H5Fget_file_image(file, NULL, 0);
        if (n <= 0) {
            rc = io_fail(io, CIM_EIO, NULL, "cannot build the file image");
        } else if ((*image = malloc((size_t)n)) == NULL) {
            rc = cim_err_set(io->err, CIM_ENOMEM, "%s: out of memory for a %zd-byte file",
                             io->file, n);
        } else if (H5Fget_file_image(file, *image, (size_t)n) != n) {
            rc = io_fail(io, CIM_EIO, NULL, "cannot build the file image");
        } else {
            *size = (size_t)n;
        }
    }
    if (H5Fclose(file) < 0 && rc == CIM_OK)
        rc = io_fail(io, CIM_EIO, NULL, "cannot close the in-memory file");
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

static int file_save(const char *path, const struct nn_model *m, const struct data_checkpoint *ck,
                     struct cim_err *err)
{
    data_init();
    if (path == NULL || m == NULL)
        return cim_err_set(err, CIM_EINVAL, "model save: no %s given", path ? "model" : "path");
    int rc = model_check_saveable(path, m, err);
    if (rc != CIM_OK)
        return rc;
    if (ck != NULL && ck->state_len > 0 && ck->state == NULL)
        return cim_err_set(err, CIM_EINVAL, "%s: checkpoint state of %zu values has no data",
                           path, ck->state_len);

    struct data_atomic a;
    rc = data_atomic_begin(&a, path, err);
    if (rc != CIM_OK)
        return rc;
    struct h5io io = {path, err};
    void *image;
    size_t size;
    rc = image_build(&io, m, ck, &image, &size);
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

int data_model_save(const char *path, const struct nn_model *m, struct cim_err *err)
{
    return file_save(path, m, NULL, err);
}

int data_checkpoint_save(const char *path, const struct nn_model *m,
                         const struct data_checkpoint *ck, struct cim_err *err)
{
    if (ck == NULL)
        return cim_err_set(err, CIM_EINVAL, "%s: no checkpoint given", path ? path : "");
    return file_save(path, m, ck, err);
}

/* ---- reading: attributes ------------------------------------------------------ */

/* Open attribute `name` of `obj`. CIM_OK with *a open; CIM_OK with *a < 0 when it
 * is absent and not `required`; otherwise an error ("missing attribute"). */
static int attr_find(struct h5io *io, hid_t obj, const char *opath, const char *name,
                     const char *expect, int required, hid_t *a)
{
    *a = H5I_INVALID_HID;
    htri_t e = H5Aexists(obj, name);
    if (e < 0)
        return io_fail(io, CIM_EFORMAT, opath, "cannot look up attribute '%s'", name);
    if (e == 0)
        return required ? io_bad(io, CIM_EFORMAT, opath, "missing attribute '%s' (%s)", name,
                                 expect)
                        : CIM_OK;
    *a = H5Aopen(obj, name, H5P_DEFAULT);
    if (*a < 0)
        return io_fail(io, CIM_EFORMAT, opath, "cannot open attribute '%s'", name);
    return CIM_OK;
}

/* Check that attribute `a` has class `cls` or `cls2` and holds `count` values (count 1:
 * a scalar or any one-element array; count > 1: a 1-D array of that length).
 * On success *type is its file datatype, to be closed by the caller. */
static int attr_check(struct h5io *io, hid_t a, const char *opath, const char *name,
                      const char *expect, H5T_class_t cls, H5T_class_t cls2, hssize_t count,
                      hid_t *type)
{
    *type = H5Aget_type(a);
    if (*type < 0)
        return io_fail(io, CIM_EFORMAT, opath, "cannot read the type of attribute '%s'", name);
    H5T_class_t c = H5Tget_class(*type);
    if (c != cls && c != cls2) {
        char td[32];
        type_desc(*type, td, sizeof td);
        H5Tclose(*type);
        *type = H5I_INVALID_HID;
        return io_bad(io, CIM_EFORMAT, opath, "attribute '%s' is of type %s; expected %s", name,
                      td, expect);
    }
    hid_t space = H5Aget_space(a);
    if (space < 0) {
        int rc = io_fail(io, CIM_EFORMAT, opath, "cannot read the shape of attribute '%s'", name);
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
        return io_bad(io, CIM_EFORMAT, opath, "attribute '%s' holds %lld values; expected %s",
                      name, (long long)np, expect);
    }
    return CIM_OK;
}

/* Read string attribute `name` (fixed or variable length) into a new string
 * *out (caller frees); *out stays NULL when it is absent and not `required`. */
static int attr_get_str(struct h5io *io, hid_t obj, const char *opath, const char *name,
                        int required, char **out)
{
    *out = NULL;
    hid_t a, ft;
    int rc = attr_find(io, obj, opath, name, "string", required, &a);
    if (rc != CIM_OK || a < 0)
        return rc;
    rc = attr_check(io, a, opath, name, "a string", H5T_STRING, H5T_STRING, 1, &ft);
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
        rc = io_fail(io, CIM_EFORMAT, opath, "cannot read attribute '%s'", name);
    } else if (vl > 0) {
        char *s = NULL;
        if (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Aread(a, mt, &s) < 0) {
            rc = io_fail(io, CIM_EFORMAT, opath, "cannot read attribute '%s'", name);
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
            rc = cim_err_set(io->err, CIM_ENOMEM, "%s: %s: out of memory reading '%s'",
                             io->file, opath, name);
        } else if (H5Tset_size(mt, size + 1) < 0 || H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 ||
                   H5Aread(a, mt, s) < 0) {
            rc = io_fail(io, CIM_EFORMAT, opath, "cannot read attribute '%s'", name);
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
static int attr_get_strbuf(struct h5io *io, hid_t obj, const char *opath, const char *name,
                           int required, int truncate, char *buf, size_t size)
{
    char *s;
    int rc = attr_get_str(io, obj, opath, name, required, &s);
    if (rc != CIM_OK || s == NULL)
        return rc;
    size_t n = strlen(s);
    if (n >= size && !truncate)
        rc = io_bad(io, CIM_EFORMAT, opath, "attribute '%s' is %zu characters long; at most %zu "
                    "are supported", name, n, size - 1);
    else
        snprintf(buf, size, "%s", s);
    free(s);
    return rc;
}

/* Read `count` integers from attribute `name`, any integer type, each checked to
 * lie in [lo, hi]. *present is 0 when it is absent and not `required`. */
static int attr_get_ints(struct h5io *io, hid_t obj, const char *opath, const char *name,
                         const char *expect, int required, hssize_t count, long long lo,
                         long long hi, long long *v, int *present)
{
    *present = 0;
    hid_t a, ft;
    int rc = attr_find(io, obj, opath, name, expect, required, &a);
    if (rc != CIM_OK || a < 0)
        return rc;
    rc = attr_check(io, a, opath, name, expect, H5T_INTEGER, H5T_INTEGER, count, &ft);
    if (rc == CIM_OK) {
        H5Tclose(ft);
        /* Values beyond long long saturate and then fail the range check. */
        if (H5Aread(a, H5T_NATIVE_LLONG, v) < 0)
            rc = io_fail(io, CIM_EFORMAT, opath, "cannot read attribute '%s'", name);
    }
    H5Aclose(a);
    for (hssize_t i = 0; rc == CIM_OK && i < count; i++)
        if (v[i] < lo || v[i] > hi)
            rc = io_bad(io, CIM_EFORMAT, opath, "attribute '%s' is %lld; expected %lld to %lld",
                        name, v[i], lo, hi);
    if (rc == CIM_OK)
        *present = 1;
    return rc;
}

/* One int attribute into *out, left unchanged when absent and not `required`. */
static int attr_get_int(struct h5io *io, hid_t obj, const char *opath, const char *name,
                        int required, int lo, int *out)
{
    long long v;
    int present;
    int rc = attr_get_ints(io, obj, opath, name, "int32", required, 1, lo, INT_MAX, &v, &present);
    if (rc == CIM_OK && present)
        *out = (int)v;
    return rc;
}

/* An optional scalar numeric attribute read as `mtype` into *out: `expect` names
 * the stored type for messages, `cls` is its HDF5 class and `alt` another class
 * accepted and converted. */
static int attr_get_num(struct h5io *io, hid_t obj, const char *opath, const char *name,
                        const char *expect, H5T_class_t cls, H5T_class_t alt, hid_t mtype,
                        void *out)
{
    hid_t a, ft;
    int rc = attr_find(io, obj, opath, name, expect, 0, &a);
    if (rc != CIM_OK || a < 0)
        return rc;
    rc = attr_check(io, a, opath, name, expect, cls, alt, 1, &ft);
    if (rc == CIM_OK) {
        H5Tclose(ft);
        if (H5Aread(a, mtype, out) < 0)
            rc = io_fail(io, CIM_EFORMAT, opath, "cannot read attribute '%s'", name);
    }
    H5Aclose(a);
    return rc;
}

/* An optional float64 attribute (integers are accepted and converted). */
static int attr_get_f64(struct h5io *io, hid_t obj, const char *opath, const char *name,
                        double *out)
{
    return attr_get_num(io, obj, opath, name, "float64", H5T_FLOAT, H5T_INTEGER,
                        H5T_NATIVE_DOUBLE, out);
}

/* An optional uint64 attribute; read unsigned so that seeds >= 2^63 survive. */
static int attr_get_u64(struct h5io *io, hid_t obj, const char *opath, const char *name,
                        uint64_t *out)
{
    return attr_get_num(io, obj, opath, name, "uint64", H5T_INTEGER, H5T_INTEGER,
                        H5T_NATIVE_UINT64, out);
}

/* ---- reading: groups and datasets -------------------------------------------- */

/* Open group `name` in `loc`. CIM_OK with *g open; CIM_OK with *g < 0 when it is
 * absent and not `required`; otherwise an error naming `gpath`. */
static int group_open(struct h5io *io, hid_t loc, const char *name, const char *gpath,
                      int required, hid_t *g)
{
    *g = H5I_INVALID_HID;
    htri_t e = H5Lexists(loc, name, H5P_DEFAULT);
    if (e < 0)
        return io_fail(io, CIM_EFORMAT, gpath, "cannot look up group");
    if (e == 0)
        return required ? io_bad(io, CIM_EFORMAT, gpath, "missing group") : CIM_OK;
    *g = H5Gopen2(loc, name, H5P_DEFAULT);
    if (*g < 0)
        return io_fail(io, CIM_EFORMAT, gpath, "cannot open as a group");
    return CIM_OK;
}

/* Open float32 dataset `name` in `loc` and report its rank and extents. A
 * float64 or integer dataset is refused rather than converted: the file would
 * then not hold what cim computes with, and a round trip would not be exact. */
static int fdset_open(struct h5io *io, hid_t loc, const char *name, const char *dpath, hid_t *d,
                      int *rank, hsize_t dims[RANK_MAX])
{
    *d = H5I_INVALID_HID;
    htri_t e = H5Lexists(loc, name, H5P_DEFAULT);
    if (e < 0)
        return io_fail(io, CIM_EFORMAT, dpath, "cannot look up dataset");
    if (e == 0)
        return io_bad(io, CIM_EFORMAT, dpath, "missing dataset");
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0)
        return io_fail(io, CIM_EFORMAT, dpath, "cannot open as a dataset");

    int rc = CIM_OK;
    hid_t t = H5Dget_type(ds);
    if (t < 0) {
        rc = io_fail(io, CIM_EFORMAT, dpath, "cannot read the dataset's type");
    } else {
        if (H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) != 4) {
            char td[32];
            type_desc(t, td, sizeof td);
            rc = io_bad(io, CIM_EFORMAT, dpath, "type is %s; expected float32", td);
        }
        H5Tclose(t);
    }
    if (rc == CIM_OK) {
        hid_t space = H5Dget_space(ds);
        int r = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
        if (r < 0) {
            rc = io_fail(io, CIM_EFORMAT, dpath, "cannot read the dataset's shape");
        } else if (r > RANK_MAX) {
            rc = io_bad(io, CIM_EFORMAT, dpath, "rank %d; expected at most %d", r, RANK_MAX);
        } else if (H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
            rc = io_fail(io, CIM_EFORMAT, dpath, "cannot read the dataset's shape");
        } else {
            *rank = r;
        }
        if (space >= 0)
            H5Sclose(space);
    }
    if (rc != CIM_OK) {
        H5Dclose(ds);
        return rc;
    }
    *d = ds;
    return CIM_OK;
}

/* Read all `n` values of open float dataset `d` into `out`, refusing NaN and
 * infinity when `finite` is set; closes `d`. */
static int fdset_read(struct h5io *io, hid_t d, const char *dpath, float *out, size_t n,
                      int finite)
{
    int rc = CIM_OK;
    if (n > 0 && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        rc = io_fail(io, CIM_EFORMAT, dpath, "cannot read dataset");
    H5Dclose(d);
    if (rc == CIM_OK && finite) {
        size_t bad = first_nonfinite(out, n);
        if (bad < n)
            rc = io_bad(io, CIM_EFORMAT, dpath, "element %zu is %s; parameters must be finite",
                        bad, isnan(out[bad]) ? "NaN" : "infinite");
    }
    return rc;
}

/* Read parameter dataset `name` of a layer into tensor `t`, whose extents (set by
 * rebuilding the layer) are the only ones accepted. `hint` explains the
 * expectation when the shapes differ. */
static int param_read(struct h5io *io, hid_t g, const char *gpath, const char *name, int rank,
                      struct nn_tensor *t, const char *hint)
{
    char dpath[OBJ_PATH_MAX];
    snprintf(dpath, sizeof dpath, "%.*s/%s", GROUP_PATH_MAX, gpath, name);
    const hsize_t want4[RANK_MAX] = {(hsize_t)t->n, (hsize_t)t->c, (hsize_t)t->h, (hsize_t)t->w};
    hsize_t want[RANK_MAX] = {0};
    /* dense weight {out, in, 1, 1} is stored [out, in]; a bias [out]. */
    for (int i = 0; i < rank; i++)
        want[i] = want4[i];
    hid_t d;
    int r = 0;
    hsize_t dims[RANK_MAX] = {0};
    int rc = fdset_open(io, g, name, dpath, &d, &r, dims);
    if (rc != CIM_OK)
        return rc;
    int same = r == rank;
    for (int i = 0; same && i < rank; i++)
        same = dims[i] == want[i];
    if (!same) {
        H5Dclose(d);
        char got[96], exp[96];
        dims_desc(r, dims, got, sizeof got);
        dims_desc(rank, want, exp, sizeof exp);
        if (r != rank)
            return io_bad(io, CIM_EFORMAT, dpath, "rank %d %s; expected rank %d %s", r, got,
                          rank, exp);
        return io_bad(io, CIM_EFORMAT, dpath, "shape %s; expected %s%s", got, exp, hint);
    }
    return fdset_read(io, d, dpath, t->data, nn_tensor_size(t), 1);
}

/* ---- reading: the model ----------------------------------------------------- */

/* "NNN_<type>": NNN is the layer's 0-based position, exactly three digits. */
static int layer_name_parse(const char *name, int *index, const char **suffix)
{
    for (int i = 0; i < 3; i++)
        if (name[i] < '0' || name[i] > '9')
            return -1;
    if (name[3] != '_' || name[4] == '\0')
        return -1;
    *index = (name[0] - '0') * 100 + (name[1] - '0') * 10 + (name[2] - '0');
    *suffix = name + 4;
    return 0;
}

/* Rebuild layer `i` from its group's attributes, then fill its parameters. */
static int layer_read(struct h5io *io, hid_t layers, const char *name, int i, struct nn_model *m)
{
    char gpath[GROUP_PATH_MAX];
    snprintf(gpath, sizeof gpath, "/layers/%.40s", name);
    int index;
    const char *suffix;
    if (layer_name_parse(name, &index, &suffix) != 0)
        return io_bad(io, CIM_EFORMAT, gpath, "not a layer group name; expected %03d_<type>", i);
    if (index != i)
        return io_bad(io, CIM_EFORMAT, gpath, "expected layer %03d here: layer groups must be "
                      "numbered consecutively from 000 without gaps or repeats", i);

    hid_t g;
    int rc = group_open(io, layers, name, gpath, 1, &g);
    if (rc != CIM_OK)
        return rc;
    char tname[NN_NAME_MAX] = "", aname[NN_NAME_MAX] = "";
    int type = -1, act = -1;
    rc = attr_get_strbuf(io, g, gpath, "type", 1, 1, tname, sizeof tname);
    if (rc == CIM_OK && (type = nn_layer_type_parse(tname)) < 0)
        rc = io_bad(io, CIM_EFORMAT, gpath, "type '%s' is unknown; expected dense, conv2d or "
                    "maxpool", tname);
    if (rc == CIM_OK && strcmp(suffix, tname) != 0)
        rc = io_bad(io, CIM_EFORMAT, gpath, "type '%s' does not match the group name; expected "
                    "%03d_%s", tname, i, tname);
    if (rc == CIM_OK)
        rc = attr_get_strbuf(io, g, gpath, "activation", 1, 1, aname, sizeof aname);
    if (rc == CIM_OK && (act = nn_act_parse(aname)) < 0)
        rc = io_bad(io, CIM_EFORMAT, gpath, "activation '%s' is unknown; expected none or relu",
                    aname);

    int units = 0, kernel = 0, stride = 0, pad = 0;
    if (rc == CIM_OK && type == NN_LAYER_DENSE)
        rc = attr_get_int(io, g, gpath, "units", 1, 1, &units);
    if (rc == CIM_OK && type == NN_LAYER_CONV2D)
        rc = attr_get_int(io, g, gpath, "channels", 1, 1, &units);
    if (rc == CIM_OK && type != NN_LAYER_DENSE) {
        rc = attr_get_int(io, g, gpath, "kernel", 1, 1, &kernel);
        if (rc == CIM_OK)
            rc = attr_get_int(io, g, gpath, "stride", 1, 1, &stride);
        if (rc == CIM_OK)
            rc = attr_get_int(io, g, gpath, "padding", 1, 0, &pad);
    }
    if (rc == CIM_OK && type == NN_LAYER_MAXPOOL && pad != 0)
        rc = io_bad(io, CIM_EFORMAT, gpath, "padding %d; a maxpool layer has padding 0", pad);
    if (rc == CIM_OK && type == NN_LAYER_MAXPOOL && act != NN_ACT_NONE)
        rc = io_bad(io, CIM_EFORMAT, gpath, "activation '%s'; a maxpool layer has activation "
                    "none", aname);

    /* The same calls a user would make; their checks (kernel fits the input,
     * padding < kernel) apply to files too. */
    if (rc == CIM_OK) {
        struct cim_err e = {0};
        int r = CIM_OK;
        if (type == NN_LAYER_DENSE)
            r = nn_model_add_dense(m, units, (enum nn_act)act, &e);
        else if (type == NN_LAYER_CONV2D)
            r = nn_model_add_conv2d(m, units, kernel, stride, pad, (enum nn_act)act, &e);
        else
            r = nn_model_add_maxpool(m, kernel, stride, &e);
        if (r != CIM_OK)
            rc = io_bad(io, r == CIM_ENOMEM ? CIM_ENOMEM : CIM_EFORMAT, gpath, "%s", e.msg);
    }

    if (rc == CIM_OK && type != NN_LAYER_MAXPOOL) {
        struct nn_layer *l = &m->layers[m->n_layers - 1];
        char hint[160] = "";
        if (type == NN_LAYER_DENSE)
            snprintf(hint, sizeof hint, " (units x the flattened output of the previous layer, "
                     "%dx%dx%d = %zu)", l->in.c, l->in.h, l->in.w, nn_shape_size(l->in));
        else
            snprintf(hint, sizeof hint, " (channels x the previous layer's %d output channels x "
                     "kernel x kernel)", l->in.c);
        rc = param_read(io, g, gpath, "weight", type == NN_LAYER_DENSE ? 2 : 4, &l->weight, hint);
        if (rc == CIM_OK)
            rc = param_read(io, g, gpath, "bias", 1, &l->bias, " (one per output)");
    }
    H5Gclose(g);
    return rc;
}

/* The steps of a quantized layer (see layer_quant_write). */
static int layer_quant_read(struct h5io *io, hid_t layers, int i, struct nn_model *m)
{
    struct nn_layer *l = &m->layers[i];
    const int n_prec = m->quant.n_prec;
    char name[32], gpath[GROUP_PATH_MAX], dpath[OBJ_PATH_MAX];
    snprintf(name, sizeof name, "%03d_%s", i, nn_layer_type_name(l->type));
    snprintf(gpath, sizeof gpath, "/layers/%s", name);
    snprintf(dpath, sizeof dpath, "%s/weight_scale", gpath);
    hid_t g;
    int rc = group_open(io, layers, name, gpath, 1, &g);
    if (rc != CIM_OK)
        return rc;
    const int rows = m->quant.per_channel ? l->weight.n : 1;
    hid_t d;
    int r = 0;
    hsize_t dims[RANK_MAX] = {0};
    float *all = NULL;
    rc = fdset_open(io, g, "weight_scale", dpath, &d, &r, dims);
    if (rc == CIM_OK && (r != 2 || dims[0] != (hsize_t)n_prec || dims[1] != (hsize_t)rows)) {
        H5Dclose(d);
        rc = io_bad(io, CIM_EFORMAT, dpath, "expected shape [%d, %d] (precisions x %s)", n_prec,
                    rows, rows > 1 ? "output channels" : "one step per tensor");
    } else if (rc == CIM_OK) {
        all = malloc((size_t)n_prec * rows * sizeof *all);
        if (all == NULL) {
            H5Dclose(d);
            rc = io_fail(io, CIM_ENOMEM, dpath, "out of memory");
        } else {
            rc = fdset_read(io, d, dpath, all, (size_t)n_prec * rows, 1);
        }
    }
    for (int p = 0; rc == CIM_OK && p < NN_PREC_MAX; p++) {
        if (nn_tensor_init(&l->wscale[p], rows, 1, 1, 1) != CIM_OK) {
            rc = io_fail(io, CIM_ENOMEM, dpath, "out of memory");
            break;
        }
        for (int k = 0; k < rows; k++) {
            float v = all[(size_t)(p < n_prec ? p : 0) * rows + k];
            if (!(v > 0.0f)) {
                rc = io_bad(io, CIM_EFORMAT, dpath, "step %g; steps must be positive", (double)v);
                break;
            }
            l->wscale[p].data[k] = v;
        }
    }
    free(all);
    double a = -1.0;
    if (rc == CIM_OK)
        rc = attr_get_f64(io, g, gpath, "input_scale", &a);
    if (rc == CIM_OK && !(a > 0.0 && isfinite(a)))
        rc = io_bad(io, CIM_EFORMAT, gpath, "attribute 'input_scale' is missing or not a "
                    "positive number");
    l->ascale = (float)a;
    H5Gclose(g);
    return rc;
}

/* /quant is optional: a file without it is an FP32 model. */
static int quant_read(struct h5io *io, hid_t file, struct nn_model *m)
{
    hid_t g;
    int rc = group_open(io, file, "quant", "/quant", 0, &g);
    if (rc != CIM_OK || g < 0)
        return rc;
    const char *gp = "/quant";
    struct nn_quant *q = &m->quant;
    char scheme[32] = "";
    int n_prec = 0;
    long long wb[NN_PREC_MAX] = {0}, ab[NN_PREC_MAX] = {0};
    int present, sch = -1;
    rc = attr_get_strbuf(io, g, gp, "scheme", 1, 1, scheme, sizeof scheme);
    if (rc == CIM_OK && (sch = quant_scheme_parse(scheme)) < 0)
        rc = io_bad(io, CIM_EFORMAT, gp, "scheme '%s' is unknown; expected nested, nested-round "
                    "or independent", scheme);
    if (rc == CIM_OK)
        rc = attr_get_int(io, g, gp, "precisions", 1, 1, &n_prec);
    if (rc == CIM_OK && n_prec > NN_PREC_MAX)
        rc = io_bad(io, CIM_EFORMAT, gp, "%d precisions; expected 1 or 2", n_prec);
    if (rc == CIM_OK)
        rc = attr_get_ints(io, g, gp, "weight_bits", "int32[precisions]", 1, n_prec,
                           QUANT_WBITS_MIN, QUANT_WBITS_MAX, wb, &present);
    if (rc == CIM_OK)
        rc = attr_get_ints(io, g, gp, "activation_bits", "int32[precisions]", 1, n_prec,
                           QUANT_ABITS_MIN, QUANT_ABITS_MAX, ab, &present);
    if (rc == CIM_OK)
        rc = attr_get_int(io, g, gp, "per_channel", 1, 0, &q->per_channel);
    if (rc == CIM_OK)
        rc = attr_get_strbuf(io, g, gp, "weight_range", 0, 0, q->wrange, sizeof q->wrange);
    if (rc == CIM_OK)
        rc = attr_get_strbuf(io, g, gp, "activation_range", 0, 0, q->arange, sizeof q->arange);
    if (rc == CIM_OK)
        rc = attr_get_f64(io, g, gp, "percentile", &q->percentile);
    H5Gclose(g);
    if (rc != CIM_OK)
        return rc;
    if (n_prec == 2 && (wb[1] > wb[0] || ab[1] > ab[0]))
        return io_bad(io, CIM_EFORMAT, gp, "the second precision W%lldA%lld exceeds the first "
                      "W%lldA%lld", wb[1], ab[1], wb[0], ab[0]);
    q->scheme = (enum quant_scheme)sch;
    q->n_prec = n_prec;
    for (int p = 0; p < n_prec; p++) {
        q->wbits[p] = (int)wb[p];
        q->abits[p] = (int)ab[p];
    }
    hid_t layers = H5I_INVALID_HID;
    rc = group_open(io, file, "layers", "/layers", 1, &layers);
    for (int i = 0; rc == CIM_OK && i < m->n_layers; i++)
        if (m->layers[i].weight.data != NULL)
            rc = layer_quant_read(io, layers, i, m);
    if (layers >= 0)
        H5Gclose(layers);
    if (rc != CIM_OK)
        q->n_prec = 0;
    return rc;
}

static int layers_read(struct h5io *io, hid_t file, struct nn_model *m)
{
    hid_t g;
    int rc = group_open(io, file, "layers", "/layers", 1, &g);
    if (rc != CIM_OK)
        return rc;
    H5G_info_t info;
    if (H5Gget_info(g, &info) < 0) {
        rc = io_fail(io, CIM_EFORMAT, "/layers", "cannot list the group");
    } else if (info.nlinks == 0) {
        rc = io_bad(io, CIM_EFORMAT, "/layers", "no layers; expected groups 000_<type>, "
                    "001_<type>, ...");
    } else if (info.nlinks > NN_MODEL_LAYERS_MAX) {
        rc = io_bad(io, CIM_EFORMAT, "/layers", "%llu layers; cim supports at most %d",
                    (unsigned long long)info.nlinks, NN_MODEL_LAYERS_MAX);
    }
    /* Name order is execution order: the names are zero-padded. */
    for (int i = 0; rc == CIM_OK && i < (int)info.nlinks; i++) {
        char name[64];
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, name,
                                         sizeof name, H5P_DEFAULT);
        if (len < 0)
            rc = io_fail(io, CIM_EFORMAT, "/layers", "cannot read the name of member %d", i);
        else
            rc = layer_read(io, g, name, i, m);
    }
    H5Gclose(g);
    return rc;
}

/* /training is optional, and so is each of its attributes: a model converted
 * from elsewhere may know nothing of how it was trained. */
static int record_read(struct h5io *io, hid_t file, struct nn_train_record *r)
{
    const char *gp = "/training";
    hid_t g;
    int rc = group_open(io, file, "training", gp, 0, &g);
    if (rc != CIM_OK || g < 0)
        return rc;
    rc = attr_get_strbuf(io, g, gp, "command", 0, 1, r->command, sizeof r->command);
    if (!rc)
        rc = attr_get_strbuf(io, g, gp, "optimizer", 0, 1, r->optimizer, sizeof r->optimizer);
    if (!rc)
        rc = attr_get_strbuf(io, g, gp, "created", 0, 1, r->created, sizeof r->created);
    if (!rc)
        rc = attr_get_int(io, g, gp, "epochs", 0, 0, &r->epochs);
    if (!rc)
        rc = attr_get_int(io, g, gp, "batch", 0, 0, &r->batch);
    if (!rc)
        rc = attr_get_f64(io, g, gp, "lr", &r->lr);
    if (!rc)
        rc = attr_get_f64(io, g, gp, "test_accuracy", &r->test_accuracy);
    if (!rc)
        rc = attr_get_f64(io, g, gp, "train_loss", &r->train_loss);
    if (!rc)
        rc = attr_get_f64(io, g, gp, "seconds", &r->seconds);
    if (!rc)
        rc = attr_get_u64(io, g, gp, "seed", &r->seed);
    H5Gclose(g);
    return rc;
}

/* Root attributes, then layers, then the record. `format` and `format_version`
 * come first so that a newer or foreign file is named as such, not as a file
 * with a missing attribute. */
static int model_read(struct h5io *io, hid_t file, struct nn_model **out)
{
    *out = NULL;
    char fmt[32] = "";
    int rc = attr_get_strbuf(io, file, "/", "format", 1, 1, fmt, sizeof fmt);
    if (rc != CIM_OK)
        return rc;
    if (strcmp(fmt, DATA_MODEL_FORMAT) != 0)
        return io_bad(io, CIM_EFORMAT, "/", "format is '%s'; expected '%s'", fmt,
                      DATA_MODEL_FORMAT);
    int version = 0;
    rc = attr_get_int(io, file, "/", "format_version", 1, INT_MIN, &version);
    if (rc != CIM_OK)
        return rc;
    if (version > DATA_MODEL_FORMAT_VERSION)
        return io_bad(io, CIM_EUNSUPPORTED, "/", "format_version %d is newer than this cim (%s) "
                      "reads (%d); use a newer cim", version, CIM_VERSION,
                      DATA_MODEL_FORMAT_VERSION);
    if (version < 1)
        return io_bad(io, CIM_EFORMAT, "/", "format_version %d; expected %d", version,
                      DATA_MODEL_FORMAT_VERSION);

    char arch[NN_NAME_MAX] = "", dataset[NN_NAME_MAX] = "";
    long long shape[3] = {0, 0, 0};
    int present, classes = 0;
    rc = attr_get_strbuf(io, file, "/", "architecture", 1, 0, arch, sizeof arch);
    if (!rc)
        rc = attr_get_strbuf(io, file, "/", "dataset", 0, 0, dataset, sizeof dataset);
    if (!rc)
        rc = attr_get_ints(io, file, "/", "input_shape", "int32[3], C x H x W", 1, 3, 1, INT_MAX,
                           shape, &present);
    if (!rc)
        rc = attr_get_int(io, file, "/", "num_classes", 1, 1, &classes);
    if (rc != CIM_OK)
        return rc;

    struct nn_model *m =
        nn_model_alloc(arch, (struct nn_shape){(int)shape[0], (int)shape[1], (int)shape[2]},
                       classes);
    if (m == NULL)
        return cim_err_set(io->err, CIM_ENOMEM, "%s: out of memory", io->file);
    snprintf(m->dataset, sizeof m->dataset, "%s", dataset);

    rc = layers_read(io, file, m);
    if (rc == CIM_OK)
        rc = record_read(io, file, &m->record);
    if (rc == CIM_OK)
        rc = quant_read(io, file, m);
    if (rc == CIM_OK) {
        struct cim_err e = {0};
        if (nn_model_validate(m, &e) != CIM_OK)
            rc = cim_err_set(io->err, CIM_EFORMAT, "%s: %s", io->file, e.msg);
    }
    if (rc != CIM_OK) {
        nn_model_free(m);
        return rc;
    }
    *out = m;
    return CIM_OK;
}

/* Missing, unreadable and non-HDF5 files get their own messages, before HDF5
 * gets a chance to describe them in its own words. */
static int file_open(struct h5io *io, const char *path, hid_t *file)
{
    *file = H5I_INVALID_HID;
    data_init();
    if (path == NULL || path[0] == '\0')
        return cim_err_set(io->err, CIM_EINVAL, "empty model file name");
    struct stat st;
    if (stat(path, &st) != 0)
        return cim_err_set(io->err, CIM_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return cim_err_set(io->err, CIM_EIO, "%s: is a directory; expected an HDF5 model file",
                           path);
    if (access(path, R_OK) != 0)
        return cim_err_set(io->err, CIM_EIO, "%s: cannot read: %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return cim_err_set(io->err, CIM_EFORMAT, "%s: not an HDF5 file", path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return io_fail(io, CIM_EIO, NULL, "cannot open");
#if H5_VERSION_GE(1, 10, 7)
    /* HDF5 locks files it opens and, by default, fails on file systems without
     * locks (some NFS and container mounts). A model file is never modified in
     * place (saving renames a new file over it), so a reader loses nothing when
     * the lock is unavailable. */
    if (H5Pset_file_locking(fapl, 1, 1) < 0) {
        int rc = io_fail(io, CIM_EIO, NULL, "cannot open");
        H5Pclose(fapl);
        return rc;
    }
#endif
    *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    int rc = *file < 0 ? io_fail(io, CIM_EIO, NULL, "cannot open") : CIM_OK;
    H5Pclose(fapl);
    return rc;
}

struct nn_model *data_model_load(const char *path, struct cim_err *err)
{
    struct h5io io = {path, err};
    hid_t file;
    if (file_open(&io, path, &file) != CIM_OK)
        return NULL;
    struct nn_model *m;
    int rc = model_read(&io, file, &m);
    if (H5Fclose(file) < 0 && rc == CIM_OK) {
        io_fail(&io, CIM_EIO, NULL, "cannot close");
        nn_model_free(m);
        return NULL;
    }
    return rc == CIM_OK ? m : NULL;
}

/* ---- checkpoints ---------------------------------------------------------------- */

static int checkpoint_read(struct h5io *io, hid_t file, struct data_checkpoint *ck)
{
    const char *gp = "/checkpoint";
    htri_t e = H5Lexists(file, "checkpoint", H5P_DEFAULT);
    if (e < 0)
        return io_fail(io, CIM_EFORMAT, gp, "cannot look up group");
    if (e == 0)
        return io_bad(io, CIM_EFORMAT, gp, "missing group; this is a model file, not a "
                      "checkpoint");
    hid_t g;
    int rc = group_open(io, file, "checkpoint", gp, 1, &g);
    if (rc != CIM_OK)
        return rc;
    rc = attr_get_int(io, g, gp, "epoch", 1, 0, &ck->epoch);
    if (rc == CIM_OK)
        rc = attr_get_str(io, g, gp, "options", 1, &ck->options);
    hid_t d = H5I_INVALID_HID;
    int rank = 0;
    hsize_t dims[RANK_MAX] = {0};
    const char *dp = "/checkpoint/state";
    if (rc == CIM_OK)
        rc = fdset_open(io, g, "state", dp, &d, &rank, dims);
    if (rc == CIM_OK && rank != 1) {
        H5Dclose(d);
        rc = io_bad(io, CIM_EFORMAT, dp, "rank %d; expected 1 (a vector of state values)", rank);
    } else if (rc == CIM_OK) {
        size_t n = (size_t)dims[0];
        if ((hsize_t)n != dims[0] || n > SIZE_MAX / sizeof(float)) {
            H5Dclose(d);
            rc = io_bad(io, CIM_ENOMEM, dp, "%llu values are too many",
                        (unsigned long long)dims[0]);
        } else if (n > 0 && (ck->state = malloc(n * sizeof(float))) == NULL) {
            H5Dclose(d);
            rc = io_bad(io, CIM_ENOMEM, dp, "out of memory for %zu values", n);
        } else {
            ck->state_len = n;
            rc = fdset_read(io, d, dp, ck->state, n, 0);
        }
    }
    H5Gclose(g);
    return rc;
}

int data_checkpoint_load(const char *path, struct nn_model **m, struct data_checkpoint *ck,
                         struct cim_err *err)
{
    *m = NULL;
    memset(ck, 0, sizeof *ck);
    struct h5io io = {path, err};
    hid_t file;
    int rc = file_open(&io, path, &file);
    if (rc != CIM_OK)
        return rc;
    struct nn_model *model = NULL;
    rc = model_read(&io, file, &model);
    if (rc == CIM_OK)
        rc = checkpoint_read(&io, file, ck);
    if (H5Fclose(file) < 0 && rc == CIM_OK)
        rc = io_fail(&io, CIM_EIO, NULL, "cannot close");
    if (rc != CIM_OK) {
        nn_model_free(model);
        data_checkpoint_release(ck);
        return rc;
    }
    *m = model;
    return CIM_OK;
}

void data_checkpoint_release(struct data_checkpoint *ck)
{
    if (ck == NULL)
        return;
    free(ck->options);
    free(ck->state);
    memset(ck, 0, sizeof *ck);
}
