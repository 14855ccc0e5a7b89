/* The memory-scaling fits: loss against memory slots for one memory type. */
#include "fit/internal.h"
#include "fit/nlls.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* x = M / Mg (Mg the geometric mean of the slots) keeps B and x^-alpha of
 * order one whatever the slot counts, which conditions J'J. */
typedef struct {
    const double *x, *y;
    size_t n;
} pw_data;

/* parameters: L_inf, B, alpha with L = L_inf + B x^-alpha */
static double pw_eval(const double *t, double x) { return t[0] + t[1] * pow(x, -t[2]); }

static int pw_f(const gsl_vector *par, void *vdata, gsl_vector *f)
{
    const pw_data *d = vdata;
    double t[3] = {gsl_vector_get(par, 0), gsl_vector_get(par, 1), gsl_vector_get(par, 2)};
    for (size_t i = 0; i < d->n; i++)
        gsl_vector_set(f, i, pw_eval(t, d->x[i]) - d->y[i]);
    return GSL_SUCCESS;
}

static int pw_df(const gsl_vector *par, void *vdata, gsl_matrix *J)
{
    const pw_data *d = vdata;
    double B = gsl_vector_get(par, 1), alpha = gsl_vector_get(par, 2);
    for (size_t i = 0; i < d->n; i++) {
        double xa = pow(d->x[i], -alpha);
        gsl_matrix_set(J, i, 0, 1.0);
        gsl_matrix_set(J, i, 1, xa);
        gsl_matrix_set(J, i, 2, -B * log(d->x[i]) * xa);
    }
    return GSL_SUCCESS;
}

/* A start by variable projection: for fixed alpha the model is linear in
 * (L_inf, B), so a scan of alpha with a straight-line fit of y on x^-alpha
 * finds the basin of the optimum without a guess of the floor L_inf. */
static int pw_start(const double *x, const double *y, size_t n, double *t)
{
    double *u = malloc(n * sizeof *u);
    if (!u)
        return -1;
    double best = INFINITY;
    for (int k = 0; k <= 80; k++) {
        double alpha = 0.01 * pow(300.0, k / 80.0); /* 0.01 .. 3 */
        for (size_t i = 0; i < n; i++)
            u[i] = pow(x[i], -alpha);
        double c0, c1, c00, c01, c11, ss;
        if (gsl_fit_linear(u, 1, y, 1, n, &c0, &c1, &c00, &c01, &c11, &ss) != GSL_SUCCESS || !(c1 > 0))
            continue;
        if (ss < best) {
            best = ss;
            t[0] = c0;
            t[1] = c1;
            t[2] = alpha;
        }
    }
    free(u);
    return isfinite(best) ? 0 : -1;
}

static int pw_fit(nlls_solver *s, const double *x, const double *y, size_t n, const double *t0, double *t,
                  double *rss, double *cov)
{
    pw_data d = {.x = x, .y = y, .n = n};
    gsl_multifit_nlinear_fdf fdf = {.f = pw_f, .df = pw_df, .fvv = NULL, .n = n, .p = 3, .params = &d};
    double start[3];
    if (!t0) {
        if (pw_start(x, y, n, start))
            return -1;
        t0 = start;
    }
    return nlls_solve(s, &fdf, t0, t, rss, cov);
}

static void pw_null_fields(json_t *e)
{
    static const char *const keys[] = {"l_inf", "l_inf_se", "A", "alpha", "alpha_se", "alpha_ci", "alpha_wald_ci",
                                       "loglinear", "curve"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        json_object_set_new(e, keys[i], json_null());
    json_object_set_new(e, "bootstrap", json_pack("{s:i, s:i}", "samples", 0, "failed", 0));
}

json_t *fit_memory(const char *memory, const double *slots, const double *loss, int n, const fit_options *opt,
                   int *fitted, char *reason, size_t reason_size)
{
    *fitted = 0;
    json_t *e = json_object();
    json_object_set_new(e, "memory", json_string(memory));
    json_object_set_new(e, "n_runs", json_integer(n));
    json_object_set_new(e, "warnings", json_array());
    fit_json_points(e, "slots", slots, loss, n);
    pw_null_fields(e);
    size_t un = (size_t)n;
    int distinct = nlls_distinct(slots, un);
    double lmin = gsl_stats_min(loss, 1, un), lmax = gsl_stats_max(loss, 1, un);
    if (distinct < 2) {
        fit_warn(e, reason, reason_size, "memory %s: %d distinct slot count%s, a memory fit needs at least 3", memory,
                 distinct, distinct == 1 ? "" : "s");
        return e;
    }
    if (lmax - lmin <= 1e-12 * fmax(1.0, fabs(lmax))) {
        fit_warn(e, reason, reason_size, "memory %s: all %d losses are equal (%.6g): no scaling to fit", memory, n,
                 lmin);
        return e;
    }
    double *lx = malloc(un * sizeof *lx), *ly = malloc(un * sizeof *ly), *x = malloc(un * sizeof *x);
    if (!lx || !ly || !x) {
        free(lx);
        free(ly);
        free(x);
        fit_warn(e, reason, reason_size, "memory %s: out of memory", memory);
        return e;
    }
    double lg = 0;
    for (size_t i = 0; i < un; i++) {
        lx[i] = log(slots[i]);
        ly[i] = log(loss[i]);
        lg += lx[i] / (double)n;
    }
    double mg = exp(lg);
    for (size_t i = 0; i < un; i++)
        x[i] = slots[i] / mg;

    /* ln L = c + s ln M: the paper's straight line in log-log axes */
    double c0, c1, c00, c01, c11, ss;
    if (gsl_fit_linear(lx, 1, ly, 1, un, &c0, &c1, &c00, &c01, &c11, &ss) == GSL_SUCCESS && isfinite(c1)) {
        json_object_set_new(e, "loglinear",
                            json_pack("{s:s, s:o, s:o, s:o}", "form", "ln L = intercept + slope ln M", "slope",
                                      fit_json_number(c1), "slope_se",
                                      fit_json_number(n > 2 ? sqrt(c11) : NAN), "intercept", fit_json_number(c0)));
        *fitted = 1;
    }

    if (distinct < 3) {
        fit_warn(e, reason, reason_size,
                 "memory %s: %d distinct slot counts, the power law L_inf + A M^-alpha needs at least 3 (only the "
                 "log-linear fit is reported)", memory, distinct);
        goto done;
    }
    nlls_solver *s = nlls_new(un, 3);
    double t[3], rss, cov[9];
    if (!s || pw_fit(s, x, loss, un, NULL, t, &rss, cov) != 0) {
        fit_warn(e, reason, reason_size, "memory %s: the power law L_inf + A M^-alpha did not converge (the loss may "
                 "be log-linear in M; see loglinear)", memory);
        nlls_free(s);
        goto done;
    }
    *fitted = 1;
    int has_se = n > 3;
    double se_alpha = has_se ? sqrt(cov[8]) : NAN;
    json_object_set_new(e, "l_inf", fit_json_number(t[0]));
    json_object_set_new(e, "l_inf_se", fit_json_number(has_se ? sqrt(cov[0]) : NAN));
    json_object_set_new(e, "A", fit_json_number(t[1] * pow(mg, t[2])));
    json_object_set_new(e, "alpha", fit_json_number(t[2]));
    json_object_set_new(e, "alpha_se", fit_json_number(se_alpha));
    if (has_se) {
        double tq = gsl_cdf_tdist_Pinv(0.975, (double)(n - 3));
        json_object_set_new(e, "alpha_wald_ci", fit_json_pair(t[2] - tq * se_alpha, t[2] + tq * se_alpha));
    } else {
        fit_warn(e, NULL, 0, "memory %s: %d runs for 3 parameters: an exact fit, no standard errors", memory, n);
    }
    if (!(t[2] > 0) || !(t[1] > 0))
        fit_warn(e, NULL, 0, "memory %s: the loss does not fall with memory (alpha = %.3g, A = %.3g)", memory, t[2],
                 t[1]);
    double smin = gsl_stats_min(slots, 1, un), smax = gsl_stats_max(slots, 1, un);
    json_t *curve = json_array();
    for (int i = 0; i < FIT_MEMORY_CURVE_POINTS; i++) {
        double m = smin * pow(smax / smin, (double)i / (FIT_MEMORY_CURVE_POINTS - 1));
        json_array_append_new(curve, json_pack("[o, o]", json_real(m), fit_json_number(pw_eval(t, m / mg))));
    }
    json_object_set_new(e, "curve", curve);

    if (opt->bootstrap > 0) {
        /* rows resampled with replacement, refitted from the full-data fit */
        double *xb = malloc(un * sizeof *xb), *yb = malloc(un * sizeof *yb);
        double *alphas = malloc((size_t)opt->bootstrap * sizeof *alphas);
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        int failed = 0, used = 0;
        if (xb && yb && alphas && rng) {
            gsl_rng_set(rng, opt->seed);
            for (int k = 0; k < opt->bootstrap; k++) {
                for (size_t i = 0; i < un; i++) {
                    size_t j = gsl_rng_uniform_int(rng, un);
                    xb[i] = x[j];
                    yb[i] = loss[j];
                }
                double tb[3], rb;
                if (nlls_distinct(xb, un) < 3 ||
                    (pw_fit(s, xb, yb, un, t, tb, &rb, NULL) != 0 && pw_fit(s, xb, yb, un, NULL, tb, &rb, NULL) != 0))
                    failed++;
                else
                    alphas[used++] = tb[2];
            }
            json_object_set_new(e, "bootstrap", json_pack("{s:i, s:i, s:s}", "samples", opt->bootstrap, "failed", failed,
                                                          "interval", FIT_INTERVAL_METHOD));
            if (used >= 10 && 2 * used >= opt->bootstrap) {
                double lo, hi;
                fit_percentile_interval(alphas, (size_t)used, n, 3, &lo, &hi);
                json_object_set_new(e, "alpha_ci", fit_json_pair(lo, hi));
            }
            if (failed > opt->bootstrap / 10)
                fit_warn(e, NULL, 0, "memory %s: %d of %d bootstrap refits failed; the interval %s", memory, failed,
                         opt->bootstrap, 2 * used >= opt->bootstrap ? "describes the rest" : "is not reported");
        } else {
            fit_warn(e, NULL, 0, "memory %s: out of memory for the bootstrap", memory);
        }
        gsl_rng_free(rng);
        free(alphas);
        free(yb);
        free(xb);
    }
    nlls_free(s);
done:
    free(x);
    free(ly);
    free(lx);
    return e;
}
