/*
 * rng.h: seeded random streams.
 *
 * Every random draw in cim comes from a GSL generator obtained here from a user
 * seed and a stream number that names the purpose of the draws (weight init,
 * epoch shuffle, programming noise of one array, ...). A stream depends only on
 * (seed, stream), never on the thread that uses it or on draws made elsewhere, so
 * the same seed gives the same bits whatever the thread count.
 *
 *     gsl_rng *r = cim_rng_alloc(seed, cim_rng_stream(CIM_RNG_SHUFFLE, epoch));
 *     gsl_ran_shuffle(r, order, n, sizeof *order);
 *     gsl_rng_free(r);
 */
#ifndef CIM_BASE_RNG_H
#define CIM_BASE_RNG_H

#include <stdint.h>

#include <gsl/gsl_rng.h>

/* Purposes of random streams; each combines with an index into one stream id. */
enum cim_rng_purpose {
    CIM_RNG_INIT = 1,    /* parameter initialization; index: layer */
    CIM_RNG_SHUFFLE = 2, /* training-set order; index: epoch */
    CIM_RNG_DATA = 3,    /* subset selection, synthetic data */
    CIM_RNG_DEVICE = 4,  /* crossbar non-idealities; index chosen by cim/ */
    CIM_RNG_TEST = 5     /* tests and benchmarks */
};

/* The stream id for `purpose` and `index`. */
uint64_t cim_rng_stream(enum cim_rng_purpose purpose, uint64_t index);

/* Mix (seed, stream) into one well-spread 64-bit value (SplitMix64 finalizer,
 * Steele, Lea & Flood, OOPSLA 2014). */
uint64_t cim_rng_mix(uint64_t seed, uint64_t stream);

/* A new Mersenne Twister (gsl_rng_mt19937) seeded from cim_rng_mix(seed, stream).
 * The caller owns it and frees it with gsl_rng_free(). NULL when out of memory. */
gsl_rng *cim_rng_alloc(uint64_t seed, uint64_t stream);

/* Reseed an existing generator as cim_rng_alloc() would have seeded it. */
void cim_rng_reseed(gsl_rng *r, uint64_t seed, uint64_t stream);

/* Turn off GSL's abort-on-error handler: cim checks GSL's return values itself.
 * Call once at program start; idempotent. */
void cim_base_init(void);

#endif
