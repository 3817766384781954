/*
 * cmd_train.c: `cim train`, FP32 training of lenet5 or mlp on Fashion-MNIST.
 *
 * Each epoch ends with the test accuracy on the full test set and a checkpoint
 * (the model, the optimizer state and the options, written atomically), so a
 * killed run continues with `--resume CHECKPOINT` to the same result an
 * uninterrupted run gives: the sample order and the learning rate depend only on
 * (seed, epoch, step). The final model is written to --out, and the checkpoint
 * removed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cim/train_noise.h"
#include "cli/cli.h"
#include "cli/h5_guard.h"
#include "data/atomic.h"
#include "data/dataset.h"
#include "data/model_file.h"
#include "nn/exec.h"
#include "nn/quantize.h"
#include "nn/train.h"

/* Everything that defines a training run; stored in checkpoints as JSON. */
struct train_cfg {
    const char *model, *optimizer, *schedule;
    int epochs, batch, limit, step_epochs;
    double lr, momentum, weight_decay, step_gamma;
    uint64_t seed;
    char command[1024];
    double seconds; /* training time before this process */
    /* quantization-aware training; qat "" for FP32 training */
    const char *qat, *abits, *scheme, *range;
    int per_channel;
    double qlr, ema, distill;
    const char *noise_aware; /* --noise-aware spec; "" for none */
};

static char *cfg_to_json(const struct train_cfg *c)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:f, s:f, s:f, s:f, s:s, s:f, "
                          "s:s, s:s, s:s, s:s, s:i, s:f, s:f, s:f}",
                          "model", c->model, "optimizer", c->optimizer, "schedule", c->schedule,
                          "epochs", c->epochs, "batch", c->batch, "limit", c->limit,
                          "step_epochs", c->step_epochs, "lr", c->lr, "momentum", c->momentum,
                          "weight_decay", c->weight_decay, "step_gamma", c->step_gamma,
                          "command", c->command, "seconds", c->seconds, "qat", c->qat, "abits",
                          c->abits, "scheme", c->scheme, "range", c->range, "per_channel",
                          c->per_channel, "qlr", c->qlr, "ema", c->ema, "distill", c->distill);
    if (j == NULL)
        return NULL;
    /* JSON numbers are doubles: a 64-bit seed goes as a decimal string */
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    json_object_set_new(j, "seed", json_string(seed));
    json_object_set_new(j, "noise_aware", json_string(c->noise_aware));
    char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    return text;
}

/* Parse the options of a checkpoint; strings point into *root (caller decrefs). */
static int cfg_from_json(const char *text, const char *path, struct train_cfg *c, json_t **root,
                         struct cim_err *err)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    const char *seed = NULL, *command = NULL;
    if (j == NULL || json_unpack_ex(j, &jerr, 0,
                                    "{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:F, s:F, s:F, s:F, "
                                    "s:s, s:s, s:F, s:s, s:s, s:s, s:s, s:i, s:F, s:F, s:F, "
                                    "s?:s}",
                                    "model", &c->model, "optimizer", &c->optimizer, "schedule",
                                    &c->schedule, "epochs", &c->epochs, "batch", &c->batch,
                                    "limit", &c->limit, "step_epochs", &c->step_epochs, "lr",
                                    &c->lr, "momentum", &c->momentum, "weight_decay",
                                    &c->weight_decay, "step_gamma", &c->step_gamma, "seed",
                                    &seed, "command", &command, "seconds", &c->seconds, "qat",
                                    &c->qat, "abits", &c->abits, "scheme", &c->scheme, "range",
                                    &c->range, "per_channel", &c->per_channel, "qlr", &c->qlr,
                                    "ema", &c->ema, "distill", &c->distill, "noise_aware",
                                    &c->noise_aware) != 0) {
        json_decref(j);
        return cim_err_set(err, CIM_EFORMAT, "%s: /checkpoint options: %s", path, jerr.text);
    }
    char *end;
    c->seed = strtoull(seed, &end, 10);
    snprintf(c->command, sizeof c->command, "%s", command);
    *root = j;
    return CIM_OK;
}

static int checkpoint_write(const char *path, const struct nn_model *m,
                            const struct nn_trainer *t, const struct train_cfg *c,
                            struct cim_err *err)
{
    struct data_checkpoint ck = {0};
    ck.epoch = nn_trainer_epoch(t);
    ck.options = cfg_to_json(c);
    ck.state_len = nn_trainer_state_len(t);
    ck.state = malloc((ck.state_len + 1) * sizeof *ck.state);
    if (ck.options == NULL || ck.state == NULL) {
        data_checkpoint_release(&ck);
        return cim_err_set(err, CIM_ENOMEM, "out of memory writing checkpoint %s", path);
    }
    nn_trainer_state_get(t, ck.state);
    int rc = data_checkpoint_save(path, m, &ck, err);
    data_checkpoint_release(&ck);
    return rc;
}

/* How the quantization of a QAT run is set up (from --qat, --range, ...). */
struct qat_plan {
    struct nn_quant q;
    struct nn_qat_opts opts;
    int profile;                     /* activation ranges profiled at each epoch start */
    enum quant_range_method amethod; /* how they are profiled (and first calibrated) */
    double pct;
};

static int qat_plan_parse(const struct train_cfg *c, struct qat_plan *qp, struct cim_err *err)
{
    memset(qp, 0, sizeof *qp);
    if (c->qat[0] == '\0')
        return CIM_OK;
    struct nn_quant *q = &qp->q;
    int nw = cli_parse_ints(c->qat, q->wbits, NN_PREC_MAX, QUANT_WBITS_MIN, QUANT_WBITS_MAX);
    if (nw < 1)
        return cim_err_set(err, CIM_EINVAL, "--qat '%s': expected weight bits like 8,4 (each "
                           "%d..%d)", c->qat, QUANT_WBITS_MIN, QUANT_WBITS_MAX);
    q->n_prec = nw;
    if (c->abits[0] == '\0') {
        for (int p = 0; p < nw; p++)
            q->abits[p] = q->wbits[p];
    } else if (cli_parse_ints(c->abits, q->abits, NN_PREC_MAX, QUANT_ABITS_MIN,
                              QUANT_ABITS_MAX) != nw) {
        return cim_err_set(err, CIM_EINVAL, "--abits '%s': expected %d activation bit-widths "
                           "(%d..%d), one per --qat precision", c->abits, nw, QUANT_ABITS_MIN,
                           QUANT_ABITS_MAX);
    }
    int sch = quant_scheme_parse(c->scheme);
    if (sch < 0)
        return cim_err_set(err, CIM_EINVAL, "--scheme '%s': expected nested, nested-round or "
                           "independent", c->scheme);
    q->scheme = (enum quant_scheme)sch;
    q->per_channel = c->per_channel;
    struct nn_qat_opts *o = &qp->opts;
    o->on = 1;
    o->qlr = c->qlr;
    o->ema_momentum = c->ema;
    o->distill = c->distill;
    qp->pct = 99.99;
    if (strcmp(c->range, "ema") == 0) {
        o->wmethod = qp->amethod = QUANT_RANGE_MAX;
        o->acts = NN_QAT_A_EMA;
    } else if (strcmp(c->range, "lsq") == 0) {
        o->lsq = 1;
        o->acts = NN_QAT_A_PACT;
        qp->amethod = QUANT_RANGE_MAX;
        o->wmethod = QUANT_RANGE_MSE; /* the learned steps start from MSE-optimal ones */
    } else if (cli_parse_range(c->range, &o->wmethod, &qp->pct) == 0) {
        qp->amethod = o->wmethod;
        qp->profile = 1;
        o->acts = NN_QAT_A_FIXED;
    } else {
        return cim_err_set(err, CIM_EINVAL, "--range '%s': expected max, percentile[:P], mse, "
                           "ema or lsq", c->range);
    }
    o->pct = qp->pct;
    q->percentile = qp->pct;
    snprintf(q->wrange, sizeof q->wrange, "%s",
             o->lsq ? "lsq" : quant_range_method_name(o->wmethod));
    snprintf(q->arange, sizeof q->arange, "%s",
             o->acts == NN_QAT_A_EMA ? "ema" : o->acts == NN_QAT_A_PACT
                 ? "pact" : quant_range_method_name(qp->amethod));
    return CIM_OK;
}

/* Test accuracy in FP32 and at each precision into acc[0..n_prec] (FP32 first),
 * and a short text of them into buf. */
static int test_accuracies(const struct nn_model *m, const struct data_set *test, double *acc,
                           char *buf, size_t size, struct cim_err *err)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int p = -1; p < m->quant.n_prec; p++) {
        long correct = 0;
        int rc = cli_evaluate(m, p, &nn_exec_fp32, test, 0, 500, &correct, err);
        if (rc != CIM_OK)
            return rc;
        acc[p + 1] = (double)correct / test->n;
        char label[32];
        nn_quant_label(m, p, label, sizeof label);
        if (used < size)
            used += (size_t)snprintf(buf + used, size - used, "%s%s %.2f%%", p < 0 ? "" : "  ",
                                     label, 100.0 * acc[p + 1]);
    }
    return CIM_OK;
}

/* ---- noise-aware training ------------------------------------------------------ */

/* One KEY=VALUE item of --noise-aware at *at (KEY prog_noise or read_noise,
 * VALUE a sigma in 0..10): its key's index with *v set and *at moved past the
 * item and its comma; -1 when malformed (a trailing comma too). */
static int noise_item(const char **at, double *v)
{
    static const char *const keys[] = {"prog_noise", "read_noise"};
    for (int i = 0; i < 2; i++) {
        const size_t len = strlen(keys[i]);
        if (strncmp(*at, keys[i], len) != 0 || (*at)[len] != '=')
            continue;
        char *end;
        *v = strtod(*at + len + 1, &end);
        if (end == *at + len + 1 || (*end != ',' && *end != '\0') ||
            (*end == ',' && end[1] == '\0') || !(*v >= 0.0 && *v <= 10.0))
            return -1;
        *at = *end == ',' ? end + 1 : end;
        return i;
    }
    return -1;
}

/* The crossbar of --noise-aware SPEC ("prog_noise=S[,read_noise=S]", sigmas in
 * units of Gmax, each key at most once) on the default mapping, seeded with the
 * training seed; its canonical text into canon. CIM_EINVAL naming the option. */
static int noise_aware_parse(const char *spec, uint64_t seed, struct cim_xbar_config *cfg,
                             char *canon, size_t size, struct cim_err *err)
{
    double v[2] = {0.0, 0.0};
    int seen[2] = {0, 0};
    for (const char *at = spec; *at != '\0';) {
        double x;
        const int key = noise_item(&at, &x);
        if (key < 0 || seen[key])
            return cim_err_set(err, CIM_EINVAL, "--noise-aware '%s': expected "
                               "prog_noise=S[,read_noise=S], each key once, sigmas in 0..10 "
                               "(units of Gmax)", spec);
        seen[key] = 1;
        v[key] = x;
    }
    if (!seen[0] && !seen[1])
        return cim_err_set(err, CIM_EINVAL, "--noise-aware '%s': expected "
                           "prog_noise=S[,read_noise=S]", spec);
    *cfg = cim_xbar_config_default();
    cfg->prog_noise = v[0];
    cfg->read_noise = v[1];
    cfg->seed = seed;
    char a[32], b[32];
    cli_fmt_num(a, sizeof a, v[0]);
    cli_fmt_num(b, sizeof b, v[1]);
    snprintf(canon, size, "prog_noise=%s,read_noise=%s", a, b);
    return CIM_OK;
}

/* The training loop proper: epochs from where the trainer stands to c->epochs. */
static int train_run(struct nn_model *m, struct nn_trainer *t, struct train_cfg *c,
                     const struct qat_plan *qp, const struct data_set *train,
                     const struct data_set *test, const char *ckpt_path, int quiet,
                     struct cim_err *err)
{
    const size_t in = nn_shape_size(m->input);
    const int n = c->limit > 0 && c->limit < train->n ? c->limit : train->n;
    int *order = malloc((size_t)n * sizeof *order);
    float *x = malloc((size_t)c->batch * in * sizeof *x);
    uint8_t *y = malloc((size_t)c->batch);
    int rc = CIM_OK;
    if (order == NULL || x == NULL || y == NULL) {
        rc = cim_err_set(err, CIM_ENOMEM, "out of memory for training");
        goto done;
    }
    struct cli_progress prog;
    cli_progress_init(&prog, quiet);
    const int spe = nn_trainer_steps_per_epoch(t);
    for (int e = nn_trainer_epoch(t); e < c->epochs; e++) {
        const double t_epoch = cli_now();
        double t_draw = 0.0, loss_sum = 0.0;
        /* offline profiling follows the weights: ranges anew at each epoch start */
        if (qp->profile && (rc = cli_calibrate(m, train, qp->amethod, qp->pct, err)) != CIM_OK)
            goto done;
        nn_trainer_shuffle(t, e, order);
        for (int s = 0, first = 0; first < n; s++, first += c->batch) {
            int b = n - first < c->batch ? n - first : c->batch;
            data_set_batch(train, order + first, b, x, y);
            double loss;
            if ((rc = nn_trainer_step(t, x, y, b, &loss)) != CIM_OK) {
                cim_err_set(err, rc, "training step failed at epoch %d", e + 1);
                goto done;
            }
            if (!isfinite(loss)) {
                rc = cim_err_set(err, CIM_EINVAL,
                                 "training diverged at epoch %d, step %d (loss %g); try a "
                                 "lower --lr", e + 1, s + 1, loss);
                goto done;
            }
            loss_sum += loss * b;
            double now = cli_now();
            if (prog.on && now - t_draw > 0.25) {
                t_draw = now;
                cli_progress_draw(&prog, "epoch %d/%d  step %d/%d  loss %.4f  %.0f img/s", e + 1,
                                  c->epochs, s + 1, spe, loss_sum / (first + b),
                                  (first + b) / (now - t_epoch));
            }
        }
        const double secs = cli_now() - t_epoch;
        nn_trainer_end_epoch(t);
        double acc[NN_PREC_MAX + 1];
        char accs[128];
        if ((rc = test_accuracies(m, test, acc, accs, sizeof accs, err)) != CIM_OK)
            goto done;
        m->record.epochs = e + 1;
        m->record.train_loss = loss_sum / n;
        m->record.test_accuracy = acc[0];
        cli_progress_draw(&prog, "epoch %d/%d  loss %.4f  test %s  %.0f img/s", e + 1, c->epochs,
                          loss_sum / n, accs, n / secs);
        cli_progress_keep(&prog);
        c->seconds += cli_now() - t_epoch;
        if (e + 1 < c->epochs && (rc = checkpoint_write(ckpt_path, m, t, c, err)) != CIM_OK)
            goto done;
    }
done:
    free(order);
    free(x);
    free(y);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    struct train_cfg c = {.model = "lenet5", .optimizer = "adam", .schedule = "cosine",
                          .epochs = 15, .batch = 64, .step_epochs = 5, .lr = 2e-3,
                          .momentum = 0.9, .weight_decay = 1e-4, .step_gamma = 0.1, .seed = 1,
                          .qat = "", .abits = "", .scheme = "nested", .range = "max",
                          .qlr = 1e-3, .ema = 0.9, .noise_aware = ""};
    const char *out = NULL, *resume = NULL, *ckpt = NULL, *data = NULL, *init = NULL;
    int quiet = 0, threads = 0;
    struct cli_opt opts[] = {
        {"--model", CLI_OPT_CHOICE, &c.model, NULL, "architecture (default lenet5)", 0, 0,
         "lenet5|mlp", 0},
        {"--epochs", CLI_OPT_INT, &c.epochs, "N", "training epochs (default 15)", 1, 10000, NULL,
         0},
        {"--batch", CLI_OPT_INT, &c.batch, "B", "mini-batch size (default 64)", 1, 65536, NULL,
         0},
        {"--lr", CLI_OPT_DOUBLE, &c.lr, "X", "base learning rate (default 2e-3 adam, 0.05 sgd)",
         1e-12, 100, NULL, 0},
        {"--optimizer", CLI_OPT_CHOICE, &c.optimizer, NULL, "optimizer (default adam)", 0, 0,
         "adam|sgd", 0},
        {"--momentum", CLI_OPT_DOUBLE, &c.momentum, "MU", "SGD momentum (default 0.9)", 0,
         0.999999, NULL, 0},
        {"--weight-decay", CLI_OPT_DOUBLE, &c.weight_decay, "L2",
         "L2 weight decay on weights, not biases (default 1e-4)", 0, 1, NULL, 0},
        {"--schedule", CLI_OPT_CHOICE, &c.schedule, NULL,
         "learning-rate schedule (default cosine)", 0, 0, "cosine|constant|step", 0},
        {"--step-epochs", CLI_OPT_INT, &c.step_epochs, "N",
         "step schedule: epochs between decays (default 5)", 1, 10000, NULL, 0},
        {"--step-gamma", CLI_OPT_DOUBLE, &c.step_gamma, "G",
         "step schedule: decay factor (default 0.1)", 1e-6, 1, NULL, 0},
        {"--seed", CLI_OPT_U64, &c.seed, "S", "seed of initialization and order (default 1)", 0,
         0, NULL, 0},
        {"--limit", CLI_OPT_INT, &c.limit, "N", "train on the first N images only (default all)",
         1, 1 << 30, NULL, 0},
        {"--qat", CLI_OPT_STRING, &c.qat, "W[,W]",
         "quantization-aware training at these weight bits, high first (e.g. 8,4)", 0, 0, NULL,
         0},
        {"--abits", CLI_OPT_STRING, &c.abits, "A[,A]",
         "activation bits per precision (default: the weight bits)", 0, 0, NULL, 0},
        {"--scheme", CLI_OPT_CHOICE, &c.scheme, NULL,
         "how the low weight code derives from the high one (default nested)", 0, 0,
         "nested|nested-round|independent", 0},
        {"--range", CLI_OPT_STRING, &c.range, "METHOD",
         "QAT ranges: max, percentile[:P], mse (profiled), ema (moving average), lsq (learned "
         "steps, PACT clips) (default max)", 0, 0, NULL, 0},
        {"--per-channel", CLI_OPT_FLAG, &c.per_channel, NULL,
         "one weight step per output channel (default: per tensor)", 0, 0, NULL, 0},
        {"--qlr", CLI_OPT_DOUBLE, &c.qlr, "X",
         "learning rate of learned steps and clips (default 1e-3)", 0, 10, NULL, 0},
        {"--ema", CLI_OPT_DOUBLE, &c.ema, "M", "momentum of moving-average ranges (default 0.9)",
         0, 0.999999, NULL, 0},
        {"--distill", CLI_OPT_DOUBLE, &c.distill, "W",
         "QAT: weight of distillation from the high to the low precision (default 0)", 0, 100,
         NULL, 0},
        {"--noise-aware", CLI_OPT_STRING, &c.noise_aware, "prog_noise=S[,read_noise=S]",
         "QAT on the default crossbar's noise: fresh programming noise per cell each step, "
         "read noise at the accumulators (sigmas in units of Gmax)", 0, 0, NULL, 0},
        {"--init", CLI_OPT_STRING, &init, "FILE.h5",
         "start from the FP32 weights of this model file (fine-tuning)", 0, 0, NULL, 0},
        {"--out", CLI_OPT_STRING, &out, "FILE.h5", "where to write the trained model (required)",
         0, 0, NULL, 0},
        {"--checkpoint", CLI_OPT_STRING, &ckpt, "FILE.h5",
         "checkpoint written each epoch (default OUT with .ckpt.h5)", 0, 0, NULL, 0},
        {"--resume", CLI_OPT_STRING, &resume, "FILE.h5",
         "continue the run saved in this checkpoint", 0, 0, NULL, 0},
        {"--data", CLI_OPT_STRING, &data, "DIR", "Fashion-MNIST directory (default $CIM_DATA or "
         DATA_DIR_DEFAULT ")", 0, 0, NULL, 0},
        {"--threads", CLI_OPT_INT, &threads, "N", "BLAS threads (default: all cores)", 1, 256,
         NULL, 0},
        {"--quiet", CLI_OPT_FLAG, &quiet, NULL, "no progress line on stderr", 0, 0, NULL, 0},
    };
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    const struct cli_usage u = {
        "train", "[OPTIONS] --out FILE.h5",
        "Train lenet5 or mlp in FP32 on the Fashion-MNIST training set (60,000 images),\n"
        "report the test accuracy (10,000 images) after each epoch, write a checkpoint\n"
        "each epoch and the final model to --out (HDF5, docs/FORMAT.md)."};
    const char *pos[1];
    int npos;
    int rc = cli_opts_parse(&u, argc, argv, opts, nopts, pos, 0, &npos);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (out == NULL)
        return cli_usage_error("train", "--out FILE.h5 is required");
    if (resume != NULL) {
        static const char *const fixed[] = {"--model", "--epochs", "--batch", "--lr",
                                            "--optimizer", "--momentum", "--weight-decay",
                                            "--schedule", "--step-epochs", "--step-gamma",
                                            "--seed", "--limit", "--qat", "--abits", "--scheme",
                                            "--range", "--per-channel", "--qlr", "--ema",
                                            "--distill", "--init", "--noise-aware"};
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
            if (cli_opt_find(opts, nopts, fixed[i])->seen)
                return cli_usage_error("train", "%s cannot be given with --resume: the run "
                                       "continues with the options stored in %s", fixed[i],
                                       resume);
    }
    if (!cli_opt_find(opts, nopts, "--lr")->seen && strcmp(c.optimizer, "sgd") == 0)
        c.lr = 0.05;
    char ckpt_buf[4096];
    if (ckpt == NULL && resume != NULL)
        ckpt = resume;
    if (ckpt == NULL) {
        size_t len = strlen(out);
        if (len > 3 && strcmp(out + len - 3, ".h5") == 0)
            len -= 3;
        if (len + 10 >= sizeof ckpt_buf)
            return cli_usage_error("train", "--out: path too long");
        snprintf(ckpt_buf, sizeof ckpt_buf, "%.*s.ckpt.h5", (int)len, out);
        ckpt = ckpt_buf;
    }
    cli_threads_set(threads);

    /* fail now, not after hours of training, when --out cannot be written */
    struct cim_err err = {0};
    struct data_atomic probe;
    if (data_atomic_begin(&probe, out, &err) != CIM_OK)
        return cli_fail(&err);
    /* what killed earlier runs left under temporary names */
    data_atomic_clean(out);
    data_atomic_clean(ckpt);
    struct data_set train = {0}, test = {0};
    struct nn_model *m = NULL;
    struct nn_trainer *t = NULL;
    struct cim_train_noise *tn = NULL;
    struct data_checkpoint ck = {0};
    json_t *cfg_root = NULL;
    rc = CLI_EXIT_FAIL;
    if (resume != NULL) {
        if (cli_checkpoint_load(resume, &m, &ck, &err) != CIM_OK ||
            cfg_from_json(ck.options, resume, &c, &cfg_root, &err) != CIM_OK)
            goto fail;
    } else {
        cli_command_line(cli_argc, cli_argv, c.command, sizeof c.command);
        if (init != NULL) {
            if ((m = cli_model_load(init, &err)) == NULL)
                goto fail;
            if (m->quant.n_prec > 0) {
                m->quant.n_prec = 0; /* fine-tuning starts from the FP32 master weights */
            }
            c.model = m->arch;
            m->record = (struct nn_train_record){.test_accuracy = -1, .train_loss = -1,
                                                 .seconds = -1};
        } else if ((m = nn_model_build(c.model, &err)) == NULL ||
                   nn_model_init_params(m, c.seed)) {
            goto fail;
        }
    }
    struct qat_plan qp;
    struct cim_xbar_config ncfg;
    char noise_canon[sizeof m->record.noise_aware];
    noise_canon[0] = '\0';
    if (qat_plan_parse(&c, &qp, &err) != CIM_OK)
        goto fail_usage;
    if (c.noise_aware[0] != '\0' && !qp.opts.on) {
        cim_err_set(&err, CIM_EINVAL, "--noise-aware: expected together with --qat (noise-aware "
                    "training is quantization-aware)");
        goto fail_usage;
    }
    if (c.noise_aware[0] != '\0' && noise_aware_parse(c.noise_aware, c.seed, &ncfg, noise_canon,
                                                       sizeof noise_canon, &err) != CIM_OK)
        goto fail_usage;
    if (data_set_load(data, DATA_SPLIT_TRAIN, &train, &err) != CIM_OK ||
        data_set_load(data, DATA_SPLIT_TEST, &test, &err) != CIM_OK ||
        cli_data_check(m, resume ? resume : init ? init : c.model, &train,
                       data_dir_resolve(data), &err) != CIM_OK ||
        cli_data_check(m, resume ? resume : init ? init : c.model, &test,
                       data_dir_resolve(data), &err) != CIM_OK)
        goto fail;
    if (qp.opts.on && resume == NULL) {
        if (nn_quant_enable(m, &qp.q, &err) != CIM_OK)
            goto fail;
        nn_quant_weight_ranges(m, qp.opts.wmethod, qp.pct);
        if (cli_calibrate(m, &train, qp.amethod, qp.pct, &err) != CIM_OK)
            goto fail;
    }
    struct nn_train_opts to = {
        .epochs = c.epochs, .batch = c.batch,
        .n_train = c.limit > 0 && c.limit < train.n ? c.limit : train.n,
        .lr = c.lr, .schedule = (enum nn_lr_schedule)nn_lr_schedule_parse(c.schedule),
        .step_epochs = c.step_epochs, .step_gamma = c.step_gamma,
        .optim = {.kind = (enum nn_optim_kind)nn_optim_parse(c.optimizer),
                  .momentum = c.momentum, .weight_decay = c.weight_decay, .beta1 = 0.9,
                  .beta2 = 0.999, .eps = 1e-8},
        .seed = c.seed, .qat = qp.opts};
    if ((int)to.schedule < 0 || (int)to.optim.kind < 0) {
        cim_err_set(&err, CIM_EFORMAT, "%s: unknown optimizer or schedule in the checkpoint",
                    resume ? resume : "options");
        goto fail;
    }
    const size_t need = nn_ws_bytes(m, c.batch, 1);
    if (need > cim_mem_total()) {
        cim_err_set(&err, CIM_ENOMEM, "--batch %d: training %s needs %.3g GiB of memory, more "
                    "than the %.3g GiB available; use a smaller --batch", c.batch, m->arch,
                    (double)need / (1 << 30), (double)cim_mem_total() / (1 << 30));
        goto fail;
    }
    struct nn_noise_hook hook;
    if (noise_canon[0] != '\0') {
        if ((tn = cim_train_noise_alloc(m, &ncfg, &err)) == NULL)
            goto fail;
        hook = cim_train_noise_hook(tn);
        to.qat.noise = &hook;
    }
    if ((t = nn_trainer_alloc(m, &to, &err)) == NULL)
        goto fail;
    if (resume != NULL && nn_trainer_state_set(t, ck.epoch, ck.state, ck.state_len) != CIM_OK) {
        cim_err_set(&err, CIM_EFORMAT, "%s: /checkpoint/state has %zu values; expected %zu for "
                    "this model and optimizer", resume, ck.state_len, nn_trainer_state_len(t));
        goto fail;
    }
    if (train_run(m, t, &c, &qp, &train, &test, ckpt, quiet, &err) != CIM_OK)
        goto fail;

    struct nn_train_record *r = &m->record;
    snprintf(r->command, sizeof r->command, "%s", c.command);
    snprintf(r->optimizer, sizeof r->optimizer, "%s", c.optimizer);
    r->created[0] = '\0'; /* data_model_save stamps the time of saving */
    r->batch = c.batch;
    r->lr = c.lr;
    r->seed = c.seed;
    r->seconds = c.seconds;
    snprintf(r->noise_aware, sizeof r->noise_aware, "%s", noise_canon);
    if (data_model_save(out, m, &err) != CIM_OK)
        goto fail;
    unlink(ckpt); /* absent after a one-epoch run: nothing to remove */
    data_atomic_clean(ckpt); /* and what killed writers of it left */
    printf("%s: %s trained %d epochs in %.1f s; test accuracy %.2f%% (%d images)\n", out,
           m->arch, r->epochs, r->seconds, 100.0 * r->test_accuracy, test.n);
    rc = CLI_EXIT_OK;
    goto done;
fail_usage:
    fprintf(stderr, "cim train: %s\n", err.msg);
    rc = CLI_EXIT_USAGE;
    goto done;
fail:
    cli_fail(&err);
done:
    nn_trainer_free(t);
    cim_train_noise_free(tn);
    nn_model_free(m);
    data_checkpoint_release(&ck);
    json_decref(cfg_root);
    data_set_release(&train);
    data_set_release(&test);
    return rc;
}
