/* A cmocka fixture shared by the config and study tests: a fresh temp folder per
 * group, files in it by name, all removed at teardown; and a check that
 * the last lib/ error message says what it should. */
#ifndef TESTS_SUPPORT_TMPFILES_H
#define TESTS_SUPPORT_TMPFILES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

enum { TMP_MAX_FILES = 8, TMP_PATH_LEN = 160 };

typedef struct {
    char dir[64];
    char path[TMP_MAX_FILES][TMP_PATH_LEN];
    int n_paths;
} tmp_files;

static int tmp_setup(void **state)
{
    tmp_files *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    snprintf(t->dir, sizeof t->dir, "/tmp/es-study-test.XXXXXX");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int tmp_teardown(void **state)
{
    tmp_files *t = *state;
    for (int i = 0; i < t->n_paths; i++)
        unlink(t->path[i]);
    rmdir(t->dir);
    free(t);
    return 0;
}

/* A path in the test's temp folder, removed at teardown. */
static char *tmp_path(tmp_files *t, const char *name)
{
    assert_true(t->n_paths < TMP_MAX_FILES);
    char buf[TMP_PATH_LEN]; /* formatted apart: the path lives in *t too */
    snprintf(buf, sizeof buf, "%s/%s", t->dir, name);
    char *path = t->path[t->n_paths++];
    memcpy(path, buf, sizeof buf);
    return path;
}

static void assert_message_has(const char *needle)
{
    const char *msg = es_error_message();
    if (!strstr(msg, needle))
        fail_msg("error message '%s' lacks '%s'", msg, needle);
}

#endif
