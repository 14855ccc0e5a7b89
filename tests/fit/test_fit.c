/* Tests of lib/fit: coverage of the rho* interval on synthetic U-shaped
 * sweeps, AIC's choice of an asymmetric truth, every degenerate input, the
 * memory power law, the grid table and the fit.json round trip. Synthetic
 * results.tsv files are written with results_append into mkdtemp folders;
 * the 200-trial coverage study fits rows in memory (fit_rows), which is the
 * same code without 5400 fsynced appends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "fit/fit.h"
#include "study/results.h"

/* 9 rho values in [0, 1], dense above 0.5 where the paper's optimum is */
static const double RHOS[9] = {0.0, 0.25, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0};
enum { N_RHO = 9, SEEDS = 3, MAX_ROWS = 256 };

/* ---- synthetic data ---- */

typedef struct {
    result_row rows[MAX_ROWS];
    int n;
} table;

static result_row *add_row(table *t, const char *kind, double budget, double rho, const char *memory, long slots,
                           int seed, double loss)
{
    assert_true(t->n < MAX_ROWS);
    result_row *r = &t->rows[t->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->run, sizeof r->run, "%s-%d", kind, t->n);
    snprintf(r->kind, sizeof r->kind, "%s", kind);
    snprintf(r->memory, sizeof r->memory, "%s", memory);
    snprintf(r->status, sizeof r->status, "ok");
    r->budget = budget;
    r->rho = rho;
    r->slots = slots;
    r->seed = (uint64_t)seed;
    r->val_loss = r->best_val_loss = r->train_loss = loss;
    r->p_tot = r->p_act = r->flops_per_token = r->tokens = 1;
    r->steps = 1;
    return r;
}

typedef enum { TRUTH_QUADRATIC, TRUTH_ASYMMETRIC, TRUTH_CONCAVE, TRUTH_FLAT } truth;

/* L = 4 + a (rho - r)^2 (+ asymmetric: a_l 0.05 left, a_r 2.0 right). The
 * quadratic's a = 1 makes a U the two-lines test resolves at noise 0.01
 * (the right arm from 0.72 to 1 rises 0.08 nats); rho* and its interval
 * are reported only for a U. */
static double truth_loss(truth k, double rho, double rstar)
{
    double d = rho - rstar;
    switch (k) {
    case TRUTH_QUADRATIC:
        return 4.0 + 1.0 * d * d;
    case TRUTH_ASYMMETRIC:
        return 4.0 + (d < 0 ? 0.05 : 2.0) * d * d;
    case TRUTH_CONCAVE:
        return 4.0 - 0.3 * d * d;
    default:
        return 4.0;
    }
}

static void add_allocation(table *t, gsl_rng *rng, truth k, double budget, double rstar, double noise,
                           const double *rhos, int n_rho)
{
    for (int i = 0; i < n_rho; i++)
        for (int s = 0; s < SEEDS; s++)
            add_row(t, "allocation", budget, rhos[i], "engram", 1000, s,
                    truth_loss(k, rhos[i], rstar) + (noise > 0 ? gsl_ran_gaussian(rng, noise) : 0.0));
}

/* A fresh run folder with t's rows appended to its results.tsv. */
typedef struct {
    char dir[64];
} run_dir;

static void write_dir(run_dir *d, const table *t)
{
    snprintf(d->dir, sizeof d->dir, "/tmp/test_fit.XXXXXX");
    assert_non_null(mkdtemp(d->dir));
    char path[128];
    snprintf(path, sizeof path, "%s/results.tsv", d->dir);
    for (int i = 0; i < t->n; i++)
        assert_int_equal(results_append(path, &t->rows[i]), ES_OK);
}

static void remove_dir(run_dir *d)
{
    char path[128];
    const char *names[] = {"results.tsv", "fit.json"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", d->dir, names[i]);
        unlink(path);
    }
    rmdir(d->dir);
}

static fit_options test_options(int bootstrap)
{
    fit_options o;
    fit_options_init(&o);
    o.bootstrap = bootstrap;
    return o;
}

static double get_num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static int has_warning(const json_t *entry, const char *needle)
{
    size_t i;
    const json_t *w;
    json_array_foreach(json_object_get(entry, "warnings"), i, w) if (strstr(json_string_value(w), needle)) return 1;
    return 0;
}

static void assert_message_has(const char *needle)
{
    if (!strstr(es_error_message(), needle))
        fail_msg("message '%s' lacks '%s'", es_error_message(), needle);
}

/* Every number finite (jansson refuses NaN, but a helper could still put
 * a huge or a wrong value; this walks the whole document). */
static void assert_clean_json(const json_t *v)
{
    size_t i;
    const char *key;
    const json_t *x;
    if (json_is_real(v))
        assert_true(isfinite(json_real_value(v)));
    else if (json_is_array(v))
        json_array_foreach(v, i, x) assert_clean_json(x);
    else if (json_is_object(v))
        json_object_foreach((json_t *)v, key, x) assert_clean_json(x);
}

/* ---- the statistics ---- */

static void test_coverage(void **state)
{
    (void)state;
    const int trials = 200;
    fit_options opt = test_options(200);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int covered = 0, wald_covered = 0, interior = 0, u_found = 0, models[3] = {0};
    double width = 0;
    static table t;
    for (int k = 0; k < trials; k++) {
        gsl_rng_set(rng, 1000 + (unsigned long)k);
        t.n = 0;
        add_allocation(&t, rng, TRUTH_QUADRATIC, 1e15, 0.72, 0.01, RHOS, N_RHO);
        json_t *doc;
        assert_int_equal(fit_rows(t.rows, t.n, "synthetic", &opt, &doc), ES_OK);
        const json_t *b = json_array_get(json_object_get(doc, "allocation"), 0);
        const json_t *u = json_object_get(b, "u_test");
        if (strcmp(json_string_value(json_object_get(u, "verdict")), "U") != 0) {
            /* no U found: no rho*, which counts as not covered */
            assert_true(json_is_null(json_object_get(b, "rho_star")));
            assert_true(json_is_false(json_object_get(b, "interior")));
            json_decref(doc);
            continue;
        }
        u_found++;
        const json_t *ci = json_object_get(b, "rho_star_ci");
        assert_true(json_is_array(ci));
        double lo = json_number_value(json_array_get(ci, 0)), hi = json_number_value(json_array_get(ci, 1));
        covered += lo <= 0.72 && 0.72 <= hi;
        width += (hi - lo) / trials;
        const json_t *wald = json_object_get(b, "rho_star_wald_ci");
        wald_covered += json_number_value(json_array_get(wald, 0)) <= 0.72 && 0.72 <= json_number_value(json_array_get(wald, 1));
        interior += json_is_true(json_object_get(b, "interior"));
        const char *model = json_string_value(json_object_get(b, "model"));
        models[strcmp(model, "quadratic") == 0 ? 0 : strcmp(model, "asymmetric") == 0 ? 1 : 2]++;
        double gain = get_num(b, "gain");
        assert_true(gain > 0);
        assert_clean_json(doc);
        json_decref(doc);
    }
    gsl_rng_free(rng);
    printf("coverage of rho* = 0.72 by the 95%% bootstrap interval (%d resamples): %d/%d = %.1f%% (mean width %.3f; "
           "the t interval of the chosen model: %.1f%%); interior %d/%d; AICc chose quadratic %d, asymmetric %d, "
           "cubic %d; the two-lines test found the U in %d/%d\n",
           opt.bootstrap, covered, trials, 100.0 * covered / trials, width / (u_found ? u_found : 1) * trials,
           100.0 * wald_covered / trials, interior, trials, models[0], models[1], models[2], u_found, trials);
    assert_true(u_found >= (int)(0.9 * trials));
    assert_true(covered >= (int)(0.9 * trials));
}

static void test_asymmetric_chosen(void **state)
{
    (void)state;
    const int trials = 40;
    fit_options opt = test_options(0);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int asym = 0;
    static table t;
    for (int k = 0; k < trials; k++) {
        gsl_rng_set(rng, 5000 + (unsigned long)k);
        t.n = 0;
        add_allocation(&t, rng, TRUTH_ASYMMETRIC, 1e15, 0.6, 0.01, RHOS, N_RHO);
        json_t *doc;
        assert_int_equal(fit_rows(t.rows, t.n, "synthetic", &opt, &doc), ES_OK);
        const json_t *b = json_array_get(json_object_get(doc, "allocation"), 0);
        asym += strcmp(json_string_value(json_object_get(b, "model")), "asymmetric") == 0;
        json_decref(doc);
    }
    gsl_rng_free(rng);
    printf("AICc picked the asymmetric truth in %d/%d trials\n", asym, trials);
    assert_true(2 * asym > trials);
}

static void test_memory_power_law(void **state)
{
    (void)state;
    /* L = 3 + A M^-alpha over 2.58e5 .. 1e7 slots (the paper's range) */
    const double alpha[2] = {0.3, 0.2}, A[2] = {12.6, 3.0};
    const char *types[2] = {"engram", "overencoding"};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    static table t;
    t.n = 0;
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < 6; i++) {
            long slots = (long)(2.58e5 * pow(1e7 / 2.58e5, i / 5.0));
            for (int s = 0; s < SEEDS; s++)
                add_row(&t, "memory", 1e15, NAN, types[m], slots, s,
                        3.0 + A[m] * pow((double)slots, -alpha[m]) + gsl_ran_gaussian(rng, 0.002));
        }
    add_row(&t, "memory", 1e15, NAN, "none", 0, 0, 3.5); /* the backbone: skipped, said */
    gsl_rng_free(rng);
    run_dir d;
    write_dir(&d, &t);
    fit_options opt = test_options(200);
    json_t *doc;
    assert_int_equal(fit_run_dir(d.dir, &opt, &doc), ES_OK);
    const json_t *mem = json_object_get(doc, "memory");
    assert_int_equal(json_array_size(mem), 2);
    assert_true(has_warning(doc, "without memory slots skipped"));
    for (int m = 0; m < 2; m++) {
        const json_t *e = json_array_get(mem, (size_t)m);
        assert_string_equal(json_string_value(json_object_get(e, "memory")), types[m]);
        const json_t *ci = json_object_get(e, "alpha_ci");
        assert_true(json_is_array(ci));
        double lo = json_number_value(json_array_get(ci, 0)), hi = json_number_value(json_array_get(ci, 1));
        printf("memory %s: alpha %.3f +- %.3f, 95%% interval [%.3f, %.3f], truth %.2f\n", types[m],
               get_num(e, "alpha"), get_num(e, "alpha_se"), lo, hi, alpha[m]);
        assert_true(lo <= alpha[m] && alpha[m] <= hi);
        assert_true(fabs(get_num(e, "l_inf") - 3.0) < 0.1);
        assert_true(get_num(json_object_get(e, "loglinear"), "slope") < 0);
        assert_int_equal(json_array_size(json_object_get(e, "curve")), FIT_MEMORY_CURVE_POINTS);
        assert_int_equal(json_array_size(json_object_get(e, "slots")), 6);
    }
    assert_clean_json(doc);
    json_decref(doc);
    remove_dir(&d);
}

static void test_grid(void **state)
{
    (void)state;
    static table t;
    t.n = 0;
    /* three labels on seeds 0..2, one on other seeds (so not paired) */
    const char *labels[4] = {"baseline", "model.engram.gate=off", "model.engram.conv=off", "model.engram.orders=[2]"};
    const double loss[4][3] = {{3.99, 4.00, 4.02}, {4.10, 4.10, 4.13}, {3.95, 3.94, 3.98}, {4.01, 4.05, 4.03}};
    for (int l = 0; l < 4; l++)
        for (int s = 0; s < 3; s++) {
            int seed = l == 3 ? 10 + s : s;
            result_row *r = add_row(&t, "grid", 1e15, NAN, "engram", 1000, seed, loss[l][s]);
            snprintf(r->label, sizeof r->label, "%s", labels[l]);
        }
    json_t *doc;
    assert_int_equal(fit_rows(t.rows, t.n, "synthetic", NULL, &doc), ES_OK);
    const json_t *g = json_object_get(doc, "grid");
    assert_int_equal(json_array_size(g), 4);
    /* sorted by mean: conv=off, baseline, orders=[2], gate=off */
    const json_t *conv = json_array_get(g, 0), *base = json_array_get(g, 1), *orders = json_array_get(g, 2),
                 *gate = json_array_get(g, 3);
    assert_string_equal(json_string_value(json_object_get(conv, "label")), labels[2]);
    assert_string_equal(json_string_value(json_object_get(base, "label")), "baseline");
    assert_string_equal(json_string_value(json_object_get(orders, "label")), labels[3]);
    assert_true(json_is_true(json_object_get(base, "reference")));
    assert_true(json_is_null(json_object_get(base, "delta_ci")));
    assert_string_equal(json_string_value(json_object_get(base, "delta_method")), "reference");

    /* gate=off: per-seed differences 0.11, 0.10, 0.11: mean 0.10667, sd
     * 0.005774, SE sd/sqrt(3), 2 degrees of freedom, t(0.975, 2) = 4.3027 */
    double d[3] = {0.11, 0.10, 0.11}, dm = (d[0] + d[1] + d[2]) / 3, ss = 0;
    for (int s = 0; s < 3; s++)
        ss += (d[s] - dm) * (d[s] - dm);
    double se = sqrt(ss / 2) / sqrt(3.0);
    assert_string_equal(json_string_value(json_object_get(gate, "delta_method")), "paired");
    assert_true(fabs(get_num(gate, "delta") - dm) < 1e-9);
    assert_true(fabs(get_num(gate, "delta_se") - se) < 1e-9);
    assert_true(fabs(get_num(gate, "delta_df") - 2) < 1e-12);
    const json_t *ci = json_object_get(gate, "delta_ci");
    assert_true(fabs(json_real_value(json_array_get(ci, 0)) - (dm - 4.302652730 * se)) < 1e-6);
    assert_true(fabs(json_real_value(json_array_get(ci, 1)) - (dm + 4.302652730 * se)) < 1e-6);
    /* pairing removes the shared per-seed shift: the paired SE is below Welch's */
    double sd_b = get_num(base, "sd"), sd_g = get_num(gate, "sd");
    assert_true(se < sqrt(sd_b * sd_b / 3 + sd_g * sd_g / 3));

    /* orders=[2] ran other seeds: Welch, with Welch-Satterthwaite df */
    double sd_o = get_num(orders, "sd");
    double vb = sd_b * sd_b / 3, vo = sd_o * sd_o / 3;
    assert_string_equal(json_string_value(json_object_get(orders, "delta_method")), "welch");
    assert_true(fabs(get_num(orders, "delta") - (4.03 - 4.00333333333)) < 1e-9);
    assert_true(fabs(get_num(orders, "delta_se") - sqrt(vb + vo)) < 1e-9);
    assert_true(fabs(get_num(orders, "delta_df") - (vb + vo) * (vb + vo) / (vb * vb / 2 + vo * vo / 2)) < 1e-9);
    assert_true(json_is_array(json_object_get(orders, "delta_ci")));
    assert_int_equal(json_array_size(json_object_get(doc, "allocation")), 0);
    json_decref(doc);
}

/* ---- degenerate inputs ---- */

static void test_two_rho_values(void **state)
{
    (void)state;
    static table t;
    t.n = 0;
    const double two[2] = {0.5, 1.0};
    add_allocation(&t, NULL, TRUTH_QUADRATIC, 1e15, 0.72, 0, two, 2);
    run_dir d;
    write_dir(&d, &t);
    fit_options opt = test_options(50);
    json_t *doc;
    /* nothing fittable: an error for the whole command */
    assert_int_equal(fit_run_dir(d.dir, &opt, &doc), ES_EFIT);
    assert_null(doc);
    assert_message_has("budget 1e+15: 2 distinct rho values, a U fit needs at least 3");
    assert_message_has("results.tsv");
    remove_dir(&d);

    /* next to a good budget: a warning for its budget only */
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    add_allocation(&t, rng, TRUTH_QUADRATIC, 3e15, 0.72, 0.01, RHOS, N_RHO);
    gsl_rng_free(rng);
    assert_int_equal(fit_rows(t.rows, t.n, "synthetic", &opt, &doc), ES_OK);
    const json_t *a = json_object_get(doc, "allocation");
    assert_int_equal(json_array_size(a), 2);
    const json_t *bad = json_array_get(a, 0), *good = json_array_get(a, 1);
    assert_true(get_num(bad, "budget") == 1e15); /* increasing budgets */
    assert_true(has_warning(bad, "2 distinct rho values, a U fit needs at least 3"));
    assert_true(json_is_null(json_object_get(bad, "rho_star")));
    assert_true(json_is_false(json_object_get(bad, "interior")));
    assert_true(json_is_number(json_object_get(good, "rho_star")));
    assert_clean_json(doc);
    json_decref(doc);
}

/* Three rho values, one seed: only the quadratic (3 parameters) is
 * identified; the 4-parameter models must be skipped, not abort in GSL's
 * workspace allocation (n < p), as a 3-run study once did. */
static void test_three_rho_values(void **state)
{
    (void)state;
    static table t;
    t.n = 0;
    const double three[3] = {0.0, 0.5, 1.0};
    for (int i = 0; i < 3; i++) /* one seed each: n = 3 */
        add_row(&t, "allocation", 1e15, three[i], "engram", 1000, 1, truth_loss(TRUTH_QUADRATIC, three[i], 0.6));
    run_dir d;
    write_dir(&d, &t);
    fit_options opt = test_options(20);
    json_t *doc;
    assert_int_equal(fit_run_dir(d.dir, &opt, &doc), ES_OK);
    const json_t *a = json_array_get(json_object_get(doc, "allocation"), 0);
    assert_non_null(a);
    assert_string_equal(json_string_value(json_object_get(a, "model")), "quadratic");
    json_decref(doc);
    remove_dir(&d);
}

static void test_all_equal(void **state)
{
    (void)state;
    static table t;
    t.n = 0;
    add_allocation(&t, NULL, TRUTH_FLAT, 1e15, 0.72, 0, RHOS, N_RHO);
    json_t *doc;
    assert_int_equal(fit_rows(t.rows, t.n, "synthetic", NULL, &doc), ES_EFIT);
    assert_message_has("all 27 losses are equal");
    assert_message_has("no curvature");
}

static void test_edge(void **state)
{
    (void)state;
    static table t;
    t.n = 0;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 3);
    add_allocation(&t, rng, TRUTH_QUADRATIC, 1e15, 1.3, 0.01, RHOS, N_RHO); /* pure MoE is best */
    add_allocation(&t, rng, TRUTH_QUADRATIC, 3e15, 0.97, 0.01, RHOS, N_RHO); /* interval reaches past 1 */
    gsl_rng_free(rng);
    fit_options opt = test_options(200);
    json_t *doc;
    assert_int_equal(fit_rows(t.rows, t.n, "synthetic", &opt, &doc), ES_OK);
    for (int b = 0; b < 2; b++) {
        const json_t *e = json_array_get(json_object_get(doc, "allocation"), (size_t)b);
        assert_true(json_is_false(json_object_get(e, "interior")));
        assert_true(json_is_null(json_object_get(e, "rho_star")));
        const char *v = json_string_value(json_object_get(json_object_get(e, "u_test"), "verdict"));
        assert_string_equal(v, "no U");
        assert_true(has_warning(e, "no U by the two-lines test"));
    }
    assert_clean_json(doc);
    json_decref(doc);
}

static void test_concave(void **state)
{
    (void)state;
    static table t;
    t.n = 0;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 4);
    add_allocation(&t, rng, TRUTH_CONCAVE, 1e15, 0.5, 0.002, RHOS, N_RHO);
    gsl_rng_free(rng);
    fit_options opt = test_options(50);
    json_t *doc;
    assert_int_equal(fit_rows(t.rows, t.n, "synthetic", &opt, &doc), ES_OK);
    const json_t *e = json_array_get(json_object_get(doc, "allocation"), 0);
    assert_true(has_warning(e, "curve has no minimum: its curvature is negative"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "u_test"), "verdict")), "no U");
    assert_true(json_is_null(json_object_get(e, "rho_star")));
    assert_true(json_is_null(json_object_get(e, "gain")));
    assert_true(json_is_false(json_object_get(e, "interior")));
    assert_true(get_num(e, "curvature") < 0);
    assert_clean_json(doc);
    json_decref(doc);
}

static void test_garbage(void **state)
{
    (void)state;
    static table t;
    t.n = 0;
    add_allocation(&t, NULL, TRUTH_QUADRATIC, 1e15, 0.72, 0, RHOS, 2);
    run_dir d;
    write_dir(&d, &t);
    char path[128];
    snprintf(path, sizeof path, "%s/results.tsv", d.dir);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("run-x\tallocation\t1e15\tzero point seven\tengram\t1000\t0\t0\t1\t1\t1\t1\t1\t4.0\t4.0\t4.0\t1\tok\t-\n", f);
    fclose(f);
    json_t *doc;
    assert_int_equal(fit_run_dir(d.dir, NULL, &doc), ES_EDATA);
    assert_message_has("results.tsv:8");
    assert_message_has("column rho");
    remove_dir(&d);
}

static void test_no_finished_runs(void **state)
{
    (void)state;
    json_t *doc;
    run_dir d;
    static table t;
    t.n = 0;
    write_dir(&d, &t); /* no file at all */
    assert_int_equal(fit_run_dir(d.dir, NULL, &doc), ES_EDATA);
    assert_message_has("results.tsv holds no finished runs");

    char path[128];
    snprintf(path, sizeof path, "%s/results.tsv", d.dir);
    FILE *f = fopen(path, "w"); /* an empty file */
    assert_non_null(f);
    fclose(f);
    assert_int_equal(fit_run_dir(d.dir, NULL, &doc), ES_EDATA);
    assert_message_has("results.tsv holds no finished runs");
    remove_dir(&d);

    for (int i = 0; i < 3; i++)
        snprintf(add_row(&t, "allocation", 1e15, RHOS[i], "engram", 1000, 0, NAN)->status, 16, "diverged");
    write_dir(&d, &t);
    assert_int_equal(fit_run_dir(d.dir, NULL, &doc), ES_EDATA);
    assert_message_has("results.tsv holds no finished runs (3 diverged runs skipped)");
    remove_dir(&d);
}

/* ---- fit.json ---- */

static void test_round_trip(void **state)
{
    (void)state;
    static table t;
    t.n = 0;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    add_allocation(&t, rng, TRUTH_QUADRATIC, 6e15, 0.75, 0.01, RHOS, N_RHO);
    add_allocation(&t, rng, TRUTH_QUADRATIC, 2e15, 0.72, 0.01, RHOS, N_RHO);
    gsl_rng_free(rng);
    snprintf(add_row(&t, "allocation", 2e15, 0.1, "engram", 1000, 9, NAN)->status, 16, "diverged");
    snprintf(add_row(&t, "allocation", 2e15, 0.2, "engram", 1000, 9, NAN)->status, 16, "diverged");
    run_dir d;
    write_dir(&d, &t);
    fit_options opt = test_options(100);
    json_t *doc;
    assert_int_equal(fit_run_dir(d.dir, &opt, &doc), ES_OK);
    assert_int_equal(fit_write(d.dir, doc), ES_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/fit.json", d.dir);
    json_error_t err;
    json_t *back = json_load_file(path, 0, &err);
    if (!back)
        fail_msg("%s: %s", path, err.text);
    /* the same document, to the 10 digits fit.json keeps */
    char *written = json_dumps(doc, JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
    char *read = json_dumps(back, JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
    assert_string_equal(written, read);
    free(read);
    free(written);
    assert_string_equal(json_string_value(json_object_get(back, "run_dir")), d.dir);
    assert_int_equal(json_integer_value(json_object_get(back, "skipped_diverged")), 2);
    assert_true(json_is_array(json_object_get(back, "memory")) && json_array_size(json_object_get(back, "memory")) == 0);
    assert_true(json_is_array(json_object_get(back, "grid")) && json_array_size(json_object_get(back, "grid")) == 0);
    const json_t *a = json_object_get(back, "allocation");
    assert_int_equal(json_array_size(a), 2);
    assert_true(get_num(json_array_get(a, 0), "budget") == 2e15);
    assert_true(get_num(json_array_get(a, 1), "budget") == 6e15);
    static const char *const keys[] = {"budget", "n_runs", "rhos", "mean", "sd", "n", "model", "aic", "params",
                                       "rho_star", "rho_star_se", "rho_star_ci", "loss_star", "loss_star_se",
                                       "curvature", "curvature_se", "loss_at_1", "gain", "gain_ci", "interior",
                                       "bootstrap", "curve", "warnings"};
    const json_t *e = json_array_get(a, 0);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!json_object_get(e, keys[i]))
            fail_msg("fit.json lacks allocation[0].%s", keys[i]);
    assert_int_equal(json_integer_value(json_object_get(e, "n_runs")), 27);
    assert_int_equal(json_array_size(json_object_get(e, "rhos")), N_RHO);
    assert_int_equal(json_array_size(json_object_get(e, "curve")), FIT_CURVE_POINTS);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "bootstrap"), "samples")), 100);
    const json_t *aic = json_object_get(e, "aic");
    assert_true(json_is_number(json_object_get(aic, "quadratic")));
    assert_true(json_object_get(aic, "asymmetric") && json_object_get(aic, "cubic"));
    double r = get_num(e, "rho_star");
    assert_true(fabs(r - 0.72) < 0.1);
    assert_true(get_num(e, "rho_star_se") > 0);
    assert_true(json_is_true(json_object_get(e, "interior")));
    /* the curve passes through the fitted minimum's neighbourhood */
    const json_t *pt = json_array_get(json_object_get(e, "curve"), 72);
    assert_true(fabs(json_number_value(json_array_get(pt, 1)) - get_num(e, "loss_star")) < 0.01);
    /* the same options give the same bootstrap */
    json_t *again;
    assert_int_equal(fit_run_dir(d.dir, &opt, &again), ES_OK);
    assert_true(json_equal(doc, again));
    /* the table prints without trouble */
    FILE *devnull = fopen("/dev/null", "w");
    fit_print(devnull, back);
    fclose(devnull);
    json_decref(again);
    json_decref(back);
    json_decref(doc);
    remove_dir(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coverage),       cmocka_unit_test(test_asymmetric_chosen),
        cmocka_unit_test(test_memory_power_law), cmocka_unit_test(test_grid),
        cmocka_unit_test(test_two_rho_values), cmocka_unit_test(test_three_rho_values),
        cmocka_unit_test(test_all_equal),
        cmocka_unit_test(test_edge),           cmocka_unit_test(test_concave),
        cmocka_unit_test(test_garbage),        cmocka_unit_test(test_no_finished_runs),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
