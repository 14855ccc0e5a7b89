/* Embedding tables updated row-sparsely (Engram memory, OverEncoding).
 *
 * A table of rows x width floats carries its lazy-Adam moments, as large
 * as the table and indexed the same way. All three are committed (zeroed)
 * at allocation, on huge pages where possible, so that no step pays for
 * page faults or TLB misses that grow with the table. A step reads and writes
 * only the rows its batch hit: the forward records the hit rows, the
 * backward leaves one gradient per hit (grad[n_hits, width]),
 * sparse_table_collect sums the gradients of repeated rows in a fixed
 * order, and the optimizer updates the unique rows. Nothing per step is
 * proportional to the number of rows.
 * Every sparse_table_alloc has its sparse_table_free. */
#ifndef ES_MODEL_TABLE_H
#define ES_MODEL_TABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t rows;
    int width;
    float *data;        /* [rows, width] */
    float *m, *v;       /* [rows, width] lazy-Adam moments */
    /* the hits of the last forward */
    int n_hits;         /* tokens x heads */
    int64_t *hit_row;   /* [max_hits] */
    float *hit_grad;    /* [max_hits, width] gradient of each hit, filled by backward */
    /* after sparse_table_collect */
    int n_unique;
    int64_t *unique_row;  /* [max_hits] sorted */
    float *unique_grad;   /* [max_hits, width] summed gradients */
    int32_t *order;       /* [max_hits] scratch: hits sorted by row */
    int max_hits;
} sparse_table;

/* Rows initialised from N(0, init_std^2) in fixed chunks, each from its own
 * seeded stream, so the values do not depend on the thread count. */
int sparse_table_alloc(sparse_table *t, int64_t rows, int width, int max_hits, double init_std, uint64_t seed,
                       uint64_t stream);
void sparse_table_free(sparse_table *t);

/* Sums hit_grad over repeated rows into unique_row/unique_grad, ordered by
 * row and, within a row, by hit index: deterministic. */
void sparse_table_collect(sparse_table *t);

/* Bytes of the table and of its moments. */
double sparse_table_bytes(const sparse_table *t);

#endif
