/* Curve fits of a sweep's results (results.tsv) with GSL.
 *
 * Allocation studies (kind "allocation"), per budget in increasing order.
 * The verdict on a U is the two-lines test (Simonsohn 2018; twolines.h) on
 * the seed-level runs: a U only when the left line falls and the right
 * line rises, each with p < 0.05; otherwise the shape the points show
 * (falling, rising, flat, not resolved) or "too few points to test".
 * rho*, its interval, L* and the fitted gain are reported only for a U
 * ("interior" is true only then). Every budget also gets its best measured
 * rho (lowest mean loss) and the rho values not significantly worse than
 * it (95% t interval of the difference, paired by seed where the seeds
 * match one to one, else Welch). Where two or more budgets show a U,
 * rho_star_stability gives the difference of each pair's rho* with a
 * delta-method interval (bootstrap sds). The curves describe: validation
 * loss against rho by nonlinear least squares (every seed a point) with
 * three U models,
 *   quadratic   L = L* + a (rho - rho*)^2                      (L*, a, rho*)
 *   asymmetric  L = L* + a_l (rho - rho*)^2 for rho < rho*,
 *                    a_r (rho - rho*)^2 otherwise              (L*, a_l, a_r, rho*)
 *   cubic       L = L* + a (rho - rho*)^2 + b (rho - rho*)^3   (L*, a, b, rho*)
 * and two monotone ones (monotone.c: linear, and L = a + b exp(c (rho - r0)),
 * flat then bending at one end), compared by AICc = n ln(RSS/n) + 2k + 2k(k+1)/(n-k-1) (AIC corrected for
 * small n; it tends to AIC as n grows, and sweeps have tens of runs, not
 * thousands). For the cubic, rho* is the local minimum (a > 0; a fit that
 * lands on the local maximum is re-expressed around the other stationary
 * point); the cubic may still dip lower at an edge of [0, 1]. The curvature
 * is a, or (a_l + a_r)/2 for the asymmetric model. Standard errors come from
 * (J'J)^-1 RSS/(n-k); intervals are bootstrap percentiles (rows resampled
 * with replacement, the chosen model refitted, mt19937 seeded with
 * opt->seed for every group, so a group's result does not depend on the
 * others in the file).
 *
 * Memory studies (kind "memory"), per memory type: L(M) = L_inf + A M^-alpha
 * (fitted as L_inf + B (M/Mg)^-alpha, Mg the geometric mean of the slots, for
 * conditioning; A = B Mg^alpha) and the log-log line ln L = c + s ln M.
 *
 * Across an allocation study's budgets, the rho = 1 minus rho = 0 gap and
 * its straight-line trend in log10 C, with the compute where the line
 * would reach zero and its Fieller interval (gap.h).
 *
 * Grid studies (kind "grid"): mean and sd of val_loss per label, sorted by
 * mean, with the difference to the reference label ("baseline" if present,
 * else "-", else the first label of the file) and its Welch standard error.
 * A grid of routed-expert counts (every run without memory, active
 * parameters within 10%, two or more numbers of experts) also gets
 * "expert_trend": val_loss = a_seed + b log2(experts) by least squares with
 * one intercept per seed, b's t interval and p, and the shape ("falls with
 * E", "rises with E", "no trend resolved"); {fitted: false, reason} where no
 * line can be tested (experts.c).
 *
 * Errors and warnings. Whole-command errors (a non-zero return, no
 * document): results.tsv unreadable or malformed (results_read's ES_EDATA,
 * path:line), no finished runs (ES_EDATA), and nothing at all fittable
 * (ES_EFIT with the first group's reason, e.g. "budget 1e+15: 2 distinct rho
 * values, a U fit needs at least 3"). Everything that concerns one group is
 * a warning in that group's "warnings" array and the group's undefined
 * numbers are JSON null (never NaN): too few distinct rho or slots, all
 * losses equal (no curvature), no U by the two-lines test (with its
 * slopes), too few points to test, a U model without a minimum, a U whose
 * rho* interval reaches past 0 or 1, failed bootstrap refits beyond 10%.
 *
 * fit.json (the document fit_run_dir returns) holds at least:
 *   run_dir, skipped_diverged, warnings,
 *   allocation: [{budget, n_runs, rhos, mean, sd, n,
 *     u_test{method, flexible, breakpoint, breakpoint_median, flat_region,
 *       left{slope, se, t, p, n, distinct, tested, se_kind}, right{..},
 *       shape, verdict, reason},
 *     best_measured_rho, best_measured_loss, not_worse, not_worse_method,
 *     vs_best[{rho, delta, delta_ci, method}], measured_gain,
 *     measured_gain_ci, model (the best U model), aic{quadratic,
 *     asymmetric, cubic, linear, exponential}, aic_kind, aic_best,
 *     aic_best_shape, monotone{model, form, params, curve}, params{..},
 *     params_se{..}, rho_star, rho_star_sd,
 *     rho_star_se, rho_star_ci, loss_star, loss_star_se, curvature,
 *     curvature_se, loss_at_1, gain, gain_ci, interior, bootstrap{samples,
 *     failed, no_minimum}, curve[[rho, loss] x 101], warnings}],
 *   rho_star_stability: [{budget_a, budget_b, difference, se, ci, method}],
 *   gap_trend (allocation studies; gap.h): {definition,
 *     budgets[{budget, n_rho0, n_rho1, method, mean, se, df, lo, hi}] for
 *     each budget with both rho = 0 and rho = 1, n_budgets, largest_budget,
 *     fit (null below 3 budgets){form, method, method_reason (OLS only), n,
 *       df, a, se_a, b, se_b, cov_ab, b_ci, t_quantile, chi2, chi2_per_df,
 *       se_kind, se_note, interval, gap_at_largest, unweighted{..} (WLS only)},
 *     projection{status ("not fitted", "projected", "crossed", "not
 *       shrinking", "already negative"), log10_c0, c0, log10_c0_ci, c0_ci,
 *       fieller, factor (C0 / the largest budget), extrapolated},
 *     status (a sentence)},
 *   memory: [{memory, n_runs, slots, mean, sd, n, l_inf, l_inf_se, A, alpha,
 *     alpha_se, alpha_ci, loglinear{form, slope, slope_se, intercept},
 *     bootstrap{samples, failed}, curve[[M, loss] x 50], warnings}],
 *   grid: [{label, n, mean, sd, delta, delta_se, reference}],
 *   expert_trend (grids of expert counts): {fitted, reason | form, method, n,
 *     seeds, experts, experts_min, experts_max, p_act_spread, df, b, se_b,
 *     b_ci, t, p, residual_sd, change_over_range, change_over_range_ci, shape}
 * sd is null where a point has one run.
 *
 * The fits switch GSL's aborting error handler off around each solver call
 * and restore it; call them from one thread at a time. */
#ifndef ES_FIT_FIT_H
#define ES_FIT_FIT_H

#include "study/results.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#define FIT_BOOTSTRAP_DEFAULT 1000
#define FIT_SEED_DEFAULT 1
#define FIT_CURVE_POINTS 101      /* rho samples in [0, 1] */
#define FIT_MEMORY_CURVE_POINTS 50 /* log-spaced slot counts */

typedef struct {
    int bootstrap;      /* resamples per group; 0 skips the intervals (null) */
    unsigned long seed; /* seed of the bootstrap's mt19937 */
} fit_options;

/* FIT_BOOTSTRAP_DEFAULT resamples, FIT_SEED_DEFAULT. */
void fit_options_init(fit_options *opt);

/* Fits rows already read (diverged rows are skipped and counted). source
 * names the data in messages (e.g. the results.tsv path). *out is a new
 * document (without run_dir) the caller json_decref()s; NULL on error. opt
 * NULL means defaults. */
int fit_rows(const result_row *rows, int n, const char *source, const fit_options *opt, json_t **out);

/* Reads RUN_DIR/results.tsv and fits it; *out as fit_rows, with run_dir. */
int fit_run_dir(const char *run_dir, const fit_options *opt, json_t **out);

/* Writes the document to RUN_DIR/fit.json atomically (a temporary file in
 * the same folder, fsynced, then renamed), so readers never see half. */
int fit_write(const char *run_dir, const json_t *fit);

/* mean(a) - mean(b) of two groups of runs (na losses a with seeds sa, nb
 * losses b with seeds sb; either seed array may be NULL) with its SE,
 * degrees of freedom and 95% t interval [lo, hi]: paired by seed when
 * the seeds match one to one (each seed once on each side, the same set,
 * at least 2), else Welch (unequal variances, Welch-Satterthwaite df).
 * se, df, lo and hi are NaN when a group has one run and nothing pairs. */
typedef struct {
    double delta, se, df, lo, hi;
    int paired; /* 1: per-seed differences, 0: Welch */
} fit_delta;

fit_delta fit_compare(const double *a, const uint64_t *sa, int na, const double *b, const uint64_t *sb, int nb);

/* Prints the document as readable tables (the fit command's output). */
void fit_print(FILE *f, const json_t *fit);

#endif
