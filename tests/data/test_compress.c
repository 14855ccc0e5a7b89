/* Tests of lib/data/compress: the normal form and the compressed-id map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/bpe.h"
#include "data/compress.h"

static void assert_normal(const char *in, const char *expect)
{
    char *out = compress_normalize((const unsigned char *)in, strlen(in));
    assert_non_null(out);
    assert_string_equal(out, expect);
    free(out);
}

static void test_normalize(void **state)
{
    (void)state;
    assert_normal("the", "the");
    assert_normal(" The", "the");
    assert_normal("THE", "the");
    assert_normal(" THE ", "the");
    assert_normal("caf\xc3\xa9", "cafe");         /* accent stripped (precomposed) */
    assert_normal("cafe\xcc\x81", "cafe");        /* accent stripped (combining) */
    assert_normal("CAF\xc3\x89", "cafe");
    assert_normal("\xef\xac\x81", "fi");          /* U+FB01 ligature, NFKC */
    assert_normal("\xef\xbc\xa1", "a");           /* fullwidth A */
    assert_normal("Stra\xc3\x9f" "e", "strasse"); /* case folding of sharp s */
    assert_normal("a \t\n b", "a b");             /* inner runs collapse */
    assert_normal("\xc2\xa0x", "x");              /* no-break space is whitespace */
    assert_normal(" ", " ");                      /* whitespace-only: one space */
    assert_normal("\n\n", " ");
    assert_normal("\t \xe2\x80\x83", " ");        /* em space too */
    assert_normal(".", ".");
    assert_normal("", "");
    /* not valid UTF-8 on its own: a partial character */
    assert_null(compress_normalize((const unsigned char *)"\xc3", 1));
    assert_null(compress_normalize((const unsigned char *)"ab\xe2\x82", 4));
}

/* The id of the token whose bytes are s, or -1. */
static int find_token(const bpe *tok, const char *s)
{
    size_t n = strlen(s);
    for (int id = 0; id < bpe_vocab(tok); id++) {
        size_t len;
        const unsigned char *b = bpe_token(tok, id, &len);
        if (len == n && memcmp(b, s, n) == 0)
            return id;
    }
    return -1;
}

static void test_build(void **state)
{
    (void)state;
    /* a text that makes whole-word tokens of the variants */
    const char *words[] = {" The", "the", " the", "THE", " THE", " caf\xc3\xa9", " cafe", " Caf\xc3\xa9",
                           " apple", " Apple", " APPLE", "apple", "\n\n", "\n\t"};
    enum { N_WORDS = sizeof words / sizeof words[0] };
    char *text = malloc(200000);
    assert_non_null(text);
    size_t len = 0;
    for (int r = 0; r < 2000; r++)
        for (int w = 0; w < N_WORDS; w++) {
            const char *s = words[(w * 7 + r) % N_WORDS];
            size_t n = strlen(s);
            memcpy(text + len, s, n);
            len += n;
            text[len++] = '.';
        }
    bpe *tok;
    assert_int_equal(bpe_train(text, len, 400, &tok), ES_OK);
    int vocab = bpe_vocab(tok);
    int32_t *map = malloc((size_t)vocab * sizeof *map);
    int n_compressed = -1;
    assert_int_equal(compress_build(tok, map, &n_compressed), ES_OK);
    assert_true(n_compressed > 0 && n_compressed < vocab);

    /* every variant is one token, and the variants share classes */
    int ids[N_WORDS];
    for (int w = 0; w < N_WORDS; w++) {
        ids[w] = find_token(tok, words[w]);
        assert_true(ids[w] >= 0);
    }
    for (int w = 1; w <= 4; w++)
        assert_int_equal(map[ids[w]], map[ids[0]]);        /* the family */
    assert_int_equal(map[ids[6]], map[ids[5]]);            /* café, cafe */
    assert_int_equal(map[ids[7]], map[ids[5]]);            /* Café */
    for (int w = 9; w <= 11; w++)
        assert_int_equal(map[ids[w]], map[ids[8]]);        /* apple */
    assert_int_equal(map[ids[12]], map[ids[13]]);          /* whitespace tokens */
    assert_int_equal(map[find_token(tok, "\n")], map[find_token(tok, " ")]);
    assert_int_not_equal(map[ids[0]], map[ids[5]]);
    assert_int_not_equal(map[ids[0]], map[ids[8]]);
    assert_int_equal(map[find_token(tok, "a")], map[find_token(tok, "A")]);

    /* dense and numbered by the smallest id of each class */
    int next = 0;
    for (int id = 0; id < vocab; id++) {
        assert_true(map[id] >= 0 && map[id] < n_compressed);
        assert_true(map[id] <= next);
        if (map[id] == next)
            next++;
    }
    assert_int_equal(next, n_compressed);
    assert_int_equal(map[0], 0);

    /* bytes 0x80..0xFF are partial characters: classes of their own */
    for (int b = 0x80; b < 0x100; b++)
        for (int id = 0; id < vocab; id++)
            if (id != b)
                assert_int_not_equal(map[id], map[b]);

    /* deterministic */
    int32_t *map2 = malloc((size_t)vocab * sizeof *map2);
    int n2;
    assert_int_equal(compress_build(tok, map2, &n2), ES_OK);
    assert_int_equal(n2, n_compressed);
    assert_memory_equal(map, map2, (size_t)vocab * sizeof *map);

    /* 256 bytes: the 26 upper-case letters fold into lower case, the
     * whitespace bytes into " "; nothing else merges */
    bpe *bytes;
    assert_int_equal(bpe_train("", 0, 256, &bytes), ES_OK);
    assert_int_equal(compress_build(bytes, map2, &n2), ES_OK);
    assert_int_equal(n2, 256 - 26 - 5); /* \t \n \v \f \r join ' ' */

    bpe_free(bytes);
    free(map2);
    free(map);
    bpe_free(tok);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
