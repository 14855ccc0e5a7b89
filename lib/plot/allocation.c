/* The allocation figures: loss against rho per budget, and rho* (or the
 * best measured rho) against the budget. */
#include "plot/internal.h"

#include "core/error.h"
#include "core/fs.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocation ------------------------------------------------------------ */

int figure_allocation(job *j)
{
    series_list budgets = {0};
    int rc = ES_OK, n_diverged = 0;
    sbuf pts = {0}, fitdat = {0}, optdat = {0}, divdat = {0};
    sbuf titles = {0}, rs = {0}, lo = {0}, hi = {0}, ls = {0}, fitted = {0}, unfitted = {0};
    vars v = {0};
    for (int i = 0; i < j->n_rows && rc == 0; i++) {
        const result_row *r = &j->rows[i];
        if (strcmp(r->kind, "allocation") != 0 || !isfinite(r->rho))
            continue;
        series *s = series_get(&budgets, r->budget, "");
        if (!s) {
            rc = es_error(ES_ENOMEM, "out of memory");
            break;
        }
        if (plot_row_ok(r))
            rc = series_add(s, r->rho, r->val_loss);
    }
    if (rc || budgets.n == 0)
        goto done;
    series_list_sort(&budgets);

    double ymin = INFINITY, ymax = -INFINITY;
    for (int b = 0; b < budgets.n; b++) {
        series *s = &budgets.s[b];
        char power[64];
        format_power(power, sizeof power, s->key);
        sb_printf(&pts, "# C = %.10g FLOPs: rho, mean val_loss, sd over seeds, runs\n", s->key);
        for (int k = 0; k < s->n; k++) {
            double m = point_mean(&s->pts[k]), sd = point_sd(&s->pts[k]);
            sb_printf(&pts, "%.10g\t%.10g\t%.10g\t%d\n", s->pts[k].x, m, sd, s->pts[k].n);
            ymin = fmin(ymin, m - sd);
            ymax = fmax(ymax, m + sd);
        }
        if (s->n == 0) /* only diverged runs: an undefined point keeps the block */
            sb_printf(&pts, "NaN\tNaN\tNaN\t0\n");
        sb_printf(&pts, "\n\n");

        const json_t *g = j->fit ? plot_fit_allocation(j, s->key) : NULL;
        double star = g ? plot_jnum(g, "rho_star") : NAN;
        double star_lo = g ? plot_jnum_at(g, "rho_star_ci", 0) : NAN, star_hi = g ? plot_jnum_at(g, "rho_star_ci", 1) : NAN;
        double loss_star = g ? plot_jnum(g, "loss_star") : NAN;
        const json_t *interior = g ? json_object_get(g, "interior") : NULL;
        char title[256];
        int n = snprintf(title, sizeof title, "C = %s FLOPs", power);
        if (isfinite(star)) {
            n += snprintf(title + n, sizeof title - (size_t)n, ": ρ* = %.2f", star);
            if (isfinite(star_lo) && isfinite(star_hi))
                n += snprintf(title + n, sizeof title - (size_t)n, " [%.2f, %.2f]", star_lo, star_hi);
            if (json_is_false(interior))
                snprintf(title + n, sizeof title - (size_t)n, " (at edge)");
        }
        sb_printf(&titles, "%s", b ? ", " : "");
        sb_quoted(&titles, title);
        sb_printf(&rs, "%s", b ? ", " : "");
        sb_num(&rs, star);
        /* the shaded interval only for an interior minimum: an edge one is
         * no location, and four wide bands would cover the figure */
        int shade = json_is_true(interior);
        sb_printf(&lo, "%s", b ? ", " : "");
        sb_num(&lo, shade ? star_lo : NAN);
        sb_printf(&hi, "%s", b ? ", " : "");
        sb_num(&hi, shade ? star_hi : NAN);
        sb_printf(&ls, "%s", b ? ", " : "");
        sb_num(&ls, loss_star);

        int curve_points = 0;
        if (g) {
            sbuf block = {0};
            sb_printf(&block, "# C = %.10g FLOPs: fitted %s curve (rho, val_loss)\n", s->key,
                      json_string_value(json_object_get(g, "model")) ? json_string_value(json_object_get(g, "model"))
                                                                     : "U");
            curve_points = write_curve(&block, json_object_get(g, "curve"));
            if (curve_points > 1) {
                sb_printf(&fitdat, "%s\n\n", sb_str(&block));
                sb_printf(&fitted, "%s%d", fitted.len ? " " : "", b + 1);
            }
            sb_free(&block);
        }
        if (curve_points <= 1)
            sb_printf(&unfitted, "%s%d", unfitted.len ? " " : "", b + 1);
        if (isfinite(star) && isfinite(loss_star)) {
            sb_printf(&optdat, "%d\t%.10g\t", b + 1, star);
            sb_num(&optdat, isfinite(star_lo) ? star_lo : star);
            sb_printf(&optdat, "\t");
            sb_num(&optdat, isfinite(star_hi) ? star_hi : star);
            sb_printf(&optdat, "\t%.10g\n", loss_star);
            ymin = fmin(ymin, loss_star);
        }
    }
    if (!isfinite(ymin)) { /* every run diverged */
        ymin = 0;
        ymax = 10;
    }
    double ylo, yhi;
    /* headroom at the top for the legend, which sits over the U's dip */
    range_pad(ymin, ymax, 0.08, 0.5 + 0.12 * budgets.n, &ylo, &yhi);
    for (int i = 0; i < j->n_rows; i++) {
        const result_row *r = &j->rows[i];
        if (strcmp(r->kind, "allocation") != 0 || !isfinite(r->rho) || plot_row_ok(r))
            continue;
        for (int b = 0; b < budgets.n; b++)
            if (fabs(budgets.s[b].key - r->budget) <= 1e-9 * fabs(r->budget))
                sb_printf(&divdat, "%.10g\t%d\t%s\n", r->rho, b + 1, r->run);
        n_diverged++;
    }
    if (!divdat.len)
        sb_printf(&divdat, "# no diverged runs\n");
    if (!fitdat.len)
        sb_printf(&fitdat, "# no fitted curves (no fit.json, or no fit succeeded)\n");
    if (!optdat.len)
        sb_printf(&optdat, "# no fitted optimum\n");

    vars_set(&v, "TITLE", "Sparsity allocation: MoE experts vs Engram (%s)", j->experiment);
    vars_set(&v, "N_BUDGETS", "%d", budgets.n);
    vars_set(&v, "BUDGET_TITLES", "%s", sb_str(&titles));
    vars_set(&v, "RHO_STAR", "%s", sb_str(&rs));
    vars_set(&v, "RHO_LO", "%s", sb_str(&lo));
    vars_set(&v, "RHO_HI", "%s", sb_str(&hi));
    vars_set(&v, "LOSS_STAR", "%s", sb_str(&ls));
    vars_set(&v, "FITTED", "%s", sb_str(&fitted));
    vars_set(&v, "UNFITTED", "%s", sb_str(&unfitted));
    vars_set(&v, "N_OPTIMA", "%d", optdat.len && optdat.data[0] != '#' ? 1 : 0);
    vars_set(&v, "N_DIVERGED", "%d", n_diverged ? 1 : 0);
    vars_set(&v, "DIVERGED_Y", "%.10g", ymax + 0.15 * (yhi - ymax));
    vars_set(&v, "YMIN", "%.10g", ylo);
    vars_set(&v, "YMAX", "%.10g", yhi);
    vars_ytics(&v, ylo, yhi);
    if ((rc = job_write(j, "allocation.dat", &pts)) || (rc = job_write(j, "allocation_fit.dat", &fitdat)) ||
        (rc = job_write(j, "allocation_optimum.dat", &optdat)) ||
        (rc = job_write(j, "allocation_diverged.dat", &divdat)))
        goto done;
    rc = job_script(j, "allocation", "allocation", &v);
done:
    series_list_free(&budgets);
    sb_free(&pts), sb_free(&fitdat), sb_free(&optdat), sb_free(&divdat);
    sb_free(&titles), sb_free(&rs), sb_free(&lo), sb_free(&hi), sb_free(&ls);
    sb_free(&fitted), sb_free(&unfitted);
    vars_free(&v);
    return rc;
}

/* ---- rho*(C) ------------------------------------------------------------- */

int figure_rho_star(job *j)
{
    if (!j->fit)
        return ES_OK;
    sbuf dat = {0};
    vars v = {0};
    int n = 0, rc = ES_OK;
    double cmin = INFINITY, cmax = -INFINITY;
    sb_printf(&dat, "# budget C (FLOPs), rho*, 95%% interval low, high, loss at rho*, interior (1) or at the edge (0)\n");
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(j->fit, "allocation"), i, g)
    {
        double c = plot_jnum(g, "budget"), star = plot_jnum(g, "rho_star");
        if (!(c > 0) || !isfinite(star))
            continue;
        double lo = plot_jnum_at(g, "rho_star_ci", 0), hi = plot_jnum_at(g, "rho_star_ci", 1);
        sb_printf(&dat, "%.10g\t%.10g\t", c, star);
        sb_num(&dat, isfinite(lo) ? lo : star);
        sb_printf(&dat, "\t");
        sb_num(&dat, isfinite(hi) ? hi : star);
        sb_printf(&dat, "\t");
        sb_num(&dat, plot_jnum(g, "loss_star"));
        sb_printf(&dat, "\t%d\n", json_is_true(json_object_get(g, "interior")) ? 1 : 0);
        cmin = fmin(cmin, c);
        cmax = fmax(cmax, c);
        n++;
    }
    if (n >= 2) {
        vars_set(&v, "TITLE", "Optimal allocation ρ* across budgets (%s)", j->experiment);
        /* a decade's margin keeps the end points off the frame */
        vars_set(&v, "XMIN", "%.10g", pow(10, floor(log10(cmin) - 0.3)));
        vars_set(&v, "XMAX", "%.10g", pow(10, ceil(log10(cmax) + 0.3)));
        if (!(rc = job_write(j, "rho_star.dat", &dat)))
            rc = job_script(j, "rho_star", "rho_star", &v);
    }
    sb_free(&dat);
    vars_free(&v);
    return rc;
}

