/* Grid studies: a table of val_loss per label and each label's difference
 * to the reference, with a 95% t interval. No curve fit. */
#include "fit/internal.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *label;
    int first;  /* row of its first run: the file's order breaks ties */
    int n;
    double mean, sd;
} grid_cell;

typedef struct {
    double delta, se, df;
    int paired;  /* 1: per-seed differences, 0: Welch */
} grid_delta;

static int cmp_cell(const void *a, const void *b)
{
    const grid_cell *x = a, *y = b;
    if (x->mean != y->mean)
        return x->mean < y->mean ? -1 : 1;
    return x->first - y->first;
}

static const char *label_of(const char *const *labels, int i)
{
    return labels[i][0] ? labels[i] : "-";
}

/* The runs of `label` and of the reference share their seeds one to one
 * (each seed once on each side): then the per-seed differences cancel what
 * the two share (data order, the backbone's initialisation) and their
 * spread is the honest one. Returns 1 and fills d if so. */
static int delta_paired(const char *const *labels, const double *loss, const uint64_t *seeds, int n,
                        const char *label, const char *ref, double *diff, grid_delta *d)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(label_of(labels, i), label) != 0)
            continue;
        int match = -1, count = 0;
        for (int j = 0; j < n; j++)
            if (seeds[j] == seeds[i] && strcmp(label_of(labels, j), ref) == 0) {
                match = j;
                count++;
            }
        for (int j = 0; j < n; j++)
            if (j != i && seeds[j] == seeds[i] && strcmp(label_of(labels, j), label) == 0)
                count = 2; /* the seed repeats within the label */
        if (count != 1)
            return 0;
        diff[k++] = loss[i] - loss[match];
    }
    int n_ref = 0;
    for (int j = 0; j < n; j++)
        n_ref += strcmp(label_of(labels, j), ref) == 0;
    if (k < 2 || k != n_ref)
        return 0;
    d->delta = gsl_stats_mean(diff, 1, (size_t)k);
    d->se = gsl_stats_sd(diff, 1, (size_t)k) / sqrt(k);
    d->df = k - 1;
    d->paired = 1;
    return 1;
}

/* Welch: the two means independent, variances unequal, Welch-Satterthwaite
 * degrees of freedom. */
static grid_delta delta_welch(const grid_cell *g, const grid_cell *r)
{
    grid_delta d = {g->mean - r->mean, NAN, NAN, 0};
    double vg = g->sd * g->sd / g->n, vr = r->sd * r->sd / r->n;
    d.se = sqrt(vg + vr);
    if (g->n > 1 && r->n > 1 && vg + vr > 0)
        d.df = (vg + vr) * (vg + vr) / (vg * vg / (g->n - 1) + vr * vr / (r->n - 1));
    return d;
}

json_t *fit_grid(const char *const *labels, const double *loss, const uint64_t *seeds, int n)
{
    json_t *out = json_array();
    grid_cell *cells = calloc((size_t)n + 1, sizeof *cells);
    double *v = malloc(((size_t)n + 1) * sizeof *v);
    if (!cells || !v) {
        free(cells);
        free(v);
        return out;
    }
    int nc = 0;
    for (int i = 0; i < n; i++) {
        const char *label = label_of(labels, i);
        int c = 0;
        while (c < nc && strcmp(cells[c].label, label) != 0)
            c++;
        if (c == nc) {
            cells[nc].label = label;
            cells[nc].first = i;
            nc++;
        }
    }
    for (int c = 0; c < nc; c++) {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (strcmp(label_of(labels, i), cells[c].label) == 0)
                v[k++] = loss[i];
        cells[c].n = k;
        cells[c].mean = gsl_stats_mean(v, 1, (size_t)k);
        cells[c].sd = k > 1 ? gsl_stats_sd(v, 1, (size_t)k) : NAN;
    }
    /* the reference: "baseline", else "-" (no grid override), else the
     * first label of the file */
    int ref = 0;
    for (int c = 0; c < nc; c++)
        if (strcmp(cells[c].label, "baseline") == 0) {
            ref = c;
            break;
        }
    if (strcmp(cells[ref].label, "baseline") != 0)
        for (int c = 0; c < nc; c++)
            if (strcmp(cells[c].label, "-") == 0) {
                ref = c;
                break;
            }
    grid_cell r = cells[ref];
    qsort(cells, (size_t)nc, sizeof *cells, cmp_cell);
    for (int c = 0; c < nc; c++) {
        const grid_cell *g = &cells[c];
        int is_ref = strcmp(g->label, r.label) == 0;
        grid_delta d = {0, 0, NAN, 0};
        if (!is_ref && !(seeds && delta_paired(labels, loss, seeds, n, g->label, r.label, v, &d)))
            d = delta_welch(g, &r);
        double half = d.df >= 1 && isfinite(d.se) ? gsl_cdf_tdist_Pinv(0.975, d.df) * d.se : NAN;
        json_t *row = json_object();
        json_object_set_new(row, "label", json_string(g->label));
        json_object_set_new(row, "n", json_integer(g->n));
        json_object_set_new(row, "mean", fit_json_number(g->mean));
        json_object_set_new(row, "sd", fit_json_number(g->sd));
        json_object_set_new(row, "delta", fit_json_number(d.delta));
        json_object_set_new(row, "delta_se", fit_json_number(d.se));
        json_object_set_new(row, "delta_df", fit_json_number(d.df));
        json_object_set_new(row, "delta_ci", is_ref ? json_null() : fit_json_pair(d.delta - half, d.delta + half));
        json_object_set_new(row, "delta_method", json_string(is_ref ? "reference" : d.paired ? "paired" : "welch"));
        json_object_set_new(row, "reference", json_boolean(is_ref));
        json_array_append_new(out, row);
    }
    free(v);
    free(cells);
    return out;
}
