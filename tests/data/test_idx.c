/*
 * test_idx.c: the IDX reader (data/idx.h), tier unit.
 *
 * Small IDX files are written into the scratch directory, plain and through
 * zlib's gzwrite(), and read back with data_idx_load(); the same bytes also go
 * through data_idx_parse(). Every error path is provoked, and each is checked
 * for its code, an empty output, and a one-line message that names the file
 * and says what is wrong.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "data/idx.h"
#include "data_testutil.h"
#include "testutil.h"

/* 37 images of 5x7: small, odd, and not a multiple of anything convenient. */
#define N_IMG 37
#define IMG_H 5
#define IMG_W 7
#define N_PIX (N_IMG * IMG_H * IMG_W)
#define BUF_MAX (16 + N_PIX + 64)

/* ---- helpers ---- */

static const char *tmp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", test_tmpdir(), name);
    return buf;
}

static size_t read_all(const char *path, uint8_t *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    size_t n = fread(buf, 1, size, f);
    ck_assert_msg(feof(f), "%s is larger than %zu bytes", path, size);
    fclose(f);
    return n;
}

/* An IDX image: 00 00 type rank, the extents big-endian, then the payload. */
static size_t idx_make(uint8_t *buf, int type, int rank, const uint32_t *dims,
                       const uint8_t *payload, size_t n)
{
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = (uint8_t)type;
    buf[3] = (uint8_t)rank;
    size_t at = 4;
    for (int i = 0; i < rank; i++) {
        buf[at++] = (uint8_t)(dims[i] >> 24);
        buf[at++] = (uint8_t)(dims[i] >> 16);
        buf[at++] = (uint8_t)(dims[i] >> 8);
        buf[at++] = (uint8_t)dims[i];
    }
    if (n > 0)
        memcpy(buf + at, payload, n);
    return at + n;
}

/* Pixels that look like data to deflate (a multiplicative LCG, seeded). */
static void fill_pixels(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (uint8_t)(s >> 24);
    }
}

static void assert_empty(const struct data_idx *idx)
{
    ck_assert_ptr_null(idx->data);
    ck_assert_uint_eq(idx->count, 0);
    ck_assert_int_eq(idx->rank, 0);
}

static void assert_msg(const struct cim_err *err, const char *name, const char *word)
{
    ck_assert_msg(strstr(err->msg, name) != NULL, "message \"%s\" does not name \"%s\"",
                  err->msg, name);
    ck_assert_msg(strstr(err->msg, word) != NULL, "message \"%s\" lacks \"%s\"", err->msg,
                  word);
    ck_assert_msg(strchr(err->msg, '\n') == NULL, "message \"%s\" is not one line", err->msg);
}

/* Feed `bytes` to data_idx_parse() and, written as `stem` and `stem`.gz, to
 * data_idx_load(); all three must fail with `code` and a message naming the
 * input and containing `word`. */
static void expect_error(const uint8_t *bytes, size_t len, const char *stem, int code,
                         const char *word)
{
    char path[1024], gzpath[1024], gzname[256];
    struct data_idx idx = {0};
    struct cim_err err = {0};
    ck_assert_int_eq(data_idx_parse(bytes, len, stem, &idx, &err), code);
    ck_assert_int_eq(err.code, code);
    assert_msg(&err, stem, word);
    assert_empty(&idx);

    tmp_path(path, sizeof path, stem);
    write_plain(path, bytes, len);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(data_idx_load(path, &idx, &err), code);
    assert_msg(&err, path, word);
    assert_empty(&idx);

    snprintf(gzname, sizeof gzname, "%s.gz", stem);
    tmp_path(gzpath, sizeof gzpath, gzname);
    write_gz(gzpath, bytes, len);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(data_idx_load(gzpath, &idx, &err), code);
    assert_msg(&err, gzpath, word);
    assert_empty(&idx);
}

/* Parse and load (plain and gzip) must all give back exactly these values. */
static void expect_round_trip(const char *stem, int rank, const uint32_t *dims,
                              const uint8_t *payload, size_t n)
{
    static uint8_t buf[BUF_MAX];
    size_t len = idx_make(buf, 0x08, rank, dims, payload, n);
    char path[1024], gzname[256];
    snprintf(gzname, sizeof gzname, "%s.gz", stem);
    write_plain(tmp_path(path, sizeof path, stem), buf, len);
    write_gz(tmp_path(path, sizeof path, gzname), buf, len);

    for (int way = 0; way < 3; way++) {
        struct data_idx idx = {0};
        struct cim_err err = {0};
        int rc = way == 0 ? data_idx_parse(buf, len, stem, &idx, &err)
                          : data_idx_load(tmp_path(path, sizeof path, way == 1 ? stem : gzname),
                                          &idx, &err);
        ck_assert_msg(rc == CIM_OK, "way %d: %s", way, err.msg);
        ck_assert_int_eq(err.code, CIM_OK);
        ck_assert_int_eq(idx.rank, rank);
        for (int i = 0; i < rank; i++)
            ck_assert_uint_eq(idx.dims[i], dims[i]);
        ck_assert_uint_eq(idx.count, n);
        ck_assert_ptr_nonnull(idx.data);
        ck_assert_mem_eq(idx.data, payload, n);
        data_idx_release(&idx);
        assert_empty(&idx);
    }
}

/* ---- valid files ---- */

START_TEST(test_rank1_round_trip)
{
    uint8_t labels[N_IMG];
    for (int i = 0; i < N_IMG; i++)
        labels[i] = (uint8_t)((i * 7 + 3) % 10);
    uint32_t dims[1] = {N_IMG};
    expect_round_trip("labels-r1", 1, dims, labels, N_IMG);

    /* The smallest valid file: one element. */
    uint8_t one[1] = {0xA5};
    uint32_t d1[1] = {1};
    expect_round_trip("one-r1", 1, d1, one, 1);
}
END_TEST

START_TEST(test_rank3_round_trip)
{
    static uint8_t pix[N_PIX];
    fill_pixels(pix, N_PIX, 2385);
    uint32_t dims[3] = {N_IMG, IMG_H, IMG_W};
    expect_round_trip("images-r3", 3, dims, pix, N_PIX);

    uint32_t dims2[2] = {IMG_H, IMG_W};
    expect_round_trip("matrix-r2", 2, dims2, pix, IMG_H * IMG_W);
}
END_TEST

/* ---- bad headers ---- */

START_TEST(test_bad_magic)
{
    uint8_t buf[BUF_MAX];
    uint8_t pay[3] = {1, 2, 3};
    uint32_t dims[1] = {3};
    size_t len = idx_make(buf, 0x08, 1, dims, pay, 3);
    static const struct {
        int at;
        uint8_t v;
    } bad[] = {{0, 0x01}, {1, 0x08}, {2, 0x00}, {2, 0x07}, {2, 0x0A}, {2, 0x0F}, {2, 0xFF}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        uint8_t copy[BUF_MAX];
        memcpy(copy, buf, len);
        copy[bad[k].at] = bad[k].v;
        char stem[64];
        snprintf(stem, sizeof stem, "magic-%zu", k);
        expect_error(copy, len, stem, CIM_EFORMAT, "bad magic");
    }
    /* Not IDX at all: a PNG signature. */
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    expect_error(png, sizeof png, "picture.png", CIM_EFORMAT, "bad magic");
}
END_TEST

START_TEST(test_unsupported_type)
{
    static const int types[] = {0x09, 0x0B, 0x0C, 0x0D, 0x0E};
    static const char *const words[] = {"0x09", "0x0b", "0x0c", "0x0d", "0x0e"};
    uint8_t buf[BUF_MAX];
    uint8_t pay[8] = {0};
    uint32_t dims[1] = {2};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        /* Payload sized as for 4-byte elements: the type alone is refused. */
        size_t len = idx_make(buf, types[k], 1, dims, pay, 8);
        char stem[64];
        snprintf(stem, sizeof stem, "type-%02x", types[k]);
        expect_error(buf, len, stem, CIM_EUNSUPPORTED, "unsupported");
        expect_error(buf, len, stem, CIM_EUNSUPPORTED, words[k]);
    }
}
END_TEST

START_TEST(test_bad_rank)
{
    uint8_t buf[BUF_MAX];
    uint8_t pay[2] = {0};
    uint32_t dims[4] = {1, 1, 1, 2};
    size_t len = idx_make(buf, 0x08, 0, dims, pay, 2);
    expect_error(buf, len, "rank0", CIM_EFORMAT, "bad rank 0");
    len = idx_make(buf, 0x08, 4, dims, pay, 2);
    expect_error(buf, len, "rank4", CIM_EFORMAT, "bad rank 4");
    buf[3] = 0xFF;
    expect_error(buf, len, "rank255", CIM_EFORMAT, "bad rank 255");
}
END_TEST

START_TEST(test_zero_extent)
{
    uint8_t buf[BUF_MAX];
    uint8_t pay[4] = {0};
    for (int at = 0; at < 3; at++) {
        uint32_t dims[3] = {2, 2, 1};
        dims[at] = 0;
        size_t len = idx_make(buf, 0x08, 3, dims, pay, 0);
        char stem[64], word[64];
        snprintf(stem, sizeof stem, "zero-extent-%d", at);
        snprintf(word, sizeof word, "dimension %d has extent 0", at);
        expect_error(buf, len, stem, CIM_EFORMAT, word);
    }
}
END_TEST

/* A file cut anywhere in its header, including the empty file. */
START_TEST(test_truncated_header)
{
    static uint8_t pix[N_PIX];
    fill_pixels(pix, N_PIX, 7);
    uint8_t buf[BUF_MAX];
    uint32_t dims[3] = {N_IMG, IMG_H, IMG_W};
    for (int rank = 1; rank <= 3; rank += 2) {
        size_t n = rank == 1 ? N_IMG : N_PIX;
        idx_make(buf, 0x08, rank, dims, pix, n);
        size_t head_len = 4 + 4 * (size_t)rank;
        for (size_t cut = 0; cut < head_len; cut++) {
            char stem[64];
            snprintf(stem, sizeof stem, "head-r%d-cut%zu", rank, cut);
            expect_error(buf, cut, stem, CIM_EFORMAT, "truncated");
        }
    }
}
END_TEST

START_TEST(test_truncated_payload)
{
    static uint8_t pix[N_PIX];
    fill_pixels(pix, N_PIX, 11);
    static uint8_t buf[BUF_MAX];
    uint32_t dims[3] = {N_IMG, IMG_H, IMG_W};
    size_t len = idx_make(buf, 0x08, 3, dims, pix, N_PIX);
    expect_error(buf, len - 1, "payload-short1", CIM_EFORMAT,
                 "truncated: header announces 1295 bytes of data, file has 1294");
    expect_error(buf, len - 600, "payload-short600", CIM_EFORMAT,
                 "truncated: header announces 1295 bytes of data, file has 695");
    expect_error(buf, 16, "payload-none", CIM_EFORMAT,
                 "truncated: header announces 1295 bytes of data, file has 0");
}
END_TEST

START_TEST(test_trailing_bytes)
{
    static uint8_t pix[N_PIX + 5];
    fill_pixels(pix, N_PIX + 5, 13);
    static uint8_t buf[BUF_MAX];
    uint32_t dims[3] = {N_IMG, IMG_H, IMG_W};
    size_t len = idx_make(buf, 0x08, 3, dims, pix, N_PIX + 5);
    expect_error(buf, len - 4, "trail1", CIM_EFORMAT, "1 trailing byte after the 1295 bytes");
    expect_error(buf, len, "trail5", CIM_EFORMAT, "5 trailing bytes after the 1295 bytes");

    /* More trailing data than one read of the loader's scratch buffer. */
    static uint8_t big[16 + N_PIX + 10000];
    static uint8_t pay[N_PIX + 10000];
    fill_pixels(pay, sizeof pay, 17);
    len = idx_make(big, 0x08, 3, dims, pay, sizeof pay);
    char path[1024];
    struct data_idx idx = {0};
    struct cim_err err = {0};
    write_gz(tmp_path(path, sizeof path, "trail-big.gz"), big, len);
    ck_assert_int_eq(data_idx_load(path, &idx, &err), CIM_EFORMAT);
    assert_msg(&err, path, "10000 trailing bytes");
    assert_empty(&idx);
}
END_TEST

/* Extents whose product overflows size_t, or passes DATA_IDX_ELEMS_MAX, are
 * refused from the header alone. Outside ASan (whose shadow memory needs a
 * huge address space) the address space is capped at 256 MiB above its
 * current size meanwhile, so an attempt to allocate the gigabyte a header
 * announces would fail with CIM_ENOMEM instead of the expected messages. */
START_TEST(test_absurd_extents)
{
    struct rlimit old;
    ck_assert_int_eq(getrlimit(RLIMIT_AS, &old), 0);
#if !defined(__SANITIZE_ADDRESS__)
    /* The cap is relative to what is mapped now (shared libraries, OpenBLAS
     * buffers); where /proc is missing the test runs uncapped. */
    unsigned long vm_pages = 0;
    FILE *statm = fopen("/proc/self/statm", "r");
    if (statm != NULL) {
        if (fscanf(statm, "%lu", &vm_pages) != 1)
            vm_pages = 0;
        fclose(statm);
    }
    rlim_t want = (rlim_t)vm_pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)256 << 20);
    if (vm_pages > 0 && (old.rlim_cur == RLIM_INFINITY || old.rlim_cur > want)) {
        struct rlimit cap = old;
        cap.rlim_cur = want;
        ck_assert_int_eq(setrlimit(RLIMIT_AS, &cap), 0);
    }
#endif
    uint8_t buf[BUF_MAX];
    uint8_t pay[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

    uint32_t huge3[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    size_t len = idx_make(buf, 0x08, 3, huge3, pay, 10);
    expect_error(buf, len, "huge-overflow", CIM_EFORMAT,
                 "too large: header announces 4294967295x4294967295x4294967295 elements");

    uint32_t huge2[2] = {0xFFFFFFFFu, 0xFFFFFFFFu};
    len = idx_make(buf, 0x08, 2, huge2, pay, 10);
    expect_error(buf, len, "huge-square", CIM_EFORMAT, "too large");

    uint32_t over[1] = {(uint32_t)DATA_IDX_ELEMS_MAX + 1};
    len = idx_make(buf, 0x08, 1, over, pay, 10);
    expect_error(buf, len, "limit-plus-one", CIM_EFORMAT, "limit of 1073741824");

    /* Exactly the limit is allowed, so this is a truncated file, found
     * without reserving a gigabyte for it. */
    uint32_t at_limit[1] = {(uint32_t)DATA_IDX_ELEMS_MAX};
    len = idx_make(buf, 0x08, 1, at_limit, pay, 10);
    expect_error(buf, len, "at-limit", CIM_EFORMAT,
                 "truncated: header announces 1073741824 bytes of data, file has 10");
#if !defined(__SANITIZE_ADDRESS__)
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &old), 0);
#endif
}
END_TEST

/* ---- gzip problems ---- */

/* A gzip file cut at every length is refused with a gzip message, never read
 * as a shorter file. From 2 bytes on zlib sees the gzip magic; a single
 * 0x1f byte is indistinguishable from a one-byte plain file, which is then
 * not IDX. */
START_TEST(test_gzip_cut)
{
    static uint8_t pix[N_PIX];
    fill_pixels(pix, N_PIX, 19);
    static uint8_t buf[BUF_MAX];
    uint32_t dims[3] = {N_IMG, IMG_H, IMG_W};
    size_t len = idx_make(buf, 0x08, 3, dims, pix, N_PIX);
    char full[1024], path[1024];
    write_gz(tmp_path(full, sizeof full, "whole.gz"), buf, len);
    static uint8_t gz[2 * BUF_MAX];
    size_t gz_len = read_all(full, gz, sizeof gz);
    ck_assert_uint_gt(gz_len, 100);
    tmp_path(path, sizeof path, "cut.gz");
    for (size_t cut = 1; cut < gz_len; cut++) {
        write_plain(path, gz, cut);
        struct data_idx idx = {0};
        struct cim_err err = {0};
        int rc = data_idx_load(path, &idx, &err);
        ck_assert_msg(rc == CIM_EFORMAT, "cut at %zu of %zu: rc %d (%s)", cut, gz_len, rc,
                      err.msg);
        assert_msg(&err, path, cut == 1 ? "truncated" : "gzip");
        assert_empty(&idx);
    }
    /* Cut in the middle, the message says what happened. */
    write_plain(path, gz, gz_len / 2);
    struct data_idx idx = {0};
    struct cim_err err = {0};
    ck_assert_int_eq(data_idx_load(path, &idx, &err), CIM_EFORMAT);
    assert_msg(&err, path, "truncated gzip stream");
}
END_TEST

/* Corruption in the compressed data or in the trailer (CRC-32 and length). */
START_TEST(test_gzip_corrupt)
{
    static uint8_t pix[N_PIX];
    fill_pixels(pix, N_PIX, 23);
    static uint8_t buf[BUF_MAX];
    uint32_t dims[3] = {N_IMG, IMG_H, IMG_W};
    size_t len = idx_make(buf, 0x08, 3, dims, pix, N_PIX);
    char full[1024], path[1024];
    write_gz(tmp_path(full, sizeof full, "good.gz"), buf, len);
    static uint8_t gz[2 * BUF_MAX];
    size_t gz_len = read_all(full, gz, sizeof gz);
    size_t where[] = {gz_len / 2, gz_len - 8, gz_len - 2};
    for (size_t k = 0; k < sizeof where / sizeof where[0]; k++) {
        static uint8_t bad[2 * BUF_MAX];
        memcpy(bad, gz, gz_len);
        bad[where[k]] ^= 0x5A;
        char stem[64];
        snprintf(stem, sizeof stem, "corrupt-%zu.gz", k);
        write_plain(tmp_path(path, sizeof path, stem), bad, gz_len);
        struct data_idx idx = {0};
        struct cim_err err = {0};
        int rc = data_idx_load(path, &idx, &err);
        ck_assert_msg(rc == CIM_EFORMAT, "flip at %zu: rc %d (%s)", where[k], rc, err.msg);
        assert_msg(&err, path, "gzip stream");
        assert_empty(&idx);
    }
}
END_TEST

/* zlib, like gunzip, stops at the end of the gzip stream: bytes after it are
 * not part of the file's data (idx.h says so). */
START_TEST(test_gzip_trailing_garbage)
{
    uint8_t buf[BUF_MAX];
    uint8_t pay[4] = {4, 3, 2, 1};
    uint32_t dims[1] = {4};
    size_t len = idx_make(buf, 0x08, 1, dims, pay, 4);
    char path[1024];
    write_gz(tmp_path(path, sizeof path, "garbage.gz"), buf, len);
    FILE *f = fopen(path, "ab");
    ck_assert_ptr_nonnull(f);
    fputs("garbage", f);
    fclose(f);
    struct data_idx idx = {0};
    struct cim_err err = {0};
    ck_assert_msg(data_idx_load(path, &idx, &err) == CIM_OK, "%s", err.msg);
    ck_assert_uint_eq(idx.count, 4);
    ck_assert_mem_eq(idx.data, pay, 4);
    data_idx_release(&idx);
}
END_TEST

/* ---- files that cannot be read ---- */

START_TEST(test_missing_and_unreadable)
{
    char path[1024];
    struct data_idx idx = {0};
    struct cim_err err = {0};
    tmp_path(path, sizeof path, "no-such-file-idx1-ubyte.gz");
    ck_assert_int_eq(data_idx_load(path, &idx, &err), CIM_EIO);
    ck_assert_int_eq(err.code, CIM_EIO);
    assert_msg(&err, path, "cannot open");
    assert_msg(&err, path, "No such file or directory");
    assert_empty(&idx);

    /* A directory opens but cannot be read. */
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(data_idx_load(test_tmpdir(), &idx, &err), CIM_EIO);
    assert_msg(&err, test_tmpdir(), "cannot read");
    assert_empty(&idx);

    /* A NULL err means "code only". */
    ck_assert_int_eq(data_idx_load(path, &idx, NULL), CIM_EIO);
    uint8_t zero[4] = {0};
    ck_assert_int_eq(data_idx_parse(zero, 4, "x", &idx, NULL), CIM_EFORMAT);
    assert_empty(&idx);
}
END_TEST

/* The first message set is kept: a failed load does not overwrite an earlier,
 * more precise message. */
START_TEST(test_first_message_kept)
{
    struct data_idx idx = {0};
    struct cim_err err = {0};
    cim_err_set(&err, CIM_EINVAL, "earlier");
    uint8_t zero[2] = {0};
    ck_assert_int_eq(data_idx_parse(zero, 2, "later", &idx, &err), CIM_EFORMAT);
    ck_assert_str_eq(err.msg, "earlier");
    ck_assert_int_eq(err.code, CIM_EINVAL);
}
END_TEST

START_TEST(test_release)
{
    data_idx_release(NULL);
    struct data_idx idx = {0};
    data_idx_release(&idx);
    data_idx_release(&idx);
    assert_empty(&idx);
}
END_TEST

static Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("idx");
    tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_rank1_round_trip);
    tcase_add_test(tc, test_rank3_round_trip);
    tcase_add_test(tc, test_bad_magic);
    tcase_add_test(tc, test_unsupported_type);
    tcase_add_test(tc, test_bad_rank);
    tcase_add_test(tc, test_zero_extent);
    tcase_add_test(tc, test_truncated_header);
    tcase_add_test(tc, test_truncated_payload);
    tcase_add_test(tc, test_trailing_bytes);
    tcase_add_test(tc, test_absurd_extents);
    tcase_add_test(tc, test_gzip_cut);
    tcase_add_test(tc, test_gzip_corrupt);
    tcase_add_test(tc, test_gzip_trailing_garbage);
    tcase_add_test(tc, test_missing_and_unreadable);
    tcase_add_test(tc, test_first_message_kept);
    tcase_add_test(tc, test_release);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(data_suite)
