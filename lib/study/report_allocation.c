/* report.md's allocation section: per budget the measured table, the
 * two-lines test's verdict and the reading that follows from it, the
 * descriptive fits; then rho* across budgets. */
#include "study/report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "{0, 0.25, 0.5}" from a JSON array of rho values. */
static const char *fmt_rho_set(const json_t *a)
{
    char *b = fmt_buf();
    int n = snprintf(b, FMT_SIZE, "{");
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v) if (n < FMT_SIZE) n += snprintf(b + n, FMT_SIZE - (size_t)n, "%s%g", i ? ", " : "",
                                                                 json_number_value(v));
    if (n < FMT_SIZE)
        snprintf(b + n, FMT_SIZE - (size_t)n, "}");
    return b;
}

static const char *verdict_of(const json_t *e)
{
    const char *v = json_string_value(json_object_get(json_object_get(e, "u_test"), "verdict"));
    return v ? v : "-";
}

static int is_u(const json_t *e) { return strcmp(verdict_of(e), "U") == 0; }

/* "slope -0.350 ± 0.036 (HC3), t = -9.62, p = 1.5e-07, 10 runs at 5 rho",
 * or why the line is not tested. */
static void put_line(FILE *f, const char *name, const json_t *l)
{
    fprintf(f, "- %s: ", name);
    if (!json_is_true(json_object_get(l, "tested"))) {
        fprintf(f, "not tested (%lld distinct rho value%s on this side; a line needs 3)\n",
                (long long)json_integer_value(json_object_get(l, "distinct")),
                json_integer_value(json_object_get(l, "distinct")) == 1 ? "" : "s");
        return;
    }
    fprintf(f, "slope %s ± %s (%s), t = %s, p = %s, %lld runs at %lld rho values\n", fmt("%+.4f", jnum(l, "slope")),
            fmt("%.4f", jnum(l, "se")), json_string_value(json_object_get(l, "se_kind")), fmt("%+.2f", jnum(l, "t")),
            fmt("%.2g", jnum(l, "p")), (long long)json_integer_value(json_object_get(l, "n")),
            (long long)json_integer_value(json_object_get(l, "distinct")));
}

/* "left slope -0.35 (p 1.5e-07)" for the reading; "untested" if not. */
static const char *fmt_slope(const json_t *l)
{
    char *b = fmt_buf();
    if (json_is_true(json_object_get(l, "tested")))
        snprintf(b, FMT_SIZE, "%+.3f nats per unit rho, p = %.2g", jnum(l, "slope"), jnum(l, "p"));
    else
        snprintf(b, FMT_SIZE, "not tested, %lld rho values", (long long)json_integer_value(json_object_get(l, "distinct")));
    return b;
}

static void put_u_test(FILE *f, const json_t *e)
{
    const json_t *u = json_object_get(e, "u_test");
    const json_t *shape = json_object_get(u, "shape");
    fprintf(f, "Two-lines test of a U (Simonsohn 2018) on the %lld seed-level runs: **%s**",
            (long long)json_integer_value(json_object_get(e, "n_runs")), verdict_of(e));
    if (json_is_string(shape) && strcmp(json_string_value(shape), "U") != 0)
        fprintf(f, " (the points are %s)", json_string_value(shape));
    fputs("\n\n", f);
    if (isfinite(jnum(u, "breakpoint"))) {
        fprintf(f, "- Breakpoint rho = %s (Robin Hood: the flat region %s of the flexible fit, %s, split by the "
                   "lines' t ratio)\n",
                fmt_rho(jnum(u, "breakpoint")), fmt_interval(json_object_get(u, "flat_region"), "%.3f"),
                json_string_value(json_object_get(u, "flexible")));
        put_line(f, "Left line (rho ≤ breakpoint)", json_object_get(u, "left"));
        put_line(f, "Right line (rho ≥ breakpoint)", json_object_get(u, "right"));
    }
    if (json_is_string(json_object_get(u, "reason")))
        fprintf(f, "- %s\n", json_string_value(json_object_get(u, "reason")));
    fputs("- A U needs the left slope < 0 and the right slope > 0, each with p < 0.05 (two-sided t; HC3 standard "
          "errors, HC1 where a run has leverage 1).\n", f);
}

static void put_optimum(FILE *f, const json_t *e)
{
    if (is_u(e) && isfinite(jnum(e, "rho_star"))) {
        const json_t *rci = json_object_get(e, "rho_star_ci"), *gci = json_object_get(e, "gain_ci");
        const json_t *boot = json_object_get(e, "bootstrap");
        long long samples = (long long)json_integer_value(json_object_get(boot, "samples"));
        fprintf(f, "- rho* = %s ± %s (SE, %s model); 95%% interval %s", fmt_rho(jnum(e, "rho_star")),
                fmt_rho(jnum(e, "rho_star_se")), json_string_value(json_object_get(e, "model")),
                fmt_interval(rci, "%.3f"));
        if (samples > 0) {
            const char *method = json_string_value(json_object_get(boot, "interval"));
            fprintf(f, " (bootstrap%s%s, %lld resamples, %lld failed, %lld without a U)", method ? " " : "",
                    method ? method : "", samples, (long long)json_integer_value(json_object_get(boot, "failed")),
                    (long long)json_integer_value(json_object_get(boot, "no_minimum")));
        } else if (has_interval(rci)) {
            fputs(" (t interval from the SE; no bootstrap)", f);
        }
        fputs("\n", f);
        fprintf(f, "- L* = %s ± %s\n", fmt_loss(jnum(e, "loss_star")), fmt_loss(jnum(e, "loss_star_se")));
        if (isfinite(jnum(e, "gain")))
            fprintf(f, "- Gain over pure MoE, fitted L(1) - L* = %s - %s = %s nats; 95%% interval %s\n",
                    fmt_loss(jnum(e, "loss_at_1")), fmt_loss(jnum(e, "loss_star")), fmt_loss(jnum(e, "gain")),
                    fmt_interval(gci, "%.4f"));
        return;
    }
    /* no U: what was measured, not a fitted optimum */
    if (!isfinite(jnum(e, "best_measured_rho")))
        return;
    fprintf(f, "- No rho* (no U). Best measured rho = %s (mean loss %s)", fmt_rho(jnum(e, "best_measured_rho")),
            fmt_loss(jnum(e, "best_measured_loss")));
    const json_t *nw = json_object_get(e, "not_worse");
    if (json_is_array(nw))
        fprintf(f, "; rho not significantly worse than it: %s (%s)\n", fmt_rho_set(nw),
                json_string_value(json_object_get(e, "not_worse_method")));
    else
        fputs("; which rho are not worse is unknown: one run per rho gives no spread\n", f);
    if (isfinite(jnum(e, "measured_gain")))
        fprintf(f, "- Pure MoE minus the best measured: L(1) - L(%s) = %s nats; %s%s\n",
                fmt_rho(jnum(e, "best_measured_rho")), fmt("%+.4f", jnum(e, "measured_gain")),
                has_interval(json_object_get(e, "measured_gain_ci")) ? "95% interval " : "no interval (one run on a side)",
                has_interval(json_object_get(e, "measured_gain_ci"))
                    ? fmt_interval(json_object_get(e, "measured_gain_ci"), "%+.4f") : "");
}

/* The U and monotone fits: descriptions of the curve, not the verdict. */
static void put_curves(FILE *f, const json_t *e)
{
    const json_t *best = json_object_get(e, "aic_best");
    if (!json_is_string(best))
        return;
    const char *kind = json_string_value(json_object_get(e, "aic_kind"));
    fprintf(f, "- Curves (descriptions; the test above decides): %s", kind ? kind : "AIC");
    const char *k;
    const json_t *v;
    int first = 1;
    json_object_foreach((json_t *)json_object_get(e, "aic"), k, v)
    {
        fprintf(f, "%s %s %s", first ? "" : ",", k, fmt("%.1f", json_is_number(v) ? json_number_value(v) : NAN));
        first = 0;
    }
    fprintf(f, "; lowest: %s (%s)\n", json_string_value(best), json_string_value(json_object_get(e, "aic_best_shape")));
    const json_t *model = json_object_get(e, "model");
    if (json_is_string(model) && isfinite(jnum(e, "curvature"))) {
        fprintf(f, "- Best U model: %s, curvature %s ± %s (nats per unit rho squared)", json_string_value(model),
                fmt("%.4g", jnum(e, "curvature")), fmt("%.3g", jnum(e, "curvature_se")));
        double vertex = jnum(json_object_get(e, "params"), "rho_star");
        if (!is_u(e) && isfinite(vertex))
            fprintf(f, "; its vertex at rho = %s is not a minimum the points show", fmt_rho(vertex));
        fputs("\n", f);
    }
}

static void put_reading(FILE *f, const json_t *e, double budget)
{
    const json_t *u = json_object_get(e, "u_test");
    const json_t *l = json_object_get(u, "left"), *r = json_object_get(u, "right");
    int n_seeds_max = 0;
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(e, "n"), i, v) if (json_integer_value(v) > n_seeds_max) n_seeds_max =
        (int)json_integer_value(v);
    fprintf(f, "**Reading (%s FLOPs, %d seed%s per rho):** ", fmt_flops(budget), n_seeds_max,
            n_seeds_max == 1 ? "" : "s");
    if (is_u(e)) {
        fprintf(f, "The two-lines test finds a U: loss falls up to rho = %s (%s) and rises after it (%s). ",
                fmt_rho(jnum(u, "breakpoint")), fmt_slope(l), fmt_slope(r));
        if (isfinite(jnum(e, "rho_star"))) {
            fprintf(f, "rho* = %s %s", fmt_rho(jnum(e, "rho_star")), fmt_interval(json_object_get(e, "rho_star_ci"), "%.3f"));
            const json_t *gci = json_object_get(e, "gain_ci");
            if (has_interval(gci))
                fprintf(f, "; the best allocation beats pure MoE by %s %s nats", fmt_loss(jnum(e, "gain")),
                        fmt_interval(gci, "%.4f"));
            fputs(".", f);
        } else {
            fputs("The U model has no minimum, so rho* is not reported.", f);
        }
    } else if (strcmp(verdict_of(e), "no U") == 0) {
        const char *shape = json_string_value(json_object_get(u, "shape"));
        if (shape && strcmp(shape, "not resolved") == 0)
            fputs("No U: the two-lines test resolves no shape in rho", f);
        else
            fprintf(f, "No U: by the two-lines test the loss is %s in rho", shape ? shape : "-");
        fprintf(f, " (breakpoint %s; left line %s; right line %s), so no interior optimum is claimed. ",
                fmt_rho(jnum(u, "breakpoint")), fmt_slope(l), fmt_slope(r));
        if (n_seeds_max == 1)
            fputs("With one run per rho each line rests on a handful of points and has almost no power; more seeds "
                  "would resolve it. ", f);
    } else {
        const json_t *reason = json_object_get(u, "reason");
        fprintf(f, "Too few points to test a U%s%s%s, so no interior optimum is claimed. ",
                json_is_string(reason) ? " (" : "", json_is_string(reason) ? json_string_value(reason) : "",
                json_is_string(reason) ? ")" : "");
    }
    if (!is_u(e) && isfinite(jnum(e, "best_measured_rho"))) {
        fprintf(f, "The best measured rho is %s (mean loss %s)", fmt_rho(jnum(e, "best_measured_rho")),
                fmt_loss(jnum(e, "best_measured_loss")));
        const json_t *nw = json_object_get(e, "not_worse");
        if (json_is_array(nw))
            fprintf(f, "; %s %s not significantly worse", fmt_rho_set(nw),
                    json_array_size(nw) == 1 ? "alone is" : "are");
        if (isfinite(jnum(e, "measured_gain")) && jnum(e, "best_measured_rho") != 1.0) {
            const json_t *gci = json_object_get(e, "measured_gain_ci");
            fprintf(f, "; pure MoE is %s", fmt("%+.4f", jnum(e, "measured_gain")));
            if (has_interval(gci))
                fprintf(f, " %s nats worse", fmt_interval(gci, "%+.4f"));
            else
                fputs(" nats worse (one run each: no interval)", f);
        }
        fputs(".", f);
    }
    fputs("\n\n", f);
}

static void put_allocation_fit(FILE *f, const json_t *e, double budget)
{
    put_u_test(f, e);
    put_optimum(f, e);
    put_curves(f, e);
    put_warnings(f, e);
    fputc('\n', f);
    put_reading(f, e, budget);
}

/* Per budget: the two-lines verdict, rho* (U) or the best measured rho. */
static void put_budgets_table(FILE *f, const report_ctx *c)
{
    size_t n_fits = c->fit ? json_array_size(json_object_get(c->fit, "allocation")) : 0;
    if (n_fits < 2)
        return;
    fputs("### Across budgets\n\n", f);
    fputs("| budget C | two-lines test | breakpoint | left slope (p) | right slope (p) | rho* [95% interval] | "
          "best measured rho | not significantly worse | L(1) - L(best) [95% interval] |\n", f);
    fputs("|---:|:---|---:|:---|:---|:---|---:|:---|:---|\n", f);
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(c->fit, "allocation"), i, e)
    {
        const json_t *u = json_object_get(e, "u_test");
        const json_t *shape = json_object_get(u, "shape");
        const json_t *l = json_object_get(u, "left"), *r = json_object_get(u, "right");
        fprintf(f, "| %s | %s%s%s%s | %s | ", fmt_flops(jnum(e, "budget")), verdict_of(e),
                json_is_string(shape) && !is_u(e) ? " (" : "", json_is_string(shape) && !is_u(e) ? json_string_value(shape) : "",
                json_is_string(shape) && !is_u(e) ? ")" : "", fmt_rho(jnum(u, "breakpoint")));
        const json_t *lines[2] = {l, r};
        for (int k = 0; k < 2; k++)
            if (json_is_true(json_object_get(lines[k], "tested")))
                fprintf(f, "%s (%s) | ", fmt("%+.3f", jnum(lines[k], "slope")), fmt("%.2g", jnum(lines[k], "p")));
            else
                fputs("not tested | ", f);
        if (is_u(e) && isfinite(jnum(e, "rho_star")))
            fprintf(f, "%s %s | ", fmt_rho(jnum(e, "rho_star")), fmt_interval(json_object_get(e, "rho_star_ci"), "%.3f"));
        else
            fputs("- (no U) | ", f);
        const json_t *nw = json_object_get(e, "not_worse");
        fprintf(f, "%s | %s | %s %s |\n", fmt_rho(jnum(e, "best_measured_rho")),
                json_is_array(nw) ? fmt_rho_set(nw) : "unknown (1 seed)", fmt("%+.4f", jnum(e, "measured_gain")),
                fmt_interval(json_object_get(e, "measured_gain_ci"), "%+.4f"));
    }
    fputc('\n', f);
}

/* 3.0e15: two significant digits for a computed (not planned) compute. */
static const char *fmt_flops_approx(double v)
{
    char *b = fmt_buf();
    if (!isfinite(v) || v <= 0) {
        snprintf(b, FMT_SIZE, "-");
        return b;
    }
    int e = (int)floor(log10(v));
    double m = v / pow(10, e);
    if (m >= 9.95) { /* rounds up to the next power */
        m /= 10;
        e++;
    }
    snprintf(b, FMT_SIZE, "%.1fe%d", m, e);
    return b;
}

/* A factor such as 290 or 4.5e6, for "N x beyond". */
static const char *fmt_factor(double v) { return v < 1e4 ? fmt("%.3g", v) : fmt_flops_approx(v); }

/* The projection of the gap's zero: measured, fitted and extrapolated
 * apart (fit.json's gap_trend.projection). */
static void put_gap_projection(FILE *f, const json_t *gt, const json_t *fit)
{
    const json_t *p = json_object_get(gt, "projection");
    const char *status = json_string_value(json_object_get(p, "status"));
    double c_max = jnum(gt, "largest_budget"), c0 = jnum(p, "c0");
    const json_t *ci = json_object_get(p, "c0_ci");
    char interval[2 * FMT_SIZE];
    if (has_interval(ci))
        snprintf(interval, sizeof interval, "95%% Fieller interval [%s, %s] FLOPs",
                 fmt_flops_approx(json_number_value(json_array_get(ci, 0))),
                 fmt_flops_approx(json_number_value(json_array_get(ci, 1))));
    else
        snprintf(interval, sizeof interval, "95%% Fieller interval unbounded: the slope is not significantly "
                                            "negative, so no compute can be excluded");
    if (status && strcmp(status, "projected") == 0) {
        fprintf(f, "- **Extrapolated**: if the trend holds (an extrapolation %s x beyond the largest measured budget, "
                   "%s FLOPs), the gap would reach zero at C = %s FLOPs (%s). Beyond that compute pure MoE would "
                   "beat pure memory and rho = 0 would no longer be the best end: a left arm could appear. Nothing "
                   "was measured there; a straight line in log C is an assumption.\n",
                fmt_factor(jnum(p, "factor")), fmt_flops(c_max), fmt_flops_approx(c0), interval);
    } else if (status && strcmp(status, "crossed") == 0) {
        fprintf(f, "- **Fitted, not extrapolated**: the line is already at or below zero at the largest measured "
                   "budget (%s FLOPs, fitted gap %s): it crosses zero at C = %s FLOPs (%s), within or below the "
                   "measured budgets.\n",
                fmt_flops(c_max), fmt("%+.4f", jnum(fit, "gap_at_largest")), fmt_flops_approx(c0), interval);
    } else if (status && strcmp(status, "not shrinking") == 0) {
        const json_t *bci = json_object_get(fit, "b_ci");
        double lo_v = has_interval(bci) ? json_number_value(json_array_get(bci, 0)) : NAN;
        fprintf(f, "- **No projection**: the gap does not shrink with compute over the measured budgets (b = %s "
                   "nats per decade, 95%% interval %s); no crossing projected.%s\n",
                fmt("%+.4f", jnum(fit, "b")), fmt_interval(bci, "%+.4f"),
                lo_v < 0 ? " The interval reaches below 0, so a slowly shrinking gap is not ruled out by these "
                           "budgets." : "");
    } else if (status && strcmp(status, "already negative") == 0) {
        fprintf(f, "- **No projection**: the fitted gap is already below zero at the largest measured budget (%s "
                   "FLOPs, %s): pure MoE is ahead there, and the gap does not fall further with compute.\n",
                fmt_flops(c_max), fmt("%+.4f", jnum(fit, "gap_at_largest")));
    }
}

/* How L(rho = 1) - L(rho = 0) moves with compute and where its trend would
 * reach zero (fit.json's gap_trend; absent from older fit.json files). */
static void put_gap_trend(FILE *f, const report_ctx *c)
{
    size_t n_fits = c->fit ? json_array_size(json_object_get(c->fit, "allocation")) : 0;
    if (n_fits < 2)
        return;
    fputs("### Pure MoE minus pure memory across budgets\n\n", f);
    const json_t *gt = json_object_get(c->fit, "gap_trend");
    if (!json_is_object(gt)) {
        fputs("fit.json has no `gap_trend` (it was written by an older `engram-scale fit`): run `engram-scale fit "
              "RUN_DIR` again for the gap and its trend.\n\n", f);
        return;
    }
    const json_t *rows = json_object_get(gt, "budgets");
    fputs("**Measured**: the gap L(rho = 1) - L(rho = 0) at each budget with both ends, the mean over seeds of the "
          "per-seed differences (paired by seed where both ends have the same seeds, else Welch), with its 95% t "
          "interval. A gap > 0 means pure memory beats pure MoE; a left arm of the allocation U (rho = 0 no longer "
          "the best end) needs a gap < 0. It is not the table's L(1) - L(best), whose reference moves with the best "
          "measured rho.\n\n", f);
    if (json_array_size(rows)) {
        fputs("| budget C | runs at rho 0, rho 1 | L(1) - L(0) | SE | df | 95% interval | method |\n", f);
        fputs("|---:|---:|---:|---:|---:|:---|:---|\n", f);
        size_t i;
        const json_t *e;
        json_array_foreach(rows, i, e)
        {
            char ci[FMT_SIZE];
            snprintf(ci, sizeof ci, "%s", isfinite(jnum(e, "lo")) ? fmt("[%+.4f, ", jnum(e, "lo")) : "-");
            if (isfinite(jnum(e, "lo")))
                snprintf(ci + strlen(ci), sizeof ci - strlen(ci), "%s]", fmt("%+.4f", jnum(e, "hi")));
            fprintf(f, "| %s | %lld, %lld | %s | %s | %s | %s | %s |\n", fmt_flops(jnum(e, "budget")),
                    (long long)json_integer_value(json_object_get(e, "n_rho0")),
                    (long long)json_integer_value(json_object_get(e, "n_rho1")), fmt("%+.4f", jnum(e, "mean")),
                    fmt("%.4f", jnum(e, "se")), fmt("%g", jnum(e, "df")), ci,
                    json_string_value(json_object_get(e, "method")));
        }
        fputc('\n', f);
    }
    const json_t *fit = json_object_get(gt, "fit");
    if (!json_is_object(fit)) {
        fprintf(f, "Trend %s.\n\n", json_string_value(json_object_get(gt, "status")));
        return;
    }
    int weighted = strncmp(json_string_value(json_object_get(fit, "method")), "weighted", 8) == 0;
    const json_t *first = json_array_get(rows, 0);
    fprintf(f, "- **Fitted** on the %lld measured budgets (%s to %s FLOPs) by %s%s: gap = a + b log10 C with "
               "a = %s ± %s, b = %s ± %s nats per decade of compute; slope 95%% interval %s (t with %g degrees of "
               "freedom).",
            (long long)json_integer_value(json_object_get(fit, "n")), fmt_flops(jnum(first, "budget")),
            fmt_flops(jnum(gt, "largest_budget")), json_string_value(json_object_get(fit, "method")),
            weighted ? "" : " (residual-based SEs)", fmt("%.4f", jnum(fit, "a")), fmt("%.4f", jnum(fit, "se_a")),
            fmt("%+.4f", jnum(fit, "b")), fmt("%.4f", jnum(fit, "se_b")),
            fmt_interval(json_object_get(fit, "b_ci"), "%+.4f"), jnum(fit, "df"));
    if (weighted)
        fprintf(f, " SEs: %s, chi2/df = %s: %s.", json_string_value(json_object_get(fit, "se_kind")),
                fmt("%.2f", jnum(fit, "chi2_per_df")), json_string_value(json_object_get(fit, "se_note")));
    else if (json_is_string(json_object_get(fit, "method_reason")))
        fprintf(f, " Unweighted because %s.", json_string_value(json_object_get(fit, "method_reason")));
    fputc('\n', f);
    const json_t *u = json_object_get(fit, "unweighted");
    if (json_is_object(u))
        fprintf(f, "- Unweighted check (ordinary least squares on the budget means; weights from few seeds are "
                   "rough): b = %s ± %s, 95%% interval %s.\n",
                fmt("%+.4f", jnum(u, "b")), fmt("%.4f", jnum(u, "se_b")),
                fmt_interval(json_object_get(u, "b_ci"), "%+.4f"));
    put_gap_projection(f, gt, fit);
    fputc('\n', f);
}

/* The paper's claim of stability, tested: rho* differences between the
 * budgets that each show a U. */
static void put_stability(FILE *f, const report_ctx *c)
{
    size_t n_fits = c->fit ? json_array_size(json_object_get(c->fit, "allocation")) : 0;
    if (n_fits < 2)
        return;
    int n_u = 0;
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(c->fit, "allocation"), i, e) n_u += is_u(e);
    fputs("### Stability of rho* across budgets\n\n", f);
    const json_t *st = json_object_get(c->fit, "rho_star_stability");
    if (n_u < 2 || !json_array_size(st)) {
        fprintf(f, "Not testable: %d of %zu budgets show a U by the two-lines test, and a difference of rho* needs "
                   "two. The paper (Engram, Figure 3 left) finds rho* near 0.75-0.8 at two budgets 3x apart.\n\n",
                n_u, n_fits);
        return;
    }
    json_array_foreach(st, i, e)
        fprintf(f, "- rho*(%s) - rho*(%s) = %s ± %s; 95%% interval %s\n", fmt_flops(jnum(e, "budget_b")),
                fmt_flops(jnum(e, "budget_a")), fmt("%+.3f", jnum(e, "difference")), fmt("%.3f", jnum(e, "se")),
                fmt_interval(json_object_get(e, "ci"), "%+.3f"));
    fputs("\nDelta method: the budgets' runs are independent, so the SE of a difference is the root sum of "
          "squares of the two bootstrap sds of rho*; normal 95% interval. An interval containing 0 is consistent "
          "with a stable rho*. The paper (Engram, Figure 3 left) finds rho* near 0.75-0.8 at two budgets 3x "
          "apart.\n\n", f);
}

void report_put_allocation(FILE *f, const report_ctx *c, double *budgets, double *rhos)
{
    fputs("## Allocation study\n\n", f);
    if (!c->fit)
        fputs("No fit: fit.json is missing (run `engram-scale fit RUN_DIR`); the tables below are the measured "
              "means only.\n\n", f);
    int nb = distinct_values(c, 0, NULL, NULL, budgets);
    for (int b = 0; b < nb; b++) {
        fprintf(f, "### Budget %s FLOPs\n\n", fmt_flops(budgets[b]));
        fputs("| rho | experts E | slots | P_tot | P_act | tokens | n | val loss (mean ± sd) |\n", f);
        fputs("|---:|---:|---:|---:|---:|---:|---:|---:|\n", f);
        int nr = distinct_values(c, 1, &budgets[b], NULL, rhos);
        for (int i = 0; i < nr; i++) {
            point_key k = {.use_budget = 1, .use_rho = 1, .budget = budgets[b], .rho = rhos[i]};
            point p;
            point_collect(c, &k, &p);
            int experts = p.plan ? p.plan->experts : p.row ? p.row->experts : 0;
            long slots = p.plan ? p.plan->slots : p.row ? p.row->slots : 0;
            double p_tot = p.plan ? p.plan->p_tot : p.row ? p.row->p_tot : NAN;
            double p_act = p.plan ? p.plan->p_act : p.row ? p.row->p_act : NAN;
            double tokens = p.plan ? p.plan->tokens : p.row ? p.row->tokens : NAN;
            fprintf(f, "| %s | %d | %ld | %s | %s | %s | %s | %s |\n", fmt_rho(rhos[i]), experts, slots,
                    fmt_eng(p_tot), fmt_eng(p_act), fmt_eng(tokens), fmt_n(&p), fmt_mean_sd(&p));
        }
        fputc('\n', f);
        const json_t *e = fit_entry(c, "allocation", "budget", budgets[b], NULL);
        if (e)
            put_allocation_fit(f, e, budgets[b]);
        else if (c->fit)
            fputs("No fit at this budget (fit.json has no entry for it).\n\n", f);
    }
    /* the sections across budgets, in order */
    put_budgets_table(f, c);
    put_gap_trend(f, c);
    put_stability(f, c);
}
