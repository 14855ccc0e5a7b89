#include "core/rng.h"

#include <math.h>

uint64_t es_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void es_rng_seed(es_rng *rng, uint64_t seed, uint64_t stream)
{
    uint64_t x = es_mix64(seed) ^ es_mix64(stream * 0xd1342543de82ef95ULL + 1);
    for (int i = 0; i < 4; i++) {
        x = es_mix64(x + (uint64_t)i);
        rng->s[i] = x;
    }
    if (!(rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]))
        rng->s[0] = 1; /* the all-zero state is a fixed point */
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t es_rng_u64(es_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double es_rng_uniform(es_rng *rng) { return (double)(es_rng_u64(rng) >> 11) * 0x1.0p-53; }

uint64_t es_rng_below(es_rng *rng, uint64_t n)
{
    if (n <= 1)
        return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n; /* reject the biased tail */
    uint64_t x;
    do {
        x = es_rng_u64(rng);
    } while (x >= limit);
    return x % n;
}

double es_rng_normal(es_rng *rng)
{
    double u1 = 1.0 - es_rng_uniform(rng); /* (0, 1]: log() stays finite */
    double u2 = es_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void es_rng_shuffle_u32(es_rng *rng, uint32_t *idx, uint64_t n)
{
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = es_rng_below(rng, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
