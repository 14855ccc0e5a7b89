#include "model/table.h"

#include "core/error.h"
#include "core/mem.h"
#include "core/rng.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { INIT_CHUNK_ROWS = 4096 };

/* A big zeroed array on huge pages where the kernel allows: lookups and
 * sparse updates hit random rows, and with 4 KiB pages every hit would be
 * a TLB miss (and, on first touch, a page fault). Zeroing here commits the
 * memory up front, so no step pays for first touches. */
static float *big_array_new(size_t n)
{
    size_t align = (size_t)2 << 20, bytes = (n * sizeof(float) + align - 1) / align * align;
    float *p = aligned_alloc(align, bytes);
    if (!p)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    memset(p, 0, bytes);
    return p;
}

int sparse_table_alloc(sparse_table *t, int64_t rows, int width, int max_hits, double init_std, uint64_t seed,
                       uint64_t stream)
{
    memset(t, 0, sizeof *t);
    t->rows = rows;
    t->width = width;
    t->max_hits = max_hits;
    size_t n = (size_t)rows * (size_t)width;
    t->data = big_array_new(n);
    t->m = big_array_new(n);
    t->v = big_array_new(n);
    t->hit_row = calloc((size_t)max_hits, sizeof(int64_t));
    t->unique_row = calloc((size_t)max_hits, sizeof(int64_t));
    t->order = calloc((size_t)max_hits, sizeof(int32_t));
    t->hit_grad = es_floats_new((size_t)max_hits * width);
    t->unique_grad = es_floats_new((size_t)max_hits * width);
    if (!t->data || !t->m || !t->v || !t->hit_row || !t->unique_row || !t->order || !t->hit_grad ||
        !t->unique_grad) {
        sparse_table_free(t);
        return es_error(ES_ENOMEM, "cannot allocate a table of %lld x %d floats and its Adam moments (%.3g GB)",
                        (long long)rows, width, 3.0 * n * sizeof(float) / 1e9);
    }
    int64_t chunks = (rows + INIT_CHUNK_ROWS - 1) / INIT_CHUNK_ROWS;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        es_rng rng;
        es_rng_seed(&rng, seed, stream * 0x9e3779b97f4a7c15ULL + (uint64_t)c);
        int64_t r1 = (c + 1) * INIT_CHUNK_ROWS < rows ? (c + 1) * INIT_CHUNK_ROWS : rows;
        for (size_t i = (size_t)c * INIT_CHUNK_ROWS * width; i < (size_t)r1 * width; i++)
            t->data[i] = (float)(init_std * es_rng_normal(&rng));
    }
    return ES_OK;
}

void sparse_table_free(sparse_table *t)
{
    free(t->data);
    free(t->m);
    free(t->v);
    free(t->hit_row);
    free(t->unique_row);
    free(t->order);
    es_floats_free(t->hit_grad);
    es_floats_free(t->unique_grad);
    memset(t, 0, sizeof *t);
}

static int by_row_then_hit(const void *a, const void *b, void *ctx)
{
    const int64_t *rows = ctx;
    int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    if (rows[i] != rows[j])
        return rows[i] < rows[j] ? -1 : 1;
    return (i > j) - (i < j);
}

void sparse_table_collect(sparse_table *t)
{
    int n = t->n_hits, w = t->width;
    for (int i = 0; i < n; i++)
        t->order[i] = i;
    qsort_r(t->order, (size_t)n, sizeof(int32_t), by_row_then_hit, t->hit_row);
    int u = -1;
    for (int i = 0; i < n; i++) {
        int hit = t->order[i];
        const float *g = t->hit_grad + (size_t)hit * w;
        if (u < 0 || t->unique_row[u] != t->hit_row[hit]) {
            u++;
            t->unique_row[u] = t->hit_row[hit];
            memcpy(t->unique_grad + (size_t)u * w, g, sizeof(float) * (size_t)w);
        } else {
            float *acc = t->unique_grad + (size_t)u * w;
            for (int c = 0; c < w; c++)
                acc[c] += g[c];
        }
    }
    t->n_unique = u + 1;
}

double sparse_table_bytes(const sparse_table *t) { return 3.0 * (double)t->rows * t->width * sizeof(float); }
