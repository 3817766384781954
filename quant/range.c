/*
 * range.c: offline and on-the-fly range determination (see range.h).
 *
 * Nothing here allocates. The percentile is an exact order statistic found by
 * bisection on float bit patterns instead of by sorting a copy; the MSE search
 * evaluates the quantization error with the very quantizer of quantizer.h, so
 * the optimum is the optimum of what the forward pass actually computes.
 */
#include "quant/range.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "quant/quantizer.h"

float quant_scale_from_range(float c, int qmax)
{
    assert(qmax >= 1);
    if (!(c > 0.0f) || !isfinite(c))
        return QUANT_SCALE_MIN;
    float s = c / (float)qmax;
    return s >= QUANT_SCALE_MIN ? s : QUANT_SCALE_MIN;
}

float quant_range_maxabs(const float *x, size_t n)
{
    float m = 0.0f;
    for (size_t k = 0; k < n; k++) {
        float a = fabsf(x[k]);
        if (a > m) /* false for NaN */
            m = a;
    }
    return m;
}

/* ---------------------------------------------------------------- percentile */

/* For non-negative floats (and +inf) the IEEE-754 bit pattern read as an
 * unsigned integer is monotone in the value, so an order statistic of |x| is
 * an order statistic of these integers. NaN magnitudes are above INF_BITS. */
#define INF_BITS UINT32_C(0x7f800000)

static uint32_t abs_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u & UINT32_C(0x7fffffff);
}

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Number of non-NaN elements whose magnitude bits are <= t. */
static size_t count_at_most(const float *x, size_t n, uint32_t t)
{
    size_t c = 0;
    for (size_t k = 0; k < n; k++)
        c += abs_bits(x[k]) <= t;
    return c;
}

int quant_range_pct_valid(double p)
{
    return p > 0.0 && p <= 100.0;
}

float quant_range_percentile(const float *x, size_t n, double p)
{
    assert(quant_range_pct_valid(p));
    size_t m = count_at_most(x, n, INF_BITS);
    if (m == 0)
        return 0.0f;

    double h = p / 100.0 * (double)(m - 1);
    size_t i = (size_t)floor(h);
    if (i > m - 1)
        i = m - 1;
    double frac = h - (double)i;

    /* y[i]: the smallest t with at least i + 1 magnitudes <= t. */
    uint32_t lo = 0, hi = INF_BITS;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (count_at_most(x, n, mid) >= i + 1)
            hi = mid;
        else
            lo = mid + 1;
    }
    double yi = (double)bits_float(lo);
    if (i + 1 >= m || frac <= 0.0)
        return (float)yi;

    /* y[i+1]: y[i] again if it occurs more than i + 1 times at or below,
     * otherwise the smallest magnitude above it. */
    size_t at_most = 0;
    uint32_t next = INF_BITS;
    for (size_t k = 0; k < n; k++) {
        uint32_t u = abs_bits(x[k]);
        if (u <= lo)
            at_most++;
        else if (u < next)
            next = u;
    }
    double yi1 = at_most >= i + 2 ? yi : (double)bits_float(next);
    return (float)(yi + frac * (yi1 - yi));
}

/* ---------------------------------------------------------------- MSE search */

#define MSE_GRID 100
#define MSE_GOLDEN_STEPS 24

/* Squared error of fake-quantizing the finite elements of x with range c:
 * signed (s = c / qmax, codes in [-qmax, qmax]) or unsigned (s = c / qmax, codes
 * in [0, qmax]). */
static double mse_error(const float *x, size_t n, float c, int qmax, int is_signed)
{
    float s = c / (float)qmax;
    double e = 0.0;
    for (size_t k = 0; k < n; k++) {
        if (!isfinite(x[k]))
            continue;
        float v = x[k] / s;
        int32_t q = is_signed ? quant_code_signed(v, qmax) : quant_code_unsigned(v, qmax);
        double d = (double)x[k] - (double)((float)q * s);
        e += d * d;
    }
    return e;
}

struct mse_best {
    float c;
    double e;
};

static void mse_try(struct mse_best *b, const float *x, size_t n, float c, int qmax,
                    int is_signed, double *e_out)
{
    double e = mse_error(x, n, c, qmax, is_signed);
    if (e < b->e || (e == b->e && c < b->c)) {
        b->e = e;
        b->c = c;
    }
    *e_out = e;
}

/* Grid over (0, top], then golden section around the best grid point. */
static float mse_search(const float *x, size_t n, float top, int qmax, int is_signed)
{
    if (!(top > 0.0f))
        return 0.0f;
    struct mse_best best = {top, HUGE_VAL};
    double e;
    int jbest = MSE_GRID;
    for (int j = 1; j <= MSE_GRID; j++) {
        float c = (float)((double)top * j / MSE_GRID);
        double before = best.e;
        mse_try(&best, x, n, c, qmax, is_signed, &e);
        if (best.e < before)
            jbest = j;
    }

    /* Golden section (Kiefer 1953) on the bracket of the best grid point; the
     * lower end stays positive so that every scale is. */
    const double r = 0.5 * (sqrt(5.0) - 1.0);
    double a = (double)top * (jbest > 1 ? jbest - 1 : 0.5) / MSE_GRID;
    double b = (double)top * (jbest < MSE_GRID ? jbest + 1 : MSE_GRID) / MSE_GRID;
    double x1 = b - r * (b - a), x2 = a + r * (b - a);
    double e1, e2;
    mse_try(&best, x, n, (float)x1, qmax, is_signed, &e1);
    mse_try(&best, x, n, (float)x2, qmax, is_signed, &e2);
    for (int it = 0; it < MSE_GOLDEN_STEPS; it++) {
        if (e1 <= e2) {
            b = x2;
            x2 = x1;
            e2 = e1;
            x1 = b - r * (b - a);
            mse_try(&best, x, n, (float)x1, qmax, is_signed, &e1);
        } else {
            a = x1;
            x1 = x2;
            e1 = e2;
            x2 = a + r * (b - a);
            mse_try(&best, x, n, (float)x2, qmax, is_signed, &e2);
        }
    }
    return best.c;
}

/* max |x| (signed) or max x (unsigned) over finite elements. */
static float finite_top(const float *x, size_t n, int is_signed)
{
    float m = 0.0f;
    for (size_t k = 0; k < n; k++) {
        if (!isfinite(x[k]))
            continue;
        float a = is_signed ? fabsf(x[k]) : x[k];
        if (a > m)
            m = a;
    }
    return m;
}

float quant_range_mse_weights(const float *w, size_t n, int bits)
{
    int qmax = quant_qmax_signed(bits);
    return mse_search(w, n, finite_top(w, n, 1), qmax, 1);
}

float quant_range_mse_acts(const float *x, size_t n, int bits)
{
    int qmax = quant_qmax_unsigned(bits);
    return mse_search(x, n, finite_top(x, n, 0), qmax, 0);
}

/* ---------------------------------------------------------------- methods */

static const char *const method_names[QUANT_RANGE_METHOD_COUNT] = {
    [QUANT_RANGE_MAX] = "max",
    [QUANT_RANGE_PERCENTILE] = "percentile",
    [QUANT_RANGE_MSE] = "mse",
};

const char *quant_range_method_name(enum quant_range_method m)
{
    assert((unsigned)m < QUANT_RANGE_METHOD_COUNT);
    return (unsigned)m < QUANT_RANGE_METHOD_COUNT ? method_names[m] : "?";
}

int quant_range_method_parse(const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < QUANT_RANGE_METHOD_COUNT; i++)
        if (strcmp(method_names[i], name) == 0)
            return i;
    return -1;
}

void quant_range_rows(const float *w, int rows, int cols, enum quant_range_method m,
                      int bits, double pct, float *c_out)
{
    assert(rows >= 0 && cols >= 0);
    assert((unsigned)m < QUANT_RANGE_METHOD_COUNT);
    assert(m != QUANT_RANGE_PERCENTILE || quant_range_pct_valid(pct));
    for (int r = 0; r < rows; r++) {
        const float *row = w + (size_t)r * (size_t)cols;
        switch (m) {
        case QUANT_RANGE_MAX:
            c_out[r] = quant_range_maxabs(row, (size_t)cols);
            break;
        case QUANT_RANGE_PERCENTILE:
            c_out[r] = quant_range_percentile(row, (size_t)cols, pct);
            break;
        case QUANT_RANGE_MSE:
            c_out[r] = quant_range_mse_weights(row, (size_t)cols, bits);
            break;
        }
    }
}

/* ---------------------------------------------------------------- EMA */

void quant_ema_init(struct quant_ema *e, double momentum)
{
    assert(momentum >= 0.0 && momentum < 1.0);
    e->value = 0.0;
    e->momentum = momentum;
    e->updates = 0;
}

void quant_ema_update(struct quant_ema *e, double batch_value)
{
    assert(e->momentum >= 0.0 && e->momentum < 1.0);
    if (!isfinite(batch_value))
        return;
    if (e->updates == 0)
        e->value = batch_value;
    else
        e->value = e->momentum * e->value + (1.0 - e->momentum) * batch_value;
    e->updates++;
}
