/* Byte-level BPE tokenizer.
 *
 * Ids 0..255 are the bytes; merges add ids 256..vocab-1. Training splits
 * the text into pre-tokens (a run of letters, of digits, or of other
 * non-space characters, each with the single space before it attached, and
 * runs of whitespace, a final ' ' of a run going to the next word; pieces
 * are cut at 256 bytes), counts them, and repeatedly merges the most frequent
 * adjacent pair, ties broken by the smallest (left, right) ids, so training
 * is deterministic. decode(encode(x)) == x for every byte string.
 * Every bpe_train()/bpe_load() result has its bpe_free(). */
#ifndef ES_DATA_BPE_H
#define ES_DATA_BPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct bpe bpe;

/* Learns vocab_size - 256 merges (fewer if the text runs out of pairs;
 * bpe_vocab() tells). vocab_size in [256, 65536]. */
int bpe_train(const char *text, size_t len, int vocab_size, bpe **out);

int bpe_save(const bpe *tok, const char *path);
int bpe_load(const char *path, bpe **out);
void bpe_free(bpe *tok);

int bpe_vocab(const bpe *tok);

/* The bytes of token id (not NUL-terminated); *len gets their count. */
const unsigned char *bpe_token(const bpe *tok, int id, size_t *len);

/* Encodes text into a heap array of ids the caller frees with free(). */
int bpe_encode(const bpe *tok, const char *text, size_t len, int32_t **ids, size_t *n_ids);

/* Decodes ids into a NUL-terminated heap string the caller frees. */
int bpe_decode(const bpe *tok, const int32_t *ids, size_t n_ids, char **text, size_t *len);

#endif
