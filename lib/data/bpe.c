/* Byte-level BPE: training with incremental pair counts, cached encoding.
 *
 * Training counts the distinct pre-tokens ("word types") once, then runs
 * every merge only over the word types that contain the merged pair: each
 * pair keeps the list of word types it occurs in, and a max-heap with lazy
 * deletion yields the most frequent pair. Pair counts only fall after the
 * merge that creates a pair's newest symbol, so a stale heap entry always
 * overstates its count and is re-pushed with the current count on pop.
 *
 * Encoding splits the text with the same pre-tokenizer, encodes each
 * distinct pre-token once (lowest-rank merge first, as in training) and
 * caches the result for the rest of the call. */
#include "data/bpe.h"

#include "core/error.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Pre-tokens are cut at this many bytes so that pathological runs (long
 * lines of dashes, binary data) cost O(n) rather than O(n^2) to encode. */
enum { PRETOKEN_MAX = 256 };

#define BPE_MAGIC "engram-scale-bpe"
#define BPE_VERSION 1

struct bpe {
    int vocab;
    int32_t *merges;         /* [2 * (vocab - 256)]: left and right of id 256 + i */
    uint32_t *tok_off;       /* [vocab] offset of each token's bytes in tok_bytes */
    uint32_t *tok_len;       /* [vocab] */
    unsigned char *tok_bytes;
    uint64_t *map_keys;      /* [map_cap] (left << 32 | right), EMPTY_KEY if free */
    int32_t *map_ids;        /* [map_cap] merged id */
    size_t map_cap;
};

#define EMPTY_KEY UINT64_MAX

/* ------------------------------------------------------------------------ */
/* Hashing */

static inline uint64_t hash_u64(uint64_t x)
{
    /* splitmix64 finalizer: pair keys are small, structured integers */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static inline uint64_t hash_bytes(const unsigned char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return hash_u64(h);
}

static inline uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t)(uint32_t)a << 32 | (uint32_t)b; }

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n)
        c <<= 1;
    return c;
}

/* ------------------------------------------------------------------------ */
/* Pre-tokenizer: runs of letters, digits or other non-space characters,
 * each taking one preceding ' ', and runs of whitespace. Non-ASCII code
 * points are classified with utf8proc; invalid bytes are "other". */

enum { CL_SPACE, CL_LETTER, CL_DIGIT, CL_OTHER };

static inline int char_class(const unsigned char *s, size_t len, size_t i, size_t *clen)
{
    unsigned char c = s[i];
    if (c < 0x80) {
        *clen = 1;
        if (c == ' ' || (c >= '\t' && c <= '\r'))
            return CL_SPACE;
        if ((c | 32) >= 'a' && (c | 32) <= 'z')
            return CL_LETTER;
        if (c >= '0' && c <= '9')
            return CL_DIGIT;
        return CL_OTHER;
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &cp);
    if (n <= 0) {
        *clen = 1;
        return CL_OTHER;
    }
    *clen = (size_t)n;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
        return CL_LETTER;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return CL_DIGIT;
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
        return CL_SPACE;
    default:
        return CL_OTHER;
    }
}

/* The end of the pre-token that starts at i (i < len). */
static size_t pretoken_end(const unsigned char *s, size_t len, size_t i)
{
    size_t cl, nl;
    int c = char_class(s, len, i, &cl), nc;
    size_t j = i + cl;
    if (c == CL_SPACE) {
        if (s[i] == ' ' && j < len && (nc = char_class(s, len, j, &nl)) != CL_SPACE) {
            c = nc; /* " word": the space joins the run that follows */
            j += nl;
        } else {
            while (j < len) {
                nc = char_class(s, len, j, &nl);
                if (nc != CL_SPACE) {
                    /* leave a final ' ' to the word after the run */
                    if (j - 1 > i && s[j - 1] == ' ')
                        j--;
                    return j;
                }
                if (j + nl - i > PRETOKEN_MAX)
                    return j;
                j += nl;
            }
            return j;
        }
    }
    while (j < len) {
        nc = char_class(s, len, j, &nl);
        if (nc != c || j + nl - i > PRETOKEN_MAX)
            break;
        j += nl;
    }
    return j;
}

/* ------------------------------------------------------------------------ */
/* The merge table: (left, right) -> id, and the bytes of every token. */

static int32_t merge_lookup(const bpe *tok, int32_t a, int32_t b)
{
    uint64_t key = pair_key(a, b);
    size_t mask = tok->map_cap - 1, h = hash_u64(key) & mask;
    while (tok->map_keys[h] != EMPTY_KEY) {
        if (tok->map_keys[h] == key)
            return tok->map_ids[h];
        h = (h + 1) & mask;
    }
    return -1;
}

/* Fills the byte table and the merge map from tok->merges, checking that
 * every merge refers to earlier ids and that no pair repeats (which a
 * corrupt file could contain). */
static int bpe_build_tables(bpe *tok, const char *origin)
{
    int n_merges = tok->vocab - 256;
    tok->tok_off = malloc((size_t)tok->vocab * sizeof *tok->tok_off);
    tok->tok_len = malloc((size_t)tok->vocab * sizeof *tok->tok_len);
    tok->map_cap = pow2_at_least(2 * (size_t)n_merges + 2);
    tok->map_keys = malloc(tok->map_cap * sizeof *tok->map_keys);
    tok->map_ids = malloc(tok->map_cap * sizeof *tok->map_ids);
    if (!tok->tok_off || !tok->tok_len || !tok->map_keys || !tok->map_ids)
        return es_error(ES_ENOMEM, "cannot allocate the tables of a %d-token vocabulary", tok->vocab);
    memset(tok->map_keys, 0xff, tok->map_cap * sizeof *tok->map_keys);

    size_t total = 256;
    for (int id = 0; id < 256; id++) {
        tok->tok_off[id] = (uint32_t)id;
        tok->tok_len[id] = 1;
    }
    for (int m = 0; m < n_merges; m++) {
        int32_t a = tok->merges[2 * m], b = tok->merges[2 * m + 1], id = 256 + m;
        if (a < 0 || b < 0 || a >= id || b >= id)
            return es_error(ES_EDATA, "%s: merge %d (%d, %d) refers to an id not yet defined", origin,
                            m + 1, a, b);
        uint64_t key = pair_key(a, b);
        size_t mask = tok->map_cap - 1, h = hash_u64(key) & mask;
        while (tok->map_keys[h] != EMPTY_KEY) {
            if (tok->map_keys[h] == key)
                return es_error(ES_EDATA, "%s: merge %d (%d, %d) repeats an earlier merge", origin,
                                m + 1, a, b);
            h = (h + 1) & mask;
        }
        tok->map_keys[h] = key;
        tok->map_ids[h] = id;
        tok->tok_len[id] = tok->tok_len[a] + tok->tok_len[b];
        total += tok->tok_len[id];
        if (total > UINT32_MAX)
            return es_error(ES_EDATA, "%s: token bytes exceed 4 GB", origin);
    }
    tok->tok_bytes = malloc(total);
    if (!tok->tok_bytes)
        return es_error(ES_ENOMEM, "cannot allocate %zu bytes of token text", total);
    for (int id = 0; id < 256; id++)
        tok->tok_bytes[id] = (unsigned char)id;
    uint32_t off = 256;
    for (int m = 0; m < n_merges; m++) {
        int32_t a = tok->merges[2 * m], b = tok->merges[2 * m + 1], id = 256 + m;
        tok->tok_off[id] = off;
        memcpy(tok->tok_bytes + off, tok->tok_bytes + tok->tok_off[a], tok->tok_len[a]);
        memcpy(tok->tok_bytes + off + tok->tok_len[a], tok->tok_bytes + tok->tok_off[b], tok->tok_len[b]);
        off += tok->tok_len[id];
    }
    return ES_OK;
}

void bpe_free(bpe *tok)
{
    if (!tok)
        return;
    free(tok->merges);
    free(tok->tok_off);
    free(tok->tok_len);
    free(tok->tok_bytes);
    free(tok->map_keys);
    free(tok->map_ids);
    free(tok);
}

int bpe_vocab(const bpe *tok) { return tok->vocab; }

const unsigned char *bpe_token(const bpe *tok, int id, size_t *len)
{
    if (id < 0 || id >= tok->vocab) {
        *len = 0;
        return NULL;
    }
    *len = tok->tok_len[id];
    return tok->tok_bytes + tok->tok_off[id];
}

/* ------------------------------------------------------------------------ */
/* Training state */

typedef struct {
    size_t off;      /* first occurrence in the text */
    uint32_t len;
    uint64_t hash;
    int64_t count;
} word_type;

typedef struct {
    int32_t *w;      /* word types the pair occurs in (may hold stale entries) */
    int32_t n, cap;
} word_list;

typedef struct {
    int64_t count;
    int32_t pair;
} heap_entry;

typedef struct {
    /* word types */
    word_type *types;
    size_t n_types, cap_types;
    int32_t *type_slots;     /* hash table of type indices, -1 if free */
    size_t type_cap;
    int32_t *syms;           /* symbols of all words, word w at syms[sym_off[w]] */
    size_t *sym_off;
    uint32_t *sym_len;
    int32_t *word_stamp;
    /* pairs */
    int32_t *pa, *pb;
    int64_t *pcount;
    word_list *plist;
    int32_t *pstamp;
    size_t n_pairs, cap_pairs;
    uint64_t *pair_keys;     /* hash table key -> pair index */
    int32_t *pair_idx;
    size_t pair_cap;
    /* max-heap of (count, pair) */
    heap_entry *heap;
    size_t heap_n, heap_cap;
} trainer;

static void trainer_free(trainer *t)
{
    free(t->types);
    free(t->type_slots);
    free(t->syms);
    free(t->sym_off);
    free(t->sym_len);
    free(t->word_stamp);
    for (size_t p = 0; p < t->n_pairs; p++)
        free(t->plist[p].w);
    free(t->pa);
    free(t->pb);
    free(t->pcount);
    free(t->plist);
    free(t->pstamp);
    free(t->pair_keys);
    free(t->pair_idx);
    free(t->heap);
}

static int nomem(const char *what) { return es_error(ES_ENOMEM, "out of memory while training BPE (%s)", what); }

static int count_word_types(trainer *t, const unsigned char *s, size_t len)
{
    t->type_cap = 1 << 16;
    t->type_slots = malloc(t->type_cap * sizeof *t->type_slots);
    if (!t->type_slots)
        return nomem("word table");
    memset(t->type_slots, 0xff, t->type_cap * sizeof *t->type_slots);
    size_t i = 0;
    while (i < len) {
        size_t j = pretoken_end(s, len, i), n = j - i;
        uint64_t h = hash_bytes(s + i, n);
        size_t mask = t->type_cap - 1, slot = h & mask;
        int32_t w;
        while ((w = t->type_slots[slot]) >= 0) {
            const word_type *wt = &t->types[w];
            if (wt->hash == h && wt->len == n && memcmp(s + wt->off, s + i, n) == 0)
                break;
            slot = (slot + 1) & mask;
        }
        if (w >= 0) {
            t->types[w].count++;
        } else {
            if (t->n_types == t->cap_types) {
                size_t cap = t->cap_types ? 2 * t->cap_types : 1 << 14;
                word_type *nt = realloc(t->types, cap * sizeof *nt);
                if (!nt)
                    return nomem("word types");
                t->types = nt;
                t->cap_types = cap;
            }
            if (t->n_types >= INT32_MAX)
                return es_error(ES_EINVAL, "BPE training text has more than 2^31 distinct pre-tokens");
            t->types[t->n_types] = (word_type){i, (uint32_t)n, h, 1};
            t->type_slots[slot] = (int32_t)t->n_types++;
            if (2 * t->n_types > t->type_cap) { /* grow and rehash */
                size_t cap = 2 * t->type_cap;
                int32_t *slots = malloc(cap * sizeof *slots);
                if (!slots)
                    return nomem("word table");
                memset(slots, 0xff, cap * sizeof *slots);
                for (size_t k = 0; k < t->n_types; k++) {
                    size_t sl = t->types[k].hash & (cap - 1);
                    while (slots[sl] >= 0)
                        sl = (sl + 1) & (cap - 1);
                    slots[sl] = (int32_t)k;
                }
                free(t->type_slots);
                t->type_slots = slots;
                t->type_cap = cap;
            }
        }
        i = j;
    }
    return ES_OK;
}

/* The index of pair (a, b), created with count 0 if new; -1 if out of memory. */
static int32_t pair_get(trainer *t, int32_t a, int32_t b)
{
    uint64_t key = pair_key(a, b);
    size_t mask = t->pair_cap - 1, h = hash_u64(key) & mask;
    while (t->pair_keys[h] != EMPTY_KEY) {
        if (t->pair_keys[h] == key)
            return t->pair_idx[h];
        h = (h + 1) & mask;
    }
    if (t->n_pairs == t->cap_pairs) {
        size_t cap = t->cap_pairs ? 2 * t->cap_pairs : 1 << 14;
        int32_t *pa = realloc(t->pa, cap * sizeof *pa);
        if (pa) t->pa = pa;
        int32_t *pb = realloc(t->pb, cap * sizeof *pb);
        if (pb) t->pb = pb;
        int64_t *pc = realloc(t->pcount, cap * sizeof *pc);
        if (pc) t->pcount = pc;
        word_list *pl = realloc(t->plist, cap * sizeof *pl);
        if (pl) t->plist = pl;
        int32_t *ps = realloc(t->pstamp, cap * sizeof *ps);
        if (ps) t->pstamp = ps;
        if (!pa || !pb || !pc || !pl || !ps)
            return -1;
        t->cap_pairs = cap;
    }
    int32_t p = (int32_t)t->n_pairs++;
    t->pa[p] = a;
    t->pb[p] = b;
    t->pcount[p] = 0;
    t->plist[p] = (word_list){NULL, 0, 0};
    t->pstamp[p] = 0;
    t->pair_keys[h] = key;
    t->pair_idx[h] = p;
    if (2 * t->n_pairs > t->pair_cap) {
        size_t cap = 2 * t->pair_cap;
        uint64_t *keys = malloc(cap * sizeof *keys);
        int32_t *idx = malloc(cap * sizeof *idx);
        if (!keys || !idx) {
            free(keys);
            free(idx);
            return -1;
        }
        memset(keys, 0xff, cap * sizeof *keys);
        for (size_t k = 0; k < t->pair_cap; k++) {
            if (t->pair_keys[k] == EMPTY_KEY)
                continue;
            size_t sl = hash_u64(t->pair_keys[k]) & (cap - 1);
            while (keys[sl] != EMPTY_KEY)
                sl = (sl + 1) & (cap - 1);
            keys[sl] = t->pair_keys[k];
            idx[sl] = t->pair_idx[k];
        }
        free(t->pair_keys);
        free(t->pair_idx);
        t->pair_keys = keys;
        t->pair_idx = idx;
        t->pair_cap = cap;
    }
    return p;
}

static int list_add(word_list *l, int32_t w)
{
    if (l->n > 0 && l->w[l->n - 1] == w)
        return ES_OK;
    if (l->n == l->cap) {
        int32_t cap = l->cap ? 2 * l->cap : 4;
        int32_t *nw = realloc(l->w, (size_t)cap * sizeof *nw);
        if (!nw)
            return nomem("pair occurrences");
        l->w = nw;
        l->cap = cap;
    }
    l->w[l->n++] = w;
    return ES_OK;
}

/* Heap order: larger count first, then smaller (left, right). */
static inline int heap_before(const trainer *t, heap_entry x, heap_entry y)
{
    if (x.count != y.count)
        return x.count > y.count;
    if (t->pa[x.pair] != t->pa[y.pair])
        return t->pa[x.pair] < t->pa[y.pair];
    return t->pb[x.pair] < t->pb[y.pair];
}

static int heap_push(trainer *t, heap_entry e)
{
    if (t->heap_n == t->heap_cap) {
        size_t cap = t->heap_cap ? 2 * t->heap_cap : 1 << 14;
        heap_entry *h = realloc(t->heap, cap * sizeof *h);
        if (!h)
            return nomem("pair heap");
        t->heap = h;
        t->heap_cap = cap;
    }
    size_t i = t->heap_n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_before(t, e, t->heap[parent]))
            break;
        t->heap[i] = t->heap[parent];
        i = parent;
    }
    t->heap[i] = e;
    return ES_OK;
}

static heap_entry heap_pop(trainer *t)
{
    heap_entry top = t->heap[0], last = t->heap[--t->heap_n];
    size_t i = 0, n = t->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && heap_before(t, t->heap[c + 1], t->heap[c]))
            c++;
        if (!heap_before(t, t->heap[c], last))
            break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (n > 0)
        t->heap[i] = last;
    return top;
}

/* Applies merge (a, b) -> z to every word type containing the pair,
 * keeping pair counts and occurrence lists up to date. */
static int apply_merge(trainer *t, int32_t p, int32_t z, int32_t stamp, int32_t **touched,
                       size_t *n_touched, size_t *cap_touched)
{
    int32_t a = t->pa[p], b = t->pb[p];
    for (int32_t k = 0; k < t->plist[p].n; k++) {
        int32_t w = t->plist[p].w[k];
        if (t->word_stamp[w] == stamp)
            continue;
        t->word_stamp[w] = stamp;
        int32_t *s = t->syms + t->sym_off[w];
        uint32_t n = t->sym_len[w];
        int found = 0;
        for (uint32_t i = 0; i + 1 < n && !found; i++)
            found = s[i] == a && s[i + 1] == b;
        if (!found)
            continue; /* a stale entry: an earlier merge removed the pair here */
        int64_t cnt = t->types[w].count;
        /* Remove all pairs of the word, merge, add the new word's pairs.
         * Words are short, so this is as cheap as local bookkeeping. */
        for (uint32_t i = 0; i + 1 < n; i++)
            t->pcount[pair_get(t, s[i], s[i + 1])] -= cnt; /* exists: never -1 */
        uint32_t m = 0;
        for (uint32_t i = 0; i < n;) {
            if (i + 1 < n && s[i] == a && s[i + 1] == b) {
                s[m++] = z;
                i += 2;
            } else {
                s[m++] = s[i++];
            }
        }
        t->sym_len[w] = m;
        for (uint32_t i = 0; i + 1 < m; i++) {
            int32_t q = pair_get(t, s[i], s[i + 1]);
            if (q < 0)
                return nomem("pairs");
            t->pcount[q] += cnt;
            if (s[i] != z && s[i + 1] != z)
                continue;
            int rc = list_add(&t->plist[q], w);
            if (rc)
                return rc;
            if (t->pstamp[q] != stamp) {
                t->pstamp[q] = stamp;
                if (*n_touched == *cap_touched) {
                    size_t cap = *cap_touched ? 2 * *cap_touched : 1024;
                    int32_t *nt = realloc(*touched, cap * sizeof *nt);
                    if (!nt)
                        return nomem("new pairs");
                    *touched = nt;
                    *cap_touched = cap;
                }
                (*touched)[(*n_touched)++] = q;
            }
        }
    }
    return ES_OK;
}

int bpe_train(const char *text, size_t len, int vocab_size, bpe **out)
{
    *out = NULL;
    if (vocab_size < 256 || vocab_size > 65536)
        return es_error(ES_EINVAL, "BPE vocabulary size %d is outside [256, 65536]", vocab_size);
    const unsigned char *s = (const unsigned char *)text;
    int n_merges_max = vocab_size - 256;
    int32_t *merges = malloc(2 * (size_t)(n_merges_max > 0 ? n_merges_max : 1) * sizeof *merges);
    if (!merges)
        return nomem("merges");

    trainer t = {0};
    int rc = count_word_types(&t, s, len);
    int n_merges = 0;
    int32_t *touched = NULL;
    size_t n_touched = 0, cap_touched = 0;
    if (rc)
        goto done;

    /* The words' symbols start as their bytes. */
    size_t total = 0;
    for (size_t w = 0; w < t.n_types; w++)
        total += t.types[w].len;
    t.syms = malloc((total ? total : 1) * sizeof *t.syms);
    t.sym_off = malloc((t.n_types ? t.n_types : 1) * sizeof *t.sym_off);
    t.sym_len = malloc((t.n_types ? t.n_types : 1) * sizeof *t.sym_len);
    t.word_stamp = calloc(t.n_types ? t.n_types : 1, sizeof *t.word_stamp);
    t.pair_cap = 1 << 16;
    t.pair_keys = malloc(t.pair_cap * sizeof *t.pair_keys);
    t.pair_idx = malloc(t.pair_cap * sizeof *t.pair_idx);
    if (!t.syms || !t.sym_off || !t.sym_len || !t.word_stamp || !t.pair_keys || !t.pair_idx) {
        rc = nomem("words");
        goto done;
    }
    memset(t.pair_keys, 0xff, t.pair_cap * sizeof *t.pair_keys);
    size_t off = 0;
    for (size_t w = 0; w < t.n_types; w++) {
        t.sym_off[w] = off;
        t.sym_len[w] = t.types[w].len;
        for (uint32_t i = 0; i < t.types[w].len; i++)
            t.syms[off + i] = s[t.types[w].off + i];
        for (uint32_t i = 0; i + 1 < t.types[w].len; i++) {
            int32_t q = pair_get(&t, t.syms[off + i], t.syms[off + i + 1]);
            if (q < 0) {
                rc = nomem("pairs");
                goto done;
            }
            t.pcount[q] += t.types[w].count;
            if ((rc = list_add(&t.plist[q], (int32_t)w)))
                goto done;
        }
        off += t.types[w].len;
    }
    for (size_t p = 0; p < t.n_pairs; p++)
        if ((rc = heap_push(&t, (heap_entry){t.pcount[p], (int32_t)p})))
            goto done;

    while (n_merges < n_merges_max && t.heap_n > 0) {
        heap_entry e = heap_pop(&t);
        int64_t now = t.pcount[e.pair];
        if (now <= 0)
            continue;
        if (now != e.count) { /* stale: re-queue at its true count */
            if ((rc = heap_push(&t, (heap_entry){now, e.pair})))
                goto done;
            continue;
        }
        int32_t z = 256 + n_merges;
        merges[2 * n_merges] = t.pa[e.pair];
        merges[2 * n_merges + 1] = t.pb[e.pair];
        n_merges++;
        n_touched = 0;
        if ((rc = apply_merge(&t, e.pair, z, n_merges, &touched, &n_touched, &cap_touched)))
            goto done;
        /* The merged pair cannot reappear: only new symbols form new pairs. */
        free(t.plist[e.pair].w);
        t.plist[e.pair] = (word_list){NULL, 0, 0};
        for (size_t k = 0; k < n_touched; k++)
            if (t.pcount[touched[k]] > 0 &&
                (rc = heap_push(&t, (heap_entry){t.pcount[touched[k]], touched[k]})))
                goto done;
    }

    bpe *tok = calloc(1, sizeof *tok);
    if (!tok) {
        rc = nomem("tokenizer");
        goto done;
    }
    tok->vocab = 256 + n_merges;
    tok->merges = merges;
    merges = NULL;
    if ((rc = bpe_build_tables(tok, "bpe_train"))) {
        bpe_free(tok);
        goto done;
    }
    *out = tok;
done:
    free(touched);
    free(merges);
    trainer_free(&t);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Save and load: a text file, "engram-scale-bpe 1", "vocab N", then one
 * "left right" line per merge, in merge order. */

int bpe_save(const bpe *tok, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return es_error(ES_EIO, "cannot create %s: %s", path, strerror(errno));
    fprintf(f, "%s %d\nvocab %d\n", BPE_MAGIC, BPE_VERSION, tok->vocab);
    for (int m = 0; m < tok->vocab - 256; m++)
        fprintf(f, "%d %d\n", tok->merges[2 * m], tok->merges[2 * m + 1]);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return es_error(ES_EIO, "cannot write %s: %s", path, strerror(errno));
    return ES_OK;
}

/* Parses a non-negative decimal at *p, advancing past it and one space. */
static int parse_int(const char **p, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(*p, &end, 10);
    if (end == *p || errno || *v < 0 || **p == '-' || **p == '+' || **p == ' ')
        return 0;
    *p = end;
    return 1;
}

int bpe_load(const char *path, bpe **out)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return es_error(ES_EIO, "cannot open %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    int rc = ES_OK, version = 0;
    long vocab = -1;
    bpe *tok = NULL;
    if (getline(&line, &cap, f) < 0 || sscanf(line, BPE_MAGIC " %d", &version) != 1) {
        rc = es_error(ES_EDATA, "%s: line 1: not a BPE tokenizer file (expected \"%s %d\")", path,
                      BPE_MAGIC, BPE_VERSION);
        goto done;
    }
    if (version != BPE_VERSION) {
        rc = es_error(ES_EDATA, "%s: line 1: tokenizer format version %d, this build reads %d",
                      path, version, BPE_VERSION);
        goto done;
    }
    const char *p;
    if (getline(&line, &cap, f) < 0 || strncmp(line, "vocab ", 6) != 0 ||
        !(p = line + 6, parse_int(&p, &vocab)) || (*p != '\n' && *p != '\0') || vocab < 256 ||
        vocab > 65536) {
        rc = es_error(ES_EDATA, "%s: line 2: expected \"vocab N\" with N in [256, 65536]", path);
        goto done;
    }
    tok = calloc(1, sizeof *tok);
    if (tok)
        tok->merges = malloc(2 * (size_t)(vocab - 255) * sizeof *tok->merges);
    if (!tok || !tok->merges) {
        rc = es_error(ES_ENOMEM, "cannot allocate a %ld-token vocabulary", vocab);
        goto done;
    }
    tok->vocab = (int)vocab;
    for (long m = 0; m < vocab - 256; m++) {
        long a, b;
        if (getline(&line, &cap, f) < 0) {
            rc = es_error(ES_EDATA, "%s: truncated: %ld merges of %ld", path, m, vocab - 256);
            goto done;
        }
        p = line;
        if (!parse_int(&p, &a) || *p++ != ' ' || !parse_int(&p, &b) || (*p != '\n' && *p != '\0') ||
            a >= 256 + m || b >= 256 + m) {
            rc = es_error(ES_EDATA, "%s: line %ld: expected a merge \"LEFT RIGHT\" of ids below %ld",
                          path, m + 3, 256 + m);
            goto done;
        }
        tok->merges[2 * m] = (int32_t)a;
        tok->merges[2 * m + 1] = (int32_t)b;
    }
    if (getline(&line, &cap, f) >= 0) {
        rc = es_error(ES_EDATA, "%s: line %ld: unexpected text after the last merge", path, vocab - 253);
        goto done;
    }
    rc = bpe_build_tables(tok, path);
done:
    free(line);
    fclose(f);
    if (rc) {
        bpe_free(tok);
        return rc;
    }
    *out = tok;
    return ES_OK;
}

/* ------------------------------------------------------------------------ */
/* Encoding */

/* Encodes one pre-token: bytes to ids, then the lowest-rank merge present,
 * all its occurrences left to right, until no merge applies. */
static size_t encode_word(const bpe *tok, const unsigned char *s, size_t n, int32_t *ids)
{
    for (size_t i = 0; i < n; i++)
        ids[i] = s[i];
    size_t m = n;
    while (m > 1) {
        int32_t best = INT32_MAX;
        for (size_t i = 0; i + 1 < m; i++) {
            int32_t id = merge_lookup(tok, ids[i], ids[i + 1]);
            if (id >= 0 && id < best)
                best = id;
        }
        if (best == INT32_MAX)
            break;
        int32_t a = tok->merges[2 * (best - 256)], b = tok->merges[2 * (best - 256) + 1];
        size_t k = 0;
        for (size_t i = 0; i < m;) {
            if (i + 1 < m && ids[i] == a && ids[i + 1] == b) {
                ids[k++] = best;
                i += 2;
            } else {
                ids[k++] = ids[i++];
            }
        }
        m = k;
    }
    return m;
}

typedef struct {
    size_t off;      /* the pre-token's position in the text being encoded */
    uint64_t hash;
    uint32_t len;
    uint32_t ids_off, n_ids;
} cache_entry;

typedef struct {
    int32_t *p;
    size_t n, cap;
} id_buffer;

static int ids_reserve(id_buffer *b, size_t extra)
{
    if (b->n + extra <= b->cap)
        return ES_OK;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->n + extra)
        cap *= 2;
    int32_t *p = realloc(b->p, cap * sizeof *p);
    if (!p)
        return es_error(ES_ENOMEM, "cannot allocate %zu token ids", cap);
    b->p = p;
    b->cap = cap;
    return ES_OK;
}

int bpe_encode(const bpe *tok, const char *text, size_t len, int32_t **ids, size_t *n_ids)
{
    *ids = NULL;
    *n_ids = 0;
    const unsigned char *s = (const unsigned char *)text;
    id_buffer out = {0}, arena = {0};
    size_t cache_cap = 1 << 14, cache_n = 0;
    cache_entry *cache = malloc(cache_cap * sizeof *cache);
    int rc = cache ? ids_reserve(&out, len / 3 + 16)
                   : es_error(ES_ENOMEM, "cannot allocate the encoding cache");
    if (cache)
        for (size_t k = 0; k < cache_cap; k++)
            cache[k].len = UINT32_MAX; /* free slot */
    size_t i = 0;
    while (i < len && !rc) {
        size_t j = pretoken_end(s, len, i), n = j - i;
        uint64_t h = hash_bytes(s + i, n);
        size_t mask = cache_cap - 1, slot = h & mask;
        while (cache[slot].len != UINT32_MAX) {
            const cache_entry *e = &cache[slot];
            if (e->hash == h && e->len == n && memcmp(s + e->off, s + i, n) == 0)
                break;
            slot = (slot + 1) & mask;
        }
        if (cache[slot].len == UINT32_MAX) { /* first time: encode and remember */
            if ((rc = ids_reserve(&arena, n)))
                break;
            size_t m = encode_word(tok, s + i, n, arena.p + arena.n);
            cache[slot] = (cache_entry){i, h, (uint32_t)n, (uint32_t)arena.n, (uint32_t)m};
            arena.n += m;
            if (++cache_n * 2 > cache_cap) {
                size_t cap = 2 * cache_cap;
                cache_entry *nc = malloc(cap * sizeof *nc);
                if (!nc) {
                    rc = es_error(ES_ENOMEM, "cannot grow the encoding cache to %zu entries", cap);
                    break;
                }
                for (size_t k = 0; k < cap; k++)
                    nc[k].len = UINT32_MAX;
                for (size_t k = 0; k < cache_cap; k++) {
                    if (cache[k].len == UINT32_MAX)
                        continue;
                    size_t sl = cache[k].hash & (cap - 1);
                    while (nc[sl].len != UINT32_MAX)
                        sl = (sl + 1) & (cap - 1);
                    nc[sl] = cache[k];
                }
                free(cache);
                cache = nc;
                cache_cap = cap;
                /* find the entry again for the copy below */
                slot = h & (cap - 1);
                while (!(cache[slot].hash == h && cache[slot].off == i))
                    slot = (slot + 1) & (cap - 1);
            }
        }
        const cache_entry *e = &cache[slot];
        if ((rc = ids_reserve(&out, e->n_ids)))
            break;
        memcpy(out.p + out.n, arena.p + e->ids_off, e->n_ids * sizeof *out.p);
        out.n += e->n_ids;
        i = j;
    }
    free(cache);
    free(arena.p);
    if (rc) {
        free(out.p);
        return rc;
    }
    if (!out.p && (rc = ids_reserve(&out, 1))) /* empty text: still a valid heap array */
        return rc;
    *ids = out.p;
    *n_ids = out.n;
    return ES_OK;
}

int bpe_decode(const bpe *tok, const int32_t *ids, size_t n_ids, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || ids[i] >= tok->vocab)
            return es_error(ES_EINVAL, "token id %d at position %zu is outside [0, %d)", (int)ids[i],
                            i, tok->vocab);
        total += tok->tok_len[ids[i]];
    }
    char *out = malloc(total + 1);
    if (!out)
        return es_error(ES_ENOMEM, "cannot allocate %zu bytes of decoded text", total + 1);
    size_t k = 0;
    for (size_t i = 0; i < n_ids; i++) {
        memcpy(out + k, tok->tok_bytes + tok->tok_off[ids[i]], tok->tok_len[ids[i]]);
        k += tok->tok_len[ids[i]];
    }
    out[k] = '\0';
    *text = out;
    *len = k;
    return ES_OK;
}
