/*
 * sweep_pareto.h: accuracy against energy per inference for the points of a
 * sweep, and the designs no other point beats on both (`cim plot --pareto`).
 *
 * Each point of a stored sweep is one design: its accuracy is the mean over
 * its seeds, its energy the mean energy per inference of its runs (the
 * per-layer costs cli_infer_run() stores, cim/energy.h). A design is on the
 * Pareto front when no other design has at least its accuracy for less
 * energy. The figure draws every design as a marker, one series per value of
 * --series (default: per combination of the varied options but the first),
 * on a logarithmic energy axis, and the front as a line through its designs.
 */
#ifndef CIM_CLI_SWEEP_PARETO_H
#define CIM_CLI_SWEEP_PARETO_H

#include <stdio.h>

#include "base/err.h"
#include "data/sweep_file.h"

/* One design: a point of the sweep. */
struct cli_design {
    long point;
    char label[200];   /* the point's varied values */
    double energy_j;   /* mean energy per inference, J */
    double accuracy;   /* mean accuracy, fraction */
    double lo, hi;     /* 95% interval of the accuracy */
    double area_m2;
    int front;         /* 1 on the Pareto front */
};

/* The designs of s (one per point with runs that carry energy) into a new
 * array *d (caller frees) of *n, front marked. CIM_OK; CIM_EINVAL with a
 * message naming `file` when no run carries energy (a store from before cim
 * priced energy); CIM_ENOMEM. */
int cli_sweep_designs(const struct data_sweep *s, const char *file, struct cli_design **d,
                      long *n, struct cim_err *err);

/* The figure at `path` (.png or .svg), series by option `series` (NULL: by
 * every varied option but the first), and the front as a table on `table`
 * (may be NULL): energy, accuracy, area and the design's values, cheapest
 * first. CIM_OK or an error naming the file. */
int cli_sweep_pareto(const char *path, const char *title, const struct data_sweep *s,
                     const char *file, const char *series, FILE *table, struct cim_err *err);

#endif
