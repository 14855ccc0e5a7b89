/* YAML trees with origins: libyaml's event parser builds the tree, its
 * emitter writes it back (so quoting is libyaml's, not ours). */
#include "config/ytree.h"

#include "core/error.h"
#include "core/mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Deeper nesting than this is surely a mistake, and the builder recurses. */
enum { YTREE_MAX_DEPTH = 128 };

static const char SET_ORIGIN[] = "--set";

/* ---- nodes ---------------------------------------------------------- */

static ynode *ynode_new(ynode_kind kind, const char *origin, int line)
{
    ynode *n = es_calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->line = line;
    n->origin = es_strdup(origin);
    if (!n->origin) {
        free(n);
        return NULL;
    }
    return n;
}

void ytree_free(ynode *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->n_items; i++)
        ytree_free(node->items[i]);
    free(node->items);
    free(node->key);
    free(node->value);
    free(node->origin);
    free(node);
}

/* Takes ownership of child (freed on failure). */
static int ynode_append(ynode *parent, ynode *child)
{
    ynode **items = realloc(parent->items, (parent->n_items + 1) * sizeof *items);
    if (!items) {
        ytree_free(child);
        return es_error(ES_ENOMEM, "cannot grow a YAML node to %zu items", parent->n_items + 1);
    }
    parent->items = items;
    parent->items[parent->n_items++] = child;
    return ES_OK;
}

ynode *ytree_clone(const ynode *node)
{
    if (!node)
        return NULL;
    ynode *c = ynode_new(node->kind, node->origin, node->line);
    if (!c)
        return NULL;
    c->quoted = node->quoted;
    if ((node->key && !(c->key = es_strdup(node->key))) ||
        (node->value && !(c->value = es_strdup(node->value)))) {
        ytree_free(c);
        return NULL;
    }
    for (size_t i = 0; i < node->n_items; i++) {
        ynode *item = ytree_clone(node->items[i]);
        if (!item || ynode_append(c, item) != ES_OK) {
            ytree_free(c);
            return NULL;
        }
    }
    return c;
}

ynode *ytree_child(const ynode *map, const char *key)
{
    if (!map || map->kind != YNODE_MAP || !key)
        return NULL;
    for (size_t i = 0; i < map->n_items; i++)
        if (strcmp(map->items[i]->key, key) == 0)
            return map->items[i];
    return NULL;
}

/* A sequence index: digits only, so "-1" or "1x" are not indexes. */
static int parse_index(const char *s, size_t len, size_t *index)
{
    if (len == 0 || len > 18)
        return 0;
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *index = v;
    return 1;
}

/* One path segment [seg, seg+len) looked up in a map or sequence. */
static ynode *child_at(const ynode *node, const char *seg, size_t len, size_t *index_out)
{
    if (node->kind == YNODE_MAP) {
        for (size_t i = 0; i < node->n_items; i++) {
            const char *k = node->items[i]->key;
            if (strlen(k) == len && memcmp(k, seg, len) == 0) {
                if (index_out)
                    *index_out = i;
                return node->items[i];
            }
        }
    } else if (node->kind == YNODE_SEQ) {
        size_t index;
        if (parse_index(seg, len, &index) && index < node->n_items) {
            if (index_out)
                *index_out = index;
            return node->items[index];
        }
    }
    return NULL;
}

ynode *ytree_get(const ynode *root, const char *dotted_path)
{
    if (!root || !dotted_path)
        return NULL;
    const ynode *node = root;
    const char *p = dotted_path;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        node = child_at(node, p, len, NULL);
        if (!node)
            return NULL;
        p += len;
        if (*p == '.')
            p++;
    }
    return (ynode *)node;
}

/* ---- parsing -------------------------------------------------------- */

typedef struct {
    yaml_parser_t parser;
    const char *origin;
} loader;

static int syntax_error(const loader *ld)
{
    const yaml_parser_t *p = &ld->parser;
    if (p->error == YAML_MEMORY_ERROR)
        return es_error(ES_ENOMEM, "%s: out of memory while parsing YAML", ld->origin);
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_READER_ERROR) /* bad encoding: libyaml knows only the byte offset */
        return es_error(ES_ECONFIG, "%s: %s (byte %zu)", ld->origin, problem, p->problem_offset);
    if (p->context)
        return es_error(ES_ECONFIG, "%s:%zu:%zu: %s (%s on line %zu)", ld->origin,
                        p->problem_mark.line + 1, p->problem_mark.column + 1, problem,
                        p->context, p->context_mark.line + 1);
    return es_error(ES_ECONFIG, "%s:%zu:%zu: %s", ld->origin, p->problem_mark.line + 1,
                    p->problem_mark.column + 1, problem);
}

static int next_event(loader *ld, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&ld->parser, ev))
        return syntax_error(ld);
    return ES_OK;
}

static int event_line(const loader *ld, const yaml_event_t *ev)
{
    /* --set values are one line of a command, not of a file */
    return strcmp(ld->origin, SET_ORIGIN) == 0 ? 0 : (int)ev->start_mark.line + 1;
}

static int scalar_is_quoted(const yaml_event_t *ev)
{
    yaml_scalar_style_t s = ev->data.scalar.style;
    const char *tag = (const char *)ev->data.scalar.tag;
    /* block literals and explicit !!str are strings as surely as quotes are */
    return s != YAML_PLAIN_SCALAR_STYLE ||
           (tag && (strcmp(tag, YAML_STR_TAG) == 0 || strcmp(tag, "!") == 0));
}

static int parse_node(loader *ld, yaml_event_t *ev, int depth, ynode **out);

static int parse_map(loader *ld, ynode *map, int depth)
{
    for (;;) {
        yaml_event_t ev;
        int rc = next_event(ld, &ev);
        if (rc)
            return rc;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return ES_OK;
        }
        int key_line = event_line(ld, &ev);
        if (ev.type != YAML_SCALAR_EVENT) {
            const char *what = ev.type == YAML_ALIAS_EVENT ? "an alias" : "a map or list";
            yaml_event_delete(&ev);
            return es_error(ES_ECONFIG, "%s:%d: a map key must be a plain string, not %s", ld->origin,
                            key_line, what);
        }
        char *key = es_strdup((const char *)ev.data.scalar.value);
        yaml_event_delete(&ev);
        if (!key)
            return ES_ENOMEM;
        const ynode *twin = ytree_child(map, key);
        if (twin) {
            rc = twin->line > 0 ? es_error(ES_ECONFIG, "%s:%d: duplicate key '%s' (first on line %d)",
                                           ld->origin, key_line, key, twin->line)
                                : es_error(ES_ECONFIG, "%s:%d: duplicate key '%s'", ld->origin, key_line, key);
            free(key);
            return rc;
        }
        ynode *value = NULL;
        if ((rc = next_event(ld, &ev)) || (rc = parse_node(ld, &ev, depth + 1, &value))) {
            free(key);
            return rc;
        }
        value->key = key;
        value->line = key_line; /* errors about a key point at the key, not its value */
        if ((rc = ynode_append(map, value)))
            return rc;
    }
}

static int parse_seq(loader *ld, ynode *seq, int depth)
{
    for (;;) {
        yaml_event_t ev;
        int rc = next_event(ld, &ev);
        if (rc)
            return rc;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return ES_OK;
        }
        ynode *item = NULL;
        if ((rc = parse_node(ld, &ev, depth + 1, &item)) || (rc = ynode_append(seq, item)))
            return rc;
    }
}

/* Builds the node that starts with ev (consumed here) through its end event. */
static int parse_node(loader *ld, yaml_event_t *ev, int depth, ynode **out)
{
    int line = event_line(ld, ev);
    ynode *node = NULL;
    int rc = ES_OK;
    *out = NULL;
    if (depth > YTREE_MAX_DEPTH) {
        rc = es_error(ES_ECONFIG, "%s:%d: nesting deeper than %d levels", ld->origin, line, YTREE_MAX_DEPTH);
    } else if (ev->type == YAML_ALIAS_EVENT) {
        /* aliases would make one node appear under two key paths; keep configs explicit */
        rc = es_error(ES_ECONFIG, "%s:%d: aliases (*%s) are not supported; write the value out",
                      ld->origin, line, (const char *)ev->data.alias.anchor);
    } else if (ev->type == YAML_SCALAR_EVENT) {
        if (!(node = ynode_new(YNODE_SCALAR, ld->origin, line)) ||
            !(node->value = es_strdup((const char *)ev->data.scalar.value)))
            rc = ES_ENOMEM;
        else
            node->quoted = scalar_is_quoted(ev);
    } else if (ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT) {
        int is_map = ev->type == YAML_MAPPING_START_EVENT;
        if (!(node = ynode_new(is_map ? YNODE_MAP : YNODE_SEQ, ld->origin, line)))
            rc = ES_ENOMEM;
        else
            rc = is_map ? parse_map(ld, node, depth) : parse_seq(ld, node, depth);
    } else {
        rc = es_error(ES_ECONFIG, "%s:%d: unexpected YAML event %d", ld->origin, line, (int)ev->type);
    }
    yaml_event_delete(ev);
    if (rc) {
        ytree_free(node);
        return rc;
    }
    *out = node;
    return ES_OK;
}

/* Reads the one document of a stream; a stream with no document, or one
 * whose root is an empty plain scalar (a file of comments), is an empty map. */
static int load_document(loader *ld, ynode **root)
{
    yaml_event_t ev;
    ynode *tree = NULL;
    int rc;
    if ((rc = next_event(ld, &ev)))
        return rc;
    yaml_event_delete(&ev); /* stream start */
    if ((rc = next_event(ld, &ev)))
        return rc;
    if (ev.type == YAML_DOCUMENT_START_EVENT) {
        yaml_event_delete(&ev);
        if ((rc = next_event(ld, &ev)) || (rc = parse_node(ld, &ev, 0, &tree)))
            return rc;
        if ((rc = next_event(ld, &ev))) /* document end */
            goto fail;
        yaml_event_delete(&ev);
        if ((rc = next_event(ld, &ev)))
            goto fail;
        if (ev.type != YAML_STREAM_END_EVENT) {
            rc = es_error(ES_ECONFIG, "%s:%zu: a second YAML document; one file holds one document",
                          ld->origin, ev.start_mark.line + 1);
            yaml_event_delete(&ev);
            goto fail;
        }
    }
    yaml_event_delete(&ev);
    if (tree && tree->kind == YNODE_SCALAR && !tree->quoted && tree->value[0] == '\0') {
        ytree_free(tree);
        tree = NULL;
    }
    if (!tree && !(tree = ynode_new(YNODE_MAP, ld->origin, 1)))
        return ES_ENOMEM;
    *root = tree;
    return ES_OK;
fail:
    ytree_free(tree);
    return rc;
}

static int load_buffer(const char *text, size_t len, const char *origin, ynode **root)
{
    loader ld = {.origin = origin};
    *root = NULL;
    if (!yaml_parser_initialize(&ld.parser))
        return es_error(ES_ENOMEM, "%s: cannot initialise the YAML parser", origin);
    yaml_parser_set_input_string(&ld.parser, (const unsigned char *)text, len);
    int rc = load_document(&ld, root);
    yaml_parser_delete(&ld.parser);
    return rc;
}

int ytree_load_string(const char *text, const char *origin, ynode **root)
{
    if (!text || !root)
        return es_error(ES_EINVAL, "ytree_load_string: NULL argument");
    return load_buffer(text, strlen(text), origin ? origin : "<string>", root);
}

int ytree_load_file(const char *path, ynode **root)
{
    if (!path || !root)
        return es_error(ES_EINVAL, "ytree_load_file: NULL argument");
    *root = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return es_error(ES_EIO, "cannot open %s: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = ES_OK;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            char *grown = realloc(text, cap);
            if (!grown) {
                rc = es_error(ES_ENOMEM, "cannot allocate %zu bytes to read %s", cap, path);
                break;
            }
            text = grown;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) /* e.g. EISDIR: fopen succeeds on a directory */
                rc = es_error(ES_EIO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc == ES_OK)
        rc = load_buffer(text, len, path, root);
    free(text);
    return rc;
}

/* ---- overrides ------------------------------------------------------ */

/* Parses an override's value. Values that start like a flow collection or a
 * quoted scalar go through libyaml (wrapped in "[...]" so that only flow
 * syntax is accepted); anything else is a plain scalar taken verbatim, so
 * paths with ',' or ':' in them need no quoting on the command line. */
static int parse_set_value(const char *assignment, const char *value, ynode **out)
{
    while (isspace((unsigned char)*value))
        value++;
    size_t len = strlen(value);
    while (len > 0 && isspace((unsigned char)value[len - 1]))
        len--;
    *out = NULL;
    if (len == 0 || !strchr("[{'\"", value[0])) {
        ynode *n = ynode_new(YNODE_SCALAR, SET_ORIGIN, 0);
        if (!n || !(n->value = strndup(value, len))) {
            ytree_free(n);
            return es_error(ES_ENOMEM, "cannot copy the value of --set %s", assignment);
        }
        *out = n;
        return ES_OK;
    }
    char *wrapped = malloc(len + 4);
    if (!wrapped)
        return es_error(ES_ENOMEM, "cannot copy the value of --set %s", assignment);
    snprintf(wrapped, len + 4, "[%.*s\n]", (int)len, value);
    ynode *seq = NULL;
    int rc = load_buffer(wrapped, strlen(wrapped), SET_ORIGIN, &seq);
    free(wrapped);
    if (rc) {
        /* drop libyaml's "--set:1:COL:" position: it counts our wrapping;
         * copy first, as es_error() overwrites the message it would read */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", es_error_message());
        const char *problem = strstr(msg, ": ");
        return es_error(ES_EINVAL, "--set %s: invalid YAML value: %s", assignment, problem ? problem + 2 : msg);
    }
    if (seq->kind != YNODE_SEQ || seq->n_items != 1) {
        ytree_free(seq);
        return es_error(ES_EINVAL, "--set %s: the value must be one YAML value (write a list as [a, b])",
                        assignment);
    }
    *out = seq->items[0];
    seq->n_items = 0;
    ytree_free(seq);
    return ES_OK;
}

/* A plain empty or null scalar reads as "nothing here yet", so a path may
 * run through it as through an empty map ("model:" then --set model.x=1). */
static int is_null_scalar(const ynode *n)
{
    return n->kind == YNODE_SCALAR && !n->quoted &&
           (n->value[0] == '\0' || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0);
}

static void null_to_map(ynode *n)
{
    free(n->value);
    n->value = NULL;
    n->kind = YNODE_MAP;
}

/* Puts value (owned; freed on failure) at the path [kbeg, kend), creating
 * missing maps; `what` names the operation in errors. */
static int put_at(ynode *root, const char *kbeg, const char *kend, ynode *value, const char *assignment)
{
    int rc;
    ynode *node = root;
    const char *seg = kbeg;
    for (;;) {
        const char *dot = memchr(seg, '.', (size_t)(kend - seg));
        size_t len = dot ? (size_t)(dot - seg) : (size_t)(kend - seg);
        int last = dot == NULL;
        if (is_null_scalar(node))
            null_to_map(node);
        if (node->kind == YNODE_SCALAR) {
            ytree_free(value);
            if (seg == kbeg)
                return es_error(ES_EINVAL, "--set %s: the document is a single value, not a map", assignment);
            return es_error(ES_EINVAL, "--set %s: '%.*s' is a value, not a map or list", assignment,
                            (int)(seg - 1 - kbeg), kbeg);
        }
        size_t index = 0;
        ynode *child = child_at(node, seg, len, &index);
        if (!child && node->kind == YNODE_SEQ) {
            /* one past the end appends; anything else is a typo */
            size_t want;
            if (!parse_index(seg, len, &want) || want != node->n_items) {
                ytree_free(value);
                return es_error(ES_EINVAL, "--set %s: '%.*s' is not an index of a list of %zu items",
                                assignment, (int)len, seg, node->n_items);
            }
            index = node->n_items;
        }
        if (last) {
            if (node->kind == YNODE_MAP && !(value->key = strndup(seg, len))) {
                ytree_free(value);
                return es_error(ES_ENOMEM, "cannot copy the key of --set %s", assignment);
            }
            if (child) { /* replace in place: the key keeps its position */
                ytree_free(child);
                node->items[index] = value;
                return ES_OK;
            }
            return ynode_append(node, value);
        }
        if (!child) { /* create the missing map on the path */
            child = ynode_new(YNODE_MAP, SET_ORIGIN, 0);
            if (!child || (node->kind == YNODE_MAP && !(child->key = strndup(seg, len)))) {
                ytree_free(child);
                ytree_free(value);
                return es_error(ES_ENOMEM, "cannot grow the tree for --set %s", assignment);
            }
            if ((rc = ynode_append(node, child))) {
                ytree_free(value);
                return rc;
            }
        }
        node = child;
        seg = dot + 1;
    }
}

int ytree_set(ynode *root, const char *assignment)
{
    if (!root || !assignment)
        return es_error(ES_EINVAL, "ytree_set: NULL argument");
    const char *eq = strchr(assignment, '=');
    if (!eq)
        return es_error(ES_EINVAL, "--set %s: expected key.path=value", assignment);
    /* the key without surrounding blanks, then a check of every segment */
    const char *kbeg = assignment, *kend = eq;
    while (kbeg < kend && isspace((unsigned char)*kbeg))
        kbeg++;
    while (kend > kbeg && isspace((unsigned char)kend[-1]))
        kend--;
    if (kbeg == kend)
        return es_error(ES_EINVAL, "--set %s: the key is empty (expected key.path=value)", assignment);
    if (*kbeg == '.' || kend[-1] == '.' || memmem(kbeg, (size_t)(kend - kbeg), "..", 2))
        return es_error(ES_EINVAL, "--set %s: empty segment in key '%.*s'", assignment,
                        (int)(kend - kbeg), kbeg);

    ynode *value = NULL;
    int rc = parse_set_value(assignment, eq + 1, &value);
    if (rc)
        return rc;
    return put_at(root, kbeg, kend, value, assignment);
}

int ytree_put(ynode *root, const char *dotted_path, const ynode *value)
{
    if (!root || !dotted_path || !value || !*dotted_path)
        return es_error(ES_EINVAL, "ytree_put: bad argument");
    ynode *copy = ytree_clone(value);
    if (!copy)
        return ES_ENOMEM;
    free(copy->key);
    copy->key = NULL;
    return put_at(root, dotted_path, dotted_path + strlen(dotted_path), copy, dotted_path);
}

/* ---- writing -------------------------------------------------------- */

static int emit(yaml_emitter_t *em, yaml_event_t *ev, int ok)
{
    /* the *_initialize calls fail only on bad arguments or memory */
    if (!ok || !yaml_emitter_emit(em, ev))
        return 0;
    return 1;
}

static int emit_node(yaml_emitter_t *em, const ynode *n)
{
    yaml_event_t ev;
    if (n->kind == YNODE_SCALAR) {
        /* plain when libyaml can write it plainly and we read it so;
         * quoted scalars stay quoted so that "1" stays a string */
        int ok = yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)n->value, (int)strlen(n->value),
                                              !n->quoted, 1,
                                              n->quoted ? YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
        return emit(em, &ev, ok);
    }
    int is_map = n->kind == YNODE_MAP;
    /* empty collections can only be written in flow style ({} and []) */
    int ok = is_map ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                          n->n_items ? YAML_BLOCK_MAPPING_STYLE : YAML_FLOW_MAPPING_STYLE)
                    : yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                           n->n_items ? YAML_BLOCK_SEQUENCE_STYLE : YAML_FLOW_SEQUENCE_STYLE);
    if (!emit(em, &ev, ok))
        return 0;
    for (size_t i = 0; i < n->n_items; i++) {
        const ynode *item = n->items[i];
        if (is_map) {
            /* keys are written plain if possible, quoted otherwise */
            ok = yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)item->key, (int)strlen(item->key),
                                              1, 1, YAML_ANY_SCALAR_STYLE);
            if (!emit(em, &ev, ok))
                return 0;
        }
        if (!emit_node(em, item))
            return 0;
    }
    ok = is_map ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev);
    return emit(em, &ev, ok);
}

int ytree_write(const ynode *root, const char *path)
{
    if (!root || !path)
        return es_error(ES_EINVAL, "ytree_write: NULL argument");
    FILE *f = fopen(path, "w");
    if (!f)
        return es_error(ES_EIO, "cannot create %s: %s", path, strerror(errno));
    yaml_emitter_t em;
    if (!yaml_emitter_initialize(&em)) {
        fclose(f);
        return es_error(ES_ENOMEM, "cannot initialise the YAML emitter for %s", path);
    }
    yaml_emitter_set_output_file(&em, f);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1); /* no line folding of long strings */
    yaml_emitter_set_indent(&em, 2);

    yaml_event_t ev;
    int ok = emit(&em, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING)) &&
             emit(&em, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1)) &&
             emit_node(&em, root) &&
             emit(&em, &ev, yaml_document_end_event_initialize(&ev, 1)) &&
             emit(&em, &ev, yaml_stream_end_event_initialize(&ev)) && yaml_emitter_flush(&em);
    int rc = ES_OK;
    if (!ok)
        rc = es_error(ES_EIO, "cannot write %s: %s", path, em.problem ? em.problem : strerror(errno));
    yaml_emitter_delete(&em);
    if (fclose(f) != 0 && rc == ES_OK)
        rc = es_error(ES_EIO, "cannot write %s: %s", path, strerror(errno));
    return rc;
}

const char *ytree_where(const ynode *node, char *buf, size_t size)
{
    if (node->line > 0)
        snprintf(buf, size, "%s:%d", node->origin, node->line);
    else
        snprintf(buf, size, "%s", node->origin);
    return buf;
}
