/*
 * cmd_plot.c: `cim plot`, a figure from a stored sweep.
 *
 * Draws the accuracy of the runs in PREFIX.h5 (written by `cim sweep`) against
 * one of its varied options, one line per combination of the others, with 95%
 * confidence intervals over seeds: the figure `cim sweep` draws, for any of the
 * varied options and from a sweep that is still running or was stopped.
 */
#include <string.h>

#include "cli/cli.h"
#include "cli/sweep_plot.h"
#include "data/model_file.h"
#include "data/sweep_file.h"

int cmd_plot(int argc, char **argv)
{
    const char *xname = NULL, *out = NULL, *title = NULL;
    struct cli_opt opts[] = {
        {"--x", CLI_OPT_STRING, &xname, "NAME", "the varied option on the x axis", 0, 0, NULL,
         0},
        {"--out", CLI_OPT_STRING, &out, "FILE", "the figure, .png or .svg", 0, 0, NULL, 0},
        {"--title", CLI_OPT_STRING, &title, "TEXT", "title (default: model and option)", 0, 0,
         NULL, 0},
    };
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    const struct cli_usage u = {"plot", "SWEEP.h5 --x NAME --out FILE.png",
                                "Plot the accuracy stored in a sweep file against one of its "
                                "varied options, one line per combination of the others, "
                                "95% confidence intervals over seeds as error bars."};
    const char *pos[1];
    int npos;
    int rc = cli_opts_parse(&u, argc, argv, opts, nopts, pos, 1, &npos);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (npos != 1)
        return cli_usage_error("plot", "expected one sweep file (cim plot SWEEP.h5 ...)");
    if (xname == NULL || out == NULL)
        return cli_usage_error("plot", "--x NAME and --out FILE are required");
    char name[64];
    snprintf(name, sizeof name, "%s", xname);
    for (char *c = name; *c; c++)
        *c = *c == '_' ? '-' : *c;
    struct cim_err err = {0};
    struct data_sweep s;
    data_init();
    if (data_sweep_load(pos[0], &s, &err) != CIM_OK)
        return cli_fail(&err);
    char quoted[80];
    snprintf(quoted, sizeof quoted, "\"%s\"", name);
    if (strstr(s.varied, quoted) == NULL) {
        fprintf(stderr, "cim plot: --x %s: %s varies %s\n", xname, pos[0], s.varied);
        data_sweep_release(&s);
        return CLI_EXIT_USAGE;
    }
    char t[300];
    const char *base = strrchr(s.model, '/');
    snprintf(t, sizeof t, "%s: accuracy vs %s", base ? base + 1 : s.model, name);
    rc = cli_sweep_plot(out, title ? title : t, &s, name, &err);
    data_sweep_release(&s);
    return rc == CIM_OK ? CLI_EXIT_OK : cli_fail(&err);
}
