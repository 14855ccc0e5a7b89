/* Batches of training and validation sequences.
 *
 * A token stream of n tokens holds (n - 1) / T non-overlapping windows of
 * T + 1 tokens (inputs and the targets shifted by one). Training visits the
 * windows in a fresh seeded permutation per epoch; the batch of a step is a
 * pure function of (seed, step), so a resumed run sees exactly the batches
 * an uninterrupted one would. Validation uses its windows in order.
 * Every batch_loader_new() has its batch_loader_free(). */
#ifndef ES_DATA_BATCH_H
#define ES_DATA_BATCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const int32_t *tokens; /* borrowed */
    size_t n_tokens;
    int B, T;
    uint64_t seed;
    size_t n_windows;
    uint32_t *order;       /* [n_windows] permutation of the cached epoch */
    long cached_epoch;
} batch_loader;

int batch_loader_new(const int32_t *tokens, size_t n_tokens, int B, int T, uint64_t seed, batch_loader **out);
void batch_loader_free(batch_loader *bl);

/* inputs[B*T], targets[B*T] of training step `step` (0-based). */
void batch_loader_train(batch_loader *bl, long step, int32_t *inputs, int32_t *targets);

/* inputs/targets of validation batch `index`: windows index*B .. index*B+B-1. */
void batch_loader_eval(const batch_loader *bl, long index, int32_t *inputs, int32_t *targets);

#endif
