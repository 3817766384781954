/*
 * rtl_vectors: writes operand and expected-output files for the RTL testbenches
 * (rtl/tb/) from the C models: quant_requantize() for the dot-product units and
 * cim_periph_combine() for the shift-add periphery.
 *
 *   rtl-vectors dot --dir D [--n 16 --a-w 8 --w-w 8 --a-signed 0 --out-w 16
 *                   --shift 4 --round 0 --sat 1 --arch exact|early --guard 2
 *                   --count 200 --seed 1 --kind all|realistic]
 *   rtl-vectors shift-add --dir D [--adc 6 --dac 1 --in-slices 8 --cell 2
 *                   --w-slices 4 --acc-w 0 --out-w 16 --shift 0 --round 0
 *                   --sat 1 --count 200 --seed 1 --kind all|realistic]
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
 * Realistic operands are synthetic until the trained weights ship: post-ReLU
 * activations (half zeros, the rest exponential with a mean of 1/10 of full
 * scale) and Gaussian weight codes (sigma a third of full scale, rounded to
 * nearest even). For the shift-add, a 32-row column with such operands is
 * sliced, each (input slice, weight slice) pair of columns is summed and
 * converted by an ADC calibrated to a quarter of the lossless full scale
 * (clipping), and the codes of the pair are subtracted.
 *
 * Exit status 0, 2 on bad usage, 1 when a file cannot be written.
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
#include "quant/round.h"

#define LANES_MAX 256
#define SLICES_MAX (CIM_PERIPH_SLICES_MAX * CIM_PERIPH_SLICES_MAX)
#define SEARCH_TRIES 150000 /* per edge-case target; each try is one random vector */

/* ---------------------------------------------------------------- options */

struct opts {
    const char *dir;
    int n, a_w, w_w, a_signed, out_w, shift, round, sat, early, guard;
    int adc, dac, in_slices, cell, w_slices, acc_w;
    int count, kind_all;
    unsigned long seed;
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
        else if (strcmp(key, "arch") == 0) {
            if (strcmp(v, "exact") != 0 && strcmp(v, "early") != 0)
                usage("--arch is exact or early");
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

static void run_dot(const struct opts *o, gsl_rng *r)
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
        for (int i = 0; i < o->n; i++) {
            a[i] = draw_activation(r, c.amin, c.amax, o->a_signed);
            w[i] = draw_weight(r, c.wmax);
        }
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
static void sa_realistic(const struct cim_periph *p, gsl_rng *r, int32_t *codes)
{
    int a_bits = p->in_slices * p->dac_bits, w_bits = p->w_slices * p->cell_bits;
    int64_t amax = a_bits >= 62 ? INT64_MAX : (INT64_C(1) << a_bits) - 1;
    int64_t wmax = w_bits >= 62 ? INT64_MAX : (INT64_C(1) << w_bits) - 1;
    if (a_bits > 16)
        amax = 65535;
    if (w_bits > 16)
        wmax = 32767;
    int64_t a[SA_ROWS], w[SA_ROWS];
    for (int k = 0; k < SA_ROWS; k++) {
        a[k] = draw_activation(r, 0, amax, 0);
        w[k] = draw_weight(r, wmax);
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

static void run_shift_add(const struct opts *o, gsl_rng *r)
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
        sa_realistic(&p, r, codes);
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
    gsl_rng *r = cim_rng_alloc(o.seed, cim_rng_stream(CIM_RNG_TEST, 6));
    if (r == NULL) {
        fprintf(stderr, "rtl-vectors: out of memory\n");
        return 1;
    }
    if (strcmp(argv[1], "dot") == 0) {
        if (o.a_w + o.w_w + 8 > 62)
            usage("--a-w plus --w-w must stay within 54 bits");
        run_dot(&o, r);
    } else if (strcmp(argv[1], "shift-add") == 0)
        run_shift_add(&o, r);
    else
        usage("the first argument is dot or shift-add");
    gsl_rng_free(r);
    return 0;
}
