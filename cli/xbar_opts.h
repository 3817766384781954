/*
 * xbar_opts.h: the crossbar's command-line options, shared by `cim infer` and
 * `cim sweep`, and one crossbar run over the test set.
 *
 * The options (--array, --adc-bits, --prog-noise, ...) land in a struct
 * cli_xbar_args; cli_xbar_config() checks them and makes the struct
 * cim_xbar_config; cli_xbar_config_json() writes the effective configuration
 * back in the same names, so a result can be reproduced. A JSON config file
 * becomes extra "--key=value" arguments (cli_config_file_args()).
 * cli_infer_run() programs a model, calibrates its ADCs when the range asks
 * for it, classifies test images and collects the per-layer statistics.
 */
#ifndef CIM_CLI_XBAR_OPTS_H
#define CIM_CLI_XBAR_OPTS_H

#include <jansson.h>

#include "cim/energy.h"
#include "cim/xbar.h"
#include "cli/cli.h"

/* The number of crossbar options cli_xbar_opts() fills. */
#define CLI_XBAR_OPTS 24

struct cli_xbar_args {
    const char *array, *encoding, *adc_range, *round, *noise_model, *drift_nu, *on_off;
    const char *energy_params;  /* "name=value,..." (cim/energy.h), or NULL */
    int wbits, abits, calib;
    int cell_bits, dac_bits, adc_bits, periph_bits, saturate, drift_comp;
    double prog_noise, read_noise, drift_t, drift_t0, saf0, saf1;
    uint64_t seed;
    /* Where the values came from, for messages (cli_opt_error()): the --config
     * file and the option table it and the command line were parsed into;
     * NULL: everything from the command line. */
    const char *config;
    const struct cli_opt *opts;
    int nopts;
};

/* The options of a run over the test set that are not the crossbar's:
 * --images, --data, --batch, --threads, --quiet. */
#define CLI_RUN_OPTS 5

struct cli_run_args {
    const char *data;
    int images, batch, threads, quiet;
};

/* Fill opts[0 .. CLI_RUN_OPTS) writing into *r, after setting its defaults (all
 * images, batches of 1000, all cores, progress on); returns CLI_RUN_OPTS. */
int cli_run_opts(struct cli_run_args *r, struct cli_opt *opts);

/* The defaults of every option (those of cim_xbar_config_default(); calib 512). */
void cli_xbar_args_default(struct cli_xbar_args *a);

/* Fill opts[0 .. CLI_XBAR_OPTS) with the crossbar's options writing into *a;
 * returns CLI_XBAR_OPTS. */
int cli_xbar_opts(struct cli_xbar_args *a, struct cli_opt *opts);

/* The configuration of the arguments; CLI_EXIT_OK, or CLI_EXIT_USAGE after a
 * one-line "cim CMD: reason" naming the option; CLI_EXIT_FAIL after
 * "cim CMD: FILE: \"key\" reason" when the value at fault came from the
 * configuration file a->config. */
int cli_xbar_config(const struct cli_xbar_args *a, const char *cmd, struct cim_xbar_config *c);

/* The energy model of the arguments: the defaults with --energy-params
 * applied; CLI_EXIT_OK, or CLI_EXIT_USAGE after a one-line message
 * (CLI_EXIT_FAIL naming the file, as cli_xbar_config() does). */
int cli_energy_config(const struct cli_xbar_args *a, const char *cmd, struct cim_energy_config *e);

/* Every energy parameter as one "name=value,..." string (a new reference),
 * the value of --energy-params that reproduces e. */
json_t *cli_energy_params_json(const struct cim_energy_config *e);

/* The effective configuration in the options' names (a new reference), the
 * precision as wbits and abits: a --config file of exactly this object
 * reproduces the run. */
json_t *cli_xbar_config_json(const struct cim_xbar_config *c, int wbits, int abits, int calib);

/* The precision index of m that a->wbits and a->abits name (0 for the
 * defaults), or, after a one-line message on stderr listing the stored
 * precisions and naming a's configuration file for a value that came from
 * there, the negated exit status: -CLI_EXIT_FAIL when a value came from the
 * file, -CLI_EXIT_USAGE when both came from the command line. */
int cli_xbar_precision(const struct nn_model *m, const struct cli_xbar_args *a, const char *cmd,
                       const char *file);

/* The options of JSON file `path` ({"adc-bits": 6, "drift-comp": true, ...},
 * keys among opts) as "--key=value" strings appended to out[*n ..] (at most
 * max in all); the strings live in *store, which the caller frees with
 * json_decref() (set even on failure). CIM_OK, or CIM_EIO / CIM_EFORMAT with
 * a message naming the file and the key. */
int cli_config_file_args(const char *path, const struct cli_opt *opts, int nopts, char **out,
                         int max, int *n, json_t **store, struct cim_err *err);

/* Parse a command line that may name a JSON configuration file with
 * --config FILE.json (an option of `opts`): the file's options first
 * (cli_opts_parse_file()), then the command line, which wins (cli_opts_parse()).
 * *config is the file's path or NULL. The string options borrow the file's
 * strings from *store: the caller keeps it until it is done with the options
 * and then frees it with json_decref() (NULL without a file; set also on
 * failure). Returns what cli_opts_parse() returns, or CLI_EXIT_FAIL after a
 * one-line message naming the file when it cannot be read or holds a bad
 * value. */
int cli_opts_parse_config(const struct cli_usage *u, int argc, char **argv, struct cli_opt *opts,
                          int n, const char **pos, int max_pos, int *npos, const char **config,
                          json_t **store);

/* ---- one run ------------------------------------------------------------------ */

struct cli_infer_out {
    int images;
    long correct, correct_int;   /* correct_int: the exact integer path (-1 if not run) */
    double seconds, program_seconds;
    int reuses;                  /* cim_xbar_reuses() */
    json_t *layers;              /* per-layer statistics (new reference; caller frees) */
    struct cim_energy_cost cost; /* energy per image (J) and area (m^2), all layers */
};

/* A cost as JSON: energies times `per` (J; per image with per = 1 / images),
 * areas (m^2); a new reference. */
json_t *cli_energy_cost_json(const struct cim_energy_cost *c, double per);

/* The cost per image of a stored run, summed over the "energy" objects of its
 * per-layer statistics (the JSON cli_infer_run() makes): energies in J per
 * image, areas in m^2. 1 when the run has them, 0 when not (a store written
 * before cim priced energy: *c zeroed). */
int cli_run_energy(const char *layers_json, struct cim_energy_cost *c);

/* Program model m at precision p with cfg (energy model `energy`, NULL for
 * the defaults); when the ADC range is calibrated,
 * calibrate on the first `calib` images of `train` (must then be loaded);
 * classify the first `images` of `test` (all for images <= 0), `batch` at a
 * time; with `integer`, also run the exact integer path on the same images.
 * Progress on pr, labelled `what`. CIM_OK or an error with a message. */
int cli_infer_run(const struct nn_model *m, int p, const struct cim_xbar_config *cfg,
                  const struct cim_energy_config *energy, const struct data_set *test, const struct data_set *train, int images,
                  int calib, int batch, int integer, struct cli_progress *pr, const char *what,
                  struct cli_infer_out *out, struct cim_err *err);

#endif
