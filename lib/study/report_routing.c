/* The routing section of report.md, from each run's log.tsv. */
#include "study/report_routing.h"

#include "config/config.h"
#include "core/error.h"
#include "core/fs.h"
#include "study/tsv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { LOG_MAX_COLUMNS = 64 };

/* The routing columns of log.tsv, in routing_summary's order. */
static const char *const ROUTING_COLUMNS[] = {"experts_eff_min", "experts_eff_mean", "load_max_mean", "bias_changed"};
enum { N_ROUTING = 4 };

typedef struct {
    long step;
    double v[N_ROUTING];
} log_row;

int routing_summarize(const char *log_path, int experts, routing_summary *out)
{
    memset(out, 0, sizeof *out);
    out->experts = experts;
    out->experts_eff = out->experts_eff_mean = out->load_max_mean = out->bias_changed = NAN;
    char *text = NULL;
    if (!es_exists(log_path))
        return es_error(ES_EIO, "%s: no such file", log_path);
    int rc = es_read_file(log_path, &text, NULL);
    if (rc)
        return rc;

    int col_step = -1, col[N_ROUTING] = {-1, -1, -1, -1};
    log_row *rows = NULL;
    int n = 0, cap = 0, line_no = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char *f[LOG_MAX_COLUMNS];
        int nf = tsv_split(line, f, LOG_MAX_COLUMNS);
        if (nf > LOG_MAX_COLUMNS) {
            rc = es_error(ES_EDATA, "%s:%d: more than %d columns", log_path, line_no, LOG_MAX_COLUMNS);
            break;
        }
        if (line_no == 1) {
            for (int i = 0; i < nf; i++) {
                if (strcmp(f[i], "step") == 0)
                    col_step = i;
                for (int k = 0; k < N_ROUTING; k++)
                    if (strcmp(f[i], ROUTING_COLUMNS[k]) == 0)
                        col[k] = i;
            }
            if (col_step < 0) {
                rc = es_error(ES_EDATA, "%s:1: no step column in the header", log_path);
                break;
            }
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            log_row *grown = realloc(rows, sizeof *rows * (size_t)cap);
            if (!grown) {
                rc = es_error(ES_ENOMEM, "out of memory reading %s", log_path);
                break;
            }
            rows = grown;
        }
        log_row *r = &rows[n];
        double step;
        if (col_step >= nf || tsv_number(f[col_step], &step) != 0 || !(step >= 0)) {
            rc = es_error(ES_EDATA, "%s:%d: step is not a number", log_path, line_no);
            break;
        }
        r->step = (long)step;
        for (int k = 0; k < N_ROUTING && !rc; k++) {
            r->v[k] = NAN;
            if (col[k] < 0)
                continue;
            if (col[k] >= nf || tsv_number(f[col[k]], &r->v[k]) != 0)
                rc = es_error(ES_EDATA, "%s:%d: %s = '%s' is not a number", log_path, line_no, ROUTING_COLUMNS[k],
                              col[k] < nf ? f[col[k]] : "");
        }
        if (rc)
            break;
        n++;
    }
    free(text);
    if (rc) {
        free(rows);
        return rc;
    }
    if (n > 0)
        out->last_step = rows[n - 1].step;
    double sum[N_ROUTING] = {0};
    int count[N_ROUTING] = {0};
    for (int i = 0; i < n; i++) {
        if (2 * rows[i].step <= out->last_step)
            continue; /* first half */
        for (int k = 0; k < N_ROUTING; k++)
            if (isfinite(rows[i].v[k])) {
                sum[k] += rows[i].v[k];
                count[k]++;
            }
        if (isfinite(rows[i].v[0]))
            out->rows++;
    }
    free(rows);
    double *dst[N_ROUTING] = {&out->experts_eff, &out->experts_eff_mean, &out->load_max_mean, &out->bias_changed};
    for (int k = 0; k < N_ROUTING; k++)
        *dst[k] = count[k] ? sum[k] / count[k] : NAN;
    out->collapsed = experts > 0 && isfinite(out->experts_eff) && out->experts_eff < 0.5 * experts;
    return ES_OK;
}

int routing_run_experts(const char *run_dir, int *experts)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/run.yaml", run_dir);
    if (!es_exists(path)) {
        snprintf(path, sizeof path, "%s/config.yaml", run_dir);
        if (!es_exists(path))
            return es_error(ES_EIO, "%s: neither run.yaml nor config.yaml", run_dir);
    }
    run_config cfg;
    int rc = config_load(path, NULL, 0, &cfg);
    if (rc)
        return rc;
    *experts = cfg.model.moe.experts;
    return ES_OK;
}

static const char *base_name(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    const char *end = path + len, *p = end;
    while (p > path && p[-1] != '/')
        p--;
    return p;
}

/* "12.3" or "-" for a missing figure. */
static void format_number(char *buf, size_t size, const char *fmt, double x)
{
    if (isfinite(x))
        snprintf(buf, size, fmt, x);
    else
        snprintf(buf, size, "-");
}

static int write_section(FILE *f, const char *const *run_dirs, const char *const *labels, int n)
{
    int moe_runs = 0, collapsed = 0, without_columns = 0;
    char (*names)[320] = calloc((size_t)(n > 0 ? n : 1), sizeof *names);
    if (!names)
        return es_error(ES_ENOMEM, "out of memory writing the routing section");
    int rc = ES_OK;
    fprintf(f, "## Routing\n\n");
    for (int i = 0; i < n && !rc; i++) {
        char label[256];
        if (labels && labels[i])
            snprintf(label, sizeof label, "%s", labels[i]);
        else
            snprintf(label, sizeof label, "%.*s", (int)strcspn(base_name(run_dirs[i]), "/"), base_name(run_dirs[i]));
        int experts = 0;
        if ((rc = routing_run_experts(run_dirs[i], &experts)))
            break;
        if (experts == 0)
            continue;
        if (moe_runs == 0) {
            fprintf(f, "How evenly the routed experts share the tokens over the second half of training (the "
                       "log.tsv rows after half the steps, each covering the steps since the previous row; means "
                       "over those rows). Effective experts = exp(entropy of the routed load shares): E when even, "
                       "1 when one expert takes every token; the worst layer and the mean over layers. Picks "
                       "changed = share of top-k picks on s + b that are not among the top-k of the affinities s "
                       "alone.\n\n");
            fprintf(f, "| run | E | effective experts, worst layer | effective experts, layer mean | load max/mean "
                       "| picks changed by the bias |\n");
            fprintf(f, "|---|---:|---:|---:|---:|---:|\n");
        }
        moe_runs++;
        char log_path[4096];
        snprintf(log_path, sizeof log_path, "%s/log.tsv", run_dirs[i]);
        if (!es_exists(log_path)) {
            fprintf(f, "| %s | %d | no log | | | |\n", label, experts);
            continue;
        }
        routing_summary s;
        if ((rc = routing_summarize(log_path, experts, &s)))
            break;
        if (s.rows == 0)
            without_columns++;
        char eff[32], eff_mean[32], load[32], changed[32];
        format_number(eff, sizeof eff, "%.1f", s.experts_eff);
        format_number(eff_mean, sizeof eff_mean, "%.1f", s.experts_eff_mean);
        format_number(load, sizeof load, "%.2f", s.load_max_mean);
        format_number(changed, sizeof changed, "%.1f%%", 100 * s.bias_changed);
        fprintf(f, "| %s | %d | %s | %s | %s | %s |\n", label, experts, eff, eff_mean, load, changed);
        if (s.collapsed)
            snprintf(names[collapsed++], sizeof names[0], "%.255s (%.1f of %d)", label, s.experts_eff, experts);
    }
    if (!rc) {
        if (moe_runs == 0) {
            fprintf(f, "No run has routed experts.\n");
        } else {
            fprintf(f, "\n");
            if (without_columns > 0)
                fprintf(f, "%d run(s) have no routing figures in the second half: their log.tsv predates the "
                           "routing columns, or they stopped early.\n\n",
                        without_columns);
            if (collapsed > 0) {
                fprintf(f, "**Warning: routing stayed collapsed** (effective experts of the worst layer below E/2 "
                           "over the second half) in %d of %d runs: ",
                        collapsed, moe_runs);
                for (int i = 0; i < collapsed; i++)
                    fprintf(f, "%s%s", i ? ", " : "", names[i]);
                fprintf(f, ". Their losses measure a model that used fewer experts than it has.\n\n");
            }
        }
    }
    free(names);
    return rc;
}

int routing_section_write(FILE *out, const char *const *run_dirs, const char *const *labels, int n)
{
    if (!out || (n > 0 && !run_dirs) || n < 0)
        return es_error(ES_EINVAL, "routing_section_write: bad arguments");
    /* built in memory first, so that an error writes nothing */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return es_error(ES_ENOMEM, "out of memory writing the routing section");
    int rc = write_section(f, run_dirs, labels, n);
    if (fclose(f) != 0 && !rc)
        rc = es_error(ES_ENOMEM, "out of memory writing the routing section");
    if (!rc && fwrite(text, 1, len, out) != len)
        rc = es_error(ES_EIO, "cannot write the routing section");
    free(text);
    return rc;
}
