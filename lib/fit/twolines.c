/* The two-lines test (Simonsohn 2018); the procedure and the choices made
 * are in twolines.h. */
#include "fit/twolines.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_COLS = 4 };

const char *twolines_verdict_name(twolines_verdict v)
{
    return v == TWOLINES_U ? "U" : v == TWOLINES_NO_U ? "no U" : "too few points to test";
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* R's quantile(v, q) of type 7 (linear between order statistics), which is
 * GSL's definition too. Sorts v in place. */
static double quantile7(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_double);
    return gsl_stats_quantile_from_sorted_data(v, 1, n, q);
}

/* Ordinary least squares of y on the n x p design X (row-major): beta,
 * A = (X'X)^-1 (p x p, row-major) and the residuals e. Returns 0, or -1
 * when X'X is singular. */
static int ols(const double *X, const double *y, int n, int p, double *beta, double *A, double *e)
{
    gsl_matrix *xtx = gsl_matrix_alloc((size_t)p, (size_t)p);
    if (!xtx)
        return -1;
    for (int a = 0; a < p; a++)
        for (int b = 0; b < p; b++) {
            double s = 0;
            for (int i = 0; i < n; i++)
                s += X[i * p + a] * X[i * p + b];
            gsl_matrix_set(xtx, (size_t)a, (size_t)b, s);
        }
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = gsl_linalg_cholesky_decomp1(xtx) == GSL_SUCCESS && gsl_linalg_cholesky_invert(xtx) == GSL_SUCCESS ? 0 : -1;
    gsl_set_error_handler(old);
    if (rc == 0) {
        for (int a = 0; a < p; a++)
            for (int b = 0; b < p; b++)
                A[a * p + b] = gsl_matrix_get(xtx, (size_t)a, (size_t)b);
        /* a nearly singular X'X passes Cholesky with a huge inverse */
        for (int a = 0; a < p && rc == 0; a++)
            if (!isfinite(A[a * p + a]) || A[a * p + a] <= 0 || A[a * p + a] > 1e12)
                rc = -1;
    }
    gsl_matrix_free(xtx);
    if (rc)
        return rc;
    double xty[MAX_COLS] = {0};
    for (int a = 0; a < p; a++)
        for (int i = 0; i < n; i++)
            xty[a] += X[i * p + a] * y[i];
    for (int a = 0; a < p; a++) {
        beta[a] = 0;
        for (int b = 0; b < p; b++)
            beta[a] += A[a * p + b] * xty[b];
    }
    for (int i = 0; i < n; i++) {
        double f = 0;
        for (int a = 0; a < p; a++)
            f += X[i * p + a] * beta[a];
        e[i] = y[i] - f;
    }
    return 0;
}

/* The heteroskedasticity-robust variance of coefficient j: HC3,
 * A (sum_i x_i x_i' e_i^2 / (1 - h_i)^2) A, or HC1, n/(n-p) A (sum_i
 * x_i x_i' e_i^2) A when some run has leverage h_i = 1 (HC3 undefined). */
static double robust_var(const double *X, const double *e, int n, int p, const double *A, int j, const char **kind)
{
    double *h = malloc((size_t)n * sizeof *h);
    if (!h)
        return NAN;
    int hc1 = 0;
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int a = 0; a < p; a++)
            for (int b = 0; b < p; b++)
                s += X[i * p + a] * A[a * p + b] * X[i * p + b];
        h[i] = s;
        hc1 |= s > 1 - 1e-9;
    }
    /* (A x_i)_j is row j of A times x_i: var_j = sum_i (A x_i)_j^2 w_i */
    double v = 0;
    for (int i = 0; i < n; i++) {
        double ax = 0;
        for (int b = 0; b < p; b++)
            ax += A[j * p + b] * X[i * p + b];
        double w = hc1 ? e[i] * e[i] : e[i] * e[i] / ((1 - h[i]) * (1 - h[i]));
        v += ax * ax * w;
    }
    if (hc1)
        v *= (double)n / (n - p);
    free(h);
    *kind = hc1 ? "HC1" : "HC3";
    return v;
}

static int distinct_where(const double *x, int n, double xc, int side)
{
    /* side -1: x <= xc, +1: x >= xc, -2: x < xc, +2: x > xc */
    double *v = malloc((size_t)n * sizeof *v + 1);
    if (!v)
        return 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if ((side == -1 && x[i] <= xc) || (side == 1 && x[i] >= xc) || (side == -2 && x[i] < xc) ||
            (side == 2 && x[i] > xc))
            v[k++] = x[i];
    qsort(v, (size_t)k, sizeof *v, cmp_double);
    int d = k > 0;
    for (int i = 1; i < k; i++)
        d += v[i] != v[i - 1];
    free(v);
    return d;
}

/* One of Simonsohn's two interrupted regressions at xc. line 1 (left):
 * xc in the left line, the left slope tested; line 2 (right): xc in the
 * right line, the right slope tested. The untested side keeps its own
 * intercept and, with 2+ distinct x, its own slope (a side with one x
 * value cannot carry a slope; one with none carries nothing). */
static void interrupted(const double *x, const double *y, int n, double xc, int line, twolines_line *out, double *X,
                        double *e)
{
    memset(out, 0, sizeof *out);
    out->slope = out->se = out->t = out->p = NAN;
    out->se_kind = "HC3";
    int own = line == 1 ? -1 : 1, other = line == 1 ? 2 : -2;
    out->distinct = distinct_where(x, n, xc, own);
    for (int i = 0; i < n; i++)
        out->n += line == 1 ? x[i] <= xc : x[i] >= xc;
    int d_other = distinct_where(x, n, xc, other);
    if (out->distinct < 2)
        return;
    /* columns: 1, own slope, [other offset], [other slope] */
    int p = 2 + (d_other >= 1) + (d_other >= 2);
    for (int i = 0; i < n; i++) {
        int mine = line == 1 ? x[i] <= xc : x[i] >= xc;
        double *row = &X[i * p];
        row[0] = 1;
        row[1] = mine ? x[i] - xc : 0;
        if (p > 2)
            row[2] = mine ? 0 : 1;
        if (p > 3)
            row[3] = mine ? 0 : x[i] - xc;
    }
    if (n - p < 1)
        return;
    double beta[MAX_COLS], A[MAX_COLS * MAX_COLS];
    if (ols(X, y, n, p, beta, A, e) != 0)
        return;
    double v = robust_var(X, e, n, p, A, 1, &out->se_kind);
    out->slope = beta[1];
    out->se = sqrt(v);
    if (!isfinite(out->se))
        return;
    if (out->se > 0)
        out->t = beta[1] / out->se;
    else
        out->t = beta[1] == 0 ? NAN : copysign(INFINITY, beta[1]);
    if (!isnan(out->t))
        out->p = 2 * gsl_cdf_tdist_Q(fabs(out->t), (double)(n - p));
    out->tested = out->distinct >= 3 && isfinite(out->p);
}

/* Step 1: the flexible fit's yhat and SE at every run. Returns 0, or -1
 * when it has no residual degree of freedom. */
static int flexible_fit(const double *x, const double *y, int n, int distinct, double *yhat, double *se,
                        const char **kind, int *df, double *X, double *e)
{
    if (n - distinct >= 2) {
        /* the saturated model: one mean per x, the pooled within-x sd */
        double ss = 0;
        for (int i = 0; i < n; i++) {
            double s = 0;
            int k = 0;
            for (int j = 0; j < n; j++)
                if (x[j] == x[i]) {
                    s += y[j];
                    k++;
                }
            yhat[i] = s / k;
            se[i] = k;
            ss += (y[i] - yhat[i]) * (y[i] - yhat[i]);
        }
        double sd = sqrt(ss / (n - distinct));
        for (int i = 0; i < n; i++)
            se[i] = sd / sqrt(se[i]);
        *kind = "per-rho means";
        *df = n - distinct;
        return 0;
    }
    /* one run per x (or nearly): a cubic polynomial */
    if (n - 4 < 1 || distinct < 4)
        return -1;
    double beta[4], A[16];
    for (int i = 0; i < n; i++) {
        X[i * 4 + 0] = 1;
        X[i * 4 + 1] = x[i];
        X[i * 4 + 2] = x[i] * x[i];
        X[i * 4 + 3] = x[i] * x[i] * x[i];
    }
    if (ols(X, y, n, 4, beta, A, e) != 0)
        return -1;
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += e[i] * e[i];
    double s2 = ss / (n - 4);
    for (int i = 0; i < n; i++) {
        const double *r = &X[i * 4];
        double q = 0;
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++)
                q += r[a] * A[a * 4 + b] * r[b];
        yhat[i] = y[i] - e[i];
        se[i] = sqrt(s2 * q);
    }
    *kind = "cubic polynomial";
    *df = n - 4;
    return 0;
}

/* flat_spread: 1 when the per-rho means do not differ significantly (so
 * "flat" is a reading of the points, not only the absence of a
 * significant slope). */
static void name_shape(twolines_result *r, int flat_spread)
{
    const twolines_line *L = &r->left, *R = &r->right;
    int sl = L->tested && L->p < TWOLINES_ALPHA, sr = R->tested && R->p < TWOLINES_ALPHA;
    int neg = (sl && L->slope < 0) || (sr && R->slope < 0), pos = (sl && L->slope > 0) || (sr && R->slope > 0);
    if (sl && sr && L->slope < 0 && R->slope > 0) {
        r->verdict = TWOLINES_U;
        r->shape = "U";
        return;
    }
    r->verdict = TWOLINES_NO_U;
    r->shape = neg && pos ? "not resolved" : pos ? "rising" : neg ? "falling" : flat_spread ? "flat" : "not resolved";
}

int twolines_test(const double *x, const double *y, int n, twolines_result *r)
{
    memset(r, 0, sizeof *r);
    r->verdict = TWOLINES_TOO_FEW;
    r->breakpoint = r->breakpoint_mid = r->flat_lo = r->flat_hi = r->x_most = NAN;
    r->left.slope = r->left.se = r->left.t = r->left.p = NAN;
    r->right = r->left;
    r->left.se_kind = r->right.se_kind = "HC3";
    size_t sz = (size_t)(n > 0 ? n : 1);
    double *yhat = malloc(sz * sizeof *yhat), *se = malloc(sz * sizeof *se), *v = malloc(sz * sizeof *v),
           *flat = malloc(sz * sizeof *flat), *X = malloc(sz * MAX_COLS * sizeof *X), *e = malloc(sz * sizeof *e);
    int rc = 0;
    if (!yhat || !se || !v || !flat || !X || !e) {
        rc = -1;
        goto done;
    }
    memcpy(v, x, (size_t)n * sizeof *v);
    int distinct = 0;
    if (n > 0) {
        qsort(v, (size_t)n, sizeof *v, cmp_double);
        distinct = 1;
        for (int i = 1; i < n; i++)
            distinct += v[i] != v[i - 1];
    }
    if (distinct < 5) {
        snprintf(r->reason, sizeof r->reason,
                 "%d distinct rho value%s: two lines of at least 3 each need 5", distinct, distinct == 1 ? "" : "s");
        goto done;
    }
    int flex_df = 0;
    if (flexible_fit(x, y, n, distinct, yhat, se, &r->flexible, &flex_df, X, e) != 0) {
        snprintf(r->reason, sizeof r->reason, "%d runs at %d rho values leave the flexible fit no residual degree "
                 "of freedom", n, distinct);
        goto done;
    }
    /* step 2: the middle runs and their lowest fitted value */
    memcpy(v, x, (size_t)n * sizeof *v);
    double x10 = quantile7(v, (size_t)n, 0.1), x90 = gsl_stats_quantile_from_sorted_data(v, 1, (size_t)n, 0.9);
    double y_most = INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > x10 && x[i] < x90 && yhat[i] < y_most) {
            y_most = yhat[i];
            r->x_most = x[i];
        }
    if (!isfinite(y_most)) {
        snprintf(r->reason, sizeof r->reason, "no rho value lies strictly between the 10th and 90th percentiles");
        goto done;
    }
    /* step 3: the flat region */
    int nf = 0;
    for (int i = 0; i < n; i++)
        if (x[i] > x10 && x[i] < x90 && (yhat[i] - se[i] < y_most || yhat[i] == y_most))
            flat[nf++] = x[i];
    qsort(flat, (size_t)nf, sizeof *flat, cmp_double);
    r->flat_lo = flat[0];
    r->flat_hi = flat[nf - 1];
    /* step 4: the lines' strengths at the flat region's median */
    r->breakpoint_mid = gsl_stats_median_from_sorted_data(flat, 1, (size_t)nf);
    twolines_line l1, l2;
    interrupted(x, y, n, r->breakpoint_mid, 1, &l1, X, e);
    interrupted(x, y, n, r->breakpoint_mid, 2, &l2, X, e);
    /* step 5: Robin Hood; where a line has no t (one side too thin), the
     * median stands */
    double z1 = fabs(l1.t), z2 = fabs(l2.t);
    r->breakpoint = r->breakpoint_mid;
    if (isfinite(z1) && isfinite(z2) && z1 + z2 > 0)
        r->breakpoint = gsl_stats_quantile_from_sorted_data(flat, 1, (size_t)nf, z2 / (z1 + z2));
    /* step 6: the two lines at the breakpoint */
    interrupted(x, y, n, r->breakpoint, 1, &r->left, X, e);
    interrupted(x, y, n, r->breakpoint, 2, &r->right, X, e);
    /* an untested line keeps its slope as a description; its test
     * statistics would suggest a test that was not made */
    twolines_line *lines[2] = {&r->left, &r->right};
    for (int k = 0; k < 2; k++)
        if (!lines[k]->tested)
            lines[k]->se = lines[k]->t = lines[k]->p = NAN;
    if (!r->left.tested && !r->right.tested) {
        snprintf(r->reason, sizeof r->reason, "Neither line at the breakpoint %.3f has 3 distinct rho values and a "
                 "residual degree of freedom", r->breakpoint);
        goto done;
    }
    if (!r->left.tested || !r->right.tested)
        snprintf(r->reason, sizeof r->reason, "The %s line has %d distinct rho value%s (breakpoint %.3f): too few "
                 "to test, so no U can be called", r->left.tested ? "right" : "left",
                 r->left.tested ? r->right.distinct : r->left.distinct,
                 (r->left.tested ? r->right.distinct : r->left.distinct) == 1 ? "" : "s", r->breakpoint);
    /* "flat" needs evidence that the means do not differ: the one-way
     * analysis of variance of the runs by rho (F test of equal means), which
     * needs replicates; with one run per rho there is none */
    int flat_spread = 0;
    if (strcmp(r->flexible, "per-rho means") == 0) {
        double grand = gsl_stats_mean(y, 1, (size_t)n), ssb = 0, ssw = 0;
        for (int i = 0; i < n; i++) {
            ssb += (yhat[i] - grand) * (yhat[i] - grand);
            ssw += (y[i] - yhat[i]) * (y[i] - yhat[i]);
        }
        double f = ssw > 0 ? (ssb / (distinct - 1)) / (ssw / flex_df) : (ssb > 0 ? INFINITY : 0);
        flat_spread = gsl_cdf_fdist_Q(f, distinct - 1, flex_df) >= TWOLINES_ALPHA;
    }
    name_shape(r, flat_spread);
done:
    free(e);
    free(X);
    free(flat);
    free(v);
    free(se);
    free(yhat);
    return rc;
}
