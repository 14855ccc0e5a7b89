/* Engram's tokenizer compression (paper section 2.2): token ids whose text
 * is equal after NFKC, case folding, accent stripping and whitespace
 * collapsing share one compressed id. Built with utf8proc.
 * Compressed ids are dense, 0..n_compressed-1, numbered in order of the
 * smallest original id of each class, so the map is deterministic. Tokens
 * whose bytes are not valid UTF-8 on their own (partial characters) map to
 * classes of their own.
 * Whitespace (as in the DeepSeek Engram demo): runs collapse to one space
 * and leading/trailing whitespace is trimmed, so " The", "the" and "THE"
 * share an id; a whitespace-only token normalises to " ". */
#ifndef ES_DATA_COMPRESS_H
#define ES_DATA_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "data/bpe.h"

/* The normal form of one token's text: NUL-terminated heap string, or NULL
 * if the bytes are not valid UTF-8 (caller frees). */
char *compress_normalize(const unsigned char *bytes, size_t len);

/* map must hold bpe_vocab(tok) entries. */
int compress_build(const bpe *tok, int32_t *map, int *n_compressed);

#endif
