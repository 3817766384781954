/*
 * test_dataset.c: data sets from IDX files (data/dataset.h), tier integration.
 *
 * First tiny data sets written into the scratch directory (37 images of 5x7),
 * with every error data_set_load() reports; then the real Fashion-MNIST of
 * Debian's dataset-fashion-mnist, which the README's set-up installs: its
 * absence is a failure, not a skip.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "data/dataset.h"
#include "data/idx.h"
#include "data_testutil.h"
#include "testutil.h"

#define N_IMG 37
#define IMG_H 5
#define IMG_W 7
#define IMG_SIZE (IMG_H * IMG_W)
#define N_PIX (N_IMG * IMG_SIZE)

/* ---- helpers ---- */

/* A fresh subdirectory of the scratch directory, one per test. */
static const char *tmp_subdir(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", test_tmpdir(), name);
    ck_assert_msg(mkdir(buf, 0700) == 0 || errno == EEXIST, "cannot create %s", buf);
    return buf;
}

/* Write an unsigned-byte IDX file `dir`/`name`, gzip-compressed when `gz`. */
static void write_idx(const char *dir, const char *name, int gz, int rank, const uint32_t *dims,
                      const uint8_t *payload)
{
    uint8_t head[16] = {0, 0, 0x08, (uint8_t)rank};
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        head[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
        head[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        head[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
        head[7 + 4 * i] = (uint8_t)dims[i];
        n *= dims[i];
    }
    size_t head_len = 4 + 4 * (size_t)rank;
    char path[1100];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, gz ? ".gz" : "");
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ck_assert_msg(f != NULL, "cannot create %s", path);
        ck_assert_int_eq(gzwrite(f, head, (unsigned)head_len), (int)head_len);
        ck_assert_int_eq(gzwrite(f, payload, (unsigned)n), (int)n);
        ck_assert_int_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        ck_assert_msg(f != NULL, "cannot create %s", path);
        ck_assert_uint_eq(fwrite(head, 1, head_len, f), head_len);
        ck_assert_uint_eq(fwrite(payload, 1, n, f), n);
        ck_assert_int_eq(fclose(f), 0);
    }
}

/* Pixels k*53 + 11 (mod 256): 53 is odd, so any 256 consecutive pixels take
 * every 8-bit value once; the 37 images hold all of them. */
static uint8_t tiny_pixel(size_t k)
{
    return (uint8_t)((k * 53 + 11) & 0xFF);
}

static uint8_t tiny_label(int i)
{
    return (uint8_t)((i * 3 + 1) % DATA_CLASSES);
}

/* A tiny split `prefix` (train or t10k) of `n` images in `dir`. */
static void write_tiny(const char *dir, const char *prefix, int gz, int n)
{
    static uint8_t pix[N_PIX];
    uint8_t lab[N_IMG];
    ck_assert_int_le(n, N_IMG);
    for (size_t k = 0; k < (size_t)n * IMG_SIZE; k++)
        pix[k] = tiny_pixel(k);
    for (int i = 0; i < n; i++)
        lab[i] = tiny_label(i);
    char name[64];
    uint32_t idims[3] = {(uint32_t)n, IMG_H, IMG_W};
    uint32_t ldims[1] = {(uint32_t)n};
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
    write_idx(dir, name, gz, 3, idims, pix);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
    write_idx(dir, name, gz, 1, ldims, lab);
}

static void assert_msg(const struct cim_err *err, const char *word)
{
    ck_assert_msg(strstr(err->msg, word) != NULL, "message \"%s\" lacks \"%s\"", err->msg,
                  word);
    ck_assert_msg(strchr(err->msg, '\n') == NULL, "message \"%s\" is not one line", err->msg);
}

static void assert_empty(const struct data_set *ds)
{
    ck_assert_ptr_null(ds->pixels);
    ck_assert_ptr_null(ds->labels);
    ck_assert_int_eq(ds->n, 0);
}

/* The float a pixel must become: the float nearest to p/255 (exact rational).
 * p/255 is computed in double, 29 bits finer than float, and x must be no
 * farther from it than either float neighbour; this does not repeat the
 * library's expression. */
static void assert_pixel_float(float x, uint8_t p)
{
    double exact = (double)p / 255.0;
    double e = fabs((double)x - exact);
    double below = fabs((double)nextafterf(x, -1.0f) - exact);
    double above = fabs((double)nextafterf(x, 2.0f) - exact);
    ck_assert_msg(e <= below && e <= above, "pixel %d became %.9g, not the nearest float", p,
                  (double)x);
}

/* ---- tiny data sets ---- */

START_TEST(test_load_tiny)
{
    char dir[1024];
    tmp_subdir(dir, sizeof dir, "tiny");
    write_tiny(dir, "train", 1, N_IMG);
    write_tiny(dir, "t10k", 0, N_IMG - 1);

    for (int split = 0; split < 2; split++) {
        struct data_set ds = {0};
        struct cim_err err = {0};
        int rc = data_set_load(dir, split == 0 ? DATA_SPLIT_TRAIN : DATA_SPLIT_TEST, &ds, &err);
        ck_assert_msg(rc == CIM_OK, "%s", err.msg);
        int n = split == 0 ? N_IMG : N_IMG - 1;
        ck_assert_int_eq(ds.n, n);
        ck_assert_int_eq(ds.c, 1);
        ck_assert_int_eq(ds.h, IMG_H);
        ck_assert_int_eq(ds.w, IMG_W);
        ck_assert_int_eq(ds.num_classes, DATA_CLASSES);
        for (size_t k = 0; k < (size_t)n * IMG_SIZE; k++)
            ck_assert_uint_eq(ds.pixels[k], tiny_pixel(k));
        for (int i = 0; i < n; i++)
            ck_assert_uint_eq(ds.labels[i], tiny_label(i));
        data_set_release(&ds);
        assert_empty(&ds);
    }
}
END_TEST

/* With both NAME.gz and NAME present the .gz file wins; a trailing slash on
 * the directory is harmless. */
START_TEST(test_prefers_gz)
{
    char dir[1024], slash[1100];
    tmp_subdir(dir, sizeof dir, "both");
    write_tiny(dir, "train", 0, 3);
    write_tiny(dir, "train", 1, N_IMG);
    snprintf(slash, sizeof slash, "%s/", dir);
    struct data_set ds = {0};
    struct cim_err err = {0};
    ck_assert_msg(data_set_load(slash, DATA_SPLIT_TRAIN, &ds, &err) == CIM_OK, "%s", err.msg);
    ck_assert_int_eq(ds.n, N_IMG);
    data_set_release(&ds);
}
END_TEST

START_TEST(test_batch_and_range)
{
    char dir[1024];
    tmp_subdir(dir, sizeof dir, "batch");
    write_tiny(dir, "t10k", 1, N_IMG);
    struct data_set ds = {0};
    struct cim_err err = {0};
    ck_assert_msg(data_set_load(dir, DATA_SPLIT_TEST, &ds, &err) == CIM_OK, "%s", err.msg);

    /* Every pixel of the set through data_set_range(): all 256 values. */
    static float x[N_PIX];
    uint8_t y[N_IMG];
    data_set_range(&ds, 0, N_IMG, x, y);
    int seen[256] = {0};
    for (size_t k = 0; k < N_PIX; k++) {
        assert_pixel_float(x[k], tiny_pixel(k));
        seen[tiny_pixel(k)] = 1;
    }
    for (int p = 0; p < 256; p++)
        ck_assert_msg(seen[p], "value %d not covered", p);
    for (int i = 0; i < N_IMG; i++)
        ck_assert_uint_eq(y[i], tiny_label(i));
    /* The ends of the scale are exact. */
    for (size_t k = 0; k < N_PIX; k++) {
        if (tiny_pixel(k) == 0)
            ck_assert(x[k] == 0.0f);
        if (tiny_pixel(k) == 255)
            ck_assert(x[k] == 1.0f);
    }

    /* A gathered batch, with a repeat, equals the ranges it picks. */
    const int idx[5] = {36, 0, 17, 17, 5};
    static float xb[5 * IMG_SIZE];
    uint8_t yb[5];
    data_set_batch(&ds, idx, 5, xb, yb);
    for (int i = 0; i < 5; i++) {
        ck_assert_mem_eq(xb + i * IMG_SIZE, x + idx[i] * IMG_SIZE, IMG_SIZE * sizeof(float));
        ck_assert_uint_eq(yb[i], tiny_label(idx[i]));
    }

    /* A sub-range, and labels not wanted. */
    static float xr[7 * IMG_SIZE];
    data_set_range(&ds, 30, 7, xr, NULL);
    ck_assert_mem_eq(xr, x + 30 * IMG_SIZE, 7 * IMG_SIZE * sizeof(float));
    data_set_batch(&ds, idx, 2, xb, NULL);
    ck_assert_mem_eq(xb, x + 36 * IMG_SIZE, IMG_SIZE * sizeof(float));
    data_set_range(&ds, N_IMG, 0, xr, NULL);
    data_set_release(&ds);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_missing_files)
{
    char dir[1024], want[1200];
    tmp_subdir(dir, sizeof dir, "empty");
    struct data_set ds = {0};
    struct cim_err err = {0};
    ck_assert_int_eq(data_set_load(dir, DATA_SPLIT_TRAIN, &ds, &err), CIM_EIO);
    ck_assert_int_eq(err.code, CIM_EIO);
    snprintf(want, sizeof want,
             "cannot open %s/train-images-idx3-ubyte.gz: No such file or directory", dir);
    assert_msg(&err, want);
    assert_msg(&err, "--data DIR");
    assert_msg(&err, "CIM_DATA");
    assert_empty(&ds);

    /* Images present, labels missing: the labels are named. */
    write_tiny(dir, "t10k", 1, 4);
    snprintf(want, sizeof want, "%s/t10k-labels-idx1-ubyte.gz", dir);
    ck_assert_int_eq(unlink(want), 0);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(data_set_load(dir, DATA_SPLIT_TEST, &ds, &err), CIM_EIO);
    assert_msg(&err, want);
    assert_msg(&err, "--data");
    assert_empty(&ds);

    /* A directory that does not exist. */
    snprintf(want, sizeof want, "%s/nowhere", dir);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(data_set_load(want, DATA_SPLIT_TEST, &ds, &err), CIM_EIO);
    assert_msg(&err, "nowhere/t10k-images-idx3-ubyte.gz");
    assert_msg(&err, "--data");
    ck_assert_int_eq(data_set_load(want, DATA_SPLIT_TEST, &ds, NULL), CIM_EIO);
}
END_TEST

START_TEST(test_count_mismatch)
{
    char dir[1024];
    tmp_subdir(dir, sizeof dir, "mismatch");
    static uint8_t pix[N_PIX];
    uint8_t lab[N_IMG] = {0};
    uint32_t idims[3] = {N_IMG, IMG_H, IMG_W};
    uint32_t ldims[1] = {N_IMG - 1};
    write_idx(dir, "train-images-idx3-ubyte", 1, 3, idims, pix);
    write_idx(dir, "train-labels-idx1-ubyte", 0, 1, ldims, lab);
    struct data_set ds = {0};
    struct cim_err err = {0};
    ck_assert_int_eq(data_set_load(dir, DATA_SPLIT_TRAIN, &ds, &err), CIM_EFORMAT);
    assert_msg(&err, "train-images-idx3-ubyte.gz has 37 images");
    assert_msg(&err, "train-labels-idx1-ubyte has 36 labels");
    assert_empty(&ds);
}
END_TEST

START_TEST(test_bad_label)
{
    char dir[1024];
    tmp_subdir(dir, sizeof dir, "label10");
    static uint8_t pix[N_PIX];
    uint8_t lab[N_IMG];
    for (int i = 0; i < N_IMG; i++)
        lab[i] = tiny_label(i);
    lab[23] = DATA_CLASSES;
    uint32_t idims[3] = {N_IMG, IMG_H, IMG_W};
    uint32_t ldims[1] = {N_IMG};
    write_idx(dir, "t10k-images-idx3-ubyte", 1, 3, idims, pix);
    write_idx(dir, "t10k-labels-idx1-ubyte", 1, 1, ldims, lab);
    struct data_set ds = {0};
    struct cim_err err = {0};
    ck_assert_int_eq(data_set_load(dir, DATA_SPLIT_TEST, &ds, &err), CIM_EFORMAT);
    assert_msg(&err, "t10k-labels-idx1-ubyte.gz: label 10 of image 23");
    assert_empty(&ds);
}
END_TEST

START_TEST(test_bad_ranks)
{
    char dir[1024];
    tmp_subdir(dir, sizeof dir, "ranks");
    static uint8_t pix[N_PIX];
    uint8_t lab[N_IMG] = {0};
    uint32_t flat[1] = {N_IMG};
    uint32_t idims[3] = {N_IMG, IMG_H, IMG_W};
    uint32_t ldims3[3] = {N_IMG, 1, 1};

    write_idx(dir, "train-images-idx3-ubyte", 1, 1, flat, pix);
    write_idx(dir, "train-labels-idx1-ubyte", 1, 1, flat, lab);
    struct data_set ds = {0};
    struct cim_err err = {0};
    ck_assert_int_eq(data_set_load(dir, DATA_SPLIT_TRAIN, &ds, &err), CIM_EFORMAT);
    assert_msg(&err, "train-images-idx3-ubyte.gz: expected images of rank 3");
    assert_msg(&err, "found rank 1");
    assert_empty(&ds);

    write_idx(dir, "train-images-idx3-ubyte", 1, 3, idims, pix);
    write_idx(dir, "train-labels-idx1-ubyte", 1, 3, ldims3, lab);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(data_set_load(dir, DATA_SPLIT_TRAIN, &ds, &err), CIM_EFORMAT);
    assert_msg(&err, "train-labels-idx1-ubyte.gz: expected labels of rank 1");
    assert_msg(&err, "found rank 3");
    assert_empty(&ds);
}
END_TEST

/* A broken file is reported by the IDX reader, with its path. */
START_TEST(test_bad_file)
{
    char dir[1024], path[1200];
    tmp_subdir(dir, sizeof dir, "broken");
    write_tiny(dir, "t10k", 0, 3);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
    ck_assert_int_eq(truncate(path, 16 + 3 * IMG_SIZE - 2), 0);
    struct data_set ds = {0};
    struct cim_err err = {0};
    ck_assert_int_eq(data_set_load(dir, DATA_SPLIT_TEST, &ds, &err), CIM_EFORMAT);
    assert_msg(&err, path);
    assert_msg(&err, "truncated: header announces 105 bytes of data, file has 103");
    assert_empty(&ds);
}
END_TEST

/* Check runs each test in its own process, but CK_FORK=no does not: the
 * environment is put back as it was. */
START_TEST(test_dir_resolve)
{
    char dir[1024];
    tmp_subdir(dir, sizeof dir, "env");
    write_tiny(dir, "t10k", 1, 2);
    const char *old = getenv("CIM_DATA");
    char *saved = old != NULL ? strdup(old) : NULL;

    ck_assert_str_eq(data_dir_resolve("/some/where"), "/some/where");
    ck_assert_int_eq(unsetenv("CIM_DATA"), 0);
    ck_assert_str_eq(data_dir_resolve(NULL), DATA_DIR_DEFAULT);
    ck_assert_int_eq(setenv("CIM_DATA", "", 1), 0);
    ck_assert_str_eq(data_dir_resolve(NULL), DATA_DIR_DEFAULT);
    ck_assert_int_eq(setenv("CIM_DATA", dir, 1), 0);
    ck_assert_str_eq(data_dir_resolve(NULL), dir);
    ck_assert_str_eq(data_dir_resolve("/some/where"), "/some/where");

    struct data_set ds = {0};
    struct cim_err err = {0};
    ck_assert_msg(data_set_load(NULL, DATA_SPLIT_TEST, &ds, &err) == CIM_OK, "%s", err.msg);
    ck_assert_int_eq(ds.n, 2);
    data_set_release(&ds);

    if (saved != NULL)
        setenv("CIM_DATA", saved, 1);
    else
        unsetenv("CIM_DATA");
    free(saved);
}
END_TEST

START_TEST(test_release)
{
    data_set_release(NULL);
    struct data_set ds = {0};
    data_set_release(&ds);
    data_set_release(&ds);
    assert_empty(&ds);
}
END_TEST

/* ---- the real Fashion-MNIST ---- */

/* Reference values computed independently with Python's gzip module from
 * Debian's dataset-fashion-mnist files. The first test labels are those of
 * the Fashion-MNIST paper's release (ankle boot, pullover, trouser, ...). */
#define FMNIST_TEST_N 10000
#define FMNIST_TRAIN_N 60000
#define FMNIST_TEST_PIXEL_SUM 573469082ull
#define FMNIST_TRAIN_PIXEL_SUM 3431114169ull

static void require_fashion_mnist(void)
{
    struct stat st;
    ck_assert_msg(stat(DATA_DIR_DEFAULT, &st) == 0 && S_ISDIR(st.st_mode),
                  "Fashion-MNIST is missing: %s does not exist; install Debian's "
                  "dataset-fashion-mnist as the README's set-up says",
                  DATA_DIR_DEFAULT);
}

static void check_real_split(enum data_split split, int n, const uint8_t *first, int n_first,
                             unsigned long long pixel_sum)
{
    require_fashion_mnist();
    struct data_set ds = {0};
    struct cim_err err = {0};
    int rc = data_set_load(DATA_DIR_DEFAULT, split, &ds, &err);
    ck_assert_msg(rc == CIM_OK, "%s", err.msg);
    ck_assert_int_eq(ds.n, n);
    ck_assert_int_eq(ds.c, 1);
    ck_assert_int_eq(ds.h, 28);
    ck_assert_int_eq(ds.w, 28);
    ck_assert_int_eq(ds.num_classes, DATA_CLASSES);
    for (int i = 0; i < n_first; i++)
        ck_assert_msg(ds.labels[i] == first[i], "label %d is %d, expected %d", i, ds.labels[i],
                      first[i]);
    /* Both splits are balanced: n / 10 images of each class. */
    int per_class[DATA_CLASSES] = {0};
    for (int i = 0; i < ds.n; i++)
        per_class[ds.labels[i]]++;
    for (int c = 0; c < DATA_CLASSES; c++)
        ck_assert_msg(per_class[c] == n / DATA_CLASSES, "class %d has %d images, expected %d",
                      c, per_class[c], n / DATA_CLASSES);
    unsigned long long sum = 0;
    for (size_t k = 0; k < (size_t)n * 28 * 28; k++)
        sum += ds.pixels[k];
    ck_assert_msg(sum == pixel_sum, "pixel sum %llu, expected %llu", sum, pixel_sum);
    data_set_release(&ds);
}

START_TEST(test_fashion_mnist_test)
{
    static const uint8_t first[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
    check_real_split(DATA_SPLIT_TEST, FMNIST_TEST_N, first, 10, FMNIST_TEST_PIXEL_SUM);
}
END_TEST

START_TEST(test_fashion_mnist_train)
{
    static const uint8_t first[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
    check_real_split(DATA_SPLIT_TRAIN, FMNIST_TRAIN_N, first, 10, FMNIST_TRAIN_PIXEL_SUM);
}
END_TEST

static Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("dataset");
    tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
    /* Decompressing the 26 MB training images takes about a second, more
     * under the sanitizers. */
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_load_tiny);
    tcase_add_test(tc, test_prefers_gz);
    tcase_add_test(tc, test_batch_and_range);
    tcase_add_test(tc, test_missing_files);
    tcase_add_test(tc, test_count_mismatch);
    tcase_add_test(tc, test_bad_label);
    tcase_add_test(tc, test_bad_ranks);
    tcase_add_test(tc, test_bad_file);
    tcase_add_test(tc, test_dir_resolve);
    tcase_add_test(tc, test_release);
    tcase_add_test(tc, test_fashion_mnist_test);
    tcase_add_test(tc, test_fashion_mnist_train);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(data_suite)
