/* The training curves: validation loss against tokens, one line per run
 * of a study kind. */
#include "plot/internal.h"

#include "core/error.h"
#include "core/fs.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int figure_training(job *j, const char *kind)
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

