/* engram-scale inspect: the Engram gate on a text, and Engram off at
 * inference. */
#include "study/inspect.h"

#include "config/config.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/mem.h"
#include "data/batch.h"
#include "data/dataset.h"
#include "model/model.h"
#include "plot/inspect.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

enum { INSPECT_MAX_PANELS = ENGRAM_MAX_LAYERS };

static const char *const CLASSES[] = {"space", "punct", "number", "word", "word-first", "word-inner"};
enum { N_CLASSES = sizeof CLASSES / sizeof CLASSES[0] };

/* First code point of s (or -1), and its byte length in *n. */
static utf8proc_int32_t first_cp(const char *s, size_t len, size_t *n)
{
    utf8proc_int32_t cp = -1;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &cp);
    *n = k > 0 ? (size_t)k : 1;
    return k > 0 ? cp : -1;
}

static int is_letter(utf8proc_int32_t cp)
{
    if (cp < 0)
        return 0;
    utf8proc_category_t c = utf8proc_category(cp);
    return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

static int is_digit(utf8proc_int32_t cp) { return cp >= 0 && utf8proc_category(cp) == UTF8PROC_CATEGORY_ND; }

static int is_space(utf8proc_int32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' ||
           (cp >= 0 && utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS);
}

/* Whether the text starts with a letter (no leading space). */
static int starts_with_letter(const char *s, size_t len)
{
    size_t n;
    return len > 0 && is_letter(first_cp(s, len, &n));
}

/* Whether the text's last code point is a letter. */
static int ends_with_letter(const char *s, size_t len)
{
    size_t i = len;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return 0;
    size_t n;
    return is_letter(first_cp(s + i - 1, len - (i - 1), &n));
}

const char *inspect_token_class(const char *text, size_t len, int prev_ends_letter, int next_continues,
                                int *capital)
{
    *capital = 0;
    int letters = 0, digits = 0;
    size_t i = 0, lead = 0, n;
    int leading = 1;
    utf8proc_int32_t first_visible = -1;
    while (i < len) {
        utf8proc_int32_t cp = first_cp(text + i, len - i, &n);
        if (is_space(cp)) {
            if (leading)
                lead += n;
        } else {
            if (leading)
                first_visible = cp;
            leading = 0;
            if (is_letter(cp))
                letters++;
            else if (is_digit(cp))
                digits++;
        }
        i += n;
    }
    if (first_visible < 0)
        return "space";
    if (!is_letter(first_visible))
        return letters == 0 && digits > 0 ? "number" : "punct"; /* "(and" counts as punctuation */
    /* starts with a letter: inside a word when glued to a letter before */
    int glued = lead == 0 && prev_ends_letter;
    if (glued)
        return "word-inner";
    *capital = utf8proc_category(first_visible) == UTF8PROC_CATEGORY_LU;
    return next_continues ? "word-first" : "word";
}

/* ---- small buffers -------------------------------------------------------- */

typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} strbuf;

static void sb_addn(strbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2 + 256;
        char *bigger = realloc(b->s, cap);
        if (!bigger) {
            b->oom = 1;
            return;
        }
        b->s = bigger;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_add(strbuf *b, const char *s) { sb_addn(b, s, strlen(s)); }

static void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n >= 0)
        sb_addn(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* TSV-safe text: \t \n \r \\ escaped. */
static void sb_escaped(strbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '\t': sb_add(b, "\\t"); break;
        case '\n': sb_add(b, "\\n"); break;
        case '\r': sb_add(b, "\\r"); break;
        case '\\': sb_add(b, "\\\\"); break;
        default: sb_addn(b, s + i, 1);
        }
    }
}

/* ---- the model and its state ------------------------------------------------ */

typedef struct {
    run_config cfg;
    dataset *ds;
    model *m;
    int B, T;
    int32_t *inputs, *targets; /* [B*T] */
} loaded_run;

static void loaded_free(loaded_run *r)
{
    model_free(r->m);
    dataset_free(r->ds);
    free(r->inputs);
    free(r->targets);
}

static int load_run(const char *run_dir, loaded_run *r)
{
    memset(r, 0, sizeof *r);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config.yaml", run_dir);
    if (!es_exists(path))
        return es_error(ES_EIO, "%s has no config.yaml: is it the folder of a trained run?", run_dir);
    int rc = config_load(path, NULL, 0, &r->cfg);
    if (rc)
        return rc;
    /* the products in the precision the run trained in (config.yaml holds
     * the one resolved for its CPU), so losses match its log */
    train_resolve_precision(&r->cfg);
    train_apply_precision(&r->cfg);
    if (r->cfg.model.memory != MEMORY_ENGRAM)
        return es_error(ES_EINVAL, "%s: model.memory is %s; inspect looks at Engram's gate and needs model.memory: engram",
                        path, config_memory_name(r->cfg.model.memory));
    if ((rc = dataset_prepare(r->cfg.corpus, r->cfg.data_dir, r->cfg.vocab, 0, NULL, NULL, &r->ds)))
        return rc;
    r->B = r->cfg.train.batch;
    r->T = r->cfg.model.seq_len;
    r->inputs = es_calloc((size_t)r->B * r->T, sizeof(int32_t));
    r->targets = es_calloc((size_t)r->B * r->T, sizeof(int32_t));
    if (!r->inputs || !r->targets)
        return ES_ENOMEM;
    if ((rc = model_new(&r->cfg.model, r->ds->vocab, r->ds->compress_map, r->ds->compressed_vocab, r->B, r->T,
                        r->cfg.train.seed, &r->m)))
        return rc;
    snprintf(path, sizeof path, "%s/checkpoint.bin", run_dir);
    if (!es_exists(path))
        return es_error(ES_EIO, "%s has no checkpoint.bin (a run folder keeps it after training; sweeps copied "
                                "without checkpoints cannot be inspected)", run_dir);
    checkpoint *ck;
    if ((rc = checkpoint_open(path, &ck)))
        return rc;
    model *m = r->m;
    rc = checkpoint_read(ck, "params", m->params, m->n_params * sizeof(float));
    if (!rc && m->moe_bias)
        rc = checkpoint_read(ck, "moe.bias", m->moe_bias,
                             sizeof(float) * (size_t)m->cfg.n_layers * (size_t)m->cfg.moe.experts);
    for (int i = 0; !rc && i < m->n_tables; i++) {
        char name[32];
        snprintf(name, sizeof name, "table.%d.data", i);
        rc = checkpoint_read(ck, name, m->tables[i]->data,
                             sizeof(float) * (size_t)m->tables[i]->rows * (size_t)m->tables[i]->width);
    }
    checkpoint_close(ck);
    if (rc)
        return es_error_wrap(ES_ESTATE, "%s does not fit %s/config.yaml", path, run_dir);
    return ES_OK;
}

static void engram_switch(model *m, int layer_index, int off)
{
    for (int i = 0; i < m->n_engram; i++)
        if (layer_index < 0 || i == layer_index)
            m->engram[i].off = off;
}

/* Mean validation loss over the first `batches` validation batches. */
static double val_loss(loaded_run *r, batch_loader *val, long batches)
{
    double total = 0.0;
    for (long i = 0; i < batches; i++) {
        batch_loader_eval(val, i, r->inputs, r->targets);
        total += model_forward(r->m, r->inputs, r->targets);
    }
    return total / (double)batches;
}

/* ---- per-token records -------------------------------------------------------- */

typedef struct {
    int n;           /* input tokens: text tokens - 1 */
    int n_layers;    /* Engram layers (x branches) */
    int H;           /* hash tables per layer */
    float *gate;     /* [n_layers, n] */
    float *loss;     /* [n] all on */
    float *loss_off; /* [n] all off */
    float *loss_layer_off; /* [n_layers, n] */
    int64_t *rows;   /* [n_layers, n, H] */
} token_records;

static void records_free(token_records *t)
{
    free(t->gate);
    free(t->loss);
    free(t->loss_off);
    free(t->loss_layer_off);
    free(t->rows);
}

/* Runs the text (ids[n+1]) through the model in sequences of T, B at a
 * time, in each Engram setting. */
static int run_text(loaded_run *r, const int32_t *ids, int n, token_records *t)
{
    model *m = r->m;
    int B = r->B, T = r->T, L = m->n_engram, H = L > 0 ? m->engram[0].H : 0;
    t->n = n;
    t->n_layers = L;
    t->H = H;
    t->gate = calloc((size_t)L * n, sizeof(float));
    t->loss = calloc((size_t)n, sizeof(float));
    t->loss_off = calloc((size_t)n, sizeof(float));
    t->loss_layer_off = calloc((size_t)L * n, sizeof(float));
    t->rows = calloc((size_t)L * n * (H > 0 ? H : 1), sizeof(int64_t));
    if (!t->gate || !t->loss || !t->loss_off || !t->loss_layer_off || !t->rows)
        return es_error(ES_ENOMEM, "out of memory for %d tokens", n);
    for (int start = 0; start < n; start += B * T) {
        int count = n - start < B * T ? n - start : B * T;
        for (int i = 0; i < B * T; i++) {
            r->inputs[i] = i < count ? ids[start + i] : 0;
            r->targets[i] = i < count ? ids[start + i + 1] : 0;
        }
        /* settings: -2 all on, -1 all off, k >= 0 layer k off */
        for (int setting = -2; setting < L; setting++) {
            engram_switch(m, -1, setting == -1);
            if (setting >= 0)
                engram_switch(m, setting, 1);
            model_forward(m, r->inputs, r->targets);
            for (int i = 0; i < count; i++) {
                float loss = m->acts.losses[i];
                if (setting == -2) {
                    t->loss[start + i] = loss;
                    for (int l = 0; l < L; l++) {
                        t->gate[(size_t)l * n + start + i] = m->engram[l].gate[(size_t)i * m->engram[l].G]; /* branch 0 */
                        for (int h = 0; h < H; h++)
                            t->rows[((size_t)l * n + start + i) * H + h] = m->engram[l].table.hit_row[(size_t)i * H + h];
                    }
                } else if (setting == -1) {
                    t->loss_off[start + i] = loss;
                } else {
                    t->loss_layer_off[(size_t)setting * n + start + i] = loss;
                }
            }
        }
        engram_switch(m, -1, 0);
    }
    return ES_OK;
}

/* ---- statistics ------------------------------------------------------------- */

typedef struct {
    double sum, sumsq;
    long n;
} moments;

static void moments_add(moments *s, double x)
{
    s->sum += x;
    s->sumsq += x * x;
    s->n++;
}

static json_t *moments_json(const moments *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer(s->n));
    double mean = s->n > 0 ? s->sum / (double)s->n : NAN;
    double var = s->n > 1 ? (s->sumsq - s->n * mean * mean) / (double)(s->n - 1) : NAN;
    json_object_set_new(o, "mean", isfinite(mean) ? json_real(mean) : json_null());
    json_object_set_new(o, "sd", isfinite(var) && var >= 0 ? json_real(sqrt(var)) : json_null());
    return o;
}

static json_t *number_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* ---- the command's work --------------------------------------------------------- */

static int write_text(const char *path, const char *s, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return es_error(ES_EIO, "cannot write %s", path);
    int bad = fwrite(s, 1, n, f) != n;
    if (fclose(f) != 0 || bad)
        return es_error(ES_EIO, "cannot write %s", path);
    return ES_OK;
}

int inspect_run(const inspect_options *opt, json_t **doc)
{
    *doc = NULL;
    char out_dir[PATH_MAX];
    if (opt->out_dir)
        snprintf(out_dir, sizeof out_dir, "%s", opt->out_dir);
    else
        snprintf(out_dir, sizeof out_dir, "%s/inspect", opt->run_dir);
    loaded_run r;
    int rc = load_run(opt->run_dir, &r);
    if (rc) {
        loaded_free(&r);
        return rc;
    }
    model *m = r.m;
    const bpe *tok = r.ds->tokenizer;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    token_records t;
    memset(&t, 0, sizeof t);
    batch_loader *val = NULL;
    strbuf tsv = {0};
    const char **texts = NULL;
    size_t *lens = NULL;
    const char **classes = NULL;
    int *capital = NULL, *seq_start = NULL;
    char **panel_titles = NULL;
    json_t *o = NULL;
    if ((rc = bpe_encode(tok, opt->text, opt->text_len, &ids, &n_ids)))
        goto done;
    if (n_ids < 2) {
        rc = es_error(ES_EINVAL, "the text is %zu token(s) long; inspect needs at least 2 (a token and the next)",
                      n_ids);
        goto done;
    }
    int n = (int)n_ids - 1, L = m->n_engram;
    if ((rc = run_text(&r, ids, n, &t)))
        goto done;

    /* validation losses: on, each layer off, all off */
    if ((rc = batch_loader_new(r.ds->val, r.ds->n_val, r.B, r.T, 0, &val)))
        goto done;
    long want = opt->val_tokens > 0 ? opt->val_tokens : r.cfg.train.eval_tokens;
    long available = (long)(val->n_windows / (size_t)r.B), per_batch = (long)r.B * r.T;
    long batches = want > 0 ? (want + per_batch - 1) / per_batch : available;
    if (batches > available)
        batches = available;
    if (batches < 1) {
        rc = es_error(ES_EINVAL, "the validation split of %s holds fewer than one batch", r.ds->name);
        goto done;
    }
    double v_on = val_loss(&r, val, batches);
    double v_layer_off[INSPECT_MAX_PANELS];
    for (int l = 0; l < L; l++) {
        engram_switch(m, l, 1);
        v_layer_off[l] = val_loss(&r, val, batches);
        engram_switch(m, -1, 0);
    }
    engram_switch(m, -1, 1);
    double v_off = val_loss(&r, val, batches);
    engram_switch(m, -1, 0);

    /* token texts and classes */
    texts = calloc(n_ids, sizeof *texts);
    lens = calloc(n_ids, sizeof *lens);
    classes = calloc(n_ids, sizeof *classes);
    capital = calloc(n_ids, sizeof *capital);
    seq_start = calloc(n_ids, sizeof *seq_start);
    panel_titles = calloc((size_t)L + 1, sizeof *panel_titles);
    if (!texts || !lens || !classes || !capital || !seq_start || !panel_titles) {
        rc = es_error(ES_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_ids; i++)
        texts[i] = (const char *)bpe_token(tok, ids[i], &lens[i]);
    for (int i = 0; i < n; i++) {
        int pos = i % r.T;
        seq_start[i] = pos == 0;
        int prev = pos > 0 && ends_with_letter(texts[i - 1], lens[i - 1]);
        int next = starts_with_letter(texts[i + 1], lens[i + 1]) && (i + 1) % r.T != 0;
        classes[i] = inspect_token_class(texts[i], lens[i], prev, next, &capital[i]);
    }

    /* tokens.tsv and the per-token JSON */
    const model_config *mc = &r.cfg.model;
    int H = t.H, heads = mc->engram.heads;
    sb_add(&tsv, "seq\tpos\ttoken_id\ttoken\tclass\tcapital\tlayer\tbranch\tgate\tloss\tloss_layer_off\tloss_no_engram\t"
                 "next_token");
    for (int o2 = 0; o2 < mc->engram.n_orders; o2++)
        sb_printf(&tsv, "\tngram_%d", mc->engram.orders[o2]);
    sb_add(&tsv, "\trows\n");
    json_t *rows_json = json_array();
    moments by_class[INSPECT_MAX_PANELS][N_CLASSES], caps[INSPECT_MAX_PANELS], all[INSPECT_MAX_PANELS];
    memset(by_class, 0, sizeof by_class);
    memset(caps, 0, sizeof caps);
    memset(all, 0, sizeof all);
    double text_on = 0, text_off = 0, text_layer_off[INSPECT_MAX_PANELS] = {0};
    for (int i = 0; i < n; i++) {
        int seq = i / r.T, pos = i % r.T;
        text_on += t.loss[i];
        text_off += t.loss_off[i];
        json_t *tj = json_object();
        json_object_set_new(tj, "seq", json_integer(seq));
        json_object_set_new(tj, "pos", json_integer(pos));
        json_object_set_new(tj, "token_id", json_integer(ids[i]));
        json_object_set_new(tj, "token", json_stringn(texts[i], lens[i]));
        json_object_set_new(tj, "class", json_string(classes[i]));
        json_object_set_new(tj, "capital", json_boolean(capital[i]));
        json_object_set_new(tj, "next_token", json_stringn(texts[i + 1], lens[i + 1]));
        json_object_set_new(tj, "loss", json_real(t.loss[i]));
        json_object_set_new(tj, "loss_no_engram", json_real(t.loss_off[i]));
        json_t *ej = json_array();
        int cls = 0;
        while (cls < N_CLASSES && strcmp(CLASSES[cls], classes[i]) != 0)
            cls++;
        for (int l = 0; l < L; l++) {
            float g = t.gate[(size_t)l * n + i];
            float lo = t.loss_layer_off[(size_t)l * n + i];
            text_layer_off[l] += lo;
            moments_add(&all[l], g);
            moments_add(&by_class[l][cls], g);
            if (capital[i])
                moments_add(&caps[l], g);
            sb_printf(&tsv, "%d\t%d\t%d\t", seq, pos, ids[i]);
            sb_escaped(&tsv, texts[i], lens[i]);
            sb_printf(&tsv, "\t%s\t%d\t%d\t%d\t%.6f\t%.6f\t%.6f\t%.6f\t", classes[i], capital[i], mc->engram.layers[l],
                      0, g, t.loss[i], lo, t.loss_off[i]);
            sb_escaped(&tsv, texts[i + 1], lens[i + 1]);
            json_t *ng = json_object();
            for (int o2 = 0; o2 < mc->engram.n_orders; o2++) {
                strbuf gram = {0};
                int order = mc->engram.orders[o2];
                for (int k = order - 1; k >= 0; k--) {
                    if (pos - k < 0)
                        sb_add(&gram, "<s>");
                    else
                        sb_addn(&gram, texts[i - k], lens[i - k]);
                    if (k > 0)
                        sb_add(&gram, "|");
                }
                sb_add(&tsv, "\t");
                sb_escaped(&tsv, gram.s ? gram.s : "", gram.len);
                char key[16];
                snprintf(key, sizeof key, "%d", order);
                json_object_set_new(ng, key, json_stringn(gram.s ? gram.s : "", gram.len));
                free(gram.s);
            }
            sb_add(&tsv, "\t");
            json_t *rj = json_array();
            for (int h = 0; h < H; h++) {
                int64_t row = t.rows[((size_t)l * n + i) * H + h];
                sb_printf(&tsv, "%s%lld", h ? "," : "", (long long)row);
                json_array_append_new(rj, json_integer(row));
            }
            sb_add(&tsv, "\n");
            json_t *lj = json_object();
            json_object_set_new(lj, "layer", json_integer(mc->engram.layers[l]));
            json_object_set_new(lj, "branch", json_integer(0));
            json_object_set_new(lj, "gate", json_real(g));
            json_object_set_new(lj, "loss_layer_off", json_real(lo));
            json_object_set_new(lj, "ngrams", ng);
            json_object_set_new(lj, "rows", rj);
            json_array_append_new(ej, lj);
        }
        json_object_set_new(tj, "engram", ej);
        json_array_append_new(rows_json, tj);
    }
    (void)heads;
    if (tsv.oom) {
        json_decref(rows_json);
        rc = es_error(ES_ENOMEM, "out of memory writing tokens.tsv");
        goto done;
    }

    o = json_object();
    json_object_set_new(o, "run_dir", json_string(opt->run_dir));
    json_object_set_new(o, "out_dir", json_string(out_dir));
    json_object_set_new(o, "corpus", json_string(r.cfg.corpus));
    json_object_set_new(o, "tokens", json_integer((json_int_t)n_ids));
    json_object_set_new(o, "seq_len", json_integer(r.T));
    json_t *orders = json_array();
    for (int o2 = 0; o2 < mc->engram.n_orders; o2++)
        json_array_append_new(orders, json_integer(mc->engram.orders[o2]));
    json_object_set_new(o, "orders", orders);
    json_object_set_new(o, "val_tokens", json_integer((json_int_t)(batches * per_batch)));
    json_object_set_new(o, "val_loss", number_or_null(v_on));
    json_object_set_new(o, "val_loss_no_engram", number_or_null(v_off));
    json_object_set_new(o, "text_loss", number_or_null(text_on / n));
    json_object_set_new(o, "text_loss_no_engram", number_or_null(text_off / n));
    json_t *layers = json_array();
    for (int l = 0; l < L; l++) {
        json_t *lj = json_object();
        json_object_set_new(lj, "layer", json_integer(mc->engram.layers[l]));
        json_object_set_new(lj, "branch", json_integer(0));
        json_object_set_new(lj, "val_loss_layer_off", number_or_null(v_layer_off[l]));
        json_object_set_new(lj, "val_delta_layer_off", number_or_null(v_layer_off[l] - v_on));
        json_object_set_new(lj, "text_loss_layer_off", number_or_null(text_layer_off[l] / n));
        json_t *mg = moments_json(&all[l]);
        json_object_set(lj, "mean_gate", json_object_get(mg, "mean"));
        json_decref(mg);
        json_t *bc = json_object();
        for (int c = 0; c < N_CLASSES; c++)
            json_object_set_new(bc, CLASSES[c], moments_json(&by_class[l][c]));
        json_object_set_new(lj, "gate_by_class", bc);
        json_object_set_new(lj, "gate_capital", moments_json(&caps[l]));
        json_array_append_new(layers, lj);
    }
    json_object_set_new(o, "layers", layers);
    json_object_set_new(o, "token_rows", rows_json);

    char tsv_path[PATH_MAX + 32], json_path[PATH_MAX + 32], png[PATH_MAX + 32], svg[PATH_MAX + 32],
        gp[PATH_MAX + 32];
    snprintf(tsv_path, sizeof tsv_path, "%s/tokens.tsv", out_dir);
    snprintf(json_path, sizeof json_path, "%s/inspect.json", out_dir);
    snprintf(png, sizeof png, "%s/gate.png", out_dir);
    snprintf(svg, sizeof svg, "%s/gate.svg", out_dir);
    snprintf(gp, sizeof gp, "%s/gate.gp", out_dir);
    json_t *files = json_object();
    json_object_set_new(files, "tsv", json_string(tsv_path));
    json_object_set_new(files, "json", json_string(json_path));
    json_object_set_new(files, "figure_png", opt->plot ? json_string(png) : json_null());
    json_object_set_new(files, "figure_svg", opt->plot ? json_string(svg) : json_null());
    json_object_set_new(files, "figure_script", opt->plot ? json_string(gp) : json_null());
    json_object_set_new(o, "files", files);

    if ((rc = es_mkdir_p(out_dir)) || (rc = write_text(tsv_path, tsv.s, tsv.len)))
        goto done;
    if (json_dump_file(o, json_path, JSON_INDENT(1) | JSON_REAL_PRECISION(8)) != 0) {
        rc = es_error(ES_EIO, "cannot write %s", json_path);
        goto done;
    }
    if (opt->plot) {
        for (int l = 0; l < L; l++) {
            char title[256];
            snprintf(title, sizeof title,
                     "Engram at block %d (0-based), branch 0: mean gate %.3f; validation loss %.4f, %.4f with it off",
                     mc->engram.layers[l], all[l].n ? all[l].sum / all[l].n : NAN, v_on, v_layer_off[l]);
            panel_titles[l] = strdup(title);
            if (!panel_titles[l]) {
                rc = es_error(ES_ENOMEM, "out of memory");
                goto done;
            }
        }
        char title[PATH_MAX + 64];
        snprintf(title, sizeof title, "Engram gate on %d tokens (%s)", n, opt->run_dir);
        rc = plot_inspect_gate(out_dir, "gate", title, L, (const char *const *)panel_titles, n,
                               (const char *const *)texts, lens, t.gate, seq_start);
        if (rc)
            goto done;
    }
    *doc = o;
    o = NULL;
done:
    json_decref(o);
    if (panel_titles)
        for (int l = 0; l < m->n_engram; l++)
            free(panel_titles[l]);
    free(panel_titles);
    free(texts);
    free(lens);
    free(classes);
    free(capital);
    free(seq_start);
    free(tsv.s);
    batch_loader_free(val);
    records_free(&t);
    free(ids);
    loaded_free(&r);
    return rc;
}
