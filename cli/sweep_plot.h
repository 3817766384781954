/*
 * sweep_plot.h: what a sweep's runs say, as statistics and as a figure.
 *
 * cli_accuracy_stats() summarizes the accuracies of one point's seeds (mean,
 * sample deviation, range, 95% confidence interval of the mean from Student's
 * t). cli_sweep_plot() draws accuracy against one varied option of a stored
 * sweep, one line per combination of the other varied options, with those
 * intervals as error bars; it works from the runs' labels ("adc-bits=6
 * wbits=8"), so `cim sweep` and `cim plot` draw the same figure from the same
 * store. Not thread-safe (PLplot keeps global state, and so does this file's
 * scratch).
 */
#ifndef CIM_CLI_SWEEP_PLOT_H
#define CIM_CLI_SWEEP_PLOT_H

#include "base/err.h"
#include "data/sweep_file.h"

struct cli_accuracy_stats {
    int seeds, images;
    double mean, sd, min, max, lo, hi; /* accuracy as a fraction; [lo, hi] the 95%
                                          interval of the mean, clipped to [0, 1] */
};

/* The statistics of n accuracies (n >= 1; the interval is the mean for n = 1). */
struct cli_accuracy_stats cli_accuracy_stats(const double *acc, int n);

/* Accuracy (%) against varied option `xname` of sweep s, written to `path` (.png
 * or .svg, atomically). Numeric values of xname are the x axis; others take
 * their positions. CIM_OK, CIM_EINVAL when xname is not a varied option of s
 * or s has no runs, or what cli_plot_write() returns. */
int cli_sweep_plot(const char *path, const char *title, const struct data_sweep *s,
                   const char *xname, struct cim_err *err);

#endif
