/*
 * rtl_vectors: writes operand and expected-output files for the RTL testbenches
 * (rtl/tb/) from the C models: quant_requantize() for the dot-product units and
 * cim_periph_combine() for the shift-add periphery.
 *
 *   rtl-vectors dot --dir D [--n 16 --a-w 8 --w-w 8 --a-signed 0 --out-w 16
 *                   --shift 4 --round 0 --sat 1 --arch exact|early|cheap --guard 2
 *                   --count 200 --seed 1 --kind all|realistic]
 *   rtl-vectors shift-add --dir D [--adc 6 --dac 1 --in-slices 8 --cell 2
 *                   --w-slices 4 --acc-w 0 --out-w 16 --shift 0 --round 0
 *                   --sat 1 --count 200 --seed 1 --kind all|realistic]
 *
 * and for both, where the realistic operands come from:
 *
 *   --operands network --model FILE.h5 [--data DIR]   (the default)
 *   --operands synthetic | uniform
 *
 * dot writes D/a.hex and D/w.hex (one packed operand vector per line, lane 0
 * in the low bits) and D/y.hex (the expected output, OUT_W bits in hex);
 * shift-add writes D/d.hex (in_slices lines per output, most significant input
 * slice first, weight slice 0 in the low bits) and D/y.hex. --acc-w 0 means the
 * lossless width. Both print one line on stdout:
 *
 *   vectors <total> realistic <count> err_mean <e> err_mae <e> err_max <e>
 *
 * (shift-add adds "acc_w <bits>", the accumulator width used),
 * the error statistics being over the realistic vectors, in output LSBs,
 * against the exact (unrounded, unsaturated) value acc / 2^shift of the exact
 * dot product: floor's bias, saturation and the early datapath's truncation
 * all show there. --kind realistic writes only the realistic vectors (what
 * the power flow simulates); all adds the edge cases first: zeros, all-max
 * and all-min operands, uniform full-range operands (overflow both ways when
 * OUT_W is narrow), and operands found by a seeded search for rounding ties
 * with an even and an odd kept part and for results one step inside and
 * outside the output range.
 *
 * Realistic operands come from a trained network (--operands network, the
 * shipped data/weights/lenet5-fmnist.h5): the integer weight codes of its
 * dense and conv2d layers (nn/integer.h) and the unsigned input codes of those
 * layers on Fashion-MNIST test images (the fake-quant forward pass of
 * nn/quantize.h: pixels for the first layer, post-ReLU, pooled codes for the
 * others). The precision is the model's W8A8 for 8-bit units and W4A4 (the
 * nested codes) for 4-bit ones; a unit of another width gets the high codes
 * shifted right until they fit. One dot product is a slice of N consecutive
 * terms of one output's fan-in (one image, one output channel and position,
 * a chunk of N rows of the im2col column, as a crossbar tile of N rows
 * holds it), lanes past the fan-in zero; the layer is drawn in proportion to
 * its multiply-accumulates per image, so the mix is that of an inference.
 * Consecutive vectors are independent draws. --operands synthetic draws
 * post-ReLU-like codes instead (half zeros, the rest exponential with a mean
 * of 1/10 of full scale; Gaussian weights with sigma a third of full scale);
 * uniform draws both uniformly over their full range (what a power estimate
 * without data would assume). For the shift-add, a 32-row column of such
 * operands is sliced, each (input slice, weight slice) pair of columns is
 * summed and converted by an ADC calibrated to a quarter of the lossless full
 * scale (clipping), and the codes of the pair are subtracted.
 *
 * Exit status 0, 2 on bad usage, 1 when a file cannot be written or the
 * model or the images cannot be read.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "base/rng.h"
#include "cim/periph.h"
#include "data/dataset.h"
#include "data/model_file.h"
#include "nn/exec.h"
#include "nn/forward.h"
#include "nn/integer.h"
#include "nn/quantize.h"
#include "quant/round.h"

#define LANES_MAX 256
#define SLICES_MAX (CIM_PERIPH_SLICES_MAX * CIM_PERIPH_SLICES_MAX)
#define SEARCH_TRIES 150000 /* per edge-case target; each try is one random vector */
#define NET_IMAGES 16       /* test images whose layer inputs make the operands */

/* ---------------------------------------------------------------- options */

struct opts {
    const char *dir;
    int n, a_w, w_w, a_signed, out_w, shift, round, sat, early, guard;
    int adc, dac, in_slices, cell, w_slices, acc_w;
    int count, kind_all;
    unsigned long seed;
    enum { OPS_NETWORK, OPS_SYNTHETIC, OPS_UNIFORM } operands;
    const char *model, *data;
};

static void usage(const char *why)
{
    fprintf(stderr, "rtl-vectors: %s\n"
                    "usage: rtl-vectors dot|shift-add --dir DIR [--name value ...]\n",
            why);
    exit(2);
}

static int parse_int(const char *name, const char *v, int lo, int hi)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || end == v || x < lo || x > hi) {
        char msg[200];
        snprintf(msg, sizeof msg, "--%s wants an integer in %d..%d, not '%s'", name, lo, hi,
                 v);
        usage(msg);
    }
    return (int)x;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.n = 16, .a_w = 8, .w_w = 8, .out_w = 16, .shift = 4, .sat = 1,
                       .guard = 2, .adc = 6, .dac = 1, .in_slices = 8, .cell = 2,
                       .w_slices = 4, .count = 200, .kind_all = 1, .seed = 1};
    for (int k = 2; k < argc; k += 2) {
        const char *key = argv[k];
        if (strncmp(key, "--", 2) != 0 || k + 1 >= argc)
            usage("options come as --name value pairs");
        key += 2;
        const char *v = argv[k + 1];
        if (strcmp(key, "dir") == 0)
            o->dir = v;
        else if (strcmp(key, "model") == 0)
            o->model = v;
        else if (strcmp(key, "data") == 0)
            o->data = v;
        else if (strcmp(key, "operands") == 0) {
            if (strcmp(v, "network") == 0)
                o->operands = OPS_NETWORK;
            else if (strcmp(v, "synthetic") == 0)
                o->operands = OPS_SYNTHETIC;
            else if (strcmp(v, "uniform") == 0)
                o->operands = OPS_UNIFORM;
            else
                usage("--operands is network, synthetic or uniform");
        } else if (strcmp(key, "arch") == 0) {
            if (strcmp(v, "exact") != 0 && strcmp(v, "early") != 0 && strcmp(v, "cheap") != 0)
                usage("--arch is exact, early or cheap (cheap computes what exact does)");
            o->early = strcmp(v, "early") == 0;
        } else if (strcmp(key, "kind") == 0) {
            if (strcmp(v, "all") != 0 && strcmp(v, "realistic") != 0)
                usage("--kind is all or realistic");
            o->kind_all = strcmp(v, "all") == 0;
        } else if (strcmp(key, "seed") == 0)
            o->seed = (unsigned long)parse_int(key, v, 0, 1000000000);
        else if (strcmp(key, "n") == 0)
            o->n = parse_int(key, v, 1, LANES_MAX);
        else if (strcmp(key, "a-w") == 0)
            o->a_w = parse_int(key, v, 2, 16);
        else if (strcmp(key, "w-w") == 0)
            o->w_w = parse_int(key, v, 2, 16);
        else if (strcmp(key, "a-signed") == 0)
            o->a_signed = parse_int(key, v, 0, 1);
        else if (strcmp(key, "out-w") == 0)
            o->out_w = parse_int(key, v, 1, 64);
        else if (strcmp(key, "shift") == 0)
            o->shift = parse_int(key, v, 0, 60);
        else if (strcmp(key, "round") == 0)
            o->round = parse_int(key, v, 0, QUANT_ROUND_COUNT - 1);
        else if (strcmp(key, "sat") == 0)
            o->sat = parse_int(key, v, 0, 1);
        else if (strcmp(key, "guard") == 0)
            o->guard = parse_int(key, v, 0, 60);
        else if (strcmp(key, "adc") == 0)
            o->adc = parse_int(key, v, 1, CIM_PERIPH_ADC_BITS_MAX);
        else if (strcmp(key, "dac") == 0)
            o->dac = parse_int(key, v, 1, CIM_PERIPH_SLICE_BITS_MAX);
        else if (strcmp(key, "in-slices") == 0)
            o->in_slices = parse_int(key, v, 1, CIM_PERIPH_SLICES_MAX);
        else if (strcmp(key, "cell") == 0)
            o->cell = parse_int(key, v, 1, CIM_PERIPH_SLICE_BITS_MAX);
        else if (strcmp(key, "w-slices") == 0)
            o->w_slices = parse_int(key, v, 1, CIM_PERIPH_SLICES_MAX);
        else if (strcmp(key, "acc-w") == 0)
            o->acc_w = parse_int(key, v, 0, 64);
        else if (strcmp(key, "count") == 0)
            o->count = parse_int(key, v, 1, 1000000);
        else {
            char msg[200];
            snprintf(msg, sizeof msg, "unknown option --%s", key);
            usage(msg);
        }
    }
    if (o->dir == NULL)
        usage("--dir is required");
    if (o->operands == OPS_NETWORK && o->model == NULL)
        usage("--operands network needs --model FILE.h5");
}

/* ---------------------------------------------------------------- output */

struct sink {
    FILE *f[3];
    const char *dir;
};

static FILE *open_in(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "rtl-vectors: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return f;
}

static void close_checked(FILE *f, const char *dir)
{
    if (ferror(f) || fclose(f) != 0) {
        fprintf(stderr, "rtl-vectors: %s: write failed\n", dir);
        exit(1);
    }
}

/* One line of hex: `n` fields of `width` bits each (two's complement), field 0
 * in the least significant bits, most significant digit first. */
static void put_packed(FILE *f, const int64_t *v, int n, int width)
{
    int bits = n * width;
    int digits = (bits + 3) / 4;
    for (int dg = digits - 1; dg >= 0; dg--) {
        unsigned nib = 0;
        for (int b = 3; b >= 0; b--) {
            int pos = dg * 4 + b;
            unsigned bit = 0;
            if (pos < bits) {
                int field = pos / width, off = pos % width;
                bit = (unsigned)(((uint64_t)v[field] >> off) & 1u);
            }
            nib = (nib << 1) | bit;
        }
        fputc("0123456789abcdef"[nib], f);
    }
    fputc('\n', f);
}

/* ---------------------------------------------------------------- statistics */

struct err_stats {
    long n;
    double sum, sum_abs, max_abs;
};

/* Error of y against the exact acc / 2^shift, in output LSBs. */
static void err_add(struct err_stats *s, int64_t y, int64_t acc, int shift)
{
    double e = (double)y - ldexp((double)acc, -shift);
    s->n++;
    s->sum += e;
    s->sum_abs += fabs(e);
    if (fabs(e) > s->max_abs)
        s->max_abs = fabs(e);
}

/* The report line; acc_w < 0 leaves the accumulator width out. */
static void report(long total, const struct err_stats *s, int acc_w)
{
    double n = s->n > 0 ? (double)s->n : 1.0;
    printf("vectors %ld realistic %ld err_mean %.6g err_mae %.6g err_max %.6g", total, s->n,
           s->sum / n, s->sum_abs / n, s->max_abs);
    if (acc_w >= 0)
        printf(" acc_w %d", acc_w);
    printf("\n");
}

/* ---------------------------------------------------------------- operands */

/* A post-ReLU activation code in [0, amax] (or a signed one when `sgn`): zero
 * with probability 1/2, else exponential with mean amax / 10, rounded. */
static int64_t draw_activation(gsl_rng *r, int64_t amin, int64_t amax, int sgn)
{
    if (gsl_rng_uniform(r) < 0.5)
        return 0;
    double v = nearbyint(gsl_ran_exponential(r, (double)amax / 10.0));
    if (sgn && gsl_rng_uniform(r) < 0.5)
        v = -v;
    if (v > (double)amax)
        v = (double)amax;
    if (v < (double)amin)
        v = (double)amin;
    return (int64_t)v;
}

/* A weight code: Gaussian with sigma wmax / 3, rounded to nearest even,
 * clipped to the symmetric range [-wmax, wmax]. */
static int64_t draw_weight(gsl_rng *r, int64_t wmax)
{
    double v = nearbyint(gsl_ran_gaussian(r, (double)wmax / 3.0));
    if (v > (double)wmax)
        v = (double)wmax;
    if (v < (double)-wmax)
        v = (double)-wmax;
    return (int64_t)v;
}

/* Uniform in [lo, hi] divided by 2^k: random magnitudes for the searches. */
static int64_t draw_scaled(gsl_rng *r, int64_t lo, int64_t hi, int k)
{
    int64_t v = lo + (int64_t)gsl_rng_uniform_int(r, (unsigned long)(hi - lo + 1));
    return quant_round_shift(v, k, QUANT_ROUND_FLOOR);
}

/* ---------------------------------------------------------------- network operands */

/* The dense and conv2d layers of a trained network at one precision: weight
 * codes [out, fan-in] and the input codes of NET_IMAGES test images, from
 * which operand slices are cut. */
struct net_layer {
    int fan_in, outs, positions; /* positions: output pixels (1 for dense) */
    int c, h, w, k, stride, pad; /* the input's shape and the window (conv2d) */
    int32_t *wcode;              /* [outs, fan_in] */
    int32_t *acode;              /* [NET_IMAGES, c*h*w] */
    double macs;                 /* fan_in * outs * positions, for the draw */
};

struct net_ops {
    int n_layers, abits, wbits;
    struct net_layer layer[NN_MODEL_LAYERS_MAX];
    double macs_total;
};

static void net_free(struct net_ops *net)
{
    for (int i = 0; i < net->n_layers; i++) {
        free(net->layer[i].wcode);
        free(net->layer[i].acode);
    }
    net->n_layers = 0;
}

static void net_fail(const char *what, const char *why)
{
    fprintf(stderr, "rtl-vectors: %s: %s\n", what, why);
    exit(1);
}

/* Load the model and the images, run them at the precision whose bit-widths
 * are closest to (a_w, w_w) from above (else the high one), and keep every
 * weight layer's codes. The images are drawn from the test split by `r`. */
static void net_load(struct net_ops *net, const struct opts *o, gsl_rng *r)
{
    struct cim_err err = {0};
    data_init();
    struct nn_model *m = data_model_load(o->model, &err);
    if (m == NULL)
        net_fail(o->model, err.msg);
    if (m->quant.n_prec < 1)
        net_fail(o->model, "an FP32 model has no integer codes (use a QAT model)");
    int p = 0;
    for (int q = 1; q < m->quant.n_prec; q++)
        if (m->quant.abits[q] >= o->a_w && m->quant.wbits[q] >= o->w_w)
            p = q;
    struct nn_int_model *im = nn_int_model_alloc(m, p, &err);
    if (im == NULL)
        net_fail(o->model, err.msg);
    struct data_set ds = {0};
    if (data_set_load(o->data, DATA_SPLIT_TEST, &ds, &err) != CIM_OK)
        net_fail("test images", err.msg);
    size_t in_per = (size_t)ds.c * (size_t)ds.h * (size_t)ds.w;
    if (ds.c != m->input.c || ds.h != m->input.h || ds.w != m->input.w)
        net_fail(o->model, "the model's input shape is not the images'");
    int idx[NET_IMAGES];
    for (int b = 0; b < NET_IMAGES; b++)
        idx[b] = (int)gsl_rng_uniform_int(r, (unsigned long)ds.n);
    float *x = malloc(NET_IMAGES * in_per * sizeof *x);
    struct nn_ws *ws = nn_ws_alloc(m, NET_IMAGES, 0);
    struct nn_qweights *qw = nn_qweights_alloc(m, 0);
    if (x == NULL || ws == NULL || qw == NULL)
        net_fail("rtl-vectors", "out of memory");
    data_set_batch(&ds, idx, NET_IMAGES, x, NULL);
    nn_quant_apply(m, p, qw, ws);
    const float *logits;
    if (nn_forward(m, &nn_exec_fp32, ws, x, NET_IMAGES, &logits) != CIM_OK)
        net_fail(o->model, "forward pass failed");

    *net = (struct net_ops){.abits = m->quant.abits[p], .wbits = m->quant.wbits[p]};
    for (int i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (l->type == NN_LAYER_MAXPOOL)
            continue;
        struct net_layer *nl = &net->layer[net->n_layers++];
        size_t per = nn_shape_size(l->in);
        *nl = (struct net_layer){.c = l->in.c, .h = l->in.h, .w = l->in.w, .k = 1,
                                 .stride = 1, .outs = l->weight.n, .positions = 1};
        nl->fan_in = l->weight.c * l->weight.h * l->weight.w;
        if (l->type == NN_LAYER_CONV2D) {
            nl->k = l->kernel;
            nl->stride = l->stride;
            nl->pad = l->pad;
            nl->positions = l->out.h * l->out.w;
        }
        nl->macs = (double)nl->fan_in * nl->outs * nl->positions;
        net->macs_total += nl->macs;
        nl->wcode = malloc((size_t)nl->outs * (size_t)nl->fan_in * sizeof(int32_t));
        nl->acode = malloc(NET_IMAGES * per * sizeof(int32_t));
        if (nl->wcode == NULL || nl->acode == NULL)
            net_fail("rtl-vectors", "out of memory");
        memcpy(nl->wcode, nn_int_model_codes(im, i),
               (size_t)nl->outs * (size_t)nl->fan_in * sizeof(int32_t));
        /* The quantized input is code * step; the step at the low precision
         * is the high one times 2^(A_hi - A_lo). */
        double step = (double)l->ascale * ldexp(1.0, m->quant.abits[0] - net->abits);
        const float *q = ws->actq[i];
        if (q == NULL || ws->aq[i].bits == 0)
            net_fail(o->model, "a layer input is not quantized");
        for (size_t k = 0; k < NET_IMAGES * per; k++) {
            double c = (double)q[k] / step;
            if (fabs(c - nearbyint(c)) > 1e-3 || nearbyint(c) < 0.0 ||
                nearbyint(c) > ldexp(1.0, net->abits) - 1.0)
                net_fail(o->model, "a quantized input is not an unsigned code");
            nl->acode[k] = (int32_t)nearbyint(c);
        }
    }
    nn_qweights_free(qw);
    nn_ws_free(ws);
    free(x);
    data_set_release(&ds);
    nn_int_model_free(im);
    nn_model_free(m);
}

/* Input code `k` of the fan-in of output position `pos` of image `img`: the
 * im2col element (channel, ky, kx) of the window, 0 in the padding. */
static int32_t net_act(const struct net_layer *l, int img, int pos, int k)
{
    const int32_t *a = l->acode + (size_t)img * (size_t)l->c * (size_t)l->h * (size_t)l->w;
    if (l->positions == 1 && l->k == 1)
        return a[k];
    int ow = (l->w + 2 * l->pad - l->k) / l->stride + 1;
    int c = k / (l->k * l->k), ky = k / l->k % l->k, kx = k % l->k;
    int y = pos / ow * l->stride - l->pad + ky, x = pos % ow * l->stride - l->pad + kx;
    if (y < 0 || y >= l->h || x < 0 || x >= l->w)
        return 0;
    return a[((size_t)c * (size_t)l->h + (size_t)y) * (size_t)l->w + (size_t)x];
}

/* Fit a code of `from` bits into `to` bits by dropping low bits: unsigned
 * codes are floored, signed symmetric ones truncated toward zero so that
 * they stay symmetric. */
static int64_t net_fit(int64_t v, int from, int to)
{
    if (from <= to)
        return v;
    int d = from - to;
    return v < 0 ? -((-v) >> d) : v >> d;
}

/* One slice of `n` terms: a[k], w[k] for k < n (zeros past the fan-in). The
 * codes are fitted to a_bits unsigned (a_bits + 1 signed when a_sgn, whose
 * positive half holds them) and w_bits signed. */
static void net_draw(const struct net_ops *net, gsl_rng *r, int n, int a_bits, int a_sgn,
                     int w_bits, int64_t *a, int64_t *w)
{
    double u = gsl_rng_uniform(r) * net->macs_total;
    int li = 0;
    while (li < net->n_layers - 1 && u >= net->layer[li].macs) {
        u -= net->layer[li].macs;
        li++;
    }
    const struct net_layer *l = &net->layer[li];
    int img = (int)gsl_rng_uniform_int(r, NET_IMAGES);
    int o = (int)gsl_rng_uniform_int(r, (unsigned long)l->outs);
    int pos = (int)gsl_rng_uniform_int(r, (unsigned long)l->positions);
    int chunks = (l->fan_in + n - 1) / n;
    int k0 = (int)gsl_rng_uniform_int(r, (unsigned long)chunks) * n;
    int a_to = a_sgn ? a_bits - 1 : a_bits;
    for (int i = 0; i < n; i++) {
        int k = k0 + i;
        if (k >= l->fan_in) {
            a[i] = w[i] = 0;
            continue;
        }
        a[i] = net_fit(net_act(l, img, pos, k), net->abits, a_to);
        w[i] = net_fit(l->wcode[(size_t)o * (size_t)l->fan_in + (size_t)k], net->wbits, w_bits);
    }
}

/* ---------------------------------------------------------------- edge searches */

/* The targets of the edge-case search, as predicates on the requantizer's
 * input x and shift s against the output range [omin, omax]. */
enum target {
    T_TIE_EVEN, /* dropped bits exactly 100..0, kept part even */
    T_TIE_ODD,  /* ... kept part odd */
    T_OVER1,    /* rounded value omax + 1 */
    T_UNDER1,   /* rounded value omin - 1 */
    T_MAX,      /* rounded value omax */
    T_MIN,      /* rounded value omin */
    T_COUNT
};

static int hits(enum target t, int64_t x, int s, int mode, int out_w)
{
    int64_t q = quant_round_shift(x, s, QUANT_ROUND_FLOOR);
    int64_t rnd = quant_round_shift(x, s, (enum quant_round)mode);
    int64_t omax = out_w >= 64 ? INT64_MAX : (INT64_C(1) << (out_w - 1)) - 1;
    int64_t omin = -omax - 1;
    int64_t half = s >= 1 ? INT64_C(1) << (s - 1) : 0;
    int64_t low = s >= 1 ? x - q * (INT64_C(1) << s) : 0;
    switch (t) {
    case T_TIE_EVEN:
        return s >= 1 && low == half && (q & 1) == 0;
    case T_TIE_ODD:
        return s >= 1 && low == half && (q & 1) != 0;
    case T_OVER1:
        return out_w < 64 && rnd == omax + 1;
    case T_UNDER1:
        return out_w < 64 && rnd == omin - 1;
    case T_MAX:
        return rnd == omax;
    case T_MIN:
        return rnd == omin;
    case T_COUNT:
        break;
    }
    return 0;
}

/* ---------------------------------------------------------------- dot */

struct dot_cfg {
    const struct opts *o;
    int64_t amin, amax, wmax, wmin;
    int drop, acc_shift; /* early: bits dropped per product, and the rest */
};

/* The requantizer's input for operands (a, w): the exact sum, or for the
 * early datapath the sum of products floored by `drop` bits. *exact gets the
 * exact sum. */
static int64_t dot_x(const struct dot_cfg *c, const int64_t *a, const int64_t *w,
                     int64_t *exact)
{
    int64_t s = 0, e = 0;
    for (int i = 0; i < c->o->n; i++) {
        int64_t p = a[i] * w[i];
        e += p;
        s += quant_round_shift(p, c->drop, QUANT_ROUND_FLOOR);
    }
    *exact = e;
    return s;
}

static void dot_emit(const struct dot_cfg *c, struct sink *out, const int64_t *a,
                     const int64_t *w, struct err_stats *st)
{
    const struct opts *o = c->o;
    int64_t exact;
    int64_t x = dot_x(c, a, w, &exact);
    int64_t y = quant_requantize(x, c->acc_shift, o->out_w, (enum quant_round)o->round,
                                 (enum quant_overflow)o->sat);
    put_packed(out->f[0], a, o->n, o->a_w);
    put_packed(out->f[1], w, o->n, o->w_w);
    put_packed(out->f[2], &y, 1, o->out_w);
    if (st != NULL)
        err_add(st, y, exact, o->shift);
}

static long dot_edges(const struct dot_cfg *c, struct sink *out, gsl_rng *r)
{
    const struct opts *o = c->o;
    int64_t a[LANES_MAX], w[LANES_MAX];
    long emitted = 0;
    /* Constant operands: every combination of {0, min, max} activations with
     * {min, max, 1} weights, then alternating signs. */
    const int64_t as[3] = {0, c->amin, c->amax};
    const int64_t ws[3] = {c->wmin, c->wmax, 1};
    for (int ia = 0; ia < 3; ia++)
        for (int iw = 0; iw < 3; iw++) {
            if (ia == 1 && c->amin == 0)
                continue;
            for (int i = 0; i < o->n; i++) {
                a[i] = as[ia];
                w[i] = ws[iw];
            }
            dot_emit(c, out, a, w, NULL);
            emitted++;
        }
    for (int i = 0; i < o->n; i++) {
        a[i] = c->amax;
        w[i] = i % 2 ? c->wmin : c->wmax;
    }
    dot_emit(c, out, a, w, NULL);
    emitted++;
    /* Uniform full-range operands. */
    for (int v = 0; v < 24; v++) {
        for (int i = 0; i < o->n; i++) {
            a[i] = draw_scaled(r, c->amin, c->amax, 0);
            w[i] = draw_scaled(r, c->wmin, c->wmax, 0);
        }
        dot_emit(c, out, a, w, NULL);
        emitted++;
    }
    /* Searches: random operands at random magnitudes until each target is hit
     * twice (or the tries run out: some targets are unreachable, e.g. a tie
     * when SHIFT exceeds the accumulator). */
    for (int t = 0; t < T_COUNT; t++) {
        int found = 0;
        for (long k = 0; k < SEARCH_TRIES && found < 2; k++) {
            int ka = (int)gsl_rng_uniform_int(r, (unsigned long)o->a_w);
            int kw = (int)gsl_rng_uniform_int(r, (unsigned long)o->w_w);
            for (int i = 0; i < o->n; i++) {
                a[i] = draw_scaled(r, c->amin, c->amax, ka);
                w[i] = draw_scaled(r, c->wmin, c->wmax, kw);
            }
            int64_t exact;
            int64_t x = dot_x(c, a, w, &exact);
            if (hits((enum target)t, x, c->acc_shift, o->round, o->out_w)) {
                dot_emit(c, out, a, w, NULL);
                emitted++;
                found++;
            }
        }
    }
    return emitted;
}

/* Realistic operands of one dot product by the chosen source. */
static void dot_realistic(const struct dot_cfg *c, const struct net_ops *net, gsl_rng *r,
                          int64_t *a, int64_t *w)
{
    const struct opts *o = c->o;
    if (o->operands == OPS_NETWORK) {
        net_draw(net, r, o->n, o->a_w, o->a_signed, o->w_w, a, w);
        return;
    }
    for (int i = 0; i < o->n; i++) {
        if (o->operands == OPS_UNIFORM) {
            a[i] = draw_scaled(r, c->amin, c->amax, 0);
            w[i] = draw_scaled(r, -c->wmax, c->wmax, 0);
        } else {
            a[i] = draw_activation(r, c->amin, c->amax, o->a_signed);
            w[i] = draw_weight(r, c->wmax);
        }
    }
}

static void run_dot(const struct opts *o, gsl_rng *r, const struct net_ops *net)
{
    struct dot_cfg c = {.o = o};
    c.amax = o->a_signed ? (INT64_C(1) << (o->a_w - 1)) - 1 : (INT64_C(1) << o->a_w) - 1;
    c.amin = o->a_signed ? -(INT64_C(1) << (o->a_w - 1)) : 0;
    c.wmax = (INT64_C(1) << (o->w_w - 1)) - 1;
    c.wmin = -(INT64_C(1) << (o->w_w - 1));
    /* cim_dot_early: DROP = min(max(SHIFT - GUARD, 0), A_W + W_W - 2). */
    int drop = 0;
    if (o->early) {
        drop = o->shift > o->guard ? o->shift - o->guard : 0;
        if (drop > o->a_w + o->w_w - 2)
            drop = o->a_w + o->w_w - 2;
    }
    c.drop = drop;
    c.acc_shift = o->shift - drop;

    struct sink out = {.dir = o->dir};
    out.f[0] = open_in(o->dir, "a.hex");
    out.f[1] = open_in(o->dir, "w.hex");
    out.f[2] = open_in(o->dir, "y.hex");
    long total = o->kind_all ? dot_edges(&c, &out, r) : 0;
    struct err_stats st = {0};
    int64_t a[LANES_MAX], w[LANES_MAX];
    for (int v = 0; v < o->count; v++) {
        dot_realistic(&c, net, r, a, w);
        dot_emit(&c, &out, a, w, &st);
        total++;
    }
    for (int k = 0; k < 3; k++)
        close_checked(out.f[k], o->dir);
    report(total, &st, -1);
}

/* ---------------------------------------------------------------- shift-add */

static void sa_emit(const struct cim_periph *p, struct sink *out, const int32_t *codes,
                    struct err_stats *st)
{
    int64_t row[CIM_PERIPH_SLICES_MAX];
    for (int i = p->in_slices - 1; i >= 0; i--) {
        for (int j = 0; j < p->w_slices; j++)
            row[j] = codes[i * p->w_slices + j];
        put_packed(out->f[0], row, p->w_slices, p->adc_bits + 1);
    }
    int64_t y = cim_periph_combine(p, codes);
    put_packed(out->f[1], &y, 1, p->out_bits);
    if (st != NULL) {
        struct cim_periph wide = *p;
        wide.acc_bits = 64;
        err_add(st, y, cim_periph_accumulate(&wide, codes), p->shift);
    }
}

static long sa_edges(const struct cim_periph *p, struct sink *out, gsl_rng *r)
{
    int32_t codes[SLICES_MAX];
    int nc = p->in_slices * p->w_slices;
    int32_t cmax = (int32_t)((1 << p->adc_bits) - 1);
    long emitted = 0;
    const int32_t consts[3] = {0, cmax, -cmax};
    for (int k = 0; k < 3; k++) {
        for (int c = 0; c < nc; c++)
            codes[c] = consts[k];
        sa_emit(p, out, codes, NULL);
        emitted++;
    }
    for (int c = 0; c < nc; c++)
        codes[c] = c % 2 ? -cmax : cmax;
    sa_emit(p, out, codes, NULL);
    emitted++;
    for (int v = 0; v < 24; v++) {
        for (int c = 0; c < nc; c++)
            codes[c] = (int32_t)draw_scaled(r, -cmax, cmax, 0);
        sa_emit(p, out, codes, NULL);
        emitted++;
    }
    for (int t = 0; t < T_COUNT; t++) {
        int found = 0;
        for (long k = 0; k < SEARCH_TRIES && found < 2; k++) {
            int kc = (int)gsl_rng_uniform_int(r, (unsigned long)p->adc_bits + 1);
            for (int c = 0; c < nc; c++)
                codes[c] = (int32_t)draw_scaled(r, -cmax, cmax, kc);
            if (hits((enum target)t, cim_periph_accumulate(p, codes), p->shift, p->round,
                     p->out_bits)) {
                sa_emit(p, out, codes, NULL);
                emitted++;
                found++;
            }
        }
    }
    return emitted;
}

#define SA_ROWS 32

/* The codes of one realistic column pair: see the file comment. */
static void sa_realistic(const struct cim_periph *p, const struct opts *o,
                         const struct net_ops *net, gsl_rng *r, int32_t *codes)
{
    int a_bits = p->in_slices * p->dac_bits, w_bits = p->w_slices * p->cell_bits;
    int64_t amax = a_bits >= 62 ? INT64_MAX : (INT64_C(1) << a_bits) - 1;
    int64_t wmax = w_bits >= 62 ? INT64_MAX : (INT64_C(1) << w_bits) - 1;
    if (a_bits > 16)
        amax = 65535;
    if (w_bits > 16)
        wmax = 32767;
    int64_t a[SA_ROWS], w[SA_ROWS];
    if (o->operands == OPS_NETWORK)
        net_draw(net, r, SA_ROWS, a_bits > 16 ? 16 : a_bits, 0, w_bits > 15 ? 16 : w_bits + 1,
                 a, w);
    else
        for (int k = 0; k < SA_ROWS; k++) {
            if (o->operands == OPS_UNIFORM) {
                a[k] = draw_scaled(r, 0, amax, 0);
                w[k] = draw_scaled(r, -wmax, wmax, 0);
            } else {
                a[k] = draw_activation(r, 0, amax, 0);
                w[k] = draw_weight(r, wmax);
            }
        }
    int64_t dmask = (INT64_C(1) << p->dac_bits) - 1, cmask = (INT64_C(1) << p->cell_bits) - 1;
    double full = (double)SA_ROWS * (double)dmask * (double)cmask;
    double cal = full / 4.0;
    int32_t cmax = (int32_t)((1 << p->adc_bits) - 1);
    for (int i = 0; i < p->in_slices; i++)
        for (int j = 0; j < p->w_slices; j++) {
            int64_t pos = 0, neg = 0;
            for (int k = 0; k < SA_ROWS; k++) {
                int64_t as = (a[k] >> (i * p->dac_bits)) & dmask;
                int64_t mag = w[k] < 0 ? -w[k] : w[k];
                int64_t ws = (mag >> (j * p->cell_bits)) & cmask;
                if (w[k] > 0)
                    pos += as * ws;
                else
                    neg += as * ws;
            }
            double cp = nearbyint((double)pos * (double)cmax / cal);
            double cn = nearbyint((double)neg * (double)cmax / cal);
            int32_t ip = cp > (double)cmax ? cmax : (int32_t)cp;
            int32_t in = cn > (double)cmax ? cmax : (int32_t)cn;
            codes[i * p->w_slices + j] = ip - in;
        }
}

static void run_shift_add(const struct opts *o, gsl_rng *r, const struct net_ops *net)
{
    struct cim_periph p = {.adc_bits = o->adc, .dac_bits = o->dac, .in_slices = o->in_slices,
                           .cell_bits = o->cell, .w_slices = o->w_slices,
                           .out_bits = o->out_w, .shift = o->shift,
                           .round = (enum quant_round)o->round,
                           .overflow = (enum quant_overflow)o->sat};
    p.acc_bits = 64;
    struct cim_err err = {0};
    if (cim_periph_check(&p, &err) != CIM_OK)
        usage(err.msg);
    p.acc_bits = o->acc_w > 0 ? o->acc_w : cim_periph_acc_bits_lossless(&p);

    struct sink out = {.dir = o->dir};
    out.f[0] = open_in(o->dir, "d.hex");
    out.f[1] = open_in(o->dir, "y.hex");
    long total = o->kind_all ? sa_edges(&p, &out, r) : 0;
    struct err_stats st = {0};
    int32_t codes[SLICES_MAX];
    for (int v = 0; v < o->count; v++) {
        sa_realistic(&p, o, net, r, codes);
        sa_emit(&p, &out, codes, &st);
        total++;
    }
    close_checked(out.f[0], o->dir);
    close_checked(out.f[1], o->dir);
    report(total, &st, p.acc_bits);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage("which unit: dot or shift-add");
    struct opts o;
    parse_opts(argc, argv, &o);
    cim_base_init();
    int dot = strcmp(argv[1], "dot") == 0;
    if (!dot && strcmp(argv[1], "shift-add") != 0)
        usage("the first argument is dot or shift-add");
    if (dot && o.a_w + o.w_w + 8 > 62)
        usage("--a-w plus --w-w must stay within 54 bits");
    gsl_rng *r = cim_rng_alloc(o.seed, cim_rng_stream(CIM_RNG_TEST, 6));
    /* The images come from their own stream, so that every point of a sweep
     * with the same seed sees the same layer inputs. */
    gsl_rng *ri = cim_rng_alloc(o.seed, cim_rng_stream(CIM_RNG_TEST, 7));
    if (r == NULL || ri == NULL) {
        fprintf(stderr, "rtl-vectors: out of memory\n");
        return 1;
    }
    struct net_ops net = {0};
    if (o.operands == OPS_NETWORK) {
        /* shift-add: the column's codes are those of an A x W unit whose
         * widths are the slices' */
        struct opts oo = o;
        if (!dot) {
            oo.a_w = o.in_slices * o.dac;
            oo.w_w = o.w_slices * o.cell + 1;
        }
        net_load(&net, &oo, ri);
    }
    if (dot)
        run_dot(&o, r, &net);
    else
        run_shift_add(&o, r, &net);
    net_free(&net);
    gsl_rng_free(ri);
    gsl_rng_free(r);
    return 0;
}
