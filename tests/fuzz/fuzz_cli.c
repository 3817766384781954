/* fuzz_cli.c: see fuzz_cli.h. */
#include "fuzz_cli.h"

#include <stdlib.h>

void fuzz_cli_init(struct fuzz_cli *f)
{
    cli_xbar_args_default(&f->xa);
    f->nopts = cli_run_opts(&f->ra, f->opts);
    f->nopts += cli_xbar_opts(&f->xa, f->opts + f->nopts);
}

void fuzz_cli_run(struct fuzz_cli *f, int argc, char **argv)
{
    static const struct cli_usage u = {"infer", "FILE.h5 [OPTIONS]", "fuzzing"};
    const char *pos[1];
    int npos;
    if (cli_opts_parse(&u, argc, argv, f->opts, f->nopts, pos, 1, &npos) != CLI_EXIT_OK)
        return;
    struct cim_xbar_config c;
    struct cim_energy_config e;
    if (cli_xbar_config(&f->xa, "infer", &c) != CLI_EXIT_OK)
        return;
    if (cim_xbar_config_check(&c, NULL) != CIM_OK)
        abort(); /* accepted options must make a valid crossbar */
    if (cli_energy_config(&f->xa, "infer", &e) != CLI_EXIT_OK)
        return;
    json_t *j = cli_xbar_config_json(&c, 8, 8, f->xa.calib);
    json_object_set_new(j, "energy-params", cli_energy_params_json(&e));
    if (j == NULL)
        abort();
    json_decref(j);
}
