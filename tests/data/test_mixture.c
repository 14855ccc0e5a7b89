/* Tests of corpus mixtures: parsing corpus strings ("a+b@w"), subsampling,
 * and datasets built from several sources (per-source validation splits,
 * token ranges and floors, cache reload). Sources are small text files the
 * test writes, so no Debian corpus package is needed. */
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

#include "core/error.h"
#include "data/corpus.h"
#include "data/dataset.h"
#include "tmpdir.h"

static char prose[512], code[512], data_dir[512];

/* Two sources of different kinds: English-like prose and C-like code. */
static int setup(void **state)
{
    (void)state;
    if (tmpdir_make("mixture"))
        return -1;
    snprintf(prose, sizeof prose, "%s/prose.txt", tmpdir);
    snprintf(code, sizeof code, "%s/code.txt", tmpdir);
    snprintf(data_dir, sizeof data_dir, "%s/data", tmpdir);
    FILE *p = fopen(prose, "w"), *c = fopen(code, "w");
    if (!p || !c)
        return -1;
    static const char *subj[] = {"the king", "a man", "his son", "the people", "my lord"};
    static const char *verb[] = {"went", "spake", "came", "said", "saw"};
    static const char *rest[] = {"unto the city.", "to the house of God.", "and it was good.", "in those days.",
                                 "before the LORD."};
    static const char *type[] = {"int", "long", "size_t", "char *", "struct page *"};
    static const char *fn[] = {"alloc", "free_pages", "lock", "unlock", "copy_to_user"};
    uint32_t s = 1;
    for (int i = 0; i < 40000; i++) {
        s = s * 1103515245u + 12345u;
        fprintf(p, "And %s %s %s\n", subj[(s >> 16) % 5], verb[(s >> 8) % 5], rest[(s >> 20) % 5]);
        fprintf(c, "\t%s x%d = %s(ctx, %u);\n", type[(s >> 12) % 5], i % 97, fn[(s >> 18) % 5], (s >> 4) % 64);
    }
    return fclose(p) == 0 && fclose(c) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return tmpdir_remove();
}

/* ------------------------------------------------------------------------ */

static void test_spec_parse(void **state)
{
    (void)state;
    corpus_spec s;
    char name[1024], spec[1200];

    assert_int_equal(corpus_spec_parse("kjv", &s), ES_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.parts[0], "kjv");
    assert_true(s.weights[0] == 1);

    assert_int_equal(corpus_spec_parse("gcide+kjv+linux-doc+linux-src@0.1", &s), ES_OK);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.parts[2], "linux-doc");
    assert_string_equal(s.parts[3], "linux-src");
    assert_true(s.weights[0] == 1 && s.weights[2] == 1);
    assert_true(s.weights[3] == 0.1);
    corpus_spec_name(&s, name, sizeof name);
    assert_string_equal(name, "gcide+kjv+linux-doc+linux-src@0.1");
    assert_int_equal(corpus_cache_name("gcide+kjv+linux-doc+linux-src@0.1", name, sizeof name), ES_OK);
    assert_string_equal(name, "gcide+kjv+linux-doc+linux-src@0.1");
    assert_int_equal(corpus_cache_name("kjv", name, sizeof name), ES_OK);
    assert_string_equal(name, "kjv");
    assert_int_equal(corpus_cache_name("kjvv", name, sizeof name), ES_EINVAL);

    /* paths, with a weight on a single source too */
    snprintf(spec, sizeof spec, "%s@0.5+%s", prose, code);
    assert_int_equal(corpus_spec_parse(spec, &s), ES_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.parts[0], prose);
    assert_true(s.weights[0] == 0.5);
    corpus_spec_name(&s, name, sizeof name);
    assert_string_equal(name, "prose@0.5+code");
    assert_int_equal(corpus_spec_parse("kjv@0.25", &s), ES_OK);
    assert_int_equal(s.n, 1);
    assert_true(s.weights[0] == 0.25);
}

static void expect_spec_error(const char *spec, const char *fragment)
{
    corpus_spec s;
    assert_int_equal(corpus_spec_parse(spec, &s), ES_EINVAL);
    if (!strstr(es_error_message(), fragment))
        fail_msg("'%s': error '%s' lacks '%s'", spec, es_error_message(), fragment);
}

static void test_spec_errors(void **state)
{
    (void)state;
    expect_spec_error("", "empty");
    expect_spec_error("gcide+linux-dox", "unknown corpus 'linux-dox'");
    expect_spec_error("gcide+linux-dox", "built-in: kjv, gcide, linux-doc, linux-src");
    expect_spec_error("kjvv", "unknown corpus 'kjvv'");
    expect_spec_error("gcide+kjv@0", "weight of kjv is '0'");
    expect_spec_error("gcide+kjv@1.5", "expected a number in (0, 1]");
    expect_spec_error("gcide+kjv@-0.5", "weight of kjv is '-0.5'");
    expect_spec_error("gcide+kjv@abc", "weight of kjv is 'abc'");
    expect_spec_error("gcide+kjv@", "weight of kjv is ''");
    expect_spec_error("gcide+kjv@nan", "weight of kjv is 'nan'");
    expect_spec_error("gcide++kjv", "source 2 is empty");
    expect_spec_error("gcide+", "source 2 is empty");
    expect_spec_error("@0.5", "has a weight but no name");
    expect_spec_error("kjv+gcide+kjv@0.5", "source 'kjv' appears twice");
    expect_spec_error("kjv+gcide+a+b+c+d+e+f+g", "more than 8 sources");
}

static void test_subsample(void **state)
{
    (void)state;
    char text[64];
    snprintf(text, sizeof text, "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
    size_t n = corpus_subsample(text, strlen(text), 1.0, 1);
    assert_int_equal(n, 20);
    n = corpus_subsample(text, n, 0.5, 1); /* unit i kept iff floor((i+1)/2) > floor(i/2): 1, 3, 5, ... */
    assert_int_equal(n, 10);
    assert_string_equal(text, "1\n3\n5\n7\n9\n");

    snprintf(text, sizeof text, "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
    n = corpus_subsample(text, strlen(text), 0.3, 2); /* 5 units of 2 lines; keeps units 3 (floor 1.2 > 0.9) */
    assert_string_equal(text, "6\n7\n");
    assert_int_equal(n, 4);

    /* a text without a final newline keeps its last unit whole */
    snprintf(text, sizeof text, "a\nb\nc");
    n = corpus_subsample(text, strlen(text), 0.5, 1);
    assert_string_equal(text, "b\n");
    assert_int_equal(n, 2);
}

/* ------------------------------------------------------------------------ */

static void test_mixture_dataset(void **state)
{
    (void)state;
    char spec[1200];
    dataset *p, *c, *m, *again;
    assert_int_equal(dataset_prepare(prose, data_dir, 400, 0, NULL, NULL, &p), ES_OK);
    assert_int_equal(dataset_prepare(code, data_dir, 400, 0, NULL, NULL, &c), ES_OK);
    assert_int_equal(p->n_sources, 1);
    assert_string_equal(p->sources[0].name, "prose");
    assert_int_equal(p->sources[0].n_val, p->n_val);

    snprintf(spec, sizeof spec, "%s+%s", prose, code);
    assert_int_equal(dataset_prepare(spec, data_dir, 400, 0, NULL, NULL, &m), ES_OK);
    assert_string_equal(m->name, "prose+code");
    /* readers of the cache (the report) find the folder by the same name */
    char cache_name[256];
    assert_int_equal(corpus_cache_name(spec, cache_name, sizeof cache_name), ES_OK);
    assert_string_equal(cache_name, m->name);
    assert_int_equal(m->n_sources, 2);
    assert_string_equal(m->sources[0].name, "prose");
    assert_string_equal(m->sources[1].name, "code");

    /* each source's split is the same as the source's own: same bytes held out */
    for (int i = 0; i < 2; i++) {
        const dataset *one = i ? c : p;
        const dataset_source *so = &m->sources[i];
        assert_int_equal(so->train_bytes, one->train_bytes);
        assert_int_equal(so->val_bytes, one->val_bytes);
        assert_true(so->weight == 1);
        assert_true(so->n_val > 0 && so->n_train > so->n_val);
        /* its tokens decode to exactly its validation text */
        int32_t *ids;
        size_t n_ids;
        assert_int_equal(dataset_source_val(m, i, &ids, &n_ids), ES_OK);
        assert_int_equal(n_ids, so->n_val);
        char *text;
        size_t len;
        assert_int_equal(bpe_decode(m->tokenizer, ids, n_ids, &text, &len), ES_OK);
        assert_int_equal(len, so->val_bytes);
        char *one_text;
        size_t one_len;
        assert_int_equal(bpe_decode(one->tokenizer, one->val, one->n_val, &one_text, &one_len), ES_OK);
        assert_int_equal(one_len, len);
        assert_memory_equal(text, one_text, len);
        free(text);
        free(one_text);
        /* floors: counts of the whole training split, scored on this source */
        assert_true(so->unigram_val_loss == baseline_unigram(m->train, m->n_train, ids, n_ids, m->vocab));
        assert_true(so->bigram_val_loss < so->unigram_val_loss);
        free(ids);
    }
    /* val interleaves the sources in chunks, so a prefix holds both */
    assert_true(m->sources[0].n_val > DATASET_VAL_CHUNK && m->sources[1].n_val > DATASET_VAL_CHUNK);
    assert_int_equal(dataset_val_source(m, 0), 0);
    assert_int_equal(dataset_val_source(m, DATASET_VAL_CHUNK - 1), 0);
    assert_int_equal(dataset_val_source(m, DATASET_VAL_CHUNK), 1);
    assert_int_equal(dataset_val_source(m, 2 * DATASET_VAL_CHUNK), 0);
    assert_int_equal(dataset_val_source(m, m->n_val - 1), m->sources[0].n_val > m->sources[1].n_val ? 0 : 1);
    size_t counted[2] = {0, 0};
    for (size_t t = 0; t < m->n_val; t++)
        counted[dataset_val_source(m, t)]++;
    assert_int_equal(counted[0], m->sources[0].n_val);
    assert_int_equal(counted[1], m->sources[1].n_val);
    int32_t *first;
    size_t n_first;
    assert_int_equal(dataset_source_val(m, 1, &first, &n_first), ES_OK);
    assert_memory_equal(first, m->val + DATASET_VAL_CHUNK, DATASET_VAL_CHUNK * sizeof *first);
    free(first);
    assert_int_equal(dataset_source_val(m, 2, &first, &n_first), ES_EINVAL);
    assert_int_equal(m->sources[0].train_offset, 0);
    assert_int_equal(m->sources[1].train_offset, m->sources[0].n_train);
    assert_int_equal(m->n_train, m->sources[0].n_train + m->sources[1].n_train);
    assert_int_equal(m->n_val, m->sources[0].n_val + m->sources[1].n_val);
    assert_int_equal(m->train_bytes, p->train_bytes + c->train_bytes);
    /* code is more predictable than the prose here, and the floors say so */
    assert_true(m->sources[1].bigram_val_loss != m->sources[0].bigram_val_loss);

    /* reloaded from the cache: the same sources */
    assert_int_equal(dataset_prepare(spec, data_dir, 400, 0, NULL, NULL, &again), ES_OK);
    assert_int_equal(again->n_sources, 2);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(again->sources[i].name, m->sources[i].name);
        assert_int_equal(again->sources[i].n_train, m->sources[i].n_train);
        assert_int_equal(again->sources[i].n_val, m->sources[i].n_val);
        assert_true(again->sources[i].bigram_val_loss == m->sources[i].bigram_val_loss);
    }
    assert_memory_equal(again->val, m->val, m->n_val * sizeof *m->val);
    dataset_free(again);

    /* a weight keeps that share of the source, before its split */
    snprintf(spec, sizeof spec, "%s+%s@0.5", prose, code);
    assert_int_equal(dataset_prepare(spec, data_dir, 400, 0, NULL, NULL, &again), ES_OK);
    assert_string_equal(again->name, "prose+code@0.5");
    assert_int_equal(again->sources[0].train_bytes, p->train_bytes);
    double share = (double)(again->sources[1].train_bytes + again->sources[1].val_bytes) /
                   (double)(c->train_bytes + c->val_bytes);
    assert_true(fabs(share - 0.5) < 0.05);
    assert_true(again->sources[1].weight == 0.5);
    dataset_free(again);

    /* an unknown name in the list fails before anything is built */
    snprintf(spec, sizeof spec, "%s+linux-dox", prose);
    assert_int_equal(dataset_prepare(spec, data_dir, 400, 0, NULL, NULL, &again), ES_EINVAL);
    assert_non_null(strstr(es_error_message(), "unknown corpus 'linux-dox'"));
    assert_null(again);
    /* a missing file in the list names it */
    snprintf(spec, sizeof spec, "%s+%s/none.txt", prose, tmpdir);
    assert_int_equal(dataset_prepare(spec, data_dir, 400, 0, NULL, NULL, &again), ES_EIO);
    assert_non_null(strstr(es_error_message(), "none.txt"));

    dataset_free(m);
    dataset_free(p);
    dataset_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_parse),
        cmocka_unit_test(test_spec_errors),
        cmocka_unit_test(test_subsample),
        cmocka_unit_test(test_mixture_dataset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
