#include "data/batch.h"

#include "core/error.h"
#include "core/mem.h"
#include "core/rng.h"

#include <stdlib.h>
#include <string.h>

int batch_loader_new(const int32_t *tokens, size_t n_tokens, int B, int T, uint64_t seed, batch_loader **out)
{
    *out = NULL;
    size_t windows = n_tokens > 0 ? (n_tokens - 1) / (size_t)T : 0;
    if (windows < (size_t)B)
        return es_error(ES_EINVAL, "%zu tokens hold %zu sequences of %d tokens, fewer than one batch of %d", n_tokens,
                        windows, T + 1, B);
    if (windows > UINT32_MAX)
        return es_error(ES_EINVAL, "%zu sequences are more than this loader indexes", windows);
    batch_loader *bl = es_calloc(1, sizeof *bl);
    if (!bl)
        return ES_ENOMEM;
    bl->order = es_calloc(windows, sizeof *bl->order);
    if (!bl->order) {
        free(bl);
        return ES_ENOMEM;
    }
    bl->tokens = tokens;
    bl->n_tokens = n_tokens;
    bl->B = B;
    bl->T = T;
    bl->seed = seed;
    bl->n_windows = windows;
    bl->cached_epoch = -1;
    *out = bl;
    return ES_OK;
}

void batch_loader_free(batch_loader *bl)
{
    if (!bl)
        return;
    free(bl->order);
    free(bl);
}

static void copy_window(const batch_loader *bl, size_t window, int32_t *inputs, int32_t *targets)
{
    const int32_t *src = bl->tokens + window * (size_t)bl->T;
    memcpy(inputs, src, sizeof(int32_t) * (size_t)bl->T);
    memcpy(targets, src + 1, sizeof(int32_t) * (size_t)bl->T);
}

void batch_loader_train(batch_loader *bl, long step, int32_t *inputs, int32_t *targets)
{
    for (int i = 0; i < bl->B; i++) {
        size_t global = (size_t)step * (size_t)bl->B + (size_t)i;
        long epoch = (long)(global / bl->n_windows);
        if (epoch != bl->cached_epoch) {
            es_rng rng;
            es_rng_seed(&rng, bl->seed, 0x5eed0000u + (uint64_t)epoch);
            for (size_t w = 0; w < bl->n_windows; w++)
                bl->order[w] = (uint32_t)w;
            es_rng_shuffle_u32(&rng, bl->order, bl->n_windows);
            bl->cached_epoch = epoch;
        }
        copy_window(bl, bl->order[global % bl->n_windows], inputs + (size_t)i * bl->T,
                    targets + (size_t)i * bl->T);
    }
}

void batch_loader_eval(const batch_loader *bl, long index, int32_t *inputs, int32_t *targets)
{
    for (int i = 0; i < bl->B; i++)
        copy_window(bl, ((size_t)index * bl->B + (size_t)i) % bl->n_windows, inputs + (size_t)i * bl->T,
                    targets + (size_t)i * bl->T);
}
