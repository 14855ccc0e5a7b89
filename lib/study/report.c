/* report.md: provenance, setup, tables, fits, figures and the runs of a
 * sweep folder, in Markdown (see report.h). */
#include "study/report.h"
#include "study/report_internal.h"
#include "study/report_routing.h"

#include "core/error.h"
#include "core/fs.h"
#include "data/corpus.h"
#include "study/experiment.h"
#include "study/results.h"
#include "study/tsv.h"
#include "train/checkpoint.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* ---- inputs ---- */

enum { PLAN_COLUMNS = 13 };
static const char *const PLAN_NAMES[PLAN_COLUMNS] = {"run",    "budget", "rho",   "seed",  "memory",
                                                     "experts", "slots", "p_tot", "p_act", "tokens",
                                                     "steps",  "flops",  "label"};
enum { PC_RUN, PC_BUDGET, PC_RHO, PC_SEED, PC_MEMORY, PC_EXPERTS, PC_SLOTS, PC_PTOT, PC_PACT, PC_TOKENS, PC_STEPS,
       PC_FLOPS, PC_LABEL };

/* plan.tsv as plan_write_tsv writes it; columns are found by their header
 * names, so a column added later does not break the report. */
static int read_plan(const char *path, plan_line **out, int *n_out)
{
    *out = NULL;
    *n_out = 0;
    char *text;
    size_t len;
    int rc = es_read_file(path, &text, &len);
    if (rc)
        return rc;
    enum { MAX_FIELDS = 64 };
    int col[PLAN_COLUMNS];
    for (int c = 0; c < PLAN_COLUMNS; c++)
        col[c] = -1;
    int n_header = 0, cap = 64, count = 0, line_no = 0;
    plan_line *lines = malloc(sizeof *lines * (size_t)cap);
    if (!lines) {
        free(text);
        return es_error(ES_ENOMEM, "cannot read %s: out of memory", path);
    }
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && rc == ES_OK; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char *f[MAX_FIELDS + 1];
        int k = tsv_split(line, f, MAX_FIELDS);
        if (line_no == 1) {
            n_header = k;
            for (int i = 0; i < k && i < MAX_FIELDS; i++)
                for (int c = 0; c < PLAN_COLUMNS; c++)
                    if (strcmp(f[i], PLAN_NAMES[c]) == 0)
                        col[c] = i;
            for (int c = 0; c < PLAN_COLUMNS && rc == ES_OK; c++)
                if (col[c] < 0 && c != PC_FLOPS)
                    rc = es_error(ES_EDATA, "%s:1: not a plan.tsv header (no column %s)", path, PLAN_NAMES[c]);
            continue;
        }
        if (k != n_header) {
            rc = es_error(ES_EDATA, "%s:%d: expected %d tab-separated columns, found %d", path, line_no, n_header,
                          k > MAX_FIELDS ? MAX_FIELDS + 1 : k);
            break;
        }
        if (count == cap) {
            cap *= 2;
            plan_line *grown = realloc(lines, sizeof *lines * (size_t)cap);
            if (!grown) {
                rc = es_error(ES_ENOMEM, "cannot read %s: out of memory", path);
                break;
            }
            lines = grown;
        }
        plan_line *p = &lines[count];
        memset(p, 0, sizeof *p);
        static const int numeric[] = {PC_BUDGET, PC_RHO, PC_SEED, PC_EXPERTS, PC_SLOTS, PC_PTOT, PC_PACT,
                                      PC_TOKENS, PC_STEPS, PC_FLOPS};
        double v[PLAN_COLUMNS];
        for (int c = 0; c < PLAN_COLUMNS; c++)
            v[c] = NAN;
        for (size_t i = 0; i < sizeof numeric / sizeof *numeric && rc == ES_OK; i++) {
            int c = numeric[i];
            if (col[c] >= 0 && tsv_number(f[col[c]], &v[c]))
                rc = es_error(ES_EDATA, "%s:%d: bad value '%s' in column %s", path, line_no, f[col[c]], PLAN_NAMES[c]);
        }
        if (rc)
            break;
        const char *id = f[col[PC_RUN]], *mem = f[col[PC_MEMORY]], *label = f[col[PC_LABEL]];
        if (!*id || strlen(id) >= sizeof p->id || strlen(mem) >= sizeof p->memory ||
            strlen(label) >= sizeof p->label) {
            rc = es_error(ES_EDATA, "%s:%d: run id, memory or label empty or too long", path, line_no);
            break;
        }
        snprintf(p->id, sizeof p->id, "%s", id);
        snprintf(p->memory, sizeof p->memory, "%s", mem);
        snprintf(p->label, sizeof p->label, "%s", strcmp(label, "-") == 0 ? "" : label);
        p->budget = v[PC_BUDGET];
        p->rho = v[PC_RHO];
        p->seed = strtoull(f[col[PC_SEED]], NULL, 10);
        p->experts = (int)v[PC_EXPERTS];
        p->slots = (long)v[PC_SLOTS];
        p->p_tot = v[PC_PTOT];
        p->p_act = v[PC_PACT];
        p->tokens = v[PC_TOKENS];
        p->steps = (long)v[PC_STEPS];
        p->flops = v[PC_FLOPS];
        count++;
    }
    free(text);
    if (rc == ES_OK && line_no == 0)
        rc = es_error(ES_EDATA, "%s: empty file (no header)", path);
    if (rc) {
        free(lines);
        return rc;
    }
    *out = lines;
    *n_out = count;
    return ES_OK;
}

/* ---- number formats ---- */

/* Rotating buffers: a few formatted numbers can sit in one fprintf. */
char *fmt_buf(void)
{
    static _Thread_local char bufs[FMT_SLOTS][FMT_SIZE];
    static _Thread_local int next;
    next = (next + 1) % FMT_SLOTS;
    return bufs[next];
}

const char *fmt(const char *format, double v)
{
    char *b = fmt_buf();
    if (!isfinite(v))
        snprintf(b, FMT_SIZE, "-");
    else
        snprintf(b, FMT_SIZE, format, v);
    return b;
}

const char *fmt_loss(double v) { return fmt("%.4f", v); }
const char *fmt_rho(double v) { return fmt("%.3f", v); }

/* 1.68M, 85.1k, 512; 3 significant digits. */
const char *fmt_eng(double v)
{
    char *b = fmt_buf();
    if (!isfinite(v)) {
        snprintf(b, FMT_SIZE, "-");
        return b;
    }
    static const char units[] = {'\0', 'k', 'M', 'B', 'T', 'P'};
    double a = fabs(v);
    if (a < 1000) {
        snprintf(b, FMT_SIZE, a == floor(a) ? "%.0f" : "%.3g", v);
        return b;
    }
    int u = 0;
    while (a >= 999.5 && u < 5) {
        a /= 1000;
        v /= 1000;
        u++;
    }
    int decimals = a < 9.995 ? 2 : a < 99.95 ? 1 : 0;
    snprintf(b, FMT_SIZE, "%.*f%c", decimals, v, units[u]);
    return b;
}

/* 2.0e12, 3.5e10, 1.25e10: the fewest mantissa digits (at least one
 * decimal) that give the value back. */
const char *fmt_flops(double v)
{
    char *b = fmt_buf();
    if (!isfinite(v) || v == 0) {
        snprintf(b, FMT_SIZE, isfinite(v) ? "0" : "-");
        return b;
    }
    char tmp[32];
    for (int p = 1; p <= 6; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p, v);
        if (fabs(strtod(tmp, NULL) - v) <= 1e-9 * fabs(v) || p == 6)
            break;
    }
    char *e = strchr(tmp, 'e');
    int exponent = atoi(e + 1);
    *e = '\0';
    snprintf(b, FMT_SIZE, "%se%d", tmp, exponent);
    return b;
}

/* "[lo, hi]" of a JSON pair, or "-". */
const char *fmt_interval(const json_t *ci, const char *format)
{
    char *b = fmt_buf();
    if (json_is_array(ci) && json_array_size(ci) == 2 && json_is_number(json_array_get(ci, 0)) &&
        json_is_number(json_array_get(ci, 1))) {
        char lo[24], hi[24];
        snprintf(lo, sizeof lo, format, json_number_value(json_array_get(ci, 0)));
        snprintf(hi, sizeof hi, format, json_number_value(json_array_get(ci, 1)));
        snprintf(b, FMT_SIZE, "[%s, %s]", lo, hi);
    } else {
        snprintf(b, FMT_SIZE, "-");
    }
    return b;
}

double jnum(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

int has_interval(const json_t *ci)
{
    return json_is_array(ci) && json_array_size(ci) == 2 && json_is_number(json_array_get(ci, 0));
}

/* Text inside a Markdown table cell. */
void md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

/* ---- grouping ---- */

static int same_double(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

static int key_match(const point_key *k, double budget, double rho, const char *memory, long slots,
                     const char *label)
{
    return (!k->use_budget || same_double(k->budget, budget)) && (!k->use_rho || same_double(k->rho, rho)) &&
           (!k->use_memory || strcmp(k->memory, memory) == 0) && (!k->use_slots || k->slots == slots) &&
           (!k->use_label || strcmp(k->label, label) == 0);
}

static int row_ok(const result_row *r)
{
    return strcmp(r->status, "ok") == 0 && isfinite(r->val_loss) && r->val_loss > 0;
}

static const result_row *find_result(const report_ctx *c, const char *id)
{
    const result_row *found = NULL;
    for (int i = 0; i < c->n_rows; i++)
        if (strcmp(c->rows[i].run, id) == 0)
            found = &c->rows[i]; /* the last row of a run counts */
    return found;
}

void point_collect(const report_ctx *c, const point_key *k, point *p)
{
    memset(p, 0, sizeof *p);
    double sum = 0, sum2 = 0;
    for (int i = 0; i < c->n_rows; i++) {
        const result_row *r = &c->rows[i];
        if (!key_match(k, r->budget, r->rho, r->memory, r->slots, r->label))
            continue;
        p->n_results++;
        if (!p->row)
            p->row = r;
        if (strcmp(r->status, "diverged") == 0)
            p->n_diverged++;
        else if (row_ok(r)) {
            p->n_ok++;
            sum += r->val_loss;
        }
    }
    p->mean = p->n_ok ? sum / p->n_ok : NAN;
    for (int i = 0; i < c->n_rows; i++) {
        const result_row *r = &c->rows[i];
        if (key_match(k, r->budget, r->rho, r->memory, r->slots, r->label) && row_ok(r))
            sum2 += (r->val_loss - p->mean) * (r->val_loss - p->mean);
    }
    p->sd = p->n_ok > 1 ? sqrt(sum2 / (p->n_ok - 1)) : NAN;
    for (int i = 0; i < c->n_plan; i++) {
        const plan_line *l = &c->plan[i];
        if (!key_match(k, l->budget, l->rho, l->memory, l->slots, l->label))
            continue;
        p->n_planned++;
        if (!p->plan)
            p->plan = l;
        if (!find_result(c, l->id))
            p->n_missing++;
    }
}

const char *fmt_mean_sd(const point *p)
{
    char *b = fmt_buf();
    if (p->n_ok == 0)
        snprintf(b, FMT_SIZE, "-");
    else if (p->n_ok == 1)
        snprintf(b, FMT_SIZE, "%.4f", p->mean);
    else
        snprintf(b, FMT_SIZE, "%.4f ± %.4f", p->mean, p->sd);
    return b;
}

/* "2", or "1 of 2 (1 diverged)" when runs of the point are not in the mean. */
const char *fmt_n(const point *p)
{
    char *b = fmt_buf();
    int total = p->n_planned > p->n_results ? p->n_planned : p->n_results;
    if (p->n_ok == total) {
        snprintf(b, FMT_SIZE, "%d", p->n_ok);
        return b;
    }
    char why[3][24];
    int n_why = 0;
    int other = total - p->n_ok - p->n_diverged - p->n_missing;
    if (p->n_diverged)
        snprintf(why[n_why++], sizeof why[0], "%d diverged", p->n_diverged);
    if (p->n_missing)
        snprintf(why[n_why++], sizeof why[0], "%d missing", p->n_missing);
    if (other > 0)
        snprintf(why[n_why++], sizeof why[0], "%d without loss", other);
    if (n_why == 0)
        snprintf(b, FMT_SIZE, "%d of %d", p->n_ok, total);
    else
        snprintf(b, FMT_SIZE, "%d of %d (%s%s%s%s%s)", p->n_ok % 100000, total % 100000, why[0],
                 n_why > 1 ? ", " : "", n_why > 1 ? why[1] : "", n_why > 2 ? ", " : "", n_why > 2 ? why[2] : "");
    return b;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void add_distinct(double *vals, int *n, double v)
{
    for (int i = 0; i < *n; i++)
        if (same_double(vals[i], v))
            return;
    vals[(*n)++] = v;
}

/* Sorted distinct budgets (which = 0), rhos (1) or slots (2) over the plan
 * and the results, restricted to budget when budget_filter is set and to
 * memory when memory is non-NULL. vals holds n_plan + n_rows. */
int distinct_values(const report_ctx *c, int which, const double *budget_filter, const char *memory,
                           double *vals)
{
    int n = 0;
    for (int i = 0; i < c->n_plan; i++) {
        const plan_line *l = &c->plan[i];
        if ((budget_filter && !same_double(l->budget, *budget_filter)) || (memory && strcmp(l->memory, memory)))
            continue;
        add_distinct(vals, &n, which == 0 ? l->budget : which == 1 ? l->rho : (double)l->slots);
    }
    for (int i = 0; i < c->n_rows; i++) {
        const result_row *r = &c->rows[i];
        if ((budget_filter && !same_double(r->budget, *budget_filter)) || (memory && strcmp(r->memory, memory)))
            continue;
        add_distinct(vals, &n, which == 0 ? r->budget : which == 1 ? r->rho : (double)r->slots);
    }
    qsort(vals, (size_t)n, sizeof *vals, cmp_double);
    return n;
}

/* ---- sections ---- */

/* "- N runs were copied, not trained (sweep --reuse), from:" and one
 * sub-item per source sweep folder with its count, read from the runs'
 * reused_from files. */
static void put_reused(FILE *f, const report_ctx *c)
{
    enum { MAX_SOURCES = 16 };
    char sources[MAX_SOURCES][512];
    int counts[MAX_SOURCES] = {0}, n_sources = 0, other = 0;
    for (int i = 0; i < c->n_rows; i++) {
        char path[4400], *text;
        size_t len;
        snprintf(path, sizeof path, "%s/%s/reused_from", c->run_dir, c->rows[i].run);
        if (!es_exists(path) || es_read_file(path, &text, &len) != ES_OK)
            continue;
        text[strcspn(text, "\n")] = '\0';
        char *slash = strrchr(text, '/');
        if (slash)
            *slash = '\0'; /* the source run's folder -> its sweep folder */
        int k = 0;
        while (k < n_sources && strcmp(sources[k], text) != 0)
            k++;
        if (k == n_sources && n_sources < MAX_SOURCES)
            snprintf(sources[n_sources++], sizeof sources[0], "%s", text);
        if (k < n_sources)
            counts[k]++;
        else
            other++;
        free(text);
    }
    int total = other;
    for (int k = 0; k < n_sources; k++)
        total += counts[k];
    if (total == 0)
        return;
    fprintf(f, "- %d run%s copied, not trained (`--reuse`: a run finished elsewhere whose run.yaml is this run's, "
               "apart from its name and, with no memory, its unused engram block; training is bit-identical, so these are the runs this study would have "
               "trained), from:\n",
            total, total == 1 ? " was" : "s were");
    for (int k = 0; k < n_sources; k++)
        fprintf(f, "  - `%s`: %d run%s\n", sources[k], counts[k], counts[k] == 1 ? "" : "s");
    if (other)
        fprintf(f, "  - %d other folder%s\n", other, other == 1 ? "" : "s");
}

static void put_provenance(FILE *f, const report_ctx *c, const char *command_line, const char *commit)
{
    fprintf(f, "# Study report: %s\n\n", c->name);
    fputs("Produced by:\n\n```\n", f);
    fprintf(f, "%s\n", command_line && *command_line ? command_line : "(command line not recorded)");
    fputs("```\n\n", f);
    fprintf(f, "- Commit the binary was built from: %s\n", commit && *commit ? commit : "unknown (not built from a git checkout)");
    char date[64] = "unknown";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
    fprintf(f, "- Date: %s\n", date);
    char host[256] = "";
    if (gethostname(host, sizeof host) != 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    struct utsname un;
    int have_uname = uname(&un) == 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    char cpu[256] = "";
    FILE *ci = fopen("/proc/cpuinfo", "r");
    if (ci) {
        char line[512];
        while (fgets(line, sizeof line, ci))
            if (strncmp(line, "model name", 10) == 0) {
                const char *colon = strchr(line, ':');
                if (colon) {
                    colon++;
                    while (*colon == ' ' || *colon == '\t')
                        colon++;
                    snprintf(cpu, sizeof cpu, "%s", colon);
                    cpu[strcspn(cpu, "\n")] = '\0';
                }
                break;
            }
        fclose(ci);
    }
    fputs("- Machine that wrote this report:", f);
    const char *sep = " ";
    if (host[0]) {
        fprintf(f, "%s%s", sep, host);
        sep = ", ";
    }
    if (have_uname) {
        fprintf(f, "%s%s %s", sep, un.sysname, un.machine);
        sep = ", ";
    }
    if (cores > 0) {
        fprintf(f, "%s%ld online core%s", sep, cores, cores == 1 ? "" : "s");
        sep = ", ";
    }
    if (cpu[0])
        fprintf(f, "%s%s", sep, cpu);
    fputs("\n", f);
    fprintf(f, "- Run folder: `%s`\n", c->run_dir);
    if (c->ex)
        fprintf(f, "- Experiment file: `%s`\n", c->ex_path);
    else
        fprintf(f, "- Experiment file: none read (%s)\n", c->ex_note);
    fputc('\n', f);
}

/* A mixture's sources from meta.json's "sources": weight, token counts
 * and validation floors, one sub-item each. */
static void put_corpus_sources(FILE *f, const json_t *meta)
{
    const json_t *sources = json_object_get(meta, "sources");
    if (json_array_size(sources) < 2)
        return;
    size_t i;
    const json_t *s;
    json_array_foreach(sources, i, s)
    {
        const char *name = json_string_value(json_object_get(s, "name"));
        double w = jnum(s, "weight");
        fprintf(f, "  - `%s`", name ? name : "?");
        if (isfinite(w) && w != 1)
            fprintf(f, " (weight %g: %s%% of its text kept)", w, fmt("%.3g", 100 * w));
        if (json_is_number(json_object_get(s, "train_tokens")))
            fprintf(f, ": %s training tokens, %s validation tokens", fmt_eng(jnum(s, "train_tokens")),
                    fmt_eng(jnum(s, "val_tokens")));
        else
            fputs(": token counts not in meta.json", f);
        if (json_is_number(json_object_get(s, "bigram_val_loss")))
            fprintf(f, "; baselines on its validation tokens: unigram %s, bigram %s nats/token",
                    fmt_loss(jnum(s, "unigram_val_loss")), fmt_loss(jnum(s, "bigram_val_loss")));
        fputs("\n", f);
    }
}

/* Token counts of the corpus from the dataset cache's meta.json, in the
 * folder dataset_prepare() names (corpus_cache_name). */
static void put_corpus(FILE *f, const report_ctx *c)
{
    if (!c->ex)
        return;
    const run_config *b = &c->ex->base;
    fprintf(f, "- Corpus: `%s`, BPE vocabulary %d", b->corpus, b->vocab);
    char name[256], path[2048];
    if (corpus_cache_name(b->corpus, name, sizeof name) != ES_OK) {
        /* a string the parser refuses (a file since removed): the
         * single-source name is the best guess at the folder */
        es_error_clear();
        corpus_name(b->corpus, name, sizeof name);
    }
    snprintf(path, sizeof path, "%s/%s/v%d/meta.json", b->data_dir, name, b->vocab);
    json_t *meta = es_exists(path) ? json_load_file(path, 0, NULL) : NULL;
    if (meta && json_is_number(json_object_get(meta, "train_tokens")))
        fprintf(f, "; %s training tokens, %s validation tokens (%s)", fmt_eng(jnum(meta, "train_tokens")),
                fmt_eng(jnum(meta, "val_tokens")), path);
    else
        fprintf(f, "; token counts unknown (no %s)", path);
    if (meta && json_is_number(json_object_get(meta, "unigram_val_loss")))
        fprintf(f, "; baselines on validation: unigram %s, bigram %s nats/token",
                fmt_loss(jnum(meta, "unigram_val_loss")), fmt_loss(jnum(meta, "bigram_val_loss")));
    fputs("\n", f);
    if (meta)
        put_corpus_sources(f, meta);
    json_decref(meta);
}

static void put_model(FILE *f, const report_ctx *c)
{
    if (!c->ex)
        return;
    const run_config *b = &c->ex->base;
    const model_config *m = &b->model;
    fprintf(f, "- Backbone (base config): d_model %d, %d layers, %d attention heads, sequence length %d", m->d_model,
            m->n_layers, m->n_heads, m->seq_len);
    if (m->moe.top_k > 0)
        fprintf(f, "; MoE top-%d routed + %d shared experts, expert hidden %d", m->moe.top_k, m->moe.shared,
                m->moe.expert_hidden);
    fprintf(f, "; Engram head_dim %d, %d heads per order, orders", m->engram.head_dim, m->engram.heads);
    for (int i = 0; i < m->engram.n_orders; i++)
        fprintf(f, "%s%d", i ? ", " : " ", m->engram.orders[i]);
    fputs(", layers (0-based)", f);
    for (int i = 0; i < m->engram.n_layers; i++)
        fprintf(f, "%s%d", i ? ", " : " ", m->engram.layers[i]);
    fputs("\n", f);
    const train_config *t = &b->train;
    fprintf(f, "- Training: batch %d x %d tokens, peak lr %g, warmup %ld steps, weight decay %g\n", t->batch,
            m->seq_len, t->lr, t->warmup, t->weight_decay);
    /* the requested precision; each run.yaml holds the one resolved for its CPU */
    fprintf(f, "- Matrix products: %s, %s; optimizer %s\n", config_precision_name(t->precision),
            t->gemm == GEMM_OPENBLAS ? "OpenBLAS" : "oneDNN", config_optimizer_name(t->optimizer));
}

/* Counts against the plan; lists missing runs. Returns the missing count. */
static int put_counts(FILE *f, const report_ctx *c)
{
    int ok = 0, diverged = 0, no_loss = 0;
    for (int i = 0; i < c->n_rows; i++) {
        if (strcmp(c->rows[i].status, "diverged") == 0)
            diverged++;
        else if (row_ok(&c->rows[i]))
            ok++;
        else
            no_loss++;
    }
    int missing = 0, extra = 0;
    for (int i = 0; i < c->n_plan; i++)
        missing += find_result(c, c->plan[i].id) == NULL;
    for (int i = 0; i < c->n_rows; i++) {
        int planned = 0;
        for (int j = 0; j < c->n_plan && !planned; j++)
            planned = strcmp(c->plan[j].id, c->rows[i].run) == 0;
        extra += !planned;
    }
    if (c->have_plan)
        fprintf(f, "- Runs: %d planned (plan.tsv); %d finished, %d diverged, %d missing", c->n_plan, ok, diverged,
                missing);
    else
        fprintf(f, "- Runs: plan.tsv is missing, so the planned runs are unknown and missing runs cannot be counted; "
                   "%d finished, %d diverged", ok, diverged);
    if (no_loss)
        fprintf(f, ", %d finished without a finite validation loss (left out of means and fits)", no_loss);
    fputs("\n", f);
    if (c->have_plan && extra)
        fprintf(f, "- %d row%s of results.tsv name%s runs that are not in plan.tsv (kept in the tables)\n", extra,
                extra == 1 ? "" : "s", extra == 1 ? "s" : "");
    put_reused(f, c);
    fputc('\n', f);
    if (missing) {
        fprintf(f, "**The study is incomplete**: %d of %d planned run%s %s no result in results.tsv (not trained, "
                   "still running, or failed; `engram-scale sweep` resumes them):\n\n",
                missing, c->n_plan, c->n_plan == 1 ? "" : "s", missing == 1 ? "has" : "have");
        for (int i = 0; i < c->n_plan; i++)
            if (!find_result(c, c->plan[i].id))
                fprintf(f, "- `%s`\n", c->plan[i].id);
        fputc('\n', f);
    } else if (c->have_plan) {
        fputs("Every planned run has a result.\n\n", f);
    }
    return missing;
}

static void put_list_doubles(FILE *f, const double *v, int n, const char *(*format)(double))
{
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? ", " : "", format(v[i]));
}

static const char *fmt_g(double v) { return fmt("%g", v); }

static void put_setup(FILE *f, const report_ctx *c, double *scratch)
{
    fputs("## Setup\n\n", f);
    fprintf(f, "- Sweep kind: %s\n", c->kind[0] ? c->kind : "unknown");
    put_corpus(f, c);
    put_model(f, c);
    int nb = distinct_values(c, 0, NULL, NULL, scratch);
    int budgets_set = 0;
    for (int i = 0; i < nb; i++)
        budgets_set |= scratch[i] > 0;
    if (budgets_set) {
        fprintf(f, "- Budget%s (training FLOPs C): ", nb == 1 ? "" : "s");
        put_list_doubles(f, scratch, nb, fmt_flops);
        fputs("\n", f);
    } else if (strcmp(c->kind, "grid") == 0) {
        fputs("- Budget: none (each run trains for its config's steps)\n", f);
    }
    if (strcmp(c->kind, "allocation") == 0) {
        int nr = distinct_values(c, 1, NULL, NULL, scratch);
        fputs("- rho grid: ", f);
        put_list_doubles(f, scratch, nr, fmt_rho);
        fputs("\n", f);
        if (c->ex)
            fprintf(f, "- P_tot / P_act (total_to_active): %g\n", c->ex->total_to_active);
    }
    if (strcmp(c->kind, "memory") == 0) {
        double *slots = scratch;
        int ns = distinct_values(c, 2, NULL, NULL, slots);
        fputs("- Table slots: ", f);
        for (int i = 0; i < ns; i++)
            fprintf(f, "%s%.0f", i ? ", " : "", slots[i]);
        fputs("\n", f);
    }
    /* seeds */
    int n_seeds = 0;
    for (int i = 0; i < c->n_plan; i++)
        add_distinct(scratch, &n_seeds, (double)c->plan[i].seed);
    for (int i = 0; i < c->n_rows; i++)
        add_distinct(scratch, &n_seeds, (double)c->rows[i].seed);
    qsort(scratch, (size_t)n_seeds, sizeof *scratch, cmp_double);
    fputs("- Seeds: ", f);
    put_list_doubles(f, scratch, n_seeds, fmt_g);
    fputs("\n", f);
    /* how well the plan holds compute and parameters */
    nb = distinct_values(c, 0, NULL, NULL, scratch);
    for (int b = 0; b < nb && c->have_plan; b++) {
        if (!(scratch[b] > 0))
            continue;
        double mean = 0, p_spread = 0, c_spread = 0;
        int k = 0;
        for (int i = 0; i < c->n_plan; i++)
            if (c->plan[i].budget == scratch[b]) {
                mean += c->plan[i].p_tot;
                k++;
            }
        if (!k)
            continue;
        mean /= k;
        for (int i = 0; i < c->n_plan; i++)
            if (c->plan[i].budget == scratch[b]) {
                p_spread = fmax(p_spread, fabs(c->plan[i].p_tot / mean - 1));
                if (isfinite(c->plan[i].flops))
                    c_spread = fmax(c_spread, fabs(c->plan[i].flops / scratch[b] - 1));
            }
        if (strcmp(c->kind, "allocation") == 0)
            fprintf(f, "- Budget %s: P_tot %s (within %.2f%% across runs), compute within %.2f%% of C\n",
                    fmt_flops(scratch[b]), fmt_eng(mean), 100 * p_spread, 100 * c_spread);
        else
            fprintf(f, "- Budget %s: compute within %.2f%% of C\n", fmt_flops(scratch[b]), 100 * c_spread);
    }
    double seconds = 0;
    for (int i = 0; i < c->n_rows; i++)
        if (isfinite(c->rows[i].seconds))
            seconds += c->rows[i].seconds;
    fprintf(f, "- Training wall time, summed over runs: %.0f s\n", seconds);
    fputs("- Loss: final validation cross-entropy (nats/token); means and sds over seeds (sd with n - 1), "
          "diverged runs excluded\n", f);
    put_counts(f, c);
}

const json_t *fit_entry(const report_ctx *c, const char *section, const char *key, double number,
                               const char *text)
{
    if (!c->fit)
        return NULL;
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(c->fit, section), i, e)
    {
        const json_t *v = json_object_get(e, key);
        if (text ? (json_is_string(v) && strcmp(json_string_value(v), text) == 0)
                 : (json_is_number(v) && fabs(json_number_value(v) - number) <= 1e-9 * fabs(number)))
            return e;
    }
    return NULL;
}

void put_warnings(FILE *f, const json_t *e)
{
    size_t i;
    const json_t *w;
    json_array_foreach(json_object_get(e, "warnings"), i, w)
        if (json_is_string(w))
            fprintf(f, "- Warning: %s\n", json_string_value(w));
}

static const char *figure_caption(const char *name)
{
    if (strcmp(name, "allocation") == 0)
        return "Validation loss against rho, each budget relative to its own best measured mean: mean ± sd over "
               "seeds; where the two-lines test finds a U, the U model and rho* with its 95% interval, else the "
               "monotone fit (dashed); diverged runs marked with a cross.";
    if (strcmp(name, "memory") == 0)
        return "Validation loss against table slots (log x): Engram and OverEncoding with their fitted power laws "
               "(alpha in the legend).";
    if (strcmp(name, "rho_star") == 0)
        return "Per budget C (log x): rho* with its 95% interval where the two-lines test finds a U, else the best "
               "measured rho (open) and the rho not significantly worse (+); above each budget, the shape the "
               "two-lines test gives its loss in rho (U, rising, falling, flat, not resolved); the band is the "
               "paper's 0.75-0.8.";
    if (strcmp(name, "gap") == 0)
        return "Pure MoE minus pure memory, L(rho = 1) - L(rho = 0), per budget C (log x): mean over seeds with ±1 SE "
               "(thick) and its 95% t interval (thin); the fitted line gap = a + b log10 C over the measured budgets "
               "(solid) and, where the gap shrinks, its extrapolation (dashed, shaded region) to the compute where it "
               "would reach zero, with that compute's 95% Fieller interval. Below the dotted zero line pure MoE beats "
               "pure memory.";
    if (strcmp(name, "grid") == 0)
        return "Mean ± sd validation loss per grid label.";
    if (strncmp(name, "training_", 9) == 0)
        return "Validation loss against training tokens, one line per run (log.tsv).";
    return "";
}

static void put_figures(FILE *f, const report_ctx *c)
{
    fputs("## Figures\n\n", f);
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/figures", c->run_dir);
    char **all = NULL, **names = NULL;
    size_t n_all = 0;
    int n = 0;
    if (es_list_dir(dir, &all, &n_all) != ES_OK)
        es_error_clear();
    if (n_all && !(names = malloc(n_all * sizeof *names))) {
        es_list_free(all, n_all);
        all = NULL, n_all = 0;
    }
    /* the .png names, in es_list_dir's sorted order */
    for (size_t i = 0; i < n_all; i++) {
        size_t len = strlen(all[i]);
        if (len > 4 && strcmp(all[i] + len - 4, ".png") == 0)
            names[n++] = all[i];
    }
    if (n == 0) {
        fputs("No figures: figures/*.png is missing (run `engram-scale plot RUN_DIR`; it needs gnuplot).\n\n", f);
        free(names);
        es_list_free(all, n_all);
        return;
    }
    /* the study's own figures first, training curves after */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            int training = strncmp(names[i], "training_", 9) == 0;
            if (training != pass)
                continue;
            char stem[512];
            snprintf(stem, sizeof stem, "%.*s", (int)(strlen(names[i]) - 4), names[i]);
            const char *caption = figure_caption(stem);
            fprintf(f, "![%s](figures/%s)\n\n", stem, names[i]);
            fprintf(f, "*Figure `%s`.*%s%s", stem, caption[0] ? " " : "", caption);
            char svg[2600];
            snprintf(svg, sizeof svg, "%s/%s.svg", dir, stem);
            if (es_exists(svg))
                fprintf(f, " Vector version: [figures/%s.svg](figures/%s.svg).", stem, stem);
            fputs("\n\n", f);
        }
    free(names);
    es_list_free(all, n_all);
}

static const plan_line *find_plan(const report_ctx *c, const char *id)
{
    for (int i = 0; i < c->n_plan; i++)
        if (strcmp(c->plan[i].id, id) == 0)
            return &c->plan[i];
    return NULL;
}

/* "rho 0.750", "engram 9974 slots", the grid label. */
static void put_point_name(FILE *f, const result_row *r)
{
    if (strcmp(r->kind, "allocation") == 0)
        fprintf(f, "rho %s", fmt_rho(r->rho));
    else if (strcmp(r->kind, "memory") == 0)
        fprintf(f, "%s, %ld slots", r->memory, r->slots);
    else
        md_cell(f, r->label[0] ? r->label : "-");
}

static void put_diverged(FILE *f, const report_ctx *c)
{
    int n = 0;
    for (int i = 0; i < c->n_rows; i++)
        n += strcmp(c->rows[i].status, "diverged") == 0;
    fputs("## Diverged runs\n\n", f);
    if (!n) {
        fputs("None.\n\n", f);
        return;
    }
    fprintf(f, "%d run%s diverged (status `diverged` in results.tsv). %s excluded from every mean, sd and fit "
               "above.\n\n", n, n == 1 ? "" : "s", n == 1 ? "It is" : "They are");
    fputs("| run | budget | point | seed | stopped at step | planned steps | last val loss |\n", f);
    fputs("|:---|---:|:---|---:|---:|---:|---:|\n", f);
    for (int i = 0; i < c->n_rows; i++) {
        const result_row *r = &c->rows[i];
        if (strcmp(r->status, "diverged") != 0)
            continue;
        const plan_line *p = find_plan(c, r->run);
        fprintf(f, "| `%s` | %s | ", r->run, r->budget > 0 ? fmt_flops(r->budget) : "-");
        put_point_name(f, r);
        fprintf(f, " | %llu | %ld | %s | %s |\n", (unsigned long long)r->seed, r->steps,
                p ? fmt("%.0f", (double)p->steps) : "-", fmt_loss(r->val_loss));
    }
    fputc('\n', f);
}

static void put_all_runs(FILE *f, const report_ctx *c)
{
    fputs("## All runs\n\n", f);
    fputs("Every row of results.tsv, in plan order (by run name, whatever order the runs finished in; parameters exact).\n\n", f);
    fputs("| run | point | seed | E | slots | P_tot | P_act | tokens | steps | val loss | best val loss | train loss | "
          "seconds | status |\n", f);
    fputs("|:---|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|\n", f);
    for (int i = 0; i < c->n_rows; i++) {
        const result_row *r = &c->rows[i];
        fprintf(f, "| `%s` | ", r->run);
        if (r->budget > 0 && strcmp(r->kind, "allocation") == 0)
            fprintf(f, "C %s, ", fmt_flops(r->budget));
        put_point_name(f, r);
        fprintf(f, " | %llu | %d | %ld | %.0f | %.0f | %.0f | %ld | %s | %s | %s | %.1f | %s |\n",
                (unsigned long long)r->seed, r->experts, r->slots, r->p_tot, r->p_act, r->tokens, r->steps,
                fmt_loss(r->val_loss), fmt_loss(r->best_val_loss), fmt_loss(r->train_loss), r->seconds, r->status);
    }
    fputc('\n', f);
}

/* ---- the entry point ---- */

static void infer_kind(report_ctx *c)
{
    if (c->ex) {
        static const char *const names[] = {"allocation", "memory", "grid"};
        snprintf(c->kind, sizeof c->kind, "%s", names[c->ex->kind]);
        return;
    }
    if (c->n_rows) {
        snprintf(c->kind, sizeof c->kind, "%s", c->rows[0].kind);
        return;
    }
    for (int i = 0; i < c->n_plan; i++) {
        const char *k = !isnan(c->plan[i].rho) ? "allocation" : c->plan[i].label[0] ? "grid" : "memory";
        snprintf(c->kind, sizeof c->kind, "%s", k);
        return;
    }
}

static int load_inputs(report_ctx *c, const char *experiment_path)
{
    char path[2048];
    int rc;
    snprintf(path, sizeof path, "%s/results.tsv", c->run_dir);
    if (!es_exists(path))
        return es_error(ES_EIO, "cannot write the report: %s does not exist (a sweep writes it)", path);
    if ((rc = results_read(path, &c->rows, &c->n_rows)))
        return rc;

    snprintf(path, sizeof path, "%s/plan.tsv", c->run_dir);
    if (es_exists(path)) {
        if ((rc = read_plan(path, &c->plan, &c->n_plan)))
            return rc;
        c->have_plan = 1;
    }

    snprintf(path, sizeof path, "%s/fit.json", c->run_dir);
    if (es_exists(path)) {
        json_error_t jerr;
        c->fit = json_load_file(path, 0, &jerr);
        if (!c->fit)
            return es_error(ES_EDATA, "%s:%d: not JSON: %s", path, jerr.line, jerr.text);
        if (!json_is_object(c->fit))
            return es_error(ES_EDATA, "%s: not a fit.json document (no top-level object)", path);
    }

    if (experiment_path) {
        snprintf(c->ex_path, sizeof c->ex_path, "%s", experiment_path);
        if ((rc = experiment_load(experiment_path, NULL, 0, &c->ex)))
            return es_error_wrap(rc, "report of %s", c->run_dir);
    } else {
        snprintf(c->ex_path, sizeof c->ex_path, "%s/experiment.yaml", c->run_dir);
        if (!es_exists(c->ex_path)) {
            snprintf(c->ex_note, sizeof c->ex_note, "%s is missing", c->ex_path);
        } else if (experiment_load(c->ex_path, NULL, 0, &c->ex) != ES_OK) {
            c->ex = NULL;
            snprintf(c->ex_note, sizeof c->ex_note, "%s", es_error_message());
            es_error_clear();
        }
    }

    if (c->ex && c->ex->base.name[0]) {
        snprintf(c->name, sizeof c->name, "%s", c->ex->base.name);
    } else {
        const char *base = strrchr(c->run_dir, '/');
        base = base && base[1] ? base + 1 : c->run_dir;
        snprintf(c->name, sizeof c->name, "%s", base);
    }
    infer_kind(c);
    return ES_OK;
}

static void put_fit_notes(FILE *f, const report_ctx *c)
{
    int section_says = strcmp(c->kind, "allocation") == 0 || strcmp(c->kind, "memory") == 0 ||
                       strcmp(c->kind, "grid") == 0;
    if (!c->fit && section_says)
        return; /* the study's section says so */
    if (!c->fit) {
        fputs("No fit: fit.json is missing, so rho*, the gain and the power laws are not reported (run "
              "`engram-scale fit RUN_DIR`, then this report again).\n\n", f);
        return;
    }
    const json_t *w = json_object_get(c->fit, "warnings");
    if (json_array_size(w)) {
        fputs("Warnings of the fit, for the whole file:\n\n", f);
        put_warnings(f, c->fit);
        fputc('\n', f);
    }
    const json_t *seed = json_object_get(c->fit, "bootstrap_seed");
    if (json_is_integer(seed))
        fprintf(f, "Fits are read from fit.json (bootstrap seed %lld).\n\n", (long long)json_integer_value(seed));
}

/* The routing of every planned MoE run whose folder is here, as DIR/<run>
 * or DIR/runs/<run> (a committed results folder), from its log.tsv:
 * a committed results folder without run folders says so in one line. */
static int put_routing(FILE *f, const report_ctx *c)
{
    char **dirs = calloc((size_t)c->n_plan + 1, sizeof *dirs);
    int n = 0, rc = 0;
    if (!dirs)
        return es_error(ES_ENOMEM, "cannot list the runs of %s: out of memory", c->run_dir);
    for (int i = 0; i < c->n_plan && !rc; i++) {
        if (c->plan[i].experts <= 0)
            continue;
        size_t len = strlen(c->run_dir) + strlen(c->plan[i].id) + 2;
        char *d = malloc(len);
        if (!d) {
            rc = es_error(ES_ENOMEM, "cannot list the runs of %s: out of memory", c->run_dir);
            break;
        }
        snprintf(d, len, "%s/%s", c->run_dir, c->plan[i].id);
        if (!es_exists(d)) {
            /* a committed results folder keeps its runs under runs/ */
            free(d);
            len += strlen("runs/");
            if (!(d = malloc(len))) {
                rc = es_error(ES_ENOMEM, "cannot list the runs of %s: out of memory", c->run_dir);
                break;
            }
            snprintf(d, len, "%s/runs/%s", c->run_dir, c->plan[i].id);
        }
        if (es_exists(d))
            dirs[n++] = d;
        else
            free(d);
    }
    if (!rc && n)
        rc = routing_section_write(f, (const char *const *)dirs, NULL, n);
    else if (!rc && c->n_plan)
        fputs("## Routing\n\nNo MoE run folder (log.tsv) is kept here, so the routing diagnostics are not "
              "shown.\n\n", f);
    for (int i = 0; i < n; i++)
        free(dirs[i]);
    free(dirs);
    return rc;
}

int report_write(const char *run_dir, const char *experiment_path_or_null, const char *command_line,
                 const char *commit_or_null)
{
    if (!run_dir || !*run_dir)
        return es_error(ES_EINVAL, "report: no run folder given");
    report_ctx c;
    memset(&c, 0, sizeof c);
    c.run_dir = run_dir;
    int rc = load_inputs(&c, experiment_path_or_null);
    char *text = NULL;
    size_t len = 0;
    FILE *f = NULL;
    double *scratch = NULL;
    if (rc)
        goto done;
    /* room for two lists of distinct values over the plan and the results */
    scratch = malloc(sizeof *scratch * (size_t)(2 * (c.n_plan + c.n_rows) + 2));
    f = open_memstream(&text, &len);
    if (!scratch || !f) {
        rc = es_error(ES_ENOMEM, "cannot format the report of %s: out of memory", run_dir);
        goto done;
    }
    put_provenance(f, &c, command_line, commit_or_null);
    put_setup(f, &c, scratch);
    put_fit_notes(f, &c);
    if (strcmp(c.kind, "allocation") == 0)
        report_put_allocation(f, &c, scratch, scratch + c.n_plan + c.n_rows + 1);
    else if (strcmp(c.kind, "memory") == 0)
        report_put_memory(f, &c, scratch);
    else if (strcmp(c.kind, "grid") == 0)
        report_put_grid(f, &c);
    report_put_sources(f, &c);
    if ((rc = put_routing(f, &c)))
        goto done;
    put_figures(f, &c);
    put_diverged(f, &c);
    put_all_runs(f, &c);
    if (fclose(f) != 0) {
        f = NULL;
        rc = es_error(ES_ENOMEM, "cannot format the report of %s", run_dir);
        goto done;
    }
    f = NULL;
    char path[2048];
    if (snprintf(path, sizeof path, "%s/report.md", run_dir) >= (int)sizeof path) {
        rc = es_error(ES_EINVAL, "run folder path too long: %s", run_dir);
        goto done;
    }
    rc = file_write_atomic(path, text, len);
done:
    if (f)
        fclose(f);
    free(text);
    free(scratch);
    free(c.plan);
    free(c.rows);
    json_decref(c.fit);
    if (c.ex)
        experiment_free(c.ex);
    return rc;
}
