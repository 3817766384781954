/* periph.c: shift-add periphery of a crossbar output; see periph.h. */
#include "cim/periph.h"

#include <assert.h>
#include <stddef.h>

/* --------------------------------------------------------------- checks */

static int check_range(struct cim_err *err, const char *name, int v, int lo, int hi)
{
    if (v < lo || v > hi)
        return cim_err_set(err, CIM_EINVAL, "periphery: %s %d is outside %d..%d", name, v,
                           lo, hi);
    return CIM_OK;
}

int cim_periph_check(const struct cim_periph *p, struct cim_err *err)
{
    if (p == NULL)
        return cim_err_set(err, CIM_EINVAL, "periphery: no parameters");
    int rc;
    if ((rc = check_range(err, "adc_bits", p->adc_bits, 1, CIM_PERIPH_ADC_BITS_MAX)) ||
        (rc = check_range(err, "dac_bits", p->dac_bits, 1, CIM_PERIPH_SLICE_BITS_MAX)) ||
        (rc = check_range(err, "in_slices", p->in_slices, 1, CIM_PERIPH_SLICES_MAX)) ||
        (rc = check_range(err, "cell_bits", p->cell_bits, 1, CIM_PERIPH_SLICE_BITS_MAX)) ||
        (rc = check_range(err, "w_slices", p->w_slices, 1, CIM_PERIPH_SLICES_MAX)) ||
        (rc = check_range(err, "acc_bits", p->acc_bits, QUANT_BITS_MIN, QUANT_BITS_MAX)) ||
        (rc = check_range(err, "out_bits", p->out_bits, QUANT_BITS_MIN, QUANT_BITS_MAX)) ||
        (rc = check_range(err, "shift", p->shift, 0, QUANT_SHIFT_MAX)) ||
        (rc = check_range(err, "round", (int)p->round, 0, QUANT_ROUND_COUNT - 1)) ||
        (rc = check_range(err, "overflow", (int)p->overflow, 0, QUANT_OVERFLOW_COUNT - 1)))
        return rc;
    /* The ranges above keep the width computation itself from overflowing;
     * the exact sums must also fit in int64_t. */
    int lossless = cim_periph_acc_bits_lossless(p);
    if (lossless > CIM_PERIPH_LOSSLESS_MAX)
        return cim_err_set(err, CIM_EINVAL,
                           "periphery: the slices need %d accumulator bits, more than %d",
                           lossless, CIM_PERIPH_LOSSLESS_MAX);
    return CIM_OK;
}

/* --------------------------------------------------------------- widths */

/* sum_{k < n} 2^(k * bits), saturated at 2^62 (large enough to fail the
 * lossless-width check without overflowing). */
static uint64_t geometric_sum(int n, int bits)
{
    const uint64_t cap = UINT64_C(1) << 62;
    uint64_t sum = 0;
    for (int k = 0; k < n; k++) {
        int e = k * bits;
        if (e >= 62)
            return cap;
        sum += UINT64_C(1) << e;
        if (sum >= cap)
            return cap;
    }
    return sum;
}

int cim_periph_acc_bits_lossless(const struct cim_periph *p)
{
    assert(p != NULL);
    assert(p->adc_bits >= 1 && p->adc_bits <= CIM_PERIPH_ADC_BITS_MAX);
    assert(p->dac_bits >= 1 && p->dac_bits <= CIM_PERIPH_SLICE_BITS_MAX);
    assert(p->cell_bits >= 1 && p->cell_bits <= CIM_PERIPH_SLICE_BITS_MAX);
    assert(p->in_slices >= 1 && p->in_slices <= CIM_PERIPH_SLICES_MAX);
    assert(p->w_slices >= 1 && p->w_slices <= CIM_PERIPH_SLICES_MAX);
    /* The largest |acc| is the product of three factors; multiply while it
     * fits, and count bits with the factors' logs when it would not. */
    uint64_t f[3] = {(UINT64_C(1) << p->adc_bits) - 1,
                     geometric_sum(p->w_slices, p->cell_bits),
                     geometric_sum(p->in_slices, p->dac_bits)};
    int bits = 0;
    uint64_t m = 1;
    for (int k = 0; k < 3; k++) {
        if (f[k] != 0 && m > (UINT64_C(1) << 62) / f[k])
            return 64; /* beyond any usable width; cim_periph_check() refuses it */
        m *= f[k];
    }
    while (m != 0) {
        bits++;
        m >>= 1;
    }
    return bits + 1;
}

/* --------------------------------------------------------------- combine */

int64_t cim_periph_accumulate(const struct cim_periph *p, const int32_t *codes)
{
    assert(p != NULL && codes != NULL);
    assert(cim_periph_acc_bits_lossless(p) <= CIM_PERIPH_LOSSLESS_MAX);
    const int64_t code_max = (INT64_C(1) << p->adc_bits) - 1;
    /* Exact, in the order the hardware uses: Horner over input slices from the
     * most significant one, the weight slices of one input slice summed first.
     * Every partial sum is bounded by the lossless width (<= 62 bits). */
    int64_t acc = 0;
    for (int i = p->in_slices - 1; i >= 0; i--) {
        int64_t partial = 0;
        for (int j = 0; j < p->w_slices; j++) {
            int64_t d = codes[(size_t)i * (size_t)p->w_slices + (size_t)j];
            assert(d >= -code_max && d <= code_max);
            (void)code_max;
            partial += d * (INT64_C(1) << (j * p->cell_bits));
        }
        acc = acc * (INT64_C(1) << p->dac_bits) + partial;
    }
    return quant_wrap(acc, p->acc_bits);
}

int64_t cim_periph_combine(const struct cim_periph *p, const int32_t *codes)
{
    return quant_requantize(cim_periph_accumulate(p, codes), p->shift, p->out_bits,
                            p->round, p->overflow);
}
