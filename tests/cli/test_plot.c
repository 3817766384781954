/*
 * test_plot.c: figures through PLplot (cli/plot.h): complete PNG and SVG files
 * at the final name only, one-line errors naming the file, nothing left behind
 * on failure, and the ADC-resolution figure of lenet5.
 *
 * Set CIM_PLOT_OUT to a file name to keep that figure for a look; otherwise it
 * goes to the test's scratch directory.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/plot.h"
#include "testutil.h"

/* An 800x600 figure with axes, labels and a legend compresses to tens of KB; a
 * blank or text-less page to a few KB. Anything below this is not a figure. */
#define PLOT_MIN_BYTES 8000

/* ---- files -------------------------------------------------------------------- */

/* Each test writes into a fresh directory of its own, so that listing it shows
 * only what that test made (also under CK_FORK=no, where tests share a process). */
static char test_dir[640];

static void dir_begin(const char *name)
{
    snprintf(test_dir, sizeof test_dir, "%s/%s", test_tmpdir(), name);
    ck_assert_int_eq(mkdir(test_dir, 0755), 0);
}

static const char *tmp(const char *name)
{
    static char buf[4][800];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", test_dir, name);
    return b;
}

/* Entries in a directory, dot files (temporary names) included. */
static int dir_count(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* A PNG file of `w` x `h` pixels: the signature, then the IHDR chunk's size. */
static void assert_png(const char *path, unsigned w, unsigned h)
{
    unsigned char b[24];
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fread(b, 1, sizeof b, f), sizeof b);
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    ck_assert_msg(memcmp(b, sig, 8) == 0, "%s: no PNG signature", path);
    ck_assert_msg(memcmp(b + 12, "IHDR", 4) == 0, "%s: no IHDR chunk first", path);
    unsigned pw = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
    unsigned ph = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
    ck_assert_uint_eq(pw, w);
    ck_assert_uint_eq(ph, h);
    ck_assert_msg(file_size(path) > PLOT_MIN_BYTES, "%s: only %ld bytes", path,
                  file_size(path));
}

#define assert_err(err, rc, want, phrase)                                                \
    do {                                                                                 \
        ck_assert_int_eq((rc), (want));                                                  \
        ck_assert_int_eq((err).code, (want));                                            \
        ck_assert_msg(strstr((err).msg, (phrase)) != NULL, "message '%s' lacks '%s'",    \
                      (err).msg, (phrase));                                              \
        ck_assert_msg(strchr((err).msg, '\n') == NULL, "message '%s' is not one line",   \
                      (err).msg);                                                        \
    } while (0)

static const double bits[6] = {3, 4, 5, 6, 7, 8};
static const double acc_a[6] = {12.5, 40.25, 71.875, 85.0, 88.5, 89.125};
static const double acc_b[6] = {2.385, 23.5, 60.0, 80.75, 87.25, 88.0};
static const double acc_b_lo[6] = {1.0, 19.5, 55.25, 78.0, 86.0, 87.5};
static const double acc_b_hi[6] = {4.5, 27.75, 64.5, 83.0, 88.5, 88.75};

/* ---- figures ------------------------------------------------------------------ */

START_TEST(test_two_series_png)
{
    dir_begin("two");
    struct cim_err err = {0};
    struct cli_plot_series s[2] = {
        {"calibrated", 6, bits, acc_a, NULL, NULL, CLI_PLOT_LINE_MARKERS},
        {"full scale (5 seeds)", 6, bits, acc_b, acc_b_lo, acc_b_hi, CLI_PLOT_LINE_MARKERS},
    };
    struct cli_plot p = {"two series", "ADC resolution (bits)", "accuracy (%)", 0, NAN, NAN};
    const char *path = tmp("two.png");
    ck_assert_int_eq(cli_plot_write(path, &p, s, 2, &err), CIM_OK);
    ck_assert_int_eq(err.code, CIM_OK);
    assert_png(path, 800, 600);
    ck_assert_int_eq(dir_count(test_dir), 1); /* no temporary file left */

    /* again over the existing file, with fixed y limits and a NaN that breaks a line */
    double y[6];
    memcpy(y, acc_a, sizeof y);
    y[2] = NAN;
    s[0].y = y;
    p.ymin = 0.0;
    p.ymax = 100.0;
    ck_assert_int_eq(cli_plot_write(path, &p, s, 2, &err), CIM_OK);
    assert_png(path, 800, 600);
    ck_assert_int_eq(dir_count(test_dir), 1);
}
END_TEST

START_TEST(test_log_x_png)
{
    dir_begin("logx");
    struct cim_err err = {0};
    /* conductance drift G(t) = G(t0) (t/t0)^-nu, nu = 0.05, t0 = 1 s */
    double t[7] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6}, g[7], acc[7];
    for (int i = 0; i < 7; i++) {
        g[i] = 100.0 * pow(t[i], -0.05);
        acc[i] = 90.0 - 6.0 * log10(t[i]);
    }
    struct cli_plot_series s[2] = {
        {"relative conductance", 7, t, g, NULL, NULL, CLI_PLOT_LINE_MARKERS},
        {"accuracy", 7, t, acc, NULL, NULL, CLI_PLOT_LINE_MARKERS},
    };
    struct cli_plot p = {"drift", "time since programming (s)", "%", 1, NAN, NAN};
    const char *path = tmp("drift.png");
    ck_assert_int_eq(cli_plot_write(path, &p, s, 2, &err), CIM_OK);
    assert_png(path, 800, 600);

    /* x <= 0 cannot go on a log axis: left out, as a NaN would be */
    t[0] = 0.0;
    ck_assert_int_eq(cli_plot_write(path, &p, s, 2, &err), CIM_OK);
    assert_png(path, 800, 600);
}
END_TEST

START_TEST(test_svg)
{
    dir_begin("svg");
    struct cim_err err = {0};
    struct cli_plot_series s = {"a #1", 6, bits, acc_a, NULL, NULL, CLI_PLOT_LINE_MARKERS};
    struct cli_plot p = {"svg", "x", "y", 0, NAN, NAN};
    const char *path = tmp("fig.SVG");
    ck_assert_int_eq(cli_plot_write(path, &p, &s, 1, &err), CIM_OK);
    char head[6] = "";
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fread(head, 1, 5, f), 5);
    fclose(f);
    ck_assert_str_eq(head, "<?xml");
    ck_assert_int_gt(file_size(path), 1000);
}
END_TEST

/* ---- errors ------------------------------------------------------------------- */

START_TEST(test_missing_directory)
{
    dir_begin("missing");
    struct cim_err err = {0};
    struct cli_plot_series s = {"a", 6, bits, acc_a, NULL, NULL, CLI_PLOT_LINE_MARKERS};
    struct cli_plot p = {"t", "x", "y", 0, NAN, NAN};
    const char *path = tmp("missing/fig.png");
    int rc = cli_plot_write(path, &p, &s, 1, &err);
    assert_err(err, rc, CIM_EIO, path);
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(access(tmp("missing"), F_OK), -1);
    ck_assert_int_eq(dir_count(test_dir), 0);
}
END_TEST

START_TEST(test_no_series)
{
    dir_begin("none");
    struct cim_err err = {0};
    struct cli_plot p = {"t", "x", "y", 0, NAN, NAN};
    struct cli_plot_series s = {"a", 6, bits, acc_a, NULL, NULL, CLI_PLOT_LINE_MARKERS};
    const char *path = tmp("none.png");
    int rc = cli_plot_write(path, &p, &s, 0, &err);
    assert_err(err, rc, CIM_EINVAL, "none.png: no series");
    struct cim_err err2 = {0};
    rc = cli_plot_write(path, &p, NULL, 1, &err2);
    assert_err(err2, rc, CIM_EINVAL, "no series");
    ck_assert_int_eq(dir_count(test_dir), 0);
}
END_TEST

START_TEST(test_bad_arguments)
{
    dir_begin("bad");
    struct cli_plot p = {"t", "x", "y", 0, NAN, NAN};
    double nan6[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
    struct cli_plot_series s = {"a", 6, bits, acc_a, NULL, NULL, CLI_PLOT_LINE_MARKERS};
    struct cim_err err = {0};
    int rc;

    rc = cli_plot_write(tmp("fig.jpg"), &p, &s, 1, &err);
    assert_err(err, rc, CIM_EINVAL, "fig.jpg: unknown figure format");
    memset(&err, 0, sizeof err);
    rc = cli_plot_write(tmp("png"), &p, &s, 1, &err);
    assert_err(err, rc, CIM_EINVAL, "unknown figure format");
    memset(&err, 0, sizeof err);
    rc = cli_plot_write("", &p, &s, 1, &err);
    assert_err(err, rc, CIM_EINVAL, "empty");

    struct cli_plot_series only_nan = {"a", 6, bits, nan6, NULL, NULL, CLI_PLOT_LINE_MARKERS};
    memset(&err, 0, sizeof err);
    rc = cli_plot_write(tmp("nan.png"), &p, &only_nan, 1, &err);
    assert_err(err, rc, CIM_EINVAL, "nan.png: no finite data point");

    struct cli_plot logp = p;
    logp.logx = 1;
    double negx[6] = {-1, 0, -3, -4, 0, -6};
    struct cli_plot_series neg = {"a", 6, negx, acc_a, NULL, NULL, CLI_PLOT_LINE_MARKERS};
    memset(&err, 0, sizeof err);
    rc = cli_plot_write(tmp("neg.png"), &logp, &neg, 1, &err);
    assert_err(err, rc, CIM_EINVAL, "x > 0");

    struct cli_plot_series half = {"a", 6, bits, acc_a, acc_b_lo, NULL, CLI_PLOT_LINE_MARKERS};
    memset(&err, 0, sizeof err);
    rc = cli_plot_write(tmp("half.png"), &p, &half, 1, &err);
    assert_err(err, rc, CIM_EINVAL, "one end of its error bars");

    struct cli_plot_series nox = {"a", 6, NULL, acc_a, NULL, NULL, CLI_PLOT_LINE_MARKERS};
    memset(&err, 0, sizeof err);
    rc = cli_plot_write(tmp("nox.png"), &p, &nox, 1, &err);
    assert_err(err, rc, CIM_EINVAL, "series 0 has no x");

    struct cli_plot flat = p;
    flat.ymin = 2.385;
    flat.ymax = 2.385;
    memset(&err, 0, sizeof err);
    rc = cli_plot_write(tmp("flat.png"), &flat, &s, 1, &err);
    assert_err(err, rc, CIM_EINVAL, "ymin must be below ymax");

    ck_assert_int_eq(dir_count(test_dir), 0);
}
END_TEST

/* ---- the ADC-resolution figure ------------------------------------------------ */

/* lenet5 on 128x128 crossbars, Fashion-MNIST test accuracy (%) against the ADC
 * resolution, full-scale and calibrated (max) ADC ranges, 8- and 4-bit. */
START_TEST(test_adc_figure)
{
    dir_begin("adc");
    static const double w8_fs[6] = {10.00, 14.16, 26.25, 58.79, 74.45, 87.99};
    static const double w8_cal[6] = {66.40, 84.64, 89.27, 90.48, 90.59, 90.80};
    static const double w4_fs[6] = {10.00, 10.50, 17.81, 49.61, 70.90, 86.66};
    static const double w4_cal[6] = {59.79, 83.31, 88.53, 90.01, 90.20, 90.13};
    struct cli_plot_series s[4] = {
        {"W8A8 full-scale", 6, bits, w8_fs, NULL, NULL, CLI_PLOT_LINE_MARKERS},
        {"W8A8 calibrated max", 6, bits, w8_cal, NULL, NULL, CLI_PLOT_LINE_MARKERS},
        {"W4A4 full-scale", 6, bits, w4_fs, NULL, NULL, CLI_PLOT_LINE_MARKERS},
        {"W4A4 calibrated max", 6, bits, w4_cal, NULL, NULL, CLI_PLOT_LINE_MARKERS},
    };
    struct cli_plot p = {"lenet5 on 128x128 crossbars: accuracy vs ADC resolution",
                         "ADC resolution (bits)", "accuracy (%)", 0, NAN, NAN};
    const char *out = getenv("CIM_PLOT_OUT");
    const char *path = out && *out ? out : tmp("adc.png");
    struct cim_err err = {0};
    int rc = cli_plot_write(path, &p, s, 4, &err);
    ck_assert_msg(rc == CIM_OK, "%s", err.msg);
    assert_png(path, 800, 600);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("plot");
    tcase_add_test(tc, test_two_series_png);
    tcase_add_test(tc, test_log_x_png);
    tcase_add_test(tc, test_svg);
    tcase_add_test(tc, test_missing_directory);
    tcase_add_test(tc, test_no_series);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_adc_figure);
    suite_add_tcase(s, tc);
    return s;
}

CIM_TEST_MAIN(cli_suite)
