/* The grid figure (ablations): mean +- sd per label and the difference to
 * the reference. */
#include "plot/internal.h"

#include "core/error.h"
#include "core/fs.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- grid (ablations) ------------------------------------------------------ */

int figure_grid(job *j)
{
    /* labels in the order of their first run: the plan's, as results_read sorts rows by run name */
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
        if (strcmp(r->kind, "grid") != 0 || !plot_row_ok(r))
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
            delta = plot_jnum(g, "delta");
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
    vars_set(&v, "TITLE", "Validation loss per setting (%s)", j->experiment);
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

