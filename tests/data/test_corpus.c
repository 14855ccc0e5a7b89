/* Tests of lib/data/corpus: UTF-8 validation, reading built-in corpora and
 * files, names and the train/validation split. */
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
#include "data/corpus.h"
#include "tmpdir.h"

/* ------------------------------------------------------------------------ */

static void assert_valid(const char *s, size_t len)
{
    size_t bad = 12345;
    assert_int_equal(utf8_valid(s, len, &bad), 1);
}

static void assert_invalid_at(const char *s, size_t len, size_t offset)
{
    size_t bad = 12345;
    assert_int_equal(utf8_valid(s, len, &bad), 0);
    assert_int_equal(bad, offset);
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_valid("", 0);
    assert_valid("plain ASCII", 11);
    assert_valid("caf\xc3\xa9", 5);                       /* é, 2 bytes */
    assert_valid("\xe2\x82\xac", 3);                      /* €, 3 bytes */
    assert_valid("\xf0\x9d\x84\x9e", 4);                  /* U+1D11E, 4 bytes */
    assert_valid("\xf4\x8f\xbf\xbf", 4);                  /* U+10FFFF, the last */
    assert_valid("\xed\x9f\xbf\xee\x80\x80", 6);          /* U+D7FF, U+E000 around surrogates */
    assert_valid("a\0b", 3);                              /* NUL is valid UTF-8 */

    assert_invalid_at("\xc0\xaf", 2, 0);                  /* overlong '/' */
    assert_invalid_at("\xc1\xbf", 2, 0);                  /* overlong */
    assert_invalid_at("ab\xe0\x80\xaf", 5, 2);            /* overlong 3-byte */
    assert_invalid_at("\xf0\x8f\xbf\xbf", 4, 0);          /* overlong 4-byte */
    assert_invalid_at("x\xed\xa0\x80y", 5, 1);            /* surrogate U+D800 */
    assert_invalid_at("\xed\xbf\xbf", 3, 0);              /* surrogate U+DFFF */
    assert_invalid_at("ab\xe2\x82", 4, 2);                /* truncated at the end */
    assert_invalid_at("ab\xe2\x82x", 5, 2);               /* truncated mid-text */
    assert_invalid_at("\xf4\x90\x80\x80", 4, 0);          /* U+110000 */
    assert_invalid_at("\xf5\x80\x80\x80", 4, 0);          /* lead byte F5 */
    assert_invalid_at("\xff", 1, 0);
    assert_invalid_at("abc\x80", 4, 3);                   /* lone continuation */
    assert_invalid_at("caf\xc3\xa9\xe2\x82\xac!\xc3", 10, 9); /* offset after multi-byte */

    /* the caller may ignore the offset */
    assert_int_equal(utf8_valid("\xff", 1, NULL), 0);
}

/* ------------------------------------------------------------------------ */

static int setup_tmp(void **state)
{
    (void)state;
    return tmpdir_make("corpus");
}

static int teardown_tmp(void **state)
{
    (void)state;
    return tmpdir_remove();
}

static void write_bytes(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_read_file_errors(void **state)
{
    (void)state;
    char path[512];
    char *text = (char *)1;
    size_t len = 99;

    snprintf(path, sizeof path, "%s/missing.txt", tmpdir);
    assert_int_equal(corpus_read(path, &text, &len), ES_EIO);
    assert_non_null(strstr(es_error_message(), "cannot open"));
    assert_non_null(strstr(es_error_message(), path));
    assert_non_null(strstr(es_error_message(), "No such file or directory"));
    assert_null(text);

    snprintf(path, sizeof path, "%s/empty.txt", tmpdir);
    write_bytes(path, "", 0);
    assert_int_equal(corpus_read(path, &text, &len), ES_EDATA);
    assert_non_null(strstr(es_error_message(), path));
    assert_non_null(strstr(es_error_message(), "the file is empty"));

    snprintf(path, sizeof path, "%s/latin1.txt", tmpdir);
    write_bytes(path, "caf\xc3\xa9 na\xefve\n", 12); /* 0xEF at offset 8 starts a bad sequence */
    assert_int_equal(corpus_read(path, &text, &len), ES_EDATA);
    assert_non_null(strstr(es_error_message(), path));
    assert_non_null(strstr(es_error_message(), "invalid UTF-8 at byte offset 8"));

    snprintf(path, sizeof path, "%s/good.txt", tmpdir);
    write_bytes(path, "caf\xc3\xa9\nline two", 14);
    assert_int_equal(corpus_read(path, &text, &len), ES_OK);
    assert_int_equal(len, 14);
    assert_memory_equal(text, "caf\xc3\xa9\nline two", 15); /* NUL-terminated */
    free(text);
}

static void test_read_kjv(void **state)
{
    (void)state;
    char *text;
    size_t len;
    int rc = corpus_read("kjv", &text, &len);
    if (rc == ES_EMISSING) {
        assert_non_null(strstr(es_error_message(), "apt-get install bible-kjv"));
        skip();
    }
    assert_int_equal(rc, ES_OK);
    assert_true(len > 4000000);
    assert_int_equal(strlen(text), len);
    assert_true(utf8_valid(text, len, NULL));
    const char *first = "In the beginning God created the heaven and the earth.\n";
    assert_memory_equal(text, first, strlen(first));
    const char *last = "The grace of our Lord Jesus Christ be with you all. Amen.\n";
    assert_string_equal(text + len - strlen(last), last);

    /* No verse numbers and no "Genesis 1" headings: the KJV text itself
     * holds no digits. One verse per line, no blank lines. */
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) {
        assert_false(text[i] >= '0' && text[i] <= '9');
        if (text[i] == '\n') {
            lines++;
            assert_true(i + 1 == len || (text[i + 1] != '\n' && text[i + 1] != ' '));
        }
    }
    assert_int_equal(lines, 31102); /* verses of the KJV */
    free(text);
}

static void test_read_gcide(void **state)
{
    (void)state;
    char *text;
    size_t len;
    int rc = corpus_read("gcide", &text, &len);
    if (rc == ES_EMISSING) {
        assert_non_null(strstr(es_error_message(), "dict-gcide"));
        skip();
    }
    assert_int_equal(rc, ES_OK);
    assert_true(len > 30000000);
    assert_true(utf8_valid(text, len, NULL)); /* stray cp1252 bytes repaired */
    assert_null(strstr(text, "00-database"));
    assert_memory_equal(text, "0 \\0\\ adj.", 10);
    assert_null(strstr(text, "\n\n\n")); /* blank runs collapsed */
    assert_non_null(strstr(text, "\nAbdication \\Ab`di*ca\"tion\\"));
    free(text);
}

static void test_corpus_name(void **state)
{
    (void)state;
    char name[64];
    corpus_name("kjv", name, sizeof name);
    assert_string_equal(name, "kjv");
    corpus_name("gcide", name, sizeof name);
    assert_string_equal(name, "gcide");
    corpus_name("/home/me/books/war-and-peace.txt", name, sizeof name);
    assert_string_equal(name, "war-and-peace");
    corpus_name("notes", name, sizeof name);
    assert_string_equal(name, "notes");
    corpus_name("dir/archive.tar.gz", name, sizeof name);
    assert_string_equal(name, "archive.tar");
    corpus_name("/x/.hidden", name, sizeof name);
    assert_string_equal(name, ".hidden");
    corpus_name("/a/verylongname.txt", name, 5);
    assert_string_equal(name, "very");
}

/* ------------------------------------------------------------------------ */

static size_t count_lines(const char *s, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += s[i] == '\n';
    if (n > 0 && s[n - 1] != '\n')
        lines++;
    return lines;
}

static void test_split_synthetic(void **state)
{
    (void)state;
    enum { LINES = 1000 };
    char *text = malloc(LINES * 16);
    assert_non_null(text);
    size_t len = 0;
    for (int i = 0; i < LINES; i++)
        len += (size_t)sprintf(text + len, i + 1 < LINES ? "line %d\n" : "line %d", i);

    char *train, *val;
    size_t nt, nv;
    assert_int_equal(corpus_split(text, len, 20, 20, &train, &nt, &val, &nv), ES_OK);
    assert_int_equal(nt + nv, len);
    assert_int_equal(strlen(train), nt);
    assert_int_equal(strlen(val), nv);
    assert_int_equal(count_lines(train, nt) + count_lines(val, nv), LINES);

    /* Validation holds exactly blocks 19, 39, ...: lines 380-399 and 780-799. */
    char expect[2048];
    size_t ne = 0;
    for (int i = 0; i < LINES; i++)
        if ((i / 20) % 20 == 19)
            ne += (size_t)sprintf(expect + ne, "line %d\n", i);
    assert_int_equal(nv, ne);
    assert_memory_equal(val, expect, ne);
    assert_int_equal(count_lines(val, nv), 40);
    assert_memory_equal(train, "line 0\nline 1\n", 14);
    assert_string_equal(train + nt - 8, "line 999"); /* last line kept without newline */

    /* deterministic */
    char *train2, *val2;
    size_t nt2, nv2;
    assert_int_equal(corpus_split(text, len, 20, 20, &train2, &nt2, &val2, &nv2), ES_OK);
    assert_int_equal(nt2, nt);
    assert_int_equal(nv2, nv);
    assert_memory_equal(train2, train, nt);
    assert_memory_equal(val2, val, nv);

    assert_int_equal(corpus_split(text, len, 0, 20, &train2, &nt2, &val2, &nv2), ES_EINVAL);
    assert_int_equal(corpus_split(text, len, 20, 1, &train2, &nt2, &val2, &nv2), ES_EINVAL);
    free(train);
    free(val);
    free(train2);
    free(val2);
    free(text);
}

static void test_split_kjv(void **state)
{
    (void)state;
    char *text;
    size_t len;
    if (corpus_read("kjv", &text, &len) == ES_EMISSING)
        skip();
    char *train, *val;
    size_t nt, nv;
    assert_int_equal(corpus_split(text, len, 20, 20, &train, &nt, &val, &nv), ES_OK);
    double frac = (double)nv / (double)len;
    assert_true(frac > 0.04 && frac < 0.06);
    assert_int_equal(nt + nv, len);
    assert_int_equal(count_lines(train, nt) + count_lines(val, nv), 31102);
    assert_int_equal(count_lines(val, nv), 31102 / 400 * 20 + (31102 % 400 >= 380 ? 31102 % 400 - 380 : 0));
    /* spread over the whole text: Genesis and Revelation both give verses */
    assert_non_null(strstr(val, "Abram"));
    assert_non_null(strstr(val, "Lamb"));
    free(train);
    free(val);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test_setup_teardown(test_read_file_errors, setup_tmp, teardown_tmp),
        cmocka_unit_test(test_read_kjv),
        cmocka_unit_test(test_read_gcide),
        cmocka_unit_test(test_corpus_name),
        cmocka_unit_test(test_split_synthetic),
        cmocka_unit_test(test_split_kjv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
