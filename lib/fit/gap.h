/* The pure-MoE minus pure-memory gap of an allocation study across compute
 * budgets, and where its trend would reach zero.
 *
 * Per budget C with both rho = 0 and rho = 1 measured,
 *   gap(C) = L(rho = 1) - L(rho = 0),
 * the mean over seeds of the per-seed differences where both ends have the
 * same seeds, else the difference of the means (Welch): fit_compare in
 * compare.c, with its SE, degrees of freedom and 95% t interval. A gap > 0
 * means pure memory beats pure MoE; a left arm of the allocation U (rho = 0
 * no longer the best end) needs gap < 0.
 *
 * Across budgets, the straight line gap = a + b x with x = log10 C:
 *  - weighted least squares with weights 1/se^2 (gsl_fit_wlinear) when every
 *    budget has an SE > 0; GSL's covariance then takes the SEs as known.
 *    When the budgets scatter about the line more than their SEs say
 *    (chi2/df > 1) the covariance is multiplied by chi2/df (residual-scaled,
 *    the conservative choice); when they scatter less it is left as is, since
 *    scaling down would claim more precision than the seeds give. So the SEs
 *    used are the larger of the two. Per-budget SEs from 2 or 3 seeds are
 *    themselves rough, which is one more reason not to trust chi2 < df;
 *  - otherwise (a budget with one run on a side, or an SE of 0) ordinary
 *    least squares on the budget means, with residual-based SEs
 *    (gsl_fit_linear).
 * Either way the slope's 95% interval uses t with n - 2 degrees of freedom
 * (n budgets); it needs n >= 3.
 *
 * The crossing x0 = -a/b, where the line gives gap = 0, has a Fieller
 * interval (Fieller 1954): the x for which a + b x = 0 is not rejected,
 *   (a + b x)^2 <= t^2 (var a + 2 x cov(a, b) + x^2 var b),
 * a quadratic inequality in x. It is a bounded interval exactly when the
 * slope differs from 0 at the same level (b^2 > t^2 var b); otherwise the
 * set is unbounded (two half-lines or the whole line) and no interval can
 * be given. The delta method's symmetric interval is wrong for a ratio
 * whose denominator can come near 0; Fieller's is exact for normal
 * estimates. */
#ifndef ES_FIT_GAP_H
#define ES_FIT_GAP_H

typedef struct {
    int n;          /* points fitted */
    int weighted;   /* 1: WLS with weights 1/se^2; 0: OLS */
    double a, b;    /* y = a + b x */
    double var_a, var_b, cov_ab; /* the covariance the intervals use (scaled as above) */
    double df;      /* n - 2 */
    double t;       /* t(0.975, df) */
    double b_lo, b_hi; /* 95% t interval of b */
    double chi2;    /* WLS: sum of w r^2; OLS: the residual sum of squares */
    double scale;   /* WLS: the factor max(1, chi2/df) applied to GSL's covariance; OLS: 1 */
} gap_line;

/* Fits y = a + b x to n >= 3 points with at least two distinct x. se (n
 * standard errors of y, may be NULL) selects WLS when every se[i] is finite
 * and > 0, else OLS. Returns 0, or -1 (out is then all NaN) when the line
 * cannot be fitted. */
int gap_line_fit(const double *x, const double *y, const double *se, int n, gap_line *out);

typedef enum {
    GAP_FIELLER_BOUNDED = 0, /* [lo, hi] */
    GAP_FIELLER_EXCLUSIVE,   /* (-inf, lo] and [hi, inf): the slope is not significant */
    GAP_FIELLER_WHOLE_LINE   /* every x: the slope is not significant; lo, hi NaN */
} gap_fieller_kind;

typedef struct {
    double x0;  /* -a/b; NaN for b = 0 */
    gap_fieller_kind kind;
    double lo, hi;
} gap_root;

/* The root of a + b x and its Fieller set at the quantile t, from the
 * covariance of (a, b). */
gap_root gap_root_fieller(double a, double b, double var_a, double var_b, double cov_ab, double t);

#endif
