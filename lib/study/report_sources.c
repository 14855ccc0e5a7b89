/* report.md's per-source section for studies on a mixture corpus: each
 * run's result.json holds the final validation loss on every source's own
 * held-out text (val_loss_sources); the mixture's loss averages them (the
 * evaluated prefix of the interleaved validation split), so a gain on one
 * source can hide a loss on another. */
#include "study/report_internal.h"

#include "core/fs.h"
#include "data/dataset.h"
#include "fit/fit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SOURCES_MAX = 16 };

typedef struct {
    const result_row *row;
    double loss[SOURCES_MAX]; /* NaN where the run has no figure */
} source_run;

typedef struct {
    char names[SOURCES_MAX][64];
    int n;
} source_names;

/* DIR/<id>/result.json, or DIR/runs/<id>/result.json (a committed results
 * folder); NULL where neither loads. */
static json_t *load_result(const char *run_dir, const char *id)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/result.json", run_dir, id);
    if (!es_exists(path))
        snprintf(path, sizeof path, "%s/runs/%s/result.json", run_dir, id);
    return es_exists(path) ? json_load_file(path, 0, NULL) : NULL;
}

static int source_index(source_names *s, const char *name, int add)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return i;
    if (!add || s->n == SOURCES_MAX)
        return -1;
    snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
    return s->n++;
}

/* "C 1.0e12, rho 0.250", a grid label, or "engram, 1000 slots". */
static void point_name(const result_row *r, char *buf, size_t size)
{
    if (strcmp(r->kind, "allocation") == 0)
        snprintf(buf, size, "C %s, rho %s", fmt_flops(r->budget), fmt_rho(r->rho));
    else if (strcmp(r->kind, "memory") == 0)
        snprintf(buf, size, "%s, %ld slots", r->memory, r->slots);
    else
        snprintf(buf, size, "%s", r->label[0] ? r->label : "-");
}

/* Losses and seeds of the runs of one point on source k. */
static int point_losses(const source_run *runs, int n, const char *want, int k, double *loss, uint64_t *seed)
{
    int m = 0;
    char name[320];
    for (int i = 0; i < n; i++) {
        point_name(runs[i].row, name, sizeof name);
        if (strcmp(name, want) == 0 && isfinite(runs[i].loss[k])) {
            loss[m] = runs[i].loss[k];
            seed[m++] = runs[i].row->seed;
        }
    }
    return m;
}

static int cmp_runs(const void *a, const void *b)
{
    const result_row *x = ((const source_run *)a)->row, *y = ((const source_run *)b)->row;
    if (strcmp(x->kind, "allocation") == 0) {
        if (x->budget != y->budget)
            return (x->budget > y->budget) - (x->budget < y->budget);
        return (x->rho > y->rho) - (x->rho < y->rho);
    }
    return 0;
}

static void put_delta_cell(FILE *f, const double *a, const uint64_t *sa, int na, const double *b,
                           const uint64_t *sb, int nb, int *paired, int *welch)
{
    if (na == 0 || nb == 0) {
        fputs(" - |", f);
        return;
    }
    fit_delta d = fit_compare(a, sa, na, b, sb, nb);
    if (isfinite(d.lo))
        fprintf(f, " %+.4f [%+.4f, %+.4f] |", d.delta, d.lo, d.hi);
    else
        fprintf(f, " %+.4f (no interval) |", d.delta);
    *paired += d.paired;
    *welch += !d.paired && isfinite(d.lo);
}

/* Differences per source: each grid label minus the reference, or per
 * budget of an allocation study pure MoE (rho 1) minus pure memory (rho 0). */
static void put_differences(FILE *f, const report_ctx *c, const source_names *s, const source_run *runs, int n,
                            char (*points)[320], int n_points, double *la, uint64_t *sa, double *lb, uint64_t *sb)
{
    int allocation = strcmp(c->kind, "allocation") == 0;
    const char *ref = allocation ? NULL : report_grid_reference(c);
    if (!allocation && !ref)
        return;
    int paired = 0, welch = 0, rows = 0;
    char a_point[320], b_point[320];
    for (int p = 0; p < n_points; p++) {
        if (allocation) {
            /* the rho = 1 point of a budget against its rho = 0 point */
            const result_row *r = NULL;
            for (int i = 0; i < n && !r; i++) {
                point_name(runs[i].row, a_point, sizeof a_point);
                if (strcmp(a_point, points[p]) == 0)
                    r = runs[i].row;
            }
            if (!r || r->rho != 1.0)
                continue;
            snprintf(a_point, sizeof a_point, "%s", points[p]);
            snprintf(b_point, sizeof b_point, "C %s, rho %s", fmt_flops(r->budget), fmt_rho(0.0));
        } else {
            if (strcmp(points[p], ref) == 0)
                continue;
            snprintf(a_point, sizeof a_point, "%s", points[p]);
            snprintf(b_point, sizeof b_point, "%s", ref);
        }
        if (rows == 0) {
            if (allocation)
                fputs("Pure MoE minus pure memory per source, L(rho 1) - L(rho 0) at each budget (positive: memory "
                      "is better on that source); 95% t interval, paired by seed where the seeds match:\n\n",
                      f);
            else
                fprintf(f, "Each label minus the reference `%s` per source (negative: better than the reference); "
                           "95%% t interval, paired by seed where the seeds match:\n\n",
                        ref);
            fputs(allocation ? "| budget |" : "| label |", f);
            for (int k = 0; k < s->n; k++)
                fprintf(f, " %s |", s->names[k]);
            fputs("\n|:---|", f);
            for (int k = 0; k < s->n; k++)
                fputs("---:|", f);
            fputc('\n', f);
        }
        rows++;
        fputs("| ", f);
        if (allocation)
            fprintf(f, "%.*s", (int)strcspn(a_point + 2, ","), a_point + 2);
        else
            md_cell(f, a_point);
        fputs(" |", f);
        for (int k = 0; k < s->n; k++) {
            int na = point_losses(runs, n, a_point, k, la, sa);
            int nb = point_losses(runs, n, b_point, k, lb, sb);
            put_delta_cell(f, la, sa, na, lb, sb, nb, &paired, &welch);
        }
        fputc('\n', f);
    }
    if (rows)
        fprintf(f, "\n%d difference(s) paired by seed, %d between means (Welch).\n\n", paired, welch);
}

void report_put_sources(FILE *f, const report_ctx *c)
{
    if (c->n_rows == 0)
        return;
    source_run *runs = calloc((size_t)c->n_rows, sizeof *runs);
    char(*points)[320] = calloc((size_t)c->n_rows, sizeof *points);
    double *la = malloc(sizeof *la * (size_t)c->n_rows), *lb = malloc(sizeof *lb * (size_t)c->n_rows);
    uint64_t *sa = malloc(sizeof *sa * (size_t)c->n_rows), *sb = malloc(sizeof *sb * (size_t)c->n_rows);
    source_names s = {.n = 0};
    int n = 0, without = 0;
    if (!runs || !points || !la || !lb || !sa || !sb)
        goto done;
    for (int i = 0; i < c->n_rows; i++) {
        const result_row *r = &c->rows[i];
        if (strcmp(r->status, "ok") != 0)
            continue;
        json_t *res = load_result(c->run_dir, r->run);
        const json_t *vs = res ? json_object_get(res, "val_loss_sources") : NULL;
        if (!json_is_object(vs)) {
            without++;
            json_decref(res);
            continue;
        }
        source_run *sr = &runs[n++];
        sr->row = r;
        for (int k = 0; k < SOURCES_MAX; k++)
            sr->loss[k] = NAN;
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)vs, key, v)
        {
            int k = source_index(&s, key, 1);
            if (k >= 0 && json_is_number(v))
                sr->loss[k] = json_number_value(v);
        }
        json_decref(res);
    }
    if (n == 0 || s.n < 2)
        goto done; /* one corpus: the losses above are the whole story */
    qsort(runs, (size_t)n, sizeof *runs, cmp_runs);
    int n_points = 0;
    for (int i = 0; i < n; i++) {
        char name[320];
        point_name(runs[i].row, name, sizeof name);
        int seen = 0;
        for (int p = 0; p < n_points && !seen; p++)
            seen = strcmp(points[p], name) == 0;
        if (!seen)
            snprintf(points[n_points++], sizeof points[0], "%s", name);
    }

    fputs("## Validation loss per source\n\n", f);
    fprintf(f, "The final validation cross-entropy (nats/token) on each source's own held-out text (result.json's "
               "`val_loss_sources`), mean ± sd over seeds (n). The mixture's loss above is the mean over the "
               "evaluated prefix of the validation split, which interleaves the sources in chunks of %d tokens, "
               "round robin: it weights them alike (until the smaller ones run out), not by their share of the "
               "training tokens.\n\n",
            DATASET_VAL_CHUNK);
    fputs("| point | n |", f);
    for (int k = 0; k < s.n; k++)
        fprintf(f, " %s |", s.names[k]);
    fputs("\n|:---|---:|", f);
    for (int k = 0; k < s.n; k++)
        fputs("---:|", f);
    fputc('\n', f);
    for (int p = 0; p < n_points; p++) {
        fputs("| ", f);
        md_cell(f, points[p]);
        int n_max = 0;
        for (int k = 0; k < s.n; k++) {
            int m = point_losses(runs, n, points[p], k, la, sa);
            n_max = m > n_max ? m : n_max;
        }
        fprintf(f, " | %d |", n_max);
        for (int k = 0; k < s.n; k++) {
            int m = point_losses(runs, n, points[p], k, la, sa);
            double mean = 0, ss = 0;
            for (int i = 0; i < m; i++)
                mean += la[i] / m;
            for (int i = 0; i < m; i++)
                ss += (la[i] - mean) * (la[i] - mean);
            if (m == 0)
                fputs(" - |", f);
            else if (m == 1)
                fprintf(f, " %s |", fmt_loss(mean));
            else
                fprintf(f, " %s ± %s |", fmt_loss(mean), fmt("%.4f", sqrt(ss / (m - 1))));
        }
        fputc('\n', f);
    }
    fputc('\n', f);
    if (without)
        fprintf(f, "%d finished run(s) have no per-source losses (no run folder with result.json here, or a "
                   "result.json that predates them).\n\n",
                without);
    put_differences(f, c, &s, runs, n, points, n_points, la, sa, lb, sb);
done:
    free(runs);
    free(points);
    free(la);
    free(lb);
    free(sa);
    free(sb);
}
