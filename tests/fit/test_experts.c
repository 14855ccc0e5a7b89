/* Tests of the loss-against-experts line of grid studies (lib/fit/experts.c,
 * fit.json's expert_trend), through fit_rows on seed-level rows:
 *  - a line with seed offsets and a residual pattern, against the within-
 *    seed least squares computed here by the textbook sums (slope
 *    Sxy/Sxx after removing each seed's means; SE sqrt(RSS/df / Sxx),
 *    df = n - seeds - 1; t(0.975, 11) = 2.2009852 from tables);
 *  - the shapes: "falls with E", "no trend resolved", "rises with E";
 *  - no seeds (one intercept);
 *  - where no line is fitted: a run with memory or with one number of
 *    experts (no expert_trend at all), two numbers of experts and active
 *    parameters more than 10% apart ({fitted: false, reason}). */
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
#include "study/results.h"

static void assert_close(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol * fmax(fabs(want), 1e-12)))
        fail_msg("%s: got %.17g, want %.17g (relative tolerance %g)", what, got, want, tol);
}

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

enum { MAX_ROWS = 64 };

typedef struct {
    result_row rows[MAX_ROWS];
    int n;
} table;

static void add_run(table *t, int experts, const char *memory, double p_act, int seed, double loss)
{
    assert_true(t->n < MAX_ROWS);
    result_row *r = &t->rows[t->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->run, sizeof r->run, "r%d", t->n);
    snprintf(r->kind, sizeof r->kind, "grid");
    snprintf(r->memory, sizeof r->memory, "%s", memory);
    snprintf(r->status, sizeof r->status, "ok");
    snprintf(r->label, sizeof r->label, "E%d", experts);
    r->budget = 1e12;
    r->seed = (uint64_t)seed;
    r->experts = experts;
    r->val_loss = r->best_val_loss = r->train_loss = loss;
    r->p_tot = r->flops_per_token = r->tokens = 1;
    r->p_act = p_act;
    r->steps = 1;
}

static const int expert_counts[5] = {2, 4, 8, 16, 32};
static const double seed_offset[3] = {0.0, 0.1, -0.05};
/* a residual pattern, not a line in log2 E within any seed */
static double wiggle(int e, int s)
{
    static const double w[5][3] = {{0.01, -0.004, 0.006},
                                   {-0.007, 0.009, -0.002},
                                   {0.003, -0.011, 0.005},
                                   {-0.008, 0.002, 0.012},
                                   {0.004, 0.006, -0.009}};
    return w[e][s];
}

/* 5 numbers of experts x 3 seeds: 4 + offset(seed) + slope log2 E + wiggle */
static table line_of(double slope, double wiggle_scale)
{
    table t = {.n = 0};
    for (int s = 0; s < 3; s++)
        for (int e = 0; e < 5; e++)
            add_run(&t, expert_counts[e], "none", 1e5 * (1 + 0.01 * e), s + 1,
                    4.0 + seed_offset[s] + slope * log2(expert_counts[e]) + wiggle_scale * wiggle(e, s));
    return t;
}

static json_t *trend_of(const table *t)
{
    fit_options opt = {.bootstrap = 0, .seed = 1};
    json_t *doc;
    assert_int_equal(fit_rows(t->rows, t->n, "test", &opt, &doc), 0);
    return doc;
}

/* The within-seed least squares by hand: each seed's means removed. */
static void within_seed_line(const table *t, double *b, double *se, int *df)
{
    double mx[4] = {0}, my[4] = {0};
    int k[4] = {0}, seeds = 0;
    for (int i = 0; i < t->n; i++) {
        int s = (int)t->rows[i].seed;
        assert_true(s >= 1 && s <= 3);
        mx[s] += log2(t->rows[i].experts), my[s] += t->rows[i].val_loss, k[s]++;
    }
    for (int s = 1; s <= 3; s++)
        if (k[s])
            mx[s] /= k[s], my[s] /= k[s], seeds++;
    double sxx = 0, sxy = 0, rss = 0;
    for (int i = 0; i < t->n; i++) {
        int s = (int)t->rows[i].seed;
        double dx = log2(t->rows[i].experts) - mx[s];
        sxx += dx * dx;
        sxy += dx * (t->rows[i].val_loss - my[s]);
    }
    *b = sxy / sxx;
    for (int i = 0; i < t->n; i++) {
        int s = (int)t->rows[i].seed;
        double r = t->rows[i].val_loss - my[s] - *b * (log2(t->rows[i].experts) - mx[s]);
        rss += r * r;
    }
    *df = t->n - seeds - 1;
    *se = sqrt(rss / *df / sxx);
}

static void test_falling_line_against_hand_sums(void **state)
{
    (void)state;
    table t = line_of(-0.02, 1.0);
    double b, se;
    int df;
    within_seed_line(&t, &b, &se, &df);
    assert_int_equal(df, 11);
    json_t *doc = trend_of(&t);
    const json_t *et = json_object_get(doc, "expert_trend");
    assert_true(json_is_true(json_object_get(et, "fitted")));
    assert_close(num(et, "b"), b, 1e-9, "slope");
    assert_close(num(et, "se_b"), se, 1e-9, "SE");
    assert_int_equal(json_integer_value(json_object_get(et, "df")), 11);
    assert_int_equal(json_integer_value(json_object_get(et, "seeds")), 3);
    assert_int_equal(json_integer_value(json_object_get(et, "experts")), 5);
    const json_t *ci = json_object_get(et, "b_ci");
    assert_close(json_number_value(json_array_get(ci, 0)), b - 2.2009852 * se, 1e-6, "interval low");
    assert_close(json_number_value(json_array_get(ci, 1)), b + 2.2009852 * se, 1e-6, "interval high");
    /* 2 to 32 experts: 4 doublings */
    assert_close(num(et, "change_over_range"), 4 * b, 1e-9, "change over the range");
    assert_true(num(et, "p") < 0.05);
    assert_string_equal(json_string_value(json_object_get(et, "shape")), "falls with E");
    /* the seed offsets (0.1 apart) do not enter the residuals */
    assert_true(num(et, "residual_sd") < 0.02);
    json_decref(doc);
}

static void test_shapes(void **state)
{
    (void)state;
    table flat = line_of(0.0, 1.0), rising = line_of(0.02, 1.0);
    json_t *doc = trend_of(&flat);
    const json_t *et = json_object_get(doc, "expert_trend");
    assert_string_equal(json_string_value(json_object_get(et, "shape")), "no trend resolved");
    const json_t *ci = json_object_get(et, "b_ci");
    assert_true(json_number_value(json_array_get(ci, 0)) < 0 && json_number_value(json_array_get(ci, 1)) > 0);
    json_decref(doc);
    doc = trend_of(&rising);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "expert_trend"), "shape")),
                        "rises with E");
    json_decref(doc);
}

/* One seed throughout: one intercept, df = n - 2. */
static void test_one_seed(void **state)
{
    (void)state;
    table t = {.n = 0};
    for (int e = 0; e < 5; e++)
        add_run(&t, expert_counts[e], "none", 1e5, 7, 4.0 - 0.03 * log2(expert_counts[e]) + wiggle(e, 0));
    json_t *doc = trend_of(&t);
    const json_t *et = json_object_get(doc, "expert_trend");
    assert_int_equal(json_integer_value(json_object_get(et, "df")), 3);
    assert_int_equal(json_integer_value(json_object_get(et, "seeds")), 1);
    /* ordinary least squares of y on x = 1..5 */
    double sxx = 0, sxy = 0, my = 0;
    for (int e = 0; e < 5; e++)
        my += t.rows[e].val_loss / 5;
    for (int e = 0; e < 5; e++) {
        sxx += (e + 1 - 3.0) * (e + 1 - 3.0);
        sxy += (e + 1 - 3.0) * (t.rows[e].val_loss - my);
    }
    assert_close(num(et, "b"), sxy / sxx, 1e-9, "slope");
    json_decref(doc);
}

static void test_not_an_expert_grid(void **state)
{
    (void)state;
    /* a control grid: one variant has memory */
    table t = line_of(-0.02, 1.0);
    snprintf(t.rows[0].memory, sizeof t.rows[0].memory, "engram");
    json_t *doc = trend_of(&t);
    assert_null(json_object_get(doc, "expert_trend"));
    json_decref(doc);
    /* one number of experts throughout (e.g. an optimiser ablation) */
    table one = {.n = 0};
    for (int s = 1; s <= 3; s++)
        for (int k = 0; k < 2; k++)
            add_run(&one, 8, "none", 1e5, s, 4.0 + 0.01 * k + 0.001 * s);
    doc = trend_of(&one);
    assert_null(json_object_get(doc, "expert_trend"));
    json_decref(doc);
}

static void test_no_line(void **state)
{
    (void)state;
    /* two numbers of experts: the grid's difference is the comparison */
    table two = {.n = 0};
    for (int s = 1; s <= 3; s++) {
        add_run(&two, 2, "none", 1e5, s, 4.0 + 0.01 * s);
        add_run(&two, 43, "none", 1.05e5, s, 3.9 + 0.02 * s);
    }
    json_t *doc = trend_of(&two);
    const json_t *et = json_object_get(doc, "expert_trend");
    assert_true(json_is_false(json_object_get(et, "fitted")));
    assert_non_null(strstr(json_string_value(json_object_get(et, "reason")), "2 distinct numbers of experts"));
    json_decref(doc);
    /* a granularity grid (2 numbers of experts, the routers 14% apart):
     * the number of experts is what it reports, not the parameters */
    two.rows[1].p_act = two.rows[3].p_act = two.rows[5].p_act = 1.14e5;
    doc = trend_of(&two);
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(doc, "expert_trend"), "reason")),
                           "2 distinct numbers of experts"));
    json_decref(doc);
    /* active parameters not fixed: 20% apart */
    table t = line_of(-0.02, 1.0);
    t.rows[4].p_act = 1.2e5;
    doc = trend_of(&t);
    et = json_object_get(doc, "expert_trend");
    assert_true(json_is_false(json_object_get(et, "fitted")));
    assert_non_null(strstr(json_string_value(json_object_get(et, "reason")), "active parameters"));
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_falling_line_against_hand_sums),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_one_seed),
        cmocka_unit_test(test_not_an_expert_grid),
        cmocka_unit_test(test_no_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
