/* evaluate.c: accuracy of a model over a data set, batch by batch; see cli.h. */
#include <stdlib.h>

#include "cli/cli.h"
#include "nn/forward.h"
#include "nn/quantize.h"

int cli_data_check(const struct nn_model *m, const char *model, const struct data_set *ds,
                   const char *dir, struct cim_err *err)
{
    if (m->input.c == ds->c && m->input.h == ds->h && m->input.w == ds->w)
        return CIM_OK;
    if (model == NULL || dir == NULL)
        return cim_err_set(err, CIM_EINVAL,
                           "model input %dx%dx%d does not match the data's %dx%dx%d images",
                           m->input.c, m->input.h, m->input.w, ds->c, ds->h, ds->w);
    return cim_err_set(err, CIM_EINVAL,
                       "%s: model input %dx%dx%d does not match the %dx%dx%d images in %s",
                       model, m->input.c, m->input.h, m->input.w, ds->c, ds->h, ds->w, dir);
}

int cli_evaluate(const struct nn_model *m, int prec, const struct nn_exec *ex,
                 const struct data_set *ds, int limit, int batch, long *correct,
                 struct cim_err *err)
{
    int n = limit > 0 && limit < ds->n ? limit : ds->n;
    size_t in = nn_shape_size(m->input);
    if (cli_data_check(m, NULL, ds, NULL, err) != CIM_OK)
        return err->code;
    if (batch > n)
        batch = n > 0 ? n : 1; /* workspace for the images there are, not for --batch */
    const size_t need = nn_ws_bytes(m, batch, 0), have = cim_mem_total();
    if (need > have)
        return cim_err_set(err, CIM_ENOMEM,
                           "--batch %d: evaluating %s needs %.3g GiB of memory, more than the "
                           "%.3g GiB available; use a smaller --batch",
                           batch, m->arch, (double)need / (1 << 30), (double)have / (1 << 30));
    struct nn_ws *ws = nn_ws_alloc(m, batch, 0);
    struct nn_qweights *qw = m->quant.n_prec > 0 ? nn_qweights_alloc(m, 0) : NULL;
    float *x = malloc((size_t)batch * in * sizeof *x);
    uint8_t *y = malloc((size_t)batch);
    int *pred = malloc((size_t)batch * sizeof *pred);
    int rc = CIM_OK;
    if (ws == NULL || x == NULL || y == NULL || pred == NULL ||
        (m->quant.n_prec > 0 && qw == NULL)) {
        rc = cim_err_set(err, CIM_ENOMEM, "out of memory for evaluation at batch %d", batch);
        goto done;
    }
    if (qw != NULL)
        nn_quant_apply(m, prec, qw, ws);
    *correct = 0;
    for (int first = 0; first < n; first += batch) {
        int b = n - first < batch ? n - first : batch;
        data_set_range(ds, first, b, x, y);
        const float *logits;
        rc = nn_forward(m, ex, ws, x, b, &logits);
        if (rc != CIM_OK) {
            cim_err_set(err, rc, "forward pass failed (%s backend)", ex->name);
            goto done;
        }
        nn_argmax_rows(logits, b, m->num_classes, pred);
        for (int s = 0; s < b; s++)
            *correct += pred[s] == y[s];
    }
done:
    nn_qweights_free(qw);
    nn_ws_free(ws);
    free(x);
    free(y);
    free(pred);
    return rc;
}
