/* The memory figure: loss against table slots per memory type. */
#include "plot/internal.h"

#include "core/error.h"
#include "core/fs.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- memory scaling ---------------------------------------------------------- */

int figure_memory(job *j)
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
        if (strcmp(r->kind, "memory") != 0 || !plot_row_ok(r))
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
        const json_t *g = j->fit ? plot_fit_memory(j, types[t]) : NULL;
        double alpha = g ? plot_jnum(g, "alpha") : NAN;
        double alo = g ? plot_jnum_at(g, "alpha_ci", 0) : NAN, ahi = g ? plot_jnum_at(g, "alpha_ci", 1) : NAN;
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

