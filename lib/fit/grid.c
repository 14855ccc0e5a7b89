/* Grid studies: a table of val_loss per label and each label's difference
 * to the reference, with a 95% t interval. No curve fit. */
#include "fit/internal.h"

#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *label;
    int first;  /* row of its first run: plan order (results_read sorts by run name) breaks ties */
    int n;
    double mean, sd;
} grid_cell;

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

/* The losses and seeds of one label's runs into y and s; returns their
 * count. */
static int gather(const char *const *labels, const double *loss, const uint64_t *seeds, int n, const char *label,
                  double *y, uint64_t *s)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(label_of(labels, i), label) == 0) {
            y[k] = loss[i];
            if (seeds)
                s[k] = seeds[i];
            k++;
        }
    return k;
}

json_t *fit_grid(const char *const *labels, const double *loss, const uint64_t *seeds, int n)
{
    json_t *out = json_array();
    grid_cell *cells = calloc((size_t)n + 1, sizeof *cells);
    double *v = malloc(((size_t)n + 1) * sizeof *v), *vr = malloc(((size_t)n + 1) * sizeof *vr);
    uint64_t *s = malloc(((size_t)n + 1) * sizeof *s), *sr = malloc(((size_t)n + 1) * sizeof *sr);
    if (!cells || !v || !vr || !s || !sr) {
        free(cells);
        free(v);
        free(vr);
        free(s);
        free(sr);
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
     * first label in plan order */
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
    int nr = gather(labels, loss, seeds, n, r.label, vr, sr);
    qsort(cells, (size_t)nc, sizeof *cells, cmp_cell);
    for (int c = 0; c < nc; c++) {
        const grid_cell *g = &cells[c];
        int is_ref = strcmp(g->label, r.label) == 0;
        fit_delta d = {0, 0, NAN, NAN, NAN, 0};
        if (!is_ref) {
            int ng = gather(labels, loss, seeds, n, g->label, v, s);
            d = fit_compare(v, seeds ? s : NULL, ng, vr, seeds ? sr : NULL, nr);
        }
        json_t *row = json_object();
        json_object_set_new(row, "label", json_string(g->label));
        json_object_set_new(row, "n", json_integer(g->n));
        json_object_set_new(row, "mean", fit_json_number(g->mean));
        json_object_set_new(row, "sd", fit_json_number(g->sd));
        json_object_set_new(row, "delta", fit_json_number(d.delta));
        json_object_set_new(row, "delta_se", fit_json_number(d.se));
        json_object_set_new(row, "delta_df", fit_json_number(d.df));
        json_object_set_new(row, "delta_ci", is_ref ? json_null() : fit_json_pair(d.lo, d.hi));
        json_object_set_new(row, "delta_method", json_string(is_ref ? "reference" : d.paired ? "paired" : "welch"));
        json_object_set_new(row, "reference", json_boolean(is_ref));
        json_array_append_new(out, row);
    }
    free(v);
    free(vr);
    free(s);
    free(sr);
    free(cells);
    return out;
}
