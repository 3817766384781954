/*
 * noise.h: counter-based random draws for the crossbar model.
 *
 * A crossbar's noise must not depend on how a run is cut into batches or
 * threads: image 17 of a test set sees the same read noise whether it is
 * evaluated alone or among 10,000, on one thread or two. A counter-based
 * generator gives that by construction: every draw is a pure function of a key
 * (the seed and the purpose) and a counter (what is drawn: sample, layer,
 * read, column). cim uses Philox4x32-10 (Salmon, Moraes, Dror & Shaw,
 * "Parallel random numbers: as easy as 1, 2, 3", SC 2011) from Debian's
 * Random123 headers; one call turns a 128-bit counter into four 32-bit words.
 * Normal draws use the Box-Muller transform of two uniforms (exact in
 * distribution, up to the 24-bit resolution of the uniforms).
 *
 *     struct cim_noise_key key = cim_noise_key(seed, CIM_NOISE_READ);
 *     cim_noise_normal(key, (uint32_t[3]){sample, read, column0}, z, n);
 *
 * Pure functions, safe from any thread.
 */
#ifndef CIM_CIM_NOISE_H
#define CIM_CIM_NOISE_H

#include <stdint.h>

/* What the draws are for; part of the key, so purposes never share draws. */
enum cim_noise_purpose {
    CIM_NOISE_PROGRAM = 1, /* programming noise, drift exponents, faults */
    CIM_NOISE_READ = 2,    /* read noise of inference passes */
    CIM_NOISE_CALIB = 3,   /* read noise of ADC calibration passes */
    CIM_NOISE_TRAIN_PROGRAM = 4, /* noise-aware training: cells, fresh every step */
    CIM_NOISE_TRAIN_READ = 5     /* noise-aware training: accumulators */
};

struct cim_noise_key {
    uint32_t k[2];
};

/* The key for (seed, purpose), mixed by base/rng.h's cim_rng_mix(). */
struct cim_noise_key cim_noise_key(uint64_t seed, enum cim_noise_purpose purpose);

/* Four uniforms in (0, 1) (53-bit doubles from 32-bit words: (w + 0.5) 2^-32)
 * for the counter ctr. */
void cim_noise_uniform4(struct cim_noise_key key, const uint32_t ctr[4], double u[4]);

/* n standard normal draws z[0 .. n-1] (n even) for the counters (c[0], c[1],
 * c[2], g), g = 0, 1, ... The same (key, c, n) always gives the same z on one
 * machine (the vector math may differ in the last bit between CPU families);
 * callers key each call by what it draws (sample, layer, read) so that no two
 * calls share counters. About 1.5 ns per draw with AVX-512. */
void cim_noise_normal(struct cim_noise_key key, const uint32_t c[3], float *z, int n);

#endif
