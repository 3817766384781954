/* sweep_file.c: the HDF5 store of a sweep; see sweep_file.h. */
#include "sweep_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/atomic.h"
#include "data/h5io.h"
#include "data/model_file.h"

#define SWEEP_FORMAT "cim-sweep"
#define SWEEP_VERSION 2 /* 2: the attribute blocks, for a union of grids */

static char *dup_str(const char *s)
{
    if (s == NULL)
        s = "";
    char *d = malloc(strlen(s) + 1);
    if (d != NULL)
        memcpy(d, s, strlen(s) + 1);
    return d;
}

int data_sweep_add(struct data_sweep *s, const struct data_sweep_run *r)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        struct data_sweep_run *n = realloc(s->runs, (size_t)cap * sizeof *n);
        if (n == NULL)
            return CIM_ENOMEM;
        s->runs = n;
        s->cap = cap;
    }
    struct data_sweep_run *d = &s->runs[s->n];
    *d = *r;
    d->label = dup_str(r->label);
    d->config = dup_str(r->config);
    d->layers = dup_str(r->layers);
    if (d->label == NULL || d->config == NULL || d->layers == NULL) {
        free(d->label);
        free(d->config);
        free(d->layers);
        return CIM_ENOMEM;
    }
    /* move it before the rows that come after it (runs usually arrive in order) */
    int at = s->n;
    while (at > 0 && (s->runs[at - 1].point > r->point ||
                      (s->runs[at - 1].point == r->point &&
                       s->runs[at - 1].seed_index > r->seed_index)))
        at--;
    if (at < s->n) {
        const struct data_sweep_run t = *d;
        memmove(&s->runs[at + 1], &s->runs[at], (size_t)(s->n - at) * sizeof *d);
        s->runs[at] = t;
    }
    s->n++;
    return CIM_OK;
}

void data_sweep_release(struct data_sweep *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->runs[i].label);
        free(s->runs[i].config);
        free(s->runs[i].layers);
    }
    free(s->runs);
    free(s->model);
    free(s->command);
    free(s->varied);
    free(s->blocks);
    memset(s, 0, sizeof *s);
}

/* ---- saving -------------------------------------------------------------------- */

static int contents(struct data_h5io *io, hid_t file, void *ctx)
{
    const struct data_sweep *s = ctx;
    const size_t n = (size_t)s->n;
    int rc = data_h5_put_str(io, file, "/", "format", SWEEP_FORMAT, H5T_CSET_ASCII);
    const int blocks = s->blocks != NULL && s->blocks[0] != '\0';
    if (rc == CIM_OK) /* a file of one grid stays readable by version-1 readers */
        rc = data_h5_put_i32(io, file, "/", "version", blocks ? 2 : 1);
    if (rc == CIM_OK && blocks)
        rc = data_h5_put_str_vl(io, file, "/", "blocks", s->blocks);
    if (rc == CIM_OK)
        rc = data_h5_put_str_vl(io, file, "/", "model", s->model ? s->model : "");
    if (rc == CIM_OK)
        rc = data_h5_put_str_vl(io, file, "/", "command", s->command ? s->command : "");
    if (rc == CIM_OK)
        rc = data_h5_put_str_vl(io, file, "/", "varied", s->varied ? s->varied : "[]");
    if (rc == CIM_OK)
        rc = data_h5_put_i32(io, file, "/", "points", s->points);
    if (rc == CIM_OK)
        rc = data_h5_put_i32(io, file, "/", "seeds", s->seeds);
    hid_t g;
    if (rc != CIM_OK || (rc = data_h5_group_create(io, file, "runs", "/runs", &g)) != CIM_OK)
        return rc;
    int32_t *i32 = malloc((n ? n : 1) * sizeof *i32);
    int64_t *i64 = malloc((n ? n : 1) * sizeof *i64);
    uint64_t *u64 = malloc((n ? n : 1) * sizeof *u64);
    double *f64 = malloc((n ? n : 1) * sizeof *f64);
    const char **str = malloc((n ? n : 1) * sizeof *str);
    if (!i32 || !i64 || !u64 || !f64 || !str)
        rc = cim_err_set(io->err, CIM_ENOMEM, "%s: out of memory", io->file);
#define COLUMN(name, arr, field, ftype, mtype)                                             \
    if (rc == CIM_OK) {                                                                  \
        for (size_t k = 0; k < n; k++)                                                   \
            arr[k] = s->runs[k].field;                                                   \
        rc = data_h5_put_column(io, g, "/runs/" name, name, ftype, mtype, n, arr);       \
    }
    COLUMN("point", i32, point, H5T_STD_I32LE, H5T_NATIVE_INT32)
    COLUMN("seed_index", i32, seed_index, H5T_STD_I32LE, H5T_NATIVE_INT32)
    COLUMN("seed", u64, seed, H5T_STD_U64LE, H5T_NATIVE_UINT64)
    COLUMN("images", i32, images, H5T_STD_I32LE, H5T_NATIVE_INT32)
    COLUMN("correct", i64, correct, H5T_STD_I64LE, H5T_NATIVE_INT64)
    COLUMN("accuracy", f64, accuracy, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE)
    COLUMN("seconds", f64, seconds, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE)
#undef COLUMN
#define STRINGS(name, field)                                                               \
    if (rc == CIM_OK) {                                                                  \
        for (size_t k = 0; k < n; k++)                                                   \
            str[k] = s->runs[k].field;                                                   \
        rc = data_h5_put_strings(io, g, "/runs/" name, name, n, str);                    \
    }
    STRINGS("label", label)
    STRINGS("config", config)
    STRINGS("layers", layers)
#undef STRINGS
    free(i32);
    free(i64);
    free(u64);
    free(f64);
    free(str);
    return data_h5_group_close(io, g, "/runs", rc);
}

int data_sweep_save(const char *path, const struct data_sweep *s, struct cim_err *err)
{
    return data_h5_save(path, contents, (void *)s, err);
}

/* ---- loading ------------------------------------------------------------------- */

static int read_runs(struct data_h5io *io, hid_t file, struct data_sweep *s)
{
    hid_t g;
    int rc = data_h5_group_open(io, file, "runs", "/runs", 1, &g);
    if (rc != CIM_OK)
        return rc;
    /* the number of rows: the length of /runs/point */
    hsize_t n = 0;
    hid_t d = H5Dopen2(g, "point", H5P_DEFAULT);
    if (d < 0) {
        rc = data_h5_bad(io, CIM_EFORMAT, "/runs/point", "missing dataset");
    } else {
        hid_t sp = H5Dget_space(d);
        if (sp < 0 || H5Sget_simple_extent_ndims(sp) != 1 ||
            H5Sget_simple_extent_dims(sp, &n, NULL) < 0)
            rc = data_h5_bad(io, CIM_EFORMAT, "/runs/point", "expected one dimension");
        if (sp >= 0)
            H5Sclose(sp);
        H5Dclose(d);
    }
    if (rc == CIM_OK && n > (1u << 24))
        rc = data_h5_bad(io, CIM_EFORMAT, "/runs/point", "%llu runs; at most %u",
                         (unsigned long long)n, 1u << 24);
    const size_t m = (size_t)n;
    s->runs = rc == CIM_OK ? calloc(m ? m : 1, sizeof *s->runs) : NULL;
    int32_t *i32 = malloc((m ? m : 1) * sizeof *i32);
    int64_t *i64 = malloc((m ? m : 1) * sizeof *i64);
    uint64_t *u64 = malloc((m ? m : 1) * sizeof *u64);
    double *f64 = malloc((m ? m : 1) * sizeof *f64);
    char **str = calloc(m ? m : 1, sizeof *str);
    if (rc == CIM_OK && (!s->runs || !i32 || !i64 || !u64 || !f64 || !str))
        rc = cim_err_set(io->err, CIM_ENOMEM, "%s: out of memory", io->file);
    if (rc == CIM_OK) {
        s->n = s->cap = (int)m;
    }
#define COLUMN(name, arr, field, cls, mtype)                                               \
    if (rc == CIM_OK &&                                                                  \
        (rc = data_h5_get_column(io, g, "/runs/" name, name, cls, mtype, m, arr)) ==     \
            CIM_OK)                                                                      \
        for (size_t k = 0; k < m; k++)                                                   \
            s->runs[k].field = arr[k];
    COLUMN("point", i32, point, H5T_INTEGER, H5T_NATIVE_INT32)
    COLUMN("seed_index", i32, seed_index, H5T_INTEGER, H5T_NATIVE_INT32)
    COLUMN("seed", u64, seed, H5T_INTEGER, H5T_NATIVE_UINT64)
    COLUMN("images", i32, images, H5T_INTEGER, H5T_NATIVE_INT32)
    COLUMN("correct", i64, correct, H5T_INTEGER, H5T_NATIVE_INT64)
    COLUMN("accuracy", f64, accuracy, H5T_FLOAT, H5T_NATIVE_DOUBLE)
    COLUMN("seconds", f64, seconds, H5T_FLOAT, H5T_NATIVE_DOUBLE)
#undef COLUMN
#define STRINGS(name, field)                                                               \
    if (rc == CIM_OK && (rc = data_h5_get_strings(io, g, "/runs/" name, name, m, str)) ==  \
                            CIM_OK)                                                      \
        for (size_t k = 0; k < m; k++)                                                   \
            s->runs[k].field = str[k];
    STRINGS("label", label)
    STRINGS("config", config)
    STRINGS("layers", layers)
#undef STRINGS
    free(i32);
    free(i64);
    free(u64);
    free(f64);
    free(str);
    return data_h5_group_close(io, g, "/runs", rc);
}

int data_sweep_load(const char *path, struct data_sweep *s, struct cim_err *err)
{
    memset(s, 0, sizeof *s);
    struct data_h5io io = {path, err};
    hid_t file;
    int rc = data_h5_open(&io, path, "sweep file", &file);
    if (rc != CIM_OK)
        return rc;
    char format[32] = "";
    int version = 0;
    rc = data_h5_attr_strbuf(&io, file, "/", "format", 1, 1, format, sizeof format);
    if (rc == CIM_OK && strcmp(format, SWEEP_FORMAT) != 0)
        rc = data_h5_bad(&io, CIM_EFORMAT, "/", "format is '%s'; expected '%s' (a file written "
                         "by cim sweep)", format, SWEEP_FORMAT);
    if (rc == CIM_OK)
        rc = data_h5_attr_int(&io, file, "/", "version", 1, 1, &version);
    if (rc == CIM_OK && version > SWEEP_VERSION)
        rc = data_h5_bad(&io, CIM_EFORMAT, "/", "version %d is newer than this cim reads (%d)",
                         version, SWEEP_VERSION);
    if (rc == CIM_OK)
        rc = data_h5_attr_str(&io, file, "/", "model", 1, &s->model);
    if (rc == CIM_OK)
        rc = data_h5_attr_str(&io, file, "/", "command", 0, &s->command);
    if (rc == CIM_OK)
        rc = data_h5_attr_str(&io, file, "/", "varied", 1, &s->varied);
    if (rc == CIM_OK && version >= 2)
        rc = data_h5_attr_str(&io, file, "/", "blocks", 1, &s->blocks);
    else if (rc == CIM_OK && (s->blocks = dup_str("")) == NULL)
        rc = cim_err_set(err, CIM_ENOMEM, "%s: out of memory", path);
    if (rc == CIM_OK)
        rc = data_h5_attr_int(&io, file, "/", "points", 1, 0, &s->points);
    if (rc == CIM_OK)
        rc = data_h5_attr_int(&io, file, "/", "seeds", 1, 0, &s->seeds);
    if (rc == CIM_OK)
        rc = read_runs(&io, file, s);
    if (H5Fclose(file) < 0 && rc == CIM_OK)
        rc = data_h5_fail(&io, CIM_EIO, NULL, "cannot close");
    if (rc != CIM_OK)
        data_sweep_release(s);
    return rc;
}

/* ---- text ------------------------------------------------------------------------ */

int data_text_save(const char *path, const char *text, struct cim_err *err)
{
    struct data_atomic a;
    int rc = data_atomic_begin(&a, path, err);
    if (rc != CIM_OK)
        return rc;
    FILE *f = fopen(a.tmp_path, "wx");
    if (f == NULL) {
        rc = cim_err_set(err, CIM_EIO, "%s: cannot create: %s", path, strerror(errno));
        data_atomic_abort(&a);
        return rc;
    }
    const size_t n = strlen(text);
    const int bad = fwrite(text, 1, n, f) != n;
    const int e = errno;
    if (fclose(f) != 0 || bad) {
        rc = cim_err_set(err, CIM_EIO, "%s: cannot write: %s", path, strerror(bad ? e : errno));
        data_atomic_abort(&a);
        return rc;
    }
    return data_atomic_commit(&a, err);
}
