/* Finite-difference gradient checking shared by the model tests.
 *
 * A layer is checked through the scalar loss L = sum(out * R) with a fixed
 * random R: its backward, fed dout = R, must agree with central differences
 * of L. Everything is fp32, so the tolerance is relative to the largest
 * gradient of the tensor (absolute part) plus a relative part per entry. */
#ifndef TESTS_GRADCHECK_H
#define TESTS_GRADCHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/rng.h"

static inline void fill_normal(float *x, size_t n, float std, uint64_t seed)
{
    es_rng rng;
    es_rng_seed(&rng, seed, 77);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(std * es_rng_normal(&rng));
}

static inline double dot_double(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

typedef double (*loss_fn)(void *ctx);

/* Compares analytic[i] with central differences of loss(ctx) w.r.t. x[i]
 * for up to max_checks entries spread over x (all if n <= max_checks).
 * Returns the number of failing entries and prints the first few. */
static inline int gradcheck_scaled(const char *what, float *x, const float *analytic, size_t n, loss_fn loss,
                                   void *ctx, float eps, size_t max_checks, double gmax)
{
    size_t stride = n <= max_checks ? 1 : n / max_checks;
    int failures = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i += stride) {
        float saved = x[i];
        x[i] = saved + eps;
        double up = loss(ctx);
        x[i] = saved - eps;
        double down = loss(ctx);
        x[i] = saved;
        double numeric = (up - down) / (2.0 * eps);
        double err = fabs(numeric - analytic[i]);
        double allowed = 0.02 * fabs(analytic[i]) + 0.01 * gmax + 1e-6;
        worst = fmax(worst, err / allowed);
        if (err > allowed && failures++ < 5)
            fprintf(stderr, "%s[%zu]: analytic %.6g numeric %.6g\n", what, i, analytic[i], numeric);
    }
    fprintf(stderr, "gradcheck %-28s n=%-7zu max|g|=%.3g worst err/allowed=%.3f\n", what, n, gmax, worst);
    return failures;
}

/* The tolerance's absolute part scales with the largest gradient of x. */
static inline int gradcheck(const char *what, float *x, const float *analytic, size_t n, loss_fn loss, void *ctx,
                            float eps, size_t max_checks)
{
    double gmax = 0;
    for (size_t i = 0; i < n; i++)
        gmax = fmax(gmax, fabs(analytic[i]));
    return gradcheck_scaled(what, x, analytic, n, loss, ctx, eps, max_checks, gmax);
}

#endif
