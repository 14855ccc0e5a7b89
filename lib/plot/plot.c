/* The figures of a run folder: data files and filled gnuplot scripts in
 * RUN_DIR/figures/, rendered by gnuplot to PNG and SVG. The C side only
 * aggregates (mean +- sd over seeds, fit.json's curves and optima) and
 * writes plain numbers; every choice of appearance lives in the templates
 * of plots/. */
#include "plot/internal.h"

#include "core/error.h"
#include "core/fs.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- growing strings ---------------------------------------------------- */

void sb_printf(sbuf *b, const char *fmt, ...)
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

const char *sb_str(sbuf *b)
{
    if (!b->data)
        sb_printf(b, "%s", "");
    return b->oom ? "" : b->data;
}

void sb_free(sbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* A number as gnuplot reads it: undefined values are NaN. */
void sb_num(sbuf *b, double v)
{
    if (isfinite(v))
        sb_printf(b, "%.10g", v);
    else
        sb_printf(b, "NaN");
}

/* A double-quoted gnuplot string (backslash escapes are interpreted). */
void sb_quoted(sbuf *b, const char *s)
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

void vars_set(vars *v, const char *name, const char *fmt, ...)
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

void vars_free(vars *v)
{
    for (int i = 0; i < v->n; i++) {
        free(v->names[i]);
        free(v->values[i]);
    }
    v->n = 0;
}

/* ---- the job ------------------------------------------------------------ */

int job_record(job *j, const char *path)
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
int job_write(job *j, const char *name, sbuf *content)
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
int job_script(job *j, const char *template_name, const char *name, vars *v)
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

series *series_get(series_list *l, double key, const char *name)
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

int series_add(series *s, double x, double y)
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

double point_mean(const point *p) { return p->sum / p->n; }

/* Sample sd over seeds; 0 for a single run. */
double point_sd(const point *p)
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

void series_list_sort(series_list *l)
{
    qsort(l->s, (size_t)l->n, sizeof *l->s, cmp_series);
    for (int i = 0; i < l->n; i++)
        qsort(l->s[i].pts, (size_t)l->s[i].n, sizeof *l->s[i].pts, cmp_point);
}

void series_list_free(series_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->s[i].pts);
    free(l->s);
    memset(l, 0, sizeof *l);
}

/* ---- fit.json ------------------------------------------------------------ */

/* A number of a fit.json object; NaN when missing, null or not a number. */
double plot_jnum(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

double plot_jnum_at(const json_t *o, const char *key, size_t i)
{
    const json_t *v = json_array_get(json_object_get(o, key), i);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Writes a fit.json curve [[x, y], ...] as one data block; returns the
 * number of points written. */
int write_curve(sbuf *b, const json_t *curve)
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

const json_t *plot_fit_allocation(const job *j, double budget)
{
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(j->fit, "allocation"), i, g)
    {
        double c = plot_jnum(g, "budget");
        if (fabs(c - budget) <= 1e-9 * fabs(budget))
            return g;
    }
    return NULL;
}

const json_t *plot_fit_memory(const job *j, const char *memory)
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
void format_power(char *buf, size_t size, double v)
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
double nice_step(double raw, int *decimals)
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
void vars_ytics(vars *v, double lo, double hi)
{
    int decimals;
    double step = nice_step((hi - lo) / 5, &decimals);
    vars_set(v, "YTIC_STEP", "%.10g", step);
    vars_set(v, "YTIC_FORMAT", "%%.%df", decimals);
}

int plot_row_ok(const result_row *r) { return strcmp(r->status, "ok") == 0 && isfinite(r->val_loss); }

void range_pad(double lo, double hi, double below, double above, double *out_lo, double *out_hi)
{
    double span = hi - lo;
    if (!(span > 0))
        span = fmax(1e-3, 0.01 * fabs(hi));
    *out_lo = lo - below * span;
    *out_hi = hi + above * span;
}

/* ---- labels of many runs ------------------------------------------------- */

/* The dotted key prefix every "key=value" part of every label shares (e.g.
 * "model.engram."), so that the axis shows "gate=off" and not the path. */
void common_key_prefix(const char **labels, int n, char *prefix, size_t size)
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
void short_label(const char *label, const char *prefix, char *out, size_t size)
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
        rc = figure_gap(&j);
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
