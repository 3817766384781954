/* sweep_grid.c: a sweep's points and its CSV summary; see sweep_grid.h. */
#include "cli/sweep_grid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/sweep_plot.h"

static char *str_dup(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    if (d != NULL)
        memcpy(d, s, strlen(s) + 1);
    return d;
}

/* ---- parsing ------------------------------------------------------------------- */

/* "lo:hi[:step]" into v's values; 1 when list has that form (0 otherwise), -1
 * after a usage message. */
static int vary_range(const char *spec, const char *list, struct cli_vary *v)
{
    double lo, hi, step = 1.0;
    char tail;
    const int k = sscanf(list, "%lf:%lf%c", &lo, &hi, &tail);
    if (strchr(list, ':') == NULL || strchr(list, ',') != NULL || k < 2 ||
        (k == 3 && (tail != ':' || sscanf(strchr(strchr(list, ':') + 1, ':') + 1, "%lf%c",
                                           &step, &tail) != 1)))
        return 0;
    if (!(step > 0) || !(hi >= lo) || (hi - lo) / step > CLI_GRID_VALUES_MAX - 1)
        return cli_usage_error("sweep", "--vary '%s': expected lo:hi[:step] with lo <= hi, "
                               "step > 0 and at most %d values", spec, CLI_GRID_VALUES_MAX), -1;
    for (int i = 0; lo + i * step <= hi + 1e-9 * fabs(step); i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.10g", lo + i * step);
        if ((v->values[v->n++] = str_dup(buf)) == NULL)
            return -1;
    }
    return 1;
}

/* "a,b,c" into v's values; 0, or -1 after a usage message. */
static int vary_list(const char *spec, const char *list, struct cli_vary *v)
{
    for (const char *p = list; *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == 0 || len >= 64 || v->n == CLI_GRID_VALUES_MAX)
            return cli_usage_error("sweep", "--vary '%s': empty or overlong value, or more than "
                                   "%d", spec, CLI_GRID_VALUES_MAX), -1;
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

int cli_grid_vary(struct cli_grid *g, int block, const char *name, const char *spec,
                  const struct cli_opt *xopts, int nx)
{
    if (block > g->nb || block >= CLI_GRID_BLOCKS_MAX)
        return cli_usage_error("sweep", "at most %d blocks of points", CLI_GRID_BLOCKS_MAX), -1;
    struct cli_grid_block *b = &g->b[block];
    if (block == g->nb) {
        memset(b, 0, sizeof *b);
        snprintf(b->name, sizeof b->name, "%s", name ? name : "");
        g->nb++;
    }
    if (b->nv == CLI_GRID_VARY_MAX)
        return cli_usage_error("sweep", "--vary: at most %d options in all", CLI_GRID_VARY_MAX),
               -1;
    struct cli_vary *v = &b->v[b->nv];
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
    if (strcmp(opt, "--energy-params") == 0)
        return cli_usage_error("sweep", "--vary '%s': the energy model is not swept; give "
                               "--energy-params once (the CSV's energy columns follow it)", spec),
               -1;
    if (o == NULL || strcmp(opt, "--seed") == 0)
        return cli_usage_error("sweep", "--vary '%s': %s is not a crossbar option of cim infer%s",
                               spec, opt, strcmp(opt, "--seed") == 0 ? " (use --seeds)" : ""),
               -1;
    for (int i = 0; i < b->nv; i++)
        if (strcmp(b->v[i].name, opt + 2) == 0)
            return cli_usage_error("sweep", "--vary %s: given twice", opt + 2), -1;
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", opt + 2);
    b->nv++; /* from here on v's values are freed with the grid */
    const int k = vary_range(spec, eq + 1, v);
    return k < 0 ? -1 : k > 0 ? 0 : vary_list(spec, eq + 1, v);
}

/* The standard grids. The noise study's second block follows drift over a
 * year (1 hour, 1 day, 30 days, 365 days after programming, in seconds), with
 * and without the global compensation, on otherwise ideal cells. */
int cli_grid_study(struct cli_grid *g, const char *study, const struct cli_opt *xopts, int nx,
                   struct cli_xbar_args *base, int range_given)
{
    static const struct {
        const char *study;
        int block;
        const char *name, *spec;
    } t[] = {
        {"adc", 0, "", "adc-bits=2:10"},
        {"adc", 0, "", "wbits=8,4"},
        {"adc", 0, "", "cell-bits=1,2,4"},
        {"noise", 0, "", "prog-noise=0,0.01,0.02,0.03,0.05,0.075,0.1,0.15"},
        {"noise", 0, "", "wbits=8,4"},
        {"noise", 0, "", "read-noise=0,0.02"},
        {"noise", 1, "drift", "drift-t=3600,86400,2592000,31536000"},
        {"noise", 1, "drift", "wbits=8,4"},
        {"noise", 1, "drift", "drift-comp=0,1"},
    };
    if (strcmp(study, "adc") != 0 && strcmp(study, "noise") != 0)
        return cli_usage_error("sweep", "--study '%s': expected adc or noise", study), -1;
    if (strcmp(study, "adc") == 0 && !range_given)
        base->adc_range = "max";
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].study, study) == 0 &&
            cli_grid_vary(g, t[i].block, t[i].name, t[i].spec, xopts, nx) != 0)
            return -1;
    return 0;
}

void cli_grid_done(struct cli_grid *g)
{
    g->points = 0;
    for (int k = 0; k < g->nb; k++) {
        struct cli_grid_block *b = &g->b[k];
        b->first = g->points;
        b->points = 1;
        for (int i = 0; i < b->nv; i++)
            b->points *= b->v[i].n;
        g->points += b->points;
    }
}

void cli_grid_free(struct cli_grid *g)
{
    for (int k = 0; k < g->nb; k++)
        for (int i = 0; i < g->b[k].nv; i++)
            for (int j = 0; j < g->b[k].v[i].n; j++)
                free(g->b[k].v[i].values[j]);
    memset(g, 0, sizeof *g);
}

/* ---- points -------------------------------------------------------------------- */

const struct cli_grid_block *cli_grid_block_of(const struct cli_grid *g, long pt, long *local)
{
    int k = 0;
    while (k + 1 < g->nb && pt >= g->b[k + 1].first)
        k++;
    *local = pt - g->b[k].first;
    return &g->b[k];
}

/* The value index of each varied option of point pt's block. */
static const struct cli_grid_block *point_values(const struct cli_grid *g, long pt, int *idx)
{
    long rest;
    const struct cli_grid_block *b = cli_grid_block_of(g, pt, &rest);
    for (int i = b->nv - 1; i >= 0; i--) { /* the first varied option changes slowest */
        idx[i] = (int)(rest % b->v[i].n);
        rest /= b->v[i].n;
    }
    return b;
}

int cli_grid_config(const struct cli_grid *g, const struct cli_xbar_args *base, long pt,
                    uint64_t seed, struct cim_xbar_config *cfg, struct cli_xbar_args *out)
{
    *out = *base;
    struct cli_opt table[CLI_XBAR_OPTS];
    const int n = cli_xbar_opts(out, table);
    const struct cli_usage u = {"sweep", "", ""};
    char buf[CLI_GRID_VARY_MAX][128];
    char *argv[CLI_GRID_VARY_MAX + 1];
    int argc = 0, idx[CLI_GRID_VARY_MAX];
    const struct cli_grid_block *b = point_values(g, pt, idx);
    argv[argc++] = "sweep";
    for (int i = 0; i < b->nv; i++) {
        const char *val = b->v[i].values[idx[i]];
        char opt[48];
        snprintf(opt, sizeof opt, "--%s", b->v[i].name);
        const struct cli_opt *oo = cli_opt_find(table, n, opt);
        if (oo->kind == CLI_OPT_FLAG) { /* 0/1, off/on, false/true */
            const int on = strcmp(val, "1") == 0 || strcmp(val, "on") == 0 ||
                           strcmp(val, "true") == 0;
            if (!on && strcmp(val, "0") != 0 && strcmp(val, "off") != 0 &&
                strcmp(val, "false") != 0)
                return cli_usage_error("sweep", "--vary %s: '%s' is not 0 or 1", b->v[i].name,
                                       val);
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
    /* a varied value comes from the command line (--vary, --study), whatever a
     * configuration file said: a message about it names the option */
    struct cli_opt origin[CLI_XBAR_OPTS];
    if (base->opts != NULL && base->nopts <= CLI_XBAR_OPTS) {
        memcpy(origin, base->opts, (size_t)base->nopts * sizeof *origin);
        for (int i = 0; i < b->nv; i++) {
            char opt[48];
            snprintf(opt, sizeof opt, "--%s", b->v[i].name);
            struct cli_opt *o = (struct cli_opt *)cli_opt_find(origin, base->nopts, opt);
            if (o != NULL)
                o->seen = CLI_SEEN_ARG;
        }
        out->opts = origin;
    }
    rc = cli_xbar_config(out, "sweep", cfg);
    out->opts = base->opts; /* origin ends here */
    return rc;
}

void cli_grid_label(const struct cli_grid *g, long pt, char *buf, size_t size)
{
    int idx[CLI_GRID_VARY_MAX];
    const struct cli_grid_block *b = point_values(g, pt, idx);
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < b->nv && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%s=%s", i ? " " : "", b->v[i].name,
                               b->v[i].values[idx[i]]);
}

/* Every varied name once, in the order of first appearance; their count. */
static int union_names(const struct cli_grid *g, const char **names)
{
    int n = 0;
    for (int k = 0; k < g->nb; k++)
        for (int i = 0; i < g->b[k].nv; i++) {
            int j = 0;
            while (j < n && strcmp(names[j], g->b[k].v[i].name) != 0)
                j++;
            if (j == n)
                names[n++] = g->b[k].v[i].name;
        }
    return n;
}

char *cli_grid_varied_json(const struct cli_grid *g)
{
    const char *names[CLI_GRID_BLOCKS_MAX * CLI_GRID_VARY_MAX];
    const int n = union_names(g, names);
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_string(names[i]));
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return s;
}

char *cli_grid_blocks_json(const struct cli_grid *g)
{
    if (g->nb < 2)
        return str_dup("");
    json_t *a = json_array();
    for (int k = 0; k < g->nb; k++) {
        json_t *v = json_array();
        for (int i = 0; i < g->b[k].nv; i++)
            json_array_append_new(v, json_string(g->b[k].v[i].name));
        json_array_append_new(a, json_pack("{s:s, s:o}", "name", g->b[k].name, "varied", v));
    }
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return s;
}

/* ---- the CSV ------------------------------------------------------------------- */

/* The accuracy statistics of point pt over its stored runs; *config the
 * configuration of one of them (NULL if none); *cost the mean energy per image
 * and area of its runs (NAN when they were stored without). */
static struct cli_accuracy_stats point_stats(const struct data_sweep *s, long pt, double *acc,
                                             const char **config, struct cim_energy_cost *cost)
{
    int k = 0, images = 0, priced = 0;
    *config = NULL;
    struct cim_energy_cost sum = {0};
    for (int i = 0; i < s->n; i++)
        if (s->runs[i].point == pt) {
            acc[k++] = s->runs[i].accuracy;
            images = s->runs[i].images;
            *config = s->runs[i].config;
            struct cim_energy_cost c;
            if (cli_run_energy(s->runs[i].layers, &c)) {
                priced++;
                cim_energy_add(&sum, &c, 1.0, 1.0);
            }
        }
    const double w = priced > 0 && priced == k ? 1.0 / priced : (double)NAN;
    *cost = (struct cim_energy_cost){0};
    cim_energy_add(cost, &sum, w, w);
    struct cli_accuracy_stats p = {0};
    if (k > 0)
        p = cli_accuracy_stats(acc, k);
    p.images = images;
    return p;
}

/* Option `name`'s value in a run's configuration (JSON), as a CSV cell. */
static void config_value(const char *config, const char *name, char *buf, size_t size)
{
    json_t *c = config ? json_loads(config, 0, NULL) : NULL;
    const json_t *v = c ? json_object_get(c, name) : NULL;
    buf[0] = '\0';
    if (json_is_integer(v))
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, size, "%.10g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, size, "%d", json_is_true(v));
    else if (json_is_string(v))
        snprintf(buf, size, "%s", json_string_value(v));
    json_decref(c);
}

/* The CSV cells of point pt's options `names`, appended at text + *at. */
static void point_cells(const struct cli_grid *g, long pt, const char *config,
                        const char **names, int n, char *text, size_t cap, size_t *at)
{
    int idx[CLI_GRID_VARY_MAX];
    const struct cli_grid_block *b = point_values(g, pt, idx);
    for (int j = 0; j < n; j++) {
        char cell[64];
        int i = 0;
        while (i < b->nv && strcmp(b->v[i].name, names[j]) != 0)
            i++;
        if (i < b->nv)
            snprintf(cell, sizeof cell, "%s", b->v[i].values[idx[i]]);
        else
            config_value(config, names[j], cell, sizeof cell);
        *at += (size_t)snprintf(text + *at, cap - *at, "%s,", cell);
    }
}

int cli_grid_write_csv(const char *path, const struct data_sweep *s, const struct cli_grid *g,
                       struct cim_err *err)
{
    const char *names[CLI_GRID_BLOCKS_MAX * CLI_GRID_VARY_MAX];
    const int nn = union_names(g, names);
    size_t cap = 4096 + (size_t)g->points * (384 + 64 * (size_t)nn), at = 0;
    char *text = malloc(cap);
    double *acc = malloc(((size_t)s->n + 1) * sizeof *acc);
    if (text == NULL || acc == NULL) {
        free(text);
        free(acc);
        return cim_err_set(err, CIM_ENOMEM, "%s: out of memory", path);
    }
    for (int i = 0; i < nn; i++)
        at += (size_t)snprintf(text + at, cap - at, "%s,", names[i]);
    at += (size_t)snprintf(text + at, cap - at, "seeds,images,accuracy_mean,accuracy_sd,"
                           "accuracy_min,accuracy_max,ci95_low,ci95_high,energy_nj,adc_nj,"
                           "array_nj,dac_nj,periph_nj,area_mm2\n");
    for (long pt = 0; pt < g->points; pt++) {
        const char *config;
        struct cim_energy_cost c;
        const struct cli_accuracy_stats p = point_stats(s, pt, acc, &config, &c);
        point_cells(g, pt, config, names, nn, text, cap, &at);
        at += (size_t)snprintf(text + at, cap - at,
                               "%d,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6g,%.6g,%.6g,%.6g,%.6g,"
                               "%.6g\n",
                               p.seeds, p.images, p.mean, p.sd, p.min, p.max, p.lo, p.hi,
                               cim_energy_total(&c) * 1e9, c.adc * 1e9, c.array * 1e9,
                               c.dac * 1e9, c.periph * 1e9, cim_energy_area_total(&c) * 1e6);
    }
    free(acc);
    int rc = data_text_save(path, text, err);
    free(text);
    return rc;
}
