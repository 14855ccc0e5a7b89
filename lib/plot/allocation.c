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

/* The verdict of a budget's two-lines test: "U", "no U", "too few points
 * to test", or NULL without a fit. */
static const char *verdict_of(const json_t *g)
{
    return g ? json_string_value(json_object_get(json_object_get(g, "u_test"), "verdict")) : NULL;
}

static int is_u(const json_t *g)
{
    const char *v = verdict_of(g);
    return v && strcmp(v, "U") == 0;
}

static int n_optima_any(sbuf *optdat) { return optdat->len && optdat->data[0] != '#'; }

/* Writes a fit.json curve minus offset; returns the points written. */
static int write_curve_minus(sbuf *b, const json_t *curve, double offset)
{
    int written = 0;
    size_t i;
    const json_t *pt;
    json_array_foreach(curve, i, pt)
    {
        const json_t *x = json_array_get(pt, 0), *y = json_array_get(pt, 1);
        if (!json_is_number(x) || !json_is_number(y) || !isfinite(json_number_value(y)))
            continue;
        sb_printf(b, "%.10g\t%.10g\n", json_number_value(x), json_number_value(y) - offset);
        written++;
    }
    return written;
}

/* Loss against rho, each budget relative to its own best measured mean
 * (delta loss), so that budgets 0.5 nats apart share one axis and a
 * 0.01-nat dip stays visible. A budget's curve is its U model where the
 * two-lines test finds a U (solid, with rho* and its interval), else its
 * monotone fit (dashed): the figure shows the reading the test gives. The
 * key sits below the plot, where it covers no point. */
int figure_allocation(job *j)
{
    series_list budgets = {0};
    int rc = ES_OK, n_diverged = 0;
    sbuf pts = {0}, fitdat = {0}, optdat = {0}, divdat = {0};
    sbuf titles = {0}, rs = {0}, lo = {0}, hi = {0}, fitted = {0}, fitted_dt = {0}, unfitted = {0};
    vars v = {0};
    int n_u = 0, n_mono = 0;
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
    double *offset = calloc((size_t)budgets.n, sizeof *offset);
    if (!offset) {
        rc = es_error(ES_ENOMEM, "out of memory");
        goto done;
    }
    for (int b = 0; b < budgets.n; b++) {
        series *s = &budgets.s[b];
        /* the budget's best measured mean: the zero of its curve */
        double best = INFINITY, best_rho = NAN;
        for (int k = 0; k < s->n; k++)
            if (point_mean(&s->pts[k]) < best) {
                best = point_mean(&s->pts[k]);
                best_rho = s->pts[k].x;
            }
        offset[b] = isfinite(best) ? best : 0;
        char power[64];
        format_power(power, sizeof power, s->key);
        sb_printf(&pts, "# C = %.10g FLOPs: rho, mean val_loss minus the best mean %.10g, sd over seeds, runs\n",
                  s->key, offset[b]);
        for (int k = 0; k < s->n; k++) {
            double m = point_mean(&s->pts[k]) - offset[b], sd = point_sd(&s->pts[k]);
            sb_printf(&pts, "%.10g\t%.10g\t%.10g\t%d\n", s->pts[k].x, m, sd, s->pts[k].n);
            ymin = fmin(ymin, m - sd);
            ymax = fmax(ymax, m + sd);
        }
        if (s->n == 0) /* only diverged runs: an undefined point keeps the block */
            sb_printf(&pts, "NaN\tNaN\tNaN\t0\n");
        sb_printf(&pts, "\n\n");

        const json_t *g = j->fit ? plot_fit_allocation(j, s->key) : NULL;
        int u = is_u(g);
        double star = u ? plot_jnum(g, "rho_star") : NAN;
        double star_lo = u ? plot_jnum_at(g, "rho_star_ci", 0) : NAN, star_hi = u ? plot_jnum_at(g, "rho_star_ci", 1) : NAN;
        double loss_star = u ? plot_jnum(g, "loss_star") - offset[b] : NAN;
        char title[256];
        int n = snprintf(title, sizeof title, "C = %s FLOPs (best %.3f at ρ = %.2f)", power, offset[b], best_rho);
        const char *verdict = verdict_of(g);
        if (u && isfinite(star)) {
            n += snprintf(title + n, sizeof title - (size_t)n, ": U, ρ* = %.2f", star);
            if (isfinite(star_lo) && isfinite(star_hi))
                snprintf(title + n, sizeof title - (size_t)n, " [%.2f, %.2f]", star_lo, star_hi);
        } else if (verdict && strcmp(verdict, "no U") == 0) {
            const char *shape = json_string_value(json_object_get(json_object_get(g, "u_test"), "shape"));
            snprintf(title + n, sizeof title - (size_t)n, ": no U (%s)", shape ? shape : "-");
        } else if (verdict) {
            snprintf(title + n, sizeof title - (size_t)n, ": too few points to test a U");
        }
        sb_printf(&titles, "%s", b ? ", " : "");
        sb_quoted(&titles, title);
        sb_printf(&rs, "%s", b ? ", " : "");
        sb_num(&rs, star);
        sb_printf(&lo, "%s", b ? ", " : "");
        sb_num(&lo, star_lo);
        sb_printf(&hi, "%s", b ? ", " : "");
        sb_num(&hi, star_hi);

        int curve_points = 0;
        if (g) {
            const json_t *curve = u ? json_object_get(g, "curve")
                                    : json_object_get(json_object_get(g, "monotone"), "curve");
            const json_t *model = u ? json_object_get(g, "model") : json_object_get(json_object_get(g, "monotone"), "model");
            sbuf block = {0};
            sb_printf(&block, "# C = %.10g FLOPs: fitted %s curve (%s), rho, val_loss minus %.10g\n", s->key,
                      json_is_string(model) ? json_string_value(model) : "-", u ? "U by the two-lines test" : "no U",
                      offset[b]);
            curve_points = write_curve_minus(&block, curve, offset[b]);
            if (curve_points > 1) {
                sb_printf(&fitdat, "%s\n\n", sb_str(&block));
                sb_printf(&fitted, "%s%d", fitted.len ? " " : "", b + 1);
                sb_printf(&fitted_dt, "%s%d", fitted_dt.len ? " " : "", u ? 1 : 2);
                n_u += u;
                n_mono += !u;
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
        ymax = 1;
    }
    double ylo, yhi;
    range_pad(ymin, ymax, 0.06, 0.14, &ylo, &yhi);
    for (int i = 0; i < j->n_rows; i++) {
        const result_row *r = &j->rows[i];
        if (strcmp(r->kind, "allocation") != 0 || !isfinite(r->rho) || plot_row_ok(r))
            continue;
        for (int b = 0; b < budgets.n; b++)
            if (fabs(budgets.s[b].key - r->budget) <= 1e-9 * fabs(r->budget))
                sb_printf(&divdat, "%.10g\t%d\t%s\n", r->rho, b + 1, r->run);
        n_diverged++;
    }
    free(offset);
    if (!divdat.len)
        sb_printf(&divdat, "# no diverged runs\n");
    if (!fitdat.len)
        sb_printf(&fitdat, "# no fitted curves (no fit.json, or no fit succeeded)\n");
    if (!optdat.len)
        sb_printf(&optdat, "# no U, so no rho*\n");

    vars_set(&v, "TITLE", "Sparsity allocation: MoE experts vs Engram (%s)", j->experiment);
    vars_set(&v, "N_BUDGETS", "%d", budgets.n);
    vars_set(&v, "BUDGET_TITLES", "%s", sb_str(&titles));
    vars_set(&v, "RHO_STAR", "%s", sb_str(&rs));
    vars_set(&v, "RHO_LO", "%s", sb_str(&lo));
    vars_set(&v, "RHO_HI", "%s", sb_str(&hi));
    vars_set(&v, "FITTED", "%s", sb_str(&fitted));
    vars_set(&v, "FITTED_DT", "%s", sb_str(&fitted_dt));
    vars_set(&v, "UNFITTED", "%s", sb_str(&unfitted));
    vars_set(&v, "N_U_CURVES", "%d", n_u);
    vars_set(&v, "N_MONOTONE_CURVES", "%d", n_mono);
    vars_set(&v, "N_OPTIMA", "%d", optdat.len && optdat.data[0] != '#' ? 1 : 0);
    vars_set(&v, "N_DIVERGED", "%d", n_diverged ? 1 : 0);
    vars_set(&v, "DIVERGED_Y", "%.10g", ymax + 0.5 * (yhi - ymax));
    vars_set(&v, "YMIN", "%.10g", ylo);
    vars_set(&v, "YMAX", "%.10g", yhi);
    /* one key line per budget plus the line of symbols */
    vars_set(&v, "KEY_ROWS", "%d", budgets.n + (n_u > 0) + (n_mono > 0) + (n_optima_any(&optdat)) + (n_diverged > 0));
    vars_ytics(&v, ylo, yhi);
    if ((rc = job_write(j, "allocation.dat", &pts)) || (rc = job_write(j, "allocation_fit.dat", &fitdat)) ||
        (rc = job_write(j, "allocation_optimum.dat", &optdat)) ||
        (rc = job_write(j, "allocation_diverged.dat", &divdat)))
        goto done;
    rc = job_script(j, "allocation", "allocation", &v);
done:
    series_list_free(&budgets);
    sb_free(&pts), sb_free(&fitdat), sb_free(&optdat), sb_free(&divdat);
    sb_free(&titles), sb_free(&rs), sb_free(&lo), sb_free(&hi);
    sb_free(&fitted), sb_free(&fitted_dt), sb_free(&unfitted);
    vars_free(&v);
    return rc;
}

/* ---- rho*(C) ------------------------------------------------------------- */

int figure_rho_star(job *j)
{
    if (!j->fit)
        return ES_OK;
    sbuf dat = {0}, nw = {0};
    vars v = {0};
    int n = 0, n_nw = 0, n_u = 0, rc = ES_OK;
    double cmin = INFINITY, cmax = -INFINITY;
    sb_printf(&dat, "# budget C (FLOPs), rho, low, high, kind: 1 = rho* of a U by the two-lines test with its 95%% "
                    "interval; 0 = no U: the best measured rho (low = high = rho)\n");
    sb_printf(&nw, "# budget C (FLOPs), a rho not significantly worse than the best measured (budgets without a U)\n");
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(j->fit, "allocation"), i, g)
    {
        double c = plot_jnum(g, "budget");
        int u = is_u(g) && isfinite(plot_jnum(g, "rho_star"));
        double y = u ? plot_jnum(g, "rho_star") : plot_jnum(g, "best_measured_rho");
        if (!(c > 0) || !isfinite(y))
            continue;
        double lo = u ? plot_jnum_at(g, "rho_star_ci", 0) : NAN, hi = u ? plot_jnum_at(g, "rho_star_ci", 1) : NAN;
        if (!u) {
            /* the rho not significantly worse, one mark each: the set need
             * not be an interval (with 2 seeds a far rho can be
             * unresolved while a near one is resolved worse) */
            size_t k;
            const json_t *r;
            json_array_foreach(json_object_get(g, "not_worse"), k, r)
            {
                sb_printf(&nw, "%.10g\t%.10g\n", c, json_number_value(r));
                n_nw++;
            }
        }
        sb_printf(&dat, "%.10g\t%.10g\t", c, y);
        sb_num(&dat, isfinite(lo) ? lo : y);
        sb_printf(&dat, "\t");
        sb_num(&dat, isfinite(hi) ? hi : y);
        sb_printf(&dat, "\t%d\n", u);
        n_u += u;
        cmin = fmin(cmin, c);
        cmax = fmax(cmax, c);
        n++;
    }
    if (n >= 2) {
        vars_set(&v, "TITLE", "Optimal allocation across budgets (%s)", j->experiment);
        /* a decade's margin keeps the end points off the frame */
        vars_set(&v, "XMIN", "%.10g", pow(10, floor(log10(cmin) - 0.3)));
        vars_set(&v, "XMAX", "%.10g", pow(10, ceil(log10(cmax) + 0.3)));
        vars_set(&v, "N_NOT_WORSE", "%d", n_nw);
        vars_set(&v, "N_U", "%d", n_u);
        vars_set(&v, "N_NO_U", "%d", n - n_u);
        if (!(rc = job_write(j, "rho_star.dat", &dat)) && !(rc = job_write(j, "rho_star_not_worse.dat", &nw)))
            rc = job_script(j, "rho_star", "rho_star", &v);
    }
    sb_free(&dat);
    sb_free(&nw);
    vars_free(&v);
    return rc;
}

