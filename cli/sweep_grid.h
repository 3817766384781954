/*
 * sweep_grid.h: the points of a sweep (`cim sweep`) and its CSV summary.
 *
 * A grid is a union of blocks; a block is the cartesian product of some varied
 * crossbar options (--vary NAME=LIST), e.g. the noise study's programming noise
 * x precision x read noise, and its drift block, drift time x precision x
 * compensation. Points are numbered block after block; within a block the
 * first varied option changes slowest. A point's configuration is the base
 * options with the point's values parsed through the same option table as
 * `cim infer`'s, so a value is checked exactly as it would be there.
 *
 *     struct cli_grid g = {0};
 *     cli_grid_vary(&g, 0, "adc-bits=3:8", xopts, nx);     a block of the grid
 *     cli_grid_done(&g);                                  numbers the points
 *     for (long pt = 0; pt < g.points; pt++)
 *         cli_grid_config(&g, &base, pt, seed, &cfg, &args);
 *     cli_grid_free(&g);
 */
#ifndef CIM_CLI_SWEEP_GRID_H
#define CIM_CLI_SWEEP_GRID_H

#include "cli/xbar_opts.h"
#include "data/sweep_file.h"

#define CLI_GRID_VARY_MAX 6     /* varied options per block */
#define CLI_GRID_VALUES_MAX 256 /* values per varied option */
#define CLI_GRID_BLOCKS_MAX 4

/* One varied option: its name as the option table spells it ("adc-bits"), and
 * its values as given (owned). */
struct cli_vary {
    char name[40];
    int n;
    char *values[CLI_GRID_VALUES_MAX];
};

struct cli_grid_block {
    char name[16]; /* "" for the first block; else its figure is PREFIX-name.png */
    int nv;
    struct cli_vary v[CLI_GRID_VARY_MAX];
    long first, points; /* its first point's number and its point count */
};

struct cli_grid {
    int nb;
    struct cli_grid_block b[CLI_GRID_BLOCKS_MAX];
    long points; /* all blocks' */
};

/* Add "NAME=LIST" (LIST "a,b,c" or "lo:hi[:step]") as a varied option of block
 * `block` (created when it is the next one; `name` names a new block). NAME is
 * one of the crossbar options xopts[0 .. nx), not --seed. 0, or -1 after a
 * one-line usage message naming the option. */
int cli_grid_vary(struct cli_grid *g, int block, const char *name, const char *spec,
                  const struct cli_opt *xopts, int nx);

/* The named grid `study` (adc or noise) as the first blocks of g; may change the
 * base options (the adc study calibrates its ranges unless range_given). 0, or
 * -1 after a usage message. */
int cli_grid_study(struct cli_grid *g, const char *study, const struct cli_opt *xopts, int nx,
                   struct cli_xbar_args *base, int range_given);

/* Number the points (after the last cli_grid_vary). */
void cli_grid_done(struct cli_grid *g);

/* Free the values and zero g. */
void cli_grid_free(struct cli_grid *g);

/* The block of point pt, and pt's index within it in *local. */
const struct cli_grid_block *cli_grid_block_of(const struct cli_grid *g, long pt, long *local);

/* The configuration of point pt with `seed`: *out the base arguments with the
 * point's values, *cfg their configuration. CLI_EXIT_OK or CLI_EXIT_USAGE after a
 * message naming the value; CLI_EXIT_FAIL after one naming the configuration
 * file base->config when the value at fault came from there (a point's own
 * values come from the command line). */
int cli_grid_config(const struct cli_grid *g, const struct cli_xbar_args *base, long pt,
                    uint64_t seed, struct cim_xbar_config *cfg, struct cli_xbar_args *out);

/* Point pt's values, "adc-bits=6 wbits=8". */
void cli_grid_label(const struct cli_grid *g, long pt, char *buf, size_t size);

/* JSON arrays (new strings, NULL when out of memory): every varied option name
 * in the order of first appearance; and the blocks' names as an array of arrays
 * (for a grid of one block, an empty string). */
char *cli_grid_varied_json(const struct cli_grid *g);
char *cli_grid_blocks_json(const struct cli_grid *g);

/* PREFIX.csv: a header, then per point its values, seeds, images and the
 * accuracy's mean, sd, min, max and 95% interval over the stored runs of s,
 * then the mean energy per inference (nJ: total, ADC, array, DAC, periphery)
 * and area (mm^2) of the crossbar tiles (cim/energy.h; nan for runs stored
 * without them).
 * With several blocks, the columns are every varied option, and a point shows
 * the value its configuration has for options its block does not vary. */
int cli_grid_write_csv(const char *path, const struct data_sweep *s, const struct cli_grid *g,
                       struct cim_err *err);

#endif
