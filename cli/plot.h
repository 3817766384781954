/*
 * plot.h: line figures of sweep results, as PNG or SVG files, through PLplot.
 *
 * A figure is a set of series drawn against one x axis: one line per series,
 * each with its own colour and marker, optional vertical error bars, a legend
 * placed where it hides no data, a light grid, dark axes, white background, about
 * 800x600 pixels with text readable at that size. The caller owns every array;
 * nothing is kept after the call.
 *
 *     double bits[] = {3, 4, 5, 6, 7, 8}, acc[] = {66.4, 84.64, 89.27, 90.48, 90.59, 90.8};
 *     struct cli_plot_series s = {"W8A8 calibrated max", 6, bits, acc, NULL, NULL};
 *     struct cli_plot p = {"lenet5: accuracy vs ADC resolution", "ADC resolution (bits)",
 *                          "accuracy (%)", 0, NAN, NAN};
 *     if (cli_plot_write("adc.png", &p, &s, 1, &err) != CIM_OK)
 *         return cli_fail(&err);
 *
 * Missing values: a point whose x or y is NaN or infinite (or, on a logarithmic
 * axis, whose x is not positive) is left out, and the line breaks there; an
 * error bar whose ends are not finite is left out. Text (title, axis labels,
 * legend) is UTF-8 and taken literally ("#" has no special meaning).
 *
 * PLplot keeps global state: cli_plot_write must not run in two threads at
 * once, nor while the caller itself has a PLplot stream open (it ends all PLplot
 * streams with plend). PLplot may print warnings to stderr; this module itself
 * prints nothing.
 *
 * Without PLplot at build time (CIM_HAVE_PLPLOT undefined) every call fails with
 * CIM_EUNSUPPORTED and a message naming the Debian packages to install.
 */
#ifndef CIM_CLI_PLOT_H
#define CIM_CLI_PLOT_H

#include "base/err.h"

/* How a series is drawn. */
enum cli_plot_style {
    CLI_PLOT_LINE_MARKERS = 0, /* a line through its points, a marker at each */
    CLI_PLOT_MARKERS = 1,      /* markers only (a scatter of designs) */
    CLI_PLOT_LINE = 2          /* a line only (a front, a bound) */
};

/* One line of a figure. */
struct cli_plot_series {
    const char *label;       /* legend text; NULL or "" keeps the series out of the legend */
    int n;                   /* points, >= 0 */
    const double *x, *y;     /* n values each; x in the units of the x label */
    const double *ylo, *yhi; /* error bar ends (absolute y values, not offsets), n values
                                each, or both NULL for none */
    enum cli_plot_style style; /* 0 (zero-initialized): line and markers */
};

/* What the figure shows besides its series. */
struct cli_plot {
    const char *title, *xlabel, *ylabel; /* NULL for none; axis labels carry units,
                                            e.g. "ADC resolution (bits)" */
    int logx;                            /* 1: logarithmic x axis (drift time in s) */
    double ymin, ymax;                   /* y axis range; NAN: from the data (with a
                                            margin of 5% of the range on that side) */
};

/* Write the figure of the `ns` series s[0..ns) to `path`: a name ending in
 * ".png" (PLplot's pngcairo device) or ".svg" (PLplot's svg device), case
 * ignored. The file is written under a temporary name beside `path` and renamed
 * (data/atomic.h), so `path` is either left untouched or holds the complete
 * figure. When every x value is an integer and they span at most 12, the x axis
 * has a tick at each integer (bit widths, layer indices).
 *
 * Returns CIM_OK, or, with a one-line message in `err` (may be NULL) that names
 * `path`:
 *   CIM_EINVAL        `path` empty or not ending in .png/.svg; ns <= 0; a series
 *                     with n < 0, NULL x or y, or only one of ylo/yhi; ymin >= ymax,
 *                     or either infinite; no finite point in any series;
 *   CIM_EIO           the directory is missing or not writable, PLplot reported an
 *                     error, or it wrote no (or an incomplete) file;
 *   CIM_ENOMEM        out of memory;
 *   CIM_EUNSUPPORTED  built without PLplot, or PLplot's device for the format is
 *                     not installed (Debian: plplot-driver-cairo for .png). */
int cli_plot_write(const char *path, const struct cli_plot *p, const struct cli_plot_series *s,
                   int ns, struct cim_err *err);

#endif
