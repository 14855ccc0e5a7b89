/* The routing section (lib/study/report_routing): second-half means of a
 * log.tsv the test writes, the collapse warning, dense runs, old logs
 * without the routing columns, and malformed input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "study/report_routing.h"
#include "tmpfiles.h"

static const char *HEADER = "step\ttokens\ttrain_loss\tval_loss\tlr\tseconds\tload_max_mean\tbias_min\tbias_max\t"
                            "experts_eff_min\texperts_eff_mean\tbias_changed\n";

/* A run folder `name` in the temp folder with a run.yaml of E experts and
 * (unless log is NULL) a log.tsv holding log. Returns the folder. */
static const char *make_run(tmp_files *t, const char *name, int experts, const char *log)
{
    static char dirs[4][TMP_PATH_LEN];
    static int next;
    char *dir = dirs[next++ % 4];
    snprintf(dir, TMP_PATH_LEN, "%s/%s", t->dir, name);
    assert_int_equal(mkdir(dir, 0755), 0);
    char file[64];
    snprintf(file, sizeof file, "%s/run.yaml", name);
    FILE *f = fopen(tmp_path(t, file), "w");
    assert_non_null(f);
    fprintf(f, "name: %s\nmodel:\n  moe:\n    experts: %d\n", name, experts);
    assert_int_equal(fclose(f), 0);
    if (log) {
        snprintf(file, sizeof file, "%s/log.tsv", name);
        f = fopen(tmp_path(t, file), "w");
        assert_non_null(f);
        fputs(log, f);
        assert_int_equal(fclose(f), 0);
    }
    return dir;
}

/* Removes the files and then the run folders (the fixture removes only
 * files and its own folder). */
static void remove_runs(tmp_files *t, const char *const *dirs, int n)
{
    for (int i = 0; i < t->n_paths; i++)
        unlink(t->path[i]);
    t->n_paths = 0;
    for (int i = 0; i < n; i++)
        rmdir(dirs[i]);
}

/* Four evals of a 400-step run: the first half (steps 100, 200) collapsed,
 * the second half (300, 400) balanced. */
static char *balanced_log(void)
{
    static char text[2048];
    snprintf(text, sizeof text,
             "%s"
             "100\t0\t5\t5\t0.001\t1\t7.5\t-0.1\t0.1\t2.0\t3.0\t0.10\n"
             "200\t0\t4\t4\t0.001\t2\t6.0\t-0.2\t0.2\t3.0\t4.0\t0.20\n"
             "300\t0\t3.9\t3.9\t0.001\t3\t1.2\t-0.3\t0.3\t7.0\t7.5\t0.30\n"
             "400\t0\t3.8\t3.8\t0.001\t4\t1.1\t-0.3\t0.3\t7.5\t7.8\t0.40\n",
             HEADER);
    return text;
}

static void test_second_half_means(void **state)
{
    tmp_files *t = *state;
    const char *dir = make_run(t, "a", 8, balanced_log());
    char path[TMP_PATH_LEN + 16];
    snprintf(path, sizeof path, "%s/log.tsv", dir);
    routing_summary s;
    assert_int_equal(routing_summarize(path, 8, &s), ES_OK);
    assert_int_equal(s.last_step, 400);
    assert_int_equal(s.rows, 2); /* steps 300 and 400; 200 is not above half */
    assert_float_equal(s.experts_eff, 7.25, 1e-12);
    assert_float_equal(s.experts_eff_mean, 7.65, 1e-12);
    assert_float_equal(s.load_max_mean, 1.15, 1e-12);
    assert_float_equal(s.bias_changed, 0.35, 1e-12);
    assert_false(s.collapsed);
    /* the same loads with E = 16: 7.25 < 8 is collapsed */
    assert_int_equal(routing_summarize(path, 16, &s), ES_OK);
    assert_true(s.collapsed);
    int experts = -1;
    assert_int_equal(routing_run_experts(dir, &experts), ES_OK);
    assert_int_equal(experts, 8);
    remove_runs(t, &dir, 1);
}

static char *section_of(const char *const *dirs, const char *const *labels, int n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    int rc = routing_section_write(f, dirs, labels, n);
    assert_int_equal(fclose(f), 0);
    if (rc) {
        free(text);
        return NULL;
    }
    return text;
}

static void test_section_table_and_warning(void **state)
{
    tmp_files *t = *state;
    char collapsed_log[1024];
    snprintf(collapsed_log, sizeof collapsed_log,
             "%s"
             "50\t0\t5\t5\t0.001\t1\t14.6\t0\t0.01\t3.0\t4.0\t0.01\n"
             "100\t0\t4\t4\t0.001\t2\t14.8\t0\t0.02\t2.5\t3.5\t0.02\n",
             HEADER);
    const char *dirs[3];
    dirs[0] = make_run(t, "balanced", 8, balanced_log());
    dirs[1] = make_run(t, "collapsed", 43, collapsed_log);
    dirs[2] = make_run(t, "dense", 0, "step\ttokens\ttrain_loss\tval_loss\tlr\tseconds\n100\t0\t4\t4\t0.001\t1\n");
    const char *labels[3] = {"good run", NULL, NULL};
    char *text = section_of(dirs, labels, 3);
    assert_non_null(text);
    assert_non_null(strstr(text, "## Routing\n"));
    assert_non_null(strstr(text, "| good run | 8 | 7.2 | 7.7 | 1.15 | 35.0% |\n"));
    /* label from the folder name; only the row at step 100 is in the second half */
    assert_non_null(strstr(text, "| collapsed | 43 | 2.5 | 3.5 | 14.80 | 2.0% |\n"));
    /* dense runs are left out */
    assert_null(strstr(text, "| dense |"));
    assert_non_null(strstr(text, "routing stayed collapsed"));
    assert_non_null(strstr(text, "in 1 of 2 runs: collapsed (2.5 of 43)."));
    free(text);
    remove_runs(t, dirs, 3);
}

static void test_old_logs_dense_only_and_missing(void **state)
{
    tmp_files *t = *state;
    const char *dirs[3];
    /* a log from before the routing columns */
    dirs[0] = make_run(t, "old", 43,
                       "step\ttokens\ttrain_loss\tval_loss\tlr\tseconds\tload_max_mean\tbias_min\tbias_max\n"
                       "100\t0\t4\t4\t0.001\t1\t14.6\t0\t0.01\n");
    dirs[1] = make_run(t, "nolog", 4, NULL);
    char *text = section_of(dirs, NULL, 2);
    assert_non_null(text);
    assert_non_null(strstr(text, "| old | 43 | - | - | 14.60 | - |\n"));
    assert_non_null(strstr(text, "| nolog | 4 | no log | | | |\n"));
    assert_non_null(strstr(text, "1 run(s) have no routing figures"));
    assert_null(strstr(text, "Warning"));
    free(text);
    dirs[2] = make_run(t, "dense-only", 0, NULL);
    text = section_of(&dirs[2], NULL, 1);
    assert_non_null(text);
    assert_non_null(strstr(text, "No run has routed experts."));
    free(text);
    remove_runs(t, dirs, 3);
}

static void test_malformed_logs(void **state)
{
    tmp_files *t = *state;
    char bad[1024];
    snprintf(bad, sizeof bad, "%s100\t0\t5\t5\t0.001\t1\t7.5\t-0.1\t0.1\tmany\t3.0\t0.10\n", HEADER);
    const char *dirs[3];
    dirs[0] = make_run(t, "bad", 8, bad);
    char path[TMP_PATH_LEN + 16];
    snprintf(path, sizeof path, "%s/log.tsv", dirs[0]);
    routing_summary s;
    es_error_clear();
    assert_int_equal(routing_summarize(path, 8, &s), ES_EDATA);
    assert_message_has("log.tsv:2: experts_eff_min = 'many' is not a number");
    /* an error writes nothing */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(routing_section_write(f, dirs, NULL, 1), ES_EDATA);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(len, 0);
    free(text);
    dirs[1] = make_run(t, "nostep", 8, "tokens\tval_loss\n1\t2\n");
    snprintf(path, sizeof path, "%s/log.tsv", dirs[1]);
    assert_int_equal(routing_summarize(path, 8, &s), ES_EDATA);
    assert_message_has("log.tsv:1: no step column");
    /* no file, no config */
    snprintf(path, sizeof path, "%s/none.tsv", t->dir);
    assert_int_equal(routing_summarize(path, 8, &s), ES_EIO);
    assert_message_has("none.tsv: no such file");
    snprintf(path, sizeof path, "%s/empty", t->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    dirs[2] = path;
    int experts;
    assert_int_equal(routing_run_experts(path, &experts), ES_EIO);
    assert_message_has("neither run.yaml nor config.yaml");
    remove_runs(t, dirs, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_second_half_means, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_section_table_and_warning, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_old_logs_dense_only_and_missing, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_logs, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
