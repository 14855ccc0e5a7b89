/* Reading and checking report.md in the study tests, and removing the
 * hand-made run folder afterwards (cmocka asserts inside). */
#ifndef TESTS_SUPPORT_REPORT_TEXT_H
#define TESTS_SUPPORT_REPORT_TEXT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fs.h"
#include "fit/fit.h"
#include "study/report.h"

/* DIR/report.md as a heap string the caller frees. */
static char *read_report(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *text;
    size_t len;
    assert_int_equal(es_read_file(path, &text, &len), ES_OK);
    return text;
}

/* Fits DIR/results.tsv (bootstrap samples as given), writes fit.json and
 * report.md as `command` would, and returns report.md (the caller frees). */
static char *fit_and_report(const char *dir, int bootstrap, const char *command)
{
    fit_options opt = {.bootstrap = bootstrap, .seed = 1};
    json_t *fit;
    assert_int_equal(fit_run_dir(dir, &opt, &fit), ES_OK);
    assert_int_equal(fit_write(dir, fit), ES_OK);
    json_decref(fit);
    assert_int_equal(report_write(dir, NULL, command, NULL), ES_OK);
    return read_report(dir);
}

/* Fails the test, printing the report, unless it contains needle. */
static void expect(const char *text, const char *needle)
{
    if (!strstr(text, needle)) {
        print_error("report.md lacks \"%s\":\n%s\n", needle, text);
        fail();
    }
}

static void remove_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

#endif
