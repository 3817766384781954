/* sweep_pareto.c: accuracy against energy of a sweep's designs; see sweep_pareto.h. */
#include "cli/sweep_pareto.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/plot.h"
#include "cli/sweep_plot.h"
#include "cli/xbar_opts.h"

/* Mark the front: sorted by energy (ties: better accuracy first), a design is
 * on it when it beats the accuracy of every cheaper one. */
static int by_energy(const void *a, const void *b)
{
    const struct cli_design *x = a, *y = b;
    if (x->energy_j != y->energy_j)
        return x->energy_j < y->energy_j ? -1 : 1;
    return (x->accuracy < y->accuracy) - (x->accuracy > y->accuracy);
}

int cli_sweep_designs(const struct data_sweep *s, const char *file, struct cli_design **d,
                      long *n, struct cim_err *err)
{
    long points = 0;
    for (int i = 0; i < s->n; i++)
        points = s->runs[i].point + 1 > points ? s->runs[i].point + 1 : points;
    struct cli_design *out = calloc(points > 0 ? (size_t)points : 1, sizeof *out);
    double *acc = malloc(((size_t)s->n + 1) * sizeof *acc);
    if (out == NULL || acc == NULL) {
        free(out);
        free(acc);
        return cim_err_set(err, CIM_ENOMEM, "%s: out of memory", file);
    }
    long m = 0;
    for (long pt = 0; pt < points; pt++) {
        int k = 0, priced = 0;
        double e = 0.0, area = 0.0;
        const char *label = NULL;
        for (int i = 0; i < s->n; i++) {
            if (s->runs[i].point != pt)
                continue;
            struct cim_energy_cost c;
            acc[k++] = s->runs[i].accuracy;
            label = s->runs[i].label;
            if (cli_run_energy(s->runs[i].layers, &c)) {
                priced++;
                e += cim_energy_total(&c);
                area += cim_energy_area_total(&c);
            }
        }
        if (k == 0 || priced != k)
            continue;
        const struct cli_accuracy_stats st = cli_accuracy_stats(acc, k);
        struct cli_design *o = &out[m++];
        o->point = pt;
        snprintf(o->label, sizeof o->label, "%s", label);
        o->energy_j = e / priced;
        o->area_m2 = area / priced;
        o->accuracy = st.mean;
        o->lo = st.lo;
        o->hi = st.hi;
    }
    free(acc);
    if (m == 0) {
        free(out);
        return cim_err_set(err, CIM_EINVAL, "%s: no run carries its energy (stored before cim "
                           "priced energy); run the sweep again", file);
    }
    qsort(out, (size_t)m, sizeof *out, by_energy);
    double best = -1.0;
    for (long i = 0; i < m; i++)
        if (out[i].accuracy > best) {
            out[i].front = 1;
            best = out[i].accuracy;
        }
    *d = out;
    *n = m;
    return CIM_OK;
}

static int not_first(const char *name, const void *first)
{
    return strcmp(name, first) != 0;
}

/* The series of a design: "name=value" of `series`, else its label without the
 * first varied option. */
static void series_key(const char *label, const char *series, const char *first, char *key,
                       size_t size)
{
    char v[96];
    if (series != NULL)
        snprintf(key, size, "%s=%s", series,
                 cli_sweep_label_value(label, series, v, sizeof v) ? v : "?");
    else
        cli_sweep_label_keep(label, not_first, first, key, size);
}

int cli_sweep_pareto(const char *path, const char *title, const struct data_sweep *s,
                     const char *file, const char *series, FILE *table, struct cim_err *err)
{
    enum { SMAX = 64 };
    struct cli_design *d;
    long n;
    if (cli_sweep_designs(s, file, &d, &n, err) != CIM_OK)
        return err->code;
    json_t *varied = json_loads(s->varied, 0, NULL);
    const char *first = json_string_value(json_array_get(varied, 0));
    static char keys[SMAX][200];
    int ns = 0;
    long *of = malloc((size_t)n * sizeof *of);
    double *x = malloc((size_t)(2 * n) * sizeof *x), *y = malloc((size_t)(2 * n) * sizeof *y);
    double *lo = malloc((size_t)n * sizeof *lo), *hi = malloc((size_t)n * sizeof *hi);
    struct cli_plot_series *ser = calloc(SMAX + 1, sizeof *ser);
    int rc = CIM_OK;
    if (!of || !x || !y || !lo || !hi || !ser) {
        rc = cim_err_set(err, CIM_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (long i = 0; i < n; i++) {
        char key[200];
        series_key(d[i].label, series, first ? first : "", key, sizeof key);
        int j = 0;
        while (j < ns && strcmp(keys[j], key) != 0)
            j++;
        if (j == ns) {
            if (ns == SMAX) {
                rc = cim_err_set(err, CIM_EINVAL, "%s: more than %d series", path, SMAX);
                goto done;
            }
            snprintf(keys[ns++], sizeof keys[0], "%s", key);
        }
        of[i] = j;
    }
    /* the designs of series j in x, y [at, at + count); then the front */
    long at = 0;
    for (int j = 0; j < ns; j++) {
        const long start = at;
        for (long i = 0; i < n; i++)
            if (of[i] == j) {
                x[at] = d[i].energy_j * 1e9;
                y[at] = 100.0 * d[i].accuracy;
                lo[at] = 100.0 * d[i].lo;
                hi[at] = 100.0 * d[i].hi;
                at++;
            }
        ser[j] = (struct cli_plot_series){keys[j][0] ? keys[j] : "designs", (int)(at - start),
                                          x + start, y + start, lo + start, hi + start,
                                          CLI_PLOT_MARKERS};
    }
    const long f0 = at;
    for (long i = 0; i < n; i++)
        if (d[i].front) {
            x[at] = d[i].energy_j * 1e9;
            y[at++] = 100.0 * d[i].accuracy;
        }
    ser[ns] = (struct cli_plot_series){"Pareto front", (int)(at - f0), x + f0, y + f0, NULL,
                                       NULL, CLI_PLOT_LINE};
    struct cli_plot pl = {title, "energy per inference (nJ, crossbar tiles)", "accuracy (%)", 1,
                          NAN, NAN};
    rc = cli_plot_write(path, &pl, ser, ns + 1, err);
    if (rc == CIM_OK && table != NULL) {
        fprintf(table, "Pareto front of %s (%ld designs, cheapest first):\n", file, n);
        fprintf(table, "  %12s %10s %10s  %s\n", "energy nJ", "accuracy", "area mm^2", "design");
        for (long i = 0; i < n; i++)
            if (d[i].front)
                fprintf(table, "  %12.4g %9.2f%% %10.4g  %s\n", d[i].energy_j * 1e9,
                        100.0 * d[i].accuracy, d[i].area_m2 * 1e6, d[i].label);
    }
done:
    json_decref(varied);
    free(of);
    free(x);
    free(y);
    free(lo);
    free(hi);
    free(ser);
    free(d);
    return rc;
}
