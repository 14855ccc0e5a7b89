/* The OverEncoding baseline (DESIGN §2): the same hashed N-gram tables as
 * Engram, with rows of width C, averaged into the input token embedding
 *   x_t = (wte[id_t] + sum_h table_h[row_h(t)]) / (1 + H)
 * with no gate and no conv. Shapes: N tokens (sequences of T), C model
 * width, H hash tables (orders x heads). */
#ifndef ES_MODEL_OVERENCODING_H
#define ES_MODEL_OVERENCODING_H

#include <stdint.h>

#include "model/ngram.h"
#include "model/table.h"

typedef struct {
    int N, T, C, H;
    ngram_hasher hasher;
    sparse_table table; /* [hasher.rows, C], owned */
} overencoding_layer;

/* The caller sets L->hasher first. */
int overencoding_alloc(overencoding_layer *L, int N, int T, int C, double init_std, uint64_t seed, uint64_t stream);
void overencoding_free(overencoding_layer *L);

/* x[N,C]: in, the token embeddings; out, the average with the N-gram rows. */
void overencoding_forward(overencoding_layer *L, float *x, const int32_t *cids);

/* dx[N,C]: in, the gradient of the average; out, the gradient of the token
 * embeddings. The table's per-hit gradients are written and collected. */
void overencoding_backward(overencoding_layer *L, float *dx);

#endif
