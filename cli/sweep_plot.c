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

/* A run's label split at `xname`: its value of xname into x (NULL if absent) and
 * the other "name=value" pairs into key. */
static void split_label(const char *label, const char *xname, char *x, size_t xs, char *key,
                        size_t ks, int *found)
{
    *found = 0;
    x[0] = key[0] = '\0';
    size_t at = 0;
    const size_t xl = strlen(xname);
    for (const char *p = label; *p;) {
        const char *sp = strchr(p, ' ');
        const size_t len = sp ? (size_t)(sp - p) : strlen(p);
        if (len > xl && strncmp(p, xname, xl) == 0 && p[xl] == '=') {
            snprintf(x, xs, "%.*s", (int)(len - xl - 1), p + xl + 1);
            *found = 1;
        } else if (at < ks) {
            at += (size_t)snprintf(key + at, ks - at, "%s%.*s", at ? " " : "", (int)len, p);
        }
        p += len + (sp ? 1 : 0);
    }
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
                   const char *xname, struct cim_err *err)
{
    enum { XMAX = 256, SMAX = 64 };
    if (s->n == 0)
        return cim_err_set(err, CIM_EINVAL, "%s: the sweep has no finished run to plot", path);
    static char xs[XMAX][96], keys[SMAX][96];
    int nx = 0, ns = 0;
    for (int i = 0; i < s->n; i++) {
        char x[96], key[96];
        int found;
        split_label(s->runs[i].label, xname, x, sizeof x, key, sizeof key, &found);
        if (!found)
            return cim_err_set(err, CIM_EINVAL, "--x %s: not a varied option of the sweep "
                               "(its runs vary %s)", xname, s->varied);
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
                int found;
                split_label(s->runs[r].label, xname, xv, sizeof xv, key, sizeof key, &found);
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
    int logx;
    const char *xl = axis_title(xname, &logx);
    struct cli_plot pl = {title, xl, "accuracy (%)", logx, NAN, NAN};
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
