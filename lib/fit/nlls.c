#include "fit/nlls.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_ITER = 500 };

nlls_solver *nlls_new(size_t n, size_t p)
{
    nlls_solver *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    gsl_multifit_nlinear_parameters params = gsl_multifit_nlinear_default_parameters();
    /* More's scaling keeps LM invariant to the very different magnitudes of
     * the parameters (a loss near 4, a curvature near 0.3, a rho near 0.7). */
    params.scale = gsl_multifit_nlinear_scale_more;
    s->w = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &params, n, p);
    s->covar = gsl_matrix_alloc(p, p);
    s->n = n;
    s->p = p;
    if (!s->w || !s->covar) {
        nlls_free(s);
        return NULL;
    }
    return s;
}

void nlls_free(nlls_solver *s)
{
    if (!s)
        return;
    if (s->w)
        gsl_multifit_nlinear_free(s->w);
    if (s->covar)
        gsl_matrix_free(s->covar);
    free(s);
}

int nlls_solve(nlls_solver *s, gsl_multifit_nlinear_fdf *fdf, const double *x0, double *x, double *rss, double *cov)
{
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    gsl_vector_const_view start = gsl_vector_const_view_array(x0, s->p);
    int rc = gsl_multifit_nlinear_init(&start.vector, fdf, s->w);
    int info = 0;
    if (rc == GSL_SUCCESS)
        rc = gsl_multifit_nlinear_driver(MAX_ITER, 1e-10, 1e-10, 0.0, NULL, NULL, &info, s->w);
    int ok = rc == GSL_SUCCESS;
    if (ok) {
        const gsl_vector *sol = gsl_multifit_nlinear_position(s->w);
        const gsl_vector *f = gsl_multifit_nlinear_residual(s->w);
        double sum = 0;
        for (size_t i = 0; i < s->n; i++)
            sum += gsl_vector_get(f, i) * gsl_vector_get(f, i);
        for (size_t j = 0; j < s->p; j++) {
            x[j] = gsl_vector_get(sol, j);
            ok = ok && isfinite(x[j]);
        }
        *rss = sum;
        ok = ok && isfinite(sum);
    }
    if (ok && cov) {
        const gsl_matrix *J = gsl_multifit_nlinear_jac(s->w);
        ok = gsl_multifit_nlinear_covar(J, 0.0, s->covar) == GSL_SUCCESS;
        /* the residual variance scales (J'J)^-1 to the parameter covariance */
        double scale = s->n > s->p ? *rss / (double)(s->n - s->p) : 0.0;
        for (size_t i = 0; ok && i < s->p; i++)
            for (size_t j = 0; j < s->p; j++) {
                cov[i * s->p + j] = gsl_matrix_get(s->covar, i, j) * scale;
                ok = ok && isfinite(cov[i * s->p + j]);
            }
    }
    gsl_set_error_handler(old);
    return ok ? 0 : -1;
}

int nlls_polyfit(const double *x, const double *y, size_t n, int degree, double *c)
{
    size_t p = (size_t)degree + 1;
    if (n < p)
        return -1;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    gsl_matrix *X = gsl_matrix_alloc(n, p);
    gsl_vector *Y = gsl_vector_alloc(n), *C = gsl_vector_alloc(p);
    gsl_matrix *cov = gsl_matrix_alloc(p, p);
    gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(n, p);
    int rc = -1;
    if (X && Y && C && cov && w) {
        for (size_t i = 0; i < n; i++) {
            double v = 1;
            for (size_t j = 0; j < p; j++, v *= x[i])
                gsl_matrix_set(X, i, j, v);
            gsl_vector_set(Y, i, y[i]);
        }
        double chisq;
        if (gsl_multifit_linear(X, Y, C, cov, &chisq, w) == GSL_SUCCESS) {
            rc = 0;
            for (size_t j = 0; j < p; j++) {
                c[j] = gsl_vector_get(C, j);
                if (!isfinite(c[j]))
                    rc = -1;
            }
        }
    }
    if (w)
        gsl_multifit_linear_free(w);
    if (cov)
        gsl_matrix_free(cov);
    if (C)
        gsl_vector_free(C);
    if (Y)
        gsl_vector_free(Y);
    if (X)
        gsl_matrix_free(X);
    gsl_set_error_handler(old);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int nlls_distinct(const double *x, size_t n)
{
    if (n == 0)
        return 0;
    double *v = malloc(n * sizeof *v);
    if (!v)
        return 0;
    memcpy(v, x, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_double);
    int d = 1;
    for (size_t i = 1; i < n; i++)
        d += v[i] != v[i - 1];
    free(v);
    return d;
}
