/* The allocation fits of one budget: the two-lines test of a U (the
 * verdict, twolines.c), the best measured rho and the rho values not
 * significantly worse, and the curves that describe: three U models and
 * two monotone ones (monotone.c) compared by AICc. rho* and its bootstrap
 * interval are reported only where the two-lines test finds a U. */
#include "fit/internal.h"
#include "fit/nlls.h"
#include "fit/twolines.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { U_QUADRATIC, U_ASYMMETRIC, U_CUBIC, U_MODELS } u_model;

static const char *const U_NAMES[U_MODELS] = {"quadratic", "asymmetric", "cubic"};
static const int U_P[U_MODELS] = {3, 4, 4};
/* parameter names in order; rho* is always the last, L* the first */
static const char *const U_PARAMS[U_MODELS][NLLS_MAX_P] = {
    {"L_star", "a", "rho_star"}, {"L_star", "a_l", "a_r", "rho_star"}, {"L_star", "a", "b", "rho_star"}};

typedef struct {
    const double *x, *y;
    size_t n;
    u_model model;
} u_data;

typedef struct {
    int ok;
    double t[NLLS_MAX_P];
    double cov[NLLS_MAX_P * NLLS_MAX_P];
    double rss;
} u_fit;

static double u_eval(u_model m, const double *t, double x)
{
    switch (m) {
    case U_QUADRATIC: {
        double d = x - t[2];
        return t[0] + t[1] * d * d;
    }
    case U_ASYMMETRIC: {
        double d = x - t[3];
        return t[0] + (d < 0 ? t[1] : t[2]) * d * d;
    }
    default: {
        double d = x - t[3];
        return t[0] + t[1] * d * d + t[2] * d * d * d;
    }
    }
}

static int u_f(const gsl_vector *par, void *vdata, gsl_vector *f)
{
    const u_data *d = vdata;
    double t[NLLS_MAX_P];
    for (int j = 0; j < U_P[d->model]; j++)
        t[j] = gsl_vector_get(par, (size_t)j);
    for (size_t i = 0; i < d->n; i++)
        gsl_vector_set(f, i, u_eval(d->model, t, d->x[i]) - d->y[i]);
    return GSL_SUCCESS;
}

/* Analytic Jacobians; every model has zero slope at rho*, so the
 * asymmetric one is continuously differentiable in rho* too. */
static int u_df(const gsl_vector *par, void *vdata, gsl_matrix *J)
{
    const u_data *dt = vdata;
    double t[NLLS_MAX_P];
    for (int j = 0; j < U_P[dt->model]; j++)
        t[j] = gsl_vector_get(par, (size_t)j);
    for (size_t i = 0; i < dt->n; i++) {
        double d = dt->x[i] - t[U_P[dt->model] - 1];
        gsl_matrix_set(J, i, 0, 1.0);
        switch (dt->model) {
        case U_QUADRATIC:
            gsl_matrix_set(J, i, 1, d * d);
            gsl_matrix_set(J, i, 2, -2 * t[1] * d);
            break;
        case U_ASYMMETRIC:
            gsl_matrix_set(J, i, 1, d < 0 ? d * d : 0.0);
            gsl_matrix_set(J, i, 2, d < 0 ? 0.0 : d * d);
            gsl_matrix_set(J, i, 3, -2 * (d < 0 ? t[1] : t[2]) * d);
            break;
        default:
            gsl_matrix_set(J, i, 1, d * d);
            gsl_matrix_set(J, i, 2, d * d * d);
            gsl_matrix_set(J, i, 3, -2 * t[1] * d - 3 * t[2] * d * d);
            break;
        }
    }
    return GSL_SUCCESS;
}

/* A U: positive curvature on both sides of rho*. */
static int u_has_minimum(u_model m, const double *t)
{
    return m == U_ASYMMETRIC ? t[1] > 0 && t[2] > 0 : t[1] > 0;
}

static double u_curvature(u_model m, const double *t) { return m == U_ASYMMETRIC ? 0.5 * (t[1] + t[2]) : t[1]; }

/* Fits model m from start t0 into *r. Post-conditions that make a fit
 * meaningful are checked here so the bootstrap applies the same rules. */
static void u_fit_from(nlls_solver *s, u_data *data, u_model m, const double *t0, u_fit *r)
{
    data->model = m;
    gsl_multifit_nlinear_fdf fdf = {.f = u_f, .df = u_df, .fvv = NULL, .n = data->n, .p = (size_t)U_P[m],
                                    .params = data};
    r->ok = nlls_solve(s, &fdf, t0, r->t, &r->rss, r->cov) == 0;
    if (r->ok && m == U_CUBIC && r->t[1] < 0 && r->t[2] != 0) {
        /* Landed on the local maximum: the same cubic re-expressed around
         * its other stationary point, where the second derivative is -2a. */
        double t1[4] = {0, -r->t[1], r->t[2], r->t[3] - 2 * r->t[1] / (3 * r->t[2])};
        t1[0] = u_eval(U_CUBIC, r->t, t1[3]);
        r->ok = nlls_solve(s, &fdf, t1, r->t, &r->rss, r->cov) == 0;
    }
    if (r->ok && m == U_ASYMMETRIC) {
        /* each curvature needs runs on its own side of rho*, or it is
         * unidentified (a zero Jacobian column) */
        int left = 0, right = 0;
        for (size_t i = 0; i < data->n; i++) {
            left += data->x[i] < r->t[3];
            right += data->x[i] > r->t[3];
        }
        r->ok = left > 0 && right > 0;
    }
}

/* Keeps the better (lower RSS) of *best and a new fit. */
static void u_keep_best(u_fit *best, const u_fit *r)
{
    if (r->ok && (!best->ok || r->rss < best->rss * (1 - 1e-12)))
        *best = *r;
}

typedef struct {
    double quad[3];  /* from the quadratic polynomial, if convex or concave */
    int have_quad;
    double cubic[4]; /* from the cubic polynomial's local minimum */
    int have_cubic;
    double mean[3];  /* the lowest per-rho mean, its rho, a guessed curvature */
} u_starts;

/* Starting values: the linear least-squares polynomials give the exact
 * quadratic optimum (the model is a reparametrisation of a parabola) and
 * the cubic's local minimum; the lowest per-rho mean is a fallback. */
static void u_make_starts(const double *x, const double *y, size_t n, u_starts *st)
{
    memset(st, 0, sizeof *st);
    double c[4];
    if (nlls_polyfit(x, y, n, 2, c) == 0 && c[2] != 0) {
        st->quad[2] = -c[1] / (2 * c[2]);
        st->quad[1] = c[2];
        st->quad[0] = c[0] - c[1] * c[1] / (4 * c[2]);
        st->have_quad = isfinite(st->quad[0]) && isfinite(st->quad[2]);
    }
    if (n >= 4 && nlls_distinct(x, n) >= 4 && nlls_polyfit(x, y, n, 3, c) == 0 && c[3] != 0) {
        /* stationary points: c1 + 2 c2 r + 3 c3 r^2 = 0; the local minimum
         * is the root where 2 c2 + 6 c3 r > 0 */
        double disc = 4 * c[2] * c[2] - 12 * c[3] * c[1];
        if (disc > 0) {
            double r1 = (-2 * c[2] + sqrt(disc)) / (6 * c[3]), r2 = (-2 * c[2] - sqrt(disc)) / (6 * c[3]);
            double r = 2 * c[2] + 6 * c[3] * r1 > 0 ? r1 : r2;
            st->cubic[3] = r;
            st->cubic[1] = c[2] + 3 * c[3] * r;
            st->cubic[2] = c[3];
            st->cubic[0] = c[0] + r * (c[1] + r * (c[2] + r * c[3]));
            st->have_cubic = isfinite(st->cubic[0]) && st->cubic[1] > 0;
        }
    }
    /* the fallback: the rho of the lowest per-rho mean (seeds averaged so
     * one lucky seed does not place it) */
    double best = INFINITY, ymax = -INFINITY, rlo = x[0];
    for (size_t i = 0; i < n; i++) {
        double sum = 0;
        int k = 0;
        for (size_t j = 0; j < n; j++)
            if (x[j] == x[i]) {
                sum += y[j];
                k++;
            }
        if (sum / k < best) {
            best = sum / k;
            rlo = x[i];
        }
        ymax = fmax(ymax, sum / k);
    }
    double span = 0;
    for (size_t i = 0; i < n; i++)
        span = fmax(span, fabs(x[i] - rlo));
    st->mean[0] = best;
    st->mean[1] = rlo;
    st->mean[2] = span > 0 && ymax > best ? (ymax - best) / (span * span) : 1e-3;
}

/* Fits model m from every applicable start, keeping the best. */
static void u_fit_model(nlls_solver *s, u_data *data, u_model m, const u_starts *st, const u_fit *quad, u_fit *best)
{
    u_fit r;
    best->ok = 0;
    double t0[4];
    if (m == U_QUADRATIC) {
        if (st->have_quad) {
            u_fit_from(s, data, m, st->quad, &r);
            u_keep_best(best, &r);
        }
        double tm[3] = {st->mean[0], st->mean[2], st->mean[1]};
        if (!best->ok) {
            u_fit_from(s, data, m, tm, &r);
            u_keep_best(best, &r);
        }
        return;
    }
    if (quad && quad->ok) {
        double a = fabs(quad->t[1]);
        if (m == U_ASYMMETRIC) {
            double t[4] = {quad->t[0], a, a, quad->t[2]};
            memcpy(t0, t, sizeof t);
        } else {
            double t[4] = {quad->t[0], quad->t[1], 0.0, quad->t[2]};
            memcpy(t0, t, sizeof t);
        }
        u_fit_from(s, data, m, t0, &r);
        u_keep_best(best, &r);
    }
    if (m == U_CUBIC && st->have_cubic) {
        u_fit_from(s, data, m, st->cubic, &r);
        u_keep_best(best, &r);
    }
    double tm[4] = {st->mean[0], st->mean[2], m == U_ASYMMETRIC ? st->mean[2] : 0.0, st->mean[1]};
    u_fit_from(s, data, m, tm, &r);
    u_keep_best(best, &r);
}

static double u_aicc(double rss, size_t n, int k)
{
    if ((int)n - k - 1 <= 0)
        return NAN;
    /* a floor so an exact fit gives a finite (very low) criterion */
    double r = fmax(rss / (double)n, 1e-300);
    return (double)n * log(r) + 2.0 * k + 2.0 * k * (k + 1) / ((double)n - k - 1);
}

static json_t *u_curve(u_model m, const double *t)
{
    json_t *curve = json_array();
    for (int i = 0; i < FIT_CURVE_POINTS; i++) {
        double x = (double)i / (FIT_CURVE_POINTS - 1);
        json_t *pt = json_array();
        json_array_append_new(pt, json_real(x));
        json_array_append_new(pt, fit_json_number(u_eval(m, t, x)));
        json_array_append_new(curve, pt);
    }
    return curve;
}

/* The fields every budget entry has, null until known, so a reader can
 * rely on the keys (and --json's minimum set) even for a failed budget. */
static void u_null_fields(json_t *e)
{
    static const char *const keys[] = {"model", "params", "params_se", "rho_star", "rho_star_se", "rho_star_ci",
                                       "rho_star_wald_ci", "loss_star", "loss_star_se", "curvature",
                                       "curvature_se", "loss_at_1", "gain", "gain_ci", "curve",
                                       "rho_star_sd", "monotone", "aic_best", "aic_best_shape"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        json_object_set_new(e, keys[i], json_null());
    json_object_set_new(e, "interior", json_false());
    json_t *aic = json_object();
    for (int m = 0; m < U_MODELS; m++)
        json_object_set_new(aic, U_NAMES[m], json_null());
    json_object_set_new(aic, "linear", json_null());
    json_object_set_new(aic, "exponential", json_null());
    json_object_set_new(e, "aic", aic);
    json_object_set_new(e, "aic_kind", json_string("AICc"));
    json_object_set_new(e, "bootstrap", json_pack("{s:i, s:i, s:i}", "samples", 0, "failed", 0, "no_minimum", 0));
}

/* One solver per model, allocated once per budget (n is fixed). */
typedef struct {
    nlls_solver *s[U_MODELS];
} u_solvers;

static int u_solvers_new(u_solvers *sv, size_t n)
{
    /* a model with more parameters than points is never fitted (u_select
     * skips it), and GSL aborts on allocating its workspace: no solver */
    for (int m = 0; m < U_MODELS; m++)
        sv->s[m] = n >= (size_t)U_P[m] ? nlls_new(n, (size_t)U_P[m]) : NULL;
    for (int m = 0; m < U_MODELS; m++)
        if (!sv->s[m] && n >= (size_t)U_P[m])
            return -1;
    return 0;
}

static void u_solvers_free(u_solvers *sv)
{
    for (int m = 0; m < U_MODELS; m++)
        nlls_free(sv->s[m]);
}

/* Fits every model the data identify (k distinct rho for k parameters)
 * and returns the one of lowest AICc, or -1. Ties and a criterion that is
 * undefined for tiny n go to the simpler, earlier model. With warm (the
 * full-data fits) each model starts there first, which is what makes 1000
 * resamples cheap; without it, from every polynomial start. */
static int u_select(u_solvers *sv, const double *x, const double *y, size_t n, int distinct, const u_fit *warm,
                    u_fit fits[U_MODELS], double aic[U_MODELS])
{
    u_data data = {.x = x, .y = y, .n = n};
    u_starts st;
    int have_starts = 0;
    for (int m = 0; m < U_MODELS; m++) {
        fits[m].ok = 0;
        aic[m] = NAN;
        if (distinct < U_P[m] || (int)n < U_P[m])
            continue;
        if (warm && warm[m].ok)
            u_fit_from(sv->s[m], &data, (u_model)m, warm[m].t, &fits[m]);
        if (!fits[m].ok) {
            if (!have_starts)
                u_make_starts(x, y, n, &st);
            have_starts = 1;
            u_fit_model(sv->s[m], &data, (u_model)m, &st, &fits[U_QUADRATIC], &fits[m]);
        }
        if (fits[m].ok)
            aic[m] = u_aicc(fits[m].rss, n, U_P[m]);
    }
    int chosen = -1;
    for (int m = 0; m < U_MODELS; m++)
        if (fits[m].ok && isfinite(aic[m]) && (chosen < 0 || aic[m] < aic[chosen]))
            chosen = m;
    if (chosen < 0 && fits[U_QUADRATIC].ok)
        chosen = U_QUADRATIC;
    return chosen;
}

typedef struct {
    int samples, failed, no_minimum, used;
    int chosen[U_MODELS];
    double rho_lo, rho_hi, gain_lo, gain_hi, rho_sd;
} u_boot;

/* Resamples runs with replacement and repeats the whole procedure on each
 * resample: all models, the AICc choice, the chosen model's rho* and gain.
 * Re-selecting the model is what keeps the interval honest when the choice
 * is unstable: refitting only the full-data choice covered rho* in about
 * half the trials where AICc had picked the asymmetric model on quadratic
 * data. k is the full-data model's parameter count (for the expansion). */
static int u_bootstrap(const double *x, const double *y, size_t n, int k, const u_fit *full,
                       const fit_options *opt, u_boot *b)
{
    memset(b, 0, sizeof *b);
    b->samples = opt->bootstrap;
    b->rho_lo = b->rho_hi = b->gain_lo = b->gain_hi = b->rho_sd = NAN;
    double *xb = malloc(n * sizeof *xb), *yb = malloc(n * sizeof *yb);
    double *rho = malloc((size_t)opt->bootstrap * sizeof *rho), *gain = malloc((size_t)opt->bootstrap * sizeof *gain);
    u_solvers sv;
    int sv_ok = u_solvers_new(&sv, n) == 0;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int rc = 0;
    if (!xb || !yb || !rho || !gain || !sv_ok || !rng) {
        rc = -1;
        goto done;
    }
    gsl_rng_set(rng, opt->seed);
    for (int s = 0; s < opt->bootstrap; s++) {
        for (size_t i = 0; i < n; i++) {
            size_t j = gsl_rng_uniform_int(rng, n);
            xb[i] = x[j];
            yb[i] = y[j];
        }
        int distinct = nlls_distinct(xb, n);
        u_fit fits[U_MODELS];
        double aic[U_MODELS];
        int m = distinct >= 3 ? u_select(&sv, xb, yb, n, distinct, full, fits, aic) : -1;
        if (m < 0) {
            b->failed++;
        } else if (!u_has_minimum((u_model)m, fits[m].t)) {
            b->no_minimum++;
        } else {
            b->chosen[m]++;
            rho[b->used] = fits[m].t[U_P[m] - 1];
            gain[b->used] = u_eval((u_model)m, fits[m].t, 1.0) - fits[m].t[0];
            b->used++;
        }
    }
    /* percentiles of fewer than half the resamples would describe the
     * survivors, not the estimator */
    if (b->used >= 10 && 2 * b->used >= b->samples) {
        b->rho_sd = gsl_stats_sd(rho, 1, (size_t)b->used);
        fit_percentile_interval(rho, (size_t)b->used, (int)n, k, &b->rho_lo, &b->rho_hi);
        fit_percentile_interval(gain, (size_t)b->used, (int)n, k, &b->gain_lo, &b->gain_hi);
    }
done:
    gsl_rng_free(rng);
    u_solvers_free(&sv);
    free(gain);
    free(rho);
    free(yb);
    free(xb);
    return rc;
}

static json_t *line_json(const twolines_line *l)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:i, s:i, s:b, s:s}", "slope", fit_json_number(l->slope), "se",
                     fit_json_number(l->se), "t", fit_json_number(l->t), "p", fit_json_number(l->p), "n", l->n,
                     "distinct", l->distinct, "tested", l->tested, "se_kind", l->se_kind);
}

/* u_test: the two-lines test's numbers and verdict. Returns the verdict. */
static twolines_verdict put_u_test(json_t *e, double budget, const double *rho, const double *loss, int n)
{
    twolines_result t;
    if (twolines_test(rho, loss, n, &t) != 0) {
        fit_warn(e, NULL, 0, "budget %g: out of memory for the two-lines test", budget);
        t.verdict = TWOLINES_TOO_FEW;
        t.shape = NULL;
        snprintf(t.reason, sizeof t.reason, "out of memory");
    }
    json_t *u = json_object();
    json_object_set_new(u, "method", json_string("two-lines (Simonsohn 2018): Robin Hood breakpoint, interrupted "
                                                 "regressions, HC3 t tests, alpha 0.05"));
    json_object_set_new(u, "flexible", t.flexible ? json_string(t.flexible) : json_null());
    json_object_set_new(u, "breakpoint", fit_json_number(t.breakpoint));
    json_object_set_new(u, "breakpoint_median", fit_json_number(t.breakpoint_mid));
    json_object_set_new(u, "flat_region", fit_json_pair(t.flat_lo, t.flat_hi));
    json_object_set_new(u, "left", line_json(&t.left));
    json_object_set_new(u, "right", line_json(&t.right));
    json_object_set_new(u, "shape", t.shape ? json_string(t.shape) : json_null());
    json_object_set_new(u, "verdict", json_string(twolines_verdict_name(t.verdict)));
    json_object_set_new(u, "reason", t.reason[0] ? json_string(t.reason) : json_null());
    json_object_set_new(e, "u_test", u);
    if (t.verdict == TWOLINES_TOO_FEW)
        fit_warn(e, NULL, 0, "budget %g: too few points to test a U (%s): no minimum is called interior", budget,
                 t.reason);
    else if (t.verdict == TWOLINES_NO_U) {
        char left[64], right[64];
        const twolines_line *lines[2] = {&t.left, &t.right};
        char *out[2] = {left, right};
        for (int k = 0; k < 2; k++)
            if (lines[k]->tested)
                snprintf(out[k], 64, "slope %.3g, p %.2g", lines[k]->slope, lines[k]->p);
            else
                snprintf(out[k], 64, "not tested, %d rho value%s", lines[k]->distinct,
                         lines[k]->distinct == 1 ? "" : "s");
        fit_warn(e, NULL, 0, "budget %g: no U by the two-lines test: the points are %s (breakpoint %.3f; left line "
                 "%s; right line %s)", budget, t.shape, t.breakpoint, left, right);
    }
    return t.verdict;
}

/* The best measured rho (lowest mean loss) and each rho's difference to
 * it, paired by seed where the seeds match one to one, else Welch; the rho
 * values whose 95% interval of that difference reaches 0 or below are not
 * significantly worse. */
static void put_best_measured(json_t *e, double budget, const double *rho, const double *loss, const uint64_t *seed,
                              int n)
{
    json_object_set_new(e, "best_measured_rho", json_null());
    json_object_set_new(e, "best_measured_loss", json_null());
    json_object_set_new(e, "not_worse", json_null());
    json_object_set_new(e, "vs_best", json_array());
    json_object_set_new(e, "measured_gain", json_null());
    json_object_set_new(e, "measured_gain_ci", json_null());
    size_t sz = (size_t)n + 1;
    double *xs = malloc(sz * sizeof *xs), *a = malloc(sz * sizeof *a), *b = malloc(sz * sizeof *b);
    uint64_t *sa = malloc(sz * sizeof *sa), *sb = malloc(sz * sizeof *sb);
    if (!xs || !a || !b || !sa || !sb)
        goto done;
    int nx = 0;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < nx && !seen; j++)
            seen = xs[j] == rho[i];
        if (!seen)
            xs[nx++] = rho[i];
    }
    if (nx == 0)
        goto done;
    for (int i = 1; i < nx; i++) /* insertion sort: a handful of rho */
        for (int j = i; j > 0 && xs[j] < xs[j - 1]; j--) {
            double tmp = xs[j];
            xs[j] = xs[j - 1];
            xs[j - 1] = tmp;
        }
    int best = 0;
    double best_mean = INFINITY;
    for (int k = 0; k < nx; k++) {
        double s = 0;
        int c = 0;
        for (int i = 0; i < n; i++)
            if (rho[i] == xs[k]) {
                s += loss[i];
                c++;
            }
        if (s / c < best_mean) {
            best_mean = s / c;
            best = k;
        }
    }
    int nb = 0;
    for (int i = 0; i < n; i++)
        if (rho[i] == xs[best]) {
            b[nb] = loss[i];
            if (seed)
                sb[nb] = seed[i];
            nb++;
        }
    json_object_set_new(e, "best_measured_rho", json_real(xs[best]));
    json_object_set_new(e, "best_measured_loss", fit_json_number(best_mean));
    json_t *nw = json_array(), *vs = json_object_get(e, "vs_best");
    int unknown = 0, paired = 0, welch = 0;
    for (int k = 0; k < nx; k++) {
        if (k == best) {
            json_array_append_new(nw, json_real(xs[k]));
            json_array_append_new(vs, json_pack("{s:f, s:f, s:o, s:s}", "rho", xs[k], "delta", 0.0, "delta_ci",
                                                json_null(), "method", "best"));
            continue;
        }
        int na = 0;
        for (int i = 0; i < n; i++)
            if (rho[i] == xs[k]) {
                a[na] = loss[i];
                if (seed)
                    sa[na] = seed[i];
                na++;
            }
        fit_delta d = fit_compare(a, seed ? sa : NULL, na, b, seed ? sb : NULL, nb);
        json_array_append_new(vs, json_pack("{s:f, s:o, s:o, s:s}", "rho", xs[k], "delta", fit_json_number(d.delta),
                                            "delta_ci", fit_json_pair(d.lo, d.hi),
                                            "method", d.paired ? "paired" : "welch"));
        if (isnan(d.lo))
            unknown++;
        else if (d.lo <= 0)
            json_array_append_new(nw, json_real(xs[k]));
        paired += d.paired;
        welch += !d.paired;
        if (xs[k] == 1.0) {
            json_object_set_new(e, "measured_gain", fit_json_number(d.delta));
            json_object_set_new(e, "measured_gain_ci", fit_json_pair(d.lo, d.hi));
        }
    }
    json_object_set_new(e, "not_worse_method", json_string(paired && welch ? "paired by seed where the seeds match, "
                                                                             "else Welch; 95% t interval"
                                                           : paired ? "paired by seed; 95% t interval"
                                                                    : "Welch; 95% t interval"));
    if (unknown) {
        json_decref(nw);
        fit_warn(e, NULL, 0, "budget %g: %d rho value%s ha%s one run (or the best measured rho %.3f has), so no "
                 "spread to test against: the set of rho not significantly worse is unknown", budget, unknown,
                 unknown == 1 ? "" : "s", unknown == 1 ? "s" : "ve", xs[best]);
    } else {
        json_object_set_new(e, "not_worse", nw);
    }
done:
    free(sb);
    free(sa);
    free(b);
    free(a);
    free(xs);
}

/* aic.linear and aic.exponential, the monotone curve of lower AICc, and
 * aic_best: the model of lowest AICc among all five. */
static void put_monotone(json_t *e, const double *rho, const double *loss, int n)
{
    fit_monotone m[FIT_MONOTONE_MODELS];
    fit_monotone_models(rho, loss, n, m);
    json_t *aic = json_object_get(e, "aic");
    int best = -1;
    double best_aic = NAN;
    for (int k = 0; k < FIT_MONOTONE_MODELS; k++) {
        double a = m[k].ok ? u_aicc(m[k].rss, (size_t)n, m[k].k) : NAN;
        json_object_set_new(aic, m[k].name, fit_json_number(a));
        if (isfinite(a) && (best < 0 || a < best_aic)) {
            best = k;
            best_aic = a;
        }
    }
    json_t *mono = json_null();
    if (best >= 0) {
        const fit_monotone *f = &m[best];
        json_t *params = strcmp(f->name, "linear") == 0
                             ? json_pack("{s:f, s:f}", "a", f->t[0], "b", f->t[1])
                             : json_pack("{s:f, s:f, s:f, s:f}", "a", f->t[0], "b", f->t[1], "c", f->t[2], "r0", f->t[3]);
        json_t *curve = json_array();
        for (int i = 0; i < FIT_CURVE_POINTS; i++) {
            double x = (double)i / (FIT_CURVE_POINTS - 1);
            json_array_append_new(curve, json_pack("[f, o]", x, fit_json_number(fit_monotone_eval(f, x))));
        }
        mono = json_pack("{s:s, s:s, s:o, s:o}", "model", f->name, "form",
                         strcmp(f->name, "linear") == 0 ? "L = a + b rho" : "L = a + b exp(c (rho - r0))", "params",
                         params, "curve", curve);
    }
    json_object_set_new(e, "monotone", mono);
    /* the winner over every model with a criterion */
    const char *win = NULL;
    double wa = INFINITY;
    const char *k;
    json_t *v;
    json_object_foreach(aic, k, v) if (json_is_number(v) && json_number_value(v) < wa)
    {
        wa = json_number_value(v);
        win = k;
    }
    json_object_set_new(e, "aic_best", win ? json_string(win) : json_null());
    json_object_set_new(e, "aic_best_shape", !win ? json_null()
                                             : strcmp(win, "linear") == 0 || strcmp(win, "exponential") == 0
                                                 ? json_string("monotone")
                                                 : json_string("U"));
}

json_t *fit_allocation(double budget, const double *rho, const double *loss, const uint64_t *seed, int n,
                       const fit_options *opt, int *fitted, char *reason, size_t reason_size)
{
    *fitted = 0;
    json_t *e = json_object();
    json_object_set_new(e, "budget", json_real(budget));
    json_object_set_new(e, "n_runs", json_integer(n));
    json_object_set_new(e, "warnings", json_array());
    fit_json_points(e, "rhos", rho, loss, n);
    u_null_fields(e);
    twolines_verdict verdict = put_u_test(e, budget, rho, loss, n);
    put_best_measured(e, budget, rho, loss, seed, n);

    int distinct = nlls_distinct(rho, (size_t)n);
    if (distinct < 3) {
        fit_warn(e, reason, reason_size, "budget %g: %d distinct rho value%s, a U fit needs at least 3", budget,
                 distinct, distinct == 1 ? "" : "s");
        return e;
    }
    double lmin = gsl_stats_min(loss, 1, (size_t)n), lmax = gsl_stats_max(loss, 1, (size_t)n);
    if (lmax - lmin <= 1e-12 * fmax(1.0, fabs(lmax))) {
        fit_warn(e, reason, reason_size,
                 "budget %g: all %d losses are equal (%.6g): no curvature, rho* is undefined", budget, n, lmin);
        return e;
    }
    if (distinct < 4)
        fit_warn(e, NULL, 0, "budget %g: 3 distinct rho values: only the quadratic was fitted (the asymmetric and "
                 "cubic models need 4)", budget);

    size_t un = (size_t)n;
    u_solvers sv;
    u_fit fits[U_MODELS];
    double aic[U_MODELS];
    int chosen = -1;
    if (u_solvers_new(&sv, un) == 0)
        chosen = u_select(&sv, rho, loss, un, distinct, NULL, fits, aic);
    u_solvers_free(&sv);
    json_t *jaic = json_object_get(e, "aic");
    for (int m = 0; m < U_MODELS; m++)
        json_object_set_new(jaic, U_NAMES[m], fit_json_number(aic[m]));
    put_monotone(e, rho, loss, n);
    if (chosen < 0) {
        /* a monotone curve still has its verdict, its best measured rho
         * and its monotone fit: the budget counts as fitted */
        *fitted = json_is_string(json_object_get(e, "aic_best"));
        fit_warn(e, *fitted ? NULL : reason, reason_size,
                 "budget %g: no U model converged (the losses may fall or rise monotonically in rho)", budget);
        return e;
    }
    *fitted = 1;
    u_model m = (u_model)chosen;
    const u_fit *f = &fits[m];
    int p = U_P[m], has_se = n > p;
    /* standard errors need more runs than parameters */
    double se[NLLS_MAX_P];
    json_t *params = json_object(), *params_se = json_object();
    for (int j = 0; j < p; j++) {
        se[j] = has_se ? sqrt(f->cov[j * p + j]) : NAN;
        json_object_set_new(params, U_PARAMS[m][j], fit_json_number(f->t[j]));
        json_object_set_new(params_se, U_PARAMS[m][j], fit_json_number(se[j]));
    }
    if (!has_se)
        fit_warn(e, NULL, 0, "budget %g: %d runs for %d parameters: an exact fit, no standard errors", budget, n, p);
    json_object_set_new(e, "model", json_string(U_NAMES[m]));
    json_object_set_new(e, "params", params);
    json_object_set_new(e, "params_se", params_se);
    json_object_set_new(e, "curve", u_curve(m, f->t));
    double curv = u_curvature(m, f->t);
    /* the mean curvature's variance keeps the covariance of a_l and a_r */
    double curv_var = m == U_ASYMMETRIC ? 0.25 * (f->cov[1 * 4 + 1] + f->cov[2 * 4 + 2] + 2 * f->cov[1 * 4 + 2])
                                        : f->cov[1 * p + 1];
    json_object_set_new(e, "curvature", fit_json_number(curv));
    json_object_set_new(e, "curvature_se", fit_json_number(has_se ? sqrt(curv_var) : NAN));

    if (!u_has_minimum(m, f->t)) {
        if (m == U_ASYMMETRIC)
            fit_warn(e, NULL, 0, "budget %g: the fitted %s curve has no minimum: its curvature is negative on the %s "
                     "(a_l = %.3g, a_r = %.3g)", budget, U_NAMES[m], f->t[1] <= 0 ? "left" : "right", f->t[1], f->t[2]);
        else
            fit_warn(e, NULL, 0, "budget %g: the fitted %s curve has no minimum: its curvature is negative "
                     "(a = %.3g)", budget, U_NAMES[m], f->t[1]);
        if (verdict == TWOLINES_U)
            fit_warn(e, NULL, 0, "budget %g: the two-lines test finds a U but the %s model has no minimum: rho* is "
                     "not reported", budget, U_NAMES[m]);
        return e;
    }
    double rstar = f->t[p - 1], lstar = f->t[0];
    if (verdict != TWOLINES_U) {
        /* the fitted vertex is a description of the curve, not a minimum
         * the points show: rho* stays null */
        if (rstar > 0 && rstar < 1)
            fit_warn(e, NULL, 0, "budget %g: the %s model's vertex lies at rho = %.3f, but without a U by the "
                     "two-lines test it is not a minimum of the allocation and rho* is not reported", budget,
                     U_NAMES[m], rstar);
        return e;
    }
    double l1 = u_eval(m, f->t, 1.0);
    json_object_set_new(e, "rho_star", fit_json_number(rstar));
    json_object_set_new(e, "rho_star_se", fit_json_number(se[p - 1]));
    json_object_set_new(e, "loss_star", fit_json_number(lstar));
    json_object_set_new(e, "loss_star_se", fit_json_number(se[0]));
    json_object_set_new(e, "loss_at_1", fit_json_number(l1));
    json_object_set_new(e, "gain", fit_json_number(l1 - lstar));
    double wald_lo = NAN, wald_hi = NAN;
    if (has_se) {
        double tq = gsl_cdf_tdist_Pinv(0.975, (double)(n - p));
        wald_lo = rstar - tq * se[p - 1];
        wald_hi = rstar + tq * se[p - 1];
        json_object_set_new(e, "rho_star_wald_ci", fit_json_pair(wald_lo, wald_hi));
    }

    double lo = wald_lo, hi = wald_hi, boot_sd = NAN;
    if (opt->bootstrap > 0) {
        u_boot b;
        if (u_bootstrap(rho, loss, un, p, fits, opt, &b) == 0) {
            json_t *models = json_object();
            for (int k = 0; k < U_MODELS; k++)
                json_object_set_new(models, U_NAMES[k], json_integer(b.chosen[k]));
            json_object_set_new(e, "bootstrap", json_pack("{s:i, s:i, s:i, s:o, s:s, s:o}", "samples", b.samples,
                                                          "failed", b.failed, "no_minimum", b.no_minimum, "chosen",
                                                          models, "interval", FIT_INTERVAL_METHOD, "rho_star_sd",
                                                          fit_json_number(b.rho_sd)));
            json_object_set_new(e, "rho_star_ci", fit_json_pair(b.rho_lo, b.rho_hi));
            json_object_set_new(e, "gain_ci", fit_json_pair(b.gain_lo, b.gain_hi));
            lo = b.rho_lo;
            hi = b.rho_hi;
            boot_sd = b.rho_sd;
            if (b.failed + b.no_minimum > b.samples / 10)
                fit_warn(e, NULL, 0, "budget %g: %d of %d bootstrap refits failed and %d had no U; the intervals %s",
                         budget, b.failed, b.samples, b.no_minimum,
                         isfinite(b.rho_lo) ? "describe only the refits with a U" : "are not reported");
        } else {
            fit_warn(e, NULL, 0, "budget %g: out of memory for the bootstrap", budget);
        }
    } else {
        /* no bootstrap asked for: the t interval stands in for it */
        json_object_set_new(e, "rho_star_ci", fit_json_pair(wald_lo, wald_hi));
    }
    /* the stability comparison's SE: the bootstrap sd, else the model's */
    json_object_set_new(e, "rho_star_sd", fit_json_number(isfinite(boot_sd) ? boot_sd : se[p - 1]));
    json_object_set_new(e, "interior", json_true());
    if (rstar <= 0 || rstar >= 1)
        fit_warn(e, NULL, 0, "budget %g: the two-lines test finds a U but the %s model puts rho* = %.3f outside "
                 "(0, 1)", budget, U_NAMES[m], rstar);
    else if (isfinite(lo) && isfinite(hi) && (lo <= 0 || hi >= 1))
        fit_warn(e, NULL, 0, "budget %g: the 95%% interval [%.3f, %.3f] of rho* reaches past %s", budget, lo, hi,
                 lo <= 0 ? "0" : "1");
    return e;
}

json_t *fit_allocation_stability(const json_t *allocation)
{
    json_t *out = json_array();
    size_t n = json_array_size(allocation);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            const json_t *a = json_array_get(allocation, i), *b = json_array_get(allocation, j);
            const json_t *ra = json_object_get(a, "rho_star"), *rb = json_object_get(b, "rho_star");
            const json_t *sa = json_object_get(a, "rho_star_sd"), *sb = json_object_get(b, "rho_star_sd");
            if (!json_is_number(ra) || !json_is_number(rb))
                continue;
            double d = json_number_value(rb) - json_number_value(ra);
            double se = json_is_number(sa) && json_is_number(sb)
                            ? sqrt(pow(json_number_value(sa), 2) + pow(json_number_value(sb), 2))
                            : NAN;
            double z = gsl_cdf_ugaussian_Pinv(0.975);
            json_array_append_new(out, json_pack("{s:O, s:O, s:f, s:o, s:o, s:s}", "budget_a",
                                                 json_object_get(a, "budget"), "budget_b", json_object_get(b, "budget"),
                                                 "difference", d, "se", fit_json_number(se), "ci",
                                                 fit_json_pair(d - z * se, d + z * se), "method",
                                                 "rho*(b) - rho*(a), delta method: the budgets' runs are independent, "
                                                 "so se = sqrt(sd_a^2 + sd_b^2) with each budget's bootstrap sd of "
                                                 "rho*; normal 95% interval"));
        }
    return out;
}
