/* report.md's allocation section: per budget the measured table, the
 * two-lines test's verdict and the reading that follows from it, the
 * descriptive fits; then rho* across budgets. */
#include "study/report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_allocation_fit(FILE *f, const json_t *e, double budget, const point *lowest_point,
                               double lowest_rho)
{
    const json_t *model = json_object_get(e, "model");
    double rs = jnum(e, "rho_star");
    const json_t *rci = json_object_get(e, "rho_star_ci"), *gci = json_object_get(e, "gain_ci");
    const json_t *boot = json_object_get(e, "bootstrap");
    long long samples = (long long)json_integer_value(json_object_get(boot, "samples"));
    fprintf(f, "Fit of loss against rho (%lld runs):\n\n", (long long)json_integer_value(json_object_get(e, "n_runs")));
    if (json_is_string(model)) {
        const char *kind = json_string_value(json_object_get(e, "aic_kind"));
        fprintf(f, "- Model: %s (lowest %s of", json_string_value(model), kind ? kind : "AIC");
        const char *k;
        const json_t *v;
        int first = 1;
        json_object_foreach((json_t *)json_object_get(e, "aic"), k, v)
        {
            fprintf(f, "%s %s %s", first ? "" : ",", k, fmt("%.1f", json_is_number(v) ? json_number_value(v) : NAN));
            first = 0;
        }
        fputs(")\n", f);
    }
    if (isfinite(rs)) {
        fprintf(f, "- rho* = %s ± %s (SE); 95%% interval %s", fmt_rho(rs), fmt_rho(jnum(e, "rho_star_se")),
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
    }
    if (isfinite(jnum(e, "curvature")))
        fprintf(f, "- Curvature = %s ± %s (nats per unit rho squared)\n", fmt("%.4g", jnum(e, "curvature")),
                fmt("%.3g", jnum(e, "curvature_se")));
    if (isfinite(jnum(e, "gain")))
        fprintf(f, "- Gain over pure MoE, fitted L(1) - L* = %s - %s = %s nats; 95%% interval %s\n",
                fmt_loss(jnum(e, "loss_at_1")), fmt_loss(jnum(e, "loss_star")), fmt_loss(jnum(e, "gain")),
                fmt_interval(gci, "%.4f"));
    int interior = json_is_true(json_object_get(e, "interior"));
    if (isfinite(rs))
        fprintf(f, "- Interior minimum: %s\n", interior ? "yes" : "no");
    put_warnings(f, e);
    fputc('\n', f);

    /* the plain reading */
    char lowest[160] = "";
    if (lowest_point && lowest_point->n_ok)
        snprintf(lowest, sizeof lowest, " The lowest mean loss measured is %s at rho = %s.",
                 fmt_loss(lowest_point->mean), fmt_rho(lowest_rho));
    fprintf(f, "**Reading (%s FLOPs):** ", fmt_flops(budget));
    if (interior) {
        fprintf(f, "The minimum is interior: rho* = %s %s; ", fmt_rho(rs), fmt_interval(rci, "%.3f"));
        if (has_interval(gci) && json_number_value(json_array_get(gci, 0)) > 0)
            fprintf(f, "the best allocation beats pure MoE by %s %s nats.", fmt_loss(jnum(e, "gain")),
                    fmt_interval(gci, "%.4f"));
        else if (has_interval(gci))
            fprintf(f, "the best allocation is %s %s nats below pure MoE, an interval that includes no gain.",
                    fmt_loss(jnum(e, "gain")), fmt_interval(gci, "%.4f"));
        else
            fprintf(f, "the best allocation is %s nats below pure MoE (no interval).", fmt_loss(jnum(e, "gain")));
    } else if (isfinite(rs)) {
        fprintf(f, "No interior minimum at this budget: the fitted rho* = %s", fmt_rho(rs));
        if (rs <= 0 || rs >= 1)
            fputs(" lies outside (0, 1)", f);
        else if (has_interval(rci))
            fprintf(f, " has a 95%% interval %s that reaches past %s", fmt_interval(rci, "%.3f"),
                    json_number_value(json_array_get(rci, 0)) <= 0 ? "0" : "1");
        else
            fputs(" has no interval", f);
        fputs(", so the U is not resolved.", f);
    } else if (json_is_string(model)) {
        fprintf(f, "No interior minimum at this budget: the fitted %s curve has no minimum (curvature %s), so "
                   "loss shows no U in rho here.", json_string_value(model), fmt("%.4g", jnum(e, "curvature")));
    } else {
        const json_t *w = json_array_get(json_object_get(e, "warnings"), 0);
        fprintf(f, "No fit at this budget%s%s.", json_is_string(w) ? ": " : "", json_is_string(w) ? json_string_value(w)
                                                                                                   : "");
    }
    fprintf(f, "%s\n\n", lowest);
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
        point lowest = {0};
        double lowest_rho = NAN;
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
            if (p.n_ok && (!lowest.n_ok || p.mean < lowest.mean)) {
                lowest = p;
                lowest_rho = rhos[i];
            }
        }
        fputc('\n', f);
        const json_t *e = fit_entry(c, "allocation", "budget", budgets[b], NULL);
        if (e)
            put_allocation_fit(f, e, budgets[b], &lowest, lowest_rho);
        else if (c->fit)
            fputs("No fit at this budget (fit.json has no entry for it).\n\n", f);
    }
    /* rho*(C) */
    size_t n_fits = c->fit ? json_array_size(json_object_get(c->fit, "allocation")) : 0;
    if (n_fits >= 2) {
        fputs("### rho* against budget\n\n", f);
        fputs("| budget C | model | rho* | SE | 95% interval | L* | gain L(1) - L* | gain 95% interval | interior |\n",
              f);
        fputs("|---:|:---|---:|---:|:---:|---:|---:|:---:|:---:|\n", f);
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(c->fit, "allocation"), i, e)
        {
            const json_t *model = json_object_get(e, "model");
            int has_min = isfinite(jnum(e, "rho_star"));
            fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", fmt_flops(jnum(e, "budget")),
                    json_is_string(model) ? json_string_value(model) : "-", fmt_rho(jnum(e, "rho_star")),
                    fmt_rho(jnum(e, "rho_star_se")), fmt_interval(json_object_get(e, "rho_star_ci"), "%.3f"),
                    fmt_loss(jnum(e, "loss_star")), fmt_loss(jnum(e, "gain")),
                    fmt_interval(json_object_get(e, "gain_ci"), "%.4f"),
                    !has_min ? "no U" : json_is_true(json_object_get(e, "interior")) ? "yes" : "no");
        }
        fputs("\nThe paper (Engram, Figure 3 left) finds rho* near 0.75-0.8 at two budgets 3x apart.\n\n", f);
    }
}

