/* sweep_plot.c: a sweep's statistics and figure; see sweep_plot.h. */
#include "sweep_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "cli/plot.h"

struct cli_accuracy_stats cli_accuracy_stats(const double *acc, int n)
{
    struct cli_accuracy_stats p = {.seeds = n, .min = INFINITY, .max = -INFINITY};
    double s1 = 0.0;
    for (int i = 0; i < n; i++) {
        s1 += acc[i];
        p.min = acc[i] < p.min ? acc[i] : p.min;
        p.max = acc[i] > p.max ? acc[i] : p.max;
    }
    p.mean = s1 / n;
    double ss = 0.0;
    for (int i = 0; i < n; i++)
        ss += (acc[i] - p.mean) * (acc[i] - p.mean);
    p.sd = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
    const double half =
        n > 1 ? gsl_cdf_tdist_Pinv(0.975, n - 1) * p.sd / sqrt((double)n) : 0.0;
    /* an accuracy lies in [0, 1]; so does any sensible interval for it */
    p.lo = p.mean - half < 0.0 ? 0.0 : p.mean - half;
    p.hi = p.mean + half > 1.0 ? 1.0 : p.mean + half;
    return p;
}

/* Axis titles with units for the options a study varies. */
static const char *axis_title(const char *name, int *logx)
{
    static const struct {
        const char *name, *title;
        int logx;
    } t[] = {
        {"adc-bits", "ADC resolution (bits)", 0},
        {"prog-noise", "programming noise (sigma, units of Gmax)", 0},
        {"read-noise", "read noise (sigma, units of Gmax)", 0},
        {"drift-t", "time after programming (s)", 1},
        {"cell-bits", "bits per cell", 0},
        {"dac-bits", "bits per DAC step", 0},
        {"wbits", "weight bits", 0},
        {"periph-bits", "periphery output width (bits)", 0},
        {"saf0", "probability of a cell stuck at Gmin", 0},
        {"saf1", "probability of a cell stuck at Gmax", 0},
        {"on-off", "on/off ratio Gmax/Gmin", 1},
    };
    *logx = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].name, name) == 0) {
            *logx = t[i].logx;
            return t[i].title;
        }
    return name;
}

int cli_sweep_label_value(const char *label, const char *name, char *buf, size_t size)
{
    const size_t nl = strlen(name);
    for (const char *p = label; *p;) {
        const char *sp = strchr(p, ' ');
        const size_t len = sp ? (size_t)(sp - p) : strlen(p);
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            snprintf(buf, size, "%.*s", (int)(len - nl - 1), p + nl + 1);
            return 1;
        }
        p += len + (sp ? 1 : 0);
    }
    return 0;
}

void cli_sweep_label_keep(const char *label, int (*keep)(const char *name, const void *ctx),
                          const void *ctx, char *key, size_t size)
{
    size_t at = 0;
    key[0] = '\0';
    for (const char *q = label; *q;) {
        const char *sp = strchr(q, ' ');
        const size_t len = sp ? (size_t)(sp - q) : strlen(q);
        const size_t nl = strcspn(q, "=") < len ? strcspn(q, "=") : len;
        char name[96];
        snprintf(name, sizeof name, "%.*s", (int)nl, q);
        if (keep(name, ctx) && at < size)
            at += (size_t)snprintf(key + at, size - at, "%s%.*s", at ? " " : "", (int)len, q);
        q += len + (sp ? 1 : 0);
    }
}

/* The selection in force: x, series, and every option held at one value. */
struct pick {
    const char *x, *series;
    int nfix;
    char fix[2 * CLI_SWEEP_FIX_MAX][96]; /* "name=value" */
    long first, last;
};

/* Whether "name=value" fixes option `name` (the length of its name, or 0). */
static size_t fix_name(const char *fix, const char *name)
{
    const size_t nl = strlen(name);
    return strncmp(fix, name, nl) == 0 && fix[nl] == '=' ? nl : 0;
}

/* Whether run r is drawn. */
static int picked(const struct pick *p, const struct data_sweep_run *r)
{
    char v[96];
    if ((p->last > 0 && (r->point < p->first || r->point >= p->last)) ||
        !cli_sweep_label_value(r->label, p->x, v, sizeof v) ||
        (p->series != NULL && !cli_sweep_label_value(r->label, p->series, v, sizeof v)))
        return 0;
    for (int i = 0; i < p->nfix; i++) {
        char name[96];
        const char *eq = strchr(p->fix[i], '=');
        snprintf(name, sizeof name, "%.*s", (int)(eq - p->fix[i]), p->fix[i]);
        if (!cli_sweep_label_value(r->label, name, v, sizeof v) || strcmp(v, eq + 1) != 0)
            return 0;
    }
    return 1;
}

/* Which of a run's label pairs name its line: with a series only the series'
 * ("wbits=8"), else all but x and the fixed options. */
static int line_keeps(const char *name, const void *ctx)
{
    const struct pick *p = ctx;
    int skip = strcmp(name, p->x) == 0 || (p->series && strcmp(name, p->series) != 0);
    for (int i = 0; i < p->nfix && !skip; i++)
        skip = fix_name(p->fix[i], name) > 0;
    return !skip;
}

/* The selection of sel for x: the given fixes, checked against the runs, and
 * with a series every other option of the first picked run held at its value. */
static int pick_make(struct pick *p, const struct data_sweep *s, const char *path,
                     const char *xname, const struct cli_sweep_select *sel, struct cim_err *err)
{
    memset(p, 0, sizeof *p);
    p->x = xname;
    if (sel != NULL) {
        p->series = sel->series;
        p->first = sel->first;
        p->last = sel->last;
        for (int i = 0; i < sel->nfix && i < CLI_SWEEP_FIX_MAX; i++)
            snprintf(p->fix[p->nfix++], sizeof p->fix[0], "%s", sel->fix[i]);
    }
    for (int i = 0; i < p->nfix; i++) {
        const char *eq = strchr(p->fix[i], '=');
        char name[96], v[96];
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - p->fix[i]) : 0, p->fix[i]);
        int any = 0;
        for (int r = 0; r < s->n && !any && eq != NULL; r++)
            any = cli_sweep_label_value(s->runs[r].label, name, v, sizeof v) && strcmp(v, eq + 1) == 0;
        if (!any)
            return cim_err_set(err, CIM_EINVAL, "--fix %s: no run of the sweep has that value",
                               p->fix[i]);
    }
    const struct data_sweep_run *r0 = NULL;
    for (int r = 0; r < s->n && r0 == NULL; r++)
        r0 = picked(p, &s->runs[r]) ? &s->runs[r] : NULL;
    if (r0 == NULL)
        return cim_err_set(err, CIM_EINVAL, "%s: no run of the sweep varies %s%s%s%s", path,
                           xname, p->series ? " and " : "", p->series ? p->series : "",
                           p->nfix ? " with the --fix values" : "");
    for (const char *q = r0->label; p->series != NULL && *q;) {
        const char *sp = strchr(q, ' ');
        const size_t len = sp ? (size_t)(sp - q) : strlen(q);
        const size_t nl = strcspn(q, "=");
        int fixed = (nl == strlen(xname) && strncmp(q, xname, nl) == 0) ||
                    (nl == strlen(p->series) && strncmp(q, p->series, nl) == 0);
        for (int i = 0; i < p->nfix && !fixed; i++)
            fixed = strncmp(p->fix[i], q, nl + 1) == 0;
        if (!fixed && p->nfix < 2 * CLI_SWEEP_FIX_MAX)
            snprintf(p->fix[p->nfix++], sizeof p->fix[0], "%.*s", (int)len, q);
        q += len + (sp ? 1 : 0);
    }
    return CIM_OK;
}

/* The index of s in list[0 .. *n), appended if new (at most max). */
static int intern(char (*list)[96], int *n, int max, const char *s)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(list[i], s) == 0)
            return i;
    if (*n == max)
        return -1;
    snprintf(list[*n], sizeof list[0], "%s", s);
    return (*n)++;
}

static int by_value(const void *a, const void *b)
{
    const double x = strtod(*(char *const *)a, NULL), y = strtod(*(char *const *)b, NULL);
    return (x > y) - (x < y);
}

int cli_sweep_plot(const char *path, const char *title, const struct data_sweep *s,
                   const char *xname, const struct cli_sweep_select *sel, struct cim_err *err)
{
    enum { XMAX = 256, SMAX = 64 };
    if (s->n == 0)
        return cim_err_set(err, CIM_EINVAL, "%s: the sweep has no finished run to plot", path);
    static struct pick pk;
    if (pick_make(&pk, s, path, xname, sel, err) != CIM_OK)
        return err->code;
    static char xs[XMAX][96], keys[SMAX][96];
    int nx = 0, ns = 0;
    for (int i = 0; i < s->n; i++) {
        char x[96], key[96];
        if (!picked(&pk, &s->runs[i]))
            continue;
        cli_sweep_label_value(s->runs[i].label, xname, x, sizeof x);
        cli_sweep_label_keep(s->runs[i].label, line_keeps, &pk, key, sizeof key);
        if (intern(xs, &nx, XMAX, x) < 0 || intern(keys, &ns, SMAX, key) < 0)
            return cim_err_set(err, CIM_EINVAL, "%s: more than %d x values or %d lines", path,
                               XMAX, SMAX);
    }
    /* numeric x values in increasing order, others as they came */
    const char *order[XMAX];
    int numeric = 1;
    for (int i = 0; i < nx; i++) {
        char *end;
        strtod(xs[i], &end);
        numeric &= *end == '\0' && end != xs[i];
        order[i] = xs[i];
    }
    if (numeric)
        qsort(order, (size_t)nx, sizeof *order, by_value);
    double *x = malloc((size_t)nx * sizeof *x), *y = malloc((size_t)nx * ns * sizeof *y);
    double *lo = malloc((size_t)nx * ns * sizeof *lo), *hi = malloc((size_t)nx * ns * sizeof *hi);
    double *acc = malloc((size_t)s->n * sizeof *acc);
    struct cli_plot_series *ser = calloc((size_t)ns, sizeof *ser);
    int rc = CIM_OK, seeds = 1;
    if (!x || !y || !lo || !hi || !acc || !ser) {
        rc = cim_err_set(err, CIM_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int i = 0; i < nx; i++)
        x[i] = numeric ? strtod(order[i], NULL) : i;
    for (int j = 0; j < ns; j++) {
        for (int i = 0; i < nx; i++) {
            int k = 0;
            for (int r = 0; r < s->n; r++) {
                char xv[96], key[96];
                if (!picked(&pk, &s->runs[r]))
                    continue;
                cli_sweep_label_value(s->runs[r].label, xname, xv, sizeof xv);
                cli_sweep_label_keep(s->runs[r].label, line_keeps, &pk, key, sizeof key);
                if (strcmp(xv, order[i]) == 0 && strcmp(key, keys[j]) == 0)
                    acc[k++] = s->runs[r].accuracy;
            }
            const size_t at = (size_t)j * nx + i;
            if (k == 0) { /* a point not (yet) run: a gap in the line */
                y[at] = lo[at] = hi[at] = NAN;
                continue;
            }
            const struct cli_accuracy_stats p = cli_accuracy_stats(acc, k);
            seeds = k > seeds ? k : seeds;
            y[at] = 100.0 * p.mean;
            lo[at] = 100.0 * p.lo;
            hi[at] = 100.0 * p.hi;
        }
        ser[j] = (struct cli_plot_series){keys[j][0] ? keys[j] : "accuracy", nx, x,
                                          y + (size_t)j * nx, lo + (size_t)j * nx,
                                          hi + (size_t)j * nx, CLI_PLOT_LINE_MARKERS};
    }
    if (seeds == 1)
        for (int j = 0; j < ns; j++)
            ser[j].ylo = ser[j].yhi = NULL;
    /* the title names what is held fixed */
    char full[600];
    size_t at = (size_t)snprintf(full, sizeof full, "%s", title);
    for (int i = 0; i < pk.nfix && at < sizeof full; i++)
        at += (size_t)snprintf(full + at, sizeof full - at, "%s%s", i ? ", " : " at ",
                               pk.fix[i]);
    int logx;
    const char *xl = axis_title(xname, &logx);
    struct cli_plot pl = {full, xl, "accuracy (%)", logx, NAN, NAN};
    rc = cli_plot_write(path, &pl, ser, ns, err);
done:
    free(x);
    free(y);
    free(lo);
    free(hi);
    free(acc);
    free(ser);
    return rc;
}
