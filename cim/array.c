/* array.c: column currents of one read; see array.h. */
#include "array.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CIM_ARRAY_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define CIM_ARRAY_CLONES
#endif

/* 16 floats as one value (GCC vector extension): one AVX-512 register, two
 * AVX2 ones, four SSE ones, whichever clone runs. Sums of a column block stay
 * in registers across all the rows of a read instead of going through memory
 * on every row (the compiler does not find this on its own). */
typedef float vf16 __attribute__((vector_size(64)));

/* v = 16 floats at p (unaligned); a macro, since passing vector values
 * between functions would tie the ABI to the clone's instruction set */
#define LOAD16(v, p) memcpy(&(v), (p), sizeof(v))

/* The sums of one read; X1 means every step is 1 (a 1-bit DAC, x == NULL). */
#define READ_SUMS(X1)                                                                    \
    do {                                                                                 \
        int c0 = 0;                                                                      \
        for (; c0 + 64 <= ncol; c0 += 64) {                                              \
            vf16 t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0};                                 \
            for (int i = 0; i < n; i++) {                                                \
                const float *gr = g + (size_t)rows[i] * ld + c0;                         \
                vf16 a0, a1, a2, a3;                                                     \
                LOAD16(a0, gr);                                                          \
                LOAD16(a1, gr + 16);                                                     \
                LOAD16(a2, gr + 32);                                                     \
                LOAD16(a3, gr + 48);                                                     \
                if (X1) {                                                                \
                    t0 += a0;                                                            \
                    t1 += a1;                                                            \
                    t2 += a2;                                                            \
                    t3 += a3;                                                            \
                } else {                                                                 \
                    const float xi = x[i];                                               \
                    t0 += xi * a0;                                                       \
                    t1 += xi * a1;                                                       \
                    t2 += xi * a2;                                                       \
                    t3 += xi * a3;                                                       \
                }                                                                        \
            }                                                                            \
            memcpy(cur + c0, &t0, sizeof t0);                                            \
            memcpy(cur + c0 + 16, &t1, sizeof t1);                                       \
            memcpy(cur + c0 + 32, &t2, sizeof t2);                                       \
            memcpy(cur + c0 + 48, &t3, sizeof t3);                                       \
        }                                                                                \
        for (; c0 + 16 <= ncol; c0 += 16) {                                              \
            vf16 t = {0};                                                                \
            for (int i = 0; i < n; i++) {                                                \
                vf16 a;                                                                  \
                LOAD16(a, g + (size_t)rows[i] * ld + c0);                                \
                if (X1)                                                                  \
                    t += a;                                                              \
                else                                                                     \
                    t += x[i] * a;                                                       \
            }                                                                            \
            memcpy(cur + c0, &t, sizeof t);                                              \
        }                                                                                \
        for (; c0 < ncol; c0++) {                                                        \
            float t = 0.0f;                                                              \
            for (int i = 0; i < n; i++)                                                  \
                t += (X1 ? 1.0f : x[i]) * g[(size_t)rows[i] * ld + c0];                  \
            cur[c0] = t;                                                                 \
        }                                                                                \
    } while (0)

CIM_ARRAY_CLONES
void cim_array_read(const float *g, size_t ld, const int *rows, const float *x, int n, int ncol,
                    float *cur)
{
    if (x == NULL)
        READ_SUMS(1);
    else
        READ_SUMS(0);
}
