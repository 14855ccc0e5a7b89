/* Tests of lib/plot: the template filler, and every figure of a synthetic
 * run folder (an allocation study of 2 budgets x 5 rho x 2 seeds, a memory
 * study, an ablation grid, per-run log.tsv files and a hand-written
 * fit.json) rendered by the real gnuplot to valid PNG and SVG files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fs.h"
#include "plot/plot.h"
#include "study/results.h"

static char run_dir[128];

/* ---- helpers --------------------------------------------------------------- */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A log.tsv whose loss decays to `final` over `tokens`. */
static void write_log(const char *run, double final, double tokens)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", run_dir, run);
    assert_int_equal(es_mkdir_p(path), ES_OK);
    snprintf(path, sizeof path, "%s/%s/log.tsv", run_dir, run);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "step\ttokens\ttrain_loss\tval_loss\tlr\tseconds\tload_max_mean\tbias_min\tbias_max\n");
    for (int s = 0; s <= 20; s++) {
        double t = tokens * s / 20.0;
        double loss = final + 4.0 * exp(-6.0 * s / 20.0) + 0.3 * (1.0 - s / 20.0);
        /* step 0 has no training loss yet: "nan", as the trainer writes it */
        fprintf(f, "%d\t%.0f\t%s\t%.6f\t0.001\t%.3f\tnan\tnan\tnan\n", s * 50, t, s ? "4.2" : "nan", loss, s * 1.5);
    }
    fclose(f);
}

static result_row row_of(const char *run, const char *kind, double budget, double rho, const char *memory,
                         long slots, int seed, double val_loss, const char *status, const char *label)
{
    result_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.run, sizeof r.run, "%s", run);
    snprintf(r.kind, sizeof r.kind, "%s", kind);
    r.budget = budget;
    r.rho = rho;
    snprintf(r.memory, sizeof r.memory, "%s", memory);
    r.slots = slots;
    r.seed = (uint64_t)seed;
    r.experts = 8;
    r.p_tot = 1e7, r.p_act = 1e6, r.flops_per_token = 6e6;
    r.tokens = budget / 6e6;
    r.steps = 1000;
    r.val_loss = r.best_val_loss = val_loss;
    r.train_loss = val_loss + 0.05;
    r.seconds = 60;
    snprintf(r.status, sizeof r.status, "%s", status);
    snprintf(r.label, sizeof r.label, "%s", label);
    return r;
}

static const char FIT_JSON[] =
    "{\"allocation\": ["
    " {\"budget\": 1e15, \"n_runs\": 10, \"rhos\": [0, 0.25, 0.5, 0.75, 1], \"model\": \"quadratic\","
    "  \"rho_star\": 0.72, \"rho_star_se\": 0.04, \"rho_star_ci\": [0.64, 0.8], \"loss_star\": 4.05,"
    "  \"gain\": 0.04, \"gain_ci\": [0.02, 0.06], \"interior\": true, \"u_test\": {\"verdict\": \"U\", \"shape\": \"U\"},"
    "  \"curve\": [[0, 4.25], [0.2, 4.15], [0.4, 4.09], [0.6, 4.06], [0.72, 4.05], [0.8, 4.052], [1, 4.09]],"
    "  \"warnings\": []},"
    " {\"budget\": 3.15e15, \"n_runs\": 10, \"model\": \"quadratic\", \"rho_star\": null, \"interior\": false,"
    "  \"u_test\": {\"verdict\": \"no U\", \"shape\": \"rising\"}, \"best_measured_rho\": 0.75, \"not_worse\": [0.5, 0.75],"
    "  \"monotone\": {\"model\": \"exponential\", \"curve\": [[0, 3.9], [0.5, 3.88], [1, 3.95]]},"
    "  \"curve\": [[0, 4.05], [0.25, 3.94], [0.5, 3.88], [0.78, 3.85], [1, 3.88]], \"warnings\": []}],"
    " \"gap_trend\": {\"budgets\": ["
    "  {\"budget\": 1e15, \"mean\": 0.04, \"se\": 0.002, \"lo\": 0.0146, \"hi\": 0.0654},"
    "  {\"budget\": 3.15e15, \"mean\": 0.03, \"se\": 0.002, \"lo\": 0.0046, \"hi\": 0.0554},"
    "  {\"budget\": 1e16, \"mean\": 0.02, \"se\": null, \"lo\": null, \"hi\": null}],"
    "  \"largest_budget\": 1e16, \"fit\": {\"method\": \"weighted least squares, weights 1/se^2\", \"a\": 0.34, \"b\": -0.02},"
    "  \"projection\": {\"status\": \"projected\", \"log10_c0\": 17, \"log10_c0_ci\": [16.4, 17.87]}},"
    " \"memory\": ["
    " {\"memory\": \"engram\", \"slots\": [1e4, 1e5, 1e6], \"alpha\": 0.31, \"alpha_ci\": [0.2, 0.4],"
    "  \"curve\": [[1e4, 4.3], [3e4, 4.18], [1e5, 4.1], [3e5, 4.04], [1e6, 4.0]]},"
    " {\"memory\": \"overencoding\", \"alpha\": null, \"curve\": []}],"
    " \"grid\": ["
    " {\"label\": \"baseline\", \"n\": 2, \"mean\": 4.0, \"sd\": 0.01, \"delta\": 0, \"delta_se\": 0, \"reference\": true},"
    " {\"label\": \"model.engram.gate=off\", \"n\": 2, \"mean\": 4.05, \"sd\": 0.01, \"delta\": 0.05,"
    "  \"delta_se\": 0.01, \"reference\": false}]}\n";

/* The synthetic run folder: the paper's U with its dip near 0.75. */
static void make_run_dir(int with_fit)
{
    snprintf(run_dir, sizeof run_dir, "/tmp/test_plot.XXXXXX");
    assert_non_null(mkdtemp(run_dir));
    char results[256];
    snprintf(results, sizeof results, "%s/results.tsv", run_dir);
    const double budgets[2] = {1e15, 3.15e15};
    const double rhos[5] = {0.0, 0.25, 0.5, 0.75, 1.0};
    for (int b = 0; b < 2; b++)
        for (int k = 0; k < 5; k++)
            for (int seed = 1; seed <= 2; seed++) {
                char run[64];
                snprintf(run, sizeof run, "alloc-c%d-rho%.2f-s%d", b, rhos[k], seed);
                double loss = 4.05 - 0.2 * b + 0.35 * (rhos[k] - 0.75) * (rhos[k] - 0.75) + 0.01 * (seed - 1.5);
                result_row r = row_of(run, "allocation", budgets[b], rhos[k], "engram", 100000, seed, loss, "ok", "-");
                assert_int_equal(results_append(results, &r), ES_OK);
                write_log(run, loss, budgets[b] / 6e6);
            }
    result_row bad = row_of("alloc-c0-rho0.10-s1", "allocation", 1e15, 0.1, "engram", 100000, 1, NAN, "diverged", "-");
    assert_int_equal(results_append(results, &bad), ES_OK);

    const long slots[3] = {10000, 100000, 1000000};
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 3; k++) {
            char run[64];
            snprintf(run, sizeof run, "mem-%s-%ld", m ? "oe" : "engram", slots[k]);
            double loss = 4.4 - 0.13 * (k + 1) + 0.08 * m;
            result_row r = row_of(run, "memory", 1e15, NAN, m ? "overencoding" : "engram", slots[k], 1, loss, "ok", "-");
            assert_int_equal(results_append(results, &r), ES_OK);
            write_log(run, loss, 1e15 / 6e6);
        }
    result_row none = row_of("mem-none", "memory", 1e15, NAN, "none", 0, 1, 4.45, "ok", "-");
    assert_int_equal(results_append(results, &none), ES_OK);

    const char *labels[2] = {"baseline", "model.engram.gate=off"};
    for (int l = 0; l < 2; l++)
        for (int seed = 1; seed <= 2; seed++) {
            char run[64];
            snprintf(run, sizeof run, "grid-%d-s%d", l, seed);
            double loss = 4.0 + 0.05 * l + 0.01 * (seed - 1.5);
            result_row r = row_of(run, "grid", 1e15, NAN, "engram", 100000, seed, loss, "ok", labels[l]);
            assert_int_equal(results_append(results, &r), ES_OK);
            write_log(run, loss, 1e15 / 6e6);
        }
    if (with_fit) {
        char path[256];
        snprintf(path, sizeof path, "%s/fit.json", run_dir);
        write_text(path, FIT_JSON);
    }
}

static void remove_run_dir(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", run_dir);
    assert_int_equal(system(cmd), 0);
}

static void assert_png(const char *path, unsigned width, unsigned height)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("missing %s", path);
    unsigned char h[24];
    assert_int_equal(fread(h, 1, sizeof h, f), sizeof h);
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_memory_equal(h, sig, 8);
    assert_memory_equal(h + 12, "IHDR", 4);
    unsigned w = (unsigned)h[16] << 24 | (unsigned)h[17] << 16 | (unsigned)h[18] << 8 | h[19];
    unsigned hh = (unsigned)h[20] << 24 | (unsigned)h[21] << 16 | (unsigned)h[22] << 8 | h[23];
    assert_int_equal(w, width);
    if (height)
        assert_int_equal(hh, height);
    else /* 640 px and 40 px per key line below the plot */
        assert_true(hh >= 640 + 40 * 1 && hh <= 640 + 40 * 8 && (hh - 640) % 40 == 0);
}

static void assert_svg(const char *path)
{
    char *text;
    if (es_read_file(path, &text, NULL) != ES_OK)
        fail_msg("missing %s", path);
    assert_true(strncmp(text, "<?xml", 5) == 0 || strncmp(text, "<svg", 4) == 0);
    assert_non_null(strstr(text, "</svg>"));
    free(text);
}

static int listed(char **files, int n, const char *path)
{
    for (int i = 0; i < n; i++)
        if (strcmp(files[i], path) == 0)
            return 1;
    return 0;
}

static void assert_figure(char **files, int n, const char *name, int expected)
{
    char path[512];
    static const char *const ext[] = {"gp", "png", "svg"};
    for (int e = 0; e < 3; e++) {
        snprintf(path, sizeof path, "%s/figures/%s.%s", run_dir, name, ext[e]);
        if (!expected) {
            assert_false(es_exists(path));
            continue;
        }
        if (!listed(files, n, path))
            fail_msg("%s not in the list of files written", path);
        if (e == 1) /* figures with a key below grow with it */
            assert_png(path, 1000, strcmp(name, "allocation") == 0 || strncmp(name, "training_", 9) == 0 ? 0
                                   : strcmp(name, "rho_star") == 0 || strcmp(name, "gap") == 0         ? 820
                                                                                                        : 700);
        else if (e == 2)
            assert_svg(path);
        else
            assert_true(es_exists(path));
    }
}

/* ---- tests ------------------------------------------------------------------ */

static void test_template_fill(void **state)
{
    (void)state;
    const char *names[] = {"NAME", "N_RUNS"};
    const char *values[] = {"allocation", "12"};
    char *out;
    assert_int_equal(plot_template_fill("set output \"@NAME@.png\" # @N_RUNS@ runs, mail a@b.c, @macro\n", "t.gp",
                                        names, values, 2, &out),
                     ES_OK);
    assert_string_equal(out, "set output \"allocation.png\" # 12 runs, mail a@b.c, @macro\n");
    free(out);

    assert_int_equal(plot_template_fill("line one\nplot @NAME@ @MISSING_VAR@\n", "plots/x.gp", names, values, 2, &out),
                     ES_EINVAL);
    assert_null(out);
    assert_non_null(strstr(es_error_message(), "@MISSING_VAR@"));
    assert_non_null(strstr(es_error_message(), "plots/x.gp:2"));
}

static void test_all_figures(void **state)
{
    (void)state;
    make_run_dir(1);
    char **files;
    int n;
    int rc = plot_run_dir(run_dir, &files, &n);
    if (rc)
        fail_msg("plot_run_dir: %s", es_error_message());
    static const char *const figures[] = {"allocation",          "rho_star",        "gap",           "memory",
                                          "grid",                "training_allocation", "training_memory",
                                          "training_grid"};
    for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
        assert_figure(files, n, figures[i], 1);
    /* the data files the scripts read are kept beside them */
    char path[512];
    snprintf(path, sizeof path, "%s/figures/allocation.dat", run_dir);
    assert_true(listed(files, n, path));
    /* the diverged run is marked, never averaged */
    snprintf(path, sizeof path, "%s/figures/allocation_diverged.dat", run_dir);
    char *text;
    assert_int_equal(es_read_file(path, &text, NULL), ES_OK);
    assert_non_null(strstr(text, "alloc-c0-rho0.10-s1"));
    free(text);
    snprintf(path, sizeof path, "%s/figures/allocation.dat", run_dir);
    assert_int_equal(es_read_file(path, &text, NULL), ES_OK);
    assert_null(strstr(text, "0.1\t"));
    free(text);
    /* the legend carries the two-lines verdict, rho* only for a U, and
     * alpha, from fit.json */
    snprintf(path, sizeof path, "%s/figures/allocation.gp", run_dir);
    assert_int_equal(es_read_file(path, &text, NULL), ES_OK);
    assert_non_null(strstr(text, "U, ρ* = 0.72 [0.64, 0.80]"));
    assert_non_null(strstr(text, "no U (rising)"));
    assert_non_null(strstr(text, "fitted_dt = \"1 2\""));
    /* budgets in three significant digits: 1e15 and 3.15e15 */
    assert_non_null(strstr(text, "1.0×10^{15}"));
    assert_non_null(strstr(text, "3.15×10^{15}"));
    assert_null(strstr(text, "@N_BUDGETS@"));
    free(text);
    /* each budget relative to its own best mean: the rows hold deltas */
    snprintf(path, sizeof path, "%s/figures/allocation.dat", run_dir);
    assert_int_equal(es_read_file(path, &text, NULL), ES_OK);
    assert_non_null(strstr(text, "0.75\t0\t"));
    free(text);
    /* rho_star: rho* for the U budget, the best measured rho and the rho
     * not significantly worse for the other */
    snprintf(path, sizeof path, "%s/figures/rho_star.dat", run_dir);
    assert_int_equal(es_read_file(path, &text, NULL), ES_OK);
    assert_non_null(strstr(text, "1e+15\t0.72\t0.64\t0.8\t1"));
    assert_non_null(strstr(text, "3.15e+15\t0.75\t0.75\t0.75\t0"));
    free(text);
    snprintf(path, sizeof path, "%s/figures/rho_star_not_worse.dat", run_dir);
    assert_int_equal(es_read_file(path, &text, NULL), ES_OK);
    assert_non_null(strstr(text, "3.15e+15\t0.5\n3.15e+15\t0.75\n"));
    free(text);
    /* each budget's two-lines shape, labelled above its column */
    snprintf(path, sizeof path, "%s/figures/rho_star_shape.dat", run_dir);
    assert_int_equal(es_read_file(path, &text, NULL), ES_OK);
    assert_non_null(strstr(text, "1e+15\t1.11\t\"U\"\t1\n"));
    assert_non_null(strstr(text, "3.15e+15\t1.11\t\"rising\"\t0\n"));
    free(text);
    /* the gap: the measured points (NaN where a budget has no SE), the line
     * over 1e15 .. 1e16 and its dashed extension to the zero at 1e17, the
     * crossing with its Fieller interval */
    snprintf(path, sizeof path, "%s/figures/gap.dat", run_dir);
    assert_int_equal(es_read_file(path, &text, NULL), ES_OK);
    assert_non_null(strstr(text, "1e+15\t0.04\t0.002\t0.0146\t0.0654\n"));
    assert_non_null(strstr(text, "1e+16\t0.02\tNaN\tNaN\tNaN\n"));
    free(text);
    snprintf(path, sizeof path, "%s/figures/gap_fit.dat", run_dir);
    assert_int_equal(es_read_file(path, &text, NULL), ES_OK);
    assert_non_null(strstr(text, "1e+15\t0.04\n1e+16\t0.02\n\n\n1e+16\t0.02\n1e+17\t0"));
    free(text);
    snprintf(path, sizeof path, "%s/figures/gap_crossing.dat", run_dir);
    assert_int_equal(es_read_file(path, &text, NULL), ES_OK);
    assert_non_null(strstr(text, "1e+17\t2.511886432e+16\t7.413102413e+17\n"));
    free(text);
    snprintf(path, sizeof path, "%s/figures/gap.gp", run_dir);
    assert_int_equal(es_read_file(path, &text, NULL), ES_OK);
    assert_non_null(strstr(text, "n_extension = 1"));
    assert_non_null(strstr(text, "zero, extrapolated: C = 1.0×10^{17} FLOPs, 95% Fieller [2.51×10^{16}, 7.41×10^{17}]"));
    free(text);
    snprintf(path, sizeof path, "%s/figures/memory.gp", run_dir);
    assert_int_equal(es_read_file(path, &text, NULL), ES_OK);
    assert_non_null(strstr(text, "α = 0.310"));
    free(text);
    plot_files_free(files, n);
    remove_run_dir();
}

static void test_without_fit(void **state)
{
    (void)state;
    make_run_dir(0);
    char **files;
    int n;
    int rc = plot_run_dir(run_dir, &files, &n);
    if (rc)
        fail_msg("plot_run_dir: %s", es_error_message());
    assert_figure(files, n, "allocation", 1);
    assert_figure(files, n, "memory", 1);
    assert_figure(files, n, "grid", 1);
    assert_figure(files, n, "rho_star", 0); /* no fitted budgets */
    assert_figure(files, n, "gap", 0);
    plot_files_free(files, n);
    remove_run_dir();
}

static void test_missing_gnuplot(void **state)
{
    (void)state;
    make_run_dir(1);
    char empty[64];
    snprintf(empty, sizeof empty, "/tmp/test_plot_path.XXXXXX");
    assert_non_null(mkdtemp(empty));
    char *old = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", empty, 1);
    char **files;
    int n;
    int rc = plot_run_dir(run_dir, &files, &n);
    setenv("PATH", old, 1);
    free(old);
    rmdir(empty);
    assert_int_equal(rc, ES_EMISSING);
    assert_null(files);
    assert_non_null(strstr(es_error_message(), "gnuplot is not installed: apt-get install gnuplot-nox"));
    /* the scripts are written all the same, to render elsewhere */
    char path[512];
    snprintf(path, sizeof path, "%s/figures/allocation.gp", run_dir);
    assert_true(es_exists(path));
    remove_run_dir();
}

static void test_nothing_to_plot(void **state)
{
    (void)state;
    snprintf(run_dir, sizeof run_dir, "/tmp/test_plot.XXXXXX");
    assert_non_null(mkdtemp(run_dir));
    char **files;
    int n;
    assert_int_equal(plot_run_dir(run_dir, &files, &n), ES_EDATA);
    assert_non_null(strstr(es_error_message(), "results.tsv"));

    /* a corrupt fit.json is named with its line */
    make_run_dir(0);
    char path[256];
    snprintf(path, sizeof path, "%s/fit.json", run_dir);
    write_text(path, "{\"allocation\": [\n");
    assert_int_equal(plot_run_dir(run_dir, &files, &n), ES_EDATA);
    assert_non_null(strstr(es_error_message(), "fit.json:"));
    remove_run_dir();
}

int main(void)
{
    /* the templates of the source tree, wherever the build folder is */
    const char *root = getenv("SOURCE_ROOT");
    if (root && !getenv("ENGRAM_SCALE_PLOTS")) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/plots", root);
        setenv("ENGRAM_SCALE_PLOTS", dir, 1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_fill),  cmocka_unit_test(test_all_figures),
        cmocka_unit_test(test_without_fit),    cmocka_unit_test(test_missing_gnuplot),
        cmocka_unit_test(test_nothing_to_plot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
