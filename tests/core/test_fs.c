/* Tests of es_list_dir (lib/core/fs.c): names sorted, "." entries left
 * out, folders listed too, and a missing folder listed as empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fs.h"

static void touch(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
}

static void test_list_dir(void **state)
{
    (void)state;
    char dir[] = "/tmp/es-fs-XXXXXX", sub[600];
    assert_non_null(mkdtemp(dir));
    touch(dir, "b.png");
    touch(dir, "a.txt");
    touch(dir, ".hidden");
    snprintf(sub, sizeof sub, "%s/c-run", dir);
    assert_int_equal(es_mkdir_p(sub), ES_OK);
    char **names;
    size_t n;
    assert_int_equal(es_list_dir(dir, &names, &n), ES_OK);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "a.txt");
    assert_string_equal(names[1], "b.png");
    assert_string_equal(names[2], "c-run");
    es_list_free(names, n);

    char missing[600];
    snprintf(missing, sizeof missing, "%s/nowhere", dir);
    assert_int_equal(es_list_dir(missing, &names, &n), ES_OK);
    assert_int_equal(n, 0);
    assert_null(names);

    char path[600];
    rmdir(sub);
    for (const char *const *f = (const char *const[]){"b.png", "a.txt", ".hidden", NULL}; *f; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, *f);
        unlink(path);
    }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_list_dir)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
