/* Tests of lib/study/inspect: token classes, and the Engram-off switch it
 * relies on (model/engram.h's `off`). The whole command runs end to end in
 * tests/e2e/test_inspect.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "core/parallel.h"
#include "model/model.h"
#include "study/inspect.h"

static const char *cls(const char *text, int prev_letter, int next_letter, int *capital)
{
    return inspect_token_class(text, strlen(text), prev_letter, next_letter, capital);
}

static void test_token_classes(void **state)
{
    (void)state;
    int cap;
    assert_string_equal(cls(" the", 0, 0, &cap), "word");
    assert_int_equal(cap, 0);
    assert_string_equal(cls(" God", 1, 0, &cap), "word"); /* a leading space starts a word */
    assert_int_equal(cap, 1);
    assert_string_equal(cls(" Beth", 0, 1, &cap), "word-first");
    assert_int_equal(cap, 1);
    assert_string_equal(cls("lehem", 1, 0, &cap), "word-inner");
    assert_int_equal(cap, 0);
    assert_string_equal(cls("In", 0, 0, &cap), "word"); /* the first token of a line */
    assert_int_equal(cap, 1);
    assert_string_equal(cls(",", 1, 0, &cap), "punct");
    assert_string_equal(cls(" (", 0, 1, &cap), "punct");
    assert_string_equal(cls(" 12", 0, 0, &cap), "number");
    assert_string_equal(cls("\n", 1, 1, &cap), "space");
    assert_string_equal(cls("  ", 0, 0, &cap), "space");
    assert_string_equal(cls(" Élie", 0, 0, &cap), "word");
    assert_int_equal(cap, 1);
    assert_string_equal(cls("é", 1, 0, &cap), "word-inner");
}

static void test_engram_off_is_the_identity(void **state)
{
    (void)state;
    /* With the switch on, an Engram layer adds nothing: the loss equals
     * that of the same model whose Engram output is zero (W_V = 0 and the
     * conv's zero initial weights make y = 0), and differs from the model
     * with Engram on. */
    es_threads_set(2);
    model_config c;
    run_config rc;
    config_defaults(&rc);
    c = rc.model;
    c.d_model = 16;
    c.n_layers = 2;
    c.n_heads = 2;
    c.ffn_hidden = 32;
    c.memory = MEMORY_ENGRAM;
    c.engram.slots = 500;
    c.engram.head_dim = 4;
    c.engram.heads = 2;
    model *m;
    int B = 2, T = 8, V = 40;
    assert_int_equal(model_new(&c, V, NULL, 0, B, T, 3, &m), 0);
    int32_t in[16], tg[16];
    for (int i = 0; i < B * T; i++) {
        in[i] = (i * 7 + 3) % V;
        tg[i] = (i * 11 + 5) % V;
    }
    double on = model_forward(m, in, tg);
    m->engram[0].off = 1;
    double off = model_forward(m, in, tg);
    m->engram[0].off = 0;
    assert_true(on != off);
    engram_layer *g = &m->engram[0];
    memset(g->wv, 0, sizeof(float) * (size_t)c.d_model * g->De);
    double zero = model_forward(m, in, tg);
    assert_true(zero == off);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_classes),
        cmocka_unit_test(test_engram_off_is_the_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
