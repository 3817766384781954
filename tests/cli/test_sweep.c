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
#include "testutil.h"

#define OUT_MAX (1 << 16)

static char out_buf[OUT_MAX], err_buf[OUT_MAX];

static void slurp(const char *path, char *buf)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, OUT_MAX - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

/* Run $CIM_BIN with the arguments; returns the exit status, output in the
 * buffers. */
static int run_cim(const char *const *args)
{
    const char *bin = getenv("CIM_BIN");
    ck_assert_msg(bin != NULL && *bin, "CIM_BIN is not set");
    char po[600], pe[600];
    snprintf(po, sizeof po, "%s/stdout", test_tmpdir());
    snprintf(pe, sizeof pe, "%s/stderr", test_tmpdir());
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        char *argv[64];
        int n = 0;
        argv[n++] = (char *)bin;
        for (; args[n - 1] != NULL && n < 63; n++)
            argv[n] = (char *)args[n - 1];
        argv[n] = NULL;
        execv(bin, argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    slurp(po, out_buf);
    slurp(pe, err_buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static const char *tmp(const char *name)
{
    static char buf[8][600];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static const char *model(void)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/data/weights/lenet5-fmnist.h5", getenv("CIM_SRCDIR"));
    return path;
}

static void expect_usage(const char *const *args, const char *needle)
{
    int st = run_cim(args);
    ck_assert_msg(st == 2, "exit %d, expected 2; stderr: %s", st, err_buf);
    ck_assert_msg(strchr(err_buf, '\n') == err_buf + strlen(err_buf) - 1,
                  "expected one line on stderr: %s", err_buf);
    ck_assert_msg(strstr(err_buf, needle) != NULL, "stderr '%s' lacks '%s'", err_buf, needle);
}

START_TEST(test_sweep_usage)
{
    const char *m = model(), *o = tmp("never");
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
    ck_assert(!exists(tmp("never.h5")) && !exists(tmp("never.csv")));
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

static void read_file(const char *path, char *buf)
{
    ck_assert_msg(exists(path), "%s is missing", path);
    slurp(path, buf);
}

static char csv_a[OUT_MAX], csv_b[OUT_MAX];

#define GRID "--vary", "adc-bits=5,6", "--vary", "wbits=8,4", "--seeds", "2", "--prog-noise", \
             "0.03", "--read-noise", "0.01", "--adc-range", "max", "--calib", "64",          \
             "--images", "200", "--quiet"

START_TEST(test_sweep_threads)
{
    const char *a = tmp("t1"), *b = tmp("t2");
    int st = run_cim((const char *[]){"sweep", model(), GRID, "--threads", "1", "--out", a, NULL});
    ck_assert_msg(st == 0, "sweep: %s", err_buf);
    st = run_cim((const char *[]){"sweep", model(), GRID, "--threads", "2", "--out", b, NULL});
    ck_assert_msg(st == 0, "sweep: %s", err_buf);
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
    /* another sweep into the same store is refused */
    st = run_cim((const char *[]){"sweep", model(), "--vary", "dac-bits=1,2", "--images", "50",
                                  "--quiet", "--out", a, NULL});
    ck_assert_msg(st == 1 && strstr(err_buf, "not this one") != NULL, "exit %d: %s", st,
                  err_buf);
}
END_TEST

START_TEST(test_sweep_resume_after_kill)
{
    const char *full = tmp("full"), *part = tmp("part");
    int st = run_cim((const char *[]){"sweep", model(), GRID, "--out", full, NULL});
    ck_assert_msg(st == 0, "sweep: %s", err_buf);
    char h5[700], csv[700];
    snprintf(h5, sizeof h5, "%s.h5", part);
    snprintf(csv, sizeof csv, "%s.csv", part);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        const char *args[] = {getenv("CIM_BIN"), "sweep", model(), GRID, "--out", part, NULL};
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    int killed = 0;
    for (int waited = 0; waited < 120000 && !killed; waited++) {
        if (exists(h5)) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        int s;
        if (!killed && waitpid(pid, &s, WNOHANG) == pid)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(killed, "the sweep ended before its first run was stored");
    waitpid(pid, NULL, 0);
    ck_assert(!exists(csv));
    /* what is on disk is complete and loadable */
    struct data_sweep s;
    struct cim_err err = {0};
    ck_assert_msg(data_sweep_load(h5, &s, &err) == CIM_OK, "%s", err.msg);
    ck_assert(s.n >= 1 && s.n < 8);
    data_sweep_release(&s);
    st = run_cim((const char *[]){"sweep", model(), GRID, "--out", part, NULL});
    ck_assert_msg(st == 0, "resume: %s", err_buf);
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
    struct data_sweep_run r = {.point = 0, .seed_index = 1, .seed = UINT64_MAX, .images = 10,
                               .correct = 7, .accuracy = 0.7, .seconds = 2.385,
                               .label = "adc-bits=4", .config = "{\"adc-bits\":4}",
                               .layers = "[]"};
    struct data_sweep w = {0};
    w.model = strdup(s.model);
    w.command = strdup(s.command);
    w.varied = strdup(s.varied);
    w.points = 1;
    w.seeds = 2;
    ck_assert_int_eq(data_sweep_add(&w, &r), CIM_OK);
    r.seed_index = 0;
    r.correct = 8;
    ck_assert_int_eq(data_sweep_add(&w, &r), CIM_OK);
    const char *path = tmp("store.h5");
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
    ck_assert_int_eq(data_sweep_load(tmp("missing.h5"), &t, &err), CIM_EIO);
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
