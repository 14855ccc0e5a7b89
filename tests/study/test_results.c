/* Tests of lib/study/results (and the tsv helpers it reads with): rows
 * round-trip exactly, and every kind of malformed line is an error naming
 * the file, the line and the column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "study/results.h"
#include "study/tsv.h"
#include "tmpfiles.h"

static result_row sample_row(void)
{
    result_row r = {.budget = 3.5e12, .rho = 0.75, .slots = 22098, .seed = 18446744073709551615ULL, .experts = 33,
                    .p_tot = 1680000, .p_act = 183000, .flops_per_token = 2.8e6, .tokens = 1.24e6, .steps = 604,
                    .val_loss = 3.7719, .best_val_loss = 3.7719, .train_loss = NAN, .seconds = 101.5};
    snprintf(r.run, sizeof r.run, "C3.5e12-rho0.7500-s1");
    snprintf(r.kind, sizeof r.kind, "allocation");
    snprintf(r.memory, sizeof r.memory, "engram");
    snprintf(r.status, sizeof r.status, "ok");
    return r;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_round_trip(void **state)
{
    tmp_files *t = *state;
    const char *path = tmp_path(t, "results.tsv");
    result_row r = sample_row();
    assert_int_equal(results_append(path, &r), ES_OK);
    snprintf(r.label, sizeof r.label, "model.engram.gate=off");
    snprintf(r.status, sizeof r.status, "diverged");
    assert_int_equal(results_append(path, &r), ES_OK);
    result_row *rows;
    int n;
    assert_int_equal(results_read(path, &rows, &n), ES_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].run, "C3.5e12-rho0.7500-s1");
    assert_true(rows[0].seed == 18446744073709551615ULL); /* exact beyond 2^53 */
    assert_true(rows[0].budget == 3.5e12 && rows[0].rho == 0.75 && rows[0].val_loss == 3.7719);
    assert_true(isnan(rows[0].train_loss));
    assert_string_equal(rows[0].label, ""); /* "-" */
    assert_string_equal(rows[1].label, "model.engram.gate=off");
    assert_string_equal(rows[1].status, "diverged");
    free(rows);
}

/* Rows come back in plan order (run names in natural order), not in the
 * order the runs finished: p2 before p10, s9 before s10; two rows of one
 * name keep their file order. */
static void test_plan_order(void **state)
{
    tmp_files *t = *state;
    const char *path = tmp_path(t, "plan_order.tsv");
    const char *finished[] = {"p10-s1", "p2-s10", "p2-s9", "p02-s1", "p1-s1", "p1-s1"};
    for (int i = 0; i < 6; i++) {
        result_row r = sample_row();
        snprintf(r.run, sizeof r.run, "%s", finished[i]);
        r.val_loss = i;
        assert_int_equal(results_append(path, &r), ES_OK);
    }
    result_row *rows;
    int n;
    assert_int_equal(results_read(path, &rows, &n), ES_OK);
    assert_int_equal(n, 6);
    const char *plan[] = {"p1-s1", "p1-s1", "p02-s1", "p2-s9", "p2-s10", "p10-s1"};
    for (int i = 0; i < 6; i++)
        assert_string_equal(rows[i].run, plan[i]);
    assert_true(rows[0].val_loss == 4 && rows[1].val_loss == 5); /* file order within a name */
    free(rows);
    assert_true(results_run_compare("C1e13-rho0.5000-s2", "C1e13-rho0.5000-s2") == 0);
    assert_true(results_run_compare("a", "ab") < 0 && results_run_compare("ab", "a") > 0);
    assert_true(results_run_compare("x007", "x7") == 0);
}

/* the header line and one row whose column `col` (0-based) is replaced */
static void write_with(const char *path, int col, const char *value, int extra_column)
{
    const char *good[19] = {"r1", "allocation", "1e12", "0.5", "engram", "100", "1", "4", "1e6", "1e5", "6e5",
                            "1e6", "10", "3.9", "3.8", "3.95", "12", "ok", "-"};
    char text[1024];
    int n = snprintf(text, sizeof text, "%s\n", results_header());
    for (int c = 0; c < 19; c++)
        n += snprintf(text + n, sizeof text - (size_t)n, "%s%s", c ? "\t" : "", c == col ? value : good[c]);
    snprintf(text + n, sizeof text - (size_t)n, "%s\n", extra_column ? "\textra" : "");
    write_text(path, text);
}

static void test_malformed(void **state)
{
    tmp_files *t = *state;
    const char *path = tmp_path(t, "bad.tsv");
    result_row *rows;
    int n;
    write_with(path, -1, "", 0);
    assert_int_equal(results_read(path, &rows, &n), ES_OK);
    assert_int_equal(n, 1);
    free(rows);

    write_with(path, 13, "3.9x", 0);
    assert_int_equal(results_read(path, &rows, &n), ES_EDATA);
    assert_message_has("bad.tsv:2: bad value '3.9x' in column val_loss");
    write_with(path, 17, "done", 0);
    assert_int_equal(results_read(path, &rows, &n), ES_EDATA);
    assert_message_has("bad value 'done' in column status");
    /* whole-number columns out of range or fractional (found by fuzzing:
     * the cast of 8.9e26 to long was undefined behaviour) */
    write_with(path, 12, "888888888888888888888888888", 0);
    assert_int_equal(results_read(path, &rows, &n), ES_EDATA);
    assert_message_has("bad value '888888888888888888888888888' in column steps");
    write_with(path, 5, "-3", 0);
    assert_int_equal(results_read(path, &rows, &n), ES_EDATA);
    assert_message_has("bad value '-3' in column slots");
    write_with(path, 7, "2.5", 0);
    assert_int_equal(results_read(path, &rows, &n), ES_EDATA);
    assert_message_has("bad value '2.5' in column experts");
    write_with(path, 6, "nan", 0);
    assert_int_equal(results_read(path, &rows, &n), ES_EDATA);
    assert_message_has("bad value 'nan' in column seed");
    write_with(path, 6, "18446744073709551616", 0); /* 2^64 */
    assert_int_equal(results_read(path, &rows, &n), ES_EDATA);
    assert_message_has("in column seed");
    write_with(path, 6, "18446744073709551615", 0); /* 2^64 - 1: exact */
    assert_int_equal(results_read(path, &rows, &n), ES_OK);
    assert_true(rows[0].seed == 18446744073709551615ull);
    free(rows);
    write_with(path, -1, "", 1);
    assert_int_equal(results_read(path, &rows, &n), ES_EDATA);
    assert_message_has("bad.tsv:2: expected 19 tab-separated columns");
    write_text(path, "run\tkind\nr1\tallocation\n");
    assert_int_equal(results_read(path, &rows, &n), ES_EDATA);
    assert_message_has("bad.tsv:1: not a results.tsv header");
    char text[512];
    snprintf(text, sizeof text, "%s\nr1\tallocation\t1e12\n", results_header());
    write_text(path, text);
    assert_int_equal(results_read(path, &rows, &n), ES_EDATA);
    assert_message_has("bad.tsv:2: expected 19 tab-separated columns");
}

static void test_tsv_helpers(void **state)
{
    (void)state;
    char line[] = "a\t\tc";
    char *f[3];
    assert_int_equal(tsv_split(line, f, 3), 3);
    assert_string_equal(f[1], "");
    assert_string_equal(f[2], "c");
    char more[] = "a\tb\tc\td";
    assert_int_equal(tsv_split(more, f, 3), 4); /* more than max */
    double v;
    assert_int_equal(tsv_number("1.5e12", &v), 0);
    assert_true(v == 1.5e12);
    assert_int_equal(tsv_number("nan", &v), 0);
    assert_true(isnan(v));
    assert_int_equal(tsv_number("", &v), -1);
    assert_int_equal(tsv_number("2x", &v), -1);
    assert_int_equal(tsv_number("1e999", &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_round_trip), cmocka_unit_test(test_plan_order),
                                       cmocka_unit_test(test_malformed),
                                       cmocka_unit_test(test_tsv_helpers)};
    return cmocka_run_group_tests(tests, tmp_setup, tmp_teardown);
}
