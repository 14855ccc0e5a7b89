/* A small, fast, seedable random number generator (xoshiro256** seeded
 * through splitmix64) whose whole state is 32 bytes, so checkpoints can
 * save it and runs are reproducible from the config's seed alone. */
#ifndef ES_CORE_RNG_H
#define ES_CORE_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} es_rng;

/* Seeds from (seed, stream): different streams of one seed are independent,
 * so e.g. weight init and data order never share draws. */
void es_rng_seed(es_rng *rng, uint64_t seed, uint64_t stream);
uint64_t es_rng_u64(es_rng *rng);
/* Uniform in [0, 1). */
double es_rng_uniform(es_rng *rng);
/* Uniform integer in [0, n), without modulo bias. */
uint64_t es_rng_below(es_rng *rng, uint64_t n);
/* Standard normal (Box-Muller; no cached second value, so the state alone
 * determines the sequence). */
double es_rng_normal(es_rng *rng);
/* Fisher-Yates shuffle of idx[0..n). */
void es_rng_shuffle_u32(es_rng *rng, uint32_t *idx, uint64_t n);

/* splitmix64 finaliser: a good 64-bit mix, also used for deriving seeds. */
uint64_t es_mix64(uint64_t x);

#endif
