/* The two-lines test of a U (Simonsohn 2018, "Two Lines: A Valid
 * Alternative to the Invalid Testing of U-Shaped Relationships With
 * Quadratic Regressions", Advances in Methods and Practices in
 * Psychological Science 1(4), 538-555), for the loss of an allocation
 * study against rho, on seed-level runs.
 *
 * A quadratic regression is not a test of a U: a curve that is flat and
 * then rises (a hockey stick) or that rises throughout has a convex
 * quadratic fit with its vertex inside the range. The two-lines test fits
 * two straight lines that meet at a breakpoint xc and calls a U only when
 * the left line falls and the right line rises, each significantly.
 *
 * The procedure (Simonsohn's twolines(), app version 0.52):
 *  1. A flexible fit of y on x gives yhat and its standard error at every
 *     run. Simonsohn uses a GAM (mgcv, cubic regression spline with
 *     k = min(10, distinct x) basis functions). Our sweeps have 5-9 rho
 *     values, so k = distinct x: the unpenalised spline is the saturated
 *     model, one mean per rho, which we use when the seeds leave residual
 *     degrees of freedom (SE = pooled within-rho sd / sqrt(n at that rho)).
 *     With one run per rho there is none; then a cubic polynomial (4
 *     coefficients, the spline with no interior knot) stands in, with the
 *     OLS standard error of its fitted values. (Choice made here: no
 *     penalised smoothing.)
 *  2. Runs whose x lies strictly between the 10th and 90th percentiles of
 *     x (R's quantile type 7) are the middle; the lowest fitted value among
 *     them is y_most. (Simonsohn first asks a quadratic whether to look for
 *     a minimum or a maximum; a loss curve's question is a minimum, so we
 *     always look for one. Choice made here.)
 *  3. The flat region: the middle runs with yhat - SE < y_most (and the run
 *     at y_most itself). Its x values, one per run, are xflat.
 *  4. An interrupted regression at xc = median(xflat) gives the strength of
 *     each line, z1 = |t of the left slope|, z2 = |t of the right slope|.
 *  5. Robin Hood: xc = the z2 / (z1 + z2) quantile of xflat (type 7): the
 *     breakpoint moves toward the weaker line, giving it more runs.
 *  6. The interrupted regressions at xc:
 *        y = a + b xlow + c xhigh + d high + e
 *     Line 1 includes xc: xlow = x - xc for x <= xc (else 0), xhigh =
 *     x - xc and high = 1 for x > xc; the left slope is b. Line 2 includes
 *     xc: x < xc and x >= xc; the right slope is c. Heteroskedasticity-
 *     robust HC3 standard errors, HC1 where a run has leverage 1 (as
 *     Simonsohn's code falls back when HC3 is undefined). Simonsohn reports
 *     z tests; with our 5-27 runs we use the t distribution with n - 4
 *     degrees of freedom (choice made here, the more conservative one).
 *  7. A U: left slope < 0 and right slope > 0, each with two-sided
 *     p < 0.05.
 *
 * Where a line is not tested. A slope fitted through fewer than 3 distinct
 * x values (xc counted on both sides) says nothing about a line: that side
 * is "not tested", and no U is called. This happens when the lowest region
 * lies next to an edge of the grid; the shape is then read from the line
 * that is tested. Too few runs for the procedure itself (fewer than 5
 * distinct x, so no 3 on each side; or no residual degree of freedom in
 * the flexible fit or the interrupted regression) is "too few points to
 * test".
 *
 * The shape the points show when there is no U: "falling" (a significant
 * negative slope and no significant positive one), "rising" (the
 * converse), "flat" (no significant slope, and with seeds to compare the
 * per-rho means do not differ: one-way analysis of variance, F test at
 * 0.05), "not resolved" (no significant slope otherwise, e.g. one run per
 * rho; or a significant rise then fall, a maximum, which no loss curve
 * should show). An untested
 * line keeps its slope as a description, its se, t and p are NaN. */
#ifndef ES_FIT_TWOLINES_H
#define ES_FIT_TWOLINES_H

#include <stddef.h>

#define TWOLINES_ALPHA 0.05

typedef struct {
    int tested;       /* 1: >= 3 distinct x on this side; else the numbers below are NaN */
    int n;            /* runs on this side (xc included) */
    int distinct;     /* distinct x on this side (xc included) */
    double slope, se, t, p;
    const char *se_kind; /* "HC3" or "HC1" */
} twolines_line;

typedef enum {
    TWOLINES_TOO_FEW = 0, /* too few points to test */
    TWOLINES_U,           /* a U: falling, then rising, both significant */
    TWOLINES_NO_U         /* tested (at least one line), no U */
} twolines_verdict;

typedef struct {
    twolines_verdict verdict;
    const char *shape;       /* "U", "falling", "rising", "flat", "not resolved", or NULL (too few) */
    const char *flexible;    /* "per-rho means" or "cubic polynomial" */
    double breakpoint;       /* xc after the Robin Hood step */
    double breakpoint_mid;   /* the median of the flat region (step 4) */
    double flat_lo, flat_hi; /* the flat region's range */
    double x_most;           /* x of the lowest fitted value among the middle runs */
    twolines_line left, right;
    char reason[256];        /* why too few / why a line is not tested; "" otherwise */
} twolines_result;

/* Runs the test on n runs (x[i], y[i]). Returns 0, or -1 when out of
 * memory. Too few points is not an error: r->verdict says so and
 * r->reason why. */
int twolines_test(const double *x, const double *y, int n, twolines_result *r);

/* The verdict in words: "U", "no U", "too few points to test". */
const char *twolines_verdict_name(twolines_verdict v);

#endif
