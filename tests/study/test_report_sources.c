/* report.md's per-source section from hand-made run folders: results.tsv
 * rows and each run's result.json with val_loss_sources, under DIR/runs/
 * as in a committed results folder. Checks the means, the paired
 * differences per source (grid: to the reference; allocation: rho 1 minus
 * rho 0), and that a single-corpus study gets no section. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fs.h"
#include "fit/fit.h"
#include "study/report.h"
#include "study/results.h"

#include "report_text.h"

/* A results.tsv row and, unless sources is NULL, DIR/runs/ID/result.json
 * whose val_loss_sources is the JSON object text sources. */
static void add_run(const char *dir, const char *id, const char *kind, double budget, double rho, const char *label,
                    uint64_t seed, double loss, const char *sources)
{
    result_row row;
    memset(&row, 0, sizeof row);
    snprintf(row.run, sizeof row.run, "%s", id);
    snprintf(row.kind, sizeof row.kind, "%s", kind);
    snprintf(row.memory, sizeof row.memory, "%s", "none");
    snprintf(row.status, sizeof row.status, "ok");
    snprintf(row.label, sizeof row.label, "%s", label);
    row.budget = budget;
    row.rho = rho;
    row.seed = seed;
    row.experts = 4;
    row.p_tot = 1e5;
    row.p_act = 5e4;
    row.tokens = 1e5;
    row.steps = 50;
    row.val_loss = row.best_val_loss = row.train_loss = loss;
    row.seconds = 1;
    char path[1100];
    snprintf(path, sizeof path, "%s/results.tsv", dir);
    assert_int_equal(results_append(path, &row), ES_OK);
    if (!sources)
        return;
    snprintf(path, sizeof path, "%s/runs", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/runs/%s", dir, id);
    assert_int_equal(mkdir(path, 0755), 0);
    strcat(path, "/result.json");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"status\": \"ok\", \"val_loss\": %.6f, \"val_loss_sources\": %s}\n", loss, sources);
    assert_int_equal(fclose(f), 0);
}

static void test_grid_sources(void **state)
{
    (void)state;
    char dir[128];
    assert_non_null(mkdtemp(strcpy(dir, "/tmp/es-sources-XXXXXX")));
    add_run(dir, "p00-s1", "grid", 1e12, NAN, "baseline", 1, 4.30, "{\"gcide\": 4.0, \"linux-src\": 5.0}");
    add_run(dir, "p00-s2", "grid", 1e12, NAN, "baseline", 2, 4.32, "{\"gcide\": 4.2, \"linux-src\": 5.1}");
    add_run(dir, "p01-s1", "grid", 1e12, NAN, "backbone", 1, 4.40, "{\"gcide\": 4.1, \"linux-src\": 5.0}");
    add_run(dir, "p01-s2", "grid", 1e12, NAN, "backbone", 2, 4.44, "{\"gcide\": 4.32, \"linux-src\": 5.2}");
    /* a run kept without its folder: counted, not averaged */
    add_run(dir, "p02-s1", "grid", 1e12, NAN, "min-engram", 1, 4.20, NULL);
    char *text = fit_and_report(dir, 20, "engram-scale study x.yaml");
    expect(text, "## Validation loss per source");
    expect(text, "| point | n | gcide | linux-src |");
    /* means and sds over seeds (sd with n - 1) */
    expect(text, "| baseline | 2 | 4.1000 ± 0.1414 | 5.0500 ± 0.0707 |");
    expect(text, "| backbone | 2 | 4.2100 ± 0.1556 | 5.1000 ± 0.1414 |");
    expect(text, "1 finished run(s) have no per-source losses");
    /* paired by seed: gcide differences 0.10, 0.12: mean 0.11, SE 0.01,
     * t(0.975, 1) = 12.706; linux-src 0.0, 0.1: mean 0.05, SE 0.05 */
    expect(text, "Each label minus the reference `baseline` per source");
    expect(text, "| backbone | +0.1100 [-0.0171, +0.2371] | +0.0500 [-0.5853, +0.6853] |");
    expect(text, "2 difference(s) paired by seed, 0 between means (Welch).");
    free(text);
    remove_tree(dir);
}

static void test_allocation_sources(void **state)
{
    (void)state;
    char dir[128];
    assert_non_null(mkdtemp(strcpy(dir, "/tmp/es-sources-XXXXXX")));
    static const double rho[] = {0, 0.5, 1};
    for (int i = 0; i < 3; i++)
        for (int s = 1; s <= 2; s++) {
            char id[64], src[128];
            snprintf(id, sizeof id, "C1e12-rho%.4f-s%d", rho[i], s);
            /* memory helps gcide by 0.2, costs linux-src 0.05; seed 2 adds 0.01 */
            snprintf(src, sizeof src, "{\"gcide\": %.4f, \"kjv\": %.4f}", 4.0 + 0.2 * rho[i] + 0.01 * (s - 1),
                     5.0 - 0.05 * rho[i] + 0.02 * (s - 1) * rho[i]);
            add_run(dir, id, "allocation", 1e12, rho[i], "", (uint64_t)s, 4.5 + 0.1 * rho[i], src);
        }
    char *text = fit_and_report(dir, 20, "engram-scale study x.yaml");
    expect(text, "| C 1.0e12, rho 0.000 | 2 | 4.0050 ± 0.0071 | 5.0000 ± 0.0000 |");
    expect(text, "Pure MoE minus pure memory per source, L(rho 1) - L(rho 0) at each budget");
    /* gcide: differences 0.2, 0.2 (SE 0: no interval width); kjv: -0.05, -0.03 */
    expect(text, "| budget | gcide | kjv |");
    expect(text, "| 1.0e12 | +0.2000 [+0.2000, +0.2000] | -0.0400 [-0.1671, +0.0871] |");
    /* rows sorted by budget and rho */
    assert_true(strstr(text, "| C 1.0e12, rho 0.000 |") < strstr(text, "| C 1.0e12, rho 0.500 |"));
    free(text);
    remove_tree(dir);
}

static void test_single_corpus_has_no_section(void **state)
{
    (void)state;
    char dir[128];
    assert_non_null(mkdtemp(strcpy(dir, "/tmp/es-sources-XXXXXX")));
    add_run(dir, "p00-s1", "grid", 1e12, NAN, "baseline", 1, 4.30, "{\"kjv\": 4.3}");
    add_run(dir, "p00-s2", "grid", 1e12, NAN, "baseline", 2, 4.32, NULL);
    char *text = fit_and_report(dir, 20, "engram-scale study x.yaml");
    assert_null(strstr(text, "per source"));
    free(text);
    remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_sources),
        cmocka_unit_test(test_allocation_sources),
        cmocka_unit_test(test_single_corpus_has_no_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
