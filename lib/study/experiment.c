/* Experiment files: the sweep section on top of a run config. */
#include "study/experiment.h"

#include "core/error.h"
#include "core/mem.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int parse_double(const ynode *n, const char *key, double *out)
{
    char at[600];
    if (n->kind != YNODE_SCALAR || n->quoted)
        return es_error(ES_ECONFIG, "%s: %s: expected a number, got %s", ytree_where(n, at, sizeof at), key,
                        n->kind == YNODE_SCALAR ? "a quoted string" : "a list or map");
    char *end;
    errno = 0;
    double v = strtod(n->value, &end);
    if (!n->value[0] || *end || errno == ERANGE || !isfinite(v))
        return es_error(ES_ECONFIG, "%s: %s: expected a number, got '%s'", ytree_where(n, at, sizeof at), key,
                        n->value);
    *out = v;
    return ES_OK;
}

/* A list of numbers, each checked against [lo, hi]. */
static int parse_numbers(const ynode *n, const char *key, double lo, double hi, double *out, int *count)
{
    char at[600];
    if (n->kind == YNODE_SCALAR) { /* one value: a list of one */
        int rc = parse_double(n, key, &out[0]);
        if (rc)
            return rc;
        if (out[0] < lo || out[0] > hi)
            return es_error(ES_ECONFIG, "%s: %s = %g is out of range [%g, %g]", ytree_where(n, at, sizeof at), key,
                            out[0], lo, hi);
        *count = 1;
        return ES_OK;
    }
    if (n->kind != YNODE_SEQ || n->n_items == 0)
        return es_error(ES_ECONFIG, "%s: %s: expected a non-empty list, like [1, 2]", ytree_where(n, at, sizeof at),
                        key);
    if (n->n_items > SWEEP_MAX_ITEMS)
        return es_error(ES_ECONFIG, "%s: %s: %zu items, at most %d", ytree_where(n, at, sizeof at), key, n->n_items,
                        SWEEP_MAX_ITEMS);
    for (size_t i = 0; i < n->n_items; i++) {
        char item[160];
        snprintf(item, sizeof item, "%s[%zu]", key, i);
        int rc = parse_double(n->items[i], item, &out[i]);
        if (rc)
            return rc;
        if (out[i] < lo || out[i] > hi)
            return es_error(ES_ECONFIG, "%s: %s = %g is out of range [%g, %g]", ytree_where(n->items[i], at, sizeof at),
                            item, out[i], lo, hi);
        for (size_t j = 0; j < i; j++)
            if (out[j] == out[i])
                return es_error(ES_ECONFIG, "%s: %s: %g appears twice", ytree_where(n->items[i], at, sizeof at), key,
                                out[i]);
    }
    *count = (int)n->n_items;
    return ES_OK;
}

static int unknown_key(const ynode *n, const char *section, const char *allowed)
{
    char at[600];
    return es_error(ES_ECONFIG, "%s: unknown key '%s.%s' (this sweep kind takes: %s)", ytree_where(n, at, sizeof at),
                    section, n->key, allowed);
}

static int parse_budget_list(experiment *ex, const ynode *list)
{
    char at[600];
    if (list->kind != YNODE_SEQ || list->n_items == 0 || list->n_items > SWEEP_MAX_ITEMS)
        return es_error(ES_ECONFIG, "%s: sweep.budgets: expected a list of {flops: C, model: {...}}",
                        ytree_where(list, at, sizeof at));
    for (size_t i = 0; i < list->n_items; i++) {
        const ynode *b = list->items[i];
        if (b->kind != YNODE_MAP)
            return es_error(ES_ECONFIG, "%s: sweep.budgets[%zu]: expected a map {flops: C, model: {...}}",
                            ytree_where(b, at, sizeof at), i);
        sweep_budget *out = &ex->budgets[i];
        out->flops = 0;
        for (size_t j = 0; j < b->n_items; j++) {
            const ynode *kv = b->items[j];
            char key[64];
            snprintf(key, sizeof key, "sweep.budgets[%zu].%s", i, kv->key);
            if (strcmp(kv->key, "flops") == 0) {
                int rc = parse_double(kv, key, &out->flops);
                if (rc)
                    return rc;
                if (!(out->flops > 0))
                    return es_error(ES_ECONFIG, "%s: %s = %g must be positive", ytree_where(kv, at, sizeof at), key,
                                    out->flops);
            } else if (strcmp(kv->key, "model") == 0) {
                if (kv->kind != YNODE_MAP)
                    return es_error(ES_ECONFIG, "%s: %s: expected a map of model keys", ytree_where(kv, at, sizeof at),
                                    key);
                out->model = kv;
            } else {
                return es_error(ES_ECONFIG, "%s: unknown key '%s' (a budget takes flops and model)",
                                ytree_where(kv, at, sizeof at), key);
            }
        }
        if (out->flops <= 0)
            return es_error(ES_ECONFIG, "%s: sweep.budgets[%zu] has no flops", ytree_where(b, at, sizeof at), i);
        for (size_t j = 0; j < i; j++)
            if (ex->budgets[j].flops == out->flops)
                return es_error(ES_ECONFIG, "%s: sweep.budgets: flops %g appears twice", ytree_where(b, at, sizeof at),
                                out->flops);
    }
    ex->n_budgets = (int)list->n_items;
    return ES_OK;
}

static int parse_seeds(experiment *ex, const ynode *n)
{
    double v[SWEEP_MAX_ITEMS];
    int rc = parse_numbers(n, "sweep.seeds", 0, 9007199254740992.0, v, &ex->n_seeds);
    for (int i = 0; rc == ES_OK && i < ex->n_seeds; i++) {
        if (v[i] != floor(v[i])) {
            char at[600];
            return es_error(ES_ECONFIG, "%s: sweep.seeds[%d] = %g is not a whole number",
                            ytree_where(n->items[i], at, sizeof at), i, v[i]);
        }
        ex->seeds[i] = (uint64_t)v[i];
    }
    return rc;
}

static int parse_sweep(experiment *ex, const ynode *sweep)
{
    char at[600];
    if (!sweep)
        return es_error(ES_ECONFIG, "%s: no sweep section (an experiment needs sweep.kind and its lists)", ex->path);
    if (sweep->kind != YNODE_MAP)
        return es_error(ES_ECONFIG, "%s: sweep: expected a map", ytree_where(sweep, at, sizeof at));
    const ynode *kind = ytree_child(sweep, "kind");
    if (!kind || kind->kind != YNODE_SCALAR)
        return es_error(ES_ECONFIG, "%s: sweep.kind is missing (allocation, memory or grid)",
                        ytree_where(sweep, at, sizeof at));
    if (strcmp(kind->value, "allocation") == 0)
        ex->kind = SWEEP_ALLOCATION;
    else if (strcmp(kind->value, "memory") == 0)
        ex->kind = SWEEP_MEMORY;
    else if (strcmp(kind->value, "grid") == 0)
        ex->kind = SWEEP_GRID;
    else
        return es_error(ES_ECONFIG, "%s: sweep.kind: expected one of allocation, memory, grid, got '%s'",
                        ytree_where(kind, at, sizeof at), kind->value);
    static const char *allowed[] = {"kind, budgets, total_to_active, rho, seeds", "kind, budget, slots, memory, seeds",
                                    "kind, budget, variants, grid, seeds"};
    int rc = ES_OK;
    int have_seeds = 0, have_rho = 0, have_budgets = 0, have_ratio = 0, have_slots = 0, have_memory = 0;
    for (size_t i = 0; i < sweep->n_items && rc == ES_OK; i++) {
        const ynode *kv = sweep->items[i];
        const char *k = kv->key;
        if (strcmp(k, "kind") == 0)
            continue;
        if (strcmp(k, "seeds") == 0) {
            rc = parse_seeds(ex, kv);
            have_seeds = 1;
        } else if (ex->kind == SWEEP_ALLOCATION && strcmp(k, "budgets") == 0) {
            rc = parse_budget_list(ex, kv);
            have_budgets = 1;
        } else if (ex->kind == SWEEP_ALLOCATION && strcmp(k, "total_to_active") == 0) {
            rc = parse_double(kv, "sweep.total_to_active", &ex->total_to_active);
            if (rc == ES_OK && !(ex->total_to_active > 1 && ex->total_to_active <= 1000))
                rc = es_error(ES_ECONFIG, "%s: sweep.total_to_active = %g is out of range (1, 1000]",
                              ytree_where(kv, at, sizeof at), ex->total_to_active);
            have_ratio = 1;
        } else if (ex->kind == SWEEP_ALLOCATION && strcmp(k, "rho") == 0) {
            rc = parse_numbers(kv, "sweep.rho", 0, 1, ex->rho, &ex->n_rho);
            have_rho = 1;
        } else if (ex->kind != SWEEP_ALLOCATION && strcmp(k, "budget") == 0) {
            rc = parse_double(kv, "sweep.budget", &ex->budgets[0].flops);
            if (rc == ES_OK && !(ex->budgets[0].flops > 0))
                rc = es_error(ES_ECONFIG, "%s: sweep.budget = %g must be positive", ytree_where(kv, at, sizeof at),
                              ex->budgets[0].flops);
            ex->n_budgets = 1;
        } else if (ex->kind == SWEEP_MEMORY && strcmp(k, "slots") == 0) {
            double v[SWEEP_MAX_ITEMS];
            rc = parse_numbers(kv, "sweep.slots", 2, 1e10, v, &ex->n_slots);
            for (int j = 0; j < ex->n_slots; j++)
                ex->slots[j] = (long)v[j];
            have_slots = 1;
        } else if (ex->kind == SWEEP_MEMORY && strcmp(k, "memory") == 0) {
            if (kv->kind != YNODE_SEQ || kv->n_items == 0 || kv->n_items > 3)
                rc = es_error(ES_ECONFIG, "%s: sweep.memory: expected a list of none, engram, overencoding",
                              ytree_where(kv, at, sizeof at));
            for (size_t j = 0; rc == ES_OK && j < kv->n_items; j++) {
                const ynode *m = kv->items[j];
                int kindv = m->kind != YNODE_SCALAR ? -1
                            : strcmp(m->value, "none") == 0 ? MEMORY_NONE
                            : strcmp(m->value, "engram") == 0 ? MEMORY_ENGRAM
                            : strcmp(m->value, "overencoding") == 0 ? MEMORY_OVERENCODING
                                                                     : -1;
                if (kindv < 0)
                    rc = es_error(ES_ECONFIG, "%s: sweep.memory[%zu]: expected none, engram or overencoding, got '%s'",
                                  ytree_where(m, at, sizeof at), j,
                                  m->kind == YNODE_SCALAR ? m->value : "a list or map");
                for (int q = 0; rc == ES_OK && q < ex->n_memories; q++)
                    if (ex->memories[q] == kindv)
                        rc = es_error(ES_ECONFIG, "%s: sweep.memory: '%s' appears twice", ytree_where(m, at, sizeof at),
                                      m->value);
                if (rc == ES_OK)
                    ex->memories[ex->n_memories++] = kindv;
            }
            have_memory = 1;
        } else if (ex->kind == SWEEP_GRID && strcmp(k, "variants") == 0) {
            if (kv->kind != YNODE_SEQ || kv->n_items == 0 || kv->n_items > SWEEP_MAX_ITEMS)
                rc = es_error(ES_ECONFIG, "%s: sweep.variants: expected a list of {label: name, set: {key: value}}",
                              ytree_where(kv, at, sizeof at));
            for (size_t j = 0; rc == ES_OK && j < kv->n_items; j++) {
                const ynode *v = kv->items[j];
                sweep_variant *out = &ex->variants[j];
                if (v->kind != YNODE_MAP)
                    rc = es_error(ES_ECONFIG, "%s: sweep.variants[%zu]: expected {label: name, set: {...}}",
                                  ytree_where(v, at, sizeof at), j);
                for (size_t q = 0; rc == ES_OK && q < v->n_items; q++) {
                    const ynode *f = v->items[q];
                    if (strcmp(f->key, "label") == 0 && f->kind == YNODE_SCALAR && f->value[0] &&
                        strlen(f->value) < sizeof out->label && !strpbrk(f->value, "\t\n"))
                        snprintf(out->label, sizeof out->label, "%s", f->value);
                    else if (strcmp(f->key, "set") == 0 && f->kind == YNODE_MAP)
                        out->set = f;
                    else
                        rc = es_error(ES_ECONFIG,
                                      "%s: sweep.variants[%zu].%s: a variant takes label (a short name without tabs) "
                                      "and set (a map of key.path: value)",
                                      ytree_where(f, at, sizeof at), j, f->key);
                }
                if (rc == ES_OK && !out->label[0])
                    rc = es_error(ES_ECONFIG, "%s: sweep.variants[%zu] has no label", ytree_where(v, at, sizeof at), j);
                for (size_t q = 0; rc == ES_OK && q < j; q++)
                    if (strcmp(ex->variants[q].label, out->label) == 0)
                        rc = es_error(ES_ECONFIG, "%s: sweep.variants: label '%s' appears twice",
                                      ytree_where(v, at, sizeof at), out->label);
            }
            ex->n_variants = rc == ES_OK ? (int)kv->n_items : 0;
        } else if (ex->kind == SWEEP_GRID && strcmp(k, "grid") == 0) {
            if (kv->kind != YNODE_MAP || kv->n_items == 0 || kv->n_items > SWEEP_MAX_GRID_KEYS)
                rc = es_error(ES_ECONFIG, "%s: sweep.grid: expected a map of key.path: [values] (at most %d keys)",
                              ytree_where(kv, at, sizeof at), SWEEP_MAX_GRID_KEYS);
            for (size_t j = 0; rc == ES_OK && j < kv->n_items; j++) {
                const ynode *a = kv->items[j];
                if (a->kind != YNODE_SEQ || a->n_items == 0 || a->n_items > SWEEP_MAX_ITEMS ||
                    strlen(a->key) >= sizeof ex->axes[j].key)
                    rc = es_error(ES_ECONFIG, "%s: sweep.grid.%s: expected a non-empty list of values",
                                  ytree_where(a, at, sizeof at), a->key);
                else {
                    snprintf(ex->axes[j].key, sizeof ex->axes[j].key, "%s", a->key);
                    ex->axes[j].values = a;
                }
            }
            ex->n_axes = rc == ES_OK ? (int)kv->n_items : 0;
        } else {
            rc = unknown_key(kv, "sweep", allowed[ex->kind]);
        }
    }
    if (rc)
        return rc;
    if (!have_seeds) {
        ex->seeds[0] = ex->base.train.seed;
        ex->n_seeds = 1;
    }
    if (ex->kind == SWEEP_ALLOCATION) {
        if (!have_budgets || !have_rho || !have_ratio)
            return es_error(ES_ECONFIG,
                            "%s: an allocation sweep needs sweep.budgets, sweep.total_to_active and sweep.rho",
                            ytree_where(sweep, at, sizeof at));
    } else if (ex->kind == SWEEP_MEMORY) {
        if (!have_slots || !have_memory)
            return es_error(ES_ECONFIG, "%s: a memory sweep needs sweep.slots and sweep.memory",
                            ytree_where(sweep, at, sizeof at));
    } else if (ex->n_variants == 0 && ex->n_axes == 0) {
        return es_error(ES_ECONFIG, "%s: a grid sweep needs sweep.variants or sweep.grid",
                        ytree_where(sweep, at, sizeof at));
    }
    return ES_OK;
}

/* A value that goes into an #SBATCH line: printable, no spaces or quotes. */
static int slurm_word(const ynode *n, const char *key, char *out, size_t size)
{
    char at[600];
    if (n->kind != YNODE_SCALAR || !n->value[0] || strlen(n->value) >= size ||
        strspn(n->value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.,:@=+/-%") !=
            strlen(n->value))
        return es_error(ES_ECONFIG,
                        "%s: slurm.%s: expected a word of letters, digits and _.,:@=+/-%% (under %zu characters), "
                        "got '%s'",
                        ytree_where(n, at, sizeof at), key, size, n->kind == YNODE_SCALAR ? n->value : "a list or map");
    snprintf(out, size, "%s", n->value);
    return ES_OK;
}

/* Slurm's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S, or UNLIMITED. */
static int slurm_time(const ynode *n, const char *key, char *out, size_t size)
{
    int rc = slurm_word(n, key, out, size);
    if (rc)
        return rc;
    if (strcmp(out, "UNLIMITED") == 0 || strcmp(out, "infinite") == 0)
        return ES_OK;
    const char *p = out;
    int ok = 1, groups = 0, day = 0;
    while (ok && *p) {
        size_t d = strspn(p, "0123456789");
        ok = d > 0 && d <= 6;
        p += d;
        groups++;
        if (*p == '-' && groups == 1 && !day) {
            day = 1;
            groups = 0;
            p++;
        } else if (*p == ':') {
            p++;
            ok = ok && *p;
        } else {
            ok = ok && *p == '\0';
        }
    }
    if (!ok || groups < 1 || groups > 3) {
        char at[600];
        return es_error(ES_ECONFIG,
                        "%s: slurm.%s = '%s' is not a Slurm time (minutes, M:S, H:M:S, D-H, D-H:M, D-H:M:S or "
                        "UNLIMITED)",
                        ytree_where(n, at, sizeof at), key, out);
    }
    return ES_OK;
}

static int slurm_int(const ynode *n, const char *key, int lo, int hi, int *out)
{
    double v;
    int rc = parse_double(n, key, &v);
    if (rc)
        return rc;
    if (v != floor(v) || v < lo || v > hi) {
        char at[600];
        return es_error(ES_ECONFIG, "%s: slurm.%s = %s: expected a whole number in [%d, %d]",
                        ytree_where(n, at, sizeof at), key, n->value, lo, hi);
    }
    *out = (int)v;
    return ES_OK;
}

static int parse_slurm(experiment *ex, const ynode *s)
{
    char at[600];
    slurm_options *o = &ex->slurm;
    memset(o, 0, sizeof *o);
    o->requeue = 1;
    o->signal_seconds = 120;
    if (!s)
        return ES_OK;
    if (s->kind != YNODE_MAP)
        return es_error(ES_ECONFIG, "%s: slurm: expected a map (partition, account, qos, time, ...)",
                        ytree_where(s, at, sizeof at));
    int rc = ES_OK;
    for (size_t i = 0; i < s->n_items && rc == ES_OK; i++) {
        const ynode *kv = s->items[i];
        const char *k = kv->key;
        if (strcmp(k, "partition") == 0)
            rc = slurm_word(kv, k, o->partition, sizeof o->partition);
        else if (strcmp(k, "account") == 0)
            rc = slurm_word(kv, k, o->account, sizeof o->account);
        else if (strcmp(k, "qos") == 0)
            rc = slurm_word(kv, k, o->qos, sizeof o->qos);
        else if (strcmp(k, "time") == 0)
            rc = slurm_time(kv, k, o->time, sizeof o->time);
        else if (strcmp(k, "report_time") == 0)
            rc = slurm_time(kv, k, o->report_time, sizeof o->report_time);
        else if (strcmp(k, "cpus_per_task") == 0)
            rc = slurm_int(kv, k, 1, 4096, &o->cpus_per_task);
        else if (strcmp(k, "signal_seconds") == 0)
            rc = slurm_int(kv, k, 0, 65535, &o->signal_seconds);
        else if (strcmp(k, "requeue") == 0) {
            const char *v = kv->kind == YNODE_SCALAR ? kv->value : "";
            if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "on") == 0)
                o->requeue = 1;
            else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "off") == 0)
                o->requeue = 0;
            else
                rc = es_error(ES_ECONFIG, "%s: slurm.requeue: expected true or false, got '%s'",
                              ytree_where(kv, at, sizeof at), kv->kind == YNODE_SCALAR ? v : "a list or map");
        } else if (strcmp(k, "extra") == 0) {
            const ynode *list = kv;
            if (list->kind != YNODE_SEQ || list->n_items > SLURM_MAX_EXTRA)
                rc = es_error(ES_ECONFIG, "%s: slurm.extra: expected a list of at most %d sbatch options like \"--mem=8G\"",
                              ytree_where(kv, at, sizeof at), SLURM_MAX_EXTRA);
            for (size_t j = 0; rc == ES_OK && j < list->n_items; j++) {
                const ynode *e = list->items[j];
                int ok = e->kind == YNODE_SCALAR && strncmp(e->value, "--", 2) == 0 && e->value[2] &&
                         strlen(e->value) < sizeof o->extra[0];
                for (const char *c = ok ? e->value : ""; ok && *c; c++)
                    ok = (unsigned char)*c >= 0x20 && *c != 0x7f && *c != '\'' && *c != '"' && *c != '\\';
                if (!ok)
                    rc = es_error(ES_ECONFIG,
                                  "%s: slurm.extra[%zu]: expected one sbatch option starting with -- on one line, "
                                  "without quotes or backslashes (like --mem=8G), got '%s'",
                                  ytree_where(e, at, sizeof at), j, e->kind == YNODE_SCALAR ? e->value : "a list or map");
                else
                    snprintf(o->extra[o->n_extra++], sizeof o->extra[0], "%s", e->value);
            }
        } else {
            rc = es_error(ES_ECONFIG,
                          "%s: unknown key 'slurm.%s' (slurm takes: partition, account, qos, time, report_time, "
                          "cpus_per_task, requeue, signal_seconds, extra)",
                          ytree_where(kv, at, sizeof at), k);
        }
    }
    return rc;
}

int experiment_load(const char *path, const char *const *overrides, int n_overrides, experiment **out)
{
    *out = NULL;
    experiment *ex = es_calloc(1, sizeof *ex);
    if (!ex)
        return ES_ENOMEM;
    snprintf(ex->path, sizeof ex->path, "%s", path);
    int rc = ytree_load_file(path, &ex->tree);
    for (int i = 0; rc == ES_OK && i < n_overrides; i++)
        rc = ytree_set(ex->tree, overrides[i]);
    if (rc == ES_OK && ex->tree->kind != YNODE_MAP)
        rc = es_error(ES_ECONFIG, "%s: an experiment file is a map of keys", path);
    static const char *const skip[] = {"sweep", "slurm", NULL};
    if (rc == ES_OK) {
        config_defaults(&ex->base);
        rc = config_from_tree(ex->tree, skip, &ex->base);
    }
    if (rc == ES_OK)
        rc = config_validate(&ex->base);
    if (rc == ES_OK)
        rc = parse_sweep(ex, ytree_child(ex->tree, "sweep"));
    if (rc == ES_OK)
        rc = parse_slurm(ex, ytree_child(ex->tree, "slurm"));
    if (rc) {
        experiment_free(ex);
        return rc;
    }
    *out = ex;
    return ES_OK;
}

void experiment_free(experiment *ex)
{
    if (!ex)
        return;
    ytree_free(ex->tree);
    free(ex);
}

/* Puts every entry of a map of overrides under prefix ("model" for budget
 * overrides, "" for variant sets whose keys are full paths). */
static int put_overrides(ynode *tree, const char *prefix, const ynode *map)
{
    for (size_t i = 0; map && i < map->n_items; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", map->items[i]->key);
        if (strncmp(path, "sweep", 5) == 0 && (path[5] == '.' || !path[5])) {
            char at[600];
            return es_error(ES_ECONFIG, "%s: an override cannot change the sweep (%s)",
                            ytree_where(map->items[i], at, sizeof at), path);
        }
        int rc = ytree_put(tree, path, map->items[i]);
        if (rc)
            return rc;
    }
    return ES_OK;
}

static void label_append(char *label, size_t size, const char *key, const ynode *value)
{
    size_t used = strlen(label);
    if (used + 2 >= size)
        return;
    char text[256] = "";
    if (value->kind == YNODE_SCALAR) {
        snprintf(text, sizeof text, "%s", value->value);
    } else {
        size_t t = 0;
        t += (size_t)snprintf(text + t, sizeof text - t, "[");
        for (size_t i = 0; i < value->n_items && t < sizeof text - 8; i++)
            t += (size_t)snprintf(text + t, sizeof text - t, "%s%s", i ? " " : "",
                                  value->items[i]->kind == YNODE_SCALAR ? value->items[i]->value : "...");
        snprintf(text + t, sizeof text - t, "]");
    }
    snprintf(label + used, size - used, "%s%s=%s", used ? "," : "", key, text);
}

int experiment_point_config(const experiment *ex, int budget, int variant, const int *axis_values,
                            run_config *cfg, char *label, size_t label_size)
{
    ynode *tree = ytree_clone(ex->tree);
    if (!tree)
        return ES_ENOMEM;
    if (label_size)
        label[0] = '\0';
    int rc = ES_OK;
    if (budget >= 0 && ex->budgets[budget].model)
        rc = put_overrides(tree, "model", ex->budgets[budget].model);
    if (rc == ES_OK && variant >= 0) {
        rc = put_overrides(tree, "", ex->variants[variant].set);
        if (label_size)
            snprintf(label, label_size, "%s", ex->variants[variant].label);
    }
    for (int a = 0; rc == ES_OK && axis_values && a < ex->n_axes; a++) {
        const ynode *v = ex->axes[a].values->items[axis_values[a]];
        rc = ytree_put(tree, ex->axes[a].key, v);
        if (label_size)
            label_append(label, label_size, ex->axes[a].key, v);
    }
    static const char *const skip[] = {"sweep", "slurm", NULL};
    if (rc == ES_OK) {
        config_defaults(cfg);
        rc = config_from_tree(tree, skip, cfg);
    }
    if (rc == ES_OK)
        rc = config_validate(cfg);
    ytree_free(tree);
    return rc;
}
