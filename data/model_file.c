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
#include "data/h5io.h"

/* Object paths in messages: a layer group "/layers/NNN_<type>" and a dataset
 * inside it ("/layers/NNN_<type>/weight"), with room to spare. */
#define GROUP_PATH_MAX 64
#define OBJ_PATH_MAX (GROUP_PATH_MAX + 32)

/* Extents of a parameter dataset: at most 4 (a conv2d weight). */
#define RANK_MAX 4

void data_init(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* ---- errors ----------------------------------------------------------------- */

/* ---- writing: the model ----------------------------------------------------- */

/* A quantized layer's steps: dataset weight_scale [precisions, rows] (rows: one
 * per output channel, or 1 per tensor) and attribute input_scale. */
static int layer_quant_write(struct data_h5io *io, hid_t g, const char *gpath,
                             const struct nn_layer *l, int n_prec)
{
    const size_t rows = nn_tensor_size(&l->wscale[0]);
    float buf[NN_PREC_MAX * 4096];
    float *all = rows * (size_t)n_prec <= sizeof buf / sizeof buf[0]
                     ? buf
                     : malloc(rows * (size_t)n_prec * sizeof *all);
    if (all == NULL)
        return data_h5_fail(io, CIM_ENOMEM, gpath, "out of memory");
    for (int p = 0; p < n_prec; p++)
        memcpy(all + (size_t)p * rows, l->wscale[p].data, rows * sizeof *all);
    char dpath[OBJ_PATH_MAX];
    snprintf(dpath, sizeof dpath, "%s/weight_scale", gpath);
    const hsize_t dims[2] = {(hsize_t)n_prec, (hsize_t)rows};
    int rc = data_h5_put_floats(io, g, dpath, "weight_scale", 2, dims, all);
    if (all != buf)
        free(all);
    if (!rc)
        rc = data_h5_put_attr(io, g, gpath, "input_scale", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 0,
                              NULL, &l->ascale);
    return rc;
}

static int layer_write(struct data_h5io *io, hid_t layers, int i, const struct nn_layer *l,
                       int n_prec)
{
    char name[32], gpath[GROUP_PATH_MAX];
    snprintf(name, sizeof name, "%03d_%s", i, nn_layer_type_name(l->type));
    snprintf(gpath, sizeof gpath, "/layers/%s", name);
    hid_t g;
    int rc = data_h5_group_create(io, layers, name, gpath, &g);
    if (rc != CIM_OK)
        return rc;
    rc = data_h5_put_str(io, g, gpath, "type", nn_layer_type_name(l->type), H5T_CSET_ASCII);
    if (!rc)
        rc = data_h5_put_str(io, g, gpath, "activation", nn_act_name(l->act), H5T_CSET_ASCII);
    hsize_t wdims[RANK_MAX] = {0};
    int wrank = 0;
    switch (l->type) {
    case NN_LAYER_DENSE:
        if (!rc)
            rc = data_h5_put_i32(io, g, gpath, "units", l->out.c);
        wrank = 2;
        wdims[0] = (hsize_t)l->weight.n;
        wdims[1] = (hsize_t)l->weight.c;
        break;
    case NN_LAYER_CONV2D:
        if (!rc)
            rc = data_h5_put_i32(io, g, gpath, "channels", l->out.c);
        wrank = 4;
        wdims[0] = (hsize_t)l->weight.n;
        wdims[1] = (hsize_t)l->weight.c;
        wdims[2] = (hsize_t)l->weight.h;
        wdims[3] = (hsize_t)l->weight.w;
        break;
    case NN_LAYER_MAXPOOL: break;
    }
    if (l->type != NN_LAYER_DENSE) {
        if (!rc)
            rc = data_h5_put_i32(io, g, gpath, "kernel", l->kernel);
        if (!rc)
            rc = data_h5_put_i32(io, g, gpath, "stride", l->stride);
        if (!rc)
            rc = data_h5_put_i32(io, g, gpath, "padding", l->type == NN_LAYER_MAXPOOL ? 0 : l->pad);
    }
    if (wrank > 0) {
        char dpath[OBJ_PATH_MAX];
        hsize_t bdims[1] = {(hsize_t)l->bias.n};
        snprintf(dpath, sizeof dpath, "%s/weight", gpath);
        if (!rc)
            rc = data_h5_put_floats(io, g, dpath, "weight", wrank, wdims, l->weight.data);
        snprintf(dpath, sizeof dpath, "%s/bias", gpath);
        if (!rc)
            rc = data_h5_put_floats(io, g, dpath, "bias", 1, bdims, l->bias.data);
        if (!rc && n_prec > 0)
            rc = layer_quant_write(io, g, gpath, l, n_prec);
    }
    return data_h5_group_close(io, g, gpath, rc);
}

static int record_write(struct data_h5io *io, hid_t file, const struct nn_train_record *r)
{
    const char *gp = "/training";
    hid_t g;
    int rc = data_h5_group_create(io, file, "training", gp, &g);
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

    rc = data_h5_put_str(io, g, gp, "command", r->command, H5T_CSET_UTF8);
    if (!rc)
        rc = data_h5_put_str(io, g, gp, "optimizer", r->optimizer, H5T_CSET_ASCII);
    if (!rc)
        rc = data_h5_put_str(io, g, gp, "created", created, H5T_CSET_ASCII);
    if (!rc)
        rc = data_h5_put_i32(io, g, gp, "epochs", r->epochs);
    if (!rc)
        rc = data_h5_put_i32(io, g, gp, "batch", r->batch);
    if (!rc)
        rc = data_h5_put_f64(io, g, gp, "lr", r->lr);
    if (!rc)
        rc = data_h5_put_f64(io, g, gp, "test_accuracy", r->test_accuracy);
    if (!rc)
        rc = data_h5_put_f64(io, g, gp, "train_loss", r->train_loss);
    if (!rc)
        rc = data_h5_put_f64(io, g, gp, "seconds", r->seconds);
    if (!rc)
        rc = data_h5_put_u64(io, g, gp, "seed", r->seed);
    if (!rc)
        rc = data_h5_put_str(io, g, gp, "noise_aware", r->noise_aware, H5T_CSET_ASCII);
    return data_h5_group_close(io, g, gp, rc);
}

/* /quant: how the model is quantized (docs/FORMAT.md). */
static int quant_write(struct data_h5io *io, hid_t file, const struct nn_quant *q)
{
    const char *gp = "/quant";
    hid_t g;
    int rc = data_h5_group_create(io, file, "quant", gp, &g);
    if (rc != CIM_OK)
        return rc;
    const hsize_t np[1] = {(hsize_t)q->n_prec};
    rc = data_h5_put_str(io, g, gp, "scheme", quant_scheme_name(q->scheme), H5T_CSET_ASCII);
    if (!rc)
        rc = data_h5_put_i32(io, g, gp, "precisions", q->n_prec);
    if (!rc)
        rc = data_h5_put_attr(io, g, gp, "weight_bits", H5T_STD_I32LE, H5T_NATIVE_INT, 1, np,
                              q->wbits);
    if (!rc)
        rc = data_h5_put_attr(io, g, gp, "activation_bits", H5T_STD_I32LE, H5T_NATIVE_INT, 1, np,
                              q->abits);
    if (!rc)
        rc = data_h5_put_i32(io, g, gp, "per_channel", q->per_channel);
    if (!rc)
        rc = data_h5_put_str(io, g, gp, "weight_range", q->wrange, H5T_CSET_ASCII);
    if (!rc)
        rc = data_h5_put_str(io, g, gp, "activation_range", q->arange, H5T_CSET_ASCII);
    if (!rc)
        rc = data_h5_put_f64(io, g, gp, "percentile", q->percentile);
    return data_h5_group_close(io, g, gp, rc);
}

static int checkpoint_write(struct data_h5io *io, hid_t file, const struct data_checkpoint *ck)
{
    const char *gp = "/checkpoint";
    hid_t g;
    int rc = data_h5_group_create(io, file, "checkpoint", gp, &g);
    if (rc != CIM_OK)
        return rc;
    hsize_t dims[1] = {(hsize_t)ck->state_len};
    rc = data_h5_put_i32(io, g, gp, "epoch", ck->epoch);
    if (!rc)
        rc = data_h5_put_str_vl(io, g, gp, "options", ck->options ? ck->options : "");
    if (!rc)
        rc = data_h5_put_floats(io, g, "/checkpoint/state", "state", 1, dims, ck->state);
    return data_h5_group_close(io, g, gp, rc);
}

static int contents_write(struct data_h5io *io, hid_t file, const struct nn_model *m,
                          const struct data_checkpoint *ck)
{
    const int shape[3] = {m->input.c, m->input.h, m->input.w};
    const hsize_t three[1] = {3};
    int rc = data_h5_put_str(io, file, "/", "format", DATA_MODEL_FORMAT, H5T_CSET_ASCII);
    if (!rc)
        rc = data_h5_put_i32(io, file, "/", "format_version", DATA_MODEL_FORMAT_VERSION);
    if (!rc)
        rc = data_h5_put_str(io, file, "/", "architecture", m->arch, H5T_CSET_ASCII);
    if (!rc)
        rc = data_h5_put_str(io, file, "/", "dataset", m->dataset, H5T_CSET_ASCII);
    if (!rc)
        rc = data_h5_put_attr(io, file, "/", "input_shape", H5T_STD_I32LE, H5T_NATIVE_INT, 1, three,
                              shape);
    if (!rc)
        rc = data_h5_put_i32(io, file, "/", "num_classes", m->num_classes);
    if (!rc)
        rc = data_h5_put_str(io, file, "/", "cim_version", CIM_VERSION, H5T_CSET_ASCII);
    if (rc)
        return rc;

    hid_t layers;
    rc = data_h5_group_create(io, file, "layers", "/layers", &layers);
    if (rc)
        return rc;
    for (int i = 0; i < m->n_layers && rc == CIM_OK; i++)
        rc = layer_write(io, layers, i, &m->layers[i], m->quant.n_prec);
    rc = data_h5_group_close(io, layers, "/layers", rc);

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
                                   "parameters must be finite",
                                   path, i, nn_layer_type_name(l->type), k ? "bias" : "weight", bad,
                                   isnan(t[k]->data[bad]) ? "NaN" : "infinite");
        }
    }
    return CIM_OK;
}

/* The contents of a model file, for data_h5_save(). */
struct save_ctx {
    const struct nn_model *m;
    const struct data_checkpoint *ck;
};

static int save_contents(struct data_h5io *io, hid_t file, void *ctx)
{
    const struct save_ctx *c = ctx;
    return contents_write(io, file, c->m, c->ck);
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
        return cim_err_set(err, CIM_EINVAL, "%s: checkpoint state of %zu values has no data", path,
                           ck->state_len);
    struct save_ctx c = {m, ck};
    return data_h5_save(path, save_contents, &c, err);
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

/* Open float32 dataset `name` in `loc` and report its rank and extents. A
 * float64 or integer dataset is refused rather than converted: the file would
 * then not hold what cim computes with, and a round trip would not be exact. */
static int fdset_open(struct data_h5io *io, hid_t loc, const char *name, const char *dpath,
                      hid_t *d, int *rank, hsize_t dims[RANK_MAX])
{
    *d = H5I_INVALID_HID;
    htri_t e = H5Lexists(loc, name, H5P_DEFAULT);
    if (e < 0)
        return data_h5_fail(io, CIM_EFORMAT, dpath, "cannot look up dataset");
    if (e == 0)
        return data_h5_bad(io, CIM_EFORMAT, dpath, "missing dataset");
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0)
        return data_h5_fail(io, CIM_EFORMAT, dpath, "cannot open as a dataset");

    int rc = CIM_OK;
    hid_t t = H5Dget_type(ds);
    if (t < 0) {
        rc = data_h5_fail(io, CIM_EFORMAT, dpath, "cannot read the dataset's type");
    } else {
        if (H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) != 4) {
            char td[32];
            data_h5_type_desc(t, td, sizeof td);
            rc = data_h5_bad(io, CIM_EFORMAT, dpath, "type is %s; expected float32", td);
        }
        H5Tclose(t);
    }
    if (rc == CIM_OK) {
        hid_t space = H5Dget_space(ds);
        int r = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
        if (r < 0) {
            rc = data_h5_fail(io, CIM_EFORMAT, dpath, "cannot read the dataset's shape");
        } else if (r > RANK_MAX) {
            rc = data_h5_bad(io, CIM_EFORMAT, dpath, "rank %d; expected at most %d", r, RANK_MAX);
        } else if (H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
            rc = data_h5_fail(io, CIM_EFORMAT, dpath, "cannot read the dataset's shape");
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
static int fdset_read(struct data_h5io *io, hid_t d, const char *dpath, float *out, size_t n,
                      int finite)
{
    int rc = data_h5_dset_stored(io, d, dpath, n, 4);
    if (rc == CIM_OK && n > 0 &&
        H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        rc = data_h5_fail(io, CIM_EFORMAT, dpath, "cannot read dataset");
    H5Dclose(d);
    if (rc == CIM_OK && finite) {
        size_t bad = first_nonfinite(out, n);
        if (bad < n)
            rc = data_h5_bad(io, CIM_EFORMAT, dpath, "element %zu is %s; parameters must be finite",
                             bad, isnan(out[bad]) ? "NaN" : "infinite");
    }
    return rc;
}

/* Read parameter dataset `name` of a layer into tensor `t`, whose extents (set by
 * rebuilding the layer) are the only ones accepted. `hint` explains the
 * expectation when the shapes differ. */
static int param_read(struct data_h5io *io, hid_t g, const char *gpath, const char *name, int rank,
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
        data_h5_dims_desc(r, dims, got, sizeof got);
        data_h5_dims_desc(rank, want, exp, sizeof exp);
        if (r != rank)
            return data_h5_bad(io, CIM_EFORMAT, dpath, "rank %d %s; expected rank %d %s", r, got,
                               rank, exp);
        return data_h5_bad(io, CIM_EFORMAT, dpath, "shape %s; expected %s%s", got, exp, hint);
    }
    return fdset_read(io, d, dpath, t->data, nn_tensor_size(t), 1);
}

/* ---- reading: the model ----------------------------------------------------- */

/* Before a layer's weights are allocated: its `weight` dataset must have the
 * shape the layer's attributes and the previous layer imply (want, rank
 * dims), and no more than NN_TENSOR_ELEMS_MAX elements, so that a small
 * damaged file cannot make cim allocate gigabytes it will then refuse. */
static int weight_shape_check(struct data_h5io *io, hid_t g, const char *gpath, int rank,
                              const double want[RANK_MAX], const char *hint)
{
    char dpath[OBJ_PATH_MAX];
    snprintf(dpath, sizeof dpath, "%.*s/weight", GROUP_PATH_MAX, gpath);
    double n = 1.0;
    for (int i = 0; i < rank; i++)
        n *= want[i];
    if (n > (double)NN_TENSOR_ELEMS_MAX)
        return data_h5_bad(io, CIM_EFORMAT, gpath, "its attributes imply %.0f weights: too large "
                           "(a weight tensor holds at most %zu)", n, NN_TENSOR_ELEMS_MAX);
    hid_t d;
    int r = 0;
    hsize_t dims[RANK_MAX] = {0};
    int rc = fdset_open(io, g, "weight", dpath, &d, &r, dims);
    if (rc != CIM_OK)
        return rc;
    H5Dclose(d);
    int same = r == rank;
    for (int i = 0; i < rank; i++)
        same = same && (double)dims[i] == want[i];
    if (same)
        return CIM_OK;
    char got[96], exp[96] = "[";
    data_h5_dims_desc(r, dims, got, sizeof got);
    for (int i = 0; i < rank; i++)
        snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%s%.0f", i ? ", " : "", want[i]);
    strncat(exp, "]", sizeof exp - strlen(exp) - 1);
    if (r != rank)
        return data_h5_bad(io, CIM_EFORMAT, dpath, "rank %d %s; expected rank %d %s", r, got, rank,
                           exp);
    return data_h5_bad(io, CIM_EFORMAT, dpath, "shape %s; expected %s%s", got, exp, hint);
}

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
static int layer_read(struct data_h5io *io, hid_t layers, const char *name, int i,
                      struct nn_model *m)
{
    char gpath[GROUP_PATH_MAX];
    snprintf(gpath, sizeof gpath, "/layers/%.40s", name);
    int index;
    const char *suffix;
    if (layer_name_parse(name, &index, &suffix) != 0)
        return data_h5_bad(io, CIM_EFORMAT, gpath, "not a layer group name; expected %03d_<type>",
                           i);
    if (index != i)
        return data_h5_bad(io, CIM_EFORMAT, gpath,
                           "expected layer %03d here: layer groups must be "
                           "numbered consecutively from 000 without gaps or repeats",
                           i);

    hid_t g;
    int rc = data_h5_group_open(io, layers, name, gpath, 1, &g);
    if (rc != CIM_OK)
        return rc;
    char tname[NN_NAME_MAX] = "", aname[NN_NAME_MAX] = "";
    int type = -1, act = -1;
    rc = data_h5_attr_strbuf(io, g, gpath, "type", 1, 1, tname, sizeof tname);
    if (rc == CIM_OK && (type = nn_layer_type_parse(tname)) < 0)
        rc = data_h5_bad(io, CIM_EFORMAT, gpath,
                         "type '%s' is unknown; expected dense, conv2d or "
                         "maxpool",
                         tname);
    if (rc == CIM_OK && strcmp(suffix, tname) != 0)
        rc = data_h5_bad(io, CIM_EFORMAT, gpath,
                         "type '%s' does not match the group name; expected "
                         "%03d_%s",
                         tname, i, tname);
    if (rc == CIM_OK)
        rc = data_h5_attr_strbuf(io, g, gpath, "activation", 1, 1, aname, sizeof aname);
    if (rc == CIM_OK && (act = nn_act_parse(aname)) < 0)
        rc = data_h5_bad(io, CIM_EFORMAT, gpath,
                         "activation '%s' is unknown; expected none or relu", aname);

    int units = 0, kernel = 0, stride = 0, pad = 0;
    if (rc == CIM_OK && type == NN_LAYER_DENSE)
        rc = data_h5_attr_int(io, g, gpath, "units", 1, 1, &units);
    if (rc == CIM_OK && type == NN_LAYER_CONV2D)
        rc = data_h5_attr_int(io, g, gpath, "channels", 1, 1, &units);
    if (rc == CIM_OK && type != NN_LAYER_DENSE) {
        rc = data_h5_attr_int(io, g, gpath, "kernel", 1, 1, &kernel);
        if (rc == CIM_OK)
            rc = data_h5_attr_int(io, g, gpath, "stride", 1, 1, &stride);
        if (rc == CIM_OK)
            rc = data_h5_attr_int(io, g, gpath, "padding", 1, 0, &pad);
    }
    if (rc == CIM_OK && type == NN_LAYER_MAXPOOL && pad != 0)
        rc = data_h5_bad(io, CIM_EFORMAT, gpath, "padding %d; a maxpool layer has padding 0", pad);
    if (rc == CIM_OK && type == NN_LAYER_MAXPOOL && act != NN_ACT_NONE)
        rc = data_h5_bad(io, CIM_EFORMAT, gpath,
                         "activation '%s'; a maxpool layer has activation "
                         "none",
                         aname);

    /* the stored weights have the shape the attributes imply, checked before
     * anything is allocated; hyper-parameters that nn_model_add_*() refuses
     * (a kernel that does not fit, no units) keep its more telling message */
    const struct nn_shape in = m->n_layers ? m->layers[m->n_layers - 1].out : m->input;
    const int structural = type == NN_LAYER_DENSE
                               ? units >= 1
                               : kernel >= 1 && stride >= 1 && pad >= 0 && pad < kernel &&
                                     (double)in.h + 2.0 * pad >= kernel &&
                                     (double)in.w + 2.0 * pad >= kernel;
    if (rc == CIM_OK && type != NN_LAYER_MAXPOOL && structural) {
        const double want[RANK_MAX] = {units, type == NN_LAYER_DENSE ? (double)in.c * in.h * in.w
                                                                     : (double)in.c,
                                       kernel, kernel};
        char hint[160];
        if (type == NN_LAYER_DENSE)
            snprintf(hint, sizeof hint, " (units x the flattened output of the previous layer, "
                     "%dx%dx%d = %.0f)", in.c, in.h, in.w, want[1]);
        else
            snprintf(hint, sizeof hint, " (channels x the previous layer's %d output channels "
                     "x kernel x kernel)", in.c);
        rc = weight_shape_check(io, g, gpath, type == NN_LAYER_DENSE ? 2 : 4, want, hint);
    }

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
            rc = data_h5_bad(io, r == CIM_ENOMEM ? CIM_ENOMEM : CIM_EFORMAT, gpath, "%s", e.msg);
    }

    if (rc == CIM_OK && type != NN_LAYER_MAXPOOL) {
        struct nn_layer *l = &m->layers[m->n_layers - 1];
        char hint[160] = "";
        if (type == NN_LAYER_DENSE)
            snprintf(hint, sizeof hint,
                     " (units x the flattened output of the previous layer, "
                     "%dx%dx%d = %zu)",
                     l->in.c, l->in.h, l->in.w, nn_shape_size(l->in));
        else
            snprintf(hint, sizeof hint,
                     " (channels x the previous layer's %d output channels x "
                     "kernel x kernel)",
                     l->in.c);
        rc = param_read(io, g, gpath, "weight", type == NN_LAYER_DENSE ? 2 : 4, &l->weight, hint);
        if (rc == CIM_OK)
            rc = param_read(io, g, gpath, "bias", 1, &l->bias, " (one per output)");
    }
    H5Gclose(g);
    return rc;
}

/* The steps of a quantized layer (see layer_quant_write). */
static int layer_quant_read(struct data_h5io *io, hid_t layers, int i, struct nn_model *m)
{
    struct nn_layer *l = &m->layers[i];
    const int n_prec = m->quant.n_prec;
    char name[32], gpath[GROUP_PATH_MAX], dpath[OBJ_PATH_MAX];
    snprintf(name, sizeof name, "%03d_%s", i, nn_layer_type_name(l->type));
    snprintf(gpath, sizeof gpath, "/layers/%s", name);
    snprintf(dpath, sizeof dpath, "%s/weight_scale", gpath);
    hid_t g;
    int rc = data_h5_group_open(io, layers, name, gpath, 1, &g);
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
        rc = data_h5_bad(io, CIM_EFORMAT, dpath, "expected shape [%d, %d] (precisions x %s)",
                         n_prec, rows, rows > 1 ? "output channels" : "one step per tensor");
    } else if (rc == CIM_OK) {
        all = malloc((size_t)n_prec * rows * sizeof *all);
        if (all == NULL) {
            H5Dclose(d);
            rc = data_h5_fail(io, CIM_ENOMEM, dpath, "out of memory");
        } else {
            rc = fdset_read(io, d, dpath, all, (size_t)n_prec * rows, 1);
        }
    }
    for (int p = 0; rc == CIM_OK && p < NN_PREC_MAX; p++) {
        if (nn_tensor_init(&l->wscale[p], rows, 1, 1, 1) != CIM_OK) {
            rc = data_h5_fail(io, CIM_ENOMEM, dpath, "out of memory");
            break;
        }
        for (int k = 0; k < rows; k++) {
            float v = all[(size_t)(p < n_prec ? p : 0) * rows + k];
            if (!(v > 0.0f)) {
                rc = data_h5_bad(io, CIM_EFORMAT, dpath, "step %g; steps must be positive",
                                 (double)v);
                break;
            }
            l->wscale[p].data[k] = v;
        }
    }
    free(all);
    double a = -1.0;
    if (rc == CIM_OK)
        rc = data_h5_attr_f64(io, g, gpath, "input_scale", &a);
    if (rc == CIM_OK && !(a > 0.0 && isfinite(a)))
        rc = data_h5_bad(io, CIM_EFORMAT, gpath,
                         "attribute 'input_scale' is missing or not a "
                         "positive number");
    l->ascale = (float)a;
    H5Gclose(g);
    return rc;
}

/* /quant is optional: a file without it is an FP32 model. */
static int quant_read(struct data_h5io *io, hid_t file, struct nn_model *m)
{
    hid_t g;
    int rc = data_h5_group_open(io, file, "quant", "/quant", 0, &g);
    if (rc != CIM_OK || g < 0)
        return rc;
    const char *gp = "/quant";
    struct nn_quant *q = &m->quant;
    char scheme[32] = "";
    int n_prec = 0;
    long long wb[NN_PREC_MAX] = {0}, ab[NN_PREC_MAX] = {0};
    int present, sch = -1;
    rc = data_h5_attr_strbuf(io, g, gp, "scheme", 1, 1, scheme, sizeof scheme);
    if (rc == CIM_OK && (sch = quant_scheme_parse(scheme)) < 0)
        rc = data_h5_bad(io, CIM_EFORMAT, gp,
                         "scheme '%s' is unknown; expected nested, nested-round "
                         "or independent",
                         scheme);
    if (rc == CIM_OK)
        rc = data_h5_attr_int(io, g, gp, "precisions", 1, 1, &n_prec);
    if (rc == CIM_OK && n_prec > NN_PREC_MAX)
        rc = data_h5_bad(io, CIM_EFORMAT, gp, "%d precisions; expected 1 or 2", n_prec);
    if (rc == CIM_OK)
        rc = data_h5_attr_ints(io, g, gp, "weight_bits", "int32[precisions]", 1, n_prec,
                               QUANT_WBITS_MIN, QUANT_WBITS_MAX, wb, &present);
    if (rc == CIM_OK)
        rc = data_h5_attr_ints(io, g, gp, "activation_bits", "int32[precisions]", 1, n_prec,
                               QUANT_ABITS_MIN, QUANT_ABITS_MAX, ab, &present);
    if (rc == CIM_OK)
        rc = data_h5_attr_int(io, g, gp, "per_channel", 1, 0, &q->per_channel);
    if (rc == CIM_OK)
        rc = data_h5_attr_strbuf(io, g, gp, "weight_range", 0, 0, q->wrange, sizeof q->wrange);
    if (rc == CIM_OK)
        rc = data_h5_attr_strbuf(io, g, gp, "activation_range", 0, 0, q->arange, sizeof q->arange);
    if (rc == CIM_OK)
        rc = data_h5_attr_f64(io, g, gp, "percentile", &q->percentile);
    H5Gclose(g);
    if (rc != CIM_OK)
        return rc;
    if (n_prec == 2 && (wb[1] > wb[0] || ab[1] > ab[0]))
        return data_h5_bad(io, CIM_EFORMAT, gp,
                           "the second precision W%lldA%lld exceeds the first "
                           "W%lldA%lld",
                           wb[1], ab[1], wb[0], ab[0]);
    q->scheme = (enum quant_scheme)sch;
    q->n_prec = n_prec;
    for (int p = 0; p < n_prec; p++) {
        q->wbits[p] = (int)wb[p];
        q->abits[p] = (int)ab[p];
    }
    hid_t layers = H5I_INVALID_HID;
    rc = data_h5_group_open(io, file, "layers", "/layers", 1, &layers);
    for (int i = 0; rc == CIM_OK && i < m->n_layers; i++)
        if (m->layers[i].weight.data != NULL)
            rc = layer_quant_read(io, layers, i, m);
    if (layers >= 0)
        H5Gclose(layers);
    if (rc != CIM_OK)
        q->n_prec = 0;
    return rc;
}

static int layers_read(struct data_h5io *io, hid_t file, struct nn_model *m)
{
    hid_t g;
    int rc = data_h5_group_open(io, file, "layers", "/layers", 1, &g);
    if (rc != CIM_OK)
        return rc;
    H5G_info_t info;
    if (H5Gget_info(g, &info) < 0) {
        rc = data_h5_fail(io, CIM_EFORMAT, "/layers", "cannot list the group");
    } else if (info.nlinks == 0) {
        rc = data_h5_bad(io, CIM_EFORMAT, "/layers",
                         "no layers; expected groups 000_<type>, "
                         "001_<type>, ...");
    } else if (info.nlinks > NN_MODEL_LAYERS_MAX) {
        rc = data_h5_bad(io, CIM_EFORMAT, "/layers", "%llu layers; cim supports at most %d",
                         (unsigned long long)info.nlinks, NN_MODEL_LAYERS_MAX);
    }
    /* Name order is execution order: the names are zero-padded. */
    for (int i = 0; rc == CIM_OK && i < (int)info.nlinks; i++) {
        char name[64];
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, name,
                                         sizeof name, H5P_DEFAULT);
        if (len < 0)
            rc = data_h5_fail(io, CIM_EFORMAT, "/layers", "cannot read the name of member %d", i);
        else
            rc = layer_read(io, g, name, i, m);
    }
    H5Gclose(g);
    return rc;
}

/* /training is optional, and so is each of its attributes: a model converted
 * from elsewhere may know nothing of how it was trained. */
static int record_read(struct data_h5io *io, hid_t file, struct nn_train_record *r)
{
    const char *gp = "/training";
    hid_t g;
    int rc = data_h5_group_open(io, file, "training", gp, 0, &g);
    if (rc != CIM_OK || g < 0)
        return rc;
    rc = data_h5_attr_strbuf(io, g, gp, "command", 0, 1, r->command, sizeof r->command);
    if (!rc)
        rc = data_h5_attr_strbuf(io, g, gp, "optimizer", 0, 1, r->optimizer, sizeof r->optimizer);
    if (!rc)
        rc = data_h5_attr_strbuf(io, g, gp, "created", 0, 1, r->created, sizeof r->created);
    if (!rc)
        rc = data_h5_attr_int(io, g, gp, "epochs", 0, 0, &r->epochs);
    if (!rc)
        rc = data_h5_attr_int(io, g, gp, "batch", 0, 0, &r->batch);
    if (!rc)
        rc = data_h5_attr_f64(io, g, gp, "lr", &r->lr);
    if (!rc)
        rc = data_h5_attr_f64(io, g, gp, "test_accuracy", &r->test_accuracy);
    if (!rc)
        rc = data_h5_attr_f64(io, g, gp, "train_loss", &r->train_loss);
    if (!rc)
        rc = data_h5_attr_f64(io, g, gp, "seconds", &r->seconds);
    if (!rc)
        rc = data_h5_attr_u64(io, g, gp, "seed", &r->seed);
    if (!rc)
        rc = data_h5_attr_strbuf(io, g, gp, "noise_aware", 0, 1, r->noise_aware,
                                 sizeof r->noise_aware);
    H5Gclose(g);
    return rc;
}

/* Root attributes, then layers, then the record. `format` and `format_version`
 * come first so that a newer or foreign file is named as such, not as a file
 * with a missing attribute. */
static int model_read(struct data_h5io *io, hid_t file, struct nn_model **out)
{
    *out = NULL;
    char fmt[32] = "";
    int rc = data_h5_attr_strbuf(io, file, "/", "format", 1, 1, fmt, sizeof fmt);
    if (rc != CIM_OK)
        return rc;
    if (strcmp(fmt, DATA_MODEL_FORMAT) != 0)
        return data_h5_bad(io, CIM_EFORMAT, "/", "format is '%s'; expected '%s'", fmt,
                           DATA_MODEL_FORMAT);
    int version = 0;
    rc = data_h5_attr_int(io, file, "/", "format_version", 1, INT_MIN, &version);
    if (rc != CIM_OK)
        return rc;
    if (version > DATA_MODEL_FORMAT_VERSION)
        return data_h5_bad(io, CIM_EUNSUPPORTED, "/",
                           "format_version %d is newer than this cim (%s) "
                           "reads (%d); use a newer cim",
                           version, CIM_VERSION, DATA_MODEL_FORMAT_VERSION);
    if (version < 1)
        return data_h5_bad(io, CIM_EFORMAT, "/", "format_version %d; expected %d", version,
                           DATA_MODEL_FORMAT_VERSION);

    char arch[NN_NAME_MAX] = "", dataset[NN_NAME_MAX] = "";
    long long shape[3] = {0, 0, 0};
    int present, classes = 0;
    rc = data_h5_attr_strbuf(io, file, "/", "architecture", 1, 0, arch, sizeof arch);
    if (!rc)
        rc = data_h5_attr_strbuf(io, file, "/", "dataset", 0, 0, dataset, sizeof dataset);
    if (!rc)
        rc = data_h5_attr_ints(io, file, "/", "input_shape", "int32[3], C x H x W", 1, 3, 1,
                               INT_MAX, shape, &present);
    if (!rc)
        rc = data_h5_attr_int(io, file, "/", "num_classes", 1, 1, &classes);
    if (rc != CIM_OK)
        return rc;

    if (!nn_elems_ok((size_t)shape[0], (size_t)shape[1], (size_t)shape[2], 1))
        return data_h5_bad(io, CIM_EFORMAT, "/",
                           "input_shape %lldx%lldx%lld is too large; expected at most %zu "
                           "values per sample",
                           shape[0], shape[1], shape[2], NN_TENSOR_ELEMS_MAX);
    struct nn_model *m = nn_model_alloc(
        arch, (struct nn_shape){(int)shape[0], (int)shape[1], (int)shape[2]}, classes);
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

/* Read the model of an open file and close it. */
static struct nn_model *model_read_close(struct data_h5io *io, hid_t file)
{
    struct nn_model *m;
    int rc = model_read(io, file, &m);
    if (H5Fclose(file) < 0 && rc == CIM_OK) {
        data_h5_fail(io, CIM_EIO, NULL, "cannot close");
        nn_model_free(m);
        return NULL;
    }
    return rc == CIM_OK ? m : NULL;
}

/* Missing, unreadable and non-HDF5 files get their own messages, before HDF5
 * gets a chance to describe them in its own words. */
struct nn_model *data_model_load(const char *path, struct cim_err *err)
{
    struct data_h5io io = {path, err};
    hid_t file;
    if (data_h5_open(&io, path, "model file", &file) != CIM_OK)
        return NULL;
    return model_read_close(&io, file);
}

struct nn_model *data_model_load_image(const void *buf, size_t len, const char *name,
                                       struct cim_err *err)
{
    struct data_h5io io = {name, err};
    hid_t file;
    if (data_h5_open_image(&io, buf, len, &file) != CIM_OK)
        return NULL;
    return model_read_close(&io, file);
}

/* ---- checkpoints ---------------------------------------------------------------- */

static int checkpoint_read(struct data_h5io *io, hid_t file, struct data_checkpoint *ck)
{
    const char *gp = "/checkpoint";
    htri_t e = H5Lexists(file, "checkpoint", H5P_DEFAULT);
    if (e < 0)
        return data_h5_fail(io, CIM_EFORMAT, gp, "cannot look up group");
    if (e == 0)
        return data_h5_bad(io, CIM_EFORMAT, gp,
                           "missing group; this is a model file, not a "
                           "checkpoint");
    hid_t g;
    int rc = data_h5_group_open(io, file, "checkpoint", gp, 1, &g);
    if (rc != CIM_OK)
        return rc;
    rc = data_h5_attr_int(io, g, gp, "epoch", 1, 0, &ck->epoch);
    if (rc == CIM_OK)
        rc = data_h5_attr_str(io, g, gp, "options", 1, &ck->options);
    hid_t d = H5I_INVALID_HID;
    int rank = 0;
    hsize_t dims[RANK_MAX] = {0};
    const char *dp = "/checkpoint/state";
    if (rc == CIM_OK)
        rc = fdset_open(io, g, "state", dp, &d, &rank, dims);
    if (rc == CIM_OK && rank != 1) {
        H5Dclose(d);
        rc = data_h5_bad(io, CIM_EFORMAT, dp, "rank %d; expected 1 (a vector of state values)",
                         rank);
    } else if (rc == CIM_OK) {
        size_t n = (size_t)dims[0];
        if ((hsize_t)n != dims[0] || n > SIZE_MAX / sizeof(float)) {
            H5Dclose(d);
            rc = data_h5_bad(io, CIM_ENOMEM, dp, "%llu values are too many",
                             (unsigned long long)dims[0]);
        } else if (n > 0 && (ck->state = malloc(n * sizeof(float))) == NULL) {
            H5Dclose(d);
            rc = data_h5_bad(io, CIM_ENOMEM, dp, "out of memory for %zu values", n);
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
    struct data_h5io io = {path, err};
    hid_t file;
    int rc = data_h5_open(&io, path, "model file", &file);
    if (rc != CIM_OK)
        return rc;
    struct nn_model *model = NULL;
    rc = model_read(&io, file, &model);
    if (rc == CIM_OK)
        rc = checkpoint_read(&io, file, ck);
    if (H5Fclose(file) < 0 && rc == CIM_OK)
        rc = data_h5_fail(&io, CIM_EIO, NULL, "cannot close");
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
