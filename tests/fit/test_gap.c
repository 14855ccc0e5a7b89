/* Tests of the pure-MoE minus pure-memory gap across budgets (lib/fit/gap.c):
 *  - the line and the Fieller set of its zero against numbers computed by
 *    hand (the textbook sums: Sxx, weighted means; t quantiles from tables,
 *    t(0.975, 2) = 4.3026527, t(0.975, 3) = 3.1824463): an exact line with
 *    known SEs, a scattered line by OLS, a WLS whose points scatter more
 *    than their SEs (residual-scaled), a slope that is not significant (the
 *    set is two half-lines) and the whole-line case; at a bounded set's
 *    ends the t ratio of a + b x is exactly t;
 *  - fit.json's gap_trend from seed-level rows (fit_rows): the paired gaps
 *    per budget, the projected zero with its interval and factor, and the
 *    cases "not shrinking", "crossed", "not fitted" (2 budgets) and one
 *    seed (OLS, with the reason). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fit/fit.h"
#include "fit/gap.h"
#include "study/results.h"

static void assert_close(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol * fmax(fabs(want), 1e-12)))
        fail_msg("%s: got %.17g, want %.17g (relative tolerance %g)", what, got, want, tol);
}

/* At each end of a bounded Fieller set, |a + b x| / sd(a + b x) = t. */
static void assert_fieller_ends(const gap_line *g, const gap_root *r)
{
    double ends[2] = {r->lo, r->hi};
    for (int k = 0; k < 2; k++) {
        double x = ends[k];
        double sd = sqrt(g->var_a + 2 * x * g->cov_ab + x * x * g->var_b);
        assert_close(fabs(g->a + g->b * x) / sd, g->t, 1e-9, "t ratio at a Fieller end");
    }
}

/* gap = 0.34 - 0.02 x exactly at x = 12 ... 14, SE 0.002 each: chi2 = 0,
 * so the SEs are taken as known. Sxx = 2.5, x mean 13: var b = s^2/Sxx =
 * 1.6e-6, var a = s^2 (1/5 + 169/2.5) = 2.712e-4, cov = -13 s^2/Sxx =
 * -2.08e-5; x0 = 17. */
static void test_exact_line(void **state)
{
    (void)state;
    const double x[5] = {12, 12.5, 13, 13.5, 14}, y[5] = {0.10, 0.09, 0.08, 0.07, 0.06};
    const double se[5] = {0.002, 0.002, 0.002, 0.002, 0.002};
    gap_line g;
    assert_int_equal(gap_line_fit(x, y, se, 5, &g), 0);
    assert_true(g.weighted);
    assert_close(g.a, 0.34, 1e-9, "a");
    assert_close(g.b, -0.02, 1e-9, "b");
    assert_close(g.var_b, 1.6e-6, 1e-9, "var b");
    assert_close(g.var_a, 2.712e-4, 1e-9, "var a");
    assert_close(g.cov_ab, -2.08e-5, 1e-9, "cov");
    assert_close(g.scale, 1, 0, "scale");
    assert_close(g.df, 3, 0, "df");
    assert_close(g.t, 3.182446305284263, 1e-9, "t(0.975, 3)");
    assert_close(g.b_lo, -0.024025511542354328, 1e-9, "b low");
    assert_close(g.b_hi, -0.015974488457645673, 1e-9, "b high");
    gap_root r = gap_root_fieller(g.a, g.b, g.var_a, g.var_b, g.cov_ab, g.t);
    assert_int_equal(r.kind, GAP_FIELLER_BOUNDED);
    assert_close(r.x0, 17, 1e-9, "x0");
    assert_close(r.lo, 16.317307012281645, 1e-9, "Fieller low");
    assert_close(r.hi, 18.02047190269078, 1e-9, "Fieller high");
    /* the set is not symmetric about x0: a ratio's interval stretches away
     * from the data */
    assert_true(r.hi - r.x0 > r.x0 - r.lo);
    assert_fieller_ends(&g, &r);
}

/* OLS (no SEs): y = 0.100, 0.085, 0.082, 0.066 at x = 12 ... 13.5: b =
 * -0.021, a = 0.351, RSS = 3.15e-5, s^2 = RSS/2, var b = s^2/1.25 = 1.26e-5. */
static void test_ols_scatter(void **state)
{
    (void)state;
    const double x[4] = {12, 12.5, 13, 13.5}, y[4] = {0.100, 0.085, 0.082, 0.066};
    gap_line g;
    assert_int_equal(gap_line_fit(x, y, NULL, 4, &g), 0);
    assert_false(g.weighted);
    assert_close(g.a, 0.351, 1e-9, "a");
    assert_close(g.b, -0.021, 1e-9, "b");
    assert_close(g.chi2, 3.15e-5, 1e-9, "RSS");
    assert_close(g.var_b, 1.26e-5, 1e-9, "var b");
    assert_close(g.var_a, 0.002052225, 1e-9, "var a");
    assert_close(g.cov_ab, -0.00016065, 1e-9, "cov");
    assert_close(g.t, 4.302652729749464, 1e-9, "t(0.975, 2)");
    assert_close(g.b_lo, -0.036272902096901524, 1e-9, "b low");
    assert_close(g.b_hi, -0.00572709790309848, 1e-9, "b high");
    gap_root r = gap_root_fieller(g.a, g.b, g.var_a, g.var_b, g.cov_ab, g.t);
    assert_int_equal(r.kind, GAP_FIELLER_BOUNDED);
    assert_close(r.x0, 16.714285714285715, 1e-9, "x0");
    assert_close(r.lo, 15.016503177653124, 1e-9, "Fieller low");
    assert_close(r.hi, 27.314756542409132, 1e-9, "Fieller high");
    assert_fieller_ends(&g, &r);
    /* an SE of 0 or NaN falls back to OLS too */
    const double se[4] = {0.002, 0, 0.002, 0.002}, se_nan[4] = {0.002, NAN, 0.002, 0.002};
    gap_line g0;
    assert_int_equal(gap_line_fit(x, y, se, 4, &g0), 0);
    assert_false(g0.weighted);
    assert_close(g0.b, -0.021, 1e-9, "b (an SE of 0)");
    assert_int_equal(gap_line_fit(x, y, se_nan, 4, &g0), 0);
    assert_false(g0.weighted);
}

/* WLS whose points scatter more than their SEs: chi2 = 4.6348 on 2 df, so
 * the known-SE covariance is multiplied by chi2/2 = 2.3174. */
static void test_residual_scaled(void **state)
{
    (void)state;
    const double x[4] = {12, 12.5, 13, 13.5}, y[4] = {0.100, 0.085, 0.082, 0.066};
    const double se[4] = {0.002, 0.003, 0.002, 0.004};
    gap_line g;
    assert_int_equal(gap_line_fit(x, y, se, 4, &g), 0);
    assert_true(g.weighted);
    assert_close(g.a, 0.3375815602836879, 1e-9, "a");
    assert_close(g.b, -0.019843971631205673, 1e-9, "b");
    assert_close(g.chi2, 4.634751773049646, 1e-9, "chi2");
    assert_close(g.scale, 2.317375886524823, 1e-9, "scale");
    assert_close(g.var_b, 1.2753785020874202e-05, 1e-9, "var b (scaled)");
    assert_close(g.b_lo, -0.03520979516756528, 1e-9, "b low");
    assert_close(g.b_hi, -0.0044781480948460645, 1e-9, "b high");
    gap_root r = gap_root_fieller(g.a, g.b, g.var_a, g.var_b, g.cov_ab, g.t);
    assert_int_equal(r.kind, GAP_FIELLER_BOUNDED);
    assert_close(r.x0, 17.011794138670478, 1e-9, "x0");
    assert_close(r.lo, 15.059703653820625, 1e-9, "Fieller low");
    assert_close(r.hi, 32.198300404599145, 1e-9, "Fieller high");
    assert_fieller_ends(&g, &r);
}

/* A slope whose interval holds 0: the Fieller set is unbounded. */
static void test_unbounded(void **state)
{
    (void)state;
    const double x[4] = {12, 12.5, 13, 13.5}, y[4] = {0.10, 0.06, 0.11, 0.07};
    gap_line g;
    assert_int_equal(gap_line_fit(x, y, NULL, 4, &g), 0);
    assert_close(g.b, -0.008, 1e-9, "b");
    assert_true(g.b_lo < 0 && g.b_hi > 0);
    gap_root r = gap_root_fieller(g.a, g.b, g.var_a, g.var_b, g.cov_ab, g.t);
    assert_int_equal(r.kind, GAP_FIELLER_EXCLUSIVE); /* (-inf, lo] and [hi, inf) */
    assert_close(r.x0, 23.375, 1e-9, "x0");
    assert_close(r.lo, 12.150268372900786, 1e-9, "inner end low");
    assert_close(r.hi, 13.23575535066807, 1e-9, "inner end high");
    /* a = 0.1, b = 0.001, var a = 0.01, var b = 1, t = 2: no x is excluded */
    r = gap_root_fieller(0.1, 0.001, 0.01, 1, 0, 2);
    assert_int_equal(r.kind, GAP_FIELLER_WHOLE_LINE);
    assert_true(isnan(r.lo) && isnan(r.hi));
    /* too few points, or no spread in x */
    const double same[3] = {13, 13, 13};
    assert_int_equal(gap_line_fit(x, y, NULL, 2, &g), -1);
    assert_int_equal(gap_line_fit(same, y, NULL, 3, &g), -1);
}

/* ---- fit.json's gap_trend from rows ---- */

enum { MAX_ROWS = 64 };

typedef struct {
    result_row rows[MAX_ROWS];
    int n;
} table;

static void add_run(table *t, double budget, double rho, int seed, double loss)
{
    assert_true(t->n < MAX_ROWS);
    result_row *r = &t->rows[t->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->run, sizeof r->run, "r%d", t->n);
    snprintf(r->kind, sizeof r->kind, "allocation");
    snprintf(r->memory, sizeof r->memory, "engram");
    snprintf(r->status, sizeof r->status, "ok");
    r->budget = budget;
    r->rho = rho;
    r->seed = (uint64_t)seed;
    r->val_loss = r->best_val_loss = r->train_loss = loss;
    r->p_tot = r->p_act = r->flops_per_token = r->tokens = 1;
    r->steps = 1;
}

/* Budgets 10^x for the given x, rho {0, 0.5, 1}, seeds 1..n_seeds. The
 * per-seed differences L(1) - L(0) are gap(x) + 0.002 (seed 1) and
 * gap(x) - 0.002 (seed 2): mean gap(x), SE 0.002, paired. */
static json_t *trend_of(const double *xs, int nb, int n_seeds, double g0, double slope)
{
    table t = {.n = 0};
    for (int b = 0; b < nb; b++)
        for (int s = 1; s <= n_seeds; s++) {
            double c = pow(10, xs[b]), base = 5.0 - 0.3 * xs[b] + 0.01 * s;
            double gap = g0 + slope * (xs[b] - 12) + (n_seeds > 1 ? (s == 1 ? 0.002 : -0.002) : 0);
            add_run(&t, c, 0.0, s, base);
            add_run(&t, c, 0.5, s, base + 0.03);
            add_run(&t, c, 1.0, s, base + gap);
        }
    fit_options opt = {.bootstrap = 0, .seed = 1};
    json_t *doc;
    assert_int_equal(fit_rows(t.rows, t.n, "test", &opt, &doc), 0);
    json_t *gt = json_incref(json_object_get(doc, "gap_trend"));
    json_decref(doc);
    assert_non_null(gt);
    return gt;
}

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(const json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

static void expect_in(const char *text, const char *needle)
{
    if (!text || !strstr(text, needle))
        fail_msg("\"%s\" lacks \"%s\"", text ? text : "(null)", needle);
}

/* gap = 0.10 - 0.02 (x - 12) = 0.34 - 0.02 x at x = 12 ... 15, SE 0.002:
 * the zero at x0 = 17, 100 x beyond 1e15. Sxx = 5, x mean 13.5, t(0.975, 2):
 * var b = 8e-7, var a = 1.468e-4, cov = -1.08e-5, Fieller [16.40165,
 * 17.86749]. */
static void test_trend_projected(void **state)
{
    (void)state;
    const double xs[4] = {12, 13, 14, 15};
    json_t *gt = trend_of(xs, 4, 2, 0.10, -0.02);
    const json_t *rows = json_object_get(gt, "budgets");
    assert_int_equal(json_array_size(rows), 4);
    const json_t *first = json_array_get(rows, 0);
    assert_close(num(first, "budget"), 1e12, 1e-12, "budget");
    assert_string_equal(str(first, "method"), "paired");
    assert_close(num(first, "mean"), 0.10, 1e-9, "gap at 1e12");
    assert_close(num(first, "se"), 0.002, 1e-6, "SE");
    assert_close(num(first, "df"), 1, 0, "df");
    /* paired, 1 df: mean -+ t(0.975, 1) SE, t = 12.7062047 */
    assert_close(num(first, "lo"), 0.10 - 12.706204736174698 * 0.002, 1e-6, "low");
    assert_int_equal(json_integer_value(json_object_get(first, "n_rho0")), 2);
    assert_close(num(json_array_get(rows, 3), "mean"), 0.04, 1e-9, "gap at 1e15");

    const json_t *fit = json_object_get(gt, "fit");
    assert_string_equal(str(fit, "method"), "weighted least squares, weights 1/se^2");
    assert_close(num(fit, "a"), 0.34, 1e-6, "a");
    assert_close(num(fit, "b"), -0.02, 1e-6, "b");
    assert_close(num(fit, "se_b"), sqrt(8e-7), 1e-5, "se b");
    assert_close(num(fit, "se_a"), sqrt(1.468e-4), 1e-5, "se a");
    assert_close(num(fit, "cov_ab"), -1.08e-5, 1e-5, "cov");
    assert_string_equal(str(fit, "se_kind"), "known SEs");
    assert_close(json_number_value(json_array_get(json_object_get(fit, "b_ci"), 0)), -0.023848409594917935, 1e-5,
                 "b low");
    assert_true(json_is_object(json_object_get(fit, "unweighted")));

    const json_t *p = json_object_get(gt, "projection");
    assert_string_equal(str(p, "status"), "projected");
    assert_true(json_is_true(json_object_get(p, "extrapolated")));
    assert_close(num(p, "log10_c0"), 17, 1e-6, "log10 C0");
    assert_close(num(p, "factor"), 100, 1e-5, "factor");
    assert_string_equal(str(p, "fieller"), "bounded");
    const json_t *ci = json_object_get(p, "log10_c0_ci");
    assert_close(json_number_value(json_array_get(ci, 0)), 16.401650420811702, 1e-6, "Fieller low");
    assert_close(json_number_value(json_array_get(ci, 1)), 17.867494323037484, 1e-6, "Fieller high");
    expect_in(str(gt, "status"), "extrapolated: if the trend holds, the gap reaches zero at C = 1e+17 FLOPs, 100 x "
                                 "beyond the largest measured budget (1e+15)");
    json_decref(gt);
}

static void test_trend_not_shrinking(void **state)
{
    (void)state;
    const double xs[4] = {12, 12.5, 13, 13.5};
    json_t *gt = trend_of(xs, 4, 2, 0.05, +0.01);
    const json_t *p = json_object_get(gt, "projection");
    assert_string_equal(str(p, "status"), "not shrinking");
    assert_true(json_is_null(json_object_get(p, "log10_c0")));
    assert_true(json_is_null(json_object_get(p, "log10_c0_ci")));
    assert_close(num(json_object_get(gt, "fit"), "b"), 0.01, 1e-6, "b");
    expect_in(str(gt, "status"), "the gap does not shrink with compute over the measured budgets");
    expect_in(str(gt, "status"), "no crossing projected");
    json_decref(gt);

    /* shrinking through zero inside the measured range: crossed at 1e13.5 */
    gt = trend_of(xs, 4, 2, 0.015, -0.01);
    p = json_object_get(gt, "projection");
    assert_string_equal(str(p, "status"), "crossed");
    assert_false(json_is_true(json_object_get(p, "extrapolated")));
    assert_close(num(p, "log10_c0"), 13.5, 1e-6, "log10 C0");
    json_decref(gt);
}

static void test_trend_too_few(void **state)
{
    (void)state;
    const double xs[2] = {12, 13};
    json_t *gt = trend_of(xs, 2, 2, 0.10, -0.02);
    assert_int_equal(json_array_size(json_object_get(gt, "budgets")), 2);
    assert_true(json_is_null(json_object_get(gt, "fit")));
    assert_string_equal(str(json_object_get(gt, "projection"), "status"), "not fitted");
    expect_in(str(gt, "status"), "not fitted: 2 budgets with both rho = 0 and rho = 1");
    json_decref(gt);

    /* one seed: no SE per budget, so OLS on the budget means */
    const double x4[4] = {12, 13, 14, 15};
    gt = trend_of(x4, 4, 1, 0.10, -0.02);
    const json_t *first = json_array_get(json_object_get(gt, "budgets"), 0);
    assert_string_equal(str(first, "method"), "no SE (one run on a side)");
    assert_true(json_is_null(json_object_get(first, "se")));
    const json_t *fit = json_object_get(gt, "fit");
    assert_string_equal(str(fit, "method"), "ordinary least squares on the budget means");
    expect_in(str(fit, "method_reason"), "budget 1e+12 has no SE");
    assert_close(num(fit, "b"), -0.02, 1e-6, "b");
    /* an exact line: residual SE 0, the zero pinned at 17 */
    assert_close(num(json_object_get(gt, "projection"), "log10_c0"), 17, 1e-6, "log10 C0");
    json_decref(gt);
}

/* A study of the two ends alone (rho 0 and 1, as width-3e13.yaml): too few
 * rho for a curve, but fit_rows still succeeds and measures the gap. */
static void test_ends_only(void **state)
{
    (void)state;
    table t = {.n = 0};
    add_run(&t, 3e13, 0.0, 1, 3.80);
    add_run(&t, 3e13, 0.0, 2, 3.81);
    add_run(&t, 3e13, 1.0, 1, 4.00);
    add_run(&t, 3e13, 1.0, 2, 4.03);
    fit_options opt = {.bootstrap = 0, .seed = 1};
    json_t *doc;
    assert_int_equal(fit_rows(t.rows, t.n, "test", &opt, &doc), 0);
    const json_t *row = json_array_get(json_object_get(json_object_get(doc, "gap_trend"), "budgets"), 0);
    assert_string_equal(str(row, "method"), "paired");
    assert_close(num(row, "mean"), 0.21, 1e-9, "gap"); /* differences 0.20 and 0.22 */
    assert_close(num(row, "se"), 0.01, 1e-9, "SE");
    const json_t *budget = json_array_get(json_object_get(doc, "allocation"), 0);
    const json_t *warnings = json_object_get(budget, "warnings");
    int found = 0;
    for (size_t i = 0; i < json_array_size(warnings); i++)
        found |= strstr(json_string_value(json_array_get(warnings, i)), "a U fit needs at least 3") != NULL;
    assert_true(found);
    json_decref(doc);

    /* one rho only: nothing measured, so still an error */
    t.n = 2;
    assert_int_not_equal(fit_rows(t.rows, t.n, "test", &opt, &doc), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_line),      cmocka_unit_test(test_ols_scatter),
        cmocka_unit_test(test_residual_scaled), cmocka_unit_test(test_unbounded),
        cmocka_unit_test(test_trend_projected), cmocka_unit_test(test_trend_not_shrinking),
        cmocka_unit_test(test_trend_too_few),   cmocka_unit_test(test_ends_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
