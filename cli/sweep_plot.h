/*
 * sweep_plot.h: what a sweep's runs say, as statistics and as a figure.
 *
 * cli_accuracy_stats() summarizes the accuracies of one point's seeds (mean,
 * sample deviation, range, 95% confidence interval of the mean from Student's
 * t). cli_sweep_plot() draws accuracy against one varied option of a stored
 * sweep, one line per combination of the other varied options (or per value
 * of one of them, the others held fixed), with those intervals as error bars; it works from the runs' labels ("adc-bits=6
 * wbits=8"), so `cim sweep` and `cim plot` draw the same figure from the same
 * store. Not thread-safe (PLplot keeps global state, and so does this file's
 * scratch).
 */
#ifndef CIM_CLI_SWEEP_PLOT_H
#define CIM_CLI_SWEEP_PLOT_H

#include <stddef.h>

#include "base/err.h"
#include "data/sweep_file.h"

struct cli_accuracy_stats {
    int seeds, images;
    double mean, sd, min, max, lo, hi; /* accuracy as a fraction; [lo, hi] the 95%
                                          interval of the mean, clipped to [0, 1] */
};

/* The statistics of n accuracies (n >= 1; the interval is the mean for n = 1). */
struct cli_accuracy_stats cli_accuracy_stats(const double *acc, int n);

/* The value of `name` in a run's label ("adc-bits=6 wbits=8") into buf; whether
 * the label has it. */
int cli_sweep_label_value(const char *label, const char *name, char *buf, size_t size);

/* The pairs of a run's label whose option name keep(name, ctx) accepts, as they
 * stand and space-separated, into key (a line's or a series' name: the label
 * without the options a figure shows on an axis or holds fixed). */
void cli_sweep_label_keep(const char *label, int (*keep)(const char *name, const void *ctx),
                          const void *ctx, char *key, size_t size);

#define CLI_SWEEP_FIX_MAX 8

/* Which runs a figure shows and how it groups them into lines. */
struct cli_sweep_select {
    /* one line per value of this varied option; every other varied option
     * (but x) is held at one value: the one --fix gives, else the value of the
     * first run plotted (the grid's first value). NULL: one line per
     * combination of the other varied options. */
    const char *series;
    int nfix;
    const char *fix[CLI_SWEEP_FIX_MAX]; /* "name=value": only runs with this value */
    long first, last; /* only points first .. last-1 (last 0: every point) */
};

/* Accuracy (%) against varied option `xname` of sweep s, written to `path` (.png
 * or .svg, atomically), of the runs `sel` (NULL: all) chooses; runs without
 * xname (another block of a union of grids) are left out. Numeric values of
 * xname are the x axis; others take their positions. The options held at one
 * value are named after the title. CIM_OK; CIM_EINVAL when no run has xname (or
 * the series), a --fix value matches no run, or s has no runs; or what
 * cli_plot_write() returns. */
int cli_sweep_plot(const char *path, const char *title, const struct data_sweep *s,
                   const char *xname, const struct cli_sweep_select *sel, struct cim_err *err);

#endif
