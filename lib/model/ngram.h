/* Hashed N-gram indices for Engram and OverEncoding (DESIGN §2).
 *
 * For N-gram order n the suffix N-gram of compressed ids ending at token t,
 * (c_{t-n+1}, ..., c_t), is mixed with the layer's odd 64-bit multipliers,
 *   mix = (c_t * m_0) XOR (c_{t-1} * m_1) XOR ... XOR (c_{t-n+1} * m_{n-1}),
 * in unsigned 64-bit arithmetic, so indices are never negative; head k of
 * that order takes mix mod p_k, p_k a prime table size distinct across all
 * layers, orders and heads. Tokens before the start of a sequence are a
 * padding id. The tables of one layer are stacked: table h starts at row
 * offset[h], so one array holds them all. */
#ifndef ES_MODEL_NGRAM_H
#define ES_MODEL_NGRAM_H

#include <stdint.h>

enum { NGRAM_MAX_ORDER = 8, NGRAM_MAX_TABLES = 512 };

typedef struct {
    int n_orders, heads, tables;   /* tables = n_orders * heads */
    int orders[NGRAM_MAX_ORDER];
    uint64_t mult[NGRAM_MAX_ORDER]; /* odd multipliers for positions t, t-1, ... */
    uint64_t prime[NGRAM_MAX_TABLES];  /* rows of table h = order (h / heads), head (h % heads) */
    int64_t offset[NGRAM_MAX_TABLES];  /* first row of table h in the stacked array */
    int64_t rows;                      /* sum of the primes */
    uint64_t pad_id;                   /* compressed id before a sequence's start */
} ngram_hasher;

/* Sets up one layer's hasher: multipliers drawn from (seed, layer); each
 * table's size is the prime nearest to target_rows (the lower on a tie)
 * not in used[0..*n_used), which is then appended to used, so every table
 * of every layer differs and the total stays close to tables x target. */
int ngram_hasher_init(ngram_hasher *hs, const int *orders, int n_orders, int heads, int64_t target_rows,
                      uint64_t seed, int layer, uint64_t pad_id, uint64_t *used, int *n_used);

/* rows[N, tables]: stacked-table row of each token for each table, from
 * compressed ids cids[N] in sequences of T tokens. */
void ngram_hash(const ngram_hasher *hs, const int32_t *cids, int N, int T, int64_t *rows);

/* 1 if n is prime (deterministic for all 64-bit n). */
int is_prime_u64(uint64_t n);

#endif
