/* device.c: one crossbar cell's conductance; see device.h. */
#include "device.h"

#include <math.h>

#include "cim/noise.h"
#include "cim/xbar.h"
#include "quant/quantizer.h"

#define TWO_PI 6.283185307179586477

double cim_device_leak_level(int cell_bits, double on_off)
{
    const double levels = (double)((1 << cell_bits) - 1);
    return isinf(on_off) ? 0.0 : levels / (on_off - 1.0);
}

double cim_device_level_unit(int cell_bits, double on_off)
{
    return (double)((1 << cell_bits) - 1) / (1.0 - (isinf(on_off) ? 0.0 : 1.0 / on_off));
}

/* G = Gmin + level / L (Gmax - Gmin), Gmax = 1 */
static double level_g(const struct cim_xbar_config *c, int level)
{
    const double levels = (double)((1 << c->cell_bits) - 1);
    const double gmin = isinf(c->on_off) ? 0.0 : 1.0 / c->on_off;
    return gmin + (double)level / levels * (1.0 - gmin);
}

double cim_device_prog_g(const struct cim_xbar_config *c, int level, double z)
{
    double g = level_g(c, level);
    if (c->prog_noise > 0.0) {
        g = c->noise_model == CIM_NOISE_ADDITIVE ? g + c->prog_noise * z
                                                 : g * (1.0 + c->prog_noise * z);
        g = g < 0.0 ? 0.0 : g;
    }
    return g;
}

double cim_device_program(const struct cim_xbar_config *c, uint32_t layer, uint32_t row,
                          uint32_t col, int level, double *g_t0)
{
    const double gmin = isinf(c->on_off) ? 0.0 : 1.0 / c->on_off;
    double g = level_g(c, level);
    const int drift = c->drift_t > 0.0;
    if (c->prog_noise == 0.0 && c->saf0 == 0.0 && c->saf1 == 0.0 && !drift) {
        *g_t0 = g;
        return g;
    }
    const struct cim_noise_key key = cim_noise_key(c->seed, CIM_NOISE_PROGRAM);
    double u[4], v[4];
    cim_noise_uniform4(key, (uint32_t[4]){layer, row, col, 0}, u);
    cim_noise_uniform4(key, (uint32_t[4]){layer, row, col, 1}, v);
    if (u[2] < c->saf0) {
        *g_t0 = gmin;
        return gmin;
    }
    if (u[2] < c->saf0 + c->saf1) {
        *g_t0 = 1.0;
        return 1.0;
    }
    if (c->prog_noise > 0.0) /* Box-Muller on (u0, u1) */
        g = cim_device_prog_g(c, level, sqrt(-2.0 * log(u[0])) * cos(TWO_PI * u[1]));
    *g_t0 = g;
    if (drift) {
        const double z = sqrt(-2.0 * log(v[0])) * cos(TWO_PI * v[1]);
        double nu = c->drift_nu_mean + c->drift_nu_std * z;
        nu = nu < 0.0 ? 0.0 : nu;
        g *= pow(c->drift_t / c->drift_t0, -nu);
    }
    return g;
}

int cim_device_slice_level(int32_t q, int wbits, int cell_bits, int j, int sign)
{
    const uint32_t mask = (1u << cell_bits) - 1u;
    uint32_t mag;
    if (sign == 0)
        mag = (uint32_t)(q + quant_qmax_signed(wbits));
    else
        mag = (sign > 0) == (q > 0) && q != 0 ? (uint32_t)(q < 0 ? -q : q) : 0u;
    return j * cell_bits >= 32 ? 0 : (int)((mag >> (j * cell_bits)) & mask);
}
