/* rng.c: seeded random streams over GSL generators; see rng.h. */
#include "rng.h"

#include <gsl/gsl_errno.h>

uint64_t cim_rng_stream(enum cim_rng_purpose purpose, uint64_t index)
{
    return ((uint64_t)purpose << 56) ^ index;
}

uint64_t cim_rng_mix(uint64_t seed, uint64_t stream)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* MT19937 takes a 32-bit seed in GSL; fold the 64-bit mix so both halves count.
 * GSL maps seed 0 to its default seed, which would alias one stream onto another. */
static unsigned long rng_seed32(uint64_t seed, uint64_t stream)
{
    uint64_t z = cim_rng_mix(seed, stream);
    unsigned long s = (unsigned long)((z ^ (z >> 32)) & 0xffffffffUL);
    return s == 0 ? 1 : s;
}

gsl_rng *cim_rng_alloc(uint64_t seed, uint64_t stream)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (r != NULL)
        gsl_rng_set(r, rng_seed32(seed, stream));
    return r;
}

void cim_rng_reseed(gsl_rng *r, uint64_t seed, uint64_t stream)
{
    gsl_rng_set(r, rng_seed32(seed, stream));
}

void cim_base_init(void)
{
    gsl_set_error_handler_off();
}
