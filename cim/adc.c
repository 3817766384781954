/* adc.c: block conversion of column currents; see adc.h. */
#include "adc.h"

#include <math.h>
#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CIM_ADC_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define CIM_ADC_CLONES
#endif

/* floor(t) for t >= 0 is the truncation, and any t < 0 clamps to code 0 either
 * way, so the loops clamp t into [0, qmax] and truncate: branch-free, so they
 * vectorize (the clip count is an integer reduction, which needs no reordering
 * of floating-point sums). */
CIM_ADC_CLONES
uint64_t cim_adc_convert(const float *cur, const float *z, const float *var, double leak,
                         double sd, const double *scale, const int64_t *read, double qmax, int n,
                         int32_t *code)
{
    const double lim = qmax + 1.0;
    int64_t clipped = 0;
    if (z == NULL) {
        for (int i = 0; i < n; i++) {
            double t = ((double)cur[i] + leak) * scale[i] + 0.5;
            clipped += t >= lim ? read[i] : 0;
            t = t < 0.0 ? 0.0 : t;
            t = t > qmax ? qmax : t;
            code[i] = (int32_t)t;
        }
    } else if (var == NULL) {
        for (int i = 0; i < n; i++) {
            double t = ((double)cur[i] + leak + sd * (double)z[i]) * scale[i] + 0.5;
            clipped += t >= lim ? read[i] : 0;
            t = t < 0.0 ? 0.0 : t;
            t = t > qmax ? qmax : t;
            code[i] = (int32_t)t;
        }
    } else {
        for (int i = 0; i < n; i++) {
            const double s = sd * sqrt((double)var[i]);
            double t = ((double)cur[i] + leak + s * (double)z[i]) * scale[i] + 0.5;
            clipped += t >= lim ? read[i] : 0;
            t = t < 0.0 ? 0.0 : t;
            t = t > qmax ? qmax : t;
            code[i] = (int32_t)t;
        }
    }
    return (uint64_t)clipped;
}
