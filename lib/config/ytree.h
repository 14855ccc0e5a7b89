/* A YAML document as a tree of nodes that remember where they came from.
 *
 * libyaml parses; this module keeps every key and scalar with its file and
 * line so that config errors can name them, and applies command-line
 * overrides ("--set model.d_model=256"). The tree owns all its strings.
 * Every ytree_load_*() result has its ytree_free(). */
#ifndef ES_STUDY_YTREE_H
#define ES_STUDY_YTREE_H

#include <stddef.h>

typedef enum { YNODE_SCALAR, YNODE_MAP, YNODE_SEQ } ynode_kind;

typedef struct ynode {
    ynode_kind kind;
    char *key;           /* key within the parent map; NULL for sequence items and the root */
    char *value;         /* scalar text (YNODE_SCALAR only), as written, unquoted */
    int quoted;          /* the scalar was quoted in the source (so "1" is a string) */
    char *origin;        /* file the node came from, or "--set" */
    int line;            /* 1-based line in origin (0 for --set) */
    struct ynode **items;/* children: map values (each carries its key) or sequence items, in order */
    size_t n_items;
} ynode;

/* Parses a file with one YAML document (an empty file gives an empty map).
 * Errors: ES_EIO (cannot read), ES_ECONFIG ("file:line:col: <libyaml problem>"),
 * duplicate keys and non-scalar keys are ES_ECONFIG naming file:line. */
int ytree_load_file(const char *path, ynode **root);
int ytree_load_string(const char *text, const char *origin, ynode **root);

/* Applies "a.b.c=VALUE": VALUE is parsed as a YAML flow node, so
 * "1.5", "[0, 0.5, 1]" and "{flops: 1e15}" all work. Missing maps on the
 * path are created; an existing node is replaced. A sequence element can be
 * addressed by index ("sweep.budgets.0.flops=2e15").
 * Errors: ES_EINVAL naming the override when it has no '=' or an empty key
 * or the path runs through a scalar. */
int ytree_set(ynode *root, const char *assignment);

/* Puts a copy of value at a dotted path, like ytree_set (maps on the path
 * are created, an existing node is replaced). */
int ytree_put(ynode *root, const char *dotted_path, const ynode *value);

/* The node at a dotted path, or NULL. */
ynode *ytree_get(const ynode *root, const char *dotted_path);

/* Map lookup of one key, or NULL. */
ynode *ytree_child(const ynode *map, const char *key);

/* Where a node came from, for error messages: "file:line", or the origin
 * alone for --set overrides (which have no line). Returns buf. */
const char *ytree_where(const ynode *node, char *buf, size_t size);

ynode *ytree_clone(const ynode *node);
void ytree_free(ynode *node);

/* Writes the tree back as block-style YAML (for the resolved copy of a
 * config kept beside its results). */
int ytree_write(const ynode *root, const char *path);

#endif
