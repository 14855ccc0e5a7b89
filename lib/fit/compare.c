/* The difference of two groups of runs' mean losses with its standard
 * error: paired by seed where the seeds match one to one, else Welch. Used
 * by the grid table (each label against the reference) and by the
 * allocation fit (each rho against the best measured rho). */
#include "fit/internal.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>

/* The seeds of a and b match one to one: each seed once on each side and
 * the same set on both. Then d[i] = a_i - b_(seed of a_i). */
static int seeds_pair(const double *a, const uint64_t *sa, int na, const double *b, const uint64_t *sb, int nb,
                      double *d)
{
    if (!sa || !sb || na != nb || na < 2)
        return 0;
    for (int i = 0; i < na; i++) {
        int match = -1, count = 0;
        for (int j = 0; j < nb; j++)
            if (sb[j] == sa[i]) {
                match = j;
                count++;
            }
        for (int j = 0; j < na; j++)
            if (j != i && sa[j] == sa[i])
                count = 2; /* the seed repeats within a */
        if (count != 1)
            return 0;
        d[i] = a[i] - b[match];
    }
    return 1;
}

fit_delta fit_compare(const double *a, const uint64_t *sa, int na, const double *b, const uint64_t *sb, int nb)
{
    fit_delta d = {NAN, NAN, NAN, NAN, NAN, 0};
    if (na < 1 || nb < 1)
        return d;
    double *diff = malloc((size_t)na * sizeof *diff);
    if (diff && seeds_pair(a, sa, na, b, sb, nb, diff)) {
        /* the per-seed differences cancel what the two runs of a seed share
         * (data order, the backbone's initialisation): their spread is the
         * honest one */
        d.delta = gsl_stats_mean(diff, 1, (size_t)na);
        d.se = gsl_stats_sd(diff, 1, (size_t)na) / sqrt(na);
        d.df = na - 1;
        d.paired = 1;
    } else {
        /* Welch: the two means independent, variances unequal,
         * Welch-Satterthwaite degrees of freedom */
        double ma = gsl_stats_mean(a, 1, (size_t)na), mb = gsl_stats_mean(b, 1, (size_t)nb);
        d.delta = ma - mb;
        if (na > 1 && nb > 1) {
            double va = gsl_stats_variance(a, 1, (size_t)na) / na, vb = gsl_stats_variance(b, 1, (size_t)nb) / nb;
            d.se = sqrt(va + vb);
            if (va + vb > 0)
                d.df = (va + vb) * (va + vb) / (va * va / (na - 1) + vb * vb / (nb - 1));
        }
    }
    free(diff);
    if (d.df >= 1 && isfinite(d.se)) {
        double half = gsl_cdf_tdist_Pinv(0.975, d.df) * d.se;
        d.lo = d.delta - half;
        d.hi = d.delta + half;
    }
    return d;
}
