/* Monotone models of loss against rho, the AICc competitors of the U
 * models (allocation.c):
 *   linear       L = a + b rho                               (a, b)
 *   exponential  L = a + b exp(c (rho - r0))                 (a, b, c)
 * The exponential is monotone for every parameter value and bends at one
 * end only: it is flat and then rising (or falling and then flat) when |c|
 * is large, a line when c -> 0. That is the hockey stick a quadratic
 * mistakes for a U, with the quadratic's three parameters, so AICc weighs
 * the two on equal terms. r0 is the largest rho for c > 0 and the smallest
 * for c < 0 (fixed, not fitted), so the column exp(c (rho - r0)) lies in
 * (0, 1] and the least squares stay well conditioned.
 *
 * Fitting: for a fixed c the model is linear in (a, b), so RSS(c) is
 * profiled on a grid of c in [-60, 60] and the best grid cell refined by
 * golden-section search (no starting values to guess, no local minimum of
 * a nonlinear solver to fall into). */
#include "fit/internal.h"
#include "fit/nlls.h"

#include <gsl/gsl_min.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <string.h>

#define C_MAX 60.0
#define C_GRID 480

typedef struct {
    const double *x, *y;
    int n;
    double xmin, xmax;
} mono_data;

static double ref_of(const mono_data *d, double c) { return c > 0 ? d->xmax : d->xmin; }

/* OLS of y on (1, g): returns RSS, a and b. */
static double line_fit(const double *g, const double *y, int n, double *a, double *b)
{
    double mg = 0, my = 0;
    for (int i = 0; i < n; i++) {
        mg += g[i];
        my += y[i];
    }
    mg /= n;
    my /= n;
    double sgg = 0, sgy = 0;
    for (int i = 0; i < n; i++) {
        sgg += (g[i] - mg) * (g[i] - mg);
        sgy += (g[i] - mg) * (y[i] - my);
    }
    if (!(sgg > 0))
        return NAN;
    *b = sgy / sgg;
    *a = my - *b * mg;
    double rss = 0;
    for (int i = 0; i < n; i++) {
        double r = y[i] - *a - *b * g[i];
        rss += r * r;
    }
    return rss;
}

static double exp_rss(double c, void *vd)
{
    const mono_data *d = vd;
    double g[FIT_MONOTONE_MAX_N], a, b;
    double r0 = ref_of(d, c);
    for (int i = 0; i < d->n; i++)
        g[i] = exp(c * (d->x[i] - r0));
    double rss = line_fit(g, d->y, d->n, &a, &b);
    return isfinite(rss) ? rss : HUGE_VAL;
}

double fit_monotone_eval(const fit_monotone *m, double x)
{
    if (strcmp(m->name, "linear") == 0)
        return m->t[0] + m->t[1] * x;
    return m->t[0] + m->t[1] * exp(m->t[2] * (x - m->t[3]));
}

void fit_monotone_models(const double *x, const double *y, int n, fit_monotone out[FIT_MONOTONE_MODELS])
{
    memset(out, 0, FIT_MONOTONE_MODELS * sizeof *out);
    out[0].name = "linear";
    out[0].k = 2;
    out[1].name = "exponential";
    out[1].k = 3;
    out[0].rss = out[1].rss = NAN;
    if (n < 3 || n > FIT_MONOTONE_MAX_N)
        return;
    out[0].rss = line_fit(x, y, n, &out[0].t[0], &out[0].t[1]);
    out[0].ok = isfinite(out[0].rss);

    mono_data d = {x, y, n, x[0], x[0]};
    for (int i = 0; i < n; i++) {
        d.xmin = fmin(d.xmin, x[i]);
        d.xmax = fmax(d.xmax, x[i]);
    }
    if (nlls_distinct(x, (size_t)n) < 3)
        return; /* three parameters need three distinct rho */
    /* the grid, skipping |c| < step (a line, which is the linear model) */
    double step = 2 * C_MAX / C_GRID, best_c = NAN, best = HUGE_VAL;
    for (int k = 0; k <= C_GRID; k++) {
        double c = -C_MAX + k * step;
        if (fabs(c) < 0.5 * step)
            continue;
        double r = exp_rss(c, &d);
        if (r < best) {
            best = r;
            best_c = c;
        }
    }
    if (!isfinite(best_c))
        return;
    double lo = best_c - step, hi = best_c + step;
    if (lo < 0 && best_c > 0)
        lo = 0.5 * step;
    if (hi > 0 && best_c < 0)
        hi = -0.5 * step;
    lo = fmax(lo, -C_MAX);
    hi = fmin(hi, C_MAX);
    gsl_function F = {exp_rss, &d};
    gsl_min_fminimizer *s = gsl_min_fminimizer_alloc(gsl_min_fminimizer_goldensection);
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    double c = best_c;
    if (s && best_c > lo && best_c < hi && exp_rss(lo, &d) > best && exp_rss(hi, &d) > best &&
        gsl_min_fminimizer_set(s, &F, best_c, lo, hi) == GSL_SUCCESS) {
        for (int it = 0; it < 100; it++) {
            if (gsl_min_fminimizer_iterate(s) != GSL_SUCCESS)
                break;
            double a = gsl_min_fminimizer_x_lower(s), b = gsl_min_fminimizer_x_upper(s);
            if (gsl_min_test_interval(a, b, 1e-8, 0) == GSL_SUCCESS)
                break;
        }
        if (gsl_min_fminimizer_f_minimum(s) < best)
            c = gsl_min_fminimizer_x_minimum(s);
    }
    gsl_set_error_handler(old);
    if (s)
        gsl_min_fminimizer_free(s);
    double g[FIT_MONOTONE_MAX_N];
    double r0 = ref_of(&d, c);
    for (int i = 0; i < n; i++)
        g[i] = exp(c * (x[i] - r0));
    out[1].rss = line_fit(g, y, n, &out[1].t[0], &out[1].t[1]);
    out[1].t[2] = c;
    out[1].t[3] = r0;
    out[1].ok = isfinite(out[1].rss);
}
