/* N-gram coverage of a training run's windows against the validation
 * split, with an open-addressing hash set of packed N-grams. */
#include "data/coverage.h"

#include "core/error.h"
#include "core/mem.h"
#include "data/batch.h"

#include <stdlib.h>
#include <string.h>

/* Compressed ids are < 2^16, so an N-gram of order <= 4 packs into 64 bits;
 * +1 keeps the all-zero key free to mark empty slots. */
static uint64_t pack(const int32_t *ids, int order)
{
    uint64_t key = 0;
    for (int i = 0; i < order; i++)
        key = key << 16 | (uint64_t)ids[i];
    return key + 1;
}

static uint64_t mix(uint64_t x)
{
    /* splitmix64's finaliser: spreads packed ids over the table */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ x >> 31;
}

typedef struct {
    uint64_t *keys;
    size_t mask, count;
} ngram_set;

/* 1 if key was added, 0 if it was there */
static int set_add(ngram_set *s, uint64_t key)
{
    for (size_t i = mix(key) & s->mask;; i = (i + 1) & s->mask) {
        if (s->keys[i] == key)
            return 0;
        if (s->keys[i] == 0) {
            s->keys[i] = key;
            s->count++;
            return 1;
        }
    }
}

static int set_has(const ngram_set *s, uint64_t key)
{
    for (size_t i = mix(key) & s->mask;; i = (i + 1) & s->mask) {
        if (s->keys[i] == key)
            return 1;
        if (s->keys[i] == 0)
            return 0;
    }
}

/* the compressed ids of a window's T inputs into ids[T] */
static void compress_window(const int32_t *inputs, const int32_t *map, int T, int32_t *ids)
{
    for (int t = 0; t < T; t++)
        ids[t] = map[inputs[t]];
}

int ngram_coverage_measure(const int32_t *train, size_t n_train, const int32_t *val, size_t n_val,
                           const int32_t *compress_map, long steps, int B, int T, uint64_t seed, int order,
                           ngram_coverage *out)
{
    memset(out, 0, sizeof *out);
    if (order < 2 || order > 4)
        return es_error(ES_EINVAL, "N-gram order %d is out of range [2, 4]", order);
    if (steps < 1 || B < 1 || T < order)
        return es_error(ES_EINVAL, "coverage needs steps >= 1, batch >= 1 and seq_len >= %d", order);
    out->order = order;
    batch_loader *bl;
    int rc = batch_loader_new(train, n_train, B, T, seed, &bl);
    if (rc)
        return rc;
    size_t occurrences = (size_t)steps * (size_t)B * (size_t)(T - order + 1);
    size_t cap = 1024;
    while (cap < 2 * occurrences)
        cap *= 2;
    ngram_set set = {es_calloc(cap, sizeof(uint64_t)), cap - 1, 0};
    int32_t *inputs = es_calloc((size_t)B * T, sizeof(int32_t)), *targets = es_calloc((size_t)B * T, sizeof(int32_t));
    int32_t *ids = es_calloc((size_t)T, sizeof(int32_t));
    if (!set.keys || !inputs || !targets || !ids) {
        rc = es_error(ES_ENOMEM, "no memory for the N-grams of %ld steps", steps);
        goto done;
    }
    for (long s = 0; s < steps; s++) {
        batch_loader_train(bl, s, inputs, targets);
        for (int b = 0; b < B; b++) {
            compress_window(inputs + (size_t)b * T, compress_map, T, ids);
            for (int t = order - 1; t < T; t++)
                set_add(&set, pack(ids + t - order + 1, order));
        }
    }
    out->train_ngrams = occurrences;
    out->distinct = set.count;
    /* validation: its windows in order, as evaluation reads them */
    size_t windows = n_val > 0 ? (n_val - 1) / (size_t)T : 0;
    for (size_t w = 0; w < windows; w++) {
        compress_window(val + w * (size_t)T, compress_map, T, ids);
        for (int t = order - 1; t < T; t++) {
            out->val_ngrams++;
            out->val_seen += set_has(&set, pack(ids + t - order + 1, order));
        }
    }
done:
    free(ids);
    free(targets);
    free(inputs);
    free(set.keys);
    batch_loader_free(bl);
    return rc;
}
