/* Tests of the readers behind the linux-doc and linux-src corpora, on a
 * small documentation tree and a small .tar.xz that the test makes itself
 * (the real packages are not needed), and of their missing-package errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"
#include "data/corpus.h"
#include "tmpdir.h"

static int setup_tmp(void **state)
{
    (void)state;
    return tmpdir_make("linux");
}

static int teardown_tmp(void **state)
{
    (void)state;
    return tmpdir_remove();
}

static void write_plain(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void write_gz(const char *path, const char *data, size_t n)
{
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data, (unsigned)n), (int)n);
    assert_int_equal(gzclose(gz), Z_OK);
}

/* ------------------------------------------------------------------------ */
/* linux-doc: *.rst and *.rst.gz under a folder, in byte order of paths. */

static void test_rst_tree(void **state)
{
    (void)state;
    char root[512], path[600];
    snprintf(root, sizeof root, "%s/Documentation", tmpdir);
    assert_int_equal(mkdir(root, 0755), 0);
    snprintf(path, sizeof path, "%s/sub", root);
    assert_int_equal(mkdir(path, 0755), 0);

    snprintf(path, sizeof path, "%s/sub/b.rst.gz", root);
    write_gz(path, "Bee\n===\n", 8);
    snprintf(path, sizeof path, "%s/a.rst", root);
    write_plain(path, "Alpha\nno final newline", 22);
    snprintf(path, sizeof path, "%s/Z.rst.gz", root); /* 'Z' sorts before 'a' in byte order */
    write_gz(path, "Zed caf\xe9\n", 9);             /* a Latin-1 byte, read as Windows-1252 */
    snprintf(path, sizeof path, "%s/notes.txt.gz", root); /* not reStructuredText */
    write_gz(path, "ignored\n", 8);
    snprintf(path, sizeof path, "%s/binary.rst", root);   /* a NUL byte: skipped */
    write_plain(path, "bin\0ary\n", 8);
    snprintf(path, sizeof path, "%s/empty.rst", root);
    write_plain(path, "", 0);
    snprintf(path, sizeof path, "%s/link.rst", root);     /* links are not followed */
    char target[600];
    snprintf(target, sizeof target, "%s/a.rst", root);
    assert_int_equal(symlink(target, path), 0);

    char *text = NULL;
    size_t len = 0, files = 0;
    assert_int_equal(corpus_read_rst_tree(root, "linux-doc-6.1", &text, &len, &files), ES_OK);
    const char *want = "Zed caf\xc3\xa9\n"
                       "Alpha\nno final newline\n"
                       "Bee\n===\n";
    assert_int_equal(files, 3);
    assert_int_equal(len, strlen(want));
    assert_string_equal(text, want);
    size_t bad;
    assert_int_equal(utf8_valid(text, len, &bad), 1);
    free(text);

    /* the same tree reads the same bytes again */
    assert_int_equal(corpus_read_rst_tree(root, "linux-doc-6.1", &text, &len, &files), ES_OK);
    assert_string_equal(text, want);
    free(text);
}

static void test_rst_tree_errors(void **state)
{
    (void)state;
    char root[512];
    char *text = (char *)1;
    size_t len = 9, files = 9;
    snprintf(root, sizeof root, "%s/no-such-folder", tmpdir);
    assert_int_equal(corpus_read_rst_tree(root, "linux-doc-6.1", &text, &len, &files), ES_EMISSING);
    assert_non_null(strstr(es_error_message(), "apt-get install linux-doc-6.1"));
    assert_non_null(strstr(es_error_message(), root));
    assert_null(text);
    assert_int_equal(len, 0);

    /* a folder with no reStructuredText */
    snprintf(root, sizeof root, "%s/empty-docs", tmpdir);
    assert_int_equal(mkdir(root, 0755), 0);
    assert_int_equal(corpus_read_rst_tree(root, "linux-doc-6.1", &text, &len, &files), ES_EDATA);
    assert_non_null(strstr(es_error_message(), root));
    assert_non_null(strstr(es_error_message(), "no .rst"));
}

/* ------------------------------------------------------------------------ */
/* linux-src: *.c and *.h of at most max bytes in a tarball, in its order. */

typedef struct {
    const char *name;
    const char *data;
    size_t n;
    int dir;
} tar_item;

static void write_tar_xz(const char *path, const tar_item *items, int n)
{
    struct archive *a = archive_write_new();
    assert_non_null(a);
    assert_int_equal(archive_write_add_filter_xz(a), ARCHIVE_OK);
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (int i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, items[i].name);
        archive_entry_set_filetype(e, items[i].dir ? AE_IFDIR : AE_IFREG);
        archive_entry_set_perm(e, items[i].dir ? 0755 : 0644);
        archive_entry_set_size(e, items[i].dir ? 0 : (la_int64_t)items[i].n);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (!items[i].dir)
            assert_int_equal(archive_write_data(a, items[i].data, items[i].n), (la_ssize_t)items[i].n);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

static void test_c_tarball(void **state)
{
    (void)state;
    char big[200];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\n';
    const tar_item items[] = {
        {"linux/", NULL, 0, 1},
        {"linux/README", "read me\n", 8, 0},
        {"linux/kernel/", NULL, 0, 1},
        {"linux/kernel/fork.c", "int fork(void);\n", 16, 0},
        {"linux/include/sched.h", "#define X 1", 11, 0},     /* newline added */
        {"linux/kernel/table.c", big, sizeof big, 0},          /* over the size bound: skipped */
        {"linux/kernel/blob.c", "a\0b\n", 4, 0},               /* NUL: skipped */
        {"linux/kernel/latin.c", "/* J\xf6rg */\n", 11, 0},    /* Latin-1 byte repaired */
        {"linux/scripts/x.py", "print(1)\n", 9, 0},            /* not C */
        {"linux/kernel/empty.h", "", 0, 0},                    /* empty: nothing to keep */
    };
    char path[512];
    snprintf(path, sizeof path, "%s/linux-source-test.tar.xz", tmpdir);
    write_tar_xz(path, items, (int)(sizeof items / sizeof items[0]));

    char *text = NULL;
    size_t len = 0, files = 0;
    assert_int_equal(corpus_read_c_tarball(path, "linux-source-6.1", 100, &text, &len, &files), ES_OK);
    const char *want = "int fork(void);\n"
                       "#define X 1\n"
                       "/* J\xc3\xb6rg */\n";
    assert_int_equal(files, 3);
    assert_int_equal(len, strlen(want));
    assert_string_equal(text, want);
    free(text);

    /* a larger bound keeps the table too, in the tarball's order */
    assert_int_equal(corpus_read_c_tarball(path, "linux-source-6.1", 1000, &text, &len, &files), ES_OK);
    assert_int_equal(files, 4);
    assert_int_equal(len, strlen(want) + sizeof big);
    assert_memory_equal(text + 16 + 12, big, sizeof big);
    free(text);
}

static void test_c_tarball_errors(void **state)
{
    (void)state;
    char path[512];
    char *text = (char *)1;
    size_t len = 9, files = 9;

    snprintf(path, sizeof path, "%s/missing.tar.xz", tmpdir);
    assert_int_equal(corpus_read_c_tarball(path, "linux-source-6.1", 1000, &text, &len, &files), ES_EMISSING);
    assert_non_null(strstr(es_error_message(), "apt-get install linux-source-6.1"));
    assert_non_null(strstr(es_error_message(), path));
    assert_null(text);

    /* not an archive */
    snprintf(path, sizeof path, "%s/garbage.tar.xz", tmpdir);
    write_plain(path, "this is not an xz stream at all\n", 32);
    assert_int_equal(corpus_read_c_tarball(path, "linux-source-6.1", 1000, &text, &len, &files), ES_EDATA);
    assert_non_null(strstr(es_error_message(), path));

    /* an archive with no C file */
    const tar_item items[] = {{"linux/README", "read me\n", 8, 0}};
    snprintf(path, sizeof path, "%s/no-c.tar.xz", tmpdir);
    write_tar_xz(path, items, 1);
    assert_int_equal(corpus_read_c_tarball(path, "linux-source-6.1", 1000, &text, &len, &files), ES_EDATA);
    assert_non_null(strstr(es_error_message(), "no .c or .h file"));

    /* a truncated archive: the first half of a valid one */
    const tar_item one[] = {{"linux/a.c", "int a;\n", 7, 0}};
    snprintf(path, sizeof path, "%s/whole.tar.xz", tmpdir);
    write_tar_xz(path, one, 1);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/truncated.tar.xz", tmpdir);
    write_plain(path, buf, n / 2);
    assert_int_not_equal(corpus_read_c_tarball(path, "linux-source-6.1", 1000, &text, &len, &files), ES_OK);
    assert_non_null(strstr(es_error_message(), path));
}

/* The built-in names report the Debian package when it is missing; when it
 * is installed they read real text (skipped here: linux-source-6.1 is a
 * 139 MB download the test suite must not need). */
static void test_builtin_names(void **state)
{
    (void)state;
    assert_int_equal(corpus_is_builtin("linux-doc"), 1);
    assert_int_equal(corpus_is_builtin("linux-src"), 1);
    assert_int_equal(corpus_is_builtin("linux"), 0);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(corpus_read("linux-dox", &text, &len), ES_EINVAL);
    assert_non_null(strstr(es_error_message(), "unknown corpus 'linux-dox'"));
    assert_non_null(strstr(es_error_message(), "linux-doc, linux-src"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rst_tree, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_rst_tree_errors, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_c_tarball, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_c_tarball_errors, setup_tmp, teardown_tmp),
        cmocka_unit_test(test_builtin_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
