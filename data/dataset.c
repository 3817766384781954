/* dataset.c: an image-classification data set from IDX files; see dataset.h. */
#include "dataset.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/idx.h"

/* Longest path built from the data directory and a file name. */
#define DATA_PATH_MAX 4096

static const char data_hint[] = "choose the data directory with --data DIR or CIM_DATA";

const char *data_dir_resolve(const char *dir)
{
    if (dir != NULL)
        return dir;
    const char *env = getenv("CIM_DATA");
    return env != NULL && *env != '\0' ? env : DATA_DIR_DEFAULT;
}

/* ---- finding and loading the files ---- */

static int data_path_join(char *path, const char *dir, const char *name, const char *ext,
                          struct cim_err *err)
{
    size_t n = strlen(dir);
    const char *sep = n > 0 && dir[n - 1] == '/' ? "" : "/";
    int len = snprintf(path, DATA_PATH_MAX, "%s%s%s%s", dir, sep, name, ext);
    if (len < 0 || len >= DATA_PATH_MAX)
        return cim_err_set(err, CIM_EINVAL, "data directory %s: path too long (limit %d)",
                           dir, DATA_PATH_MAX - 1);
    return CIM_OK;
}

/* Find NAME.gz, else NAME, in `dir` and load it. A missing file is the usual
 * first-run mistake (no data package, or a wrong directory), so its message
 * names the file looked for and how to point cim elsewhere. */
static int data_file_load(const char *dir, const char *name, char *path, struct data_idx *out,
                          struct cim_err *err)
{
    struct stat st;
    int rc = data_path_join(path, dir, name, ".gz", err);
    if (rc != CIM_OK)
        return rc;
    if (stat(path, &st) != 0) {
        int gz_errno = errno;
        char plain[DATA_PATH_MAX];
        rc = data_path_join(plain, dir, name, "", err);
        if (rc != CIM_OK)
            return rc;
        if (stat(plain, &st) != 0)
            return cim_err_set(err, CIM_EIO, "cannot open %s: %s (%s)", path,
                               strerror(gz_errno), data_hint);
        memcpy(path, plain, strlen(plain) + 1);
    }
    return data_idx_load(path, out, err);
}

static const char *const data_file_names[2][2] = {
    [DATA_SPLIT_TRAIN] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
    [DATA_SPLIT_TEST] = {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"},
};

int data_set_load(const char *dir, enum data_split split, struct data_set *out,
                  struct cim_err *err)
{
    assert(out != NULL && out->pixels == NULL && out->labels == NULL);
    if (split != DATA_SPLIT_TRAIN && split != DATA_SPLIT_TEST)
        return cim_err_set(err, CIM_EINVAL, "data split %d: expected train or test", (int)split);
    dir = data_dir_resolve(dir);

    char img_path[DATA_PATH_MAX];
    char lab_path[DATA_PATH_MAX];
    struct data_idx img = {0};
    struct data_idx lab = {0};
    int rc = data_file_load(dir, data_file_names[split][0], img_path, &img, err);
    if (rc != CIM_OK)
        goto done;
    rc = data_file_load(dir, data_file_names[split][1], lab_path, &lab, err);
    if (rc != CIM_OK)
        goto done;

    if (img.rank != 3) {
        rc = cim_err_set(err, CIM_EFORMAT,
                         "%s: expected images of rank 3 (count, height, width), found rank %d",
                         img_path, img.rank);
        goto done;
    }
    if (lab.rank != 1) {
        rc = cim_err_set(err, CIM_EFORMAT,
                         "%s: expected labels of rank 1 (count), found rank %d", lab_path,
                         lab.rank);
        goto done;
    }
    if (img.dims[0] != lab.dims[0]) {
        rc = cim_err_set(err, CIM_EFORMAT, "%s has %" PRIu32 " images but %s has %" PRIu32
                         " labels: expected one label per image",
                         img_path, img.dims[0], lab_path, lab.dims[0]);
        goto done;
    }
    /* DATA_IDX_ELEMS_MAX keeps every extent below INT_MAX today; the check
     * keeps the int fields honest should that limit ever grow. */
    if (img.dims[0] > INT_MAX || img.dims[1] > INT_MAX || img.dims[2] > INT_MAX) {
        rc = cim_err_set(err, CIM_EUNSUPPORTED,
                         "%s: %" PRIu32 "x%" PRIu32 "x%" PRIu32 " images: each extent must be "
                         "at most %d",
                         img_path, img.dims[0], img.dims[1], img.dims[2], INT_MAX);
        goto done;
    }
    for (size_t i = 0; i < lab.count; i++) {
        if (lab.data[i] >= DATA_CLASSES) {
            rc = cim_err_set(err, CIM_EFORMAT,
                             "%s: label %d of image %zu is not a class: expected 0 to %d",
                             lab_path, lab.data[i], i, DATA_CLASSES - 1);
            goto done;
        }
    }

    memset(out, 0, sizeof *out);
    out->n = (int)img.dims[0];
    out->c = 1;
    out->h = (int)img.dims[1];
    out->w = (int)img.dims[2];
    out->num_classes = DATA_CLASSES;
    out->pixels = img.data;
    out->labels = lab.data;
    return CIM_OK;
done:
    data_idx_release(&img);
    data_idx_release(&lab);
    return rc;
}

/* ---- mini-batches ---- */

/* A pixel p becomes p / 255.0f, the correctly rounded quotient (IEEE 754
 * division), so that x * 255 recovers the 8-bit input code and every consumer
 * that computes p / 255 agrees bit for bit. Multiplying by the constant
 * 1.0f / 255 instead is off by one ulp for 126 of the 256 values. */
static void data_image_to_float(const uint8_t *src, size_t size, float *dst)
{
    for (size_t k = 0; k < size; k++)
        dst[k] = (float)src[k] / 255.0f;
}

void data_set_batch(const struct data_set *ds, const int *idx, int b, float *x, uint8_t *y)
{
    assert(ds != NULL && (b == 0 || (idx != NULL && x != NULL)));
    size_t size = (size_t)ds->c * (size_t)ds->h * (size_t)ds->w;
    for (int i = 0; i < b; i++) {
        assert(idx[i] >= 0 && idx[i] < ds->n);
        data_image_to_float(ds->pixels + (size_t)idx[i] * size, size, x + (size_t)i * size);
        if (y != NULL)
            y[i] = ds->labels[idx[i]];
    }
}

void data_set_range(const struct data_set *ds, int first, int b, float *x, uint8_t *y)
{
    assert(ds != NULL && first >= 0 && b >= 0 && first <= ds->n - b);
    assert(b == 0 || x != NULL);
    size_t size = (size_t)ds->c * (size_t)ds->h * (size_t)ds->w;
    data_image_to_float(ds->pixels + (size_t)first * size, (size_t)b * size, x);
    if (y != NULL && b > 0)
        memcpy(y, ds->labels + first, (size_t)b);
}

void data_set_release(struct data_set *ds)
{
    if (ds == NULL)
        return;
    free(ds->pixels);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}
