/* OverEncoding: hashed N-gram embeddings averaged into the input. */
#include "model/overencoding.h"

#include "core/error.h"
#include "core/profile.h"

#include <string.h>

int overencoding_alloc(overencoding_layer *L, int N, int T, int C, double init_std, uint64_t seed, uint64_t stream)
{
    ngram_hasher hs = L->hasher;
    memset(L, 0, sizeof *L);
    L->hasher = hs;
    L->N = N;
    L->T = T;
    L->C = C;
    L->H = hs.tables;
    return sparse_table_alloc(&L->table, hs.rows, C, N * hs.tables, init_std, seed, stream);
}

void overencoding_free(overencoding_layer *L)
{
    sparse_table_free(&L->table);
    memset(L, 0, sizeof *L);
}

void overencoding_forward(overencoding_layer *L, float *x, const int32_t *cids)
{
    int N = L->N, C = L->C, H = L->H;
    float scale = 1.0f / (float)(1 + H);
    ngram_hash(&L->hasher, cids, N, L->T, L->table.hit_row);
    L->table.n_hits = N * H;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *xn = x + (size_t)n * C;
        for (int h = 0; h < H; h++) {
            const float *row = L->table.data + (size_t)L->table.hit_row[(size_t)n * H + h] * C;
            for (int c = 0; c < C; c++)
                xn[c] += row[c];
        }
        for (int c = 0; c < C; c++)
            xn[c] *= scale;
    }
}

void overencoding_backward(overencoding_layer *L, float *dx)
{
    int N = L->N, C = L->C, H = L->H;
    float scale = 1.0f / (float)(1 + H);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *d = dx + (size_t)n * C;
        for (int c = 0; c < C; c++)
            d[c] *= scale;
        for (int h = 0; h < H; h++)
            memcpy(L->table.hit_grad + ((size_t)n * H + h) * C, d, sizeof(float) * (size_t)C);
    }
    es_prof_begin(PROF_OPTIMIZER);
    sparse_table_collect(&L->table);
    es_prof_end(PROF_OPTIMIZER);
}
