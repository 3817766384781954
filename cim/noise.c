/* noise.c: counter-based draws; see noise.h. Built with -O3 -ffast-math
 * -fopenmp-simd (this file alone): the Box-Muller loops then call glibc's
 * vector logf/sinf/cosf (libmvec). The results are the same bits for any thread
 * count and batch cut, on one machine and build. */
#include "noise.h"

#include <math.h>

#include <Random123/philox.h>

#include "base/rng.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CIM_NOISE_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define CIM_NOISE_CLONES
#endif

struct cim_noise_key cim_noise_key(uint64_t seed, enum cim_noise_purpose purpose)
{
    uint64_t k = cim_rng_mix(seed, cim_rng_stream(CIM_RNG_DEVICE, (uint64_t)purpose));
    return (struct cim_noise_key){{(uint32_t)k, (uint32_t)(k >> 32)}};
}

void cim_noise_uniform4(struct cim_noise_key key, const uint32_t ctr[4], double u[4])
{
    philox4x32_key_t k = {{key.k[0], key.k[1]}};
    philox4x32_ctr_t c = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
    philox4x32_ctr_t r = philox4x32(c, k);
    for (int i = 0; i < 4; i++)
        u[i] = ((double)r.v[i] + 0.5) * 0x1p-32;
}

/* Box-Muller in blocks of up to BLOCK pairs: block b's 2m words come from
 * counters starting at b BLOCK / 2 (four words each); word i gives pair i's
 * radius, word m + i its angle; z gets the m cosines, then the m sines. Each
 * loop holds one vector math function so that it vectorizes (a loop with sinf
 * and cosf of one angle becomes scalar sincosf). Cloned for AVX-512 and AVX2,
 * picked at load time (x86-64-v3: AVX2 + FMA; v4: AVX-512). */
CIM_NOISE_CLONES
void cim_noise_normal(struct cim_noise_key key, const uint32_t c[3], float *z, int n)
{
    enum { BLOCK = 256 };
    uint32_t w[2 * BLOCK];
    float r[BLOCK], t[BLOCK];
    const philox4x32_key_t k = {{key.k[0], key.k[1]}};
    const int pairs = n / 2;
    for (int i0 = 0; i0 < pairs; i0 += BLOCK) {
        const int m = pairs - i0 < BLOCK ? pairs - i0 : BLOCK;
        const int groups = (2 * m + 3) / 4;
        for (int g = 0; g < groups; g++) {
            philox4x32_ctr_t ctr = {{c[0], c[1], c[2], (uint32_t)(i0 / 2 + g)}};
            philox4x32_ctr_t q = philox4x32(ctr, k);
            w[4 * g] = q.v[0];
            w[4 * g + 1] = q.v[1];
            w[4 * g + 2] = q.v[2];
            w[4 * g + 3] = q.v[3];
        }
#pragma omp simd
        for (int i = 0; i < m; i++) {
            r[i] = sqrtf(-2.0f * logf(((float)(w[i] >> 8) + 0.5f) * 0x1p-24f)); /* u in (0,1) */
            t[i] = 6.28318530717958647692f * ((float)(w[m + i] >> 8) * 0x1p-24f);
        }
        float *zc = z + 2 * i0, *zs = zc + m;
#pragma omp simd
        for (int i = 0; i < m; i++)
            zc[i] = r[i] * cosf(t[i]);
#pragma omp simd
        for (int i = 0; i < m; i++)
            zs[i] = r[i] * sinf(t[i]);
    }
}
