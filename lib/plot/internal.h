/* Internal to lib/plot: the job every figure writes into, the growing
 * strings and template variables it fills, the mean +- sd aggregation,
 * fit.json look-ups and axis helpers (plot.c), and one function per figure
 * in the file of its study kind:
 *   allocation.c  allocation (loss against rho per budget), rho_star and gap
 *   memory.c      memory (loss against table slots)
 *   grid.c        grid (ablations)
 *   training.c    training_<kind> (loss against tokens per run)
 * Not part of the public API (plot.h). */
#ifndef ES_PLOT_INTERNAL_H
#define ES_PLOT_INTERNAL_H

#include "plot/plot.h"
#include "study/results.h"

#include <jansson.h>
#include <limits.h>
#include <stddef.h>

typedef struct {
    char *data;
    size_t len, cap;
    int oom;
} sbuf;

enum { MAX_VARS = 48 };

typedef struct {
    char *names[MAX_VARS];
    char *values[MAX_VARS];
    int n;
    int oom;
} vars;

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

void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vars_set(vars *v, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *sb_str(sbuf *b);
void sb_free(sbuf *b);
void sb_num(sbuf *b, double v);
void sb_quoted(sbuf *b, const char *s);
void vars_free(vars *v);
int job_record(job *j, const char *path);
int job_write(job *j, const char *name, sbuf *content);
int job_script(job *j, const char *template_name, const char *name, vars *v);
series *series_get(series_list *l, double key, const char *name);
int series_add(series *s, double x, double y);
double point_mean(const point *p);
double point_sd(const point *p);
void series_list_sort(series_list *l);
void series_list_free(series_list *l);
double plot_jnum(const json_t *o, const char *key);
double plot_jnum_at(const json_t *o, const char *key, size_t i);
int write_curve(sbuf *b, const json_t *curve);
const json_t *plot_fit_allocation(const job *j, double budget);
const json_t *plot_fit_memory(const job *j, const char *memory);
void format_power(char *buf, size_t size, double v);
double nice_step(double raw, int *decimals);
void vars_ytics(vars *v, double lo, double hi);
int plot_row_ok(const result_row *r);
/* The longest prefix of the labels ending at a separator, and a label
 * without it (for keys of many runs). */
void common_key_prefix(const char **labels, int n, char *prefix, size_t size);
void short_label(const char *label, const char *prefix, char *out, size_t size);
void range_pad(double lo, double hi, double below, double above, double *out_lo, double *out_hi);

/* The figures: each writes its data and script into j (nothing when the
 * run folder has no runs of its kind) and queues it for rendering. */
int figure_allocation(job *j);
int figure_rho_star(job *j);
int figure_gap(job *j);
int figure_memory(job *j);
int figure_grid(job *j);
int figure_training(job *j, const char *kind);

#endif
