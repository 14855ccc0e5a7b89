/* A prepared corpus: tokenizer, token streams, compressed-id map and the
 * n-gram baselines, cached on disk under <data_dir>/<corpus name>/v<vocab>/.
 *
 * dataset_prepare() builds the cache if it is missing or stale (source
 * size/mtime changed) and loads it. Preparation is safe when several
 * processes ask at once (a lock file, files written to temporaries and
 * renamed). Files: tokenizer.bpe, train.bin, val.bin (int32 little-endian
 * ids), compress.bin, meta.json (counts, baselines, source).
 * Every dataset_prepare() result has its dataset_free(). */
#ifndef ES_DATA_DATASET_H
#define ES_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "data/bpe.h"

typedef struct {
    char name[256];          /* corpus short name */
    char dir[1024];          /* cache folder */
    bpe *tokenizer;          /* owned */
    int vocab;               /* bpe_vocab(tokenizer) */
    int32_t *train;          /* [n_train] token ids of the training split, owned */
    size_t n_train;
    int32_t *val;            /* [n_val] token ids of the validation split, owned */
    size_t n_val;
    int32_t *compress_map;   /* [vocab] token id -> compressed id, owned */
    int compressed_vocab;
    double unigram_val_loss; /* add-one unigram cross-entropy on val, nats/token */
    double bigram_val_loss;  /* interpolated bigram cross-entropy on val, nats/token */
    size_t train_bytes, val_bytes;
} dataset;

/* Held-out split used by prepare: blocks of DATASET_BLOCK_LINES lines,
 * every DATASET_VAL_EVERY-th block to validation (5%). */
enum { DATASET_BLOCK_LINES = 20, DATASET_VAL_EVERY = 20 };

/* progress may be NULL; it is called with a short stage name while
 * preparing ("reading", "training tokenizer", ...) so the CLI can show it. */
typedef void (*dataset_progress_fn)(const char *stage, void *ctx);

int dataset_prepare(const char *corpus, const char *data_dir, int vocab, int force,
                    dataset_progress_fn progress, void *ctx, dataset **out);
void dataset_free(dataset *ds);

/* Baselines (also used by tests): cross-entropy in nats/token on val of
 * an add-one unigram model and of a bigram model interpolated with the
 * unigram (Jelinek-Mercer, weight chosen on a grid with counts of the first
 * 90% of train scored on the last 10%, then counts refitted on all of
 * train). Both return NAN for empty inputs or if memory runs out. */
double baseline_unigram(const int32_t *train, size_t n_train, const int32_t *val, size_t n_val, int vocab);
double baseline_bigram(const int32_t *train, size_t n_train, const int32_t *val, size_t n_val, int vocab);

#endif
