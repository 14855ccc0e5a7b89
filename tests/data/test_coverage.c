/* Tests of lib/data/coverage: N-gram counts and validation coverage on a
 * token stream whose N-grams are known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/error.h"
#include "data/coverage.h"

enum { T = 8, B = 2, WINDOWS = 20, N_TRAIN = WINDOWS * T + 1 };

/* 0 1 2 ... 9 0 1 2 ...: its bigrams are the 10 pairs (i, i+1 mod 10) */
static void cyclic(int32_t *train)
{
    for (int i = 0; i < N_TRAIN; i++)
        train[i] = i % 10;
}

static void test_counts_and_coverage(void **state)
{
    (void)state;
    int32_t train[N_TRAIN], map[16];
    cyclic(train);
    for (int i = 0; i < 16; i++)
        map[i] = i;
    /* inputs 0 1 2 3 9 8 7 6: bigrams 01 12 23 seen; 39 98 87 76 not */
    const int32_t val[T + 1] = {0, 1, 2, 3, 9, 8, 7, 6, 5};
    ngram_coverage c;
    /* 10 steps of 2 windows: one whole epoch of the 20 windows */
    assert_int_equal(ngram_coverage_measure(train, N_TRAIN, val, T + 1, map, 10, B, T, 7, 2, &c), ES_OK);
    assert_int_equal(c.order, 2);
    assert_int_equal(c.train_ngrams, 10 * B * (T - 1));
    assert_int_equal(c.distinct, 10);
    assert_int_equal(c.val_ngrams, T - 1);
    assert_int_equal(c.val_seen, 3);

    /* trigrams: 10 distinct (i, i+1, i+2); in val only 012, 123 */
    assert_int_equal(ngram_coverage_measure(train, N_TRAIN, val, T + 1, map, 10, B, T, 7, 3, &c), ES_OK);
    assert_int_equal(c.distinct, 10);
    assert_int_equal(c.val_ngrams, T - 2);
    assert_int_equal(c.val_seen, 2);

    /* the compressed ids are what counts: with 9 -> 3, the val bigram
     * (3, 9) reads (3, 3), still unseen, but (9, 8) reads (3, 8), also
     * unseen, and the training pairs (8, 9), (9, 0) become (8, 3), (3, 0):
     * still 10 distinct */
    map[9] = 3;
    assert_int_equal(ngram_coverage_measure(train, N_TRAIN, val, T + 1, map, 10, B, T, 7, 2, &c), ES_OK);
    assert_int_equal(c.distinct, 10);
    assert_int_equal(c.val_seen, 3);
    map[9] = 9;

    /* one step sees 2 windows; a window covers the 7 pairs from its first
     * token on (mod 10), so 2 windows hold 7 to 10 distinct bigrams */
    assert_int_equal(ngram_coverage_measure(train, N_TRAIN, val, T + 1, map, 1, B, T, 7, 2, &c), ES_OK);
    assert_int_equal(c.train_ngrams, B * (T - 1));
    assert_true(c.distinct >= 7 && c.distinct <= 10);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    int32_t train[N_TRAIN], map[16], val[T + 1] = {0};
    cyclic(train);
    for (int i = 0; i < 16; i++)
        map[i] = i;
    ngram_coverage c;
    assert_int_equal(ngram_coverage_measure(train, N_TRAIN, val, T + 1, map, 1, B, T, 1, 5, &c), ES_EINVAL);
    assert_non_null(strstr(es_error_message(), "order 5 is out of range [2, 4]"));
    assert_int_equal(ngram_coverage_measure(train, N_TRAIN, val, T + 1, map, 0, B, T, 1, 2, &c), ES_EINVAL);
    /* fewer windows than a batch: the loader's error */
    assert_int_equal(ngram_coverage_measure(train, 9, val, T + 1, map, 1, B, T, 1, 2, &c), ES_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_counts_and_coverage),
                                       cmocka_unit_test(test_bad_arguments)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
