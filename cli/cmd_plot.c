/*
 * cmd_plot.c: `cim plot`, a figure from a stored sweep.
 *
 * Draws the accuracy of the runs in PREFIX.h5 (written by `cim sweep`) against
 * one of its varied options, one line per combination of the others, with 95%
 * confidence intervals over seeds: the figure `cim sweep` draws, for any of the
 * varied options and from a sweep that is still running or was stopped. With
 * --series NAME, one line per value of NAME, every other varied option held at
 * one value (its first in the grid, or the one --fix gives): what a figure of
 * a grid with three or more dimensions needs to stay readable. With --pareto,
 * accuracy against energy per inference, every point a design, and the
 * designs no other beats on both joined as the Pareto front (also printed).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/h5_guard.h"
#include "cli/sweep_pareto.h"
#include "cli/sweep_plot.h"
#include "data/model_file.h"
#include "data/sweep_file.h"

/* Arguments of cim plot: far more than its options can use. */
#define PLOT_ARGS_MAX 64

/* Option names as the sweep stores them: "adc_bits" is "adc-bits". */
static void canonical(const char *in, char *out, size_t size)
{
    if (out != in)
        snprintf(out, size, "%s", in);
    for (char *c = out; *c; c++)
        *c = *c == '_' ? '-' : *c;
}

/* Whether `name` is among the sweep's varied options (a JSON array). */
static int varies(const struct data_sweep *s, const char *name)
{
    char quoted[128];
    snprintf(quoted, sizeof quoted, "\"%s\"", name);
    return strstr(s->varied, quoted) != NULL;
}

/* --fix may repeat: take its values out of argv into fix (canonical names).
 * CLI_EXIT_OK or a usage error. */
static int split_fix(int argc, char **argv, char (*fix)[96], int *nfix, char **args, int *nargs)
{
    const char *vals[CLI_SWEEP_FIX_MAX];
    int rc = cli_opts_take("plot", "--fix", "NAME=VALUE", argc, argv, vals, CLI_SWEEP_FIX_MAX,
                           nfix, args, PLOT_ARGS_MAX, nargs);
    for (int i = 0; i < *nfix && rc == CLI_EXIT_OK; i++) {
        const char *v = vals[i], *eq = strchr(v, '=');
        if (eq == NULL || eq == v || eq[1] == '\0' || strlen(v) >= 96)
            return cli_usage_error("plot", "--fix '%s': expected NAME=VALUE, e.g. read-noise=0",
                                   v);
        snprintf(fix[i], 96, "%s", v);
        fix[i][eq - v] = '\0';
        canonical(fix[i], fix[i], 96);
        fix[i][eq - v] = '=';
    }
    return rc;
}

/* The options of the figure that must be varied options of s (x, series, the
 * --fix names, all distinct); CLI_EXIT_OK or a usage error naming the option. */
static int check_names(const struct data_sweep *s, const char *file, const char *x,
                       const char *series, char (*fix)[96], int nfix)
{
    if (!varies(s, x))
        return cli_usage_error("plot", "--x %s: %s varies %s", x, file, s->varied);
    if (series != NULL && (!varies(s, series) || strcmp(series, x) == 0))
        return cli_usage_error("plot", "--series %s: expected another of the options %s varies, "
                               "%s", series, file, s->varied);
    for (int i = 0; i < nfix; i++) {
        char name[96];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(fix[i], "="), fix[i]);
        if (!varies(s, name) || strcmp(name, x) == 0 || (series && strcmp(name, series) == 0))
            return cli_usage_error("plot", "--fix %s: expected an option %s varies, other than "
                                   "--x and --series: %s", fix[i], file, s->varied);
    }
    return CLI_EXIT_OK;
}

int cmd_plot(int argc, char **argv)
{
    const char *xname = NULL, *series = NULL, *out = NULL, *title = NULL, *fix_seen = NULL;
    int pareto = 0;
    struct cli_opt opts[] = {
        {"--pareto", CLI_OPT_FLAG, &pareto, NULL, "accuracy against energy per inference "
         "(log axis), one marker per point, and the Pareto front, printed too; series by "
         "--series (default: by the varied options but the first)", 0, 0, NULL, 0},
        {"--x", CLI_OPT_STRING, &xname, "NAME", "the varied option on the x axis", 0, 0, NULL,
         0},
        {"--series", CLI_OPT_STRING, &series, "NAME", "one line per value of this varied "
         "option; the others are held at their first value in the grid unless --fix says "
         "(default: one line per combination of the other varied options)", 0, 0, NULL, 0},
        {"--fix", CLI_OPT_STRING, &fix_seen, "NAME=VALUE", "only the runs with this value of a "
         "varied option (may repeat)", 0, 0, NULL, 0},
        {"--out", CLI_OPT_STRING, &out, "FILE", "the figure, .png or .svg", 0, 0, NULL, 0},
        {"--title", CLI_OPT_STRING, &title, "TEXT", "title (default: model and option)", 0, 0,
         NULL, 0},
    };
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    const struct cli_usage u = {
        "plot", "SWEEP.h5 (--x NAME [--fix NAME=VALUE ...] | --pareto) [--series NAME] --out "
        "FILE.png",
        "Plot the accuracy stored in a sweep file against one of its varied options, 95% "
        "confidence intervals over seeds as error bars: one line per combination of the other "
        "varied options, or with --series one line per value of that option while the others "
        "stay at one value each (their first in the grid, or --fix), named after the title. "
        "Runs that do not vary --x (another block of a union of grids) are left out."};
    char fix[CLI_SWEEP_FIX_MAX][96];
    char *args[PLOT_ARGS_MAX];
    int nfix, nargs, npos;
    const char *pos[1];
    int rc = split_fix(argc, argv, fix, &nfix, args, &nargs);
    if (rc == CLI_EXIT_OK)
        rc = cli_opts_parse(&u, nargs, args, opts, nopts, pos, 1, &npos);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (npos != 1)
        return cli_usage_error("plot", "expected one sweep file (cim plot SWEEP.h5 ...)");
    if (out == NULL || (xname == NULL && !pareto))
        return cli_usage_error("plot", "--x NAME (or --pareto) and --out FILE are required");
    if (pareto && (xname != NULL || nfix > 0))
        return cli_usage_error("plot", "--pareto: the x axis is energy; --x and --fix do not "
                               "apply");
    char name[64] = "", sname[64];
    if (xname != NULL)
        canonical(xname, name, sizeof name);
    if (series != NULL)
        canonical(series, sname, sizeof sname);
    struct cim_err err = {0};
    struct data_sweep s;
    data_init();
    if (cli_sweep_load(pos[0], &s, &err) != CIM_OK)
        return cli_fail(&err);
    if (pareto) {
        if (series != NULL && !varies(&s, sname)) {
            rc = cli_usage_error("plot", "--series %s: %s varies %s", sname, pos[0], s.varied);
        } else {
            char t[300];
            const char *base = strrchr(s.model, '/');
            snprintf(t, sizeof t, "%s: accuracy vs energy per inference",
                     base ? base + 1 : s.model);
            rc = cli_sweep_pareto(out, title ? title : t, &s, pos[0], series ? sname : NULL,
                                  stdout, &err) == CIM_OK
                     ? CLI_EXIT_OK
                     : cli_fail(&err);
        }
        data_sweep_release(&s);
        return rc;
    }
    rc = check_names(&s, pos[0], name, series ? sname : NULL, fix, nfix);
    if (rc != CLI_EXIT_OK) {
        data_sweep_release(&s);
        return rc;
    }
    struct cli_sweep_select sel = {.series = series ? sname : NULL, .nfix = nfix};
    for (int i = 0; i < nfix; i++)
        sel.fix[i] = fix[i];
    char t[300];
    const char *base = strrchr(s.model, '/');
    snprintf(t, sizeof t, "%s: accuracy vs %s", base ? base + 1 : s.model, name);
    rc = cli_sweep_plot(out, title ? title : t, &s, name, &sel, &err);
    data_sweep_release(&s);
    return rc == CIM_OK ? CLI_EXIT_OK : cli_fail(&err);
}
