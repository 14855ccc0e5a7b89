/* The rho = 1 minus rho = 0 gap per budget, its straight-line trend in
 * log10 C and the Fieller interval of the compute where the line reaches
 * zero (gap.h); fit_gap_trend builds fit.json's "gap_trend". */
#include "fit/gap.h"
#include "fit/internal.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_fit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gap_line_fit(const double *x, const double *y, const double *se, int n, gap_line *out)
{
    *out = (gap_line){.n = n, .a = NAN, .b = NAN, .var_a = NAN, .var_b = NAN, .cov_ab = NAN, .df = NAN, .t = NAN,
                      .b_lo = NAN, .b_hi = NAN, .chi2 = NAN, .scale = NAN};
    if (n < 3)
        return -1;
    int spread = 0, weighted = se != NULL;
    for (int i = 0; i < n; i++) {
        spread |= x[i] != x[0];
        if (se && !(isfinite(se[i]) && se[i] > 0))
            weighted = 0;
    }
    if (!spread)
        return -1;
    double a, b, c00, c01, c11, chi2;
    int rc;
    if (weighted) {
        double *w = malloc((size_t)n * sizeof *w);
        if (!w)
            return -1;
        for (int i = 0; i < n; i++)
            w[i] = 1 / (se[i] * se[i]);
        rc = gsl_fit_wlinear(x, 1, w, 1, y, 1, (size_t)n, &a, &b, &c00, &c01, &c11, &chi2);
        free(w);
    } else {
        /* GSL scales this covariance by the residual variance RSS/(n - 2) */
        rc = gsl_fit_linear(x, 1, y, 1, (size_t)n, &a, &b, &c00, &c01, &c11, &chi2);
    }
    if (rc || !isfinite(a) || !isfinite(b))
        return -1;
    out->weighted = weighted;
    out->a = a;
    out->b = b;
    out->df = n - 2;
    out->chi2 = chi2;
    /* known SEs are a floor: a scatter beyond them widens the intervals */
    out->scale = weighted ? fmax(1.0, chi2 / out->df) : 1.0;
    out->var_a = c00 * out->scale;
    out->var_b = c11 * out->scale;
    out->cov_ab = c01 * out->scale;
    out->t = gsl_cdf_tdist_Pinv(0.975, out->df);
    double half = out->t * sqrt(out->var_b);
    out->b_lo = b - half;
    out->b_hi = b + half;
    return 0;
}

gap_root gap_root_fieller(double a, double b, double var_a, double var_b, double cov_ab, double t)
{
    gap_root r = {b != 0 ? -a / b : NAN, GAP_FIELLER_WHOLE_LINE, NAN, NAN};
    /* (a + b x)^2 <= t^2 var(a + b x): qa x^2 + 2 qb x + qc <= 0 */
    double t2 = t * t;
    double qa = b * b - t2 * var_b, qb = a * b - t2 * cov_ab, qc = a * a - t2 * var_a;
    double disc = qb * qb - qa * qc;
    if (!isfinite(qa) || !isfinite(disc))
        return r;
    if (qa > 0) {
        /* x0 satisfies the inequality, so disc >= 0 up to rounding */
        double s = sqrt(fmax(disc, 0.0));
        r.kind = GAP_FIELLER_BOUNDED;
        r.lo = (-qb - s) / qa;
        r.hi = (-qb + s) / qa;
    } else if (qa < 0 && disc > 0) {
        double s = sqrt(disc), r1 = (-qb - s) / qa, r2 = (-qb + s) / qa;
        r.kind = GAP_FIELLER_EXCLUSIVE;
        r.lo = fmin(r1, r2);
        r.hi = fmax(r1, r2);
    }
    return r;
}

/* ---- fit.json's gap_trend ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The runs of one budget at one end of the rho range. */
static int gather_end(const double *budget, const double *rho, const double *loss, const uint64_t *seed, int n,
                      double c, double end, double *y, uint64_t *s)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (budget[i] == c && fabs(rho[i] - end) <= 1e-9) {
            y[k] = loss[i];
            s[k] = seed ? seed[i] : 0;
            k++;
        }
    return k;
}

static json_t *fit_object(const gap_line *g, double x_max, const char *method_reason)
{
    json_t *o = json_object();
    json_object_set_new(o, "form", json_string("gap = a + b log10(C)"));
    json_object_set_new(o, "method", json_string(g->weighted ? "weighted least squares, weights 1/se^2"
                                                             : "ordinary least squares on the budget means"));
    if (method_reason)
        json_object_set_new(o, "method_reason", json_string(method_reason));
    json_object_set_new(o, "n", json_integer(g->n));
    json_object_set_new(o, "df", fit_json_number(g->df));
    json_object_set_new(o, "a", fit_json_number(g->a));
    json_object_set_new(o, "se_a", fit_json_number(sqrt(g->var_a)));
    json_object_set_new(o, "b", fit_json_number(g->b));
    json_object_set_new(o, "se_b", fit_json_number(sqrt(g->var_b)));
    json_object_set_new(o, "cov_ab", fit_json_number(g->cov_ab));
    json_object_set_new(o, "b_ci", fit_json_pair(g->b_lo, g->b_hi));
    json_object_set_new(o, "t_quantile", fit_json_number(g->t));
    json_object_set_new(o, "chi2", fit_json_number(g->chi2));
    /* the kind, and why: the report prints both */
    const char *kind, *note;
    if (!g->weighted) {
        kind = "residual";
        note = "from the scatter of the budget means about the line";
    } else if (g->scale > 1) {
        kind = "residual-scaled";
        note = "the budgets scatter about the line more than their SEs say, so GSL's known-SE covariance is "
               "multiplied by chi2/df";
    } else {
        kind = "known SEs";
        note = "the budgets scatter no more than their SEs say, and scaling the covariance down would claim more "
               "precision than the seeds give";
    }
    json_object_set_new(o, "chi2_per_df", fit_json_number(g->chi2 / g->df));
    json_object_set_new(o, "se_kind", json_string(kind));
    json_object_set_new(o, "se_note", json_string(note));
    json_object_set_new(o, "interval", json_string("95% t interval with n - 2 degrees of freedom"));
    json_object_set_new(o, "gap_at_largest", fit_json_number(g->a + g->b * x_max));
    return o;
}

/* "1.05e13"-like text for messages: %.3g is enough to name a budget. */
static const char *flops_text(char *buf, size_t size, double c)
{
    snprintf(buf, size, "%.3g", c);
    return buf;
}

json_t *fit_gap_trend(const double *budget, const double *rho, const double *loss, const uint64_t *seed, int n)
{
    json_t *out = json_object(), *rows = json_array();
    json_object_set_new(out, "definition",
                        json_string("gap(C) = L(rho = 1) - L(rho = 0): the mean over seeds of the per-seed "
                                    "differences where both ends have the same seeds (paired), else the "
                                    "difference of the means (Welch); 95% t interval. gap > 0: pure memory beats "
                                    "pure MoE; a left arm of the U needs gap < 0"));
    json_object_set_new(out, "budgets", rows);
    json_object_set_new(out, "fit", json_null()); /* keeps its place in the key order when set */
    size_t cap = (size_t)n + 1;
    double *cs = malloc(cap * sizeof *cs), *y1 = malloc(cap * sizeof *y1), *y0 = malloc(cap * sizeof *y0);
    double *gx = malloc(cap * sizeof *gx), *gy = malloc(cap * sizeof *gy), *gse = malloc(cap * sizeof *gse);
    uint64_t *s1 = malloc(cap * sizeof *s1), *s0 = malloc(cap * sizeof *s0);
    char no_se[256] = "";
    int nc = 0, m = 0;
    if (!cs || !y1 || !y0 || !gx || !gy || !gse || !s1 || !s0)
        goto done;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int k = 0; k < nc && !seen; k++)
            seen = cs[k] == budget[i];
        if (!seen)
            cs[nc++] = budget[i];
    }
    qsort(cs, (size_t)nc, sizeof *cs, cmp_double);
    for (int k = 0; k < nc; k++) {
        int n1 = gather_end(budget, rho, loss, seed, n, cs[k], 1.0, y1, s1);
        int n0 = gather_end(budget, rho, loss, seed, n, cs[k], 0.0, y0, s0);
        if (!n1 || !n0)
            continue;
        fit_delta d = fit_compare(y1, seed ? s1 : NULL, n1, y0, seed ? s0 : NULL, n0);
        const char *method = d.paired ? "paired" : isfinite(d.se) ? "welch" : "no SE (one run on a side)";
        json_array_append_new(rows, json_pack("{s:f, s:i, s:i, s:s, s:o, s:o, s:o, s:o, s:o}", "budget", cs[k],
                                              "n_rho0", n0, "n_rho1", n1, "method", method, "mean",
                                              fit_json_number(d.delta), "se", fit_json_number(d.se), "df",
                                              fit_json_number(d.df), "lo", fit_json_number(d.lo), "hi",
                                              fit_json_number(d.hi)));
        gx[m] = log10(cs[k]);
        gy[m] = d.delta;
        gse[m] = d.se;
        if (!(isfinite(d.se) && d.se > 0) && !no_se[0]) {
            char c[32];
            snprintf(no_se, sizeof no_se, "budget %s has %s", flops_text(c, sizeof c, cs[k]),
                     isfinite(d.se) ? "an SE of 0" : "no SE (one run at rho = 0 or rho = 1)");
        }
        m++;
    }
done:
    json_object_set_new(out, "n_budgets", json_integer(m));
    double x_max = m ? gx[m - 1] : NAN; /* budgets ascend */
    json_object_set_new(out, "largest_budget", m ? json_real(pow(10, x_max)) : json_null());
    json_t *proj = json_object();
    json_object_set_new(out, "projection", proj);
    static const char *const null_keys[] = {"log10_c0", "c0", "log10_c0_ci", "c0_ci", "fieller", "factor"};
    for (size_t i = 0; i < sizeof null_keys / sizeof *null_keys; i++)
        json_object_set_new(proj, null_keys[i], json_null());
    json_object_set_new(proj, "extrapolated", json_false());
    char status[512];
    gap_line g;
    if (m < 3 || gap_line_fit(gx, gy, gse, m, &g) != 0) {
        json_object_set_new(out, "fit", json_null());
        json_object_set_new(proj, "status", json_string("not fitted"));
        snprintf(status, sizeof status, "not fitted: %d budget%s with both rho = 0 and rho = 1%s", m,
                 m == 1 ? "" : "s", m < 3 ? " (a line with an interval needs 3)" : " (no line through them)");
        json_object_set_new(out, "status", json_string(status));
        goto free_all;
    }
    char reason[320];
    snprintf(reason, sizeof reason, "%s, so the budgets cannot be weighted by 1/se^2", no_se);
    json_t *fit = fit_object(&g, x_max, g.weighted ? NULL : reason);
    json_object_set_new(out, "fit", fit);
    if (g.weighted) {
        /* the same line unweighted: weights from 2 or 3 seeds are rough, so
         * a reader can see how much they move it */
        gap_line u;
        if (gap_line_fit(gx, gy, NULL, m, &u) == 0) {
            gap_root ur = gap_root_fieller(u.a, u.b, u.var_a, u.var_b, u.cov_ab, u.t);
            json_object_set_new(fit, "unweighted",
                                json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "method",
                                          "ordinary least squares on the budget means", "a", fit_json_number(u.a),
                                          "b", fit_json_number(u.b), "se_b", fit_json_number(sqrt(u.var_b)), "b_ci",
                                          fit_json_pair(u.b_lo, u.b_hi), "log10_c0",
                                          fit_json_number(u.b < 0 && u.a + u.b * x_max > 0 ? ur.x0 : NAN)));
        }
    }

    double g_max = g.a + g.b * x_max, c_max = pow(10, x_max);
    gap_root r = gap_root_fieller(g.a, g.b, g.var_a, g.var_b, g.cov_ab, g.t);
    char cm[32], c0[32], lo[32], hi[32];
    flops_text(cm, sizeof cm, c_max);
    const char *tag;
    if (g.b < 0) {
        /* the gap shrinks with compute: the line's zero is the crossing */
        int beyond = g_max > 0;
        tag = beyond ? "projected" : "crossed";
        json_object_set_new(proj, "log10_c0", fit_json_number(r.x0));
        json_object_set_new(proj, "c0", fit_json_number(pow(10, r.x0)));
        json_object_set_new(proj, "factor", fit_json_number(pow(10, r.x0 - x_max)));
        json_object_set_new(proj, "extrapolated", json_boolean(beyond));
        flops_text(c0, sizeof c0, pow(10, r.x0));
        char interval[160];
        if (r.kind == GAP_FIELLER_BOUNDED) {
            json_object_set_new(proj, "log10_c0_ci", fit_json_pair(r.lo, r.hi));
            json_object_set_new(proj, "c0_ci", fit_json_pair(pow(10, r.lo), pow(10, r.hi)));
            json_object_set_new(proj, "fieller", json_string("bounded"));
            snprintf(interval, sizeof interval, "95%% Fieller interval [%s, %s] FLOPs",
                     flops_text(lo, sizeof lo, pow(10, r.lo)), flops_text(hi, sizeof hi, pow(10, r.hi)));
        } else {
            json_object_set_new(proj, "fieller", json_string("unbounded: the slope is not significantly negative"));
            snprintf(interval, sizeof interval,
                     "95%% Fieller interval unbounded: the slope is not significantly negative");
        }
        if (beyond)
            snprintf(status, sizeof status, "extrapolated: if the trend holds, the gap reaches zero at C = %s FLOPs, "
                     "%.3g x beyond the largest measured budget (%s); %s", c0, pow(10, r.x0 - x_max), cm, interval);
        else
            snprintf(status, sizeof status, "the fitted gap is already <= 0 at the largest measured budget (%s): the "
                     "line crosses zero at C = %s FLOPs, not beyond the measured budgets; %s", cm, c0, interval);
    } else if (g_max > 0) {
        tag = "not shrinking";
        snprintf(status, sizeof status, "the gap does not shrink with compute over the measured budgets (b = %+.3g "
                 "nats per decade, 95%% interval [%+.3g, %+.3g]); no crossing projected", g.b, g.b_lo, g.b_hi);
    } else {
        tag = "already negative";
        snprintf(status, sizeof status, "the fitted gap is already < 0 at the largest measured budget (%s): pure MoE "
                 "is ahead there, and the gap does not fall further with compute (b = %+.3g nats per decade)", cm,
                 g.b);
    }
    json_object_set_new(proj, "status", json_string(tag));
    json_object_set_new(out, "status", json_string(status));
free_all:
    free(cs);
    free(y1);
    free(y0);
    free(gx);
    free(gy);
    free(gse);
    free(s1);
    free(s0);
    return out;
}
