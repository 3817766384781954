/* xbar_opts.c: the crossbar's options, shared by infer and sweep; see cli.h. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/xbar_opts.h"
#include "nn/forward.h"
#include "nn/integer.h"
#include "nn/quantize.h"

void cli_xbar_args_default(struct cli_xbar_args *a)
{
    const struct cim_xbar_config def = cim_xbar_config_default();
    memset(a, 0, sizeof *a);
    a->calib = 512;
    a->cell_bits = def.cell_bits;
    a->dac_bits = def.dac_bits;
    a->drift_t0 = def.drift_t0;
    a->seed = def.seed;
}

int cli_run_opts(struct cli_run_args *r, struct cli_opt *opts)
{
    *r = (struct cli_run_args){.batch = 1000};
    const struct cli_opt table[] = {
        {"--images", CLI_OPT_INT, &r->images, "N", "the first N test images (default all "
         "10,000)", 1, 1 << 30, NULL, 0},
        {"--data", CLI_OPT_STRING, &r->data, "DIR",
         "Fashion-MNIST directory (default $CIM_DATA or " DATA_DIR_DEFAULT ")", 0, 0, NULL, 0},
        {"--batch", CLI_OPT_INT, &r->batch, "B", "images per pass (default 1000)", 1, 65536,
         NULL, 0},
        {"--threads", CLI_OPT_INT, &r->threads, "N", "threads (default: all cores)", 1, 256,
         NULL, 0},
        {"--quiet", CLI_OPT_FLAG, &r->quiet, NULL, "no progress on stderr", 0, 0, NULL, 0},
    };
    _Static_assert(sizeof table / sizeof table[0] == CLI_RUN_OPTS, "CLI_RUN_OPTS");
    memcpy(opts, table, sizeof table);
    return CLI_RUN_OPTS;
}

int cli_xbar_opts(struct cli_xbar_args *a, struct cli_opt *opts)
{
    const struct cli_opt table[] = {
        {"--wbits", CLI_OPT_INT, &a->wbits, "W", "weight precision of the file to run (default "
         "the high one)", 1, 16, NULL, 0},
        {"--abits", CLI_OPT_INT, &a->abits, "A", "activation precision (default the one stored "
         "with --wbits)", 1, 16, NULL, 0},
        {"--array", CLI_OPT_STRING, &a->array, "RxC", "array rows x columns (default 128x128)", 0,
         0, NULL, 0},
        {"--encoding", CLI_OPT_CHOICE, &a->encoding, NULL, "signed weights: differential column "
         "pair or offset with a reference column (default differential)", 0, 0,
         "differential|offset", 0},
        {"--cell-bits", CLI_OPT_INT, &a->cell_bits, "B", "bits per cell: 1, 2, 4 or 8 (default 2)",
         1, 8, NULL, 0},
        {"--dac-bits", CLI_OPT_INT, &a->dac_bits, "B", "bits per input slice, 1..8 (default 1)", 1,
         8, NULL, 0},
        {"--on-off", CLI_OPT_STRING, &a->on_off, "R", "Gmax/Gmin above 1, or inf (default 100)", 0,
         0, NULL, 0},
        {"--adc-bits", CLI_OPT_INT, &a->adc_bits, "B", "ADC resolution, 1..24 (default 0: "
         "lossless)", 0, 24, NULL, 0},
        {"--adc-range", CLI_OPT_STRING, &a->adc_range, "R", "lossless (full scale), max, "
         "percentile:P (calibrated on training images) or fixed:V level units (default "
         "lossless)", 0, 0, NULL, 0},
        {"--calib", CLI_OPT_INT, &a->calib, "N", "training images for calibrated ADC ranges "
         "(default 512)", 1, 60000, NULL, 0},
        {"--periph-bits", CLI_OPT_INT, &a->periph_bits, "B", "periphery output width 2..62, "
         "MSB-aligned (default 0: lossless)", 0, 62, NULL, 0},
        {"--round", CLI_OPT_CHOICE, &a->round, NULL, "periphery rounding (default floor)", 0, 0,
         "floor|half-up|half-even", 0},
        {"--saturate", CLI_OPT_FLAG, &a->saturate, NULL, "periphery saturates (default: wraps)", 0,
         0, NULL, 0},
        {"--noise-model", CLI_OPT_CHOICE, &a->noise_model, NULL, "noise in units of Gmax "
         "(additive) or relative to G (proportional); default additive", 0, 0,
         "additive|proportional", 0},
        {"--prog-noise", CLI_OPT_DOUBLE, &a->prog_noise, "S", "programming noise sigma (default 0)",
         0, 10, NULL, 0},
        {"--read-noise", CLI_OPT_DOUBLE, &a->read_noise, "S", "read noise sigma, fresh every read "
         "(default 0)", 0, 10, NULL, 0},
        {"--drift-t", CLI_OPT_DOUBLE, &a->drift_t, "SECONDS", "conductance drift to this time "
         "after programming (default 0: none)", 0, 1e12, NULL, 0},
        {"--drift-t0", CLI_OPT_DOUBLE, &a->drift_t0, "SECONDS", "reference time of the "
         "programmed state (default 20)", 1e-9, 1e12, NULL, 0},
        {"--drift-nu", CLI_OPT_STRING, &a->drift_nu, "MEAN,STD", "drift exponent per cell "
         "(default 0.05,0.01)", 0, 0, NULL, 0},
        {"--drift-comp", CLI_OPT_FLAG, &a->drift_comp, NULL, "global drift compensation", 0, 0,
         NULL, 0},
        {"--saf0", CLI_OPT_DOUBLE, &a->saf0, "P", "probability of a cell stuck at Gmin (default 0)",
         0, 1, NULL, 0},
        {"--saf1", CLI_OPT_DOUBLE, &a->saf1, "P", "probability of a cell stuck at Gmax (default 0)",
         0, 1, NULL, 0},
        {"--seed", CLI_OPT_U64, &a->seed, "N", "seed of every non-ideality (default 1)", 0, 0,
         NULL, 0},
        {"--energy-params", CLI_OPT_STRING, &a->energy_params, "K=V,...", "energy model "
         "parameters (docs/ENERGY.md), e.g. adc_fom_walden=1e-14,t_read=1e-8", 0, 0, NULL, 0},
    };
    _Static_assert(sizeof table / sizeof table[0] == CLI_XBAR_OPTS, "CLI_XBAR_OPTS");
    memcpy(opts, table, sizeof table);
    return CLI_XBAR_OPTS;
}

/* "128x128" into rows and columns. */
static int parse_array(const char *s, int *rows, int *cols)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9') /* strtol would take blanks and signs */
        return -1;
    long r = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X'))
        return -1;
    const char *t = end + 1;
    if (*t < '0' || *t > '9')
        return -1;
    long c = strtol(t, &end, 10);
    if (end == t || *end != '\0' || errno != 0 || r < 1 || c < 1 || r > 1 << 20 || c > 1 << 20)
        return -1;
    *rows = (int)r;
    *cols = (int)c;
    return 0;
}

/* "lossless", "max", "percentile:P", "fixed:V". */
static int parse_adc_range(const char *s, enum cim_adc_range *r, double *v)
{
    char *end;
    if (strcmp(s, "lossless") == 0 || strcmp(s, "max") == 0) {
        *r = s[0] == 'l' ? CIM_ADC_RANGE_LOSSLESS : CIM_ADC_RANGE_MAX;
        *v = 0.0;
        return 0;
    }
    if (strncmp(s, "percentile:", 11) == 0) {
        *r = CIM_ADC_RANGE_PERCENTILE;
        *v = strtod(s + 11, &end);
        return end != s + 11 && *end == '\0' ? 0 : -1;
    }
    if (strncmp(s, "fixed:", 6) == 0) {
        *r = CIM_ADC_RANGE_FIXED;
        *v = strtod(s + 6, &end);
        return end != s + 6 && *end == '\0' ? 0 : -1;
    }
    return -1;
}

/* A usage error whose reason starts with the option at fault, naming the
 * configuration file when its value came from there (cli_opt_error()). */
static int xbar_error(const struct cli_xbar_args *a, const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int xbar_error(const struct cli_xbar_args *a, const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cli_opt_error(cmd, a->config, a->opts, a->opts != NULL ? a->nopts : 0, msg);
}

int cli_xbar_config(const struct cli_xbar_args *a, const char *cmd, struct cim_xbar_config *c)
{
    *c = cim_xbar_config_default();
    if (a->array != NULL && parse_array(a->array, &c->rows, &c->cols) != 0)
        return xbar_error(a, cmd, "--array '%s': expected ROWSxCOLS, e.g. 128x128",
                               a->array);
    if (a->encoding != NULL && cim_encoding_parse(a->encoding, &c->encoding) != CIM_OK)
        return xbar_error(a, cmd, "--encoding '%s': expected differential or offset",
                               a->encoding);
    if (a->adc_range != NULL && parse_adc_range(a->adc_range, &c->adc_range, &c->adc_value) != 0)
        return xbar_error(a, cmd, "--adc-range '%s': expected lossless, max, "
                               "percentile:P or fixed:V", a->adc_range);
    if (a->round != NULL) {
        int r = quant_round_parse(a->round);
        if (r < 0)
            return xbar_error(a, cmd, "--round '%s': expected floor, half-up or half-even",
                                   a->round);
        c->round = (enum quant_round)r;
    }
    if (a->noise_model != NULL && cim_noise_model_parse(a->noise_model, &c->noise_model) != CIM_OK)
        return xbar_error(a, cmd, "--noise-model '%s': expected additive or proportional",
                               a->noise_model);
    if (a->drift_nu != NULL) {
        char *end;
        c->drift_nu_mean = strtod(a->drift_nu, &end);
        if (end == a->drift_nu || *end != ',' ||
            (c->drift_nu_std = strtod(end + 1, &end), *end != '\0'))
            return xbar_error(a, cmd, "--drift-nu '%s': expected MEAN,STD, e.g. 0.05,0.01",
                                   a->drift_nu);
    }
    c->cell_bits = a->cell_bits;
    c->dac_bits = a->dac_bits;
    c->adc_bits = a->adc_bits;
    c->periph_bits = a->periph_bits;
    c->overflow = a->saturate ? QUANT_OVERFLOW_SATURATE : QUANT_OVERFLOW_WRAP;
    if (a->on_off != NULL) {
        char *end;
        const int inf = strcmp(a->on_off, "inf") == 0;
        errno = 0;
        c->on_off = inf ? (double)INFINITY : strtod(a->on_off, &end);
        if (!inf && (end == a->on_off || *end != '\0' || errno == ERANGE || !(c->on_off > 1.0)))
            return xbar_error(a, cmd, "--on-off '%s': expected a ratio above 1, or inf",
                                   a->on_off);
    }
    c->prog_noise = a->prog_noise;
    c->read_noise = a->read_noise;
    c->drift_t = a->drift_t;
    c->drift_t0 = a->drift_t0;
    c->drift_comp = a->drift_comp;
    c->saf0 = a->saf0;
    c->saf1 = a->saf1;
    c->seed = a->seed;
    struct cim_err err = {0};
    if (cim_xbar_config_check(c, &err) != CIM_OK)
        return xbar_error(a, cmd, "%s", err.msg);
    return CLI_EXIT_OK;
}

int cli_energy_config(const struct cli_xbar_args *a, const char *cmd, struct cim_energy_config *e)
{
    *e = cim_energy_config_default();
    if (a->energy_params == NULL)
        return CLI_EXIT_OK;
    const char *s = a->energy_params;
    while (*s != '\0') {
        const char *end = strchr(s, ','), *eq = strchr(s, '=');
        const size_t len = end != NULL ? (size_t)(end - s) : strlen(s);
        char name[64], *stop;
        if (eq == NULL || (end != NULL && eq > end) || eq == s || (size_t)(eq - s) >= sizeof name)
            return xbar_error(a, cmd, "--energy-params '%s': expected NAME=VALUE,... (names in "
                                   "docs/ENERGY.md)", a->energy_params);
        memcpy(name, s, (size_t)(eq - s));
        name[eq - s] = '\0';
        errno = 0;
        const double v = strtod(eq + 1, &stop);
        if (stop == eq + 1 || stop != s + len || errno != 0)
            return xbar_error(a, cmd, "--energy-params: %s: expected a number after '='", name);
        struct cim_err err = {0};
        if (cim_energy_param_set(e, name, v, &err) != CIM_OK)
            return xbar_error(a, cmd, "--energy-params: %s", err.msg);
        if (end != NULL && end[1] == '\0')
            return xbar_error(a, cmd, "--energy-params '%s': expected NAME=VALUE,... with "
                                   "nothing after the last comma", a->energy_params);
        s += len + (end != NULL);
    }
    return CLI_EXIT_OK;
}

json_t *cli_xbar_config_json(const struct cim_xbar_config *c, int wbits, int abits, int calib)
{
    char array[32], range[64], nu[64];
    snprintf(array, sizeof array, "%dx%d", c->rows, c->cols);
    if (c->adc_range == CIM_ADC_RANGE_PERCENTILE || c->adc_range == CIM_ADC_RANGE_FIXED) {
        char v[32];
        cli_fmt_num(v, sizeof v, c->adc_value);
        snprintf(range, sizeof range, "%s:%s", cim_adc_range_name(c->adc_range), v);
    } else {
        snprintf(range, sizeof range, "%s", cim_adc_range_name(c->adc_range));
    }
    char m[32], sd[32];
    cli_fmt_num(m, sizeof m, c->drift_nu_mean);
    cli_fmt_num(sd, sizeof sd, c->drift_nu_std);
    snprintf(nu, sizeof nu, "%s,%s", m, sd);
    json_t *j = json_object();
    json_object_set_new(j, "wbits", json_integer(wbits));
    json_object_set_new(j, "abits", json_integer(abits));
    json_object_set_new(j, "array", json_string(array));
    json_object_set_new(j, "encoding", json_string(cim_encoding_name(c->encoding)));
    json_object_set_new(j, "cell-bits", json_integer(c->cell_bits));
    json_object_set_new(j, "dac-bits", json_integer(c->dac_bits));
    json_object_set_new(j, "on-off", isinf(c->on_off) ? json_string("inf") : json_real(c->on_off));
    json_object_set_new(j, "adc-bits", json_integer(c->adc_bits));
    json_object_set_new(j, "adc-range", json_string(range));
    json_object_set_new(j, "calib", json_integer(calib));
    json_object_set_new(j, "periph-bits", json_integer(c->periph_bits));
    json_object_set_new(j, "round", json_string(quant_round_name(c->round)));
    json_object_set_new(j, "saturate", json_boolean(c->overflow == QUANT_OVERFLOW_SATURATE));
    json_object_set_new(j, "noise-model", json_string(cim_noise_model_name(c->noise_model)));
    json_object_set_new(j, "prog-noise", json_real(c->prog_noise));
    json_object_set_new(j, "read-noise", json_real(c->read_noise));
    json_object_set_new(j, "drift-t", json_real(c->drift_t));
    json_object_set_new(j, "drift-t0", json_real(c->drift_t0));
    json_object_set_new(j, "drift-nu", json_string(nu));
    json_object_set_new(j, "drift-comp", json_boolean(c->drift_comp));
    json_object_set_new(j, "saf0", json_real(c->saf0));
    json_object_set_new(j, "saf1", json_real(c->saf1));
    json_object_set_new(j, "seed", json_integer((json_int_t)c->seed));
    return j;
}

json_t *cli_energy_params_json(const struct cim_energy_config *e)
{
    char buf[1024], v[32];
    size_t at = 0;
    for (int i = 0; cim_energy_param_name(i) != NULL; i++) {
        double x;
        cim_energy_param_get(e, cim_energy_param_name(i), &x);
        cli_fmt_num(v, sizeof v, x);
        at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s=%s", i ? "," : "",
                               cim_energy_param_name(i), v);
    }
    return json_string(buf);
}

/* Whether option `name` of a's table took its value from a's configuration file. */
static int from_file(const struct cli_xbar_args *a, const char *name)
{
    const struct cli_opt *o = a->config != NULL && a->opts != NULL
                                  ? cli_opt_find(a->opts, a->nopts, name)
                                  : NULL;
    return o != NULL && o->seen == CLI_SEEN_FILE;
}

int cli_xbar_precision(const struct nn_model *m, const struct cli_xbar_args *a, const char *cmd,
                       const char *file)
{
    for (int p = 0; p < m->quant.n_prec; p++)
        if ((a->wbits == 0 || m->quant.wbits[p] == a->wbits) &&
            (a->abits == 0 || m->quant.abits[p] == a->abits))
            return p;
    const int fw = from_file(a, "--wbits"), fa = from_file(a, "--abits");
    fprintf(stderr, "cim %s: %s holds", cmd, file);
    for (int p = 0; p < m->quant.n_prec; p++)
        fprintf(stderr, "%s W%dA%d", p ? "," : "", m->quant.wbits[p], m->quant.abits[p]);
    fprintf(stderr, "; --wbits %d%s%s%s --abits %d%s%s%s is not one of them\n", a->wbits,
            fw ? " (from " : "", fw ? a->config : "", fw ? ")" : "", a->abits,
            fa ? " (from " : "", fa ? a->config : "", fa ? ")" : "");
    return fw || fa ? -CLI_EXIT_FAIL : -CLI_EXIT_USAGE;
}

int cli_config_file_args(const char *path, const struct cli_opt *opts, int nopts, char **out,
                         int max, int *n, json_t **store, struct cim_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return cim_err_set(err, CIM_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return cim_err_set(err, CIM_EIO, "%s: is a directory; expected a JSON file", path);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (root == NULL)
        return cim_err_set(err, CIM_EIO, "%s: not a JSON file (line %d: %s)", path, je.line,
                           je.text);
    *store = root;
    if (!json_is_object(root))
        return cim_err_set(err, CIM_EFORMAT, "%s: expected a JSON object of options", path);
    const char *key;
    json_t *val;
    json_t *strs = json_array();
    json_object_set_new(root, " args", strs); /* keeps the strings alive with root */
    json_object_foreach(root, key, val)
    {
        if (strcmp(key, " args") == 0)
            continue;
        char name[64];
        snprintf(name, sizeof name, "--%s", key);
        const struct cli_opt *o = cli_opt_find(opts, nopts, name);
        if (o == NULL || strcmp(key, "config") == 0)
            return cim_err_set(err, CIM_EFORMAT, "%s: unknown option \"%s\"", path, key);
        char buf[512];
        if (o->kind == CLI_OPT_FLAG) {
            if (!json_is_boolean(val))
                return cim_err_set(err, CIM_EFORMAT, "%s: \"%s\" expects true or false", path,
                                   key);
            if (!json_is_true(val))
                continue;
            snprintf(buf, sizeof buf, "%s", name);
        } else if (json_is_string(val)) {
            /* a value cut to fit could still parse, as something else */
            if ((size_t)snprintf(buf, sizeof buf, "%s=%s", name, json_string_value(val)) >=
                sizeof buf)
                return cim_err_set(err, CIM_EFORMAT, "%s: \"%s\" is too long (at most %zu "
                                   "characters)", path, key, sizeof buf - strlen(name) - 2);
        } else if (json_is_object(val) && o->kind == CLI_OPT_STRING) {
            /* {"k": v, ...} is the list "k=v,..." (--energy-params) */
            size_t at = (size_t)snprintf(buf, sizeof buf, "%s=", name);
            const char *k;
            json_t *x;
            json_object_foreach(val, k, x)
            {
                if (!json_is_number(x))
                    return cim_err_set(err, CIM_EFORMAT, "%s: \"%s\": \"%s\" expects a number",
                                       path, key, k);
                at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s=%.17g",
                                       at > strlen(name) + 1 ? "," : "", k,
                                       json_number_value(x));
                /* stop at the first pair that does not fit: buf + at must stay in buf */
                if (at >= sizeof buf)
                    return cim_err_set(err, CIM_EFORMAT, "%s: \"%s\" is too long", path, key);
            }
        } else if (json_is_integer(val)) {
            snprintf(buf, sizeof buf, "%s=%lld", name, (long long)json_integer_value(val));
        } else if (json_is_real(val)) {
            snprintf(buf, sizeof buf, "%s=%.17g", name, json_real_value(val));
        } else {
            return cim_err_set(err, CIM_EFORMAT, "%s: \"%s\" expects a number or a string", path,
                               key);
        }
        if (*n >= max)
            return cim_err_set(err, CIM_EFORMAT, "%s: too many options", path);
        json_array_append_new(strs, json_string(buf));
        out[(*n)++] = (char *)json_string_value(json_array_get(strs, json_array_size(strs) - 1));
    }
    return CIM_OK;
}

/* The largest number of "--key=value" arguments a configuration file adds. */
#define CONFIG_ARGS_MAX 256

int cli_opts_parse_config(const struct cli_usage *u, int argc, char **argv, struct cli_opt *opts,
                          int n, const char **pos, int max_pos, int *npos, const char **config,
                          json_t **store)
{
    *config = NULL;
    *store = NULL;
    *npos = 0;
    /* --config first: its options go before the command line's, and a bad
     * value in it is a bad file (exit 1) whose message names the file */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            *config = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            *config = argv[i] + 9;
    }
    if (*config != NULL) {
        char *args[CONFIG_ARGS_MAX];
        int nargs = 0;
        struct cim_err err = {0};
        args[nargs++] = argv[0];
        if (cli_config_file_args(*config, opts, n, args, CONFIG_ARGS_MAX, &nargs, store, &err) !=
            CIM_OK)
            return cli_fail(&err);
        const int rc = cli_opts_parse_file(u, *config, nargs, args, opts, n);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    return cli_opts_parse(u, argc, argv, opts, n, pos, max_pos, npos);
}

/* ---- one run ------------------------------------------------------------------ */

/* Run images [0, n) of ds through the integer model on backend ex, batch at a
 * time, first index offset `base` (keys the backend's draws); counts correct. */
static int run_images(const struct nn_int_model *im, const struct nn_int_exec *ex,
                      const struct data_set *ds, int n, int batch, long base, long *correct,
                      struct cli_progress *pr, const char *what, struct cim_err *err)
{
    const size_t in = (size_t)ds->c * ds->h * ds->w;
    const int classes = nn_int_model_classes(im);
    float *x = malloc((size_t)batch * in * sizeof *x);
    float *logits = malloc((size_t)batch * classes * sizeof *logits);
    uint8_t *y = malloc((size_t)batch);
    int *pred = malloc((size_t)batch * sizeof *pred);
    int rc = CIM_OK;
    if (x == NULL || logits == NULL || y == NULL || pred == NULL) {
        rc = cim_err_set(err, CIM_ENOMEM, "out of memory for a batch of %d images", batch);
        goto done;
    }
    *correct = 0;
    const double t0 = cli_now();
    for (int first = 0; first < n; first += batch) {
        const int b = n - first < batch ? n - first : batch;
        data_set_range(ds, first, b, x, y);
        rc = nn_int_forward_exec(im, ex, x, b, base + first, logits);
        if (rc != CIM_OK) {
            cim_err_set(err, rc, "%s: forward pass failed (%s backend)", what, ex->name);
            goto done;
        }
        nn_argmax_rows(logits, b, classes, pred);
        for (int s = 0; s < b; s++)
            *correct += pred[s] == y[s];
        const double dt = cli_now() - t0;
        cli_progress_draw(pr, "%s: %d/%d images, %.0f images/s", what, first + b, n,
                          (first + b) / (dt > 0 ? dt : 1e-9));
    }
    cli_progress_clear(pr);
done:
    free(x);
    free(logits);
    free(y);
    free(pred);
    return rc;
}

json_t *cli_energy_cost_json(const struct cim_energy_cost *c, double per)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "adc_j", c->adc * per,
                     "array_j", c->array * per, "dac_j", c->dac * per, "periph_j",
                     c->periph * per, "total_j", cim_energy_total(c) * per, "area_cells_m2",
                     c->area_cells, "area_adc_m2", c->area_adc, "area_dac_m2", c->area_dac,
                     "area_periph_m2", c->area_periph, "area_m2", cim_energy_area_total(c));
}

int cli_run_energy(const char *layers_json, struct cim_energy_cost *c)
{
    memset(c, 0, sizeof *c);
    json_t *layers = layers_json != NULL ? json_loads(layers_json, 0, NULL) : NULL;
    size_t i;
    json_t *l;
    int found = 0;
    json_array_foreach(layers, i, l)
    {
        const json_t *e = json_object_get(l, "energy");
        if (!json_is_object(e))
            continue;
        found = 1;
#define V(k) json_number_value(json_object_get(e, k))
        const struct cim_energy_cost one = {V("adc_j"), V("array_j"), V("dac_j"), V("periph_j"),
                                            V("area_cells_m2"), V("area_adc_m2"),
                                            V("area_dac_m2"), V("area_periph_m2")};
#undef V
        cim_energy_add(c, &one, 1.0, 1.0);
    }
    json_decref(layers);
    return found;
}

int cli_infer_run(const struct nn_model *m, int p, const struct cim_xbar_config *cfg,
                  const struct cim_energy_config *energy, const struct data_set *test, const struct data_set *train, int images,
                  int calib, int batch, int integer, struct cli_progress *pr, const char *what,
                  struct cli_infer_out *out, struct cim_err *err)
{
    memset(out, 0, sizeof *out);
    out->correct_int = -1;
    if (cli_data_check(m, NULL, test, NULL, err) != CIM_OK ||
        (train->n > 0 && cli_data_check(m, NULL, train, NULL, err) != CIM_OK))
        return err->code;
    const double t_prog = cli_now();
    struct cim_xbar *xb = cim_xbar_alloc(m, p, cfg, err);
    if (xb == NULL)
        return err->code;
    out->program_seconds = cli_now() - t_prog;
    out->reuses = cim_xbar_reuses(xb);
    const struct nn_int_model *im = cim_xbar_int_model(xb);
    struct nn_int_exec ex = cim_xbar_exec(xb);
    long dummy;
    int rc = CIM_OK;
    if (cfg->adc_range == CIM_ADC_RANGE_MAX || cfg->adc_range == CIM_ADC_RANGE_PERCENTILE) {
        const int nc = calib < train->n ? calib : train->n;
        cim_xbar_calibrate_begin(xb);
        if ((rc = run_images(im, &ex, train, nc, batch, 0, &dummy, pr, "ADC calibration",
                             err)) != CIM_OK ||
            (rc = cim_xbar_calibrate_end(xb, err)) != CIM_OK)
            goto done;
    }
    const int n = images > 0 && images < test->n ? images : test->n;
    out->images = n;
    const double t_run = cli_now();
    if ((rc = run_images(im, &ex, test, n, batch, 0, &out->correct, pr, what, err)) != CIM_OK)
        goto done;
    out->seconds = cli_now() - t_run;
    if (integer) {
        struct nn_int_exec exact = nn_int_exec_exact(im);
        if ((rc = run_images(im, &exact, test, n, batch, 0, &out->correct_int, pr, "integer",
                             err)) != CIM_OK)
            goto done;
    }
    const struct cim_energy_config edef = cim_energy_config_default();
    if (energy == NULL)
        energy = &edef;
    out->layers = json_array();
    for (int i = 0; i < m->n_layers; i++) {
        struct cim_xbar_stats st;
        cim_xbar_stats(xb, i, &st);
        if (!st.is_weight_layer)
            continue;
        struct cim_energy_cost c;
        cim_energy_layer(energy, cfg, &st, &c);
        cim_energy_add(&out->cost, &c, 1.0 / n, 1.0); /* energy per image */
        json_t *sh = json_array();
        for (int j = 0; j < st.w_slices; j++)
            json_array_append_new(sh, json_integer(st.adc_shift[j]));
        json_array_append_new(
            out->layers,
            json_pack("{s:i, s:s, s:i, s:i, s:i, s:i, s:o, s:i, s:f, s:f, s:f, s:f, s:f, s:f, "
                      "s:f}",
                      "layer", i, "type", nn_layer_type_name(m->layers[i].type), "row_tiles",
                      st.row_tiles, "col_tiles", st.col_tiles, "in_slices", st.in_slices,
                      "w_slices", st.w_slices, "adc_step_log2", sh, "periph_shift",
                      st.periph_shift, "reads_per_image", (double)st.reads / n,
                      "conversions_per_image", (double)st.conversions / n, "skipped_reads",
                      st.reads ? (double)st.reads_skipped / (double)st.reads : 0.0, "clipped",
                      st.conversions ? (double)st.clipped / (double)st.conversions : 0.0,
                      "rms_error", st.outputs ? sqrt(st.err_sq / (double)st.outputs) : 0.0,
                      "relative_error", st.ref_sq > 0 ? sqrt(st.err_sq / st.ref_sq) : 0.0,
                      "drift_gain", st.drift_gain));
        json_object_set_new(json_array_get(out->layers, json_array_size(out->layers) - 1),
                            "energy", cli_energy_cost_json(&c, 1.0 / n));
    }
done:
    cim_xbar_free(xb);
    return rc;
}
