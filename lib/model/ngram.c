#include "model/ngram.h"

#include "core/error.h"
#include "core/rng.h"

#include <string.h>

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m) { return (uint64_t)((unsigned __int128)a * b % m); }

static uint64_t powmod(uint64_t a, uint64_t e, uint64_t m)
{
    uint64_t r = 1;
    a %= m;
    while (e) {
        if (e & 1)
            r = mulmod(r, a, m);
        a = mulmod(a, a, m);
        e >>= 1;
    }
    return r;
}

/* Miller-Rabin with the bases that are exact for all 64-bit integers. */
int is_prime_u64(uint64_t n)
{
    if (n < 2)
        return 0;
    static const uint64_t small[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++)
        if (n % small[i] == 0)
            return n == small[i];
    uint64_t d = n - 1;
    int s = 0;
    while (!(d & 1)) {
        d >>= 1;
        s++;
    }
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        uint64_t x = powmod(small[i], d, n);
        if (x == 1 || x == n - 1)
            continue;
        int composite = 1;
        for (int r = 1; r < s && composite; r++) {
            x = mulmod(x, x, n);
            if (x == n - 1)
                composite = 0;
        }
        if (composite)
            return 0;
    }
    return 1;
}

static int used_already(const uint64_t *used, int n_used, uint64_t p)
{
    for (int i = 0; i < n_used; i++)
        if (used[i] == p)
            return 1;
    return 0;
}

int ngram_hasher_init(ngram_hasher *hs, const int *orders, int n_orders, int heads, int64_t target_rows,
                      uint64_t seed, int layer, uint64_t pad_id, uint64_t *used, int *n_used)
{
    memset(hs, 0, sizeof *hs);
    if (n_orders < 1 || n_orders > NGRAM_MAX_ORDER || heads < 1 || n_orders * heads > NGRAM_MAX_TABLES)
        return es_error(ES_EINVAL, "%d orders x %d heads: too many hash tables (at most %d)", n_orders, heads,
                        NGRAM_MAX_TABLES);
    hs->n_orders = n_orders;
    hs->heads = heads;
    hs->tables = n_orders * heads;
    hs->pad_id = pad_id;
    int max_order = 0;
    for (int i = 0; i < n_orders; i++) {
        hs->orders[i] = orders[i];
        max_order = orders[i] > max_order ? orders[i] : max_order;
    }
    es_rng rng;
    es_rng_seed(&rng, seed, 0xe6a40000ULL + (uint64_t)layer);
    for (int j = 0; j < max_order; j++)
        hs->mult[j] = es_rng_u64(&rng) | 1ULL;
    /* Each table takes the unused prime nearest to the target (the lower
     * one on a tie), so the tables' total stays within a few rows per table
     * of the slots asked for, above or below. */
    uint64_t target = target_rows > 2 ? (uint64_t)target_rows : 2;
    for (int h = 0; h < hs->tables; h++) {
        uint64_t chosen = 0;
        for (uint64_t d = 0; !chosen; d++) {
            uint64_t below = target - d, above = target + d;
            if (d <= target - 2 && is_prime_u64(below) && !used_already(used, *n_used, below))
                chosen = below;
            else if (d > 0 && is_prime_u64(above) && !used_already(used, *n_used, above))
                chosen = above;
        }
        if (!chosen)
            return es_error(ES_EINVAL, "no free prime table size near %llu rows", (unsigned long long)target);
        hs->prime[h] = chosen;
        hs->offset[h] = hs->rows;
        hs->rows += (int64_t)chosen;
        used[(*n_used)++] = chosen;
    }
    return ES_OK;
}

void ngram_hash(const ngram_hasher *hs, const int32_t *cids, int N, int T, int64_t *rows)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        int t = n % T;
        for (int o = 0; o < hs->n_orders; o++) {
            uint64_t mix = 0;
            for (int j = 0; j < hs->orders[o]; j++) {
                uint64_t c = t - j >= 0 ? (uint64_t)(uint32_t)cids[n - j] : hs->pad_id;
                mix ^= c * hs->mult[j];
            }
            for (int k = 0; k < hs->heads; k++) {
                int h = o * hs->heads + k;
                rows[(size_t)n * hs->tables + h] = hs->offset[h] + (int64_t)(mix % hs->prime[h]);
            }
        }
    }
}
