/* A prepared corpus: tokenizer, token streams, compressed-id map and the
 * n-gram baselines, cached on disk under <data_dir>/<corpus name>/v<vocab>/.
 *
 * dataset_prepare() builds the cache if it is missing or stale (source
 * size/mtime changed) and loads it. Preparation is safe when several
 * processes ask at once (a lock file, files written to temporaries and
 * renamed). Files: tokenizer.bpe, train.bin, val.bin (int32 little-endian
 * ids), compress.bin, meta.json (counts, baselines, source).
 * A mixture (corpus "a+b@w...", see data/corpus.h) is read source by source:
 * each source is subsampled to its weight and split on its own, the
 * training splits are concatenated in the order given, one tokenizer is
 * trained on them, and meta.json lists every source's token ranges and
 * validation floors ("sources"; caches written before it existed load as
 * one source).
 * Every dataset_prepare() result has its dataset_free(). */
#ifndef ES_DATA_DATASET_H
#define ES_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "data/bpe.h"

/* One source of a corpus (a mixture has several, any other corpus one):
 * its training tokens are train[train_offset .. train_offset + n_train);
 * its n_val validation tokens are held out from that source's own text and
 * laid out in val as dataset_val_source() says. */
typedef struct {
    char name[256];          /* corpus_name() of the source */
    double weight;           /* share of its text kept, (0, 1] */
    size_t train_offset, n_train;
    size_t n_val;
    size_t train_bytes, val_bytes;
    double unigram_val_loss; /* floors on this source's validation tokens */
    double bigram_val_loss;
} dataset_source;

enum { DATASET_MAX_SOURCES = 8 };

typedef struct {
    char name[256];          /* corpus short name; a mixture's names joined by '+' */
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
    int n_sources;           /* 1 unless the corpus is a mixture */
    dataset_source sources[DATASET_MAX_SOURCES];
} dataset;

/* A mixture's validation tokens are interleaved in chunks of
 * DATASET_VAL_CHUNK tokens, round robin over the sources that have tokens
 * left (source order), so that any prefix of val, such as the one
 * train.eval_tokens evaluates, holds every source alike until the smaller
 * ones run out. The chunk is a multiple of every power-of-two seq_len up
 * to 8192, so a validation window crosses into another source only with its
 * last target. Training tokens stay in source order (batches are drawn
 * from a permutation of all windows). */
enum { DATASET_VAL_CHUNK = 8192 };

/* The source (index into ds->sources) of validation token i < ds->n_val. */
int dataset_val_source(const dataset *ds, size_t i);

/* Copies source s's validation tokens, in order, into a heap array the
 * caller frees. */
int dataset_source_val(const dataset *ds, int s, int32_t **ids, size_t *n);

/* The tokenizer of a training split larger than this is trained on an even
 * sample of this many bytes of it (whole 400-line units); the token files
 * still hold all of it. kjv and gcide are below the bound. */
#define DATASET_BPE_SAMPLE_BYTES ((size_t)128 << 20)

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
