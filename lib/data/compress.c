/* Engram tokenizer compression: token ids whose normalised text is equal
 * share one compressed id.
 *
 * Normal form (as in the DeepSeek Engram demo, which lowercases and
 * normalises whitespace): NFKC, case folding and accent stripping with
 * utf8proc, then every run of whitespace collapsed to one space and
 * leading/trailing whitespace trimmed, so " The", "the" and "THE" meet.
 * A token made only of whitespace keeps the normal form " ", so spaces
 * and newlines share one class but do not fall in with marks-only tokens
 * (which normalise to ""). */
#include "data/compress.h"

#include "core/error.h"
#include "data/corpus.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static int is_space(utf8proc_int32_t cp)
{
    if (cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0x85)
        return 1;
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

char *compress_normalize(const unsigned char *bytes, size_t len)
{
    if (!utf8_valid((const char *)bytes, len, NULL))
        return NULL;
    if (len == 0)
        return calloc(1, 1);
    utf8proc_uint8_t *mapped = NULL;
    utf8proc_ssize_t n = utf8proc_map(bytes, (utf8proc_ssize_t)len, &mapped,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                          UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK);
    if (n < 0) {
        free(mapped);
        return NULL;
    }
    /* Collapse whitespace in place: the output is never longer. */
    char *out = (char *)mapped;
    size_t k = 0;
    int pending_space = 0, any_space = 0;
    utf8proc_ssize_t i = 0;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t cl = utf8proc_iterate(mapped + i, n - i, &cp);
        if (cl <= 0) { /* cannot happen on utf8proc's own output */
            free(mapped);
            return NULL;
        }
        if (is_space(cp)) {
            pending_space = any_space = 1;
        } else {
            if (pending_space && k > 0)
                out[k++] = ' ';
            pending_space = 0;
            memmove(out + k, mapped + i, (size_t)cl);
            k += (size_t)cl;
        }
        i += cl;
    }
    if (k == 0 && any_space)
        out[k++] = ' ';
    out[k] = '\0';
    return out;
}

typedef struct {
    char *text;   /* normal form, NULL for a partial-character token */
    int32_t id;
} entry;

static int entry_cmp(const void *x, const void *y)
{
    const entry *a = x, *b = y;
    int c = strcmp(a->text, b->text);
    return c ? c : (a->id > b->id) - (a->id < b->id);
}

int compress_build(const bpe *tok, int32_t *map, int *n_compressed)
{
    int vocab = bpe_vocab(tok);
    entry *e = calloc((size_t)vocab, sizeof *e);
    int32_t *rep = malloc((size_t)vocab * sizeof *rep);
    if (!e || !rep) {
        free(e);
        free(rep);
        return es_error(ES_ENOMEM, "cannot allocate the compression table of %d tokens", vocab);
    }
    /* Sort the valid tokens by normal form; each class's representative is
     * its smallest id (the sort puts it first). */
    int n_valid = 0;
    for (int id = 0; id < vocab; id++) {
        size_t len;
        const unsigned char *b = bpe_token(tok, id, &len);
        char *norm = compress_normalize(b, len);
        rep[id] = id;
        if (norm)
            e[n_valid++] = (entry){norm, id};
    }
    qsort(e, (size_t)n_valid, sizeof *e, entry_cmp);
    for (int k = 1; k < n_valid; k++)
        if (strcmp(e[k].text, e[k - 1].text) == 0)
            rep[e[k].id] = rep[e[k - 1].id];
    /* Number classes in order of their smallest id. */
    int n = 0;
    for (int id = 0; id < vocab; id++)
        map[id] = rep[id] == id ? n++ : map[rep[id]];
    for (int k = 0; k < n_valid; k++)
        free(e[k].text);
    free(e);
    free(rep);
    *n_compressed = n;
    return ES_OK;
}
