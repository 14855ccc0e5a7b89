/* Internal to lib/fit: the per-study fits fit.c calls and the JSON and
 * statistics helpers they share. */
#ifndef ES_FIT_INTERNAL_H
#define ES_FIT_INTERNAL_H

#include "fit/fit.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* One budget of an allocation study: n runs (rho[i], loss[i], seed[i];
 * seed may be NULL). Returns the budget's entry (never NULL unless out of
 * memory); *fitted is 1 when a curve was fitted, else 0 and reason gets
 * the first warning. */
json_t *fit_allocation(double budget, const double *rho, const double *loss, const uint64_t *seed, int n,
                       const fit_options *opt, int *fitted, char *reason, size_t reason_size);

/* rho* differences between the budgets whose two-lines test found a U
 * (entries of the "allocation" array): the "rho_star_stability" array. */
json_t *fit_allocation_stability(const json_t *allocation);

/* The rho = 1 minus rho = 0 gap per budget, its trend in log10 C and the
 * projected crossing (gap.c, gap.h): the "gap_trend" object of an
 * allocation study's n runs (budget[i], rho[i], loss[i], seed[i]; seed
 * may be NULL). */
json_t *fit_gap_trend(const double *budget, const double *rho, const double *loss, const uint64_t *seed, int n);

/* One memory type of a memory study: n runs (slots[i] > 0, loss[i]). */
json_t *fit_memory(const char *memory, const double *slots, const double *loss, int n, const fit_options *opt,
                   int *fitted, char *reason, size_t reason_size);

/* A grid study: n runs with labels ("" for "-") and seeds (may be NULL).
 * Returns the array: per label the mean, sd and the difference to the
 * reference with its SE, degrees of freedom and 95% t interval, paired by
 * seed where the seeds match one to one, else Welch. */
json_t *fit_grid(const char *const *labels, const double *loss, const uint64_t *seeds, int n);

/* A grid study's loss against log2 of its runs' routed experts, one
 * intercept per seed (experts.c): the "expert_trend" object. NULL when the
 * grid is not one of experts (a run with memory or without experts, or one
 * number of experts throughout); {fitted: false, reason} when it is but no
 * line can be tested (active parameters differ by more than 10%, 2 distinct
 * numbers of experts, too few runs). seed may be NULL. */
json_t *fit_expert_trend(const int *experts, const char *const *memory, const double *p_act, const double *loss,
                         const uint64_t *seed, int n);


/* The monotone models (monotone.c): linear L = a + b rho (t = a, b) and
 * exponential L = a + b exp(c (rho - r0)) (t = a, b, c, r0; r0 fixed at
 * an end of the rho range). ok is 0 where a model could not be fitted. */
#define FIT_MONOTONE_MODELS 2
#define FIT_MONOTONE_MAX_N 4096
typedef struct {
    const char *name;
    int k; /* fitted parameters (r0 is not one) */
    int ok;
    double t[4];
    double rss;
} fit_monotone;

/* Fits both models to n runs (n <= FIT_MONOTONE_MAX_N). */
void fit_monotone_models(const double *x, const double *y, int n, fit_monotone out[FIT_MONOTONE_MODELS]);

double fit_monotone_eval(const fit_monotone *m, double x);

/* A JSON real, or null for a non-finite value (jansson refuses NaN). */
json_t *fit_json_number(double v);

/* [lo, hi], or null if either is not finite. */
json_t *fit_json_pair(double lo, double hi);

/* Adds the per-point summaries of (x, y): the distinct x sorted (under
 * xkey) and "mean", "sd" (null for a single run) and "n" arrays. */
void fit_json_points(json_t *entry, const char *xkey, const double *x, const double *y, int n);

/* Appends a formatted warning to entry's "warnings" array and, if reason is
 * not NULL and still empty, copies it there. */
void fit_warn(json_t *entry, char *reason, size_t reason_size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A 95% bootstrap interval from the n estimates v (sorted in place) of a
 * fit of n_obs runs with k parameters: Hesterberg's expanded percentile
 * interval (The American Statistician 69(4), 2015), the percentiles at
 * Phi(-+z) with z = sqrt(n_obs/(n_obs-k)) t(0.975, n_obs-k) instead of
 * +-1.96. The plain percentile interval is too narrow in small samples
 * (on 27-run quadratic sweeps with noise sd 0.03 it covered rho* in 92.5%
 * of 400 trials, the expanded one in 94%); the factor is the same
 * small-sample correction as RSS/(n-k) and t in the Wald interval. */
void fit_percentile_interval(double *v, size_t n, int n_obs, int k, double *lo, double *hi);

#define FIT_INTERVAL_METHOD "expanded percentile"

#endif
