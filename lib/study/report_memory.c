/* report.md's memory section: per memory type the slots table and the
 * power law; Engram against OverEncoding. */
#include "study/report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *memory_title(const char *memory)
{
    if (strcmp(memory, "engram") == 0)
        return "Engram";
    if (strcmp(memory, "overencoding") == 0)
        return "OverEncoding";
    if (strcmp(memory, "none") == 0)
        return "No memory (backbone alone)";
    return memory;
}

void report_put_memory(FILE *f, const report_ctx *c, double *slots)
{
    fputs("## Memory study\n\n", f);
    if (!c->fit)
        fputs("No fit: fit.json is missing (run `engram-scale fit RUN_DIR`); the tables below are the measured "
              "means only.\n\n", f);
    static const char *const types[] = {"engram", "overencoding", "none"};
    for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
        int ns = distinct_values(c, 2, NULL, types[t], slots);
        if (ns == 0)
            continue;
        fprintf(f, "### %s\n\n", memory_title(types[t]));
        fputs("| slots | P_tot | P_act | tokens | n | val loss (mean ± sd) |\n", f);
        fputs("|---:|---:|---:|---:|---:|---:|\n", f);
        for (int i = 0; i < ns; i++) {
            point_key k = {.use_memory = 1, .use_slots = 1, .memory = types[t], .slots = (long)slots[i]};
            point p;
            point_collect(c, &k, &p);
            double p_tot = p.plan ? p.plan->p_tot : p.row ? p.row->p_tot : NAN;
            double p_act = p.plan ? p.plan->p_act : p.row ? p.row->p_act : NAN;
            double tokens = p.plan ? p.plan->tokens : p.row ? p.row->tokens : NAN;
            fprintf(f, "| %.0f | %s | %s | %s | %s | %s |\n", slots[i], fmt_eng(p_tot), fmt_eng(p_act),
                    fmt_eng(tokens), fmt_n(&p), fmt_mean_sd(&p));
        }
        fputc('\n', f);
        const json_t *e = fit_entry(c, "memory", "memory", 0, types[t]);
        if (!e) {
            if (c->fit && strcmp(types[t], "none") != 0)
                fputs("No fit for this memory type (fit.json has no entry for it).\n\n", f);
            continue;
        }
        if (isfinite(jnum(e, "alpha"))) {
            fprintf(f, "- Power law L = L_inf + A M^-alpha: alpha = %s ± %s (SE), 95%% interval %s; L_inf = %s ± %s; "
                       "A = %s\n",
                    fmt("%.4f", jnum(e, "alpha")), fmt("%.4f", jnum(e, "alpha_se")),
                    fmt_interval(json_object_get(e, "alpha_ci"), "%.4f"), fmt_loss(jnum(e, "l_inf")),
                    fmt_loss(jnum(e, "l_inf_se")), fmt("%.4g", jnum(e, "A")));
        } else {
            fputs("- Power law L = L_inf + A M^-alpha: not fitted (see the warnings)\n", f);
        }
        const json_t *ll = json_object_get(e, "loglinear");
        if (json_is_object(ll))
            fprintf(f, "- Log-log line ln L = c + s ln M: slope s = %s ± %s (SE), intercept c = %s\n",
                    fmt("%.5f", jnum(ll, "slope")), fmt("%.5f", jnum(ll, "slope_se")),
                    fmt("%.4f", jnum(ll, "intercept")));
        put_warnings(f, e);
        fputc('\n', f);
    }

    /* Engram against OverEncoding at the largest slot count both have */
    int ne = distinct_values(c, 2, NULL, "engram", slots);
    double *other = slots + ne;
    int no = distinct_values(c, 2, NULL, "overencoding", other);
    if (ne && no) {
        double best_e = NAN, best_o = NAN;
        for (int i = 0; i < ne; i++)
            for (int j = 0; j < no; j++)
                if (fabs(slots[i] / other[j] - 1) <= 0.02 && !(slots[i] <= best_e)) {
                    point pe, po;
                    point_key ke = {.use_memory = 1, .use_slots = 1, .memory = "engram", .slots = (long)slots[i]};
                    point_key ko = {.use_memory = 1, .use_slots = 1, .memory = "overencoding", .slots = (long)other[j]};
                    point_collect(c, &ke, &pe);
                    point_collect(c, &ko, &po);
                    if (pe.n_ok && po.n_ok) {
                        best_e = slots[i];
                        best_o = other[j];
                    }
                }
        fputs("### Engram against OverEncoding\n\n", f);
        if (isfinite(best_e)) {
            point pe, po;
            point_key ke = {.use_memory = 1, .use_slots = 1, .memory = "engram", .slots = (long)best_e};
            point_key ko = {.use_memory = 1, .use_slots = 1, .memory = "overencoding", .slots = (long)best_o};
            point_collect(c, &ke, &pe);
            point_collect(c, &ko, &po);
            double d = pe.mean - po.mean;
            char at[96];
            if (best_e == best_o)
                snprintf(at, sizeof at, "%.0f slots", best_e);
            else
                snprintf(at, sizeof at, "%.0f (Engram) and %.0f (OverEncoding) slots", best_e, best_o);
            fprintf(f, "At %s, the largest count both have, Engram's loss minus OverEncoding's is %s nats (%s vs %s",
                    at, fmt("%+.4f", d), fmt_loss(pe.mean), fmt_loss(po.mean));
            if (pe.n_ok > 1 && po.n_ok > 1)
                fprintf(f, "; Welch SE %s", fmt_loss(sqrt(pe.sd * pe.sd / pe.n_ok + po.sd * po.sd / po.n_ok)));
            else
                fputs("; no SE: one run on a side", f);
            fprintf(f, "): Engram is %s. Engram's P_tot there is %s, OverEncoding's %s (its rows are d_model wide).\n\n",
                    d < 0 ? "lower" : d > 0 ? "higher" : "equal",
                    fmt_eng(pe.plan ? pe.plan->p_tot : pe.row ? pe.row->p_tot : NAN),
                    fmt_eng(po.plan ? po.plan->p_tot : po.row ? po.row->p_tot : NAN));
        } else {
            fputs("No slot count has finished runs of both Engram and OverEncoding.\n\n", f);
        }
    }
}

