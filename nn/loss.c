/* loss.c: numerically stable softmax cross-entropy; see loss.h. */
#include "loss.h"

#include <math.h>
#include <stddef.h>

double nn_softmax_xent(const float *logits, const uint8_t *labels, int b, int classes,
                       float *dlogits)
{
    double total = 0.0;
    const double inv_b = 1.0 / b;
    for (int s = 0; s < b; s++) {
        const float *z = logits + (long)s * classes;
        float zmax = z[0];
        for (int c = 1; c < classes; c++)
            if (z[c] > zmax)
                zmax = z[c];
        double sum = 0.0;
        for (int c = 0; c < classes; c++)
            sum += exp((double)z[c] - (double)zmax);
        /* Stay relative to the maximum: zmax + log(sum) would drop log(sum) once
         * |zmax| > 2^53 log(sum) (logits of 1e30 with a tie at the top). */
        const double log_sum = log(sum);
        total += log_sum - ((double)z[labels[s]] - (double)zmax);
        if (dlogits != NULL) {
            float *d = dlogits + (long)s * classes;
            for (int c = 0; c < classes; c++) {
                double p = exp((double)z[c] - (double)zmax - log_sum);
                d[c] = (float)((p - (c == labels[s] ? 1.0 : 0.0)) * inv_b);
            }
        }
    }
    return total * inv_b;
}
