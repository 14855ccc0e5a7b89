/* report.md from hand-made run folders (mkdtemp): plan.tsv written as
 * plan_write_tsv does, results.tsv with results_append, fit.json by hand or
 * with fit_run_dir, a stand-in figure. Checks the key numbers, the figure
 * link, the diverged and missing runs, the report without fit.json and the
 * error for a missing results.tsv. No training, no corpus. */
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

static const char PLAN_HEADER[] = "run\tbudget\trho\tseed\tmemory\texperts\tslots\tp_tot\tp_act\tflops_per_token\t"
                                  "tokens\tsteps\tflops\toptimizer\test_seconds\tlabel\n";

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* One budget 1e12, rho {0, 0.5, 0.75, 1} x seeds {1, 2}: rho 0.5 seed 2
 * diverged at step 37, rho 1 seed 2 missing. */
static void make_allocation_dir(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/es-report-XXXXXX");
    assert_non_null(mkdtemp(dir));
    static const double rhos[] = {0, 0.5, 0.75, 1};
    static const double loss[4][2] = {{3.2, 3.3}, {3.15, NAN}, {3.1, 3.12}, {3.25, NAN}};
    char plan[4096] = "";
    strcat(plan, PLAN_HEADER);
    char results[512];
    snprintf(results, sizeof results, "%s/results.tsv", dir);
    for (int r = 0; r < 4; r++)
        for (int s = 1; s <= 2; s++) {
            char id[64], line[512];
            snprintf(id, sizeof id, "C1e12-rho%.4f-s%d", rhos[r], s);
            int experts = 2 + (int)(rhos[r] * 60);
            long slots = (long)((1 - rhos[r]) * 100000);
            snprintf(line, sizeof line, "%s\t1e+12\t%g\t%d\tengram\t%d\t%ld\t1680000\t420000\t2.5e6\t4e5\t100\t1e12\tadamw\t0.0\t-\n",
                     id, rhos[r], s, experts, slots);
            strcat(plan, line);
            if (r == 3 && s == 2)
                continue; /* missing */
            result_row row;
            memset(&row, 0, sizeof row);
            snprintf(row.run, sizeof row.run, "%s", id);
            snprintf(row.kind, sizeof row.kind, "allocation");
            row.budget = 1e12;
            row.rho = rhos[r];
            snprintf(row.memory, sizeof row.memory, "engram");
            row.slots = slots;
            row.seed = (uint64_t)s;
            row.experts = experts;
            row.p_tot = 1680000;
            row.p_act = 420000;
            row.flops_per_token = 2.5e6;
            row.tokens = 4e5;
            row.steps = 100;
            row.val_loss = row.best_val_loss = loss[r][s - 1];
            row.train_loss = 3.0;
            row.seconds = 1.5;
            snprintf(row.status, sizeof row.status, "ok");
            if (r == 1 && s == 2) {
                snprintf(row.status, sizeof row.status, "diverged");
                row.steps = 37;
                row.val_loss = 9.5;
            }
            assert_int_equal(results_append(results, &row), ES_OK);
        }
    write_text(dir, "plan.tsv", plan);
    write_text(dir, "fit.json",
               "{\"warnings\": [], \"skipped_diverged\": 1, \"bootstrap_seed\": 1,\n"
               " \"allocation\": [{\"budget\": 1e12, \"n_runs\": 6, \"model\": \"quadratic\", \"aic_kind\": \"AICc\",\n"
               "  \"aic\": {\"quadratic\": -40.25, \"asymmetric\": null, \"cubic\": -35.5},\n"
               "  \"rho_star\": 0.7421, \"rho_star_se\": 0.031, \"rho_star_ci\": [0.6604, 0.8099],\n"
               "  \"loss_star\": 3.1012, \"loss_star_se\": 0.0021, \"curvature\": 0.35, \"curvature_se\": 0.05,\n"
               "  \"loss_at_1\": 3.1135, \"gain\": 0.0123, \"gain_ci\": [0.0041, 0.0199], \"interior\": true,\n"
               "  \"bootstrap\": {\"samples\": 1000, \"failed\": 2, \"no_minimum\": 3, \"interval\": \"percentile\"},\n"
               "  \"u_test\": {\"verdict\": \"U\", \"shape\": \"U\", \"breakpoint\": 0.6, \"flat_region\": [0.5, 0.75],\n"
               "   \"flexible\": \"per-rho means\", \"reason\": null,\n"
               "   \"left\": {\"tested\": true, \"slope\": -0.21, \"se\": 0.05, \"t\": -4.2, \"p\": 0.004, \"n\": 4, \"distinct\": 3, \"se_kind\": \"HC3\"},\n"
               "   \"right\": {\"tested\": true, \"slope\": 0.6, \"se\": 0.1, \"t\": 6.0, \"p\": 0.001, \"n\": 4, \"distinct\": 3, \"se_kind\": \"HC3\"}},\n"
               "  \"aic_best\": \"quadratic\", \"aic_best_shape\": \"U\", \"best_measured_rho\": 0.75, \"best_measured_loss\": 3.11,\n"
               "  \"warnings\": [\"budget 1e+12: a test warning, kept verbatim\"]}],\n"
               " \"memory\": [], \"grid\": []}\n");
    char figures[512];
    snprintf(figures, sizeof figures, "%s/figures", dir);
    assert_int_equal(es_mkdir_p(figures), ES_OK);
    write_text(figures, "allocation.png", "not really a png");
}

static void test_allocation_report(void **state)
{
    (void)state;
    char dir[128];
    make_allocation_dir(dir, sizeof dir);
    assert_int_equal(report_write(dir, NULL, "engram-scale study demo.yaml --threads 1", "abc1234"), ES_OK);
    char *text = read_report(dir);
    expect(text, "engram-scale study demo.yaml --threads 1");
    expect(text, "built from: abc1234");
    expect(text, "Sweep kind: allocation");
    expect(text, "1.0e12");
    expect(text, "1.68M");
    /* the measured table: rho 0 seeds 3.2 and 3.3 */
    expect(text, "| 0.000 | 2 | 100000 | 1.68M | 420k | 400k | 2 | 3.2500 ± 0.0707 |");
    expect(text, "| 0.500 | 32 | 50000 | 1.68M | 420k | 400k | 1 of 2 (1 diverged) | 3.1500 |");
    expect(text, "| 1.000 | 62 | 0 | 1.68M | 420k | 400k | 1 of 2 (1 missing) | 3.2500 |");
    /* the fit */
    expect(text, "Two-lines test of a U (Simonsohn 2018) on the 6 seed-level runs: **U**");
    expect(text, "- Left line (rho ≤ breakpoint): slope -0.2100 ± 0.0500 (HC3), t = -4.20, p = 0.004, 4 runs at 3 "
                 "rho values");
    expect(text, "rho* = 0.742 ± 0.031 (SE, quadratic model); 95% interval [0.660, 0.810]");
    expect(text, "L(1) - L* = 3.1135 - 3.1012 = 0.0123 nats; 95% interval [0.0041, 0.0199]");
    expect(text, "quadratic -40.2");
    expect(text, "lowest: quadratic (U)");
    expect(text, "Warning: budget 1e+12: a test warning, kept verbatim");
    expect(text, "The two-lines test finds a U: loss falls up to rho = 0.600 (-0.210 nats per unit rho, p = 0.004) "
                 "and rises after it (+0.600 nats per unit rho, p = 0.001). rho* = 0.742 [0.660, 0.810]; the best "
                 "allocation beats pure MoE by 0.0123 [0.0041, 0.0199] nats.");
    /* figures, diverged and missing runs */
    expect(text, "![allocation](figures/allocation.png)");
    expect(text, "| `C1e12-rho0.5000-s2` | 1.0e12 | rho 0.500 | 2 | 37 | 100 | 9.5000 |");
    expect(text, "excluded from every mean, sd and fit");
    expect(text, "**The study is incomplete**: 1 of 8 planned runs has no result");
    expect(text, "- `C1e12-rho1.0000-s2`");
    expect(text, "6 finished, 1 diverged, 1 missing");
    free(text);

    /* no U: no rho*, the best measured rho and the rho not worse instead */
    write_text(dir, "fit.json",
               "{\"warnings\": [], \"skipped_diverged\": 1, \"bootstrap_seed\": 1,\n"
               " \"allocation\": [{\"budget\": 1e12, \"n_runs\": 6, \"model\": \"quadratic\", \"aic_kind\": \"AICc\",\n"
               "  \"aic\": {\"quadratic\": -40.25, \"linear\": -41.5}, \"aic_best\": \"linear\", \"aic_best_shape\": \"monotone\",\n"
               "  \"params\": {\"L_star\": 3.1, \"a\": 0.3, \"rho_star\": 0.41}, \"curvature\": 0.3, \"curvature_se\": 0.1,\n"
               "  \"rho_star\": null, \"interior\": false, \"n\": [2, 1, 2, 1],\n"
               "  \"u_test\": {\"verdict\": \"no U\", \"shape\": \"rising\", \"breakpoint\": 0.5, \"flat_region\": [0.5, 0.5],\n"
               "   \"flexible\": \"per-rho means\", \"reason\": \"the left line has 2 distinct rho values\",\n"
               "   \"left\": {\"tested\": false, \"distinct\": 2},\n"
               "   \"right\": {\"tested\": true, \"slope\": 0.2, \"se\": 0.05, \"t\": 4.0, \"p\": 0.01, \"n\": 4, \"distinct\": 3, \"se_kind\": \"HC3\"}},\n"
               "  \"best_measured_rho\": 0.75, \"best_measured_loss\": 3.11, \"not_worse\": [0.5, 0.75],\n"
               "  \"not_worse_method\": \"paired by seed; 95% t interval\", \"measured_gain\": 0.14,\n"
               "  \"measured_gain_ci\": [0.05, 0.23], \"warnings\": []}],\n"
               " \"memory\": [], \"grid\": []}\n");
    assert_int_equal(report_write(dir, NULL, "engram-scale study demo.yaml", NULL), ES_OK);
    text = read_report(dir);
    expect(text, "on the 6 seed-level runs: **no U** (the points are rising)");
    expect(text, "- Left line (rho ≤ breakpoint): not tested (2 distinct rho values on this side; a line needs 3)");
    expect(text, "- No rho* (no U). Best measured rho = 0.750 (mean loss 3.1100); rho not significantly worse than "
                 "it: {0.5, 0.75} (paired by seed; 95% t interval)");
    expect(text, "its vertex at rho = 0.410 is not a minimum the points show");
    expect(text, "**Reading (1.0e12 FLOPs, 2 seeds per rho):** No U: by the two-lines test the loss is rising in rho");
    expect(text, "The best measured rho is 0.750 (mean loss 3.1100); {0.5, 0.75} are not significantly worse; pure "
               "MoE is +0.1400 [+0.0500, +0.2300] nats worse.");
    assert_null(strstr(text, "rho* ="));
    assert_null(strstr(text, "The two-lines test finds a U"));
    expect(text, "so no interior optimum is claimed");
    free(text);

    /* without fit.json: the tables, and a plain "no fit" */
    char path[256];
    snprintf(path, sizeof path, "%s/fit.json", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(report_write(dir, NULL, "engram-scale study x.yaml", NULL), ES_OK);
    text = read_report(dir);
    expect(text, "No fit: fit.json is missing");
    expect(text, "built from: unknown");
    expect(text, "| 0.000 | 2 | 100000 | 1.68M | 420k | 400k | 2 | 3.2500 ± 0.0707 |");
    assert_null(strstr(text, "rho* ="));
    free(text);

    /* a malformed fit.json is an error naming it */
    write_text(dir, "fit.json", "{not json");
    assert_int_equal(report_write(dir, NULL, "x", NULL), ES_EDATA);
    assert_non_null(strstr(es_error_message(), "fit.json"));
    remove_tree(dir);
}

static void test_missing_results(void **state)
{
    (void)state;
    char dir[128];
    snprintf(dir, sizeof dir, "/tmp/es-report-XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_text(dir, "plan.tsv", PLAN_HEADER);
    assert_int_equal(report_write(dir, NULL, "x", NULL), ES_EIO);
    assert_non_null(strstr(es_error_message(), "results.tsv"));
    char path[256];
    snprintf(path, sizeof path, "%s/report.md", dir);
    assert_false(es_exists(path));

    /* a malformed plan.tsv is an error naming file and line */
    write_text(dir, "plan.tsv", "run\tbudget\n");
    write_text(dir, "results.tsv", "");
    result_row row = {.budget = 1e12, .rho = 0.5, .slots = 10, .seed = 1, .val_loss = 3, .steps = 1};
    snprintf(row.run, sizeof row.run, "r1");
    snprintf(row.kind, sizeof row.kind, "allocation");
    snprintf(row.memory, sizeof row.memory, "engram");
    snprintf(row.status, sizeof row.status, "ok");
    snprintf(path, sizeof path, "%s/results.tsv", dir);
    unlink(path);
    assert_int_equal(results_append(path, &row), ES_OK);
    assert_int_equal(report_write(dir, NULL, "x", NULL), ES_EDATA);
    assert_non_null(strstr(es_error_message(), "plan.tsv:1"));

    /* without plan.tsv the report still comes, saying what it cannot know */
    snprintf(path, sizeof path, "%s/plan.tsv", dir);
    unlink(path);
    assert_int_equal(report_write(dir, NULL, "x", NULL), ES_OK);
    char *text = read_report(dir);
    expect(text, "plan.tsv is missing");
    free(text);

    /* an experiment file given explicitly must load */
    assert_int_not_equal(report_write(dir, "/nonexistent/experiment.yaml", "x", NULL), ES_OK);
    assert_non_null(strstr(es_error_message(), "/nonexistent/experiment.yaml"));
    remove_tree(dir);
}

static void add_row(const char *results, const char *id, const char *kind, const char *memory, long slots,
                    const char *label, uint64_t seed, double loss)
{
    result_row row;
    memset(&row, 0, sizeof row);
    snprintf(row.run, sizeof row.run, "%s", id);
    snprintf(row.kind, sizeof row.kind, "%s", kind);
    snprintf(row.memory, sizeof row.memory, "%s", memory);
    snprintf(row.status, sizeof row.status, "ok");
    snprintf(row.label, sizeof row.label, "%s", label);
    row.budget = 2e10;
    row.rho = NAN;
    row.slots = slots;
    row.seed = seed;
    row.p_tot = 1e5 + (double)slots * (strcmp(memory, "engram") == 0 ? 8 : 32);
    row.p_act = 5e4;
    row.tokens = 1e5;
    row.steps = 50;
    row.val_loss = row.best_val_loss = loss;
    row.train_loss = loss;
    row.seconds = 1;
    assert_int_equal(results_append(results, &row), ES_OK);
}

/* Memory and grid studies, fitted by lib/fit (a small bootstrap). */
static void test_memory_and_grid(void **state)
{
    (void)state;
    char dir[128], results[256];
    snprintf(dir, sizeof dir, "/tmp/es-report-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(results, sizeof results, "%s/results.tsv", dir);
    static const long slots[] = {1000, 3000, 10000, 30000};
    for (int i = 0; i < 4; i++)
        for (int s = 1; s <= 2; s++) {
            char id[64];
            double m = (double)slots[i], jitter = 0.002 * (s == 1 ? 1 : -1);
            snprintf(id, sizeof id, "engram-%ld-s%d", slots[i], s);
            add_row(results, id, "memory", "engram", slots[i], "", (uint64_t)s, 3.0 + 4 * pow(m, -0.3) + jitter);
            snprintf(id, sizeof id, "overencoding-%ld-s%d", slots[i], s);
            add_row(results, id, "memory", "overencoding", slots[i], "", (uint64_t)s,
                    3.1 + 4 * pow(m, -0.25) - jitter);
        }
    char *text = fit_and_report(dir, 40, "engram-scale study mem.yaml");
    expect(text, "Sweep kind: memory");
    expect(text, "### Engram");
    expect(text, "### OverEncoding");
    expect(text, "alpha = 0.3");
    expect(text, "slope s = -");
    expect(text, "At 30000 slots, the largest count both have, Engram's loss minus OverEncoding's is");
    expect(text, "Welch SE");
    expect(text, "No figures");
    free(text);
    remove_tree(dir);

    /* grid */
    assert_non_null(mkdtemp(strcpy(dir, "/tmp/es-report-XXXXXX")));
    snprintf(results, sizeof results, "%s/results.tsv", dir);
    add_row(results, "p00-s1", "grid", "engram", 5000, "baseline", 1, 4.30);
    add_row(results, "p00-s2", "grid", "engram", 5000, "baseline", 2, 4.32);
    add_row(results, "p01-s1", "grid", "engram", 5000, "model.engram.gate=off", 1, 4.40);
    add_row(results, "p01-s2", "grid", "engram", 5000, "model.engram.gate=off", 2, 4.44);
    /* three runs copied by sweep --reuse from two other sweeps' folders */
    const char *copied[][2] = {{"p00-s1", "runs/other/p00-s1"}, {"p00-s2", "runs/other/p00-s2"},
                               {"p01-s1", "runs/third/C1e12-rho1.0000-s1"}};
    for (int i = 0; i < 3; i++) {
        char reused[4200];
        snprintf(reused, sizeof reused, "%s/%s", dir, copied[i][0]);
        assert_int_equal(mkdir(reused, 0755), 0);
        strcat(reused, "/reused_from");
        FILE *rf = fopen(reused, "w");
        assert_non_null(rf);
        fprintf(rf, "%s\n", copied[i][1]);
        fclose(rf);
    }
    text = fit_and_report(dir, 40, "engram-scale study grid.yaml");
    expect(text, "Sweep kind: grid");
    expect(text, "- 3 runs were copied, not trained (`--reuse`");
    expect(text, "  - `runs/other`: 2 runs\n  - `runs/third`: 1 run\n");
    expect(text, "| baseline (reference) | 2 | 4.3100 ± 0.0141 | +0.0000 | - | - | - |");
    /* paired by seed: differences 0.10 and 0.12, SE 0.01, t(0.975, 1) = 12.706 */
    expect(text, "| model.engram.gate=off | 2 | 4.4200 ± 0.0283 | +0.1100 | 0.0100 | [-0.0171, +0.2371] | paired |");
    /* sorted by mean: the baseline first */
    assert_true(strstr(text, "| baseline") < strstr(text, "| model.engram.gate=off"));
    free(text);
    remove_tree(dir);
}

/* A grid of expert counts without memory (expert scaling): the table and,
 * below it, the line in log2 E with one intercept per seed. E {2, 4, 8} x
 * seeds {1, 2}; by hand (x = log2 E centred per seed, Sxx = 4): b = -0.09 / 4
 * = -0.0225, RSS = 1.0833e-4 over 3 degrees of freedom, SE 0.0030046,
 * t(0.975, 3) = 3.1824463: [-0.0321, -0.0129]; from E = 2 to 8 (2
 * doublings) -0.0450 [-0.0641, -0.0259]. */
static void test_expert_grid(void **state)
{
    (void)state;
    char dir[128], results[256];
    assert_non_null(mkdtemp(strcpy(dir, "/tmp/es-report-XXXXXX")));
    snprintf(results, sizeof results, "%s/results.tsv", dir);
    static const int experts[] = {2, 4, 8};
    static const char *const labels[] = {"baseline", "E4", "E8"};
    static const double loss[2][3] = {{4.30, 4.28, 4.25}, {4.33, 4.30, 4.29}};
    for (int e = 0; e < 3; e++)
        for (int s = 1; s <= 2; s++) {
            result_row row;
            memset(&row, 0, sizeof row);
            snprintf(row.run, sizeof row.run, "p%02d-s%d", e, s);
            snprintf(row.kind, sizeof row.kind, "grid");
            snprintf(row.memory, sizeof row.memory, "none");
            snprintf(row.status, sizeof row.status, "ok");
            snprintf(row.label, sizeof row.label, "%s", labels[e]);
            row.budget = 1e12;
            row.rho = NAN;
            row.seed = (uint64_t)s;
            row.experts = experts[e];
            row.p_tot = 1e5 * experts[e];
            row.p_act = 5e4 + 128 * experts[e]; /* the router grows with E */
            row.tokens = 1e5;
            row.steps = 50;
            row.val_loss = row.best_val_loss = row.train_loss = loss[s - 1][e];
            row.seconds = 1;
            assert_int_equal(results_append(results, &row), ES_OK);
        }
    char *text = fit_and_report(dir, 0, "engram-scale study experts.yaml");
    expect(text, "### Loss against the number of experts");
    expect(text, "(6 runs, 2 seeds, 3 numbers of experts from 2 to 8; 3 degrees of freedom)");
    expect(text, "- b = -0.0225 nats per doubling of E, 95% interval [-0.0321, -0.0129], t = -7.49, p = ");
    expect(text, ": **falls with E**.");
    expect(text, "- From E = 2 to 8 the line changes the loss by -0.0450, 95% interval [-0.0641, -0.0259].");
    /* after the table */
    assert_true(strstr(text, "| baseline (reference)") < strstr(text, "### Loss against the number of experts"));
    free(text);
    remove_tree(dir);
}

/* A mixture's cache folder is named as dataset_prepare names it
 * ("gcide+kjv+linux-src@0.1", not corpus_name's "gcide+kjv+linux-src@0"):
 * the report finds its meta.json and lists every source's token counts. */
static void test_mixture_corpus(void **state)
{
    (void)state;
    char dir[128];
    make_allocation_dir(dir, sizeof dir);
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "name: mix\n"
             "corpus: [gcide, kjv, {linux-src: 0.1}]\n"
             "data_dir: %s/data\n"
             "tokenizer:\n  vocab: 256\n"
             "model:\n  d_model: 64\n  layers: 3\n  heads: 4\n  seq_len: 128\n"
             "  moe:\n    top_k: 2\n    shared: 1\n    expert_hidden: 64\n"
             "  engram:\n    head_dim: 16\n    heads: 4\n    orders: [2, 3]\n    layers: [1]\n"
             "sweep:\n  kind: allocation\n  budgets:\n    - flops: 1e12\n  total_to_active: 10\n"
             "  rho: [0, 0.5, 0.75, 1]\n  seeds: [1, 2]\n",
             dir);
    write_text(dir, "experiment.yaml", yaml);
    char cache[512];
    snprintf(cache, sizeof cache, "%s/data/gcide+kjv+linux-src@0.1/v256", dir);
    assert_int_equal(es_mkdir_p(cache), ES_OK);
    write_text(cache, "meta.json",
               "{\"format\": 1, \"corpus\": \"gcide+kjv+linux-src@0.1\", \"vocab\": 256,\n"
               " \"train_tokens\": 45000000, \"val_tokens\": 2400000,\n"
               " \"unigram_val_loss\": 6.70286, \"bigram_val_loss\": 4.361,\n"
               " \"sources\": [\n"
               "  {\"name\": \"gcide\", \"weight\": 1.0, \"train_tokens\": 13604985, \"val_tokens\": 714939,\n"
               "   \"unigram_val_loss\": 6.81306, \"bigram_val_loss\": 4.27324},\n"
               "  {\"name\": \"kjv\", \"weight\": 1.0, \"train_tokens\": 1280634, \"val_tokens\": 67108,\n"
               "   \"unigram_val_loss\": 7.23905, \"bigram_val_loss\": 4.71485},\n"
               "  {\"name\": \"linux-src\", \"weight\": 0.10000000000000001, \"train_tokens\": 30543963,\n"
               "   \"val_tokens\": 1612594, \"unigram_val_loss\": 6.44517, \"bigram_val_loss\": 4.2408}]}\n");
    assert_int_equal(report_write(dir, NULL, "engram-scale study mix.yaml", NULL), ES_OK);
    char *text = read_report(dir);
    expect(text, "- Corpus: `gcide+kjv+linux-src@0.1`, BPE vocabulary 256; 45.0M training tokens, 2.40M validation "
                 "tokens (");
    expect(text, "/data/gcide+kjv+linux-src@0.1/v256/meta.json); baselines on validation: unigram 6.7029, bigram "
                 "4.3610 nats/token\n");
    expect(text, "  - `gcide`: 13.6M training tokens, 715k validation tokens; baselines on its validation tokens: "
                 "unigram 6.8131, bigram 4.2732 nats/token\n");
    expect(text, "  - `kjv`: 1.28M training tokens, 67.1k validation tokens;");
    expect(text, "  - `linux-src` (weight 0.1: 10% of its text kept): 30.5M training tokens, 1.61M validation "
                 "tokens; baselines on its validation tokens: unigram 6.4452, bigram 4.2408 nats/token\n");
    assert_null(strstr(text, "token counts unknown"));
    free(text);
    remove_tree(dir);
}

/* Four budgets 1e12 ... 1e15, rho {0, 0.5, 1}, seeds {1, 2}: the per-seed
 * L(1) - L(0) are gap + 0.002 and gap - 0.002 with gap = 0.34 - 0.02 log10 C,
 * so the paired gap is 0.10 at 1e12 (SE 0.002, 1 df) and the line reaches
 * zero at 1e17, 100 x beyond 1e15. By hand (tests/fit/test_gap.c): slope
 * SE sqrt(8e-7) = 0.00089, Fieller interval of log10 C0 [16.4017, 17.8675]
 * (2.5e16 to 7.4e17 FLOPs). */
static void test_gap_trend(void **state)
{
    (void)state;
    char dir[128], results[256];
    snprintf(dir, sizeof dir, "/tmp/es-report-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(results, sizeof results, "%s/results.tsv", dir);
    static const double rhos[3] = {0, 0.5, 1};
    for (int b = 12; b <= 15; b++)
        for (int k = 0; k < 3; k++)
            for (int s = 1; s <= 2; s++) {
                result_row row;
                memset(&row, 0, sizeof row);
                snprintf(row.run, sizeof row.run, "C1e%d-rho%.1f-s%d", b, rhos[k], s);
                snprintf(row.kind, sizeof row.kind, "allocation");
                snprintf(row.memory, sizeof row.memory, "engram");
                snprintf(row.status, sizeof row.status, "ok");
                row.budget = pow(10, b);
                row.rho = rhos[k];
                row.seed = (uint64_t)s;
                row.p_tot = 1e6, row.p_act = 1e5, row.tokens = 1e5, row.steps = 10;
                double base = 5.0 - 0.3 * b + 0.01 * s, gap = 0.34 - 0.02 * b + (s == 1 ? 0.002 : -0.002);
                row.val_loss = row.best_val_loss = row.train_loss = base + (k == 1 ? 0.03 : k == 2 ? gap : 0);
                assert_int_equal(results_append(results, &row), ES_OK);
            }
    fit_options opt = {.bootstrap = 0, .seed = 1};
    json_t *fit;
    assert_int_equal(fit_run_dir(dir, &opt, &fit), ES_OK);
    assert_int_equal(fit_write(dir, fit), ES_OK);
    assert_int_equal(report_write(dir, NULL, "engram-scale study gap.yaml", NULL), ES_OK);
    char *text = read_report(dir);
    expect(text, "### Pure MoE minus pure memory across budgets\n");
    expect(text, "| budget C | runs at rho 0, rho 1 | L(1) - L(0) | SE | df | 95% interval | method |");
    /* 0.10 -+ t(0.975, 1) 0.002 = 0.10 -+ 0.0254 */
    expect(text, "| 1.0e12 | 2, 2 | +0.1000 | 0.0020 | 1 | [+0.0746, +0.1254] | paired |");
    expect(text, "| 1.0e15 | 2, 2 | +0.0400 | 0.0020 | 1 | [+0.0146, +0.0654] | paired |");
    expect(text, "- **Fitted** on the 4 measured budgets (1.0e12 to 1.0e15 FLOPs) by weighted least squares, weights "
                 "1/se^2: gap = a + b log10 C with a = 0.3400 ± 0.0121, b = -0.0200 ± 0.0009 nats per decade of "
                 "compute; slope 95% interval [-0.0238, -0.0162] (t with 2 degrees of freedom). SEs: known SEs");
    expect(text, "- **Extrapolated**: if the trend holds (an extrapolation 100 x beyond the largest measured budget, "
                 "1.0e15 FLOPs), the gap would reach zero at C = 1.0e17 FLOPs (95% Fieller interval [2.5e16, 7.4e17] "
                 "FLOPs).");
    /* after the table across budgets, before the stability of rho* */
    assert_true(strstr(text, "### Across budgets") < strstr(text, "### Pure MoE minus pure memory"));
    assert_true(strstr(text, "### Pure MoE minus pure memory") < strstr(text, "### Stability of rho*"));
    free(text);

    /* a fit.json written before gap_trend existed is still read */
    json_object_del(fit, "gap_trend");
    assert_int_equal(fit_write(dir, fit), ES_OK);
    json_decref(fit);
    assert_int_equal(report_write(dir, NULL, "engram-scale study gap.yaml", NULL), ES_OK);
    text = read_report(dir);
    expect(text, "fit.json has no `gap_trend` (it was written by an older `engram-scale fit`)");
    expect(text, "### Stability of rho*");
    free(text);
    remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocation_report),
        cmocka_unit_test(test_missing_results),
        cmocka_unit_test(test_memory_and_grid),
        cmocka_unit_test(test_expert_grid),
        cmocka_unit_test(test_mixture_corpus),
        cmocka_unit_test(test_gap_trend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
