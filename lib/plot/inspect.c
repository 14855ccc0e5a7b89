/* The gate figure of engram-scale inspect: text coloured by gate value. */
#include "plot/inspect.h"

#include "core/error.h"
#include "core/fs.h"
#include "plot/plot.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WRAP_COLUMNS = 100 };

/* A piece of a token on one line: columns [col, col + width) of line. */
typedef struct {
    int token, line, col, width;
    char text[256];
} segment;

typedef struct {
    segment *s;
    int n, cap;
} segments;

static int seg_push(segments *v, segment s)
{
    if (v->n == v->cap) {
        int cap = v->cap ? 2 * v->cap : 256;
        segment *bigger = realloc(v->s, (size_t)cap * sizeof *bigger);
        if (!bigger)
            return es_error(ES_ENOMEM, "out of memory laying out the text");
        v->s = bigger;
        v->cap = cap;
    }
    v->s[v->n++] = s;
    return ES_OK;
}

/* Display columns of UTF-8 text: one per code point (the font is monospace). */
static int columns(const char *s, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* Lays the tokens out in lines of at most WRAP_COLUMNS, breaking at the
 * text's newlines, between tokens that would overflow, and before each new
 * sequence (a blank line: the model's context restarts there). */
static int layout(int n_tokens, const char *const *tokens, const size_t *lens, const int *seq_start, segments *out,
                  int *n_lines)
{
    int line = 0, col = 0;
    for (int t = 0; t < n_tokens; t++) {
        if (seq_start[t] && t > 0) {
            line += 2;
            col = 0;
        }
        /* split the token at newlines; tabs become a space, other control characters go */
        const char *p = tokens[t], *end = tokens[t] + lens[t];
        while (p <= end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *stop = nl ? nl : end;
            segment s = {t, line, col, 0, ""};
            size_t k = 0;
            for (const char *q = p; q < stop && k + 3 < sizeof s.text; q++) {
                unsigned char ch = (unsigned char)*q;
                if (ch == '\t')
                    ch = ' ';
                if (ch < 0x20 || ch == 0x7f)
                    continue;
                if (ch == ' ') { /* a no-break space: gnuplot trims leading spaces of a field */
                    s.text[k++] = (char)0xC2;
                    s.text[k++] = (char)0xA0;
                    continue;
                }
                s.text[k++] = (char)ch;
            }
            s.text[k] = '\0';
            s.width = columns(s.text, k);
            if (s.width > 0) {
                if (col + s.width > WRAP_COLUMNS && col > 0) {
                    line++;
                    col = 0;
                    s.line = line;
                    s.col = 0;
                }
                int rc = seg_push(out, s);
                if (rc)
                    return rc;
                col += s.width;
            }
            if (!nl)
                break;
            line++;
            col = 0;
            p = nl + 1;
        }
    }
    *n_lines = line + 1;
    return ES_OK;
}

typedef struct {
    char *names[32], *values[32];
    int n, oom;
} vars;

static void var_set(vars *v, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void var_set(vars *v, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *value = NULL;
    if (vasprintf(&value, fmt, ap) < 0)
        value = NULL;
    va_end(ap);
    if (!value || v->n == 32) {
        free(value);
        v->oom = 1;
        return;
    }
    v->names[v->n] = strdup(name);
    v->values[v->n] = value;
    if (!v->names[v->n])
        v->oom = 1;
    v->n++;
}

static void vars_free(vars *v)
{
    for (int i = 0; i < v->n; i++) {
        free(v->names[i]);
        free(v->values[i]);
    }
}

/* A string as a gnuplot double-quoted literal. */
static void quote(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int plot_inspect_gate(const char *dir, const char *name, const char *title, int n_panels,
                      const char *const *panel_titles, int n_tokens, const char *const *tokens,
                      const size_t *token_lens, const float *gates, const int *seq_start)
{
    segments segs = {0};
    int n_lines = 0;
    int rc = layout(n_tokens, tokens, token_lens, seq_start, &segs, &n_lines);
    char path[PATH_MAX + 64], tmpl_dir[PATH_MAX];
    char *style = NULL, *text = NULL, *filled = NULL;
    char *titles = NULL;
    size_t titles_len = 0;
    vars v = {0};
    if (rc)
        goto done;
    /* data: one block per panel; x from col to col + width, y the line */
    snprintf(path, sizeof path, "%s/%s.dat", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        rc = es_error(ES_EIO, "cannot write %s", path);
        goto done;
    }
    fprintf(f, "# x_lo\tx_hi\tline\tgate\ttext (one block per panel, tab-separated)\n");
    for (int p = 0; p < n_panels; p++) {
        if (p > 0)
            fprintf(f, "\n\n");
        for (int i = 0; i < segs.n; i++) {
            const segment *s = &segs.s[i];
            float g = gates[(size_t)p * n_tokens + s->token];
            fprintf(f, "%d\t%d\t%d\t%.4f\t%s\n", s->col, s->col + s->width, s->line, isfinite(g) ? g : 0.0f,
                    s->text);
        }
    }
    if (fclose(f) != 0) {
        rc = es_error(ES_EIO, "cannot write %s", path);
        goto done;
    }
    FILE *tf = open_memstream(&titles, &titles_len);
    if (!tf) {
        rc = es_error(ES_ENOMEM, "out of memory");
        goto done;
    }
    for (int p = 0; p < n_panels; p++) {
        if (p)
            fputs(", ", tf);
        quote(tf, panel_titles[p]);
    }
    fclose(tf);
    FILE *qf = NULL;
    char *qtitle = NULL;
    size_t qlen = 0;
    qf = open_memstream(&qtitle, &qlen);
    if (!qf) {
        rc = es_error(ES_ENOMEM, "out of memory");
        goto done;
    }
    quote(qf, title);
    fclose(qf);
    if ((rc = plot_templates_dir(tmpl_dir, sizeof tmpl_dir))) {
        free(qtitle);
        goto done;
    }
    snprintf(path, sizeof path, "%s/style.gp", tmpl_dir);
    if ((rc = es_read_file(path, &style, NULL))) {
        free(qtitle);
        goto done;
    }
    snprintf(path, sizeof path, "%s/inspect.gp", tmpl_dir);
    if ((rc = es_read_file(path, &text, NULL))) {
        free(qtitle);
        rc = es_error_wrap(ES_EMISSING, "gnuplot template missing");
        goto done;
    }
    var_set(&v, "STYLE", "%s", style);
    var_set(&v, "NAME", "%s", name);
    var_set(&v, "TITLE", "%s", qtitle);
    free(qtitle);
    var_set(&v, "N_PANELS", "%d", n_panels);
    var_set(&v, "PANEL_TITLES", "%s", titles);
    var_set(&v, "LINES", "%d", n_lines);
    var_set(&v, "COLUMNS", "%d", WRAP_COLUMNS);
    if (v.oom) {
        rc = es_error(ES_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = plot_template_fill(text, path, (const char *const *)v.names, (const char *const *)v.values, v.n,
                                 &filled)))
        goto done;
    snprintf(path, sizeof path, "%s/%s.gp", dir, name);
    f = fopen(path, "w");
    if (!f || fputs(filled, f) < 0 || fclose(f) != 0) {
        rc = es_error(ES_EIO, "cannot write %s", path);
        goto done;
    }
    char script[128];
    snprintf(script, sizeof script, "%s.gp", name);
    if ((rc = plot_gnuplot_run(dir, script)))
        goto done;
    static const char *const ext[] = {"png", "svg"};
    for (int e = 0; e < 2 && !rc; e++) {
        snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext[e]);
        if (!es_exists(path))
            rc = es_error(ES_EIO, "gnuplot ran %s/%s but wrote no %s", dir, script, path);
    }
done:
    free(segs.s);
    free(style);
    free(text);
    free(filled);
    free(titles);
    vars_free(&v);
    return rc;
}
