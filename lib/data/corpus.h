/* Corpus text: the built-in corpora, user files, UTF-8 checks and the
 * train/validation split.
 *
 * Built-in corpora come from Debian packages:
 *   "kjv"   King James Bible, text of `bible -l0 Gen1:1-Rev22:21` from bible-kjv,
 *           verse text only (book/chapter headings and verse numbers stripped),
 *           one verse per line.
 *   "gcide" Webster's 1913 via dict-gcide (/usr/share/dictd/gcide.dict.dz,
 *           read with zlib), the 00-database-* preamble dropped.
 * Anything else is a path to a UTF-8 text file. */
#ifndef ES_DATA_CORPUS_H
#define ES_DATA_CORPUS_H

#include <stddef.h>

/* Reads the corpus text into a NUL-terminated heap buffer the caller frees
 * with free(). Errors: ES_EMISSING names the Debian package to install
 * ("apt-get install bible-kjv"); ES_EIO names the path; ES_EDATA for an
 * empty file or invalid UTF-8 ("FILE: invalid UTF-8 at byte offset N"). */
int corpus_read(const char *name_or_path, char **text, size_t *len);

/* The short name used for the cache folder: "kjv", "gcide", or the file's
 * basename without extension. Writes at most size bytes. */
void corpus_name(const char *name_or_path, char *name, size_t size);

/* Validates UTF-8 (rejecting overlongs, surrogates, > U+10FFFF).
 * Returns 1 if valid, else 0 and sets *bad_offset to the first bad byte. */
int utf8_valid(const char *s, size_t len, size_t *bad_offset);

/* Splits text into a training and a validation text, deterministically:
 * lines are grouped into consecutive blocks of block_lines lines, and every
 * val_every-th block (blocks val_every-1, 2*val_every-1, ...) goes to
 * validation, so the held-out 1/val_every is spread over the whole text.
 * Both outputs are NUL-terminated heap buffers the caller frees. */
int corpus_split(const char *text, size_t len, int block_lines, int val_every,
                 char **train, size_t *train_len, char **val, size_t *val_len);

#endif
