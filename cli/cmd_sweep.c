/*
 * cmd_sweep.c: `cim sweep`, a grid of crossbar configurations times seeds.
 *
 * Each --vary NAME=LIST adds a dimension (NAME any `cim infer` crossbar option,
 * "adc-bits" or "adc_bits"; LIST "a,b,c" or "lo:hi[:step]"); every point of the
 * product runs --seeds times with seeds S, S+1, ... (S from --seed). Runs are
 * stored as they finish in PREFIX.h5 (data/sweep_file.h), atomically, so a
 * killed sweep started again with the same arguments skips what is done. At
 * the end PREFIX.csv holds one row per point (mean, standard deviation, min,
 * max and a 95% confidence interval of the accuracy over seeds) and, when cim
 * is built with PLplot, PREFIX.png plots accuracy against the first varied
 * option, one line per combination of the others.
 *
 * Named studies (--study) are the standard grids: `adc` (ADC bits 2..10 x
 * W8A8/W4A4 x cell bits 1, 2, 4, calibrated max ranges unless --adc-range says
 * otherwise) and `noise` (programming noise 0..0.15 of Gmax x W8A8/W4A4 x read
 * noise 0 and 0.02).
 *
 * A point whose configuration draws no random number (no noise, faults or
 * drift spread) runs once; its other seeds repeat that result (seconds 0).
 *
 * Points run one after another, each on all threads (the crossbar backend
 * cuts its images into fixed chunks), so results do not depend on the thread
 * count: every draw is keyed by the seed and what it draws.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/sweep_plot.h"
#include "cli/xbar_opts.h"
#include "data/atomic.h"
#include "data/dataset.h"
#include "data/model_file.h"
#include "data/sweep_file.h"
#include "nn/quantize.h"

#define VARY_MAX 6
#define VALUES_MAX 256
#define ARGS_MAX 256

/* One varied option: its name (as the option table spells it) and values. */
struct vary {
    char name[40];
    int n;
    char *values[VALUES_MAX];
};

static void vary_free(struct vary *v, int n)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < v[i].n; k++)
            free(v[i].values[k]);
}

static char *str_dup(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    if (d != NULL)
        memcpy(d, s, strlen(s) + 1);
    return d;
}

/* "NAME=LIST" into *v; 0, or -1 after a usage message. The name must be one of
 * the crossbar options (not --seed: repetitions come from --seeds). */
static int vary_parse(const char *spec, const struct cli_opt *xopts, int nx, struct vary *v)
{
    const char *eq = strchr(spec, '=');
    if (eq == NULL || eq == spec || eq[1] == '\0' || (size_t)(eq - spec) >= sizeof v->name - 2)
        return cli_usage_error("sweep", "--vary '%s': expected NAME=LIST, e.g. adc-bits=3:8 or "
                               "prog-noise=0,0.02,0.05", spec), -1;
    char opt[40] = "--";
    memcpy(opt + 2, spec, (size_t)(eq - spec));
    opt[2 + (eq - spec)] = '\0';
    for (char *c = opt + 2; *c; c++)
        *c = *c == '_' ? '-' : *c;
    const struct cli_opt *o = cli_opt_find(xopts, nx, opt);
    if (o == NULL || strcmp(opt, "--seed") == 0)
        return cli_usage_error("sweep", "--vary '%s': %s is not a crossbar option of cim infer%s",
                               spec, opt, strcmp(opt, "--seed") == 0 ? " (use --seeds)" : ""),
               -1;
    snprintf(v->name, sizeof v->name, "%s", opt + 2);
    v->n = 0;
    const char *list = eq + 1;
    double lo, hi, step = 1.0;
    char tail;
    int k = sscanf(list, "%lf:%lf%c", &lo, &hi, &tail);
    if (strchr(list, ':') != NULL && strchr(list, ',') == NULL && k >= 2 &&
        (k == 2 || (tail == ':' && sscanf(strchr(strchr(list, ':') + 1, ':') + 1, "%lf%c", &step,
                                          &tail) == 1))) {
        if (!(step > 0) || !(hi >= lo) || (hi - lo) / step > VALUES_MAX - 1)
            return cli_usage_error("sweep", "--vary '%s': expected lo:hi[:step] with lo <= hi, "
                                   "step > 0 and at most %d values", spec, VALUES_MAX), -1;
        for (int i = 0; lo + i * step <= hi + 1e-9 * fabs(step); i++) {
            char buf[32];
            snprintf(buf, sizeof buf, "%.10g", lo + i * step);
            if ((v->values[v->n++] = str_dup(buf)) == NULL)
                return -1;
        }
        return 0;
    }
    for (const char *p = list; *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == 0 || len >= 64 || v->n == VALUES_MAX)
            return cli_usage_error("sweep", "--vary '%s': empty or overlong value, or more than %d",
                                   spec, VALUES_MAX), -1;
        char *val = malloc(len + 1);
        if (val == NULL)
            return -1;
        memcpy(val, p, len);
        val[len] = '\0';
        v->values[v->n++] = val;
        p += len + (c ? 1 : 0);
    }
    return 0;
}

/* The configuration and precision of point `pt` and seed s: the base options,
 * then the point's values through the same option table. CLI_EXIT_OK or a usage
 * error naming the value. */
static int point_config(const struct cli_xbar_args *base, const struct vary *v, int nv, int pt,
                        uint64_t seed, struct cim_xbar_config *cfg, struct cli_xbar_args *out)
{
    *out = *base;
    struct cli_opt table[CLI_XBAR_OPTS];
    const int n = cli_xbar_opts(out, table);
    const struct cli_usage u = {"sweep", "", ""};
    char buf[VARY_MAX][128];
    char *argv[VARY_MAX + 1];
    int argc = 0, rest = pt;
    argv[argc++] = "sweep";
    for (int i = nv - 1; i >= 0; i--) { /* the first varied option changes slowest */
        const char *val = v[i].values[rest % v[i].n];
        rest /= v[i].n;
        char opt[40];
        snprintf(opt, sizeof opt, "--%s", v[i].name);
        const struct cli_opt *oo = cli_opt_find(table, n, opt);
        if (oo->kind == CLI_OPT_FLAG) { /* 0/1, off/on, false/true */
            const int on = strcmp(val, "1") == 0 || strcmp(val, "on") == 0 ||
                           strcmp(val, "true") == 0;
            if (!on && strcmp(val, "0") != 0 && strcmp(val, "off") != 0 &&
                strcmp(val, "false") != 0)
                return cli_usage_error("sweep", "--vary %s: '%s' is not 0 or 1", v[i].name, val);
            *(int *)oo->dst = on;
            continue;
        }
        snprintf(buf[i], sizeof buf[i], "%s=%s", opt, val);
        argv[argc++] = buf[i];
    }
    out->seed = seed;
    const char *pos[1];
    int npos;
    int rc = cli_opts_parse(&u, argc, argv, table, n, pos, 0, &npos);
    if (rc != CLI_EXIT_OK)
        return rc;
    return cli_xbar_config(out, "sweep", cfg);
}

/* Whether a configuration draws random numbers at all (noise, faults, drift
 * exponents); without, every seed gives the same bits and a sweep runs it once. */
static int stochastic(const struct cim_xbar_config *c)
{
    return c->prog_noise > 0.0 || c->read_noise > 0.0 || c->saf0 > 0.0 || c->saf1 > 0.0 ||
           (c->drift_t > 0.0 && c->drift_nu_std > 0.0);
}

/* "adc-bits=6 wbits=8" */
static void point_label(const struct vary *v, int nv, int pt, char *buf, size_t size)
{
    int rest = pt;
    int idx[VARY_MAX];
    for (int i = nv - 1; i >= 0; i--) {
        idx[i] = rest % v[i].n;
        rest /= v[i].n;
    }
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < nv && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%s=%s", i ? " " : "", v[i].name,
                               v[i].values[idx[i]]);
}

/* ---- results ------------------------------------------------------------------- */

/* The accuracy statistics of point pt over its stored seeds. */
static struct cli_accuracy_stats point_stats(const struct data_sweep *s, int pt, double *acc)
{
    int k = 0, images = 0;
    for (int i = 0; i < s->n; i++)
        if (s->runs[i].point == pt) {
            acc[k++] = s->runs[i].accuracy;
            images = s->runs[i].images;
        }
    struct cli_accuracy_stats p = {0};
    if (k > 0)
        p = cli_accuracy_stats(acc, k);
    p.images = images;
    return p;
}

static int write_csv(const char *path, const struct data_sweep *s, const struct vary *v, int nv,
                     int points, struct cim_err *err)
{
    size_t cap = 4096 + (size_t)points * 256, at = 0;
    char *text = malloc(cap);
    if (text == NULL)
        return cim_err_set(err, CIM_ENOMEM, "%s: out of memory", path);
    for (int i = 0; i < nv; i++)
        at += (size_t)snprintf(text + at, cap - at, "%s,", v[i].name);
    at += (size_t)snprintf(text + at, cap - at, "seeds,images,accuracy_mean,accuracy_sd,"
                           "accuracy_min,accuracy_max,ci95_low,ci95_high\n");
    double *acc = malloc(((size_t)s->n + 1) * sizeof *acc);
    if (acc == NULL) {
        free(text);
        return cim_err_set(err, CIM_ENOMEM, "%s: out of memory", path);
    }
    for (int pt = 0; pt < points; pt++) {
        const struct cli_accuracy_stats p = point_stats(s, pt, acc);
        int rest = pt, idx[VARY_MAX];
        for (int i = nv - 1; i >= 0; i--) {
            idx[i] = rest % v[i].n;
            rest /= v[i].n;
        }
        for (int i = 0; i < nv; i++)
            at += (size_t)snprintf(text + at, cap - at, "%s,", v[i].values[idx[i]]);
        at += (size_t)snprintf(text + at, cap - at, "%d,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n",
                               p.seeds, p.images, p.mean, p.sd, p.min, p.max, p.lo, p.hi);
    }
    free(acc);
    int rc = data_text_save(path, text, err);
    free(text);
    return rc;
}

/* ---- the command --------------------------------------------------------------- */

/* The study's grid; 0, or -1 after a usage message. */
static int study_grid(const char *study, const struct cli_opt *xopts, int nx, struct vary *v,
                      int *nv, struct cli_xbar_args *base, int range_given)
{
    const char *specs[4];
    int n = 0;
    if (strcmp(study, "adc") == 0) {
        specs[n++] = "adc-bits=2:10";
        specs[n++] = "wbits=8,4";
        specs[n++] = "cell-bits=1,2,4";
        if (!range_given)
            base->adc_range = "max";
    } else if (strcmp(study, "noise") == 0) {
        specs[n++] = "prog-noise=0,0.01,0.02,0.03,0.05,0.075,0.1,0.15";
        specs[n++] = "wbits=8,4";
        specs[n++] = "read-noise=0,0.02";
    } else {
        return cli_usage_error("sweep", "--study '%s': expected adc or noise", study), -1;
    }
    for (int i = 0; i < n; i++)
        if (*nv == VARY_MAX || vary_parse(specs[i], xopts, nx, &v[(*nv)++]) != 0)
            return -1;
    return 0;
}

int cmd_sweep(int argc, char **argv)
{
    struct cli_xbar_args xa;
    cli_xbar_args_default(&xa);
    const char *out = NULL, *study = NULL;
    int seeds = 1;
    struct cli_run_args ra;
    struct cli_opt opts[3 + CLI_RUN_OPTS + CLI_XBAR_OPTS] = {
        {"--out", CLI_OPT_STRING, &out, "PREFIX", "write PREFIX.h5, PREFIX.csv (and PREFIX.png)",
         0, 0, NULL, 0},
        {"--seeds", CLI_OPT_INT, &seeds, "K", "repetitions of every point, seeds S..S+K-1 "
         "(default 1)", 1, 100000, NULL, 0},
        {"--study", CLI_OPT_CHOICE, &study, NULL, "a named grid: adc (ADC bits 2..10 x W8/W4 x "
         "cell bits 1,2,4) or noise (programming noise 0..0.15 x W8/W4 x read noise 0, 0.02)",
         0, 0, "adc|noise", 0},
    };
    const int nfixed = 3 + cli_run_opts(&ra, opts + 3);
    const int nopts = nfixed + cli_xbar_opts(&xa, opts + nfixed);
    const struct cli_usage u = {
        "sweep", "FILE.h5 --vary NAME=LIST [--vary ...] [--seeds K] [OPTIONS] --out PREFIX",
        "Run the quantized model in FILE.h5 on the crossbar model for every point of a grid "
        "of options (NAME any crossbar option of cim infer, LIST a,b,c or lo:hi[:step]) and "
        "--seeds repetitions; store every run in PREFIX.h5 as it finishes (a killed sweep "
        "resumes), then PREFIX.csv (accuracy mean, sd, min, max, 95% CI per point) and "
        "PREFIX.png. Other crossbar options fix the rest of the configuration."};

    /* --vary may repeat: take it out before the table parses the rest */
    const char *specs[VARY_MAX];
    int nspec = 0;
    char *args[ARGS_MAX];
    int nargs = 0;
    if (argc > ARGS_MAX)
        return cli_usage_error("sweep", "%d arguments; at most %d", argc - 1, ARGS_MAX - 1);
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--vary") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("sweep", "--vary: missing value NAME=LIST");
            if (nspec == VARY_MAX)
                return cli_usage_error("sweep", "--vary: at most %d options", VARY_MAX);
            specs[nspec++] = argv[++i];
        } else if (i > 0 && strncmp(argv[i], "--vary=", 7) == 0) {
            if (nspec == VARY_MAX)
                return cli_usage_error("sweep", "--vary: at most %d options", VARY_MAX);
            specs[nspec++] = argv[i] + 7;
        } else {
            args[nargs++] = argv[i];
        }
    }
    const char *pos[1];
    int npos;
    int rc = cli_opts_parse(&u, nargs, args, opts, nopts, pos, 1, &npos);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (npos != 1)
        return cli_usage_error("sweep", "expected one model file (cim sweep FILE.h5 ...)");
    if (out == NULL)
        return cli_usage_error("sweep", "--out PREFIX is required");
    if (nspec == 0 && study == NULL)
        return cli_usage_error("sweep", "nothing to sweep: give --vary NAME=LIST or --study");
    struct vary vary[VARY_MAX];
    int nv = 0;
    const struct cli_opt *xopts = opts + nfixed;
    const int nx = nopts - nfixed;
    memset(vary, 0, sizeof vary);
    rc = CLI_EXIT_USAGE;
    if (study != NULL &&
        study_grid(study, xopts, nx, vary, &nv, &xa,
                   cli_opt_find(opts, nopts, "--adc-range")->seen) != 0)
        goto usage;
    for (int i = 0; i < nspec; i++) {
        if (nv == VARY_MAX) {
            cli_usage_error("sweep", "--vary: at most %d options in all", VARY_MAX);
            goto usage;
        }
        struct vary *nw = &vary[nv++];
        if (vary_parse(specs[i], xopts, nx, nw) != 0)
            goto usage;
        for (struct vary *k = vary; k < nw; k++)
            if (strcmp(k->name, nw->name) == 0) {
                cli_usage_error("sweep", "--vary %s: given twice", k->name);
                goto usage;
            }
    }
    /* at most 256^6 points and 100,000 seeds: the product needs checking as it grows */
    long points = 1;
    int too_many = 0;
    for (int i = 0; i < nv; i++) {
        points *= vary[i].n;
        too_many |= points > 1000000;
    }
    if (too_many || points * seeds > 1000000) {
        if (too_many)
            cli_usage_error("sweep", "more than a million points x %d seeds: more than a million "
                            "runs", seeds);
        else
            cli_usage_error("sweep", "%ld points x %d seeds: more than a million runs", points,
                            seeds);
        goto usage;
    }
    /* every point's configuration, checked before anything runs */
    struct cim_xbar_config cfg;
    struct cli_xbar_args pa;
    int calibrated = 0;
    for (long pt = 0; pt < points; pt++) {
        if (point_config(&xa, vary, nv, (int)pt, xa.seed, &cfg, &pa) != CLI_EXIT_OK)
            goto usage;
        calibrated |= cfg.adc_range == CIM_ADC_RANGE_MAX ||
                      cfg.adc_range == CIM_ADC_RANGE_PERCENTILE;
    }
    cli_threads_set(ra.threads);
    struct cli_progress pr;
    cli_progress_init(&pr, ra.quiet);

    char h5[4200], csv[4200], png[4200];
    snprintf(h5, sizeof h5, "%s.h5", out);
    snprintf(csv, sizeof csv, "%s.csv", out);
    snprintf(png, sizeof png, "%s.png", out);
    struct cim_err err = {0};
    /* fail now, not after the first run, when an output cannot be written */
    const char *const outputs[3] = {h5, csv, png};
    for (int k = 0; k < 3; k++) {
        struct data_atomic probe;
        if (data_atomic_begin(&probe, outputs[k], &err) != CIM_OK) {
            vary_free(vary, nv);
            return cli_fail(&err);
        }
    }
    struct data_set test = {0}, train = {0};
    struct data_sweep sw = {0}, old = {0};
    json_t *varied = json_array();
    for (int i = 0; i < nv; i++)
        json_array_append_new(varied, json_string(vary[i].name));
    char *varied_s = json_dumps(varied, JSON_COMPACT);
    json_decref(varied);
    char cmdline[4096];
    cli_command_line(cli_argc, cli_argv, cmdline, sizeof cmdline);
    struct nn_model *m = data_model_load(pos[0], &err);
    rc = CLI_EXIT_FAIL;
    if (m == NULL || varied_s == NULL ||
        data_set_load(ra.data, DATA_SPLIT_TEST, &test, &err) != CIM_OK ||
        cli_data_check(m, pos[0], &test, data_dir_resolve(ra.data), &err) != CIM_OK ||
        (calibrated && data_set_load(ra.data, DATA_SPLIT_TRAIN, &train, &err) != CIM_OK))
        goto fail;
    if (m->quant.n_prec == 0) {
        cim_err_set(&err, CIM_EINVAL, "%s: the crossbar runs a quantized model; this file is "
                    "FP32", pos[0]);
        goto fail;
    }
    sw.model = str_dup(pos[0]);
    sw.command = str_dup(cmdline);
    sw.varied = str_dup(varied_s);
    sw.points = (int)points;
    sw.seeds = seeds;
    if (sw.model == NULL || sw.command == NULL || sw.varied == NULL) {
        cim_err_set(&err, CIM_ENOMEM, "out of memory");
        goto fail;
    }
    /* resume: runs of an earlier start of the same sweep */
    FILE *probe = fopen(h5, "rb");
    if (probe != NULL) {
        fclose(probe);
        if (data_sweep_load(h5, &old, &err) != CIM_OK)
            goto fail;
        if (strcmp(old.model, sw.model) != 0 || strcmp(old.varied, sw.varied) != 0) {
            cim_err_set(&err, CIM_EINVAL, "%s: holds a sweep of %s over %s, not this one; choose "
                        "another --out or remove it", h5, old.model, old.varied);
            goto fail;
        }
    }
    const long runs = points * seeds;
    const int n_images = ra.images > 0 && ra.images < test.n ? ra.images : test.n;
    long done = 0, resumed = 0;
    const double t0 = cli_now();
    for (long pt = 0; pt < points; pt++)
        for (int si = 0; si < seeds; si++) {
            struct cli_xbar_args xr;
            const uint64_t seed = xa.seed + (uint64_t)si;
            point_config(&xa, vary, nv, (int)pt, seed, &cfg, &xr);
            const int p = cli_xbar_precision(m, xr.wbits, xr.abits, "sweep", pos[0]);
            if (p < 0) {
                rc = CLI_EXIT_USAGE;
                goto fail_quiet;
            }
            char label[200];
            point_label(vary, nv, (int)pt, label, sizeof label);
            json_t *cj = cli_xbar_config_json(&cfg, m->quant.wbits[p], m->quant.abits[p], xr.calib);
            char *config = json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(cj);
            if (config == NULL) {
                cim_err_set(&err, CIM_ENOMEM, "out of memory");
                goto fail;
            }
            const struct data_sweep_run *prev = NULL;
            for (int k = 0; k < old.n && prev == NULL; k++)
                if (old.runs[k].point == (int)pt && old.runs[k].seed_index == si &&
                    strcmp(old.runs[k].config, config) == 0 &&
                    old.runs[k].images == n_images)
                    prev = &old.runs[k];
            /* a configuration without random draws gives every seed the same result */
            const struct data_sweep_run *same = NULL;
            if (prev == NULL && si > 0 && !stochastic(&cfg))
                for (int k = 0; k < sw.n && same == NULL; k++)
                    if (sw.runs[k].point == (int)pt && sw.runs[k].seed_index == 0)
                        same = &sw.runs[k];
            int arc = CIM_OK;
            if (prev != NULL) {
                arc = data_sweep_add(&sw, prev);
                resumed++;
            } else if (same != NULL) {
                struct data_sweep_run run = *same;
                run.seed_index = si;
                run.seed = seed;
                run.config = config;
                run.seconds = 0.0;
                arc = data_sweep_add(&sw, &run);
                if (arc == CIM_OK)
                    arc = data_sweep_save(h5, &sw, &err);
            } else {
                char what[256];
                const double el = cli_now() - t0;
                const long fresh = done - resumed;
                snprintf(what, sizeof what, "sweep %ld/%ld (%s, seed %llu), %.0f s, ~%.0f s left",
                         done + 1, runs, label, (unsigned long long)seed, el,
                         fresh > 0 ? el / fresh * (runs - done) : 0.0);
                struct cli_infer_out r;
                arc = cli_infer_run(m, p, &cfg, NULL, &test, &train, ra.images, xr.calib, ra.batch,
                                    0, &pr, what, &r, &err);
                if (arc == CIM_OK) {
                    char *layers = json_dumps(r.layers, JSON_COMPACT);
                    struct data_sweep_run run = {
                        .point = (int)pt, .seed_index = si, .seed = seed, .images = r.images,
                        .correct = r.correct, .accuracy = (double)r.correct / r.images,
                        .seconds = r.seconds, .label = label, .config = config,
                        .layers = layers ? layers : "[]"};
                    arc = data_sweep_add(&sw, &run);
                    if (arc == CIM_OK)
                        arc = data_sweep_save(h5, &sw, &err);
                    free(layers);
                    json_decref(r.layers);
                }
            }
            free(config);
            if (arc != CIM_OK) {
                if (err.code == CIM_OK)
                    cim_err_set(&err, arc, "out of memory");
                goto fail;
            }
            done++;
        }
    cli_progress_clear(&pr);
    if (data_sweep_save(h5, &sw, &err) != CIM_OK ||
        write_csv(csv, &sw, vary, nv, (int)points, &err) != CIM_OK)
        goto fail;
    char title[300];
    const char *base = strrchr(pos[0], '/');
    snprintf(title, sizeof title, "%s (%s): accuracy vs %s", m->arch, base ? base + 1 : pos[0],
             vary[0].name);
    int plotted = 1;
    if (cli_sweep_plot(png, title, &sw, vary[0].name, &err) != CIM_OK) {
        if (err.code != CIM_EUNSUPPORTED)
            goto fail;
        /* built without PLplot: the data files are complete, say what is missing */
        if (!ra.quiet)
            fprintf(stderr, "cim: %s\n", err.msg);
        err = (struct cim_err){0};
        plotted = 0;
    }
    if (!ra.quiet)
        fprintf(stderr, "sweep: %ld runs (%ld from an earlier start) in %.0f s: %s, %s%s%s\n",
                runs, resumed, cli_now() - t0, h5, csv, plotted ? ", " : "", plotted ? png : "");
    rc = CLI_EXIT_OK;
fail:
    if (rc != CLI_EXIT_OK)
        rc = cli_fail(&err);
fail_quiet:
    free(varied_s);
    data_sweep_release(&sw);
    data_sweep_release(&old);
    nn_model_free(m);
    data_set_release(&test);
    data_set_release(&train);
    vary_free(vary, nv);
    return rc;
usage:
    vary_free(vary, nv);
    return CLI_EXIT_USAGE;
}
