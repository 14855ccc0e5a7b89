/* N-gram coverage: how much of the validation text's N-grams a training
 * run has seen, in Engram's compressed ids. A run of `steps` steps visits
 * exactly the windows batch_loader_train gives it (seed, B, T); the N-grams
 * are those Engram looks up: ending at each input position, within one
 * window. This measures what a table of a given size could at best
 * remember, and how crowded its rows are (distinct N-grams per row). */
#ifndef ES_DATA_COVERAGE_H
#define ES_DATA_COVERAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int order;
    size_t train_ngrams;    /* N-gram occurrences in the visited windows */
    size_t distinct;        /* distinct N-grams among them */
    size_t val_ngrams;      /* N-gram occurrences in the validation windows */
    size_t val_seen;        /* of those, seen in training */
} ngram_coverage;

/* order in [2, 4]; compress_map[vocab] maps token ids to compressed ids
 * (< 65536). Fills *out; ES_EINVAL for bad arguments, ES_ENOMEM. */
int ngram_coverage_measure(const int32_t *train, size_t n_train, const int32_t *val, size_t n_val,
                           const int32_t *compress_map, long steps, int B, int T, uint64_t seed, int order,
                           ngram_coverage *out);

#endif
