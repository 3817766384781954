/*
 * test_model_file.c: the HDF5 model store (data/model_file.h).
 *
 * Round trips must be bit-exact; every refusal of the loader is provoked with a
 * file that is a good one with exactly one thing changed through the HDF5 API,
 * and each must give its code, a message naming the file and the object, and
 * leave no HDF5 identifier open.
 */
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "data/model_file.h"
#include "nn/quantize.h"
#include "data_testutil.h"
#include "testutil.h"

/* ---- scratch directory ---------------------------------------------------------- */

/* A fresh directory per test, with HDF5 told not to print its error stack. */
static void scratch_begin(void)
{
    data_init();
    scratch_open("model");
}

#define assert_err(err, want, phrase)                                                    \
    do {                                                                                 \
        ck_assert_int_eq((err).code, (want));                                            \
        ck_assert_msg(strstr((err).msg, (phrase)) != NULL, "message '%s' lacks '%s'",    \
                      (err).msg, (phrase));                                              \
        ck_assert_ptr_null(strchr((err).msg, '\n'));                                     \
    } while (0)

/* ---- models ------------------------------------------------------------------- */

/* A seed past 2^63: it survives only if stored and read as unsigned 64-bit. */
#define SEED_HIGH ((UINT64_C(1) << 63) + 5)

/* A trained-looking model: He-init weights, non-zero biases, a few values that
 * catch lossy conversions (negative zero, a subnormal, the largest float), and
 * every field of the training record set. */
static struct nn_model *model_make(const char *arch, uint64_t seed)
{
    struct cim_err err = {0};
    struct nn_model *m = nn_model_build(arch, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_int_eq(nn_model_init_params(m, seed), CIM_OK);
    for (int i = 0; i < m->n_layers; i++) {
        struct nn_layer *l = &m->layers[i];
        for (size_t k = 0; k < nn_tensor_size(&l->bias); k++)
            l->bias.data[k] = (float)(2.385 * ((double)k - 3.0) / 7.0);
        if (l->weight.data != NULL) {
            l->weight.data[0] = -0.0f;
            l->weight.data[1] = FLT_MIN / 3.0f;
            l->weight.data[2] = FLT_MAX;
        }
    }
    struct nn_train_record *r = &m->record;
    int n = snprintf(r->command, sizeof r->command, "cim train --arch %s --epochs 12", arch);
    /* A command line of 1023 characters: the longest the record holds. */
    for (size_t k = (size_t)n; k < sizeof r->command - 1; k++)
        r->command[k] = "--lr 0.0125 \"quoted\" "[k % 21];
    r->command[sizeof r->command - 1] = '\0';
    snprintf(r->optimizer, sizeof r->optimizer, "adam");
    snprintf(r->created, sizeof r->created, "2024-05-01T12:34:56Z");
    r->epochs = 12;
    r->batch = 64;
    r->lr = 0.0125;
    r->seed = SEED_HIGH;
    r->test_accuracy = 0.9013;
    r->train_loss = 0.27183;
    r->seconds = 123.456;
    return m;
}

static void tensor_assert_equal(const struct nn_tensor *a, const struct nn_tensor *b, int i)
{
    ck_assert_int_eq(a->n, b->n);
    ck_assert_int_eq(a->c, b->c);
    ck_assert_int_eq(a->h, b->h);
    ck_assert_int_eq(a->w, b->w);
    ck_assert_int_eq(a->data == NULL, b->data == NULL);
    if (a->data != NULL)
        ck_assert_msg(memcmp(a->data, b->data, nn_tensor_size(a) * sizeof(float)) == 0,
                      "layer %d: parameters differ", i);
}

/* Everything, bit for bit (doubles by memcmp, so -0.0 and NaN would count). */
static void model_assert_equal(const struct nn_model *a, const struct nn_model *b)
{
    ck_assert_str_eq(a->arch, b->arch);
    ck_assert_str_eq(a->dataset, b->dataset);
    ck_assert_int_eq(a->input.c, b->input.c);
    ck_assert_int_eq(a->input.h, b->input.h);
    ck_assert_int_eq(a->input.w, b->input.w);
    ck_assert_int_eq(a->num_classes, b->num_classes);
    ck_assert_int_eq(a->n_layers, b->n_layers);
    for (int i = 0; i < a->n_layers; i++) {
        const struct nn_layer *x = &a->layers[i], *y = &b->layers[i];
        ck_assert_int_eq(x->type, y->type);
        ck_assert_int_eq(x->act, y->act);
        ck_assert_int_eq(x->kernel, y->kernel);
        ck_assert_int_eq(x->stride, y->stride);
        ck_assert_int_eq(x->pad, y->pad);
        ck_assert_int_eq(memcmp(&x->in, &y->in, sizeof x->in), 0);
        ck_assert_int_eq(memcmp(&x->out, &y->out, sizeof x->out), 0);
        tensor_assert_equal(&x->weight, &y->weight, i);
        tensor_assert_equal(&x->bias, &y->bias, i);
    }
    const struct nn_train_record *r = &a->record, *s = &b->record;
    ck_assert_str_eq(r->command, s->command);
    ck_assert_str_eq(r->optimizer, s->optimizer);
    ck_assert_str_eq(r->created, s->created);
    ck_assert_int_eq(r->epochs, s->epochs);
    ck_assert_int_eq(r->batch, s->batch);
    ck_assert_int_eq(memcmp(&r->lr, &s->lr, sizeof r->lr), 0);
    ck_assert_int_eq(memcmp(&r->test_accuracy, &s->test_accuracy, sizeof(double)), 0);
    ck_assert_int_eq(memcmp(&r->train_loss, &s->train_loss, sizeof(double)), 0);
    ck_assert_int_eq(memcmp(&r->seconds, &s->seconds, sizeof(double)), 0);
    ck_assert_uint_eq(r->seed, s->seed);
}

static void round_trip(const char *arch)
{
    scratch_begin();
    struct cim_err err = {0};
    struct nn_model *m = model_make(arch, 20240501);
    const char *path = scratch("m.h5");
    ck_assert_msg(data_model_save(path, m, &err) == CIM_OK, "%s", err.msg);
    ck_assert_int_eq(open_ids(), 0);
    ck_assert_int_eq(scratch_count(), 1);
    struct nn_model *m2 = data_model_load(path, &err);
    ck_assert_msg(m2 != NULL, "%s", err.msg);
    ck_assert_int_eq(open_ids(), 0);
    model_assert_equal(m, m2);
    ck_assert_uint_eq(m2->record.seed, SEED_HIGH);
    ck_assert_int_eq(nn_model_validate(m2, NULL), CIM_OK);

    /* Saving the loaded model over the file gives the same model again. */
    ck_assert_int_eq(data_model_save(path, m2, &err), CIM_OK);
    struct nn_model *m3 = data_model_load(path, &err);
    ck_assert_ptr_nonnull(m3);
    model_assert_equal(m, m3);
    ck_assert_int_eq(scratch_count(), 1);
    nn_model_free(m);
    nn_model_free(m2);
    nn_model_free(m3);
    ck_assert_int_eq(open_ids(), 0);
    scratch_end();
}

/* ---- round trips -------------------------------------------------------------- */

START_TEST(test_round_trip_lenet5)
{
    round_trip("lenet5");
}
END_TEST

START_TEST(test_round_trip_mlp)
{
    round_trip("mlp");
}
END_TEST

START_TEST(test_custom_model)
{
    /* Strides, padding and non-square inputs the built-in networks do not use. */
    scratch_begin();
    struct cim_err err = {0};
    struct nn_model *m = nn_model_alloc("tiny", (struct nn_shape){3, 9, 7}, 4);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(nn_model_add_conv2d(m, 5, 3, 2, 1, NN_ACT_NONE, &err), CIM_OK);
    ck_assert_int_eq(nn_model_add_maxpool(m, 2, 1, &err), CIM_OK);
    ck_assert_int_eq(nn_model_add_dense(m, 4, NN_ACT_RELU, &err), CIM_OK);
    ck_assert_int_eq(nn_model_init_params(m, 7), CIM_OK);
    const char *path = scratch("tiny.h5");
    ck_assert_msg(data_model_save(path, m, &err) == CIM_OK, "%s", err.msg);
    struct nn_model *m2 = data_model_load(path, &err);
    ck_assert_msg(m2 != NULL, "%s", err.msg);
    /* `created` was empty: saving stamps the time, "YYYY-MM-DDTHH:MM:SSZ". */
    ck_assert_int_eq(strlen(m2->record.created), 20);
    ck_assert_int_eq(m2->record.created[10], 'T');
    ck_assert_int_eq(m2->record.created[19], 'Z');
    snprintf(m->record.created, sizeof m->record.created, "%s", m2->record.created);
    model_assert_equal(m, m2);
    ck_assert_str_eq(m2->dataset, "");
    nn_model_free(m);
    nn_model_free(m2);
    ck_assert_int_eq(open_ids(), 0);
    scratch_end();
}
END_TEST

/* ---- checkpoints -------------------------------------------------------------- */

START_TEST(test_checkpoint_round_trip)
{
    scratch_begin();
    struct cim_err err = {0};
    struct nn_model *m = model_make("lenet5", 3);
    struct data_checkpoint ck = {0};
    ck.epoch = 7;
    ck.state_len = 1000;
    ck.state = malloc(ck.state_len * sizeof(float));
    ck_assert_ptr_nonnull(ck.state);
    for (size_t i = 0; i < ck.state_len; i++)
        ck.state[i] = (float)sin(2.385 * (double)i) * 1e-3f;
    /* Options longer than the 64 KiB an HDF5 object header can hold. */
    size_t olen = 70000;
    ck.options = malloc(olen + 1);
    ck_assert_ptr_nonnull(ck.options);
    int n = snprintf(ck.options, olen + 1, "{\"arch\": \"lenet5\", \"lr\": 0.0125, \"note\": \"");
    memset(ck.options + n, 'x', olen - (size_t)n - 2);
    memcpy(ck.options + olen - 2, "\"}", 3);

    const char *path = scratch("ck.h5");
    ck_assert_msg(data_checkpoint_save(path, m, &ck, &err) == CIM_OK, "%s", err.msg);
    ck_assert_int_eq(open_ids(), 0);

    struct nn_model *m2 = NULL;
    struct data_checkpoint ck2;
    ck_assert_msg(data_checkpoint_load(path, &m2, &ck2, &err) == CIM_OK, "%s", err.msg);
    ck_assert_int_eq(open_ids(), 0);
    model_assert_equal(m, m2);
    ck_assert_int_eq(ck2.epoch, 7);
    ck_assert_str_eq(ck2.options, ck.options);
    ck_assert_uint_eq(ck2.state_len, 1000);
    ck_assert_int_eq(memcmp(ck2.state, ck.state, 1000 * sizeof(float)), 0);

    /* A checkpoint is also a model file. */
    struct nn_model *m3 = data_model_load(path, &err);
    ck_assert_ptr_nonnull(m3);
    model_assert_equal(m, m3);

    data_checkpoint_release(&ck2);
    ck_assert_ptr_null(ck2.options);
    ck_assert_ptr_null(ck2.state);
    data_checkpoint_release(&ck2);
    data_checkpoint_release(&ck);
    nn_model_free(m);
    nn_model_free(m2);
    nn_model_free(m3);
    scratch_end();
}
END_TEST

START_TEST(test_checkpoint_empty_state)
{
    scratch_begin();
    struct cim_err err = {0};
    struct nn_model *m = model_make("mlp", 4);
    struct data_checkpoint ck = {.epoch = 0, .options = NULL, .state = NULL, .state_len = 0};
    const char *path = scratch("ck0.h5");
    ck_assert_msg(data_checkpoint_save(path, m, &ck, &err) == CIM_OK, "%s", err.msg);
    struct nn_model *m2 = NULL;
    struct data_checkpoint ck2;
    ck_assert_msg(data_checkpoint_load(path, &m2, &ck2, &err) == CIM_OK, "%s", err.msg);
    ck_assert_int_eq(ck2.epoch, 0);
    ck_assert_str_eq(ck2.options, "");
    ck_assert_uint_eq(ck2.state_len, 0);
    ck_assert_ptr_null(ck2.state);
    data_checkpoint_release(&ck2);
    nn_model_free(m);
    nn_model_free(m2);
    ck_assert_int_eq(open_ids(), 0);
    scratch_end();
}
END_TEST

START_TEST(test_checkpoint_load_of_model)
{
    scratch_begin();
    struct cim_err err = {0};
    struct nn_model *m = model_make("mlp", 5);
    const char *path = scratch("plain.h5");
    ck_assert_int_eq(data_model_save(path, m, &err), CIM_OK);
    struct nn_model *m2 = (struct nn_model *)&err; /* must be overwritten with NULL */
    struct data_checkpoint ck;
    ck_assert_int_eq(data_checkpoint_load(path, &m2, &ck, &err), CIM_EFORMAT);
    assert_err(err, CIM_EFORMAT, "/checkpoint: missing group; this is a model file, not a "
                                 "checkpoint");
    ck_assert_int_eq(strncmp(err.msg, path, strlen(path)), 0);
    ck_assert_ptr_null(m2);
    ck_assert_ptr_null(ck.options);
    ck_assert_ptr_null(ck.state);
    ck_assert_int_eq(open_ids(), 0);
    nn_model_free(m);
    scratch_end();
}
END_TEST

/* ---- editing good files into bad ones ---------------------------------------------- */

/* A good lenet5 file: 000_conv2d 001_maxpool 002_conv2d 003_maxpool 004_dense
 * 005_dense 006_dense. */
static const char *good_file(const char *name)
{
    struct cim_err err = {0};
    struct nn_model *m = model_make("lenet5", 11);
    const char *path = scratch(name);
    ck_assert_msg(data_model_save(path, m, &err) == CIM_OK, "%s", err.msg);
    nn_model_free(m);
    return path;
}

/* Load `path`, expect failure with `code` and `phrase`, and nothing left open. */
static void load_fails(const char *path, int code, const char *phrase)
{
    struct cim_err err = {0};
    struct nn_model *m = data_model_load(path, &err);
    ck_assert_msg(m == NULL, "%s loaded; expected '%s'", path, phrase);
    assert_err(err, code, phrase);
    ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "message '%s' does not start "
                  "with the file name", err.msg);
    ck_assert_int_eq(open_ids(), 0);
}

/* ---- the loader's refusals ---------------------------------------------------------- */

START_TEST(test_missing_file)
{
    scratch_begin();
    load_fails(scratch("absent.h5"), CIM_EIO, "absent.h5: cannot open: No such file or directory");
    scratch_end();
}
END_TEST

START_TEST(test_not_hdf5)
{
    scratch_begin();
    const char *empty = scratch("empty.h5");
    FILE *f = fopen(empty, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    load_fails(empty, CIM_EFORMAT, "empty.h5: not an HDF5 file");

    const char *text = scratch("text.h5");
    f = fopen(text, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 100; i++)
        fprintf(f, "layer %d: 2.385 0.5 1.25\n", i);
    fclose(f);
    load_fails(text, CIM_EFORMAT, "text.h5: not an HDF5 file");

    load_fails(scratch_dir, CIM_EIO, "is a directory");
    scratch_end();
}
END_TEST

START_TEST(test_foreign_hdf5)
{
    /* An HDF5 file that is not ours at all. */
    scratch_begin();
    const char *path = scratch("other.h5");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "other.h5: /: missing attribute 'format'");
    scratch_end();
}
END_TEST

START_TEST(test_wrong_format)
{
    scratch_begin();
    const char *path = good_file("fmt.h5");
    hid_t f = edit_open(path);
    attr_set_str(f, "/", "format", "keras-model");
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "fmt.h5: /: format is 'keras-model'; expected 'cim-model'");
    scratch_end();
}
END_TEST

START_TEST(test_newer_version)
{
    scratch_begin();
    const char *path = good_file("v2.h5");
    hid_t f = edit_open(path);
    attr_set_int(f, "/", "format_version", 2);
    edit_close(f);
    load_fails(path, CIM_EUNSUPPORTED, "format_version 2 is newer than this cim");
    scratch_end();
}
END_TEST

START_TEST(test_bad_version)
{
    scratch_begin();
    const char *path = good_file("v0.h5");
    hid_t f = edit_open(path);
    attr_set_int(f, "/", "format_version", 0);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "format_version 0; expected 1");

    f = edit_open(path);
    double v = 1.0;
    attr_put(f, "/", "format_version", H5T_NATIVE_DOUBLE, &v);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "attribute 'format_version' is of type float64; expected int32");
    scratch_end();
}
END_TEST

START_TEST(test_missing_layers)
{
    scratch_begin();
    const char *path = good_file("nolayers.h5");
    hid_t f = edit_open(path);
    ck_assert_int_ge(H5Ldelete(f, "/layers", H5P_DEFAULT), 0);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "nolayers.h5: /layers: missing group");
    scratch_end();
}
END_TEST

START_TEST(test_missing_attribute)
{
    scratch_begin();
    const char *path = good_file("noattr.h5");
    hid_t f = edit_open(path);
    attr_delete(f, "/layers/000_conv2d", "kernel");
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "/layers/000_conv2d: missing attribute 'kernel' (int32)");

    path = good_file("noshape.h5");
    f = edit_open(path);
    attr_delete(f, "/", "input_shape");
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "/: missing attribute 'input_shape'");
    scratch_end();
}
END_TEST

START_TEST(test_missing_weight)
{
    scratch_begin();
    const char *path = good_file("m.h5");
    hid_t f = edit_open(path);
    ck_assert_int_ge(H5Ldelete(f, "/layers/002_conv2d/weight", H5P_DEFAULT), 0);
    edit_close(f);
    char want[900];
    snprintf(want, sizeof want, "%s: /layers/002_conv2d/weight: missing dataset", path);
    load_fails(path, CIM_EFORMAT, want);
    scratch_end();
}
END_TEST

START_TEST(test_weight_wrong_rank)
{
    scratch_begin();
    const char *path = good_file("rank.h5");
    hid_t f = edit_open(path);
    hsize_t dims[1] = {120 * 400};
    dset_replace(f, "/layers/004_dense/weight", H5T_IEEE_F32LE, 1, dims);
    edit_close(f);
    load_fails(path, CIM_EFORMAT,
               "/layers/004_dense/weight: rank 1 [48000]; expected rank 2 [120, 400]");
    scratch_end();
}
END_TEST

START_TEST(test_weight_wrong_extent)
{
    scratch_begin();
    const char *path = good_file("extent.h5");
    hid_t f = edit_open(path);
    hsize_t dims[4] = {6, 1, 5, 4};
    dset_replace(f, "/layers/000_conv2d/weight", H5T_IEEE_F32LE, 4, dims);
    edit_close(f);
    load_fails(path, CIM_EFORMAT,
               "/layers/000_conv2d/weight: shape [6, 1, 5, 4]; expected [6, 1, 5, 5]");

    path = good_file("bias.h5");
    f = edit_open(path);
    hsize_t bdims[1] = {83};
    dset_replace(f, "/layers/005_dense/bias", H5T_IEEE_F32LE, 1, bdims);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "/layers/005_dense/bias: shape [83]; expected [84]");
    scratch_end();
}
END_TEST

START_TEST(test_weight_wrong_type)
{
    scratch_begin();
    const char *path = good_file("int.h5");
    hid_t f = edit_open(path);
    hsize_t dims[2] = {10, 84};
    dset_replace(f, "/layers/006_dense/weight", H5T_STD_I32LE, 2, dims);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "/layers/006_dense/weight: type is int32; expected float32");

    /* float64 holds more than cim computes with: refused, not narrowed. */
    path = good_file("f64.h5");
    f = edit_open(path);
    dset_replace(f, "/layers/006_dense/weight", H5T_IEEE_F64LE, 2, dims);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "/layers/006_dense/weight: type is float64; expected float32");
    scratch_end();
}
END_TEST

START_TEST(test_nonfinite_weight)
{
    scratch_begin();
    const char *path = good_file("nan.h5");
    dset_poke(path, "/layers/000_conv2d/weight", 17, NAN);
    load_fails(path, CIM_EFORMAT, "/layers/000_conv2d/weight: element 17 is NaN");

    path = good_file("inf.h5");
    dset_poke(path, "/layers/004_dense/bias", 119, -INFINITY);
    load_fails(path, CIM_EFORMAT, "/layers/004_dense/bias: element 119 is infinite");
    scratch_end();
}
END_TEST

/* A dataset whose values were never written holds fill values, not weights:
 * refused before libhdf5 reads storage it never checked (data_h5_dset_stored()).
 * Compressed chunks, as other writers (h5py) may store weights, load. */
START_TEST(test_weight_storage)
{
    scratch_begin();
    const char *path = good_file("unwritten.h5");
    hid_t f = edit_open(path);
    dset_replace(f, "/layers/005_dense/bias", H5T_IEEE_F32LE, 1, (const hsize_t[]){84});
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "/layers/005_dense/bias: no values stored; expected 84");

    path = good_file("deflate.h5");
    struct cim_err err = {0};
    struct nn_model *m = data_model_load(path, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    f = edit_open(path);
    const char *w = "/layers/004_dense/weight";
    hid_t d = H5Dopen2(f, w, H5P_DEFAULT);
    const hsize_t dims[2] = {120, 400}, chunk[2] = {30, 400};
    float *v = malloc(sizeof(float) * 120 * 400);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Dclose(d);
    ck_assert_int_ge(H5Ldelete(f, w, H5P_DEFAULT), 0);
    hid_t space = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ck_assert_int_ge(H5Pset_chunk(dcpl, 2, chunk), 0);
    ck_assert_int_ge(H5Pset_deflate(dcpl, 6), 0);
    d = H5Dcreate2(f, w, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    ck_assert_uint_lt(H5Dget_storage_size(d), sizeof(float) * 120 * 400);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    free(v);
    edit_close(f);
    struct nn_model *m2 = data_model_load(path, &err);
    ck_assert_msg(m2 != NULL, "%s", err.msg);
    model_assert_equal(m, m2);
    nn_model_free(m);
    nn_model_free(m2);
    ck_assert_int_eq(open_ids(), 0);
    scratch_end();
}
END_TEST

START_TEST(test_unknown_type)
{
    scratch_begin();
    const char *path = good_file("lstm.h5");
    hid_t f = edit_open(path);
    attr_set_str(f, "/layers/001_maxpool", "type", "lstm");
    edit_close(f);
    load_fails(path, CIM_EFORMAT,
               "/layers/001_maxpool: type 'lstm' is unknown; expected dense, conv2d or maxpool");

    /* A known type that contradicts the group's name. */
    path = good_file("mismatch.h5");
    f = edit_open(path);
    attr_set_str(f, "/layers/001_maxpool", "type", "dense");
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "/layers/001_maxpool: type 'dense' does not match");
    scratch_end();
}
END_TEST

START_TEST(test_unknown_activation)
{
    scratch_begin();
    const char *path = good_file("gelu.h5");
    hid_t f = edit_open(path);
    attr_set_str(f, "/layers/004_dense", "activation", "gelu");
    edit_close(f);
    load_fails(path, CIM_EFORMAT,
               "/layers/004_dense: activation 'gelu' is unknown; expected none or relu");
    scratch_end();
}
END_TEST

START_TEST(test_layers_do_not_chain)
{
    scratch_begin();
    /* A dense layer whose input extent is not the previous output (16x5x5). */
    const char *path = good_file("chain.h5");
    hid_t f = edit_open(path);
    hsize_t dims[2] = {120, 300};
    dset_replace(f, "/layers/004_dense/weight", H5T_IEEE_F32LE, 2, dims);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "/layers/004_dense/weight: shape [120, 300]; expected "
                                  "[120, 400] (units x the flattened output of the previous "
                                  "layer, 16x5x5 = 400)");

    /* A conv layer that expects more input channels than the one before gives. */
    path = good_file("chain2.h5");
    f = edit_open(path);
    hsize_t cdims[4] = {16, 8, 5, 5};
    dset_replace(f, "/layers/002_conv2d/weight", H5T_IEEE_F32LE, 4, cdims);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "previous layer's 6 output channels");

    /* A kernel larger than its input. */
    path = good_file("kernel.h5");
    f = edit_open(path);
    attr_set_int(f, "/layers/002_conv2d", "kernel", 29);
    attr_set_int(f, "/layers/002_conv2d", "padding", 0);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "/layers/002_conv2d: conv2d layer 2: a 29x29 kernel does "
                                  "not fit a 14x14 input");

    /* The last layer must give num_classes outputs. */
    path = good_file("classes.h5");
    f = edit_open(path);
    attr_set_int(f, "/", "num_classes", 12);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "last layer gives 10 outputs; expected 12 classes");
    scratch_end();
}
END_TEST

START_TEST(test_layer_names)
{
    scratch_begin();
    const char *path = good_file("gap.h5");
    hid_t f = edit_open(path);
    ck_assert_int_ge(H5Lmove(f, "/layers/006_dense", f, "/layers/007_dense", H5P_DEFAULT,
                             H5P_DEFAULT), 0);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "/layers/007_dense: expected layer 006 here");

    path = good_file("name.h5");
    f = edit_open(path);
    ck_assert_int_ge(H5Lmove(f, "/layers/006_dense", f, "/layers/6_dense", H5P_DEFAULT,
                             H5P_DEFAULT), 0);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "/layers/6_dense: not a layer group name; expected 006_<type>");

    path = good_file("empty.h5");
    f = edit_open(path);
    for (int i = 0; i < 7; i++) {
        static const char *const names[] = {"000_conv2d", "001_maxpool", "002_conv2d",
                                            "003_maxpool", "004_dense", "005_dense",
                                            "006_dense"};
        char p[64];
        snprintf(p, sizeof p, "/layers/%s", names[i]);
        ck_assert_int_ge(H5Ldelete(f, p, H5P_DEFAULT), 0);
    }
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "/layers: no layers");
    scratch_end();
}
END_TEST

START_TEST(test_bad_attribute_values)
{
    scratch_begin();
    const char *path = good_file("shape.h5");
    hid_t f = edit_open(path);
    attr_set_int(f, "/", "input_shape", 28);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "attribute 'input_shape' holds 1 values; expected int32[3]");

    path = good_file("stride.h5");
    f = edit_open(path);
    attr_set_int(f, "/layers/003_maxpool", "stride", 0);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "/layers/003_maxpool: attribute 'stride' is 0; expected 1");

    path = good_file("units.h5");
    f = edit_open(path);
    attr_set_str(f, "/layers/005_dense", "units", "84");
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "attribute 'units' is of type string; expected int32");

    path = good_file("pool.h5");
    f = edit_open(path);
    attr_set_int(f, "/layers/001_maxpool", "padding", 1);
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "/layers/001_maxpool: padding 1; a maxpool layer has padding 0");

    path = good_file("seed.h5");
    f = edit_open(path);
    attr_set_str(f, "/training", "seed", "42");
    edit_close(f);
    load_fails(path, CIM_EFORMAT, "/training: attribute 'seed' is of type string");
    scratch_end();
}
END_TEST

/* ---- what the loader accepts ---------------------------------------------------- */

START_TEST(test_other_writers_and_extras)
{
    /* Variable-length strings and 64-bit integers (as h5py writes them) load;
     * groups and attributes this version does not know are ignored, which is how
     * the format grows without a new major version (as /quant did). */
    scratch_begin();
    struct cim_err err = {0};
    struct nn_model *ref = model_make("lenet5", 11);
    const char *path = good_file("extra.h5");
    hid_t f = edit_open(path);
    attr_set_str(f, "/", "architecture", "lenet5");
    attr_set_int(f, "/layers/004_dense", "units", 120);
    attr_set_str(f, "/layers/004_dense", "activation", "relu");
    attr_set_str(f, "/training", "optimizer", "adam");
    attr_set_int(f, "/layers/004_dense", "quant_bits", 8);
    attr_set_int(f, "/", "format_minor", 3);
    hid_t g = H5Gcreate2(f, "/future", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(g, 0);
    H5Gclose(g);
    attr_set_str(f, "/future", "scheme", "nested");
    edit_close(f);
    struct nn_model *m = data_model_load(path, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    model_assert_equal(ref, m);
    nn_model_free(m);
    nn_model_free(ref);
    ck_assert_int_eq(open_ids(), 0);
    scratch_end();
}
END_TEST

START_TEST(test_record_optional)
{
    scratch_begin();
    struct cim_err err = {0};
    const char *path = good_file("norecord.h5");
    hid_t f = edit_open(path);
    ck_assert_int_ge(H5Ldelete(f, "/training", H5P_DEFAULT), 0);
    attr_delete(f, "/", "dataset");
    attr_delete(f, "/", "cim_version");
    edit_close(f);
    struct nn_model *m = data_model_load(path, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_str_eq(m->dataset, "");
    ck_assert_str_eq(m->record.command, "");
    ck_assert_str_eq(m->record.optimizer, "");
    ck_assert_str_eq(m->record.created, "");
    ck_assert_int_eq(m->record.epochs, 0);
    ck_assert_int_eq(m->record.batch, 0);
    ck_assert(m->record.lr == 0.0);
    ck_assert_uint_eq(m->record.seed, 0);
    ck_assert(m->record.test_accuracy < 0.0);
    ck_assert(m->record.train_loss < 0.0);
    ck_assert(m->record.seconds < 0.0);
    nn_model_free(m);

    /* Partial records keep what they have. */
    path = good_file("partial.h5");
    f = edit_open(path);
    attr_delete(f, "/training", "test_accuracy");
    attr_delete(f, "/training", "command");
    edit_close(f);
    m = data_model_load(path, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_str_eq(m->record.command, "");
    ck_assert(m->record.test_accuracy < 0.0);
    ck_assert_int_eq(m->record.epochs, 12);
    ck_assert_uint_eq(m->record.seed, SEED_HIGH);
    nn_model_free(m);
    ck_assert_int_eq(open_ids(), 0);
    scratch_end();
}
END_TEST

/* ---- the saver's refusals ------------------------------------------------------- */

START_TEST(test_save_missing_directory)
{
    scratch_begin();
    struct cim_err err = {0};
    struct nn_model *m = model_make("mlp", 1);
    const char *path = scratch("nodir/m.h5");
    ck_assert_int_eq(data_model_save(path, m, &err), CIM_EIO);
    assert_err(err, CIM_EIO, "nodir");
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(scratch_count(), 0);
    ck_assert_int_eq(open_ids(), 0);

    memset(&err, 0, sizeof err);
    ck_assert_int_eq(data_model_save("/dev/full", m, &err), CIM_EIO);
    assert_err(err, CIM_EIO, "/dev/full: exists and is not a regular file");
    nn_model_free(m);
    scratch_end();
}
END_TEST

START_TEST(test_save_invalid_model)
{
    scratch_begin();
    struct cim_err err = {0};
    struct nn_model *m = model_make("mlp", 1);
    m->layers[1].weight.data[5] = NAN;
    const char *path = scratch("nan.h5");
    ck_assert_int_eq(data_model_save(path, m, &err), CIM_EFORMAT);
    assert_err(err, CIM_EFORMAT, "cannot save: layer 001_dense: weight element 5 is NaN");
    m->layers[1].weight.data[5] = 0.5f;

    m->num_classes = 11;
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(data_model_save(path, m, &err), CIM_EFORMAT);
    assert_err(err, CIM_EFORMAT, "cannot save: last layer gives 10 outputs");
    ck_assert_int_eq(scratch_count(), 0);
    ck_assert_int_eq(open_ids(), 0);
    nn_model_free(m);
    scratch_end();
}
END_TEST

START_TEST(test_save_failure_leaves_nothing)
{
    /* A full disk, simulated: files may not grow past 16 KiB, so HDF5's writes
     * fail with EFBIG half-way through a 250 KB lenet5. Check runs each test in
     * its own process; the limit is restored for the CK_FORK=no case. */
    scratch_begin();
    struct cim_err err = {0};
    struct nn_model *m = model_make("lenet5", 2);
    const char *path = scratch("big.h5");
    ck_assert(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 16384;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = data_model_save(path, m, &err);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    ck_assert_int_eq(rc, CIM_EIO);
    assert_err(err, CIM_EIO, "big.h5");
    assert_err(err, CIM_EIO, "File too large");
    ck_assert_int_eq(scratch_count(), 0);
    ck_assert_int_eq(open_ids(), 0);

    /* An existing file survives a failed save unchanged. */
    ck_assert_int_eq(data_model_save(path, m, &err), CIM_OK);
    struct stat before, after;
    ck_assert_int_eq(stat(path, &before), 0);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    memset(&err, 0, sizeof err);
    rc = data_model_save(path, m, &err);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    ck_assert_int_eq(rc, CIM_EIO);
    ck_assert_int_eq(stat(path, &after), 0);
    ck_assert_int_eq(before.st_ino, after.st_ino);
    ck_assert_int_eq(scratch_count(), 1);
    struct nn_model *m2 = data_model_load(path, &err);
    ck_assert_ptr_nonnull(m2);
    model_assert_equal(m, m2);
    nn_model_free(m2);
    nn_model_free(m);
    ck_assert_int_eq(open_ids(), 0);
    scratch_end();
}
END_TEST

/* ---- quantization parameters --------------------------------------------------- */

/* A quantized lenet5 with distinct, non-round steps everywhere. */
static struct nn_model *quant_model_make(int per_channel, enum quant_scheme scheme)
{
    struct nn_model *m = model_make("lenet5", 5);
    struct nn_quant q = {.n_prec = 2, .scheme = scheme, .wbits = {8, 4}, .abits = {8, 3},
                         .per_channel = per_channel, .percentile = 99.385};
    snprintf(q.wrange, sizeof q.wrange, "lsq");
    snprintf(q.arange, sizeof q.arange, "pact");
    ck_assert_int_eq(nn_quant_enable(m, &q, NULL), CIM_OK);
    for (int i = 0; i < m->n_layers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (l->wscale[0].data == NULL)
            continue;
        l->ascale = 0.02385f * (float)(i + 1);
        for (int p = 0; p < 2; p++)
            for (size_t r = 0; r < nn_tensor_size(&l->wscale[p]); r++)
                l->wscale[p].data[r] = 0.001385f * (float)(r + 1 + 7 * p) / (float)(i + 1);
    }
    return m;
}

START_TEST(test_quant_round_trip)
{
    scratch_begin();
    struct cim_err err = {0};
    struct nn_model *m = quant_model_make(_i, _i ? QUANT_SCHEME_INDEPENDENT : QUANT_SCHEME_NESTED);
    const char *path = scratch("q.h5");
    ck_assert_msg(data_model_save(path, m, &err) == CIM_OK, "%s", err.msg);
    struct nn_model *m2 = data_model_load(path, &err);
    ck_assert_msg(m2 != NULL, "%s", err.msg);
    model_assert_equal(m, m2);
    const struct nn_quant *a = &m->quant, *b = &m2->quant;
    ck_assert_int_eq(b->n_prec, 2);
    ck_assert_int_eq(b->scheme, a->scheme);
    ck_assert_int_eq(b->per_channel, a->per_channel);
    ck_assert_int_eq(b->wbits[1], 4);
    ck_assert_int_eq(b->abits[1], 3);
    ck_assert_str_eq(b->wrange, "lsq");
    ck_assert_str_eq(b->arange, "pact");
    ck_assert(b->percentile == a->percentile);
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *la = &m->layers[i], *lb = &m2->layers[i];
        if (la->wscale[0].data == NULL) {
            ck_assert_ptr_null(lb->wscale[0].data);
            continue;
        }
        ck_assert(la->ascale == lb->ascale);
        for (int p = 0; p < 2; p++)
            tensor_assert_equal(&la->wscale[p], &lb->wscale[p], i);
    }
    nn_model_free(m);
    nn_model_free(m2);
    ck_assert_int_eq(open_ids(), 0);
    scratch_end();
}
END_TEST

START_TEST(test_quant_refusals)
{
    scratch_begin();
    struct nn_model *m = quant_model_make(1, QUANT_SCHEME_NESTED);
    const char *path = scratch("q.h5");
    ck_assert_int_eq(data_model_save(path, m, NULL), CIM_OK);
    nn_model_free(m);
    char copy[700];
    snprintf(copy, sizeof copy, "%s.bad", path);
    static const struct {
        const char *what, *phrase;
    } cases[] = {
        {"scheme", "scheme 'rounded' is unknown"},
        {"bits", "weight_bits"},
        {"order", "exceeds the first"},
        {"shape", "weight_scale: expected shape [2, 6]"},
        {"step", "steps must be positive"},
        {"input", "input_scale"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char cmd[1500];
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, copy);
        ck_assert_int_eq(system(cmd), 0);
        hid_t f = edit_open(copy);
        const char *w = cases[k].what;
        if (strcmp(w, "scheme") == 0) {
            attr_set_str(f, "/quant", "scheme", "rounded");
        } else if (strcmp(w, "bits") == 0 || strcmp(w, "order") == 0) {
            int v[2] = {strcmp(w, "bits") == 0 ? 64 : 4, 8};
            hsize_t two = 2;
            attr_delete(f, "/quant", "weight_bits");
            hid_t sp = H5Screate_simple(1, &two, NULL);
            hid_t a = H5Acreate_by_name(f, "/quant", "weight_bits", H5T_STD_I32LE, sp,
                                        H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            H5Awrite(a, H5T_NATIVE_INT, v);
            H5Aclose(a);
            H5Sclose(sp);
        } else if (strcmp(w, "shape") == 0) {
            hsize_t dims[2] = {2, 5};
            dset_replace(f, "/layers/000_conv2d/weight_scale", H5T_IEEE_F32LE, 2, dims);
        } else if (strcmp(w, "step") == 0) { /* written zeros (never written: refused earlier) */
            hsize_t dims[2] = {2, 6};
            dset_replace(f, "/layers/000_conv2d/weight_scale", H5T_IEEE_F32LE, 2, dims);
            const float zero[12] = {0};
            hid_t d = H5Dopen2(f, "/layers/000_conv2d/weight_scale", H5P_DEFAULT);
            ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zero), 0);
            H5Dclose(d);
        } else {
            attr_delete(f, "/layers/002_conv2d", "input_scale");
        }
        edit_close(f);
        load_fails(copy, CIM_EFORMAT, cases[k].phrase);
    }
    scratch_end();
}
END_TEST

static Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("model_file");
    tcase_add_test(tc, test_round_trip_lenet5);
    tcase_add_test(tc, test_round_trip_mlp);
    tcase_add_loop_test(tc, test_quant_round_trip, 0, 2);
    tcase_add_test(tc, test_quant_refusals);
    tcase_add_test(tc, test_custom_model);
    tcase_add_test(tc, test_checkpoint_round_trip);
    tcase_add_test(tc, test_checkpoint_empty_state);
    tcase_add_test(tc, test_checkpoint_load_of_model);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_not_hdf5);
    tcase_add_test(tc, test_foreign_hdf5);
    tcase_add_test(tc, test_wrong_format);
    tcase_add_test(tc, test_newer_version);
    tcase_add_test(tc, test_bad_version);
    tcase_add_test(tc, test_missing_layers);
    tcase_add_test(tc, test_missing_attribute);
    tcase_add_test(tc, test_missing_weight);
    tcase_add_test(tc, test_weight_wrong_rank);
    tcase_add_test(tc, test_weight_wrong_extent);
    tcase_add_test(tc, test_weight_wrong_type);
    tcase_add_test(tc, test_nonfinite_weight);
    tcase_add_test(tc, test_weight_storage);
    tcase_add_test(tc, test_unknown_type);
    tcase_add_test(tc, test_unknown_activation);
    tcase_add_test(tc, test_layers_do_not_chain);
    tcase_add_test(tc, test_layer_names);
    tcase_add_test(tc, test_bad_attribute_values);
    tcase_add_test(tc, test_other_writers_and_extras);
    tcase_add_test(tc, test_record_optional);
    tcase_add_test(tc, test_save_missing_directory);
    tcase_add_test(tc, test_save_invalid_model);
    tcase_add_test(tc, test_save_failure_leaves_nothing);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(data_suite)
