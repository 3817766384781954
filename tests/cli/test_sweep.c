/*
 * test_sweep.c: `cim sweep` end to end.
 *
 * Usage errors give one line; a small grid (ADC bits x precision x 2 seeds,
 * with programming and read noise) gives the same CSV and the same stored runs
 * on 1 and 2 threads; a sweep killed with SIGKILL after its first stored run
 * and started again with the same arguments ends with the same CSV and runs as
 * an uninterrupted one, and never leaves a partial file; the store round-trips
 * and refuses a file of another sweep.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data/model_file.h"
#include "data/sweep_file.h"
#include "cli/cli_testutil.h"
#include "testutil.h"

static struct cli_run r;

/* Run cim; the exit status (output in r). */
static int run(const char *const *args)
{
    test_run_cim(&r, args);
    return r.status;
}

static const char *model(void)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/data/weights/lenet5-fmnist.h5", getenv("CIM_SRCDIR"));
    return path;
}

static void expect_usage(const char *const *args, const char *needle)
{
    expect_error(args, 2, needle);
}

START_TEST(test_sweep_usage)
{
    const char *m = model(), *o = test_tmp("never");
    expect_usage((const char *[]){"sweep", m, "--out", o, NULL}, "nothing to sweep");
    expect_usage((const char *[]){"sweep", m, "--vary", "adc-bits=4,5", NULL}, "--out");
    expect_usage((const char *[]){"sweep", m, "--vary", "frobnicate=1,2", "--out", o, NULL},
                 "--frobnicate");
    expect_usage((const char *[]){"sweep", m, "--vary", "seed=1,2", "--out", o, NULL}, "--seeds");
    expect_usage((const char *[]){"sweep", m, "--vary", "adc-bits=8:3", "--out", o, NULL},
                 "lo <= hi");
    expect_usage((const char *[]){"sweep", m, "--vary", "adc-bits", "--out", o, NULL},
                 "NAME=LIST");
    expect_usage((const char *[]){"sweep", m, "--vary", "adc-bits=4,99", "--out", o, NULL},
                 "--adc-bits");
    expect_usage((const char *[]){"sweep", m, "--vary", "cell_bits=2", "--vary", "cell-bits=4",
                                  "--out", o, NULL},
                 "given twice");
    expect_usage((const char *[]){"sweep", m, "--study", "energy", "--out", o, NULL}, "--study");
    expect_usage((const char *[]){"sweep", m, "--vary", NULL}, "--vary");
    ck_assert(!test_exists(test_tmp("never.h5")) && !test_exists(test_tmp("never.csv")));
}
END_TEST

/* The runs of two stores agree: same points, seeds, configurations, counts. */
static void same_runs(const char *a, const char *b)
{
    struct data_sweep x, y;
    struct cim_err err = {0};
    ck_assert_msg(data_sweep_load(a, &x, &err) == CIM_OK, "%s", err.msg);
    ck_assert_msg(data_sweep_load(b, &y, &err) == CIM_OK, "%s", err.msg);
    ck_assert_int_eq(x.n, y.n);
    ck_assert_int_eq(x.points, y.points);
    ck_assert_int_eq(x.seeds, y.seeds);
    for (int i = 0; i < x.n; i++) {
        ck_assert_int_eq(x.runs[i].point, y.runs[i].point);
        ck_assert_int_eq(x.runs[i].seed_index, y.runs[i].seed_index);
        ck_assert_str_eq(x.runs[i].config, y.runs[i].config);
        ck_assert_int_eq(x.runs[i].correct, y.runs[i].correct);
        ck_assert_str_eq(x.runs[i].layers, y.runs[i].layers);
    }
    data_sweep_release(&x);
    data_sweep_release(&y);
}

static char csv_a[CLI_RUN_MAX], csv_b[CLI_RUN_MAX];

static void read_file(const char *path, char *buf)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s is missing", path);
    size_t n = fread(buf, 1, CLI_RUN_MAX - 1, f);
    buf[n] = '\0';
    fclose(f);
}

#define GRID "--vary", "adc-bits=5,6", "--vary", "wbits=8,4", "--seeds", "2", "--prog-noise", \
             "0.03", "--read-noise", "0.01", "--adc-range", "max", "--calib", "64",          \
             "--images", "200", "--quiet"

START_TEST(test_sweep_threads)
{
    const char *a = test_tmp("t1"), *b = test_tmp("t2");
    int st = run((const char *[]){"sweep", model(), GRID, "--threads", "1", "--out", a, NULL});
    ck_assert_msg(st == 0, "sweep: %s", r.err);
    st = run((const char *[]){"sweep", model(), GRID, "--threads", "2", "--out", b, NULL});
    ck_assert_msg(st == 0, "sweep: %s", r.err);
    char pa[700], pb[700];
    snprintf(pa, sizeof pa, "%s.csv", a);
    snprintf(pb, sizeof pb, "%s.csv", b);
    read_file(pa, csv_a);
    read_file(pb, csv_b);
    ck_assert_str_eq(csv_a, csv_b);
    /* 4 points, a header line */
    int lines = 0;
    for (const char *c = csv_a; *c; c++)
        lines += *c == '\n';
    ck_assert_int_eq(lines, 5);
    ck_assert(strncmp(csv_a, "adc-bits,wbits,seeds,images,accuracy_mean", 41) == 0);
    snprintf(pa, sizeof pa, "%s.h5", a);
    snprintf(pb, sizeof pb, "%s.h5", b);
    same_runs(pa, pb);
    /* cim plot draws the store against any varied option */
    const char *fig = test_tmp("by_wbits.png");
    st = run((const char *[]){"plot", pa, "--x", "wbits", "--out", fig, NULL});
    ck_assert_msg(st == 0, "plot: %s", r.err);
    FILE *f = fopen(fig, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char sig[8] = {0};
    ck_assert_int_eq(fread(sig, 1, 8, f), 8);
    fclose(f);
    ck_assert(memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0);
    expect_usage((const char *[]){"plot", pa, "--x", "dac-bits", "--out", fig, NULL},
                 "varies");
    expect_usage((const char *[]){"plot", pa, "--out", fig, NULL}, "--x");
    st = run((const char *[]){"plot", test_tmp("none.h5"), "--x", "wbits", "--out",
                              test_tmp("never.png"), NULL});
    ck_assert_msg(st == 1 && strstr(r.err, "none.h5") != NULL, "exit %d: %s", st, r.err);
    ck_assert(!test_exists(test_tmp("never.png")));
    /* another sweep into the same store is refused */
    st = run((const char *[]){"sweep", model(), "--vary", "dac-bits=1,2", "--images", "50",
                                  "--quiet", "--out", a, NULL});
    ck_assert_msg(st == 1 && strstr(r.err, "not this one") != NULL, "exit %d: %s", st,
                  r.err);
}
END_TEST

START_TEST(test_sweep_resume_after_kill)
{
    const char *full = test_tmp("full"), *part = test_tmp("part");
    int st = run((const char *[]){"sweep", model(), GRID, "--out", full, NULL});
    ck_assert_msg(st == 0, "sweep: %s", r.err);
    char h5[700], csv[700];
    snprintf(h5, sizeof h5, "%s.h5", part);
    snprintf(csv, sizeof csv, "%s.csv", part);
    ck_assert_msg(test_run_cim_killed_at((const char *[]){"sweep", model(), GRID, "--out",
                                                          part, NULL},
                                         h5),
                  "the sweep ended before its first run was stored");
    ck_assert(!test_exists(csv));
    /* what is on disk is complete and loadable */
    struct data_sweep s;
    struct cim_err err = {0};
    ck_assert_msg(data_sweep_load(h5, &s, &err) == CIM_OK, "%s", err.msg);
    ck_assert(s.n >= 1 && s.n < 8);
    data_sweep_release(&s);
    st = run((const char *[]){"sweep", model(), GRID, "--out", part, NULL});
    ck_assert_msg(st == 0, "resume: %s", r.err);
    char fcsv[700], fh5[700];
    snprintf(fcsv, sizeof fcsv, "%s.csv", full);
    snprintf(fh5, sizeof fh5, "%s.h5", full);
    read_file(fcsv, csv_a);
    read_file(csv, csv_b);
    ck_assert_str_eq(csv_a, csv_b);
    same_runs(fh5, h5);
}
END_TEST

/* The store round-trips, and a file that is not a sweep is refused by name. */
START_TEST(test_sweep_store)
{
    data_init();
    struct data_sweep s = {0}, t;
    struct cim_err err = {0};
    s.model = "m.h5";
    s.command = "cim sweep m.h5 --vary adc-bits=4";
    s.varied = "[\"adc-bits\"]";
    s.points = 1;
    s.seeds = 2;
    struct data_sweep_run run = {.point = 0, .seed_index = 1, .seed = UINT64_MAX, .images = 10,
                               .correct = 7, .accuracy = 0.7, .seconds = 2.385,
                               .label = "adc-bits=4", .config = "{\"adc-bits\":4}",
                               .layers = "[]"};
    struct data_sweep w = {0};
    w.model = strdup(s.model);
    w.command = strdup(s.command);
    w.varied = strdup(s.varied);
    w.points = 1;
    w.seeds = 2;
    ck_assert_int_eq(data_sweep_add(&w, &run), CIM_OK);
    run.seed_index = 0;
    run.correct = 8;
    ck_assert_int_eq(data_sweep_add(&w, &run), CIM_OK);
    const char *path = test_tmp("store.h5");
    ck_assert_msg(data_sweep_save(path, &w, &err) == CIM_OK, "%s", err.msg);
    ck_assert_msg(data_sweep_load(path, &t, &err) == CIM_OK, "%s", err.msg);
    ck_assert_int_eq(t.n, 2);
    ck_assert_str_eq(t.model, "m.h5");
    ck_assert_str_eq(t.varied, "[\"adc-bits\"]");
    ck_assert(t.runs[0].seed == UINT64_MAX && t.runs[0].seconds == 2.385);
    ck_assert_int_eq(t.runs[1].correct, 8);
    ck_assert_str_eq(t.runs[0].config, "{\"adc-bits\":4}");
    data_sweep_release(&t);
    data_sweep_release(&w);
    char mpath[600];
    snprintf(mpath, sizeof mpath, "%s", model());
    err = (struct cim_err){0};
    ck_assert_int_eq(data_sweep_load(mpath, &t, &err), CIM_EFORMAT);
    ck_assert_msg(strstr(err.msg, "cim-sweep") != NULL, "%s", err.msg);
    err = (struct cim_err){0};
    ck_assert_int_eq(data_sweep_load(test_tmp("missing.h5"), &t, &err), CIM_EIO);
    ck_assert_msg(strstr(err.msg, "missing.h5") != NULL, "%s", err.msg);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *t = tcase_create("sweep");
    tcase_add_test(t, test_sweep_usage);
    tcase_add_test(t, test_sweep_store);
    tcase_add_test(t, test_sweep_threads);
    tcase_add_test(t, test_sweep_resume_after_kill);
    tcase_set_timeout(t, 600);
    suite_add_tcase(s, t);
    return s;
}

CIM_TEST_MAIN(cli_suite)
