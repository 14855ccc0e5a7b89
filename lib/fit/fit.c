/* fit.json: reading results.tsv, grouping runs into studies, the shared
 * helpers, the atomic write and the readable tables. */
#include "fit/fit.h"
#include "fit/internal.h"
#include "fit/nlls.h"

#include "core/error.h"
#include "core/fs.h"

#include <errno.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fit_options_init(fit_options *opt)
{
    opt->bootstrap = FIT_BOOTSTRAP_DEFAULT;
    opt->seed = FIT_SEED_DEFAULT;
}

json_t *fit_json_number(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *fit_json_pair(double lo, double hi)
{
    if (!isfinite(lo) || !isfinite(hi))
        return json_null();
    return json_pack("[f, f]", lo, hi);
}

void fit_warn(json_t *entry, char *reason, size_t reason_size, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(json_object_get(entry, "warnings"), json_string(msg));
    if (reason && reason_size && !reason[0])
        snprintf(reason, reason_size, "%s", msg);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void fit_percentile_interval(double *v, size_t n, int n_obs, int k, double *lo, double *hi)
{
    double tail = 0.025;
    if (n_obs - k > 0) {
        double z = sqrt((double)n_obs / (n_obs - k)) * gsl_cdf_tdist_Pinv(0.975, (double)(n_obs - k));
        tail = gsl_cdf_ugaussian_Q(z);
    }
    qsort(v, n, sizeof *v, cmp_double);
    *lo = gsl_stats_quantile_from_sorted_data(v, 1, n, tail);
    *hi = gsl_stats_quantile_from_sorted_data(v, 1, n, 1 - tail);
}

void fit_json_points(json_t *entry, const char *xkey, const double *x, const double *y, int n)
{
    json_t *xs = json_array(), *means = json_array(), *sds = json_array(), *ns = json_array();
    double *sx = malloc((size_t)n * sizeof *sx), *v = malloc((size_t)n * sizeof *v);
    if (sx && v) {
        memcpy(sx, x, (size_t)n * sizeof *sx);
        qsort(sx, (size_t)n, sizeof *sx, cmp_double);
        for (int i = 0; i < n; i++) {
            if (i > 0 && sx[i] == sx[i - 1])
                continue;
            size_t k = 0;
            for (int j = 0; j < n; j++)
                if (x[j] == sx[i])
                    v[k++] = y[j];
            json_array_append_new(xs, json_real(sx[i]));
            json_array_append_new(means, fit_json_number(gsl_stats_mean(v, 1, k)));
            json_array_append_new(sds, k > 1 ? fit_json_number(gsl_stats_sd(v, 1, k)) : json_null());
            json_array_append_new(ns, json_integer((json_int_t)k));
        }
    }
    free(v);
    free(sx);
    json_object_set_new(entry, xkey, xs);
    json_object_set_new(entry, "mean", means);
    json_object_set_new(entry, "sd", sds);
    json_object_set_new(entry, "n", ns);
}

/* The distinct values of key(rows[idx[..]]) in increasing order. */
static int distinct_budgets(const result_row *rows, const int *idx, int n, double *out)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        double b = rows[idx[i]].budget;
        int seen = 0;
        for (int j = 0; j < k && !seen; j++)
            seen = out[j] == b;
        if (!seen)
            out[k++] = b;
    }
    qsort(out, (size_t)k, sizeof *out, cmp_double);
    return k;
}

int fit_rows(const result_row *rows, int n, const char *source, const fit_options *opt, json_t **out)
{
    *out = NULL;
    fit_options defaults;
    if (!opt) {
        fit_options_init(&defaults);
        opt = &defaults;
    }
    if (opt->bootstrap < 0)
        return es_error(ES_EINVAL, "bootstrap resamples must be >= 0, got %d", opt->bootstrap);
    if (!source)
        source = "results";
    size_t cap = (size_t)n + 1;
    int *alloc_idx = malloc(cap * sizeof(int)), *mem_idx = malloc(cap * sizeof(int)),
        *grid_idx = malloc(cap * sizeof(int));
    double *x = malloc(cap * sizeof(double)), *y = malloc(cap * sizeof(double));
    double *budgets = malloc(cap * sizeof(double));
    const char **labels = malloc(cap * sizeof(char *));
    uint64_t *seeds = malloc(cap * sizeof(uint64_t));
    json_t *doc = json_object();
    int rc = ES_OK;
    if (!alloc_idx || !mem_idx || !grid_idx || !x || !y || !budgets || !labels || !seeds) {
        rc = es_error(ES_ENOMEM, "out of memory fitting %d runs of %s", n, source);
        goto done;
    }
    json_object_set_new(doc, "warnings", json_array());
    int diverged = 0, finished = 0, no_loss = 0, bad_rho = 0, no_slots = 0, other_kind = 0;
    int na = 0, nm = 0, ng = 0;
    for (int i = 0; i < n; i++) {
        const result_row *r = &rows[i];
        if (strcmp(r->status, "diverged") == 0) {
            diverged++;
            continue;
        }
        finished++;
        if (!isfinite(r->val_loss) || r->val_loss <= 0) {
            no_loss++;
        } else if (strcmp(r->kind, "allocation") == 0) {
            if (isfinite(r->rho) && r->rho >= 0 && r->rho <= 1 && isfinite(r->budget))
                alloc_idx[na++] = i;
            else
                bad_rho++;
        } else if (strcmp(r->kind, "memory") == 0) {
            if (r->slots > 0 && strcmp(r->memory, "none") != 0)
                mem_idx[nm++] = i;
            else
                no_slots++;
        } else if (strcmp(r->kind, "grid") == 0) {
            grid_idx[ng++] = i;
        } else {
            other_kind++;
        }
    }
    json_object_set_new(doc, "skipped_diverged", json_integer(diverged));
    if (finished == 0) {
        rc = diverged ? es_error(ES_EDATA, "%s holds no finished runs (%d diverged run%s skipped)", source, diverged,
                                 diverged == 1 ? "" : "s")
                      : es_error(ES_EDATA, "%s holds no finished runs", source);
        goto done;
    }
    if (no_loss)
        fit_warn(doc, NULL, 0, "%d finished run%s without a positive finite val_loss skipped", no_loss,
                 no_loss == 1 ? "" : "s");
    if (bad_rho)
        fit_warn(doc, NULL, 0, "%d allocation run%s with rho missing or outside [0, 1] skipped", bad_rho,
                 bad_rho == 1 ? "" : "s");
    if (no_slots)
        fit_warn(doc, NULL, 0, "%d memory run%s without memory slots skipped (a power law needs M > 0)", no_slots,
                 no_slots == 1 ? "" : "s");
    if (other_kind)
        fit_warn(doc, NULL, 0, "%d run%s of an unknown kind skipped", other_kind, other_kind == 1 ? "" : "s");

    int fitted_any = 0;
    char reason[512] = "";
    json_t *alloc = json_array();
    json_object_set_new(doc, "allocation", alloc);
    int nb = distinct_budgets(rows, alloc_idx, na, budgets);
    for (int b = 0; b < nb; b++) {
        int k = 0;
        for (int i = 0; i < na; i++)
            if (rows[alloc_idx[i]].budget == budgets[b]) {
                x[k] = rows[alloc_idx[i]].rho;
                y[k] = rows[alloc_idx[i]].val_loss;
                seeds[k] = rows[alloc_idx[i]].seed;
                k++;
            }
        int fitted;
        json_array_append_new(alloc, fit_allocation(budgets[b], x, y, seeds, k, opt, &fitted, reason, sizeof reason));
        fitted_any |= fitted;
    }

    json_object_set_new(doc, "rho_star_stability", fit_allocation_stability(alloc));
    if (na) {
        /* the whole study at once: every budget's two ends */
        double *ab = malloc((size_t)na * sizeof *ab);
        if (!ab) {
            rc = es_error(ES_ENOMEM, "out of memory fitting %d runs of %s", n, source);
            goto done;
        }
        for (int i = 0; i < na; i++) {
            ab[i] = rows[alloc_idx[i]].budget;
            x[i] = rows[alloc_idx[i]].rho;
            y[i] = rows[alloc_idx[i]].val_loss;
            seeds[i] = rows[alloc_idx[i]].seed;
        }
        json_t *gap = fit_gap_trend(ab, x, y, seeds, na);
        json_object_set_new(doc, "gap_trend", gap);
        free(ab);
        /* a study of the two ends alone (rho 0 and 1: too few for a curve)
         * still measures the gap between them, a result worth writing */
        if (nlls_distinct(x, (size_t)na) == 2) {
            size_t gi;
            const json_t *ge;
            json_array_foreach(json_object_get(gap, "budgets"), gi, ge) fitted_any |=
                json_is_number(json_object_get(ge, "mean"));
        }
    }

    json_t *mem = json_array();
    json_object_set_new(doc, "memory", mem);
    for (int i = 0; i < nm; i++) {
        const char *type = rows[mem_idx[i]].memory;
        int first = 1;
        for (int j = 0; j < i && first; j++)
            first = strcmp(rows[mem_idx[j]].memory, type) != 0;
        if (!first) /* one group per memory type, in the file's order */
            continue;
        int k = 0;
        for (int j = i; j < nm; j++)
            if (strcmp(rows[mem_idx[j]].memory, type) == 0) {
                x[k] = (double)rows[mem_idx[j]].slots;
                y[k] = rows[mem_idx[j]].val_loss;
                k++;
            }
        int fitted;
        json_array_append_new(mem, fit_memory(type, x, y, k, opt, &fitted, reason, sizeof reason));
        fitted_any |= fitted;
    }

    for (int i = 0; i < ng; i++) {
        labels[i] = rows[grid_idx[i]].label;
        y[i] = rows[grid_idx[i]].val_loss;
        seeds[i] = rows[grid_idx[i]].seed;
    }
    json_object_set_new(doc, "grid", ng ? fit_grid(labels, y, seeds, ng) : json_array());
    fitted_any |= ng > 0;
    if (ng) {
        int *experts = malloc((size_t)ng * sizeof *experts);
        const char **memory = malloc((size_t)ng * sizeof *memory);
        double *p_act = malloc((size_t)ng * sizeof *p_act);
        if (!experts || !memory || !p_act) {
            free(experts);
            free(memory);
            free(p_act);
            rc = es_error(ES_ENOMEM, "out of memory fitting %d runs of %s", n, source);
            goto done;
        }
        for (int i = 0; i < ng; i++) {
            experts[i] = rows[grid_idx[i]].experts;
            memory[i] = rows[grid_idx[i]].memory;
            p_act[i] = rows[grid_idx[i]].p_act;
        }
        json_t *trend = fit_expert_trend(experts, memory, p_act, y, seeds, ng);
        if (trend)
            json_object_set_new(doc, "expert_trend", trend);
        free(experts);
        free(memory);
        free(p_act);
    }

    if (!fitted_any) {
        rc = reason[0] ? es_error(ES_EFIT, "%s: %s", source, reason)
                       : es_error(ES_EFIT, "%s: no allocation, memory or grid runs to fit", source);
        goto done;
    }
    json_object_set_new(doc, "bootstrap_seed", json_integer((json_int_t)opt->seed));
done:
    free(labels);
    free(seeds);
    free(budgets);
    free(y);
    free(x);
    free(grid_idx);
    free(mem_idx);
    free(alloc_idx);
    if (rc) {
        json_decref(doc);
        return rc;
    }
    *out = doc;
    return ES_OK;
}

int fit_run_dir(const char *run_dir, const fit_options *opt, json_t **out)
{
    *out = NULL;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/results.tsv", run_dir) >= (int)sizeof path)
        return es_error(ES_EINVAL, "run folder path too long: %s", run_dir);
    if (!es_exists(path))
        return es_error(ES_EDATA, "%s holds no finished runs (the file does not exist; a sweep writes it)", path);
    result_row *rows;
    int n;
    int rc = results_read(path, &rows, &n);
    if (rc)
        return rc;
    json_t *doc;
    rc = fit_rows(rows, n, path, opt, &doc);
    free(rows);
    if (rc)
        return rc;
    json_object_set_new(doc, "run_dir", json_string(run_dir));
    *out = doc;
    return ES_OK;
}

int fit_write(const char *run_dir, const json_t *fit)
{
    char path[4096], tmp[4200];
    if (snprintf(path, sizeof path, "%s/fit.json", run_dir) >= (int)sizeof path)
        return es_error(ES_EINVAL, "run folder path too long: %s", run_dir);
    /* the pid keeps concurrent writers (study and fit) off each other's
     * temporary file; the rename is atomic within the folder */
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return es_error(ES_EIO, "cannot create %s: %s", tmp, strerror(errno));
    int bad = json_dumpf(fit, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) != 0;
    bad |= fputc('\n', f) == EOF;
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    int e = errno;
    bad |= fclose(f) != 0;
    if (bad) {
        unlink(tmp);
        return es_error(ES_EIO, "cannot write %s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        return es_error(ES_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
    }
    return ES_OK;
}

/* ---- the readable tables ---- */

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A number, or "-" where the document has null. */
static void put_num(FILE *f, const char *fmt, double v, int width)
{
    if (isfinite(v))
        fprintf(f, fmt, width, v);
    else
        fprintf(f, "%*s", width, "-");
}

static void put_interval(FILE *f, const json_t *ci, const char *fmt)
{
    if (json_is_array(ci) && json_array_size(ci) == 2) {
        fputs("[", f);
        fprintf(f, fmt, json_number_value(json_array_get(ci, 0)));
        fputs(", ", f);
        fprintf(f, fmt, json_number_value(json_array_get(ci, 1)));
        fputs("]", f);
    } else {
        fputs("-", f);
    }
}

static void put_warnings(FILE *f, const json_t *o)
{
    size_t i;
    const json_t *w;
    json_array_foreach(json_object_get(o, "warnings"), i, w) fprintf(f, "  warning: %s\n", json_string_value(w));
}

static void put_points(FILE *f, const json_t *e, const char *xkey, const char *xname, const char *xfmt)
{
    const json_t *xs = json_object_get(e, xkey), *means = json_object_get(e, "mean"),
                 *sds = json_object_get(e, "sd"), *ns = json_object_get(e, "n");
    fprintf(f, "    %10s  %3s  %9s  %8s\n", xname, "n", "mean", "sd");
    for (size_t i = 0; i < json_array_size(xs); i++) {
        fputs("    ", f);
        put_num(f, xfmt, json_number_value(json_array_get(xs, i)), 10);
        fprintf(f, "  %3lld  ", (long long)json_integer_value(json_array_get(ns, i)));
        put_num(f, "%*.4f", json_number_value(json_array_get(means, i)), 9);
        fputs("  ", f);
        const json_t *sd = json_array_get(sds, i);
        put_num(f, "%*.4f", json_is_number(sd) ? json_number_value(sd) : NAN, 8);
        fputc('\n', f);
    }
}

static void print_line(FILE *f, const char *side, const json_t *l)
{
    fprintf(f, "    %-5s line: ", side);
    if (!json_is_true(json_object_get(l, "tested"))) {
        fprintf(f, "not tested (%lld distinct rho)\n", (long long)json_integer_value(json_object_get(l, "distinct")));
        return;
    }
    fprintf(f, "slope %+.4f +- %.4f (%s), t %+.2f, p %.3g, %lld runs at %lld rho\n", num(l, "slope"), num(l, "se"),
            json_string_value(json_object_get(l, "se_kind")), num(l, "t"), num(l, "p"),
            (long long)json_integer_value(json_object_get(l, "n")),
            (long long)json_integer_value(json_object_get(l, "distinct")));
}

static void put_rho_list(FILE *f, const json_t *a)
{
    size_t i;
    const json_t *v;
    fputs("{", f);
    json_array_foreach(a, i, v) fprintf(f, "%s%g", i ? ", " : "", json_number_value(v));
    fputs("}", f);
}

static void print_allocation(FILE *f, const json_t *e)
{
    fprintf(f, "\nallocation, budget %g FLOPs: %lld runs\n", num(e, "budget"),
            (long long)json_integer_value(json_object_get(e, "n_runs")));
    /* the verdict first: the two-lines test decides, the curves describe */
    const json_t *u = json_object_get(e, "u_test");
    const char *verdict = json_string_value(json_object_get(u, "verdict"));
    const json_t *shape = json_object_get(u, "shape");
    fprintf(f, "  two-lines test: %s", verdict ? verdict : "-");
    if (json_is_string(shape) && strcmp(json_string_value(shape), "U") != 0)
        fprintf(f, " (the points are %s)", json_string_value(shape));
    if (isfinite(num(u, "breakpoint")))
        fprintf(f, ", breakpoint rho = %.3f (flexible fit: %s)", num(u, "breakpoint"),
                json_string_value(json_object_get(u, "flexible")));
    fputc('\n', f);
    if (json_is_string(json_object_get(u, "reason")))
        fprintf(f, "    %s\n", json_string_value(json_object_get(u, "reason")));
    if (isfinite(num(u, "breakpoint"))) {
        print_line(f, "left", json_object_get(u, "left"));
        print_line(f, "right", json_object_get(u, "right"));
    }
    const json_t *boot = json_object_get(e, "bootstrap");
    if (isfinite(num(e, "rho_star"))) {
        fprintf(f, "  rho*   %.4f +- ", num(e, "rho_star"));
        put_num(f, "%.*f", num(e, "rho_star_se"), 4);
        fputs("   95% interval ", f);
        put_interval(f, json_object_get(e, "rho_star_ci"), "%.4f");
        fprintf(f, " (bootstrap %lld, %lld failed, %lld no U)  %s\n",
                (long long)json_integer_value(json_object_get(boot, "samples")),
                (long long)json_integer_value(json_object_get(boot, "failed")),
                (long long)json_integer_value(json_object_get(boot, "no_minimum")),
                json_is_true(json_object_get(e, "interior")) ? "interior" : "NOT interior");
        fprintf(f, "  L*     %.4f +- ", num(e, "loss_star"));
        put_num(f, "%.*f", num(e, "loss_star_se"), 4);
        fputc('\n', f);
        if (isfinite(num(e, "gain"))) {
            fprintf(f, "  gain   L(1) - L* = %.4f - %.4f = %.4f   95%% interval ", num(e, "loss_at_1"),
                    num(e, "loss_star"), num(e, "gain"));
            put_interval(f, json_object_get(e, "gain_ci"), "%.4f");
            fputc('\n', f);
        }
    } else {
        fputs("  no rho* (no U): ", f);
        if (isfinite(num(e, "best_measured_rho"))) {
            fprintf(f, "best measured rho = %.3f (mean loss %.4f)", num(e, "best_measured_rho"),
                    num(e, "best_measured_loss"));
            const json_t *nw = json_object_get(e, "not_worse");
            if (json_is_array(nw)) {
                fputs("; not significantly worse: rho in ", f);
                put_rho_list(f, nw);
                fprintf(f, " (%s)", json_string_value(json_object_get(e, "not_worse_method")));
            } else {
                fputs("; which rho are not worse is unknown (one run per rho)", f);
            }
        }
        fputc('\n', f);
        if (isfinite(num(e, "measured_gain"))) {
            fputs("  gain   L(1) - L(best measured) = ", f);
            fprintf(f, "%.4f   95%% interval ", num(e, "measured_gain"));
            put_interval(f, json_object_get(e, "measured_gain_ci"), "%.4f");
            fputc('\n', f);
        }
    }
    const json_t *model = json_object_get(e, "model");
    const json_t *best = json_object_get(e, "aic_best");
    if (json_is_string(best)) {
        fprintf(f, "  curves (descriptions, not the verdict), %s:", json_string_value(json_object_get(e, "aic_kind")));
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)json_object_get(e, "aic"), k, v)
        {
            fprintf(f, " %s ", k);
            put_num(f, "%.*f", json_is_number(v) ? json_number_value(v) : NAN, 1);
        }
        fprintf(f, "\n    lowest AICc: %s (%s)", json_string_value(best),
                json_string_value(json_object_get(e, "aic_best_shape")));
        if (json_is_string(model))
            fprintf(f, "; best U model: %s", json_string_value(model));
        fputc('\n', f);
    }
    if (isfinite(num(e, "curvature"))) {
        fprintf(f, "  curv.  %.4g +- ", num(e, "curvature"));
        put_num(f, "%.*g", num(e, "curvature_se"), 3);
        fputs(" (of the U model)\n", f);
    }
    put_points(f, e, "rhos", "rho", "%*.3f");
    put_warnings(f, e);
}

static void print_stability(FILE *f, const json_t *st)
{
    if (!json_array_size(st))
        return;
    fputs("\nrho* across budgets (budgets with a U only; delta method with bootstrap sds, normal 95% interval)\n", f);
    size_t i;
    const json_t *s;
    json_array_foreach(st, i, s)
    {
        fprintf(f, "  rho*(%g) - rho*(%g) = %+.4f +- ", num(s, "budget_b"), num(s, "budget_a"), num(s, "difference"));
        put_num(f, "%.*f", num(s, "se"), 4);
        fputs("   95% interval ", f);
        put_interval(f, json_object_get(s, "ci"), "%+.4f");
        fputc('\n', f);
    }
}

static void print_gap_trend(FILE *f, const json_t *gt)
{
    if (!json_is_object(gt) || !json_array_size(json_object_get(gt, "budgets")))
        return;
    fputs("\npure MoE minus pure memory, L(rho = 1) - L(rho = 0), per budget (95% t interval)\n", f);
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(gt, "budgets"), i, e)
    {
        fprintf(f, "  %-10g  %+.4f +- ", num(e, "budget"), num(e, "mean"));
        put_num(f, "%.*f", num(e, "se"), 4);
        fputs("   95% interval ", f);
        if (isfinite(num(e, "lo")))
            fprintf(f, "[%+.4f, %+.4f]", num(e, "lo"), num(e, "hi"));
        else
            fputs("-", f);
        fprintf(f, "  (%s; %lld and %lld runs)\n", json_string_value(json_object_get(e, "method")),
                (long long)json_integer_value(json_object_get(e, "n_rho0")),
                (long long)json_integer_value(json_object_get(e, "n_rho1")));
    }
    const json_t *fit = json_object_get(gt, "fit");
    if (json_is_object(fit)) {
        fprintf(f, "  trend (%s): gap = %.4f + (%+.4f +- %.4f) log10 C, slope 95%% interval ",
                json_string_value(json_object_get(fit, "method")), num(fit, "a"), num(fit, "b"), num(fit, "se_b"));
        put_interval(f, json_object_get(fit, "b_ci"), "%+.4f");
        fprintf(f, " (df %g)\n", num(fit, "df"));
    }
    const json_t *status = json_object_get(gt, "status");
    if (json_is_string(status))
        fprintf(f, "  %s\n", json_string_value(status));
}

static void print_memory(FILE *f, const json_t *e)
{
    fprintf(f, "\nmemory %s: %lld runs\n", json_string_value(json_object_get(e, "memory")),
            (long long)json_integer_value(json_object_get(e, "n_runs")));
    if (isfinite(num(e, "alpha"))) {
        fprintf(f, "  L = L_inf + A M^-alpha: L_inf %.4f +- ", num(e, "l_inf"));
        put_num(f, "%.*f", num(e, "l_inf_se"), 4);
        fprintf(f, ", A %.4g, alpha %.4f +- ", num(e, "A"), num(e, "alpha"));
        put_num(f, "%.*f", num(e, "alpha_se"), 4);
        fputs("   95% interval ", f);
        put_interval(f, json_object_get(e, "alpha_ci"), "%.4f");
        fputc('\n', f);
    }
    const json_t *ll = json_object_get(e, "loglinear");
    if (json_is_object(ll)) {
        fprintf(f, "  ln L = %.4f + (%.5f +- ", num(ll, "intercept"), num(ll, "slope"));
        put_num(f, "%.*f", num(ll, "slope_se"), 5);
        fputs(") ln M\n", f);
    }
    put_points(f, e, "slots", "slots", "%*.0f");
    put_warnings(f, e);
}

static void print_grid(FILE *f, const json_t *grid)
{
    fputs("\ngrid (sorted by mean val_loss; delta against the reference *, 95% t interval, paired by seed where "
          "the seeds match)\n", f);
    fprintf(f, "    %-40s  %3s  %9s  %8s  %9s  %8s  %21s  %s\n", "label", "n", "mean", "sd", "delta", "se",
            "95% interval", "method");
    size_t i;
    const json_t *g;
    json_array_foreach(grid, i, g)
    {
        fprintf(f, "  %c %-40s  %3lld  ", json_is_true(json_object_get(g, "reference")) ? '*' : ' ',
                json_string_value(json_object_get(g, "label")), (long long)json_integer_value(json_object_get(g, "n")));
        put_num(f, "%*.4f", num(g, "mean"), 9);
        fputs("  ", f);
        put_num(f, "%*.4f", num(g, "sd"), 8);
        fputs("  ", f);
        put_num(f, "%+*.4f", num(g, "delta"), 9);
        fputs("  ", f);
        put_num(f, "%*.4f", num(g, "delta_se"), 8);
        const json_t *ci = json_object_get(g, "delta_ci");
        if (json_is_array(ci))
            fprintf(f, "  [%+8.4f, %+8.4f]", json_real_value(json_array_get(ci, 0)),
                    json_real_value(json_array_get(ci, 1)));
        else
            fprintf(f, "  %21s", "-");
        const json_t *m = json_object_get(g, "delta_method");
        fprintf(f, "  %s\n", json_is_string(m) ? json_string_value(m) : "-");
    }
}

static void print_expert_trend(FILE *f, const json_t *et)
{
    if (!et)
        return;
    fputs("\nloss against the number of routed experts (fixed active parameters, no memory)\n", f);
    if (!json_is_true(json_object_get(et, "fitted"))) {
        fprintf(f, "  no line: %s\n", json_string_value(json_object_get(et, "reason")));
        return;
    }
    fprintf(f, "  %s, %lld runs, %lld seeds, E from %lld to %lld (%lld values)\n",
            json_string_value(json_object_get(et, "form")), (long long)json_integer_value(json_object_get(et, "n")),
            (long long)json_integer_value(json_object_get(et, "seeds")),
            (long long)json_integer_value(json_object_get(et, "experts_min")),
            (long long)json_integer_value(json_object_get(et, "experts_max")),
            (long long)json_integer_value(json_object_get(et, "experts")));
    const json_t *ci = json_object_get(et, "b_ci"), *cr = json_object_get(et, "change_over_range_ci");
    fprintf(f, "  b = %+.4f +- %.4f per doubling of E, 95%% interval [%+.4f, %+.4f], t %+.2f, p %.3g (df %lld): %s\n",
            num(et, "b"), num(et, "se_b"), json_real_value(json_array_get(ci, 0)), json_real_value(json_array_get(ci, 1)),
            num(et, "t"), num(et, "p"), (long long)json_integer_value(json_object_get(et, "df")),
            json_string_value(json_object_get(et, "shape")));
    fprintf(f, "  over the measured range: %+.4f, 95%% interval [%+.4f, %+.4f]\n", num(et, "change_over_range"),
            json_real_value(json_array_get(cr, 0)), json_real_value(json_array_get(cr, 1)));
}

void fit_print(FILE *f, const json_t *fit)
{
    const json_t *rd = json_object_get(fit, "run_dir");
    fprintf(f, "fit of %s", json_is_string(rd) ? json_string_value(rd) : "results");
    long long skipped = (long long)json_integer_value(json_object_get(fit, "skipped_diverged"));
    if (skipped)
        fprintf(f, " (%lld diverged run%s skipped)", skipped, skipped == 1 ? "" : "s");
    fputc('\n', f);
    put_warnings(f, fit);
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(fit, "allocation"), i, e) print_allocation(f, e);
    print_stability(f, json_object_get(fit, "rho_star_stability"));
    print_gap_trend(f, json_object_get(fit, "gap_trend"));
    json_array_foreach(json_object_get(fit, "memory"), i, e) print_memory(f, e);
    if (json_array_size(json_object_get(fit, "grid")))
        print_grid(f, json_object_get(fit, "grid"));
    print_expert_trend(f, json_object_get(fit, "expert_trend"));
}
