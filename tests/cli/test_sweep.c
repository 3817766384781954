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

#include "cim_config.h"
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

/* PREFIX.csv of a sweep into buf. */
static void read_csv(const char *prefix, char *buf)
{
    char path[700];
    snprintf(path, sizeof path, "%s.csv", prefix);
    read_file(path, buf);
}

#define GRID_LOUD "--vary", "adc-bits=5,6", "--vary", "wbits=8,4", "--seeds", "2",            \
                  "--prog-noise", "0.03", "--read-noise", "0.01", "--adc-range", "max",     \
                  "--calib", "64", "--images", "200"
#define GRID GRID_LOUD, "--quiet"

START_TEST(test_sweep_threads)
{
    const char *a = test_tmp("t1"), *b = test_tmp("t2");
    int st = run((const char *[]){"sweep", model(), GRID, "--threads", "1", "--out", a, NULL});
    ck_assert_msg(st == 0, "sweep: %s", r.err);
    st = run((const char *[]){"sweep", model(), GRID, "--threads", "2", "--out", b, NULL});
    ck_assert_msg(st == 0, "sweep: %s", r.err);
    read_csv(a, csv_a);
    read_csv(b, csv_b);
    ck_assert_str_eq(csv_a, csv_b);
    /* 4 points, a header line */
    int lines = 0;
    for (const char *c = csv_a; *c; c++)
        lines += *c == '\n';
    ck_assert_int_eq(lines, 5);
    /* the header, column for column, as docs/FORMAT.md documents it: scripts
     * read these names, so changing one is a change of format */
    static const char header[] = "adc-bits,wbits,seeds,images,accuracy_mean,accuracy_sd,"
                                 "accuracy_min,accuracy_max,ci95_low,ci95_high,energy_nj,"
                                 "adc_nj,array_nj,dac_nj,periph_nj,area_mm2\n";
    ck_assert_msg(strncmp(csv_a, header, sizeof header - 1) == 0, "%s", csv_a);
    char pa[700], pb[700];
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
    char fh5[700];
    snprintf(fh5, sizeof fh5, "%s.h5", full);
    read_csv(full, csv_a);
    read_csv(part, csv_b);
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
    /* rows in order of point and seed index, whatever the order of adding */
    ck_assert(t.runs[0].seed_index == 0 && t.runs[0].correct == 8);
    ck_assert(t.runs[1].seed_index == 1 && t.runs[1].correct == 7);
    ck_assert_str_eq(t.runs[0].config, "{\"adc-bits\":4}");
    ck_assert_str_eq(t.blocks, ""); /* one grid: version 1, no blocks */
    data_sweep_release(&t);
    /* a union of grids keeps its blocks (version 2) */
    w.blocks = strdup("[{\"name\":\"\",\"varied\":[\"adc-bits\"]}]");
    ck_assert_msg(data_sweep_save(path, &w, &err) == CIM_OK, "%s", err.msg);
    ck_assert_msg(data_sweep_load(path, &t, &err) == CIM_OK, "%s", err.msg);
    ck_assert_str_eq(t.blocks, w.blocks);
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

/* A store of nothing but these runs, kept from another. */
static void keep_runs(const char *from, const char *to, int (*keep)(const struct data_sweep_run *))
{
    struct data_sweep a, b = {0};
    struct cim_err err = {0};
    ck_assert_msg(data_sweep_load(from, &a, &err) == CIM_OK, "%s", err.msg);
    b.model = strdup(a.model);
    b.command = strdup(a.command);
    b.varied = strdup(a.varied);
    b.blocks = strdup(a.blocks);
    b.points = a.points;
    b.seeds = a.seeds;
    for (int i = 0; i < a.n; i++)
        if (keep(&a.runs[i]))
            ck_assert_int_eq(data_sweep_add(&b, &a.runs[i]), CIM_OK);
    ck_assert_msg(data_sweep_save(to, &b, &err) == CIM_OK, "%s", err.msg);
    data_sweep_release(&a);
    data_sweep_release(&b);
}

static int first_seed_not_point_2(const struct data_sweep_run *run)
{
    return run->seed_index == 0 && run->point != 2;
}

/* The seconds of a stored run, -1 if absent. */
static double run_seconds(const char *path, int point, int seed_index)
{
    struct data_sweep s;
    struct cim_err err = {0};
    ck_assert_msg(data_sweep_load(path, &s, &err) == CIM_OK, "%s", err.msg);
    double t = -1.0;
    for (int i = 0; i < s.n; i++)
        if (s.runs[i].point == point && s.runs[i].seed_index == seed_index)
            t = s.runs[i].seconds;
    data_sweep_release(&s);
    return t;
}

/* mpirun -n 2: the same CSV and runs as one process, also when resuming a
 * store an earlier start left; bad usage gives one line and a non-zero exit. */
START_TEST(test_sweep_mpi)
{
    if (test_mpirun() == NULL) {
        printf("cli-sweep: the MPI case is skipped: %s\n",
               CIM_HAVE_MPI ? "mpirun is not installed (Debian: openmpi-bin)"
                            : "cim is built without MPI (Debian: libopenmpi-dev; meson "
                              "option mpi)");
        return;
    }
    const char *one = test_tmp("mpi1"), *two = test_tmp("mpi2"), *part = test_tmp("mpi3");
    int st = run((const char *[]){"sweep", model(), GRID, "--out", one, NULL});
    ck_assert_msg(st == 0, "sweep: %s", r.err);
    test_run_cim_mpi(&r, 2, (const char *[]){"sweep", model(), GRID_LOUD, "--out", two, NULL});
    ck_assert_msg(r.status == 0, "mpirun: exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "8 runs (0 from an earlier start)") != NULL &&
                  strstr(r.err, "on 2 processes") != NULL, "%s", r.err);
    char a[700], b[700], c[700];
    read_csv(one, csv_a);
    read_csv(two, csv_b);
    ck_assert_str_eq(csv_a, csv_b);
    snprintf(a, sizeof a, "%s.h5", one);
    snprintf(b, sizeof b, "%s.h5", two);
    same_runs(a, b);
    /* resume: seed 0 of points 0, 1, 3 stored; the 5 other runs are spread */
    snprintf(c, sizeof c, "%s.h5", part);
    keep_runs(a, c, first_seed_not_point_2);
    const double kept = run_seconds(c, 3, 0);
    test_run_cim_mpi(&r, 2, (const char *[]){"sweep", model(), GRID_LOUD, "--out", part, NULL});
    ck_assert_msg(r.status == 0, "mpirun: exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "8 runs (3 from an earlier start)") != NULL, "%s", r.err);
    ck_assert(run_seconds(c, 3, 0) == kept); /* kept, not run again */
    same_runs(a, c);
    read_csv(part, csv_b);
    ck_assert_str_eq(csv_a, csv_b);
    /* bad usage: one line of cim (mpirun adds its own notice), no hang */
    test_run_cim_mpi(&r, 2, (const char *[]){"sweep", model(), "--vary", "adc-bits=4,99",
                                             "--out", test_tmp("never"), NULL});
    ck_assert_msg(r.status != 0, "exit 0: %s", r.err);
    const char *first = strstr(r.err, "cim sweep: --adc-bits");
    ck_assert_msg(first != NULL && strstr(first + 1, "cim sweep:") == NULL, "%s", r.err);
    ck_assert(!test_exists(test_tmp("never.h5")));
}
END_TEST

/* The figure's text, each element's on a line of its own (PLplot's SVG writes
 * every character as &#xNN;). */
static void svg_text(const char *path, char *out)
{
    static char raw[1 << 20];
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s is missing", path);
    size_t n = fread(raw, 1, sizeof raw - 1, f);
    fclose(f);
    raw[n] = '\0';
    size_t at = 0;
    for (const char *p = raw; *p && at < CLI_RUN_MAX - 1;) {
        unsigned c;
        int len;
        if (sscanf(p, "&#x%x;%n", &c, &len) == 1 && len > 0) {
            out[at++] = c < 128 ? (char)c : '?';
            p += len;
        } else if (*p == '<') { /* a tag: one string per element */
            out[at++] = '\n';
            p += strcspn(p, ">");
            p += *p != '\0';
        } else {
            out[at++] = *p++;
        }
    }
    out[at] = '\0';
}

/* A store of a union of grids: block 0 prog-noise x wbits x read-noise, block 1
 * drift-t x wbits, one seed; accuracy made up. */
static void union_store(const char *path)
{
    struct data_sweep w = {0};
    struct cim_err err = {0};
    w.model = strdup("m.h5");
    w.command = strdup("cim sweep m.h5 --study noise");
    w.varied = strdup("[\"prog-noise\",\"wbits\",\"read-noise\",\"drift-t\"]");
    w.blocks = strdup("[{\"name\":\"\",\"varied\":[\"prog-noise\",\"wbits\",\"read-noise\"]},"
                      "{\"name\":\"drift\",\"varied\":[\"drift-t\",\"wbits\"]}]");
    w.points = 12;
    w.seeds = 1;
    const char *pn[] = {"0", "0.05"}, *wb[] = {"8", "4"}, *rn[] = {"0", "0.02"};
    const char *dt[] = {"3600", "86400"};
    int pt = 0;
    char label[100];
    for (int i = 0; i < 8; i++, pt++) {
        snprintf(label, sizeof label, "prog-noise=%s wbits=%s read-noise=%s", pn[i / 4],
                 wb[i / 2 % 2], rn[i % 2]);
        struct data_sweep_run run = {.point = pt, .images = 100, .correct = 90 - i,
                                   .accuracy = (90 - i) / 100.0, .label = label};
        ck_assert_int_eq(data_sweep_add(&w, &run), CIM_OK);
    }
    for (int i = 0; i < 4; i++, pt++) {
        snprintf(label, sizeof label, "drift-t=%s wbits=%s", dt[i / 2], wb[i % 2]);
        struct data_sweep_run run = {.point = pt, .images = 100, .correct = 80 - i,
                                   .accuracy = (80 - i) / 100.0, .label = label};
        ck_assert_int_eq(data_sweep_add(&w, &run), CIM_OK);
    }
    ck_assert_msg(data_sweep_save(path, &w, &err) == CIM_OK, "%s", err.msg);
    data_sweep_release(&w);
}

/* cim plot --series: one line per value, the other options held at their
 * first value or at --fix; runs of another block are left out. */
START_TEST(test_plot_series)
{
    static char text[CLI_RUN_MAX];
    const char *store = test_tmp("union.h5"), *fig = test_tmp("series.svg");
    union_store(store);
    int st = run((const char *[]){"plot", store, "--x", "prog-noise", "--series", "wbits",
                                  "--out", fig, NULL});
    ck_assert_msg(st == 0, "plot: %s", r.err);
    svg_text(fig, text);
    ck_assert_msg(strstr(text, "m.h5: accuracy vs prog-noise at read-noise=0") != NULL, "%s",
                  text);
    ck_assert(strstr(text, "\nwbits=8") != NULL && strstr(text, "\nwbits=4") != NULL);
    ck_assert(strstr(text, "read-noise=0.02") == NULL && strstr(text, "drift") == NULL);
    st = run((const char *[]){"plot", store, "--x", "prog_noise", "--series", "wbits", "--fix",
                              "read_noise=0.02", "--out", fig, NULL});
    ck_assert_msg(st == 0, "plot: %s", r.err);
    svg_text(fig, text);
    ck_assert(strstr(text, "at read-noise=0.02") != NULL);
    /* without --series: one line per combination of the others */
    st = run((const char *[]){"plot", store, "--x", "prog-noise", "--out", fig, NULL});
    ck_assert_msg(st == 0, "plot: %s", r.err);
    svg_text(fig, text);
    ck_assert(strstr(text, "\nwbits=4 read-noise=0.02") != NULL);
    ck_assert(strstr(text, " at ") == NULL);
    /* the drift block alone, against time */
    st = run((const char *[]){"plot", store, "--x", "drift-t", "--series", "wbits", "--out",
                              fig, NULL});
    ck_assert_msg(st == 0, "plot: %s", r.err);
    svg_text(fig, text);
    ck_assert(strstr(text, "time after programming") != NULL);
    ck_assert(strstr(text, "prog-noise") == NULL && strstr(text, "\nwbits=4") != NULL);
    expect_usage((const char *[]){"plot", store, "--x", "wbits", "--series", "wbits", "--out",
                                  fig, NULL}, "--series wbits");
    expect_usage((const char *[]){"plot", store, "--x", "wbits", "--series", "dac-bits",
                                  "--out", fig, NULL}, "--series dac-bits");
    expect_usage((const char *[]){"plot", store, "--x", "wbits", "--fix", "read-noise",
                                  "--out", fig, NULL}, "NAME=VALUE");
    expect_usage((const char *[]){"plot", store, "--x", "wbits", "--fix", "cell-bits=2",
                                  "--out", fig, NULL}, "--fix cell-bits=2");
    const char *never = test_tmp("never.svg");
    st = run((const char *[]){"plot", store, "--x", "prog-noise", "--fix", "read-noise=0.5",
                              "--out", never, NULL});
    ck_assert_msg(st == 1 && strstr(r.err, "--fix read-noise=0.5") != NULL &&
                  test_count_lines(r.err) == 1, "exit %d: %s", st, r.err);
    ck_assert(!test_exists(never));
}
END_TEST

/* The noise study: its grid and its drift block, one CSV, two figures. */
START_TEST(test_sweep_study_noise)
{
    const char *o = test_tmp("noise");
    int st = run((const char *[]){"sweep", model(), "--study", "noise", "--images", "20",
                                  "--quiet", "--out", o, NULL});
    ck_assert_msg(st == 0, "sweep: %s", r.err);
    read_csv(o, csv_a);
    /* 8 x 2 x 2 points, then 4 x 2 x 2 of drift; a header */
    ck_assert_int_eq(test_count_lines(csv_a), 1 + 32 + 16);
    ck_assert(strncmp(csv_a, "prog-noise,wbits,read-noise,drift-t,drift-comp,seeds,", 53) == 0);
    ck_assert_msg(strstr(csv_a, "\n0.15,4,0.02,0,0,1,20,") != NULL, "%s", csv_a);
    ck_assert_msg(strstr(csv_a, "\n0,4,0,31536000,1,1,20,") != NULL, "%s", csv_a);
    char p[700];
    snprintf(p, sizeof p, "%s-drift.png", o);
    ck_assert_msg(test_exists(p), "%s is missing", p);
    snprintf(p, sizeof p, "%s.png", o);
    ck_assert_msg(test_exists(p), "%s is missing", p);
}
END_TEST

/* Field `col` (0-based) of CSV line `line` as a number. */
static double csv_field(const char *line, int col)
{
    for (int c = 0; c < col && line != NULL; c++) {
        line = strchr(line, ',');
        line = line ? line + 1 : NULL;
    }
    ck_assert_ptr_nonnull(line);
    return strtod(line, NULL);
}

/* Energy in the sweep: the CSV's energy columns (ADC energy grows with the ADC
 * bits at each precision; W4A4 on the same arrays costs less), a non-default
 * energy model stored in each run's configuration, and `cim plot --pareto`:
 * its front, cheapest first, gains accuracy at every step. */
START_TEST(test_sweep_energy_pareto)
{
    static char text[CLI_RUN_MAX];
    const char *o = test_tmp("energy");
    int st = run((const char *[]){"sweep", model(), "--vary", "adc-bits=3,5,7", "--vary",
                                  "wbits=8,4", "--adc-range", "max", "--images", "100",
                                  "--energy-params", "adc_fom_walden=1e-14", "--quiet", "--out",
                                  o, NULL});
    ck_assert_msg(st == 0, "sweep: %s", r.err);
    read_csv(o, csv_a);
    ck_assert_msg(strstr(csv_a, ",energy_nj,adc_nj,array_nj,dac_nj,periph_nj,area_mm2\n") != NULL,
                  "%s", csv_a);
    /* columns: adc-bits, wbits, seeds, images, 6 accuracy columns, energy_nj, adc_nj, ... */
    double adc[3][2], total[3][2];
    const char *line = strchr(csv_a, '\n') + 1;
    for (int i = 0; i < 6; i++, line = strchr(line, '\n') + 1) {
        total[i / 2][i % 2] = csv_field(line, 10);
        adc[i / 2][i % 2] = csv_field(line, 11);
        ck_assert_msg(total[i / 2][i % 2] > adc[i / 2][i % 2] && adc[i / 2][i % 2] > 0, "%s",
                      line);
    }
    for (int w = 0; w < 2; w++)
        ck_assert(adc[0][w] < adc[1][w] && adc[1][w] < adc[2][w]);
    for (int b = 0; b < 3; b++)
        ck_assert(total[b][1] < total[b][0]);
    /* the energy model is part of each run's configuration */
    struct data_sweep sw;
    struct cim_err err = {0};
    char p[700];
    snprintf(p, sizeof p, "%s.h5", o);
    ck_assert_msg(data_sweep_load(p, &sw, &err) == CIM_OK, "%s", err.msg);
    ck_assert_msg(strstr(sw.runs[0].config, "adc_fom_walden=1e-14") != NULL, "%s",
                  sw.runs[0].config);
    data_sweep_release(&sw);
    const char *fig = test_tmp("pareto.svg");
    st = run((const char *[]){"plot", p, "--pareto", "--series", "wbits", "--out", fig, NULL});
    ck_assert_msg(st == 0, "plot --pareto: %s", r.err);
    ck_assert_msg(test_exists(fig), "%s is missing", fig);
    svg_text(fig, text);
    ck_assert(strstr(text, "Pareto front") != NULL && strstr(text, "energy per inference") != NULL);
    /* the printed front: energy up, accuracy up, row after row */
    const char *row = strstr(r.out, "design\n");
    ck_assert_msg(row != NULL, "%s", r.out);
    double e0 = 0, a0 = -1;
    int rows = 0;
    for (row += 7; *row == ' '; row = strchr(row, '\n') + 1, rows++) {
        char *end;
        const double e = strtod(row, &end), a = strtod(end, NULL);
        ck_assert_msg(e > e0 && a > a0, "front not increasing at: %s", row);
        e0 = e;
        a0 = a;
    }
    ck_assert_int_ge(rows, 1);
    expect_usage((const char *[]){"plot", p, "--pareto", "--x", "adc-bits", "--out", fig, NULL},
                 "--pareto");
    expect_usage((const char *[]){"sweep", model(), "--vary", "energy-params=a=1", "--out", o,
                                  NULL}, "energy");
    expect_usage((const char *[]){"sweep", model(), "--vary", "adc-bits=4,5", "--energy-params",
                                  "g_max=0", "--out", o, NULL}, "g_max");
}
END_TEST

static void write_config(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* --config: the file fixes options as in cim infer and the command line wins; a
 * value found wrong after merging names the file and its key when it came from
 * the file (exit 1), the option when it came from the command line, --vary
 * included (exit 2). */
START_TEST(test_sweep_config)
{
    const char *m = model(), *o = test_tmp("cfg-never");
    const char *bad = test_tmp("sweep-bad.json"), *good = test_tmp("sweep-good.json");
    write_config(bad, "{\"array\": \"4x4\", \"adc-range\": \"percentile:0\"}\n");
    write_config(good, "{\"array\": \"64x64\", \"images\": 50, \"calib\": 16, "
                       "\"adc-range\": \"max\", \"prog-noise\": 0.02, \"quiet\": true}\n");
    const struct cli_run *e;
    expect_error((const char *[]){"sweep", m, "--config", bad, "--vary", "adc-bits=4,5", "--out",
                                  o, NULL},
                 1, "sweep-bad.json: \"array\" 4x4: expected ROWSxCOLS, each 8..4096");
    e = expect_error((const char *[]){"sweep", m, "--config", bad, "--array", "8x9000", "--vary",
                                      "adc-bits=4,5", "--out", o, NULL},
                     2, "cim sweep: --array 8x9000: expected ROWSxCOLS");
    ck_assert_msg(strstr(e->err, "json") == NULL, "%s", e->err);
    e = expect_error((const char *[]){"sweep", m, "--config", bad, "--array", "64x64", "--vary",
                                      "adc-bits=4,5", "--out", o, NULL},
                     1, "sweep-bad.json: \"adc-range\" percentile:0");
    /* a varied value overrides the file's */
    e = expect_error((const char *[]){"sweep", m, "--config", good, "--vary", "array=8x8,4x4",
                                      "--out", o, NULL},
                     2, "cim sweep: --array 4x4: expected ROWSxCOLS");
    ck_assert_msg(strstr(e->err, "json") == NULL, "%s", e->err);
    expect_error((const char *[]){"sweep", m, "--config", bad, "--vary", "array=8x8,4x4",
                                  "--out", o, NULL},
                 1, "sweep-bad.json: \"adc-range\" percentile:0");
    ck_assert(!test_exists(test_tmp("cfg-never.h5")) && !test_exists(test_tmp("cfg-never.csv")));

    /* the file's options are those of the command line */
    const char *a = test_tmp("cfg-a"), *b = test_tmp("cfg-b");
    int st = run((const char *[]){"sweep", m, "--config", good, "--vary", "adc-bits=5,6",
                                  "--images", "40", "--out", a, NULL});
    ck_assert_msg(st == 0, "sweep --config: %s", r.err);
    st = run((const char *[]){"sweep", m, "--array", "64x64", "--images", "40", "--calib", "16",
                              "--adc-range", "max", "--prog-noise", "0.02", "--quiet", "--vary",
                              "adc-bits=5,6", "--out", b, NULL});
    ck_assert_msg(st == 0, "sweep: %s", r.err);
    read_csv(a, csv_a);
    read_csv(b, csv_b);
    ck_assert_str_eq(csv_a, csv_b);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *t = tcase_create("sweep");
    tcase_add_test(t, test_sweep_usage);
    tcase_add_test(t, test_sweep_config);
    tcase_add_test(t, test_sweep_store);
    tcase_add_test(t, test_sweep_threads);
    tcase_add_test(t, test_sweep_resume_after_kill);
    tcase_add_test(t, test_sweep_mpi);
    tcase_add_test(t, test_plot_series);
    tcase_add_test(t, test_sweep_study_noise);
    tcase_add_test(t, test_sweep_energy_pareto);
    tcase_set_timeout(t, 600);
    suite_add_tcase(s, t);
    return s;
}

CIM_TEST_MAIN(cli_suite)
