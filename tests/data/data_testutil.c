/* data_testutil.c: helpers of the data tests; see data_testutil.h. */
#include "data_testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

/* ---- one fresh directory per test ------------------------------------------------ */

/* A fresh directory per test, so that listing it shows only what the test made. */
char scratch_dir[600];

void scratch_open(const char *prefix)
{
    snprintf(scratch_dir, sizeof scratch_dir, "%s/%s-XXXXXX", test_tmpdir(), prefix);
    ck_assert_ptr_nonnull(mkdtemp(scratch_dir));
}

const char *scratch(const char *name)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", scratch_dir, name);
    return buf[k];
}

int scratch_count(void)
{
    DIR *d = opendir(scratch_dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

void scratch_end(void)
{
    DIR *d = opendir(scratch_dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlink(scratch(e->d_name));
    closedir(d);
    rmdir(scratch_dir);
    /* test_tmpdir() makes one directory per forked test; remove it when empty.
     * Without fork it is shared by all tests and must stay. */
    const char *fork = getenv("CK_FORK");
    if (fork == NULL || strcmp(fork, "no") != 0)
        rmdir(test_tmpdir());
}

/* ---- one directory per test case ------------------------------------------------- */

void rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char sub[1024];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                rm_tree(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

void tmp_setup(void)
{
    (void)test_tmpdir();
}

void tmp_teardown(void)
{
    rm_tree(test_tmpdir());
}

/* ---- writing bytes ------------------------------------------------------------- */

void write_plain(const char *path, const uint8_t *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

void write_gz(const char *path, const uint8_t *bytes, size_t len)
{
    gzFile gz = gzopen(path, "wb");
    ck_assert_msg(gz != NULL, "cannot create %s", path);
    if (len > 0)
        ck_assert_int_eq(gzwrite(gz, bytes, (unsigned)len), (int)len);
    ck_assert_int_eq(gzclose(gz), Z_OK);
}

/* ---- editing good HDF5 files into bad ones --------------------------------------- */

/* Identifiers HDF5 holds open in this process; every call must leave it at 0. */
long open_ids(void)
{
    return (long)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
}

hid_t edit_open(const char *path)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    return f;
}

void edit_close(hid_t f)
{
    ck_assert_int_ge(H5Fclose(f), 0);
    ck_assert_int_eq(open_ids(), 0);
}

void attr_delete(hid_t f, const char *obj, const char *name)
{
    ck_assert_int_ge(H5Adelete_by_name(f, obj, name, H5P_DEFAULT), 0);
}

void attr_put(hid_t f, const char *obj, const char *name, hid_t type, const void *value)
{
    if (H5Aexists_by_name(f, obj, name, H5P_DEFAULT) > 0)
        attr_delete(f, obj, name);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(f, obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(H5Awrite(a, type, value), 0);
    H5Aclose(a);
    H5Sclose(space);
}

/* Variable-length strings, as h5py writes them: the loader must take both kinds. */
void attr_set_str(hid_t f, const char *obj, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    attr_put(f, obj, name, t, &value);
    H5Tclose(t);
}

/* 64-bit integers, as h5py writes Python ints. */
void attr_set_int(hid_t f, const char *obj, const char *name, long long v)
{
    attr_put(f, obj, name, H5T_NATIVE_LLONG, &v);
}

/* Replace dataset `path` by one of `type` and the given extents, left at its fill
 * value; the loader must refuse it before reading. */
void dset_replace(hid_t f, const char *path, hid_t type, int rank, const hsize_t *dims)
{
    ck_assert_int_ge(H5Ldelete(f, path, H5P_DEFAULT), 0);
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, path, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    H5Dclose(d);
    H5Sclose(space);
}

/* Overwrite element `at` of float dataset `path` with `v`. */
void dset_poke(const char *file, const char *path, size_t at, float v)
{
    hid_t f = edit_open(file);
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    hid_t space = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    ck_assert_int_gt(n, (hssize_t)at);
    float *x = malloc((size_t)n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), 0);
    x[at] = v;
    ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), 0);
    free(x);
    H5Sclose(space);
    H5Dclose(d);
    edit_close(f);
}
