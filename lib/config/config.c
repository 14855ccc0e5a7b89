/* Run configs: one key table drives defaults, parsing, range checks,
 * error suggestions and writing, so a key is added in one place. */
#include "config/config.h"

#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { KEY_INT, KEY_LONG, KEY_U64, KEY_DOUBLE, KEY_STRING, KEY_BOOL, KEY_ENUM, KEY_INT_LIST } key_type;

/* Bounds: [min, max] with min_open/max_open making either end exclusive;
 * max = INFINITY means no upper bound; a list's bounds hold for each item.
 * Strings use size (the field's bytes), lists size (the array's capacity)
 * and count_offset (the int holding the item count). Enums and booleans
 * are ints whose default is def; a list's default is def_str ("2, 3"). */
typedef struct {
    const char *path;
    key_type type;
    size_t offset;
    size_t size;
    double min, max;
    int min_open, max_open;
    double def;
    const char *def_str;
    const char *doc;
    const char *const *choices; /* KEY_ENUM: names indexed by value, NULL-terminated */
    size_t count_offset;
} config_key;

#define F(field) offsetof(run_config, field)
#define STR(p, field, d, doc) \
    {p, KEY_STRING, F(field), sizeof(((run_config *)0)->field), 0, 0, 0, 0, 0, d, doc, NULL, 0}
#define NUM(p, t, field, lo, lo_open, hi, hi_open, d, doc) \
    {p, t, F(field), 0, lo, hi, lo_open, hi_open, d, NULL, doc, NULL, 0}
#define CLOSED(p, t, field, lo, hi, d, doc) NUM(p, t, field, lo, 0, hi, 0, d, doc)
#define BOOL(p, field, d, doc) {p, KEY_BOOL, F(field), 0, 0, 1, 0, 0, d, NULL, doc, NULL, 0}
#define ENUM(p, field, names, d, doc) {p, KEY_ENUM, F(field), 0, 0, 0, 0, 0, d, NULL, doc, names, 0}
#define INT_LIST(p, field, count, lo, hi, d, doc) \
    {p, KEY_INT_LIST, F(field), sizeof(((run_config *)0)->field) / sizeof(int), lo, hi, 0, 0, 0, d, doc, NULL, \
     F(count)}

/* Indexed by the enum values of config.h, so names and values cannot drift. */
static const char *const MEMORY_NAMES[] = {
    [MEMORY_NONE] = "none", [MEMORY_ENGRAM] = "engram", [MEMORY_OVERENCODING] = "overencoding", NULL};
static const char *const GATE_NAMES[] = {[GATE_PAPER] = "paper", [GATE_SSQRT] = "ssqrt", [GATE_OFF] = "off", NULL};
static const char *const PRECISION_NAMES[] = {[PRECISION_FP32] = "fp32", [PRECISION_BF16] = "bf16", NULL};
static const char *const GEMM_NAMES[] = {[GEMM_ONEDNN] = "onednn", [GEMM_OPENBLAS] = "openblas", NULL};
static const char *const OPTIMIZER_NAMES[] = {[OPTIMIZER_ADAMW] = "adamw", [OPTIMIZER_MUON] = "muon", NULL};

enum { LIST_MAX = 64 }; /* the largest list capacity a key may have */
_Static_assert((int)ENGRAM_MAX_ORDERS <= (int)LIST_MAX && (int)ENGRAM_MAX_LAYERS <= (int)LIST_MAX, "raise LIST_MAX");

/* Sections must be contiguous and in nesting order: config_write relies on it. */
static const config_key KEYS[] = {
    STR("name", name, "run", "run name; names the run folder ([A-Za-z0-9._-])"),
    STR("corpus", corpus, "kjv",
        "kjv, gcide, linux-doc, linux-src, a path to a UTF-8 text file, or a mixture: a list of these, "
        "each optionally {name: weight}, weight in (0, 1] the share of its text kept"),
    STR("data_dir", data_dir, "data", "cache root for tokenizers and token files"),
    CLOSED("tokenizer.vocab", KEY_INT, vocab, 256, 65536, 4096, "BPE vocabulary size"),

    CLOSED("model.d_model", KEY_INT, model.d_model, 8, 16384, 128, "residual width"),
    CLOSED("model.layers", KEY_INT, model.n_layers, 1, 256, 4, "transformer blocks"),
    CLOSED("model.heads", KEY_INT, model.n_heads, 1, 256, 4, "attention heads; d_model/heads even"),
    CLOSED("model.seq_len", KEY_INT, model.seq_len, 2, 65536, 128, "tokens per training sequence"),
    CLOSED("model.ffn_hidden", KEY_INT, model.ffn_hidden, 1, 1 << 20, 384, "dense SwiGLU hidden width"),
    NUM("model.rope_theta", KEY_DOUBLE, model.rope_theta, 0, 1, INFINITY, 1, 10000, "RoPE base"),
    NUM("model.init_std", KEY_DOUBLE, model.init_std, 0, 1, 1, 0, 0.02, "std of the normal weight init"),
    CLOSED("model.branches", KEY_INT, model.branches, 1, 8, 1, "residual-stream branches (mHC); 1 = one stream"),

    CLOSED("model.moe.experts", KEY_INT, model.moe.experts, 0, 4096, 0, "routed experts; 0 = dense FFN"),
    CLOSED("model.moe.top_k", KEY_INT, model.moe.top_k, 1, 64, 2, "routed experts per token"),
    CLOSED("model.moe.shared", KEY_INT, model.moe.shared, 0, 64, 1, "shared experts"),
    CLOSED("model.moe.expert_hidden", KEY_INT, model.moe.expert_hidden, 1, 1 << 20, 128,
           "SwiGLU hidden width of each expert"),
    CLOSED("model.moe.bias_rate", KEY_DOUBLE, model.moe.bias_rate, 0, 1, 0,
           "aux-loss-free balancing: bias step per optimizer step; if > 0 it replaces bias_travel"),
    CLOSED("model.moe.bias_travel", KEY_DOUBLE, model.moe.bias_travel, 0, 1000, 2,
           "aux-loss-free balancing over the run: bias step = bias_travel / steps, the farthest a bias can "
           "move in the run (affinities are in (0, 1)); 0 with bias_rate 0 = off"),
    CLOSED("model.moe.aux_loss", KEY_DOUBLE, model.moe.aux_loss, 0, 1, 0, "sequence-level balance loss; 0 = off"),
    NUM("model.moe.route_scale", KEY_DOUBLE, model.moe.route_scale, 0, 1, 100, 0, 1.0,
        "multiplier on the normalised gate weights"),

    ENUM("model.memory", model.memory, MEMORY_NAMES, MEMORY_NONE, "none | engram | overencoding"),
    CLOSED("model.engram.slots", KEY_LONG, model.engram.slots, 1, 1e10, 100000,
           "table rows over all heads, orders and layers"),
    CLOSED("model.engram.head_dim", KEY_INT, model.engram.head_dim, 1, 4096, 16, "width of each head's rows"),
    CLOSED("model.engram.heads", KEY_INT, model.engram.heads, 1, 64, 4, "hash heads per N-gram order"),
    INT_LIST("model.engram.orders", model.engram.orders, model.engram.n_orders, 2, 8, "2, 3", "N-gram orders"),
    INT_LIST("model.engram.layers", model.engram.layers, model.engram.n_layers, 0, 255, "1",
             "0-based blocks with an Engram module"),
    ENUM("model.engram.gate", model.engram.gate, GATE_NAMES, GATE_PAPER, "paper | ssqrt | off"),
    BOOL("model.engram.conv", model.engram.conv, 1, "causal depthwise conv"),
    CLOSED("model.engram.conv_kernel", KEY_INT, model.engram.conv_kernel, 1, 16, 4, "conv kernel size"),
    BOOL("model.engram.branch_gates", model.engram.branch_gates, 1,
         "branches > 1: a key and gate per branch (false: one shared)"),
    BOOL("model.engram.compress", model.engram.compress, 1, "tokenizer compression"),
    NUM("model.engram.init_std", KEY_DOUBLE, model.engram.init_std, 0, 1, 10, 0, 0.02,
        "std of the tables' normal init"),
    NUM("model.engram.lr_mult", KEY_DOUBLE, model.engram.lr_mult, 0, 1, 1000, 0, 5, "table lr = train.lr * lr_mult"),
    CLOSED("model.engram.weight_decay", KEY_DOUBLE, model.engram.weight_decay, 0, 10, 0, "table weight decay"),

    CLOSED("train.seed", KEY_U64, train.seed, 0, 18446744073709551615.0, 1, "seed of all randomness"),
    CLOSED("train.batch", KEY_INT, train.batch, 1, 65536, 16, "sequences per step"),
    CLOSED("train.steps", KEY_LONG, train.steps, 1, 1e12, 1000, "optimizer steps (unless tokens > 0)"),
    CLOSED("train.tokens", KEY_DOUBLE, train.tokens, 0, 1e15, 0, "if > 0: train ceil(tokens/(batch*seq_len)) steps"),
    NUM("train.epochs", KEY_DOUBLE, train.epochs, 0, 1, 1e6, 0, 1, "passes over the training split allowed"),
    NUM("train.lr", KEY_DOUBLE, train.lr, 0, 1, 10, 0, 3e-3, "peak learning rate"),
    CLOSED("train.min_lr_ratio", KEY_DOUBLE, train.min_lr_ratio, 0, 1, 0.1, "final lr / peak lr (cosine)"),
    CLOSED("train.warmup", KEY_LONG, train.warmup, 0, INFINITY, 50, "linear warmup steps"),
    ENUM("train.optimizer", train.optimizer, OPTIMIZER_NAMES, OPTIMIZER_ADAMW,
         "adamw | muon (Muon on the backbone matrices, AdamW on the rest)"),
    NUM("train.muon_momentum", KEY_DOUBLE, train.muon_momentum, 0, 1, 1, 1, 0.95, "Muon's momentum (Nesterov)"),
    CLOSED("train.weight_decay", KEY_DOUBLE, train.weight_decay, 0, 10, 0.1, "decoupled weight decay (AdamW, Muon)"),
    NUM("train.beta1", KEY_DOUBLE, train.beta1, 0, 0, 1, 1, 0.9, "Adam beta1"),
    NUM("train.beta2", KEY_DOUBLE, train.beta2, 0, 0, 1, 1, 0.95, "Adam beta2"),
    NUM("train.eps", KEY_DOUBLE, train.eps, 0, 1, 1, 1, 1e-8, "Adam epsilon"),
    CLOSED("train.grad_clip", KEY_DOUBLE, train.grad_clip, 0, 1e6, 1.0, "global-norm clip; 0 = off"),
    CLOSED("train.eval_every", KEY_LONG, train.eval_every, 1, INFINITY, 100, "steps between evals"),
    CLOSED("train.eval_tokens", KEY_LONG, train.eval_tokens, 0, INFINITY, 0,
           "validation tokens per eval; 0 = whole split"),
    CLOSED("train.checkpoint_every", KEY_LONG, train.checkpoint_every, 0, INFINITY, 0,
           "steps between checkpoints; 0 = end only"),
    CLOSED("train.threads", KEY_INT, train.threads, 0, 1024, 0, "worker threads; 0 = all cores"),
    ENUM("train.precision", train.precision, PRECISION_NAMES, PRECISION_BF16,
         "fp32 | bf16: operands of the matrix products (fp32 accumulation); bf16 needs AVX512-BF16 or AMX, "
         "else fp32 is used and written"),
    ENUM("train.gemm", train.gemm, GEMM_NAMES, GEMM_ONEDNN,
         "onednn | openblas: library of the fp32 matrix products (openblas: the reference path)"),
    NUM("train.diverge_factor", KEY_DOUBLE, train.diverge_factor, 1, 1, 1e6, 0, 3.0,
        "diverged when loss > factor * initial loss"),
};
enum { N_KEYS = sizeof KEYS / sizeof KEYS[0] };

/* ---- small helpers -------------------------------------------------- */

static void *field_of(run_config *cfg, const config_key *k) { return (char *)cfg + k->offset; }

static const void *cfield_of(const run_config *cfg, const config_key *k)
{
    return (const char *)cfg + k->offset;
}

static void set_string(run_config *cfg, const config_key *k, const char *s)
{
    /* zero the whole field so that equal configs are equal byte for byte */
    char *dst = field_of(cfg, k);
    memset(dst, 0, k->size);
    strncpy(dst, s, k->size - 1);
}

static const config_key *key_find(const char *path)
{
    for (int i = 0; i < N_KEYS; i++)
        if (strcmp(KEYS[i].path, path) == 0)
            return &KEYS[i];
    return NULL;
}

/* A section is a proper prefix of some key ending at a '.'. */
static int is_section(const char *path)
{
    size_t len = strlen(path);
    for (int i = 0; i < N_KEYS; i++)
        if (strncmp(KEYS[i].path, path, len) == 0 && KEYS[i].path[len] == '.')
            return 1;
    return 0;
}

static const char *kind_name(const ynode *n)
{
    return n->kind == YNODE_MAP ? "a map" : n->kind == YNODE_SEQ ? "a list" : "a value";
}

static const char *type_name(key_type t)
{
    switch (t) {
    case KEY_INT:
    case KEY_LONG:
    case KEY_U64:
        return "an integer";
    case KEY_DOUBLE:
        return "a number";
    case KEY_BOOL:
        return "true or false";
    case KEY_INT_LIST:
        return "a list of integers";
    default:
        return "a string";
    }
}

/* Shortest %g form that reads back to the same double. */
static void format_double(double v, char *buf, size_t size)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* ---- suggestions for unknown keys ----------------------------------- */

/* Optimal string alignment distance: edits plus adjacent transpositions,
 * so "d_modle" is one edit from "d_model". */
static int edit_distance(const char *a, const char *b)
{
    enum { MAXLEN = 64 };
    size_t n = strlen(a), m = strlen(b);
    if (n >= MAXLEN || m >= MAXLEN)
        return MAXLEN;
    int d[MAXLEN + 1][MAXLEN + 1];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

/* Writes " (did you mean 'x.y'?)" for an unknown key "prefix.word", or
 * nothing: the closest name in the same section if it is a plausible typo,
 * else a key of the same name in another section ("model.lr" -> "train.lr"). */
static void suggest(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    const char *dot = strrchr(path, '.');
    size_t plen = dot ? (size_t)(dot - path) + 1 : 0; /* prefix with its dot */
    const char *word = path + plen;
    int limit = (int)strlen(word) / 3;
    limit = limit < 1 ? 1 : limit > 3 ? 3 : limit;
    int best = limit + 1;
    char best_path[128] = "";
    for (int i = 0; i < N_KEYS; i++) {
        const char *kp = KEYS[i].path;
        if (strncmp(kp, path, plen) != 0)
            continue;
        /* the name one level below the prefix: a leaf or a subsection */
        const char *name = kp + plen;
        size_t nlen = strcspn(name, ".");
        char cand[128];
        snprintf(cand, sizeof cand, "%.*s", (int)nlen, name);
        int dist = edit_distance(word, cand);
        if (dist < best) {
            best = dist;
            snprintf(best_path, sizeof best_path, "%.*s", (int)(plen + nlen), kp);
        }
    }
    size_t wlen = strlen(word);
    for (int i = 0; i < N_KEYS && !best_path[0]; i++)
        for (const char *seg = KEYS[i].path; seg; seg = strchr(seg, '.') ? strchr(seg, '.') + 1 : NULL)
            if (strncmp(seg, word, wlen) == 0 && (seg[wlen] == '.' || seg[wlen] == '\0')) {
                snprintf(best_path, sizeof best_path, "%.*s", (int)(seg - KEYS[i].path + (ptrdiff_t)wlen),
                         KEYS[i].path);
                break;
            }
    if (best_path[0])
        snprintf(buf, size, "; did you mean '%s'?", best_path);
}

/* ---- reading values ------------------------------------------------- */

/* YAML-ish decimal numbers only: no hex, no "inf", no trailing junk. */
static int is_decimal(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    int digits = 0;
    while (isdigit((unsigned char)*s))
        s++, digits++;
    if (*s == '.') {
        s++;
        while (isdigit((unsigned char)*s))
            s++, digits++;
    }
    if (!digits)
        return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!isdigit((unsigned char)*s))
            return 0;
        while (isdigit((unsigned char)*s))
            s++;
    }
    return *s == '\0';
}

static int is_all_digits(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

static int looks_non_finite(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    if (*s == '.')
        s++;
    return strncasecmp(s, "inf", 3) == 0 || strncasecmp(s, "nan", 3) == 0;
}

/* name is the key, or one item of a list key ("model.engram.orders[1]"). */
static int range_error(const config_key *k, const char *name, const ynode *n)
{
    char at[600], lo[40], hi[40];
    format_double(k->min, lo, sizeof lo);
    if (isinf(k->max))
        snprintf(hi, sizeof hi, "inf");
    else if (k->type == KEY_U64 && k->max >= 18446744073709551615.0)
        snprintf(hi, sizeof hi, "%" PRIu64, UINT64_MAX);
    else
        format_double(k->max, hi, sizeof hi);
    return es_error(ES_ECONFIG, "%s: %s = %s is out of range %c%s, %s%c", ytree_where(n, at, sizeof at), name, n->value,
                    k->min_open ? '(' : '[', lo, hi, k->max_open || isinf(k->max) ? ')' : ']');
}

static int in_range(const config_key *k, double v)
{
    if (v < k->min || (k->min_open && v == k->min))
        return 0;
    if (v > k->max || (k->max_open && v == k->max))
        return 0;
    return 1;
}

/* Parses one number into dst, a C object of type t (k's own type, or KEY_INT
 * for a list item) with k's bounds; name is what errors call it. */
static int number_apply(const config_key *k, key_type t, const char *name, const ynode *n, void *dst)
{
    char at[600];
    if (n->kind != YNODE_SCALAR)
        return es_error(ES_ECONFIG, "%s: %s: expected %s, got %s", ytree_where(n, at, sizeof at), name, type_name(t),
                        kind_name(n));
    const char *s = n->value;
    if (n->quoted) /* "128" in quotes is a string in YAML; say so rather than guess */
        return es_error(ES_ECONFIG, "%s: %s: expected %s, got the string '%s' (remove the quotes)",
                        ytree_where(n, at, sizeof at), name, type_name(t), s);
    if (looks_non_finite(s))
        return es_error(ES_ECONFIG, "%s: %s: expected a finite number, got '%s'", ytree_where(n, at, sizeof at), name,
                        s);
    if (!is_decimal(s))
        return es_error(ES_ECONFIG, "%s: %s: expected %s, got '%s'", ytree_where(n, at, sizeof at), name, type_name(t),
                        s);

    if (t == KEY_U64 && is_all_digits(s)) { /* exact, beyond 2^53 */
        if (s[0] == '-' && strspn(s + 1, "0") != strlen(s + 1))
            return range_error(k, name, n);
        errno = 0;
        unsigned long long u = strtoull(s[0] == '-' ? s + 1 : s, NULL, 10);
        if (errno == ERANGE)
            return range_error(k, name, n);
        *(uint64_t *)dst = (uint64_t)u;
        return ES_OK;
    }
    if ((t == KEY_INT || t == KEY_LONG) && is_all_digits(s)) { /* exact integers */
        errno = 0;
        long long v = strtoll(s, NULL, 10);
        if (errno == ERANGE || !in_range(k, (double)v))
            return range_error(k, name, n);
        if (t == KEY_INT)
            *(int *)dst = (int)v;
        else
            *(long *)dst = (long)v;
        return ES_OK;
    }
    double v = strtod(s, NULL);
    /* "1e6" is an integer, "1.5" is not */
    if (t != KEY_DOUBLE && isfinite(v) && v != floor(v))
        return es_error(ES_ECONFIG, "%s: %s: expected an integer, got '%s'", ytree_where(n, at, sizeof at), name, s);
    if (!isfinite(v) || !in_range(k, v)) /* 1e999 overflows to inf: out of range */
        return range_error(k, name, n);
    switch (t) {
    case KEY_DOUBLE:
        *(double *)dst = v;
        return ES_OK;
    case KEY_INT:
    case KEY_LONG:
    case KEY_U64:
        /* beyond the C type: only unbounded keys get here */
        if (t == KEY_U64 ? v >= 18446744073709551616.0 : fabs(v) >= 9.2e18)
            return range_error(k, name, n);
        if (t == KEY_INT)
            *(int *)dst = (int)v;
        else if (t == KEY_LONG)
            *(long *)dst = (long)v;
        else
            *(uint64_t *)dst = (uint64_t)v;
        return ES_OK;
    default:
        return es_error(ES_ECONFIG, "%s: %s: unsupported key type", ytree_where(n, at, sizeof at), name);
    }
}

/* "none, engram, overencoding" */
static void choices_text(const config_key *k, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; k->choices[i] && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", k->choices[i]);
}

static int enum_apply(const config_key *k, const ynode *n, run_config *cfg)
{
    char at[600], names[200];
    choices_text(k, names, sizeof names);
    if (n->kind != YNODE_SCALAR)
        return es_error(ES_ECONFIG, "%s: %s: expected one of %s, got %s", ytree_where(n, at, sizeof at), k->path, names,
                        kind_name(n));
    for (int i = 0; k->choices[i]; i++)
        if (strcmp(n->value, k->choices[i]) == 0) {
            *(int *)field_of(cfg, k) = i;
            return ES_OK;
        }
    /* a near miss ("engrma", "Engram") gets the name it was meant to be */
    int best = 2, pick = -1;
    for (int i = 0; k->choices[i]; i++) {
        int dist = edit_distance(n->value, k->choices[i]);
        if (dist < best)
            best = dist, pick = i;
    }
    char hint[120] = "";
    if (pick >= 0)
        snprintf(hint, sizeof hint, "; did you mean '%s'?", k->choices[pick]);
    return es_error(ES_ECONFIG, "%s: %s: expected one of %s, got '%s'%s", ytree_where(n, at, sizeof at), k->path, names,
                    n->value, hint);
}

/* true or false in any case; YAML 1.1's yes/no/on/off are refused so that
 * a flag has one spelling (and "off" stays the gate's name). */
static int bool_apply(const config_key *k, const ynode *n, run_config *cfg)
{
    char at[600];
    if (n->kind != YNODE_SCALAR)
        return es_error(ES_ECONFIG, "%s: %s: expected true or false, got %s", ytree_where(n, at, sizeof at), k->path,
                        kind_name(n));
    if (n->quoted)
        return es_error(ES_ECONFIG, "%s: %s: expected true or false, got the string '%s' (remove the quotes)",
                        ytree_where(n, at, sizeof at), k->path, n->value);
    if (strcasecmp(n->value, "true") == 0 || strcasecmp(n->value, "false") == 0) {
        *(int *)field_of(cfg, k) = strcasecmp(n->value, "true") == 0;
        return ES_OK;
    }
    return es_error(ES_ECONFIG, "%s: %s: expected true or false, got '%s'", ytree_where(n, at, sizeof at), k->path,
                    n->value);
}

/* A list of distinct integers, each in k's bounds. The whole array is
 * rewritten, unused entries zero, so equal configs stay equal byte for byte. */
static int list_apply(const config_key *k, const ynode *n, run_config *cfg)
{
    char at[600];
    if (n->kind == YNODE_SCALAR && !n->value[0])
        return es_error(ES_ECONFIG, "%s: %s: expected a list of integers, got nothing", ytree_where(n, at, sizeof at),
                        k->path);
    if (n->kind == YNODE_SCALAR)
        return es_error(ES_ECONFIG, "%s: %s: expected a list of integers, got '%s' (write a list as [%s])",
                        ytree_where(n, at, sizeof at), k->path, n->value, n->value);
    if (n->kind != YNODE_SEQ)
        return es_error(ES_ECONFIG, "%s: %s: expected a list of integers, got %s", ytree_where(n, at, sizeof at),
                        k->path, kind_name(n));
    if (n->n_items < 1 || n->n_items > k->size)
        return es_error(ES_ECONFIG, "%s: %s: expected 1 to %zu items, got %zu", ytree_where(n, at, sizeof at), k->path,
                        k->size, n->n_items);
    int items[LIST_MAX];
    for (size_t i = 0; i < n->n_items; i++) {
        char name[160];
        snprintf(name, sizeof name, "%s[%zu]", k->path, i);
        int rc = number_apply(k, KEY_INT, name, n->items[i], &items[i]);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (items[j] == items[i])
                return es_error(ES_ECONFIG, "%s: %s: %d appears twice", ytree_where(n->items[i], at, sizeof at),
                                k->path, items[i]);
    }
    int *dst = field_of(cfg, k);
    memset(dst, 0, k->size * sizeof *dst);
    memcpy(dst, items, n->n_items * sizeof *dst);
    *(int *)((char *)cfg + k->count_offset) = (int)n->n_items;
    return ES_OK;
}

/* corpus as a YAML list, a mixture: [gcide, kjv, {linux-src: 0.1}], each
 * item a corpus name or path, or a one-key map of name to weight, the share
 * of that source's text kept, in (0, 1]. Stored as the corpus string
 * "gcide+kjv+linux-src@0.1" that lib/data reads (data/corpus.h). */
static int corpus_list_apply(const config_key *k, const ynode *n, run_config *cfg)
{
    char at[600], out[CONFIG_STRING_MAX] = "";
    size_t used = 0;
    if (n->n_items == 0)
        return es_error(ES_ECONFIG, "%s: %s: the list of corpora is empty", ytree_where(n, at, sizeof at), k->path);
    for (size_t i = 0; i < n->n_items; i++) {
        const ynode *item = n->items[i], *name_node = item;
        const char *name = NULL;
        double w = 1;
        if (item->kind == YNODE_SCALAR) {
            name = item->value;
        } else if (item->kind == YNODE_MAP && item->n_items == 1 && item->items[0]->kind == YNODE_SCALAR) {
            const ynode *wn = item->items[0];
            name = wn->key;
            name_node = wn;
            char *end;
            errno = 0;
            w = strtod(wn->value, &end);
            if (end == wn->value || *end || errno || !(w > 0 && w <= 1))
                return es_error(ES_ECONFIG, "%s: %s: the weight of %s is '%s', expected a number in (0, 1] (the "
                                            "share of its text kept)",
                                ytree_where(wn, at, sizeof at), k->path, name, wn->value);
        } else {
            return es_error(ES_ECONFIG, "%s: %s: item %zu: expected a corpus name or {name: weight}, got %s",
                            ytree_where(item, at, sizeof at), k->path, i + 1, kind_name(item));
        }
        if (!name[0] || strpbrk(name, "+@"))
            return es_error(ES_ECONFIG, "%s: %s: item %zu: '%s' is not a corpus name ('+' and '@' are reserved)",
                            ytree_where(name_node, at, sizeof at), k->path, i + 1, name);
        char weight[40] = "";
        if (w != 1)
            snprintf(weight, sizeof weight, "@%g", w);
        int len = snprintf(out + used, sizeof out - used, "%s%s%s", i ? "+" : "", name, weight);
        if (len < 0 || (size_t)len >= sizeof out - used)
            return es_error(ES_ECONFIG, "%s: %s: the mixture is longer than %zu characters",
                            ytree_where(n, at, sizeof at), k->path, sizeof out - 1);
        used += (size_t)len;
    }
    set_string(cfg, k, out);
    return ES_OK;
}

/* Sets one leaf from its node, checking kind, syntax and range. */
static int key_apply(const config_key *k, const ynode *n, run_config *cfg)
{
    char at[600];
    switch (k->type) {
    case KEY_ENUM:
        return enum_apply(k, n, cfg);
    case KEY_BOOL:
        return bool_apply(k, n, cfg);
    case KEY_INT_LIST:
        return list_apply(k, n, cfg);
    case KEY_STRING:
        if (n->kind == YNODE_SEQ && strcmp(k->path, "corpus") == 0)
            return corpus_list_apply(k, n, cfg);
        if (n->kind != YNODE_SCALAR)
            return es_error(ES_ECONFIG, "%s: %s: expected a string, got %s", ytree_where(n, at, sizeof at), k->path,
                            kind_name(n));
        if (strlen(n->value) >= k->size)
            return es_error(ES_ECONFIG, "%s: %s: '%.40s...' is longer than %zu characters",
                            ytree_where(n, at, sizeof at), k->path, n->value, k->size - 1);
        set_string(cfg, k, n->value);
        return ES_OK;
    default:
        return number_apply(k, k->type, k->path, n, field_of(cfg, k));
    }
}

/* A plain empty or null value under a section key ("model:") means
 * "no keys here", as an empty map would. */
static int is_empty_section(const ynode *n)
{
    return n->kind == YNODE_SCALAR && !n->quoted &&
           (n->value[0] == '\0' || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0);
}

static int apply_node(const ynode *n, const char *path, run_config *cfg)
{
    char at[600];
    const config_key *k = key_find(path);
    if (k)
        return key_apply(k, n, cfg);
    if (!is_section(path)) {
        char hint[200];
        suggest(path, hint, sizeof hint);
        return es_error(ES_ECONFIG, "%s: unknown key '%s'%s", ytree_where(n, at, sizeof at), path, hint);
    }
    if (is_empty_section(n))
        return ES_OK;
    if (n->kind != YNODE_MAP)
        return es_error(ES_ECONFIG, "%s: %s: expected a map of keys, got %s%s%s%s", ytree_where(n, at, sizeof at), path,
                        kind_name(n), n->kind == YNODE_SCALAR ? " '" : "", n->kind == YNODE_SCALAR ? n->value : "",
                        n->kind == YNODE_SCALAR ? "'" : "");
    for (size_t i = 0; i < n->n_items; i++) {
        char child[256];
        int len = snprintf(child, sizeof child, "%s.%s", path, n->items[i]->key);
        if (len < 0 || (size_t)len >= sizeof child)
            return es_error(ES_ECONFIG, "%s: unknown key '%.60s...'", ytree_where(n->items[i], at, sizeof at), path);
        int rc = apply_node(n->items[i], child, cfg);
        if (rc)
            return rc;
    }
    return ES_OK;
}

/* ---- public --------------------------------------------------------- */

void config_defaults(run_config *cfg)
{
    memset(cfg, 0, sizeof *cfg); /* padding too, so configs compare with memcmp */
    for (int i = 0; i < N_KEYS; i++) {
        const config_key *k = &KEYS[i];
        void *f = field_of(cfg, k);
        switch (k->type) {
        case KEY_INT:
        case KEY_BOOL:
        case KEY_ENUM:
            *(int *)f = (int)k->def;
            break;
        case KEY_INT_LIST: { /* def_str "2, 3" */
            int *items = f, n = 0;
            for (const char *p = k->def_str; *p && n < (int)k->size;) {
                char *end;
                items[n++] = (int)strtol(p, &end, 10);
                p = end + strspn(end, ", ");
            }
            *(int *)((char *)cfg + k->count_offset) = n;
            break;
        }
        case KEY_LONG:
            *(long *)f = (long)k->def;
            break;
        case KEY_U64:
            *(uint64_t *)f = (uint64_t)k->def;
            break;
        case KEY_DOUBLE:
            *(double *)f = k->def;
            break;
        case KEY_STRING:
            set_string(cfg, k, k->def_str);
            break;
        }
    }
}

/* Applies the tree on top of *cfg (which the caller has set, usually with
 * config_defaults), so only the keys present change. */
int config_from_tree(const ynode *root, const char *const *skip_sections, run_config *cfg)
{
    if (!root || !cfg)
        return es_error(ES_EINVAL, "config_from_tree: NULL argument");
    char at[600];
    if (is_empty_section(root))
        return ES_OK;
    if (root->kind != YNODE_MAP)
        return es_error(ES_ECONFIG, "%s: the top level must be a map of keys, got %s", ytree_where(root, at, sizeof at),
                        kind_name(root));
    for (size_t i = 0; i < root->n_items; i++) {
        const ynode *n = root->items[i];
        int skip = 0;
        for (const char *const *s = skip_sections; s && *s && !skip; s++)
            skip = strcmp(*s, n->key) == 0;
        if (skip)
            continue;
        int rc = apply_node(n, n->key, cfg);
        if (rc)
            return rc;
    }
    return ES_OK;
}

/* The Engram and OverEncoding rules; nothing to check without a memory. */
static int memory_validate(const model_config *m)
{
    if (m->memory == MEMORY_NONE)
        return ES_OK;
    if (m->memory != MEMORY_ENGRAM && m->memory != MEMORY_OVERENCODING)
        return es_error(ES_ECONFIG, "model.memory = %d is not none, engram or overencoding", m->memory);
    /* the parser guarantees these; a struct built in code might not */
    if (m->engram.n_orders < 1 || m->engram.n_orders > ENGRAM_MAX_ORDERS)
        return es_error(ES_ECONFIG, "model.engram.orders: expected 1 to %d items, got %d", ENGRAM_MAX_ORDERS,
                        m->engram.n_orders);
    if (m->engram.n_layers < 1 || m->engram.n_layers > ENGRAM_MAX_LAYERS)
        return es_error(ES_ECONFIG, "model.engram.layers: expected 1 to %d items, got %d", ENGRAM_MAX_LAYERS,
                        m->engram.n_layers);
    int n_layers = 1; /* OverEncoding has one set of tables, at the input */
    if (m->memory == MEMORY_ENGRAM) {
        n_layers = m->engram.n_layers;
        for (int i = 0; i < m->engram.n_layers; i++)
            if (m->engram.layers[i] < 0 || m->engram.layers[i] >= m->n_layers)
                return es_error(ES_ECONFIG,
                                "model.engram.layers[%d] = %d is not a block of the model: model.layers = %d "
                                "(blocks are numbered from 0)",
                                i, m->engram.layers[i], m->n_layers);
    }
    /* one table per (layer, order, head), each at least a prime of 2 rows */
    long tables = (long)n_layers * m->engram.n_orders * m->engram.heads;
    if (m->engram.slots < 2 * tables)
        return es_error(ES_ECONFIG,
                        "model.engram.slots = %ld is below the minimum %ld: %ld tables (%d %s x %d orders x %d "
                        "heads) of at least 2 rows each",
                        m->engram.slots, 2 * tables, tables, n_layers,
                        m->memory == MEMORY_ENGRAM ? (n_layers == 1 ? "layer" : "layers") : "input layer",
                        m->engram.n_orders, m->engram.heads);
    return ES_OK;
}

int config_validate(const run_config *cfg)
{
    const model_config *m = &cfg->model;
    if (!cfg->name[0])
        return es_error(ES_ECONFIG, "name: must not be empty (it names the run folder)");
    if (strcmp(cfg->name, ".") == 0 || strcmp(cfg->name, "..") == 0 ||
        strspn(cfg->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(cfg->name))
        return es_error(ES_ECONFIG, "name: '%s' is not a folder name: use letters, digits, '.', '_' and '-'",
                        cfg->name);
    if (!cfg->corpus[0])
        return es_error(ES_ECONFIG, "corpus: must not be empty (\"kjv\", \"gcide\" or a path)");
    if (!cfg->data_dir[0])
        return es_error(ES_ECONFIG, "data_dir: must not be empty");
    if (!m->engram.branch_gates && (m->branches < 2 || m->memory != MEMORY_ENGRAM || m->engram.gate == GATE_OFF))
        return es_error(ES_ECONFIG,
                        "model.engram.branch_gates = false (one gate shared by the branches) needs model.branches > 1, "
                        "model.memory = engram and a gate; got branches %d, memory %s, gate %s",
                        m->branches, config_memory_name(m->memory), m->engram.gate == GATE_OFF ? "off" : "on");
    if (m->d_model % m->n_heads != 0)
        return es_error(ES_ECONFIG, "model.d_model = %d is not divisible by model.heads = %d", m->d_model,
                        m->n_heads);
    if ((m->d_model / m->n_heads) % 2 != 0)
        return es_error(ES_ECONFIG,
                        "model.d_model / model.heads = %d / %d = %d: the head dimension must be even (RoPE rotates pairs)",
                        m->d_model, m->n_heads, m->d_model / m->n_heads);
    if (m->moe.experts > 0 && m->moe.top_k > m->moe.experts)
        return es_error(ES_ECONFIG, "model.moe.top_k = %d is more than model.moe.experts = %d", m->moe.top_k,
                        m->moe.experts);
    return memory_validate(m);
}

int config_load(const char *path, const char *const *overrides, int n_overrides, run_config *cfg)
{
    if (!path || !cfg || (n_overrides > 0 && !overrides))
        return es_error(ES_EINVAL, "config_load: NULL argument");
    config_defaults(cfg);
    ynode *root = NULL;
    int rc = ytree_load_file(path, &root);
    if (rc)
        return rc;
    if (root->kind != YNODE_MAP) {
        rc = es_error(ES_ECONFIG, "%s:%d: the top level must be a map of keys, got %s", path, root->line,
                      kind_name(root));
        goto done;
    }
    for (int i = 0; i < n_overrides && rc == ES_OK; i++)
        rc = ytree_set(root, overrides[i]);
    if (rc == ES_OK)
        rc = config_from_tree(root, NULL, cfg);
    if (rc == ES_OK)
        rc = config_validate(cfg);
done:
    ytree_free(root);
    return rc;
}

/* Plain YAML is safe for these strings; anything else is double-quoted. */
static int plain_ok(const char *s)
{
    if (!s[0] || !(isalnum((unsigned char)s[0]) || s[0] == '_' || s[0] == '/' || s[0] == '.'))
        return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("_./+-", *p)))
            return 0;
    return 1;
}

/* The string as YAML, double-quoted with escapes unless plain is safe. */
static void format_string(const char *s, char *buf, size_t size)
{
    if (plain_ok(s)) {
        snprintf(buf, size, "%s", s);
        return;
    }
    size_t n = 0;
    buf[n++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 6 < size; p++) {
        if (*p == '"' || *p == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            n += (size_t)snprintf(buf + n, size - n, "\\x%02x", *p);
        } else {
            buf[n++] = (char)*p;
        }
    }
    buf[n++] = '"';
    buf[n] = '\0';
}

int config_write(const run_config *cfg, FILE *out)
{
    if (!cfg || !out)
        return es_error(ES_EINVAL, "config_write: NULL argument");
    const char *prev = ""; /* the previous key's section, with its trailing dot */
    size_t prev_len = 0;
    for (int i = 0; i < N_KEYS; i++) {
        const config_key *k = &KEYS[i];
        const char *leaf = strrchr(k->path, '.');
        size_t sec_len = leaf ? (size_t)(leaf - k->path) + 1 : 0;
        /* open the sections this key is in that the previous key was not */
        size_t common = 0;
        for (size_t j = 0; j < sec_len && j < prev_len && k->path[j] == prev[j]; j++)
            if (k->path[j] == '.')
                common = j + 1;
        int depth = 0;
        for (size_t j = 0; j < common; j++)
            depth += k->path[j] == '.';
        for (size_t j = common; j < sec_len; j = (size_t)(strchr(k->path + j, '.') - k->path) + 1) {
            size_t seg = strcspn(k->path + j, ".");
            fprintf(out, "%*s%.*s:\n", 2 * depth, "", (int)seg, k->path + j);
            depth++;
        }
        prev = k->path;
        prev_len = sec_len;

        /* 4 bytes per escaped character of the longest string, plus quotes */
        char value[4 * CONFIG_STRING_MAX + 8];
        const void *f = cfield_of(cfg, k);
        switch (k->type) {
        case KEY_INT:
            snprintf(value, sizeof value, "%d", *(const int *)f);
            break;
        case KEY_LONG:
            snprintf(value, sizeof value, "%ld", *(const long *)f);
            break;
        case KEY_U64:
            snprintf(value, sizeof value, "%" PRIu64, *(const uint64_t *)f);
            break;
        case KEY_DOUBLE:
            format_double(*(const double *)f, value, sizeof value);
            break;
        case KEY_STRING:
            format_string(f, value, sizeof value);
            break;
        case KEY_BOOL:
            snprintf(value, sizeof value, "%s", *(const int *)f ? "true" : "false");
            break;
        case KEY_ENUM: {
            /* a value with no name is written as its number, which config_load refuses */
            int v = *(const int *)f, n = 0;
            while (k->choices[n])
                n++;
            if (v >= 0 && v < n)
                snprintf(value, sizeof value, "%s", k->choices[v]);
            else
                snprintf(value, sizeof value, "%d", v);
            break;
        }
        case KEY_INT_LIST: { /* flow style: [2, 3] */
            int count = *(const int *)((const char *)cfg + k->count_offset);
            size_t len = (size_t)snprintf(value, sizeof value, "[");
            for (int j = 0; j < count && j < (int)k->size; j++)
                len += (size_t)snprintf(value + len, sizeof value - len, "%s%d", j ? ", " : "", ((const int *)f)[j]);
            snprintf(value + len, sizeof value - len, "]");
            break;
        }
        }
        int col = fprintf(out, "%*s%s: %s", 2 * depth, "", leaf ? leaf + 1 : k->path, value);
        fprintf(out, "%*s# %s\n", col < 40 ? 40 - col : 1, "", k->doc);
    }
    if (ferror(out) || fflush(out) != 0)
        return es_error(ES_EIO, "cannot write the config: %s", strerror(errno));
    return ES_OK;
}

long config_total_steps(const run_config *cfg)
{
    if (cfg->train.tokens > 0)
        return (long)ceil(cfg->train.tokens / ((double)cfg->train.batch * cfg->model.seq_len));
    return cfg->train.steps;
}

const char *config_optimizer_name(int optimizer)
{
    return optimizer >= OPTIMIZER_ADAMW && optimizer <= OPTIMIZER_MUON ? OPTIMIZER_NAMES[optimizer] : "?";
}

double config_moe_bias_rate(const run_config *cfg)
{
    if (cfg->model.moe.bias_rate > 0)
        return cfg->model.moe.bias_rate;
    long steps = config_total_steps(cfg);
    return steps > 0 ? cfg->model.moe.bias_travel / (double)steps : 0.0;
}

const char *config_memory_name(int memory)
{
    return memory >= MEMORY_NONE && memory <= MEMORY_OVERENCODING ? MEMORY_NAMES[memory] : "?";
}

const char *config_precision_name(int precision)
{
    return precision >= PRECISION_FP32 && precision <= PRECISION_BF16 ? PRECISION_NAMES[precision] : "?";
}
