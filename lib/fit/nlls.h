/* Internal to lib/fit: a thin, reusable wrapper over GSL's
 * gsl_multifit_nlinear trust-region (Levenberg-Marquardt) solver with
 * analytic Jacobians, plus the small helpers the fits share. Not part of
 * the public API (fit.h). */
#ifndef ES_FIT_NLLS_H
#define ES_FIT_NLLS_H

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>
#include <stddef.h>

enum { NLLS_MAX_P = 4 };

/* A solver for n residuals and p parameters. The workspace is allocated
 * once and reused for every start and bootstrap refit of one group, which
 * is what makes 1000 resamples cheap. */
typedef struct {
    gsl_multifit_nlinear_workspace *w;
    gsl_matrix *covar;
    size_t n, p;
} nlls_solver;

nlls_solver *nlls_new(size_t n, size_t p);
void nlls_free(nlls_solver *s);

/* Minimises sum f_i(x)^2 from x0 with fdf (whose n, p must match the
 * solver). On convergence fills x (p values) and *rss and, if cov is not
 * NULL, the p*p covariance (J'J)^-1 * rss/(n-p) (row-major). Returns 0, or
 * -1 when the solver fails, stops without converging or gives a non-finite
 * value. Never calls the GSL error handler (it is switched off around the
 * call so a singular Jacobian is a failed fit, not an abort). */
int nlls_solve(nlls_solver *s, gsl_multifit_nlinear_fdf *fdf, const double *x0, double *x, double *rss, double *cov);

/* Ordinary least squares of y on the columns 1, x, ..., x^degree (degree
 * <= 3); c gets degree+1 coefficients. Returns 0, or -1 when singular. */
int nlls_polyfit(const double *x, const double *y, size_t n, int degree, double *c);

/* Number of distinct values in x[0..n). */
int nlls_distinct(const double *x, size_t n);

#endif
