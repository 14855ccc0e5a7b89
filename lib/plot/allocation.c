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

/* The shape the two-lines test gives a budget, short enough for a label
 * above its column: "U", "rising", "falling", "flat", "not resolved",
 * "too few to test". */
static const char *shape_label(const json_t *g)
{
    const char *v = verdict_of(g);
    const char *shape = json_string_value(json_object_get(json_object_get(g, "u_test"), "shape"));
    if (v && strcmp(v, "U") == 0)
        return "U";
    if (v && strcmp(v, "no U") == 0 && shape)
        return shape;
    return v ? "too few to test" : "no test";
}

/* Label heights, in data units above rho = 1: a label moves up a row when
 * it would touch its left neighbour on the row below. The width of a label
 * is estimated in decades of the log axis from its length (the PNG's
 * 15-point key font is about 9 of the plot's 830 pixels per character). */
enum { SHAPE_ROWS = 3 };
#define SHAPE_Y0 1.11
#define SHAPE_DY 0.075

static void shape_rows(const double *lc, const char *const *labels, int n, double span_decades, double *y)
{
    double right[SHAPE_ROWS]; /* the right end of the last label of each row */
    for (int r = 0; r < SHAPE_ROWS; r++)
        right[r] = -INFINITY;
    for (int i = 0; i < n; i++) {
        double half = 0.5 * (double)(strlen(labels[i]) + 1) * 9.0 / 830.0 * span_decades;
        int r = 0;
        while (r < SHAPE_ROWS - 1 && lc[i] - half < right[r])
            r++;
        right[r] = lc[i] + half;
        y[i] = SHAPE_Y0 + SHAPE_DY * r;
    }
}

int figure_rho_star(job *j)
{
    if (!j->fit)
        return ES_OK;
    sbuf dat = {0}, nw = {0}, shp = {0};
    vars v = {0};
    int n = 0, n_nw = 0, n_u = 0, rc = ES_OK;
    double cmin = INFINITY, cmax = -INFINITY;
    size_t n_fits = json_array_size(json_object_get(j->fit, "allocation"));
    double *lc = calloc(n_fits + 1, sizeof *lc), *ly = calloc(n_fits + 1, sizeof *ly);
    const char **labels = calloc(n_fits + 1, sizeof *labels);
    int *kinds = calloc(n_fits + 1, sizeof *kinds);
    if (!lc || !ly || !labels || !kinds) {
        rc = es_error(ES_ENOMEM, "out of memory");
        goto done;
    }
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
        lc[n] = log10(c);
        labels[n] = shape_label(g);
        kinds[n] = u;
        n_u += u;
        cmin = fmin(cmin, c);
        cmax = fmax(cmax, c);
        n++;
    }
    if (n >= 2) {
        /* a decade's margin keeps the end points off the frame */
        double lmin = floor(log10(cmin) - 0.3), lmax = ceil(log10(cmax) + 0.3);
        shape_rows(lc, labels, n, lmax - lmin, ly);
        double top = 0;
        sb_printf(&shp, "# budget C (FLOPs), label height, the shape by the two-lines test, kind (1: U)\n");
        for (int k = 0; k < n; k++) {
            sb_printf(&shp, "%.10g\t%.4g\t", pow(10, lc[k]), ly[k]);
            sb_quoted(&shp, labels[k]);
            sb_printf(&shp, "\t%d\n", kinds[k]);
            top = fmax(top, ly[k]);
        }
        vars_set(&v, "TITLE", "Optimal allocation across budgets (%s)", j->experiment);
        vars_set(&v, "XMIN", "%.10g", pow(10, lmin));
        vars_set(&v, "XMAX", "%.10g", pow(10, lmax));
        vars_set(&v, "YMAX", "%.4g", top + 0.06);
        vars_set(&v, "N_NOT_WORSE", "%d", n_nw);
        vars_set(&v, "N_U", "%d", n_u);
        vars_set(&v, "N_NO_U", "%d", n - n_u);
        if (!(rc = job_write(j, "rho_star.dat", &dat)) && !(rc = job_write(j, "rho_star_not_worse.dat", &nw)) &&
            !(rc = job_write(j, "rho_star_shape.dat", &shp)))
            rc = job_script(j, "rho_star", "rho_star", &v);
    }
done:
    free(lc);
    free(ly);
    free(labels);
    free(kinds);
    sb_free(&dat);
    sb_free(&nw);
    sb_free(&shp);
    vars_free(&v);
    return rc;
}

/* ---- the rho = 1 minus rho = 0 gap against C ------------------------------ */

/* fit.json's gap_trend: the measured gaps with their SE and 95% interval,
 * the fitted line over the measured budgets (solid) and, where the gap
 * shrinks toward zero, its extension to the projected crossing (dashed,
 * over a shaded extrapolation) with the crossing's Fieller interval. */
int figure_gap(job *j)
{
    const json_t *gt = j->fit ? json_object_get(j->fit, "gap_trend") : NULL;
    const json_t *rows = json_object_get(gt, "budgets");
    if (json_array_size(rows) < 2)
        return ES_OK;
    sbuf dat = {0}, line = {0}, cross = {0};
    vars v = {0};
    int rc = ES_OK, n_cross = 0;
    double cmin = INFINITY, cmax = -INFINITY, ymin = 0, ymax = 0; /* zero always in view */
    sb_printf(&dat, "# budget C (FLOPs), L(rho=1) - L(rho=0) (mean over seeds), SE, 95%% t interval low, high\n");
    size_t i;
    const json_t *e;
    json_array_foreach(rows, i, e)
    {
        double c = plot_jnum(e, "budget"), m = plot_jnum(e, "mean"), se = plot_jnum(e, "se");
        double lo = plot_jnum(e, "lo"), hi = plot_jnum(e, "hi");
        if (!(c > 0) || !isfinite(m))
            continue;
        sb_printf(&dat, "%.10g\t%.10g\t", c, m);
        sb_num(&dat, se);
        sb_printf(&dat, "\t");
        sb_num(&dat, lo);
        sb_printf(&dat, "\t");
        sb_num(&dat, hi);
        sb_printf(&dat, "\n");
        cmin = fmin(cmin, c);
        cmax = fmax(cmax, c);
        ymin = fmin(ymin, isfinite(lo) ? lo : m);
        ymax = fmax(ymax, isfinite(hi) ? hi : m);
    }
    const json_t *fit = json_object_get(gt, "fit"), *proj = json_object_get(gt, "projection");
    double a = plot_jnum(fit, "a"), b = plot_jnum(fit, "b");
    const char *status = json_string_value(json_object_get(proj, "status"));
    int have_line = isfinite(a) && isfinite(b) && cmax > cmin;
    int projected = have_line && status && strcmp(status, "projected") == 0;
    double x0 = plot_jnum(proj, "log10_c0");
    double x_lo = plot_jnum_at(proj, "log10_c0_ci", 0), x_hi = plot_jnum_at(proj, "log10_c0_ci", 1);
    /* the axis: the measured budgets, and the crossing when projected, at
     * most 12 decades past the largest budget so the measured points keep
     * some room (a farther crossing is named in the key) */
    double lx_max = log10(cmax);
    if (projected && isfinite(x0))
        lx_max = fmax(lx_max, fmin(isfinite(x_hi) ? fmax(x0, x_hi) : x0, log10(cmax) + 12));
    double xmin = pow(10, floor(log10(cmin) - 0.3)), xmax = pow(10, ceil(lx_max + 0.3));
    sb_printf(&line, "# the fitted line gap = a + b log10 C, a = %.10g, b = %.10g: measured range, then (dashed) its "
                     "extension to the projected crossing\n", a, b);
    if (have_line) {
        for (int k = 0; k < 2; k++) {
            double c = k ? cmax : cmin, y = a + b * log10(c);
            sb_printf(&line, "%.10g\t%.10g\n", c, y);
            ymin = fmin(ymin, y);
            ymax = fmax(ymax, y);
        }
        sb_printf(&line, "\n\n");
        if (projected && isfinite(x0)) {
            double c_end = pow(10, fmin(x0, log10(xmax)));
            sb_printf(&line, "%.10g\t%.10g\n%.10g\t%.10g\n", cmax, a + b * log10(cmax), c_end, a + b * log10(c_end));
        }
    }
    char cross_title[256] = "";
    sb_printf(&cross, "# log10 C0 where the line reaches zero, and its 95%% Fieller interval (C0, low, high)\n");
    if (projected && isfinite(x0)) {
        char p0[64], plo[64], phi[64];
        format_power(p0, sizeof p0, pow(10, x0));
        if (isfinite(x_lo) && isfinite(x_hi)) {
            format_power(plo, sizeof plo, pow(10, x_lo));
            format_power(phi, sizeof phi, pow(10, x_hi));
            snprintf(cross_title, sizeof cross_title, "zero, extrapolated: C = %s FLOPs, 95%% Fieller [%s, %s]", p0, plo,
                     phi);
        } else {
            snprintf(cross_title, sizeof cross_title,
                     "zero, extrapolated: C = %s FLOPs, Fieller interval unbounded", p0);
        }
        if (x0 <= log10(xmax)) {
            n_cross = 1;
            sb_printf(&cross, "%.10g\t", pow(10, x0));
            sb_num(&cross, isfinite(x_lo) ? pow(10, x_lo) : pow(10, x0));
            sb_printf(&cross, "\t");
            sb_num(&cross, isfinite(x_hi) ? pow(10, x_hi) : pow(10, x0));
            sb_printf(&cross, "\n");
        }
    }
    double ylo, yhi;
    range_pad(ymin, ymax, 0.08, 0.08, &ylo, &yhi);
    char fit_title[320] = "";
    if (have_line) {
        int weighted = strncmp(json_string_value(json_object_get(fit, "method")), "weighted", 8) == 0;
        /* weighted (1/SE^2) unless it says otherwise; the key has one line */
        int n = snprintf(fit_title, sizeof fit_title, "fit%s: gap = %.3f %s %.4f log_{10} C", weighted ? "" : " (unweighted)",
                         a, b < 0 ? "−" : "+", fabs(b));
        const json_t *bci = json_object_get(fit, "b_ci");
        if (json_is_array(bci) && json_is_number(json_array_get(bci, 0)) && json_is_number(json_array_get(bci, 1)))
            n += snprintf(fit_title + n, sizeof fit_title - (size_t)n, ", slope 95%% [%+.3f, %+.3f]",
                          json_number_value(json_array_get(bci, 0)), json_number_value(json_array_get(bci, 1)));
        /* a line the points scatter far beyond says so in its own key entry */
        double chi2_df = plot_jnum(fit, "chi2_per_df");
        if (weighted && isfinite(chi2_df) && chi2_df > 2)
            snprintf(fit_title + n, sizeof fit_title - (size_t)n, ", χ^2/df %.1f", chi2_df);
    }
    sbuf ft = {0}, ct = {0};
    sb_quoted(&ft, fit_title);
    sb_quoted(&ct, cross_title);
    vars_set(&v, "TITLE", "Pure MoE minus pure memory against compute (%s)", j->experiment);
    vars_set(&v, "XMIN", "%.10g", xmin);
    vars_set(&v, "XMAX", "%.10g", xmax);
    vars_set(&v, "YMIN", "%.10g", ylo);
    vars_set(&v, "YMAX", "%.10g", yhi);
    vars_ytics(&v, ylo, yhi);
    vars_set(&v, "C_MAX", "%.10g", cmax);
    vars_set(&v, "N_LINE", "%d", have_line);
    vars_set(&v, "N_EXTENSION", "%d", projected && isfinite(x0));
    vars_set(&v, "N_CROSSING", "%d", n_cross);
    vars_set(&v, "FIT_TITLE", "%s", sb_str(&ft));
    vars_set(&v, "CROSS_TITLE", "%s", sb_str(&ct));
    if (!(rc = job_write(j, "gap.dat", &dat)) && !(rc = job_write(j, "gap_fit.dat", &line)) &&
        !(rc = job_write(j, "gap_crossing.dat", &cross)))
        rc = job_script(j, "gap", "gap", &v);
    sb_free(&dat);
    sb_free(&line);
    sb_free(&cross);
    sb_free(&ft);
    sb_free(&ct);
    vars_free(&v);
    return rc;
}
