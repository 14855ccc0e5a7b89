/* report.md's grid section: labels sorted by mean loss with the
 * difference to the reference. */
#include "study/report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *label;
    point p;
} grid_point;

static int cmp_grid(const void *a, const void *b)
{
    const grid_point *x = a, *y = b;
    double mx = x->p.n_ok ? x->p.mean : INFINITY, my = y->p.n_ok ? y->p.mean : INFINITY;
    return (mx > my) - (mx < my);
}

/* The grid's reference label from fit.json, or NULL. */
const char *report_grid_reference(const report_ctx *c)
{
    const json_t *grid = c->fit ? json_object_get(c->fit, "grid") : NULL;
    size_t i;
    const json_t *e;
    json_array_foreach(grid, i, e) if (json_is_true(json_object_get(e, "reference")))
    {
        const json_t *label = json_object_get(e, "label");
        return json_is_string(label) ? json_string_value(label) : NULL;
    }
    return NULL;
}

/* A grid of expert counts: the line of the loss in log2 E with one
 * intercept per seed (fit.json's expert_trend), which uses every run at
 * once where the table compares one E at a time. */
static void put_expert_trend(FILE *f, const report_ctx *c)
{
    const json_t *et = c->fit ? json_object_get(c->fit, "expert_trend") : NULL;
    if (!et)
        return;
    fputs("### Loss against the number of experts\n\n", f);
    if (!json_is_true(json_object_get(et, "fitted"))) {
        const json_t *reason = json_object_get(et, "reason");
        fprintf(f, "No line in log2 E: %s.\n\n", json_is_string(reason) ? json_string_value(reason) : "not fitted");
        return;
    }
    const json_t *ci = json_object_get(et, "b_ci"), *cr = json_object_get(et, "change_over_range_ci");
    fprintf(f,
            "Every run without memory, at fixed active parameters (within %.1f%%), fitted as val_loss = a_seed + b "
            "log2(E) by least squares with one intercept per seed (%lld runs, %lld seeds, %lld numbers of experts "
            "from %lld to %lld; %lld degrees of freedom). The line uses all runs at once, so it can resolve a "
            "steady change with E that no single difference in the table resolves; it assumes the change is "
            "straight in log2 E.\n\n",
            100 * jnum(et, "p_act_spread"), (long long)json_integer_value(json_object_get(et, "n")),
            (long long)json_integer_value(json_object_get(et, "seeds")),
            (long long)json_integer_value(json_object_get(et, "experts")),
            (long long)json_integer_value(json_object_get(et, "experts_min")),
            (long long)json_integer_value(json_object_get(et, "experts_max")),
            (long long)json_integer_value(json_object_get(et, "df")));
    fprintf(f, "- b = %s nats per doubling of E, 95%% interval %s, t = %s, p = %s: **%s**.\n",
            fmt("%+.4f", jnum(et, "b")), fmt_interval(ci, "%+.4f"), fmt("%+.2f", jnum(et, "t")),
            fmt("%.3g", jnum(et, "p")), json_string_value(json_object_get(et, "shape")));
    fprintf(f, "- From E = %lld to %lld the line changes the loss by %s, 95%% interval %s.\n\n",
            (long long)json_integer_value(json_object_get(et, "experts_min")),
            (long long)json_integer_value(json_object_get(et, "experts_max")), fmt("%+.4f", jnum(et, "change_over_range")),
            fmt_interval(cr, "%+.4f"));
}

void report_put_grid(FILE *f, const report_ctx *c)
{
    fputs("## Grid study\n\n", f);
    const json_t *grid = c->fit ? json_object_get(c->fit, "grid") : NULL;
    int total = c->n_plan + c->n_rows;
    grid_point *g = calloc((size_t)total + 1, sizeof *g);
    if (!g)
        return;
    int n = 0;
    for (int i = 0; i < total; i++) {
        const char *label = i < c->n_plan ? c->plan[i].label : c->rows[i - c->n_plan].label;
        int seen = 0;
        for (int j = 0; j < n && !seen; j++)
            seen = strcmp(g[j].label, label) == 0;
        if (!seen)
            g[n++].label = label;
    }
    for (int i = 0; i < n; i++) {
        point_key k = {.use_label = 1, .label = g[i].label};
        point_collect(c, &k, &g[i].p);
    }
    qsort(g, (size_t)n, sizeof *g, cmp_grid);
    const char *ref = report_grid_reference(c);
    if (!c->fit)
        fputs("No fit: fit.json is missing (run `engram-scale fit RUN_DIR`), so there are no deltas; the means "
              "are measured.\n\n", f);
    if (ref)
        fprintf(f, "Sorted by mean validation loss; delta = mean minus the reference `%s`'s, with its standard error "
                   "and 95%% t interval. Where a label's seeds match the reference's one to one the difference is "
                   "taken seed by seed (paired: the two share data order), else between the means (Welch).\n\n",
                ref);
    fputs("| label | n | val loss (mean ± sd) | delta to reference | SE | 95% interval | method |\n", f);
    fputs("|:---|---:|---:|---:|---:|:---:|:---|\n", f);
    for (int i = 0; i < n; i++) {
        const json_t *e = NULL, *ge;
        size_t gi;
        json_array_foreach(grid, gi, ge)
        {
            const json_t *l = json_object_get(ge, "label");
            const char *lt = json_is_string(l) ? json_string_value(l) : "";
            if (strcmp(lt, g[i].label) == 0 || (strcmp(lt, "-") == 0 && !g[i].label[0]))
                e = ge;
        }
        fputs("| ", f);
        md_cell(f, g[i].label[0] ? g[i].label : "-");
        if (e && json_is_true(json_object_get(e, "reference")))
            fputs(" (reference)", f);
        int is_ref = e && json_is_true(json_object_get(e, "reference"));
        const json_t *ci = e ? json_object_get(e, "delta_ci") : NULL;
        const json_t *method = e ? json_object_get(e, "delta_method") : NULL;
        fprintf(f, " | %s | %s | %s | %s | %s | %s |\n", fmt_n(&g[i].p), fmt_mean_sd(&g[i].p),
                e ? fmt("%+.4f", jnum(e, "delta")) : "-", e && !is_ref ? fmt_loss(jnum(e, "delta_se")) : "-",
                fmt_interval(ci, "%+.4f"),
                e && !is_ref && json_is_string(method) ? json_string_value(method) : "-");
    }
    fputc('\n', f);
    free(g);
    put_expert_trend(f, c);
}

