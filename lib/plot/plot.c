/* The figures of a run folder: data files and filled gnuplot scripts in
 * RUN_DIR/figures/, rendered by gnuplot to PNG and SVG. The C side only
 * aggregates (mean +- sd over seeds, fit.json's curves and optima) and
 * writes plain numbers; every choice of appearance lives in the templates
 * of plots/. */
#include "plot/plot.h"

#include "core/error.h"
#include "core/fs.h"
#include "study/results.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- growing strings ---------------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->data && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *bigger = realloc(b->data, cap);
        if (!bigger) {
            b->oom = 1;
            return;
        }
        b->data = bigger;
        b->cap = cap;
    }
}

static const char *sb_str(sbuf *b)
{
    if (!b->data)
        sb_printf(b, "%s", "");
    return b->oom ? "" : b->data;
}

static void sb_free(sbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* A number as gnuplot reads it: undefined values are NaN. */
static void sb_num(sbuf *b, double v)
{
    if (isfinite(v))
        sb_printf(b, "%.10g", v);
    else
        sb_printf(b, "NaN");
}

/* A double-quoted gnuplot string (backslash escapes are interpreted). */
static void sb_quoted(sbuf *b, const char *s)
{
    sb_printf(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_printf(b, "\\%c", *s);
        else if (*s == '\n' || *s == '\t')
            sb_printf(b, " ");
        else
            sb_printf(b, "%c", *s);
    }
    sb_printf(b, "\"");
}

/* ---- template variables ------------------------------------------------- */

enum { MAX_VARS = 48 };

typedef struct {
    char *names[MAX_VARS];
    char *values[MAX_VARS];
    int n;
    int oom;
} vars;

static void vars_set(vars *v, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void vars_set(vars *v, const char *name, const char *fmt, ...)
{
    if (v->n >= MAX_VARS) {
        v->oom = 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *value = NULL;
    if (vasprintf(&value, fmt, ap) < 0)
        value = NULL;
    va_end(ap);
    char *key = strdup(name);
    if (!value || !key) {
        free(value);
        free(key);
        v->oom = 1;
        return;
    }
    v->names[v->n] = key;
    v->values[v->n] = value;
    v->n++;
}

static void vars_free(vars *v)
{
    for (int i = 0; i < v->n; i++) {
        free(v->names[i]);
        free(v->values[i]);
    }
    v->n = 0;
}

/* ---- the job ------------------------------------------------------------ */

typedef struct {
    const char *run_dir;
    char fig_dir[PATH_MAX];
    char tmpl_dir[PATH_MAX];
    char experiment[128]; /* the run folder's name, for titles */
    char *style;          /* plots/style.gp */
    result_row *rows;
    int n_rows;
    json_t *fit; /* NULL without fit.json */
    char **files;
    int n_files, cap_files;
    char *figures[16]; /* names of the figures to render */
    int n_figures;
} job;

static int job_record(job *j, const char *path)
{
    if (j->n_files == j->cap_files) {
        int cap = j->cap_files ? 2 * j->cap_files : 32;
        char **bigger = realloc(j->files, (size_t)cap * sizeof *bigger);
        if (!bigger)
            return es_error(ES_ENOMEM, "out of memory listing the figures of %s", j->run_dir);
        j->files = bigger;
        j->cap_files = cap;
    }
    char *copy = strdup(path);
    if (!copy)
        return es_error(ES_ENOMEM, "out of memory listing the figures of %s", j->run_dir);
    j->files[j->n_files++] = copy;
    return ES_OK;
}

/* Writes figures/NAME and lists it. */
static int job_write(job *j, const char *name, sbuf *content)
{
    if (content->oom)
        return es_error(ES_ENOMEM, "out of memory writing %s/%s", j->fig_dir, name);
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", j->fig_dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return es_error(ES_EIO, "cannot write %s: %s", path, strerror(errno));
    const char *s = sb_str(content);
    size_t len = strlen(s);
    int bad = fwrite(s, 1, len, f) != len;
    if (fclose(f) != 0 || bad)
        return es_error(ES_EIO, "cannot write %s: %s", path, strerror(errno));
    return job_record(j, path);
}

/* Fills plots/TEMPLATE.gp into figures/NAME.gp and queues NAME. */
static int job_script(job *j, const char *template_name, const char *name, vars *v)
{
    vars_set(v, "STYLE", "%s", j->style);
    vars_set(v, "NAME", "%s", name);
    if (v->oom)
        return es_error(ES_ENOMEM, "out of memory filling %s.gp", template_name);
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s.gp", j->tmpl_dir, template_name);
    char *text;
    int rc = es_read_file(path, &text, NULL);
    if (rc)
        return es_error_wrap(ES_EMISSING, "gnuplot template missing");
    char *filled;
    rc = plot_template_fill(text, path, (const char *const *)v->names, (const char *const *)v->values, v->n,
                            &filled);
    free(text);
    if (rc)
        return rc;
    sbuf content = {filled, strlen(filled), strlen(filled) + 1, 0};
    char file[128];
    snprintf(file, sizeof file, "%s.gp", name);
    rc = job_write(j, file, &content);
    free(filled);
    if (rc)
        return rc;
    if (j->n_figures == (int)(sizeof j->figures / sizeof j->figures[0]))
        return es_error(ES_EINVAL, "too many figures for %s", j->run_dir);
    j->figures[j->n_figures] = strdup(name);
    if (!j->figures[j->n_figures])
        return es_error(ES_ENOMEM, "out of memory");
    j->n_figures++;
    return ES_OK;
}

/* ---- aggregation: mean +- sd of val_loss per (series, x) ----------------- */

typedef struct {
    double x, sum, sumsq;
    int n;
} point;

typedef struct {
    double key;    /* budget, or index of a memory type */
    char name[32]; /* memory type */
    point *pts;
    int n, cap;
} series;

typedef struct {
    series *s;
    int n, cap;
} series_list;

static series *series_get(series_list *l, double key, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (fabs(l->s[i].key - key) <= 1e-9 * fabs(key) && strcmp(l->s[i].name, name) == 0)
            return &l->s[i];
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 8;
        series *bigger = realloc(l->s, (size_t)cap * sizeof *bigger);
        if (!bigger)
            return NULL;
        l->s = bigger;
        l->cap = cap;
    }
    series *s = &l->s[l->n++];
    memset(s, 0, sizeof *s);
    s->key = key;
    snprintf(s->name, sizeof s->name, "%s", name);
    return s;
}

static int series_add(series *s, double x, double y)
{
    for (int i = 0; i < s->n; i++)
        if (fabs(s->pts[i].x - x) <= 1e-9 * fmax(1.0, fabs(x))) {
            s->pts[i].sum += y;
            s->pts[i].sumsq += y * y;
            s->pts[i].n++;
            return ES_OK;
        }
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        point *bigger = realloc(s->pts, (size_t)cap * sizeof *bigger);
        if (!bigger)
            return es_error(ES_ENOMEM, "out of memory");
        s->pts = bigger;
        s->cap = cap;
    }
    s->pts[s->n++] = (point){x, y, y * y, 1};
    return ES_OK;
}

static double point_mean(const point *p) { return p->sum / p->n; }

/* Sample sd over seeds; 0 for a single run. */
static double point_sd(const point *p)
{
    if (p->n < 2)
        return 0.0;
    double m = point_mean(p);
    double var = (p->sumsq - p->n * m * m) / (p->n - 1);
    return var > 0 ? sqrt(var) : 0.0;
}

static int cmp_point(const void *a, const void *b)
{
    double x = ((const point *)a)->x, y = ((const point *)b)->x;
    return (x > y) - (x < y);
}

static int cmp_series(const void *a, const void *b)
{
    double x = ((const series *)a)->key, y = ((const series *)b)->key;
    return (x > y) - (x < y);
}

static void series_list_sort(series_list *l)
{
    qsort(l->s, (size_t)l->n, sizeof *l->s, cmp_series);
    for (int i = 0; i < l->n; i++)
        qsort(l->s[i].pts, (size_t)l->s[i].n, sizeof *l->s[i].pts, cmp_point);
}

static void series_list_free(series_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->s[i].pts);
    free(l->s);
    memset(l, 0, sizeof *l);
}

/* ---- fit.json ------------------------------------------------------------ */

/* A number of a fit.json object; NaN when missing, null or not a number. */
static double jnum(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static double jnum_at(const json_t *o, const char *key, size_t i)
{
    const json_t *v = json_array_get(json_object_get(o, key), i);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Writes a fit.json curve [[x, y], ...] as one data block; returns the
 * number of points written. */
static int write_curve(sbuf *b, const json_t *curve)
{
    int written = 0;
    size_t i;
    const json_t *pt;
    json_array_foreach(curve, i, pt)
    {
        const json_t *x = json_array_get(pt, 0), *y = json_array_get(pt, 1);
        if (!json_is_number(x) || !json_is_number(y) || !isfinite(json_number_value(y)))
            continue;
        sb_printf(b, "%.10g\t%.10g\n", json_number_value(x), json_number_value(y));
        written++;
    }
    return written;
}

static const json_t *fit_allocation(const job *j, double budget)
{
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(j->fit, "allocation"), i, g)
    {
        double c = jnum(g, "budget");
        if (fabs(c - budget) <= 1e-9 * fabs(budget))
            return g;
    }
    return NULL;
}

static const json_t *fit_memory(const job *j, const char *memory)
{
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(j->fit, "memory"), i, g)
    {
        const char *m = json_string_value(json_object_get(g, "memory"));
        if (m && strcmp(m, memory) == 0)
            return g;
    }
    return NULL;
}

/* ---- labels --------------------------------------------------------------- */

/* 1.0×10^{15}, 1.05×10^{13} in gnuplot's enhanced text: up to three
 * significant digits, so budgets like 1.05e13 are not shown rounded. */
static void format_power(char *buf, size_t size, double v)
{
    if (!(v > 0) || !isfinite(v)) {
        snprintf(buf, size, "%g", v);
        return;
    }
    int e = (int)floor(log10(v));
    double m = v / pow(10.0, e);
    m = round(m * 100) / 100;
    if (m >= 10) {
        m /= 10;
        e++;
    }
    int two = fabs(m * 10 - round(m * 10)) > 1e-6;
    snprintf(buf, size, two ? "%.2f×10^{%d}" : "%.1f×10^{%d}", m, e);
}

/* A tick step of 1, 2, 2.5 or 5 times a power of ten near raw, and the
 * decimals its labels need. */
static double nice_step(double raw, int *decimals)
{
    if (!(raw > 0) || !isfinite(raw))
        raw = 1;
    double p = pow(10.0, floor(log10(raw))), m = raw / p;
    double step = m < 1.5 ? 1 : m < 2.25 ? 2 : m < 3.5 ? 2.5 : m < 7.5 ? 5 : 10;
    int d = (int)-floor(log10(step * p) + 1e-9);
    if (step == 2.5)
        d++;
    *decimals = d > 0 ? d : 0;
    return step * p;
}

/* YTIC_STEP and YTIC_FORMAT for about five labelled ticks in [lo, hi]. */
static void vars_ytics(vars *v, double lo, double hi)
{
    int decimals;
    double step = nice_step((hi - lo) / 5, &decimals);
    vars_set(v, "YTIC_STEP", "%.10g", step);
    vars_set(v, "YTIC_FORMAT", "%%.%df", decimals);
}

static int is_ok(const result_row *r) { return strcmp(r->status, "ok") == 0 && isfinite(r->val_loss); }

static void range_pad(double lo, double hi, double below, double above, double *out_lo, double *out_hi)
{
    double span = hi - lo;
    if (!(span > 0))
        span = fmax(1e-3, 0.01 * fabs(hi));
    *out_lo = lo - below * span;
    *out_hi = hi + above * span;
}

/* ---- allocation ------------------------------------------------------------ */

static int figure_allocation(job *j)
{
    series_list budgets = {0};
    int rc = ES_OK, n_diverged = 0;
    sbuf pts = {0}, fitdat = {0}, optdat = {0}, divdat = {0};
    sbuf titles = {0}, rs = {0}, lo = {0}, hi = {0}, ls = {0}, fitted = {0}, unfitted = {0};
    vars v = {0};
    for (int i = 0; i < j->n_rows && rc == 0; i++) {
        const result_row *r = &j->rows[i];
        if (strcmp(r->kind, "allocation") != 0 || !isfinite(r->rho))
            continue;
        series *s = series_get(&budgets, r->budget, "");
        if (!s) {
            rc = es_error(ES_ENOMEM, "out of memory");
            break;
        }
        if (is_ok(r))
            rc = series_add(s, r->rho, r->val_loss);
    }
    if (rc || budgets.n == 0)
        goto done;
    series_list_sort(&budgets);

    double ymin = INFINITY, ymax = -INFINITY;
    for (int b = 0; b < budgets.n; b++) {
        series *s = &budgets.s[b];
        char power[64];
        format_power(power, sizeof power, s->key);
        sb_printf(&pts, "# C = %.10g FLOPs: rho, mean val_loss, sd over seeds, runs\n", s->key);
        for (int k = 0; k < s->n; k++) {
            double m = point_mean(&s->pts[k]), sd = point_sd(&s->pts[k]);
            sb_printf(&pts, "%.10g\t%.10g\t%.10g\t%d\n", s->pts[k].x, m, sd, s->pts[k].n);
            ymin = fmin(ymin, m - sd);
            ymax = fmax(ymax, m + sd);
        }
        if (s->n == 0) /* only diverged runs: an undefined point keeps the block */
            sb_printf(&pts, "NaN\tNaN\tNaN\t0\n");
        sb_printf(&pts, "\n\n");

        const json_t *g = j->fit ? fit_allocation(j, s->key) : NULL;
        double star = g ? jnum(g, "rho_star") : NAN;
        double star_lo = g ? jnum_at(g, "rho_star_ci", 0) : NAN, star_hi = g ? jnum_at(g, "rho_star_ci", 1) : NAN;
        double loss_star = g ? jnum(g, "loss_star") : NAN;
        const json_t *interior = g ? json_object_get(g, "interior") : NULL;
        char title[256];
        int n = snprintf(title, sizeof title, "C = %s FLOPs", power);
        if (isfinite(star)) {
            n += snprintf(title + n, sizeof title - (size_t)n, ": ρ* = %.2f", star);
            if (isfinite(star_lo) && isfinite(star_hi))
                n += snprintf(title + n, sizeof title - (size_t)n, " [%.2f, %.2f]", star_lo, star_hi);
            if (json_is_false(interior))
                snprintf(title + n, sizeof title - (size_t)n, " (at edge)");
        }
        sb_printf(&titles, "%s", b ? ", " : "");
        sb_quoted(&titles, title);
        sb_printf(&rs, "%s", b ? ", " : "");
        sb_num(&rs, star);
        /* the shaded interval only for an interior minimum: an edge one is
         * no location, and four wide bands would cover the figure */
        int shade = json_is_true(interior);
        sb_printf(&lo, "%s", b ? ", " : "");
        sb_num(&lo, shade ? star_lo : NAN);
        sb_printf(&hi, "%s", b ? ", " : "");
        sb_num(&hi, shade ? star_hi : NAN);
        sb_printf(&ls, "%s", b ? ", " : "");
        sb_num(&ls, loss_star);

        int curve_points = 0;
        if (g) {
            sbuf block = {0};
            sb_printf(&block, "# C = %.10g FLOPs: fitted %s curve (rho, val_loss)\n", s->key,
                      json_string_value(json_object_get(g, "model")) ? json_string_value(json_object_get(g, "model"))
                                                                     : "U");
            curve_points = write_curve(&block, json_object_get(g, "curve"));
            if (curve_points > 1) {
                sb_printf(&fitdat, "%s\n\n", sb_str(&block));
                sb_printf(&fitted, "%s%d", fitted.len ? " " : "", b + 1);
            }
            sb_free(&block);
        }
        if (curve_points <= 1)
            sb_printf(&unfitted, "%s%d", unfitted.len ? " " : "", b + 1);
        if (isfinite(star) && isfinite(loss_star)) {
            sb_printf(&optdat, "%d\t%.10g\t", b + 1, star);
            sb_num(&optdat, isfinite(star_lo) ? star_lo : star);
            sb_printf(&optdat, "\t");
            sb_num(&optdat, isfinite(star_hi) ? star_hi : star);
            sb_printf(&optdat, "\t%.10g\n", loss_star);
            ymin = fmin(ymin, loss_star);
        }
    }
    if (!isfinite(ymin)) { /* every run diverged */
        ymin = 0;
        ymax = 10;
    }
    double ylo, yhi;
    /* headroom at the top for the legend, which sits over the U's dip */
    range_pad(ymin, ymax, 0.08, 0.5 + 0.12 * budgets.n, &ylo, &yhi);
    for (int i = 0; i < j->n_rows; i++) {
        const result_row *r = &j->rows[i];
        if (strcmp(r->kind, "allocation") != 0 || !isfinite(r->rho) || is_ok(r))
            continue;
        for (int b = 0; b < budgets.n; b++)
            if (fabs(budgets.s[b].key - r->budget) <= 1e-9 * fabs(r->budget))
                sb_printf(&divdat, "%.10g\t%d\t%s\n", r->rho, b + 1, r->run);
        n_diverged++;
    }
    if (!divdat.len)
        sb_printf(&divdat, "# no diverged runs\n");
    if (!fitdat.len)
        sb_printf(&fitdat, "# no fitted curves (no fit.json, or no fit succeeded)\n");
    if (!optdat.len)
        sb_printf(&optdat, "# no fitted optimum\n");

    vars_set(&v, "TITLE", "Sparsity allocation: MoE experts vs Engram (%s)", j->experiment);
    vars_set(&v, "N_BUDGETS", "%d", budgets.n);
    vars_set(&v, "BUDGET_TITLES", "%s", sb_str(&titles));
    vars_set(&v, "RHO_STAR", "%s", sb_str(&rs));
    vars_set(&v, "RHO_LO", "%s", sb_str(&lo));
    vars_set(&v, "RHO_HI", "%s", sb_str(&hi));
    vars_set(&v, "LOSS_STAR", "%s", sb_str(&ls));
    vars_set(&v, "FITTED", "%s", sb_str(&fitted));
    vars_set(&v, "UNFITTED", "%s", sb_str(&unfitted));
    vars_set(&v, "N_OPTIMA", "%d", optdat.len && optdat.data[0] != '#' ? 1 : 0);
    vars_set(&v, "N_DIVERGED", "%d", n_diverged ? 1 : 0);
    vars_set(&v, "DIVERGED_Y", "%.10g", ymax + 0.15 * (yhi - ymax));
    vars_set(&v, "YMIN", "%.10g", ylo);
    vars_set(&v, "YMAX", "%.10g", yhi);
    vars_ytics(&v, ylo, yhi);
    if ((rc = job_write(j, "allocation.dat", &pts)) || (rc = job_write(j, "allocation_fit.dat", &fitdat)) ||
        (rc = job_write(j, "allocation_optimum.dat", &optdat)) ||
        (rc = job_write(j, "allocation_diverged.dat", &divdat)))
        goto done;
    rc = job_script(j, "allocation", "allocation", &v);
done:
    series_list_free(&budgets);
    sb_free(&pts), sb_free(&fitdat), sb_free(&optdat), sb_free(&divdat);
    sb_free(&titles), sb_free(&rs), sb_free(&lo), sb_free(&hi), sb_free(&ls);
    sb_free(&fitted), sb_free(&unfitted);
    vars_free(&v);
    return rc;
}

/* ---- rho*(C) ------------------------------------------------------------- */

static int figure_rho_star(job *j)
{
    if (!j->fit)
        return ES_OK;
    sbuf dat = {0};
    vars v = {0};
    int n = 0, rc = ES_OK;
    double cmin = INFINITY, cmax = -INFINITY;
    sb_printf(&dat, "# budget C (FLOPs), rho*, 95%% interval low, high, loss at rho*, interior (1) or at the edge (0)\n");
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(j->fit, "allocation"), i, g)
    {
        double c = jnum(g, "budget"), star = jnum(g, "rho_star");
        if (!(c > 0) || !isfinite(star))
            continue;
        double lo = jnum_at(g, "rho_star_ci", 0), hi = jnum_at(g, "rho_star_ci", 1);
        sb_printf(&dat, "%.10g\t%.10g\t", c, star);
        sb_num(&dat, isfinite(lo) ? lo : star);
        sb_printf(&dat, "\t");
        sb_num(&dat, isfinite(hi) ? hi : star);
        sb_printf(&dat, "\t");
        sb_num(&dat, jnum(g, "loss_star"));
        sb_printf(&dat, "\t%d\n", json_is_true(json_object_get(g, "interior")) ? 1 : 0);
        cmin = fmin(cmin, c);
        cmax = fmax(cmax, c);
        n++;
    }
    if (n >= 2) {
        vars_set(&v, "TITLE", "Optimal allocation ρ* across budgets (%s)", j->experiment);
        /* a decade's margin keeps the end points off the frame */
        vars_set(&v, "XMIN", "%.10g", pow(10, floor(log10(cmin) - 0.3)));
        vars_set(&v, "XMAX", "%.10g", pow(10, ceil(log10(cmax) + 0.3)));
        if (!(rc = job_write(j, "rho_star.dat", &dat)))
            rc = job_script(j, "rho_star", "rho_star", &v);
    }
    sb_free(&dat);
    vars_free(&v);
    return rc;
}

/* ---- memory scaling ---------------------------------------------------------- */

static int figure_memory(job *j)
{
    static const char *const types[] = {"engram", "overencoding"};
    static const char *const names[] = {"Engram", "OverEncoding"};
    static const int colours[] = {2, 1}; /* Engram vermillion, OverEncoding blue (style.gp) */
    series_list mem = {0};
    point base = {0};
    int rc = ES_OK;
    sbuf pts = {0}, fitdat = {0}, titles = {0}, lts = {0}, fitted = {0}, unfitted = {0};
    vars v = {0};
    for (int i = 0; i < j->n_rows && rc == 0; i++) {
        const result_row *r = &j->rows[i];
        if (strcmp(r->kind, "memory") != 0 || !is_ok(r))
            continue;
        if (strcmp(r->memory, "none") == 0 || r->slots <= 0) { /* the backbone without memory */
            base.sum += r->val_loss, base.sumsq += r->val_loss * r->val_loss, base.n++;
            continue;
        }
        int t = strcmp(r->memory, "engram") == 0 ? 0 : strcmp(r->memory, "overencoding") == 0 ? 1 : -1;
        if (t < 0)
            continue;
        series *s = series_get(&mem, t, types[t]);
        rc = s ? series_add(s, (double)r->slots, r->val_loss) : es_error(ES_ENOMEM, "out of memory");
    }
    if (rc || mem.n == 0)
        goto done;
    series_list_sort(&mem);
    double ymin = INFINITY, ymax = -INFINITY, smin = INFINITY, smax = -INFINITY;
    for (int k = 0; k < mem.n; k++) {
        series *s = &mem.s[k];
        smin = fmin(smin, s->pts[0].x);
        smax = fmax(smax, s->pts[s->n - 1].x);
        int t = (int)s->key;
        sb_printf(&pts, "# %s: slots, mean val_loss, sd over seeds, runs\n", types[t]);
        for (int p = 0; p < s->n; p++) {
            double m = point_mean(&s->pts[p]), sd = point_sd(&s->pts[p]);
            sb_printf(&pts, "%.10g\t%.10g\t%.10g\t%d\n", s->pts[p].x, m, sd, s->pts[p].n);
            ymin = fmin(ymin, m - sd);
            ymax = fmax(ymax, m + sd);
        }
        sb_printf(&pts, "\n\n");
        const json_t *g = j->fit ? fit_memory(j, types[t]) : NULL;
        double alpha = g ? jnum(g, "alpha") : NAN;
        double alo = g ? jnum_at(g, "alpha_ci", 0) : NAN, ahi = g ? jnum_at(g, "alpha_ci", 1) : NAN;
        char title[160];
        if (isfinite(alpha) && isfinite(alo) && isfinite(ahi))
            snprintf(title, sizeof title, "%s: α = %.3f [%.3f, %.3f]", names[t], alpha, alo, ahi);
        else if (isfinite(alpha))
            snprintf(title, sizeof title, "%s: α = %.3f", names[t], alpha);
        else
            snprintf(title, sizeof title, "%s", names[t]);
        sb_printf(&titles, "%s", k ? ", " : "");
        sb_quoted(&titles, title);
        sb_printf(&lts, "%s%d", k ? ", " : "", colours[t]);
        int curve_points = 0;
        if (g) {
            sbuf block = {0};
            sb_printf(&block, "# %s: fitted L(M) = L_inf + A M^-alpha (slots, val_loss)\n", types[t]);
            curve_points = write_curve(&block, json_object_get(g, "curve"));
            if (curve_points > 1) {
                sb_printf(&fitdat, "%s\n\n", sb_str(&block));
                sb_printf(&fitted, "%s%d", fitted.len ? " " : "", k + 1);
            }
            sb_free(&block);
        }
        if (curve_points <= 1)
            sb_printf(&unfitted, "%s%d", unfitted.len ? " " : "", k + 1);
    }
    double base_mean = base.n ? point_mean(&base) : NAN;
    if (base.n) {
        ymin = fmin(ymin, base_mean);
        ymax = fmax(ymax, base_mean);
    }
    double ylo, yhi;
    /* headroom for the legend at the top right, above the no-memory line */
    range_pad(ymin, ymax, 0.08, 0.2 + 0.1 * mem.n + 0.15 * (base.n > 0), &ylo, &yhi);
    if (!fitdat.len)
        sb_printf(&fitdat, "# no fitted curves\n");
    vars_set(&v, "TITLE", "Memory scaling: Engram vs OverEncoding (%s)", j->experiment);
    vars_set(&v, "N_SERIES", "%d", mem.n);
    /* a log axis shows labels only at powers of ten: keep one in range */
    double xmin = smin / 1.6, xmax = smax * 1.6;
    if (floor(log10(xmax)) < ceil(log10(xmin)))
        xmin = pow(10, floor(log10(xmin)));
    vars_set(&v, "XMIN", "%.10g", xmin);
    vars_set(&v, "XMAX", "%.10g", xmax);
    vars_set(&v, "SERIES_TITLES", "%s", sb_str(&titles));
    vars_set(&v, "SERIES_LT", "%s", sb_str(&lts));
    vars_set(&v, "FITTED", "%s", sb_str(&fitted));
    vars_set(&v, "UNFITTED", "%s", sb_str(&unfitted));
    vars_set(&v, "N_BASELINE", "%d", base.n ? 1 : 0);
    vars_set(&v, "BASELINE", "%.10g", base.n ? base_mean : 0.0);
    vars_set(&v, "BASELINE_TITLE", "no memory (%d run%s): %.3f", base.n, base.n == 1 ? "" : "s",
             base.n ? base_mean : 0.0);
    vars_set(&v, "YMIN", "%.10g", ylo);
    vars_set(&v, "YMAX", "%.10g", yhi);
    vars_ytics(&v, ylo, yhi);
    if ((rc = job_write(j, "memory.dat", &pts)) || (rc = job_write(j, "memory_fit.dat", &fitdat)))
        goto done;
    rc = job_script(j, "memory", "memory", &v);
done:
    series_list_free(&mem);
    sb_free(&pts), sb_free(&fitdat), sb_free(&titles), sb_free(&lts), sb_free(&fitted), sb_free(&unfitted);
    vars_free(&v);
    return rc;
}

/* ---- grid (ablations) ------------------------------------------------------ */

/* The dotted key prefix every "key=value" part of every label shares (e.g.
 * "model.engram."), so that the axis shows "gate=off" and not the path. */
static void common_key_prefix(const char **labels, int n, char *prefix, size_t size)
{
    prefix[0] = '\0';
    int have = 0;
    size_t len = 0;
    for (int i = 0; i < n; i++)
        for (const char *part = labels[i]; part && *part;) {
            const char *end = strchr(part, ',');
            size_t plen = end ? (size_t)(end - part) : strlen(part);
            const char *eq = memchr(part, '=', plen);
            if (eq) {
                /* the key's path up to and with its last dot */
                size_t klen = (size_t)(eq - part);
                while (klen > 0 && part[klen - 1] != '.')
                    klen--;
                if (!have) {
                    len = klen < size ? klen : size - 1;
                    memcpy(prefix, part, len);
                    have = 1;
                } else {
                    size_t m = 0;
                    while (m < len && m < klen && prefix[m] == part[m])
                        m++;
                    while (m > 0 && prefix[m - 1] != '.') /* whole components only */
                        m--;
                    len = m;
                }
                prefix[len] = '\0';
            }
            part = end ? end + 1 : NULL;
        }
}

/* A label for the axis: the common prefix dropped from every key, tabs
 * (the column separator of grid.dat) made spaces, long ones cut with "...". */
static void short_label(const char *label, const char *prefix, char *out, size_t size)
{
    sbuf b = {0};
    size_t plen = strlen(prefix);
    if (strcmp(label, "-") == 0)
        sb_printf(&b, "(default)");
    for (const char *part = strcmp(label, "-") == 0 ? "" : label; *part;) {
        const char *end = strchr(part, ',');
        size_t n = end ? (size_t)(end - part) : strlen(part);
        if (plen && n > plen && strncmp(part, prefix, plen) == 0 && memchr(part, '=', n))
            part += plen, n -= plen;
        sb_printf(&b, "%s%.*s", b.len ? ", " : "", (int)n, part);
        part = end ? end + 1 : part + n;
    }
    const char *s = sb_str(&b);
    enum { MAX_CHARS = 34 };
    if (strlen(s) > MAX_CHARS)
        snprintf(out, size, "%.*s...", MAX_CHARS - 3, s);
    else
        snprintf(out, size, "%s", s);
    for (char *p = out; *p; p++)
        if (*p == '\t')
            *p = ' ';
    sb_free(&b);
}

static int figure_grid(job *j)
{
    /* labels in the order of their first run */
    const char **labels = calloc((size_t)j->n_rows + 1, sizeof *labels);
    point *stats = calloc((size_t)j->n_rows + 1, sizeof *stats);
    sbuf dat = {0};
    vars v = {0};
    int n = 0, rc = ES_OK;
    if (!labels || !stats) {
        rc = es_error(ES_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < j->n_rows; i++) {
        const result_row *r = &j->rows[i];
        if (strcmp(r->kind, "grid") != 0 || !is_ok(r))
            continue;
        int k = 0;
        while (k < n && strcmp(labels[k], r->label) != 0)
            k++;
        if (k == n)
            labels[n++] = r->label;
        stats[k].sum += r->val_loss, stats[k].sumsq += r->val_loss * r->val_loss, stats[k].n++;
    }
    if (n == 0)
        goto done;
    char prefix[256];
    common_key_prefix(labels, n, prefix, sizeof prefix);
    double xmin = INFINITY, xmax = -INFINITY, ref = NAN;
    sb_printf(&dat, "# index\tlabel\tmean val_loss\tsd\truns\tdelta to reference (fit.json)\tdelta text\n");
    for (int k = 0; k < n; k++) {
        double m = point_mean(&stats[k]), sd = point_sd(&stats[k]);
        xmin = fmin(xmin, m - sd);
        xmax = fmax(xmax, m + sd);
        double delta = NAN, delta_lo = NAN, delta_hi = NAN;
        size_t i;
        const json_t *g;
        json_array_foreach(json_object_get(j->fit, "grid"), i, g)
        {
            const char *label = json_string_value(json_object_get(g, "label"));
            if (!label || strcmp(label, labels[k]) != 0)
                continue;
            delta = jnum(g, "delta");
            const json_t *ci = json_object_get(g, "delta_ci");
            if (json_is_array(ci) && json_is_number(json_array_get(ci, 0)) && json_is_number(json_array_get(ci, 1))) {
                delta_lo = json_number_value(json_array_get(ci, 0));
                delta_hi = json_number_value(json_array_get(ci, 1));
            }
            const json_t *is_ref = json_object_get(g, "reference");
            if (json_is_true(is_ref) || (json_is_string(is_ref) && strcmp(json_string_value(is_ref), label) == 0))
                ref = m;
        }
        char text[96] = "";
        if (isfinite(ref) && ref == m && (!isfinite(delta) || delta == 0))
            text[0] = '\0'; /* the dashed line and the legend say it */
        else if (isfinite(delta) && isfinite(delta_lo))
            snprintf(text, sizeof text, "%+.3f [%+.3f, %+.3f]", delta, delta_lo, delta_hi);
        else if (isfinite(delta))
            snprintf(text, sizeof text, "%+.3f", delta);
        char label[256];
        short_label(labels[k], prefix, label, sizeof label);
        sb_printf(&dat, "%d\t%s\t%.10g\t%.10g\t%d\t", k, label, m, sd, stats[k].n);
        sb_num(&dat, delta);
        sb_printf(&dat, "\t%s\n", text[0] ? text : " ");
    }
    double lo, hi;
    /* the delta texts stand in the right margin */
    range_pad(xmin, xmax, 0.08, 0.08, &lo, &hi);
    vars_set(&v, "TITLE", "Ablations (%s)", j->experiment);
    vars_set(&v, "N_LABELS", "%d", n);
    vars_set(&v, "XMIN", "%.10g", lo);
    vars_set(&v, "XMAX", "%.10g", hi);
    int decimals;
    vars_set(&v, "XTIC_STEP", "%.10g", nice_step((hi - lo) / 4, &decimals));
    vars_set(&v, "XTIC_FORMAT", "%%.%df", decimals);
    if (prefix[0])
        vars_set(&v, "YLABEL", "setting (keys under %s)", prefix);
    else
        vars_set(&v, "YLABEL", "setting");
    vars_set(&v, "N_REFERENCE", "%d", isfinite(ref) ? 1 : 0);
    vars_set(&v, "REFERENCE", "%.10g", isfinite(ref) ? ref : 0.0);
    if (!(rc = job_write(j, "grid.dat", &dat)))
        rc = job_script(j, "grid", "grid", &v);
done:
    free(labels);
    free(stats);
    sb_free(&dat);
    vars_free(&v);
    return rc;
}

/* ---- training curves --------------------------------------------------------- */

/* Appends the (tokens, val_loss, colour value) rows of one log.tsv as a
 * block; *final gets its last val_loss and *early the first one at >= 20%
 * of its tokens. Returns the number of points (0 if the file is absent). */
static int read_log(const char *path, double colour, sbuf *out, double *ymin, double *early, double *final,
                    double *final_tokens, int *points)
{
    *points = 0;
    *early = *final = *final_tokens = NAN;
    if (!es_exists(path))
        return ES_OK;
    char *text;
    int rc = es_read_file(path, &text, NULL);
    if (rc)
        return rc;
    int col_tokens = -1, col_val = -1, line_no = 0;
    double *tok = NULL, *val = NULL;
    int n = 0, cap = 0;
    char *save_line = NULL;
    for (char *line = strtok_r(text, "\n", &save_line); line; line = strtok_r(NULL, "\n", &save_line)) {
        line_no++;
        char *save_col = NULL;
        int c = 0;
        double t = NAN, y = NAN;
        for (char *f = strtok_r(line, "\t", &save_col); f; f = strtok_r(NULL, "\t", &save_col), c++) {
            if (line_no == 1) {
                if (strcmp(f, "tokens") == 0)
                    col_tokens = c;
                else if (strcmp(f, "val_loss") == 0)
                    col_val = c;
            } else if (c == col_tokens || c == col_val) {
                char *end;
                double x = strtod(f, &end);
                if (c == col_tokens)
                    t = *end ? NAN : x;
                else
                    y = *end ? NAN : x;
            }
        }
        if (line_no == 1 && (col_tokens < 0 || col_val < 0)) {
            rc = es_error(ES_EDATA, "%s:1: the header has no tokens or val_loss column", path);
            break;
        }
        /* rows without an eval; token 0 is the untrained model, far off the axis */
        if (line_no == 1 || !isfinite(t) || !isfinite(y) || t <= 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            double *bt = realloc(tok, (size_t)cap * sizeof *bt);
            if (bt)
                tok = bt;
            double *bv = realloc(val, (size_t)cap * sizeof *bv);
            if (bv)
                val = bv;
            if (!bt || !bv) {
                rc = es_error(ES_ENOMEM, "out of memory reading %s", path);
                break;
            }
        }
        tok[n] = t, val[n] = y, n++;
    }
    if (rc == ES_OK && n > 0) {
        sb_printf(out, "# %s\n", path);
        for (int i = 0; i < n; i++) {
            sb_printf(out, "%.10g\t%.10g\t%.10g\n", tok[i], val[i], colour);
            *ymin = fmin(*ymin, val[i]);
            if (!isfinite(*early) && tok[i] >= 0.2 * tok[n - 1])
                *early = val[i];
        }
        sb_printf(out, "\n\n");
        *final = val[n - 1];
        *final_tokens = tok[n - 1];
        *points = n;
    }
    free(tok);
    free(val);
    free(text);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int figure_training(job *j, const char *kind)
{
    sbuf dat = {0}, dts = {0}, lts = {0}, titles = {0}, keys = {0}, key_dts = {0};
    vars v = {0};
    double *early = calloc((size_t)j->n_rows + 1, sizeof *early);
    int rc = ES_OK, n = 0, alloc = strcmp(kind, "allocation") == 0, memory = strcmp(kind, "memory") == 0;
    double ymin = INFINITY, cmin = INFINITY, cmax = -INFINITY, tmax = -INFINITY;
    /* dash types tell budgets (allocation) or memory types apart */
    double budgets[8];
    int n_budgets = 0, n_keys = 0, seen_memory[3] = {0, 0, 0};
    const char **grid_labels = calloc((size_t)j->n_rows + 1, sizeof *grid_labels);
    int n_labels = 0;
    if (!early || !grid_labels) {
        rc = es_error(ES_ENOMEM, "out of memory");
        goto done;
    }
    char prefix[256] = ""; /* of the grid labels, as in the grid figure */
    if (!alloc && !memory) {
        int m = 0;
        for (int i = 0; i < j->n_rows; i++)
            if (strcmp(j->rows[i].kind, kind) == 0)
                grid_labels[m++] = j->rows[i].label;
        common_key_prefix(grid_labels, m, prefix, sizeof prefix);
    }
    for (int i = 0; i < j->n_rows && rc == 0; i++) {
        const result_row *r = &j->rows[i];
        if (strcmp(r->kind, kind) != 0)
            continue;
        double colour = alloc ? r->rho : memory ? (r->slots > 0 ? log10((double)r->slots) : NAN) : 0;
        int dt = 1, lt = 1;
        char title[300] = "";
        if (alloc) {
            int b = 0;
            while (b < n_budgets && fabs(budgets[b] - r->budget) > 1e-9 * r->budget)
                b++;
            if (b == n_budgets && n_budgets < 8)
                budgets[n_budgets++] = r->budget;
            dt = b % 5 + 1;
        } else if (memory) {
            int t = strcmp(r->memory, "engram") == 0 ? 0 : strcmp(r->memory, "overencoding") == 0 ? 1 : 2;
            dt = t + 1;
            seen_memory[t] = 1;
        } else {
            int k = 0;
            while (k < n_labels && strcmp(grid_labels[k], r->label) != 0)
                k++;
            if (k == n_labels) {
                grid_labels[n_labels++] = r->label;
                short_label(r->label, prefix, title, sizeof title); /* one key entry per label */
            }
            lt = k % 8 + 1;
        }
        char path[PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s/log.tsv", j->run_dir, r->run);
        double final, final_tokens;
        int points;
        rc = read_log(path, colour, &dat, &ymin, &early[n], &final, &final_tokens, &points);
        if (rc || points == 0)
            continue;
        tmax = fmax(tmax, final_tokens);
        if (isfinite(colour))
            cmin = fmin(cmin, colour), cmax = fmax(cmax, colour);
        sb_printf(&dts, "%s%d", n ? ", " : "", dt);
        sb_printf(&lts, "%s%d", n ? ", " : "", lt);
        sb_printf(&titles, "%s", n ? ", " : "");
        sb_quoted(&titles, title);
        n++;
    }
    if (rc || n == 0)
        goto done;
    if (alloc) {
        for (int b = 0; b < n_budgets; b++) {
            char power[64], key[96];
            format_power(power, sizeof power, budgets[b]);
            snprintf(key, sizeof key, "C = %s FLOPs", power);
            sb_printf(&keys, "%s", n_keys ? ", " : "");
            sb_quoted(&keys, key);
            sb_printf(&key_dts, "%s%d", n_keys ? ", " : "", b % 5 + 1);
            n_keys++;
        }
    } else if (memory) {
        static const char *const names[] = {"Engram", "OverEncoding", "no memory"};
        for (int t = 0; t < 3; t++)
            if (seen_memory[t]) {
                sb_printf(&keys, "%s", n_keys ? ", " : "");
                sb_quoted(&keys, names[t]);
                sb_printf(&key_dts, "%s%d", n_keys ? ", " : "", t + 1);
                n_keys++;
            }
    }
    /* The top of the y axis: the median loss at 20% of training, so the
     * early drop does not squash the part where runs differ. */
    qsort(early, (size_t)n, sizeof *early, cmp_double);
    int finite = 0;
    while (finite < n && isfinite(early[finite]))
        finite++;
    double top = finite ? early[finite / 2] : ymin + 1;
    double ylo, yhi;
    range_pad(ymin, top, 0.05, 0.05, &ylo, &yhi);
    if (!isfinite(cmin))
        cmin = 0, cmax = 1;
    if (cmax <= cmin)
        cmax = cmin + 1;
    char name[64];
    snprintf(name, sizeof name, "training_%s", kind);
    vars_set(&v, "TITLE", "Training curves, %s study (%s)", kind, j->experiment);
    vars_set(&v, "N_RUNS", "%d", n);
    vars_set(&v, "RUN_DT", "%s", sb_str(&dts));
    vars_set(&v, "RUN_LT", "%s", sb_str(&lts));
    vars_set(&v, "RUN_TITLES", "%s", sb_str(&titles));
    vars_set(&v, "N_KEYS", "%d", n_keys);
    /* gnuplot arrays have at least one element */
    vars_set(&v, "KEY_TITLES", "%s", n_keys ? sb_str(&keys) : "\"\"");
    vars_set(&v, "KEY_DT", "%s", n_keys ? sb_str(&key_dts) : "1");
    /* tokens in thousands, millions or billions, so tick labels stay short */
    double unit = tmax >= 2e9 ? 1e9 : tmax >= 2e6 ? 1e6 : tmax >= 2e3 ? 1e3 : 1;
    vars_set(&v, "TOKEN_UNIT", "%.0f", unit);
    vars_set(&v, "XLABEL", "training tokens%s", unit == 1e9 ? " (billions)" : unit == 1e6 ? " (millions)"
                                                 : unit == 1e3 ? " (thousands)" : "");
    vars_set(&v, "XMAX", "%.10g", 1.02 * tmax / unit);
    vars_set(&v, "USE_PALETTE", "%d", alloc || memory);
    vars_set(&v, "CB_LABEL", "%s",
             alloc ? "allocation ratio ρ" : memory ? "log_{10} memory slots" : "");
    vars_set(&v, "CB_MIN", "%.10g", alloc ? 0.0 : cmin);
    vars_set(&v, "CB_MAX", "%.10g", alloc ? 1.0 : cmax);
    vars_set(&v, "YMIN", "%.10g", ylo);
    vars_set(&v, "YMAX", "%.10g", yhi);
    vars_ytics(&v, ylo, yhi);
    char file[96];
    snprintf(file, sizeof file, "%s.dat", name);
    if (!(rc = job_write(j, file, &dat)))
        rc = job_script(j, "training", name, &v);
done:
    free(early);
    free(grid_labels);
    sb_free(&dat), sb_free(&dts), sb_free(&lts), sb_free(&titles), sb_free(&keys), sb_free(&key_dts);
    vars_free(&v);
    return rc;
}

/* ---- the driver ---------------------------------------------------------------- */

void plot_files_free(char **files, int n_files)
{
    for (int i = 0; i < n_files; i++)
        free(files[i]);
    free(files);
}

static int load_fit(job *j)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/fit.json", j->run_dir);
    if (!es_exists(path))
        return ES_OK;
    json_error_t err;
    j->fit = json_load_file(path, 0, &err);
    if (!j->fit)
        return es_error(ES_EDATA, "%s:%d:%d: %s", path, err.line, err.column, err.text);
    if (!json_is_object(j->fit))
        return es_error(ES_EDATA, "%s: expected a JSON object at the top", path);
    return ES_OK;
}

static int render(job *j)
{
    for (int f = 0; f < j->n_figures; f++) {
        char script[96];
        snprintf(script, sizeof script, "%s.gp", j->figures[f]);
        int rc = plot_gnuplot_run(j->fig_dir, script);
        if (rc == ES_EMISSING) {
            char why[512]; /* a copy: es_error() overwrites the message it would read */
            snprintf(why, sizeof why, "%s", es_error_message());
            return es_error(ES_EMISSING, "%s (the scripts are kept in %s: run them with gnuplot NAME.gp there)",
                            why, j->fig_dir);
        }
        if (rc)
            return rc;
        static const char *const ext[] = {"png", "svg"};
        for (int e = 0; e < 2; e++) {
            char path[PATH_MAX + 128];
            snprintf(path, sizeof path, "%s/%s.%s", j->fig_dir, j->figures[f], ext[e]);
            if (!es_exists(path))
                return es_error(ES_EIO, "gnuplot ran %s/%s but wrote no %s", j->fig_dir, script, path);
            if ((rc = job_record(j, path)))
                return rc;
        }
    }
    return ES_OK;
}

int plot_run_dir(const char *run_dir, char ***files_written, int *n_files)
{
    *files_written = NULL;
    *n_files = 0;
    job j;
    memset(&j, 0, sizeof j);
    j.run_dir = run_dir;
    char results[PATH_MAX + 16];
    snprintf(results, sizeof results, "%s/results.tsv", run_dir);
    snprintf(j.fig_dir, sizeof j.fig_dir, "%s/figures", run_dir);
    /* the experiment's name is the run folder's, without trailing slashes */
    snprintf(j.experiment, sizeof j.experiment, "%s", run_dir);
    size_t len = strlen(j.experiment);
    while (len > 1 && j.experiment[len - 1] == '/')
        j.experiment[--len] = '\0';
    const char *slash = strrchr(j.experiment, '/');
    if (slash)
        memmove(j.experiment, slash + 1, strlen(slash + 1) + 1);

    int rc = es_exists(run_dir) ? ES_OK : es_error(ES_EIO, "no run folder %s", run_dir);
    if (rc == ES_OK)
        rc = results_read(results, &j.rows, &j.n_rows);
    if (rc == ES_OK && j.n_rows == 0)
        rc = es_error(ES_EDATA, "%s has no finished runs: nothing to plot (run engram-scale sweep first)", results);
    if (rc == ES_OK)
        rc = load_fit(&j);
    if (rc == ES_OK)
        rc = plot_templates_dir(j.tmpl_dir, sizeof j.tmpl_dir);
    if (rc == ES_OK) {
        char style[PATH_MAX + 16];
        snprintf(style, sizeof style, "%s/style.gp", j.tmpl_dir);
        rc = es_read_file(style, &j.style, NULL);
    }
    if (rc == ES_OK)
        rc = es_mkdir_p(j.fig_dir);
    if (rc == ES_OK)
        rc = figure_allocation(&j);
    if (rc == ES_OK)
        rc = figure_rho_star(&j);
    if (rc == ES_OK)
        rc = figure_memory(&j);
    if (rc == ES_OK)
        rc = figure_grid(&j);
    static const char *const kinds[] = {"allocation", "memory", "grid"};
    for (int k = 0; k < 3 && rc == ES_OK; k++)
        rc = figure_training(&j, kinds[k]);
    if (rc == ES_OK && j.n_figures == 0)
        rc = es_error(ES_EDATA, "%s has no allocation, memory or grid runs to plot", results);
    if (rc == ES_OK)
        rc = render(&j);

    free(j.rows);
    free(j.style);
    json_decref(j.fit);
    for (int f = 0; f < j.n_figures; f++)
        free(j.figures[f]);
    if (rc) {
        plot_files_free(j.files, j.n_files);
        return rc;
    }
    *files_written = j.files;
    *n_files = j.n_files;
    return ES_OK;
}
