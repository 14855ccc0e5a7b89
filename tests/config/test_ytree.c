/* Tests of lib/study/ytree: parsing with origins, errors, overrides, writing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "tmpfiles.h"
#include "config/ytree.h"

/* A file in the test's temp folder with the given text; returns its path. */
static const char *write_file(void **state, const char *name, const char *text)
{
    const char *path = tmp_path(*state, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    return path;
}


static void test_load_nested_with_lines(void **state)
{
    const char *path = write_file(state, "a.yaml",
                                  "# a comment\n"
                                  "name: demo\n"
                                  "model:\n"
                                  "  d_model: 128\n"
                                  "  tag: \"1\"\n"
                                  "sweep:\n"
                                  "  rho: [0, 0.5, 1]\n"
                                  "  budgets:\n"
                                  "    - flops: 1e15\n"
                                  "    - {flops: 3e15}\n");
    ynode *root = NULL;
    assert_int_equal(ytree_load_file(path, &root), ES_OK);
    assert_int_equal(root->kind, YNODE_MAP);
    assert_int_equal(root->n_items, 3);

    ynode *d = ytree_get(root, "model.d_model");
    assert_non_null(d);
    assert_int_equal(d->kind, YNODE_SCALAR);
    assert_string_equal(d->value, "128");
    assert_string_equal(d->key, "d_model");
    assert_string_equal(d->origin, path);
    assert_int_equal(d->line, 4);
    assert_false(d->quoted);

    ynode *tag = ytree_get(root, "model.tag");
    assert_string_equal(tag->value, "1");
    assert_true(tag->quoted);

    assert_int_equal(ytree_get(root, "model")->line, 3);
    ynode *rho = ytree_get(root, "sweep.rho");
    assert_int_equal(rho->kind, YNODE_SEQ);
    assert_int_equal(rho->n_items, 3);
    assert_null(rho->items[1]->key);
    assert_string_equal(ytree_get(root, "sweep.rho.1")->value, "0.5");
    assert_string_equal(ytree_get(root, "sweep.budgets.0.flops")->value, "1e15");
    assert_string_equal(ytree_get(root, "sweep.budgets.1.flops")->value, "3e15");
    assert_int_equal(ytree_get(root, "sweep.budgets.1")->line, 10);
    assert_null(ytree_get(root, "sweep.budgets.2"));
    assert_null(ytree_get(root, "sweep.rho.x"));
    assert_null(ytree_get(root, "model.d_model.x"));
    assert_null(ytree_child(root, "nope"));
    assert_ptr_equal(ytree_child(root, "model"), ytree_get(root, "model"));
    ytree_free(root);
}

static void test_empty_documents_are_empty_maps(void **state)
{
    const char *texts[] = {"", "# only a comment\n", "---\n", "\n\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        ynode *root = NULL;
        assert_int_equal(ytree_load_string(texts[i], "empty", &root), ES_OK);
        assert_int_equal(root->kind, YNODE_MAP);
        assert_int_equal(root->n_items, 0);
        ytree_free(root);
    }
    const char *path = write_file(state, "empty.yaml", "");
    ynode *root = NULL;
    assert_int_equal(ytree_load_file(path, &root), ES_OK);
    assert_int_equal(root->kind, YNODE_MAP);
    ytree_free(root);
}

static void test_syntax_error_names_file_line_col(void **state)
{
    const char *path = write_file(state, "bad.yaml", "a: 1\nb: [1, 2\nc: 3\n");
    ynode *root = (ynode *)0x1;
    assert_int_equal(ytree_load_file(path, &root), ES_ECONFIG);
    assert_null(root);
    char want[200];
    snprintf(want, sizeof want, "%s:", path);
    assert_message_has(want);
    /* libyaml reports the flow sequence that never closed */
    assert_message_has("flow sequence");

    assert_int_equal(ytree_load_string("a: 1\n  b: 2\n", "x.yaml", &root), ES_ECONFIG);
    assert_message_has("x.yaml:2:4: mapping values are not allowed");
}

static void test_duplicate_key(void **state)
{
    ynode *root = NULL;
    assert_int_equal(ytree_load_string("model:\n  d_model: 1\n  d_model: 2\n", "dup.yaml", &root), ES_ECONFIG);
    assert_message_has("dup.yaml:3: duplicate key 'd_model'");
    assert_message_has("first on line 2");
    (void)state;
}

static void test_aliases_and_complex_keys_rejected(void **state)
{
    ynode *root = NULL;
    assert_int_equal(ytree_load_string("a: &x 1\nb: *x\n", "al.yaml", &root), ES_ECONFIG);
    assert_message_has("al.yaml:2: aliases (*x) are not supported");
    assert_int_equal(ytree_load_string("? [1, 2]\n: 3\n", "ck.yaml", &root), ES_ECONFIG);
    assert_message_has("ck.yaml:1: a map key must be a plain string");
    assert_int_equal(ytree_load_string("a: 1\n---\nb: 2\n", "two.yaml", &root), ES_ECONFIG);
    assert_message_has("two.yaml:2: a second YAML document");
    (void)state;
}

static void test_missing_file(void **state)
{
    tmp_files *t = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/does-not-exist.yaml", t->dir);
    ynode *root = NULL;
    assert_int_equal(ytree_load_file(path, &root), ES_EIO);
    assert_message_has(path);
    assert_int_equal(ytree_load_file(t->dir, &root), ES_EIO); /* a directory */
    assert_message_has(t->dir);
}

static void test_set_scalars_lists_maps(void **state)
{
    ynode *root = NULL;
    assert_int_equal(ytree_load_string("model:\n  d_model: 128\n  heads: 4\n", "f.yaml", &root), ES_OK);

    assert_int_equal(ytree_set(root, "model.d_model=256"), ES_OK);
    ynode *d = ytree_get(root, "model.d_model");
    assert_string_equal(d->value, "256");
    assert_string_equal(d->origin, "--set");
    assert_int_equal(d->line, 0);
    assert_string_equal(d->key, "d_model");
    /* replaced in place: the key keeps its position */
    assert_ptr_equal(ytree_get(root, "model")->items[0], d);

    assert_int_equal(ytree_set(root, "train.lr=1.5"), ES_OK); /* creates the missing map */
    assert_string_equal(ytree_get(root, "train.lr")->value, "1.5");
    assert_int_equal(ytree_get(root, "train")->kind, YNODE_MAP);

    assert_int_equal(ytree_set(root, "corpus=kjv"), ES_OK);
    assert_false(ytree_get(root, "corpus")->quoted);
    assert_int_equal(ytree_set(root, "tag='quoted'"), ES_OK);
    assert_string_equal(ytree_get(root, "tag")->value, "quoted");
    assert_true(ytree_get(root, "tag")->quoted);
    assert_int_equal(ytree_set(root, "path=/data/a,b: c.txt"), ES_OK); /* plain values are verbatim */
    assert_string_equal(ytree_get(root, "path")->value, "/data/a,b: c.txt");

    assert_int_equal(ytree_set(root, "sweep.rho=[0, 0.5, 1]"), ES_OK);
    ynode *rho = ytree_get(root, "sweep.rho");
    assert_int_equal(rho->kind, YNODE_SEQ);
    assert_int_equal(rho->n_items, 3);
    assert_string_equal(rho->items[2]->value, "1");
    assert_string_equal(rho->items[2]->origin, "--set");

    assert_int_equal(ytree_set(root, "sweep.budgets=[{flops: 1e15}, {flops: 3e15, name: b}]"), ES_OK);
    assert_int_equal(ytree_set(root, "sweep.budgets.0.flops=2e15"), ES_OK);
    assert_string_equal(ytree_get(root, "sweep.budgets.0.flops")->value, "2e15");
    assert_string_equal(ytree_get(root, "sweep.budgets.1.name")->value, "b");
    assert_int_equal(ytree_set(root, "sweep.budgets.2={flops: 1e16}"), ES_OK); /* one past the end appends */
    assert_int_equal(ytree_get(root, "sweep.budgets")->n_items, 3);
    assert_string_equal(ytree_get(root, "sweep.budgets.2.flops")->value, "1e16");
    assert_null(ytree_get(root, "sweep.budgets.2")->key);
    assert_int_equal(ytree_set(root, "sweep.rho.1=0.25"), ES_OK);
    assert_string_equal(ytree_get(root, "sweep.rho.1")->value, "0.25");

    assert_int_equal(ytree_set(root, "model={d_model: 64}"), ES_OK); /* a whole section replaced */
    assert_int_equal(ytree_get(root, "model")->n_items, 1);
    assert_null(ytree_get(root, "model.heads"));

    assert_int_equal(ytree_set(root, " name = spaced "), ES_OK);
    assert_string_equal(ytree_get(root, "name")->value, "spaced");
    assert_int_equal(ytree_set(root, "empty="), ES_OK);
    assert_string_equal(ytree_get(root, "empty")->value, "");
    ytree_free(root);
    (void)state;
}

static void test_set_errors(void **state)
{
    ynode *root = NULL;
    assert_int_equal(ytree_load_string("model:\n  d_model: 128\nlist: [1, 2]\n", "f.yaml", &root), ES_OK);
    assert_int_equal(ytree_set(root, "model.d_model"), ES_EINVAL);
    assert_message_has("--set model.d_model: expected key.path=value");
    assert_int_equal(ytree_set(root, "=5"), ES_EINVAL);
    assert_message_has("the key is empty");
    assert_int_equal(ytree_set(root, "model..x=5"), ES_EINVAL);
    assert_message_has("empty segment");
    assert_int_equal(ytree_set(root, "model.d_model.x=5"), ES_EINVAL);
    assert_message_has("'model.d_model' is a value");
    assert_int_equal(ytree_set(root, "list.5=3"), ES_EINVAL);
    assert_message_has("'5' is not an index of a list of 2 items");
    assert_int_equal(ytree_set(root, "list.x=3"), ES_EINVAL);
    assert_int_equal(ytree_set(root, "model.x=[1, 2"), ES_EINVAL);
    assert_message_has("--set model.x=[1, 2: invalid YAML value");
    assert_int_equal(ytree_set(root, "model.x='a' 'b'"), ES_EINVAL);
    assert_message_has("--set model.x='a' 'b'");
    /* failed overrides leave the tree as it was */
    assert_string_equal(ytree_get(root, "model.d_model")->value, "128");
    assert_null(ytree_get(root, "model.x"));
    ytree_free(root);
    (void)state;
}

static void assert_same_tree(const ynode *a, const ynode *b)
{
    assert_int_equal(a->kind, b->kind);
    if (a->key || b->key) {
        assert_non_null(a->key);
        assert_non_null(b->key);
        assert_string_equal(a->key, b->key);
    }
    if (a->kind == YNODE_SCALAR) {
        assert_string_equal(a->value, b->value);
        assert_int_equal(a->quoted, b->quoted);
    }
    assert_int_equal(a->n_items, b->n_items);
    for (size_t i = 0; i < a->n_items; i++)
        assert_same_tree(a->items[i], b->items[i]);
}

static void test_clone(void **state)
{
    ynode *root = NULL;
    assert_int_equal(ytree_load_string("a: [1, {b: 'x'}]\nc: {}\n", "f.yaml", &root), ES_OK);
    ynode *copy = ytree_clone(root);
    assert_non_null(copy);
    assert_same_tree(root, copy);
    assert_int_equal(ytree_get(copy, "a.1")->line, 1);
    assert_string_equal(ytree_get(copy, "a.1.b")->origin, "f.yaml");
    assert_int_equal(ytree_set(copy, "a.1.b=y"), ES_OK); /* independent of the original */
    assert_string_equal(ytree_get(root, "a.1.b")->value, "x");
    ytree_free(copy);
    ytree_free(root);
    (void)state;
}

static void test_write_round_trip(void **state)
{
    ynode *root = NULL;
    assert_int_equal(ytree_load_string("name: demo\n"
                                       "number_string: \"1\"\n"
                                       "bool_string: 'true'\n"
                                       "colon: 'a: b'\n"
                                       "hash: '#not a comment'\n"
                                       "lead: ' leading space'\n"
                                       "empty_quoted: ''\n"
                                       "escapes: \"tab\\there\\nnewline \\\"q\\\"\"\n"
                                       "unicode: \"na\\u00efve \\u2014 caf\\u00e9\"\n"
                                       "'key with: colon': 1\n"
                                       "nested:\n"
                                       "  list: [1, 2.5, -3e-8]\n"
                                       "  maps: [{a: 1, b: [x, y]}, {c: {}}]\n"
                                       "  empty_list: []\n"
                                       "  empty_map: {}\n"
                                       "  deep: {x: {y: {z: '007'}}}\n",
                                       "src.yaml", &root),
                     ES_OK);
    assert_int_equal(ytree_set(root, "nested.added=[{flops: 1e15}]"), ES_OK);
    tmp_files *t = *state;
    const char *path = tmp_path(t, "out.yaml");
    assert_int_equal(ytree_write(root, path), ES_OK);
    ynode *back = NULL;
    assert_int_equal(ytree_load_file(path, &back), ES_OK);
    assert_same_tree(root, back);
    assert_string_equal(ytree_get(back, "escapes")->value, "tab\there\nnewline \"q\"");
    ytree_free(back);
    ytree_free(root);

    /* a plain scalar set from the command line that YAML must quote:
     * same text back, now marked quoted */
    assert_int_equal(ytree_load_string("", "e", &root), ES_OK);
    assert_int_equal(ytree_set(root, "odd=a: #b"), ES_OK);
    assert_int_equal(ytree_write(root, path), ES_OK);
    assert_int_equal(ytree_load_file(path, &back), ES_OK);
    assert_string_equal(ytree_get(back, "odd")->value, "a: #b");
    ytree_free(back);
    ytree_free(root);

    assert_int_equal(ytree_write(root = NULL, path), ES_EINVAL);
    assert_int_equal(ytree_load_string("a: 1\n", "e", &root), ES_OK);
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/dir/out.yaml", t->dir);
    assert_int_equal(ytree_write(root, bad), ES_EIO);
    assert_message_has(bad);
    ytree_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_nested_with_lines, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_empty_documents_are_empty_maps, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_syntax_error_names_file_line_col, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_key, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_aliases_and_complex_keys_rejected, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_set_scalars_lists_maps, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_set_errors, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_clone, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_write_round_trip, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
