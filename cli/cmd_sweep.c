/*
 * cmd_sweep.c: `cim sweep`, a grid of crossbar configurations times seeds.
 *
 * Each --vary NAME=LIST adds a dimension (cli/sweep_grid.h); every point runs
 * --seeds times with seeds S, S+1, ... (S from --seed). Runs are stored as
 * they finish in PREFIX.h5 (data/sweep_file.h), atomically, so a killed sweep
 * started again with the same arguments skips what is done. At the end
 * PREFIX.csv holds one row per point (mean, standard deviation, min, max and a
 * 95% confidence interval of the accuracy over seeds) and, when cim is built
 * with PLplot, PREFIX.png plots accuracy against the first varied option, one
 * line per combination of the others; a grid of several blocks (the noise
 * study's drift block) adds PREFIX-NAME.png per further block.
 *
 * A point whose configuration draws no random number (no noise, faults or
 * drift spread) runs once; its other seeds repeat that result (seconds 0).
 *
 * Under `mpirun -n K` (cli/mpi_procs.h) process 0 owns the files, messages and
 * progress line: it hands runs out one at a time (each other process holds at
 * most two), runs some itself between looks at the results that arrive, and
 * stores each result as it comes. Every random draw is keyed by the seed and
 * what it draws and the store keeps its rows in order of point and seed, so
 * the files do not depend on which process ran what, nor on the thread count.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/h5_guard.h"
#include "cli/mpi_procs.h"
#include "cli/sweep_grid.h"
#include "cli/sweep_plot.h"
#include "cli/xbar_opts.h"
#include "data/atomic.h"
#include "data/dataset.h"
#include "data/model_file.h"
#include "data/sweep_file.h"
#include "nn/forward.h"
#include "nn/quantize.h"

#define ARGS_MAX 256
#define SWEEP_PATH_MAX 4200

enum { TAG_TASK = 1, TAG_RESULT = 2 };

/* Everything a process of the sweep knows. A task is one run, number
 * point * seeds + seed_index. */
struct sweep {
    struct cli_mpi *mp;
    const char *file, *out, *config_path;
    struct cli_grid g;
    struct cli_xbar_args xa;
    struct cli_run_args ra;
    json_t *cfg_store; /* the --config file's strings, which options borrow */
    struct cli_opt opts[4 + CLI_RUN_OPTS + CLI_XBAR_OPTS]; /* where values came from */
    int seeds, calibrated;
    long tasks;
    int *prec;   /* per point: the model's precision index */
    char *varied, *blocks;
    struct nn_model *m;
    struct data_set test, train;
    struct cli_progress pr;
    struct cim_err err;
    /* process 0 only */
    char h5[SWEEP_PATH_MAX];
    struct data_sweep sw, old;
    char **config; /* per task: the effective configuration, canonical JSON */
    long *fresh, nfresh, resumed;
    double t0;
};

/* A finished run on its way to process 0: this header, then the per-layer
 * statistics (JSON) or, when status is not CIM_OK, the error message. */
struct result_head {
    int64_t task, images, correct, status;
    double seconds;
};

struct result {
    struct result_head h;
    char *text; /* owned */
};

/* Whether a configuration draws random numbers at all (noise, faults, drift
 * exponents); without, every seed gives the same bits and a sweep runs it once. */
static int stochastic(const struct cim_xbar_config *c)
{
    return c->prog_noise > 0.0 || c->read_noise > 0.0 || c->saf0 > 0.0 || c->saf1 > 0.0 ||
           (c->drift_t > 0.0 && c->drift_nu_std > 0.0);
}

static char *str_dup(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    if (d != NULL)
        memcpy(d, s, strlen(s) + 1);
    return d;
}

/* ---- arguments ----------------------------------------------------------------- */

/* The grid: the study's blocks, each extended by the --vary options (or one
 * block of them); every point's configuration checked. CLI_EXIT_OK or a usage
 * error. */
static int make_grid(struct sweep *st, const char *study, const char **specs, int nspec,
                     const struct cli_opt *xopts, int nx, int range_given)
{
    if (study != NULL &&
        cli_grid_study(&st->g, study, xopts, nx, &st->xa, range_given) != 0)
        return CLI_EXIT_USAGE;
    const int nb = st->g.nb > 0 ? st->g.nb : 1;
    for (int k = 0; k < nb; k++)
        for (int i = 0; i < nspec; i++)
            if (cli_grid_vary(&st->g, k, NULL, specs[i], xopts, nx) != 0)
                return CLI_EXIT_USAGE;
    cli_grid_done(&st->g);
    /* points first: up to 256^6 of them times 100,000 seeds would overflow */
    if (st->g.points > 1000000 || st->g.points * st->seeds > 1000000)
        return cli_usage_error("sweep", "%ld points x %d seeds: more than a million runs",
                               st->g.points, st->seeds);
    st->tasks = st->g.points * st->seeds;
    for (long pt = 0; pt < st->g.points; pt++) {
        struct cim_xbar_config cfg;
        struct cli_xbar_args pa;
        const int rc = cli_grid_config(&st->g, &st->xa, pt, st->xa.seed, &cfg, &pa);
        if (rc != CLI_EXIT_OK)
            return rc;
        st->calibrated |= cfg.adc_range == CIM_ADC_RANGE_MAX ||
                          cfg.adc_range == CIM_ADC_RANGE_PERCENTILE;
    }
    return CLI_EXIT_OK;
}

/* Parse the command line (and its --config file) into st: CLI_EXIT_OK, -1 after
 * --help, a usage error, or CLI_EXIT_FAIL: with st->err set when an output
 * cannot be written, else after a message about the configuration file. Every
 * process parses the same arguments to the same end. */
static int parse(struct sweep *st, int argc, char **argv)
{
    const char *study = NULL;
    st->seeds = 1;
    cli_xbar_args_default(&st->xa);
    struct cli_opt *opts = st->opts;
    const struct cli_opt fixed[] = {
        {"--config", CLI_OPT_STRING, &st->config_path, "FILE.json",
         "fixed options as a JSON object {\"adc-bits\": 6, ...}, as cim infer takes them; the "
         "command line wins", 0, 0, NULL, 0},
        {"--out", CLI_OPT_STRING, &st->out, "PREFIX", "write PREFIX.h5, PREFIX.csv (and "
         "PREFIX.png)", 0, 0, NULL, 0},
        {"--seeds", CLI_OPT_INT, &st->seeds, "K", "repetitions of every point, seeds S..S+K-1 "
         "(default 1)", 1, 100000, NULL, 0},
        {"--study", CLI_OPT_CHOICE, &study, NULL, "a named grid: adc (ADC bits 2..10 x W8/W4 x "
         "cell bits 1,2,4) or noise (programming noise 0..0.15 x W8/W4 x read noise 0, 0.02; "
         "and drift after 1 hour, 1 day, 30 days, 1 year x W8/W4 x with and without global "
         "compensation, drawn in PREFIX-drift.png)", 0, 0, "adc|noise", 0},
    };
    memcpy(opts, fixed, sizeof fixed);
    const int nfixed = 4 + cli_run_opts(&st->ra, opts + 4);
    const int nopts = nfixed + cli_xbar_opts(&st->xa, opts + nfixed);
    const struct cli_usage u = {
        "sweep", "FILE.h5 --vary NAME=LIST [--vary ...] [--seeds K] [OPTIONS] --out PREFIX",
        "Run the quantized model in FILE.h5 on the crossbar model for every point of a grid "
        "of options (NAME any crossbar option of cim infer, LIST a,b,c or lo:hi[:step]) and "
        "--seeds repetitions; store every run in PREFIX.h5 as it finishes (a killed sweep "
        "resumes), then PREFIX.csv (accuracy mean, sd, min, max, 95% CI per point) and "
        "PREFIX.png. Other crossbar options fix the rest of the configuration. Under "
        "`mpirun -n K cim sweep ...` K processes share the runs, with the same results."};
    const char *specs[CLI_GRID_VARY_MAX];
    char *args[ARGS_MAX];
    int nspec, nargs, npos;
    int rc = cli_opts_take("sweep", "--vary", "NAME=LIST", argc, argv, specs, CLI_GRID_VARY_MAX,
                           &nspec, args, ARGS_MAX, &nargs);
    if (rc == CLI_EXIT_OK)
        rc = cli_opts_parse_config(&u, nargs, args, opts, nopts, &st->file, 1, &npos,
                                   &st->config_path, &st->cfg_store);
    /* a value found wrong after merging names the file it came from */
    st->xa.config = st->config_path;
    st->xa.opts = opts + nfixed;
    st->xa.nopts = nopts - nfixed;
    if (rc != CLI_EXIT_OK)
        return rc;
    if (npos != 1)
        return cli_usage_error("sweep", "expected one model file (cim sweep FILE.h5 ...)");
    if (st->out == NULL)
        return cli_usage_error("sweep", "--out PREFIX is required");
    if (strlen(st->out) > SWEEP_PATH_MAX - 64)
        return cli_usage_error("sweep", "--out: the prefix is too long");
    if (nspec == 0 && study == NULL)
        return cli_usage_error("sweep", "nothing to sweep: give --vary NAME=LIST or --study");
    struct cim_energy_config e;
    rc = cli_energy_config(&st->xa, "sweep", &e);
    if (rc != CLI_EXIT_OK)
        return rc;
    /* fail now, not after the first run, when an output cannot be written; and
     * remove what killed earlier runs left under temporary names */
    static const char *const ext[] = {".h5", ".csv", ".png", "-drift.png"};
    for (int k = 0; k < 4; k++) {
        char path[SWEEP_PATH_MAX];
        struct data_atomic probe;
        snprintf(path, sizeof path, "%s%s", st->out, ext[k]);
        if (data_atomic_begin(&probe, path, &st->err) != CIM_OK)
            return CLI_EXIT_FAIL;
        data_atomic_clean(path);
    }
    return make_grid(st, study, specs, nspec, opts + nfixed, nopts - nfixed,
                     cli_opt_find(opts, nopts, "--adc-range")->seen);
}

/* ---- loading ------------------------------------------------------------------- */

/* Model, data and every point's precision: CLI_EXIT_OK, CLI_EXIT_FAIL with st->err
 * set, or CLI_EXIT_USAGE after a message. */
static int load(struct sweep *st)
{
    st->varied = cli_grid_varied_json(&st->g);
    st->blocks = cli_grid_blocks_json(&st->g);
    st->prec = malloc((size_t)st->g.points * sizeof *st->prec);
    if (st->varied == NULL || st->blocks == NULL || st->prec == NULL)
        return cim_err_set(&st->err, CIM_ENOMEM, "out of memory"), CLI_EXIT_FAIL;
    st->m = cli_model_load(st->file, &st->err);
    if (st->m == NULL ||
        data_set_load(st->ra.data, DATA_SPLIT_TEST, &st->test, &st->err) != CIM_OK ||
        cli_data_check(st->m, st->file, &st->test, data_dir_resolve(st->ra.data), &st->err) !=
            CIM_OK ||
        (st->calibrated &&
         data_set_load(st->ra.data, DATA_SPLIT_TRAIN, &st->train, &st->err) != CIM_OK))
        return CLI_EXIT_FAIL;
    if (st->m->quant.n_prec == 0) {
        cim_err_set(&st->err, CIM_EINVAL, "%s: the crossbar runs a quantized model; this file "
                    "is FP32", st->file);
        return CLI_EXIT_FAIL;
    }
    for (long pt = 0; pt < st->g.points; pt++) {
        struct cim_xbar_config cfg;
        struct cli_xbar_args xr;
        cli_grid_config(&st->g, &st->xa, pt, st->xa.seed, &cfg, &xr);
        /* a varied precision comes from the command line, whatever the file said */
        long local;
        const struct cli_grid_block *b = cli_grid_block_of(&st->g, pt, &local);
        for (int i = 0; i < b->nv; i++)
            if (strcmp(b->v[i].name, "wbits") == 0 || strcmp(b->v[i].name, "abits") == 0)
                xr.config = NULL;
        st->prec[pt] = cli_xbar_precision(st->m, &xr, "sweep", st->file);
        if (st->prec[pt] < 0)
            return -st->prec[pt];
    }
    return CLI_EXIT_OK;
}

/* ---- storing (process 0) -------------------------------------------------------- */

static int save(struct sweep *st)
{
    return data_sweep_save(st->h5, &st->sw, &st->err) == CIM_OK ? 0 : -1;
}

/* Whether task t's point draws random numbers (its configuration says). */
static int task_stochastic(const struct sweep *st, long t)
{
    struct cim_xbar_config cfg;
    struct cli_xbar_args xr;
    cli_grid_config(&st->g, &st->xa, t / st->seeds, st->xa.seed, &cfg, &xr);
    return stochastic(&cfg);
}

/* The stored run of task t, or NULL. */
static const struct data_sweep_run *stored(const struct data_sweep *s, long t, int seeds)
{
    for (int k = 0; k < s->n; k++)
        if (s->runs[k].point == t / seeds && s->runs[k].seed_index == t % seeds)
            return &s->runs[k];
    return NULL;
}

/* After seed 0 of a point without random draws: its other seeds repeat it. */
static int copy_seeds(struct sweep *st, long t0)
{
    if (t0 % st->seeds != 0 || st->seeds == 1 || task_stochastic(st, t0))
        return 0;
    for (long t = t0 + 1; t < t0 + st->seeds; t++) {
        if (stored(&st->sw, t, st->seeds) != NULL)
            continue;
        struct data_sweep_run run = *stored(&st->sw, t0, st->seeds);
        run.seed_index = (int)(t % st->seeds);
        run.seed = st->xa.seed + (uint64_t)run.seed_index;
        run.config = st->config[t];
        run.seconds = 0.0;
        if (data_sweep_add(&st->sw, &run) != CIM_OK)
            return cim_err_set(&st->err, CIM_ENOMEM, "out of memory"), -1;
    }
    return 0;
}

/* Store a finished run (or report its failure); 0 or -1 with st->err set. */
static int store(struct sweep *st, const struct result *r, int from)
{
    if (r->h.status != CIM_OK) {
        if (st->mp->size > 1)
            cim_err_set(&st->err, (int)r->h.status, "process %d of %d: %s", from,
                        st->mp->size, r->text);
        else
            cim_err_set(&st->err, (int)r->h.status, "%s", r->text);
        return -1;
    }
    const long t = r->h.task;
    char label[200];
    cli_grid_label(&st->g, t / st->seeds, label, sizeof label);
    const struct data_sweep_run run = {
        .point = (int)(t / st->seeds), .seed_index = (int)(t % st->seeds),
        .seed = st->xa.seed + (uint64_t)(t % st->seeds), .images = (int)r->h.images,
        .correct = r->h.correct, .accuracy = (double)r->h.correct / (double)r->h.images,
        .seconds = r->h.seconds, .label = label, .config = st->config[t], .layers = r->text};
    if (data_sweep_add(&st->sw, &run) != CIM_OK || copy_seeds(st, t) != 0)
        return cim_err_set(&st->err, CIM_ENOMEM, "out of memory"), -1;
    return save(st);
}

/* The runs to do: every task's configuration, the runs an earlier start of the
 * same sweep stored (kept), and the rest in st->fresh. 0 or -1 with st->err. */
static int plan(struct sweep *st)
{
    snprintf(st->h5, sizeof st->h5, "%s.h5", st->out);
    struct data_sweep *sw = &st->sw, *old = &st->old;
    sw->model = str_dup(st->file);
    char cmdline[4096];
    cli_command_line(cli_argc, cli_argv, cmdline, sizeof cmdline);
    sw->command = str_dup(cmdline);
    sw->varied = str_dup(st->varied);
    sw->blocks = str_dup(st->blocks);
    sw->points = (int)st->g.points;
    sw->seeds = st->seeds;
    st->config = calloc((size_t)st->tasks, sizeof *st->config);
    st->fresh = malloc((size_t)st->tasks * sizeof *st->fresh);
    if (!sw->model || !sw->command || !sw->varied || !sw->blocks || !st->config || !st->fresh)
        return cim_err_set(&st->err, CIM_ENOMEM, "out of memory"), -1;
    FILE *probe = fopen(st->h5, "rb");
    if (probe != NULL) {
        fclose(probe);
        if (cli_sweep_load(st->h5, old, &st->err) != CIM_OK)
            return -1;
        if (strcmp(old->model, sw->model) != 0 || strcmp(old->varied, sw->varied) != 0 ||
            strcmp(old->blocks, sw->blocks) != 0)
            return cim_err_set(&st->err, CIM_EINVAL, "%s: holds a sweep of %s over %s, not this "
                               "one; choose another --out or remove it", st->h5, old->model,
                               old->varied), -1;
    }
    for (long t = 0; t < st->tasks; t++) {
        struct cim_xbar_config cfg;
        struct cli_xbar_args xr;
        const long pt = t / st->seeds;
        cli_grid_config(&st->g, &st->xa, pt, st->xa.seed + (uint64_t)(t % st->seeds), &cfg, &xr);
        json_t *cj = cli_xbar_config_json(&cfg, st->m->quant.wbits[st->prec[pt]],
                                          st->m->quant.abits[st->prec[pt]], xr.calib);
        /* the energy model, when not the default, is part of a run's configuration */
        if (xr.energy_params != NULL) {
            struct cim_energy_config e;
            cli_energy_config(&xr, "sweep", &e);
            json_object_set_new(cj, "energy-params", cli_energy_params_json(&e));
        }
        st->config[t] = json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(cj);
        if (st->config[t] == NULL)
            return cim_err_set(&st->err, CIM_ENOMEM, "out of memory"), -1;
    }
    const int n_images = st->ra.images > 0 && st->ra.images < st->test.n ? st->ra.images
                                                                         : st->test.n;
    for (long t = 0; t < st->tasks; t++) {
        if (stored(sw, t, st->seeds) != NULL) /* a copy of its seed 0 */
            continue;
        const struct data_sweep_run *prev = stored(old, t, st->seeds);
        if (prev != NULL && strcmp(prev->config, st->config[t]) == 0 && prev->images == n_images) {
            if (data_sweep_add(sw, prev) != CIM_OK || copy_seeds(st, t) != 0)
                return cim_err_set(&st->err, CIM_ENOMEM, "out of memory"), -1;
            st->resumed++;
        } else if (t % st->seeds == 0 || task_stochastic(st, t)) {
            st->fresh[st->nfresh++] = t;
        }
    }
    return 0;
}

/* ---- running ------------------------------------------------------------------- */

/* Run task t on this process into *r (status and message on failure). */
static void run_task(struct sweep *st, long t, struct result *r)
{
    const long pt = t / st->seeds;
    const uint64_t seed = st->xa.seed + (uint64_t)(t % st->seeds);
    struct cim_xbar_config cfg;
    struct cli_xbar_args xr;
    cli_grid_config(&st->g, &st->xa, pt, seed, &cfg, &xr);
    char label[200], what[320];
    cli_grid_label(&st->g, pt, label, sizeof label);
    const double el = cli_now() - st->t0;
    const long done = st->sw.n - st->resumed;
    snprintf(what, sizeof what, "sweep %d/%ld (%s, seed %llu), %.0f s, ~%.0f s left",
             st->sw.n + 1, st->tasks, label, (unsigned long long)seed, el,
             done > 0 ? el / done * (double)(st->tasks - st->sw.n) : 0.0);
    struct cli_infer_out o;
    struct cim_err err = {0};
    struct cim_energy_config ecfg;
    cli_energy_config(&xr, "sweep", &ecfg); /* checked when parsed */
    int rc = cli_infer_run(st->m, st->prec[pt], &cfg, &ecfg, &st->test, &st->train, st->ra.images,
                           xr.calib, st->ra.batch, 0, &st->pr, what, &o, &err);
    r->h = (struct result_head){t, 0, 0, rc, 0.0};
    if (rc == CIM_OK) {
        r->h.images = o.images;
        r->h.correct = o.correct;
        r->h.seconds = o.seconds;
        r->text = json_dumps(o.layers, JSON_COMPACT);
        json_decref(o.layers);
    } else {
        r->text = str_dup(err.msg[0] ? err.msg : "out of memory");
    }
    if (r->text == NULL) {
        r->h.status = CIM_ENOMEM;
        r->text = str_dup("out of memory");
    }
}

static void send_task(const struct sweep *st, int to, int64_t t)
{
    cli_mpi_send(st->mp, to, TAG_TASK, &t, sizeof t);
}

/* Receive a result from process `from` (len bytes waiting) into *r. */
static void recv_result(const struct sweep *st, int from, size_t len, struct result *r)
{
    char *buf = malloc(len + 1);
    if (buf == NULL) {
        fprintf(stderr, "cim: out of memory\n");
        exit(CLI_EXIT_FAIL);
    }
    cli_mpi_recv(st->mp, from, TAG_RESULT, buf, len);
    buf[len] = '\0';
    assert(len >= sizeof r->h); /* work() sends at least the header */
    memcpy(&r->h, buf, sizeof r->h);
    memmove(buf, buf + sizeof r->h, len - sizeof r->h + 1);
    r->text = buf;
}

/* Process 0: hand the fresh runs out (at most two queued per process), run
 * some here, store every result as it arrives. When a run fails, nothing new
 * starts; the runs under way are received (a sender must not be left waiting)
 * and every process is told to stop. 0 or -1 with st->err set. */
static int coordinate(struct sweep *st)
{
    const int size = st->mp->size;
    long next = 0, pending = 0; /* pending: runs handed out, result not yet here */
    int failed = 0;
    for (int d = 0; d < 2; d++)
        for (int w = 1; w < size && next < st->nfresh; w++, pending++)
            send_task(st, w, st->fresh[next++]);
    for (;;) {
        int from;
        size_t len;
        while (pending > 0 && cli_mpi_poll(st->mp, -1, TAG_RESULT, &from, &len)) {
            struct result r;
            recv_result(st, from, len, &r);
            pending--;
            failed = failed || store(st, &r, from) != 0;
            free(r.text);
            if (!failed && next < st->nfresh) {
                send_task(st, from, st->fresh[next++]);
                pending++;
            }
        }
        if (!failed && next < st->nfresh) {
            struct result r;
            run_task(st, st->fresh[next++], &r);
            failed = store(st, &r, 0) != 0;
            free(r.text);
        } else if (pending > 0) {
            cli_mpi_wait(st->mp, -1, TAG_RESULT, &from, &len);
        } else {
            break;
        }
    }
    const int64_t stop = failed ? -1 - CLI_EXIT_FAIL : -1 - CLI_EXIT_OK;
    for (int w = 1; w < size; w++)
        send_task(st, w, stop);
    return failed ? -1 : 0;
}

/* Processes > 0: run what process 0 hands out until it says stop; the exit
 * status it sends. */
static int work(struct sweep *st)
{
    for (;;) {
        int from;
        size_t len;
        int64_t t;
        cli_mpi_wait(st->mp, 0, TAG_TASK, &from, &len);
        cli_mpi_recv(st->mp, 0, TAG_TASK, &t, sizeof t);
        if (t < 0)
            return (int)(-1 - t);
        struct result r;
        run_task(st, (long)t, &r);
        const size_t n = strlen(r.text) + 1;
        char *buf = malloc(sizeof r.h + n);
        if (buf == NULL) {
            r.h.status = CIM_ENOMEM;
            cli_mpi_send(st->mp, 0, TAG_RESULT, &r.h, sizeof r.h);
        } else {
            memcpy(buf, &r.h, sizeof r.h);
            memcpy(buf + sizeof r.h, r.text, n);
            cli_mpi_send(st->mp, 0, TAG_RESULT, buf, sizeof r.h + n);
        }
        free(buf);
        free(r.text);
    }
}

/* ---- results (process 0) --------------------------------------------------------- */

/* The figures: PREFIX.png for the first block, PREFIX-NAME.png for the others,
 * each against its block's first varied option. 0, -1 with st->err, or 1 when cim
 * has no PLplot (said once on stderr unless --quiet). */
static int figures(struct sweep *st, char *list, size_t size)
{
    const char *base = strrchr(st->file, '/');
    for (int k = 0; k < st->g.nb; k++) {
        const struct cli_grid_block *b = &st->g.b[k];
        char png[SWEEP_PATH_MAX], title[300];
        snprintf(png, sizeof png, "%s%s%s.png", st->out, b->name[0] ? "-" : "", b->name);
        snprintf(title, sizeof title, "%s (%s): accuracy vs %s", st->m->arch,
                 base ? base + 1 : st->file, b->v[0].name);
        const struct cli_sweep_select sel = {.first = b->first, .last = b->first + b->points};
        if (cli_sweep_plot(png, title, &st->sw, b->v[0].name, &sel, &st->err) != CIM_OK) {
            if (st->err.code != CIM_EUNSUPPORTED)
                return -1;
            /* built without PLplot: the data files are complete, say what is missing */
            if (!st->ra.quiet)
                fprintf(stderr, "cim: %s\n", st->err.msg);
            st->err = (struct cim_err){0};
            return 1;
        }
        const size_t at = strlen(list);
        snprintf(list + at, size - at, ", %s", png);
    }
    return 0;
}

static int finish(struct sweep *st)
{
    char csv[SWEEP_PATH_MAX], list[4 * SWEEP_PATH_MAX];
    snprintf(csv, sizeof csv, "%s.csv", st->out);
    cli_progress_clear(&st->pr);
    if (save(st) != 0 || cli_grid_write_csv(csv, &st->sw, &st->g, &st->err) != CIM_OK)
        return -1;
    snprintf(list, sizeof list, "%s, %s", st->h5, csv);
    if (figures(st, list, sizeof list) < 0)
        return -1;
    if (!st->ra.quiet) {
        char procs[40] = "";
        if (st->mp->size > 1)
            snprintf(procs, sizeof procs, " on %d processes", st->mp->size);
        fprintf(stderr, "sweep: %ld runs (%ld from an earlier start) in %.0f s%s: %s\n",
                st->tasks, st->resumed, cli_now() - st->t0, procs, list);
    }
    return 0;
}

/* ---- the command --------------------------------------------------------------- */

static void release(struct sweep *st)
{
    for (long t = 0; st->config != NULL && t < st->tasks; t++)
        free(st->config[t]);
    free(st->config);
    free(st->fresh);
    free(st->prec);
    free(st->varied);
    free(st->blocks);
    data_sweep_release(&st->sw);
    data_sweep_release(&st->old);
    nn_model_free(st->m);
    data_set_release(&st->test);
    data_set_release(&st->train);
    cli_grid_free(&st->g);
    json_decref(st->cfg_store);
}

/* The threads of each process: --threads, or the cores shared among the
 * processes on this machine (each process would otherwise take them all). */
static void threads(const struct sweep *st)
{
    if (st->ra.threads > 0 || st->mp->local_size <= 1) {
        cli_threads_set(st->ra.threads);
        return;
    }
    cli_threads_set(0);
    const int n = nn_threads_get() / st->mp->local_size;
    cli_threads_set(n > 0 ? n : 1);
}

static int sweep(struct sweep *st, int argc, char **argv)
{
    int rc = parse(st, argc, argv);
    if (rc == CLI_EXIT_FAIL && st->err.code != CIM_OK) /* an output that cannot be written */
        return cli_fail(&st->err);
    if (rc != CLI_EXIT_OK) /* the same on every process */
        return rc < 0 ? CLI_EXIT_OK : rc;
    threads(st);
    cli_progress_init(&st->pr, st->ra.quiet || st->mp->rank > 0);
    rc = load(st);
    if (rc == CLI_EXIT_OK && st->mp->rank == 0 && plan(st) != 0)
        rc = CLI_EXIT_FAIL;
    const int mine = rc;
    rc = cli_mpi_agree(st->mp, rc, st->err.msg);
    cli_mpi_mute(st->mp, 0);
    if (rc != CLI_EXIT_OK) /* a file's fault in st->err, or already said */
        return mine == CLI_EXIT_FAIL && st->err.code != CIM_OK && st->mp->rank == 0
                   ? cli_fail(&st->err)
                   : rc;
    st->t0 = cli_now();
    if (st->mp->rank > 0)
        return work(st);
    if (coordinate(st) != 0 || finish(st) != 0) {
        cli_progress_clear(&st->pr);
        return cli_fail(&st->err);
    }
    return CLI_EXIT_OK;
}

int cmd_sweep(int argc, char **argv)
{
    struct cli_mpi mp;
    int rc = cli_mpi_start(&mp, "sweep");
    if (rc != CLI_EXIT_OK)
        return rc;
    cli_mpi_mute(&mp, 1);
    struct sweep *st = calloc(1, sizeof *st);
    if (st == NULL) {
        fprintf(stderr, "cim: out of memory\n");
        return cli_mpi_end(&mp, CLI_EXIT_FAIL);
    }
    st->mp = &mp;
    rc = sweep(st, argc, argv);
    release(st);
    free(st);
    return cli_mpi_end(&mp, rc);
}
