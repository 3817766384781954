/*
 * sweep_file.h: the HDF5 store of a sweep's runs (`cim sweep --out PREFIX`).
 *
 * A sweep runs a grid of crossbar configurations ("points") times repeated
 * seeds; every finished run is one row of the store with its full effective
 * configuration (the JSON `cim infer --json` prints, so any run can be re-run
 * alone) and its results. The file is rewritten atomically after every run, so
 * a killed sweep leaves the runs it finished and nothing half-written.
 *
 * Layout (docs/FORMAT.md): root attributes format = "cim-sweep", version (1
 * for a grid of one block; 2 when the attribute blocks describes a union of
 * grids), model (the model file), command (the sweep's command line), varied
 * (JSON array of the varied option names), points, seeds, and in version 2
 * blocks; group /runs with one column per field below, n rows each, in order
 * of point and then seed_index whatever order the runs were added in.
 *
 *     struct data_sweep s = {0};
 *     data_sweep_load("adc.h5", &s, &err);      or fill s yourself
 *     data_sweep_add(&s, &run);                 copies the run's strings
 *     data_sweep_save("adc.h5", &s, &err);
 *     data_sweep_release(&s);
 */
#ifndef CIM_DATA_SWEEP_FILE_H
#define CIM_DATA_SWEEP_FILE_H

#include <stdint.h>

#include "base/err.h"

struct data_sweep_run {
    int point, seed_index;  /* which grid point, which repetition */
    uint64_t seed;          /* the seed of its non-idealities */
    int images;             /* test images classified */
    int64_t correct;        /* of which correct */
    double accuracy;        /* correct / images */
    double seconds;         /* wall time of the classification */
    char *label;            /* the point's varied values, "adc-bits=6 wbits=8" */
    char *config;           /* effective configuration, canonical JSON */
    char *layers;           /* per-layer statistics, JSON */
};

struct data_sweep {
    char *model, *command, *varied; /* varied: JSON array of option names */
    char *blocks; /* "" for one grid; else JSON [{"name": N, "varied": [...]}, ...] */
    int points, seeds;
    int n, cap;
    struct data_sweep_run *runs;
};

/* Add a copy of *r (strings duplicated) in its place: rows stay in order of
 * point, then seed_index (a run of the same point and seed index goes after
 * those present). CIM_OK or CIM_ENOMEM. */
int data_sweep_add(struct data_sweep *s, const struct data_sweep_run *r);

/* Save atomically; CIM_OK or an error naming the path. */
int data_sweep_save(const char *path, const struct data_sweep *s, struct cim_err *err);

/* Load into an empty *s; CIM_OK, or CIM_EIO / CIM_EFORMAT with a message
 * naming the file and what was expected. */
int data_sweep_load(const char *path, struct data_sweep *s, struct cim_err *err);

/* Free everything *s holds and zero it. */
void data_sweep_release(struct data_sweep *s);

/* Write `text` to `path` atomically (a CSV, a report). */
int data_text_save(const char *path, const char *text, struct cim_err *err);

#endif
