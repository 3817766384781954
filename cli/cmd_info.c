/* cmd_info.c: `cim info`, what a model file holds. */
#include <stdlib.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/h5_guard.h"
#include "data/model_file.h"

static void shape_str(struct nn_shape s, char *buf, size_t size)
{
    if (s.h == 1 && s.w == 1)
        snprintf(buf, size, "%d", s.c);
    else
        snprintf(buf, size, "%dx%dx%d", s.c, s.h, s.w);
}

static void layer_params(const struct nn_layer *l, char *buf, size_t size)
{
    switch (l->type) {
    case NN_LAYER_CONV2D:
        snprintf(buf, size, "%dx%d stride %d pad %d, %s", l->kernel, l->kernel, l->stride, l->pad,
                 nn_act_name(l->act));
        break;
    case NN_LAYER_MAXPOOL:
        snprintf(buf, size, "%dx%d stride %d", l->kernel, l->kernel, l->stride);
        break;
    case NN_LAYER_DENSE:
    default:
        snprintf(buf, size, "%s", nn_act_name(l->act));
        break;
    }
}

static void print_text(const char *path, const struct nn_model *m)
{
    printf("%s: %s, %s, input %dx%dx%d, %d classes\n", path, m->arch,
           m->dataset[0] ? m->dataset : "unknown dataset", m->input.c, m->input.h, m->input.w,
           m->num_classes);
    printf("  %-12s %-10s %-10s %-28s %10s\n", "layer", "input", "output", "parameters", "weights");
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        char name[32], in[32], out[32], par[64];
        snprintf(name, sizeof name, "%03d_%s", i, nn_layer_type_name(l->type));
        shape_str(l->in, in, sizeof in);
        shape_str(l->out, out, sizeof out);
        layer_params(l, par, sizeof par);
        printf("  %-12s %-10s %-10s %-28s %10zu\n", name, in, out, par,
               nn_tensor_size(&l->weight) + nn_tensor_size(&l->bias));
    }
    printf("  parameters: %zu (%.1f KiB as float32); multiply-accumulates per image: %zu\n",
           nn_model_param_count(m), (double)nn_model_param_count(m) * 4.0 / 1024.0,
           nn_model_macs(m));
    const struct nn_quant *q = &m->quant;
    if (q->n_prec > 0) {
        printf("quantization: scheme %s, %s weight steps, ranges: weights %s, activations %s\n",
               quant_scheme_name(q->scheme), q->per_channel ? "per-channel" : "per-tensor",
               q->wrange[0] ? q->wrange : "unknown", q->arange[0] ? q->arange : "unknown");
        for (int p = 0; p < q->n_prec; p++)
            printf("  precision %d: W%dA%d\n", p, q->wbits[p], q->abits[p]);
        printf("  %-12s %12s %12s %12s\n", "layer", "input step", "weight step", "(low prec.)");
        for (int i = 0; i < m->n_layers; i++) {
            const struct nn_layer *l = &m->layers[i];
            if (l->wscale[0].data == NULL)
                continue;
            char name[32];
            snprintf(name, sizeof name, "%03d_%s", i, nn_layer_type_name(l->type));
            printf("  %-12s %12.6g %12.6g %12.6g%s\n", name, (double)l->ascale,
                   (double)l->wscale[0].data[0], q->n_prec > 1 ? (double)l->wscale[1].data[0] : 0.0,
                   q->per_channel ? "  (channel 0)" : "");
        }
    }
    const struct nn_train_record *r = &m->record;
    printf("training record:\n");
    printf("  command:   %s\n", r->command[0] ? r->command : "unknown");
    if (r->epochs > 0)
        printf("  epochs %d, batch %d, %s, lr %g, seed %llu\n", r->epochs, r->batch,
               r->optimizer[0] ? r->optimizer : "unknown optimizer", r->lr,
               (unsigned long long)r->seed);
    if (r->test_accuracy >= 0)
        printf("  test accuracy %.2f%%, last-epoch training loss %.4f\n",
               100.0 * r->test_accuracy, r->train_loss);
    if (r->noise_aware[0])
        printf("  noise-aware: %s (default crossbar)\n", r->noise_aware);
    if (r->seconds >= 0)
        printf("  training time %.1f s\n", r->seconds);
    if (r->created[0])
        printf("  saved %s\n", r->created);
}

static void print_json(const char *path, const struct nn_model *m)
{
    json_t *layers = json_array();
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        json_t *jl = json_pack("{s:s, s:s, s:[iii], s:[iii], s:I}", "type",
                               nn_layer_type_name(l->type), "activation", nn_act_name(l->act),
                               "input", l->in.c, l->in.h, l->in.w, "output", l->out.c, l->out.h,
                               l->out.w, "parameters",
                               (json_int_t)(nn_tensor_size(&l->weight) +
                                            nn_tensor_size(&l->bias)));
        if (l->type != NN_LAYER_DENSE) {
            json_object_set_new(jl, "kernel", json_integer(l->kernel));
            json_object_set_new(jl, "stride", json_integer(l->stride));
            json_object_set_new(jl, "padding", json_integer(l->pad));
        }
        json_array_append_new(layers, jl);
    }
    const struct nn_train_record *r = &m->record;
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->seed);
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:[iii], s:i, s:o, s:I, s:I, s:{s:s, s:s, s:s, s:i, s:i, s:f, s:s, "
        "s:f, s:f, s:f}}",
        "file", path, "architecture", m->arch, "dataset", m->dataset, "input_shape", m->input.c,
        m->input.h, m->input.w, "num_classes", m->num_classes, "layers", layers, "parameters",
        (json_int_t)nn_model_param_count(m), "macs", (json_int_t)nn_model_macs(m), "training",
        "command", r->command, "optimizer", r->optimizer, "created", r->created, "epochs",
        r->epochs, "batch", r->batch, "lr", r->lr, "seed", seed, "test_accuracy",
        r->test_accuracy, "train_loss", r->train_loss, "seconds", r->seconds);
    if (j != NULL)
        json_object_set_new(json_object_get(j, "training"), "noise_aware",
                            json_string(r->noise_aware));
    const struct nn_quant *q = &m->quant;
    if (j != NULL && q->n_prec > 0) {
        json_t *jq = json_pack("{s:s, s:b, s:s, s:s, s:[], s:[]}", "scheme",
                               quant_scheme_name(q->scheme), "per_channel", q->per_channel,
                               "weight_range", q->wrange, "activation_range", q->arange,
                               "weight_bits", "activation_bits");
        for (int p = 0; p < q->n_prec; p++) {
            json_array_append_new(json_object_get(jq, "weight_bits"), json_integer(q->wbits[p]));
            json_array_append_new(json_object_get(jq, "activation_bits"),
                                  json_integer(q->abits[p]));
        }
        json_object_set_new(j, "quant", jq);
    }
    cli_print_json(j);
    json_decref(j);
}

int cmd_info(int argc, char **argv)
{
    int json = 0;
    struct cli_opt opts[] = {
        {"--json", CLI_OPT_FLAG, &json, NULL, "print one JSON object instead of text", 0, 0, NULL,
         0},
    };
    const struct cli_usage u = {"info", "FILE.h5 [--json]",
                                "Show the layers, shapes, parameter count and training record of "
                                "a model file."};
    const char *pos[1];
    int npos;
    int rc = cli_opts_parse(&u, argc, argv, opts, 1, pos, 1, &npos);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (npos != 1)
        return cli_usage_error("info", "expected one model file (cim info FILE.h5)");
    struct cim_err err = {0};
    struct nn_model *m = cli_model_load(pos[0], &err);
    if (m == NULL)
        return cli_fail(&err);
    if (json)
        print_json(pos[0], m);
    else
        print_text(pos[0], m);
    nn_model_free(m);
    return CLI_EXIT_OK;
}
