/* Multi-branch residual streams (mHC, model.branches): branches = 1 is the
 * single-stream model bit for bit (losses of a few training steps against
 * values recorded on main before mHC existed); finite-difference gradients
 * of the mHC coefficients (Sinkhorn-Knopp unrolled) and of the whole model
 * with M = 2 and 4, Engram on (branch gates and a branch-shared gate) and
 * off, and OverEncoding; parameter counts and FLOPs against built models;
 * repeatable bits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "core/parallel.h"
#include "gradcheck.h"
#include "model/mhc.h"
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

static void random_tokens_n(int32_t *inputs, int32_t *targets, int n, uint64_t seed)
{
    es_rng rng;
    es_rng_seed(&rng, seed, 0);
    for (int i = 0; i < n; i++) {
        inputs[i] = (int32_t)es_rng_below(&rng, V);
        targets[i] = (int32_t)es_rng_below(&rng, V);
    }
}

static void random_tokens(int32_t *inputs, int32_t *targets, uint64_t seed)
{
    random_tokens_n(inputs, targets, N, seed);
}

/* Five steps of plain SGD on the dense parameters and the table rows hit,
 * with the MoE's balancing-bias update; the losses in *losses. */
static void train_steps_shape(const model_config *cfg, double *losses, int steps, int batch, int seq)
{
    model *m;
    assert_int_equal(model_new(cfg, V, NULL, 0, batch, seq, 7, &m), 0);
    size_t n = (size_t)batch * seq;
    int32_t *inputs = malloc(sizeof(int32_t) * n), *targets = malloc(sizeof(int32_t) * n);
    for (int s = 0; s < steps; s++) {
        random_tokens_n(inputs, targets, (int)n, 100 + (uint64_t)s);
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
    free(inputs);
    free(targets);
    model_free(m);
}

static void train_steps(const model_config *cfg, double *losses, int steps)
{
    train_steps_shape(cfg, losses, steps, B, T);
}

/* Recorded with the program in test_branches_one_is_single_stream, printed
 * with %a, on main just before model.branches was merged (the merge's
 * first parent, with oneDNN products and the fused LM head; 2 threads).
 * (On f951d19, before those, the values were 0x1.e10e2bb6db6dbp+1, ...) */
static const double MAIN_LOSSES[5] = {0x1.e10e2b4924925p+1, 0x1.fc21484924925p+1, 0x1.ce5e2a36db6dbp+1,
                                      0x1.8ae91cb6db6dbp+1, 0x1.c2f4c936db6dbp+1};

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

/* ---- the mHC layer alone: out = H_res x + H_post (a * h), h = H_pre x ---- */

typedef struct {
    mhc_layer L;
    float *x, *a, *R, *h, *f, *out;
    float *phi, *alpha, *bias;
    int N, M, C;
} mhc_ctx;

static double mhc_loss(void *p)
{
    mhc_ctx *c = p;
    int NC = c->N * c->C;
    mhc_coeffs_forward(&c->L, c->x);
    mhc_read_forward(&c->L, c->h, c->x);
    for (int i = 0; i < NC; i++)
        c->f[i] = c->a[i] * c->h[i];
    mhc_write_forward(&c->L, c->out, c->x, c->f);
    return dot_double(c->out, c->R, (size_t)NC * c->M);
}

static void check_mhc_layer(int M)
{
    mhc_ctx c;
    int Nt = 5, C = 6, MC = M * C, P = 2 * M + M * M;
    c.N = Nt, c.M = M, c.C = C;
    assert_int_equal(mhc_layer_alloc(&c.L, Nt, M, C, MHC_SINKHORN_ITERS), 0);
    size_t NMC = (size_t)Nt * MC, NC = (size_t)Nt * C;
    c.x = calloc(NMC, sizeof(float)), c.R = calloc(NMC, sizeof(float)), c.out = calloc(NMC, sizeof(float));
    c.a = calloc(NC, sizeof(float)), c.h = calloc(NC, sizeof(float)), c.f = calloc(NC, sizeof(float));
    c.phi = calloc((size_t)P * MC, sizeof(float)), c.alpha = calloc(3, sizeof(float));
    c.bias = calloc((size_t)P, sizeof(float));
    float *dx = calloc(NMC, sizeof(float)), *dh = calloc(NC, sizeof(float)), *df = calloc(NC, sizeof(float));
    float *dphi = calloc((size_t)P * MC, sizeof(float)), *dalpha = calloc(3, sizeof(float));
    float *dbias = calloc((size_t)P, sizeof(float));
    fill_normal(c.x, NMC, 1.0f, 1);
    fill_normal(c.R, NMC, 1.0f, 2);
    fill_normal(c.a, NC, 1.0f, 3);
    fill_normal(c.phi, (size_t)P * MC, 0.5f, 4);
    mhc_init(c.alpha, c.bias, M);
    /* large dynamic parts and a perturbed static part: every path matters */
    for (int i = 0; i < 3; i++)
        c.alpha[i] = 0.7f + 0.1f * (float)i;
    float *noise = calloc((size_t)P, sizeof(float));
    fill_normal(noise, (size_t)P, 0.5f, 5);
    for (int p = 0; p < P; p++)
        c.bias[p] += noise[p];
    c.bias[2 * M] -= 3.0f; /* H_res away from the identity */
    c.L.phi = c.phi, c.L.alpha = c.alpha, c.L.bias = c.bias;
    c.L.d_phi = dphi, c.L.d_alpha = dalpha, c.L.d_bias = dbias;

    mhc_loss(&c);
    /* the mixing matrix is doubly stochastic */
    for (int n = 0; n < Nt; n++) {
        const float *H = c.L.sk + ((size_t)n * (2 * MHC_SINKHORN_ITERS + 1) + 2 * MHC_SINKHORN_ITERS) * M * M;
        for (int i = 0; i < M; i++) {
            double row = 0, col = 0;
            for (int j = 0; j < M; j++) {
                row += H[i * M + j];
                col += H[j * M + i];
                assert_true(H[i * M + j] > 0.0f);
            }
            assert_true(fabs(col - 1.0) < 1e-5);
            /* rows after the last column step: within what 20 iterations reach */
            if (fabs(row - 1.0) > 1e-3)
                fprintf(stderr, "M=%d token %d row %d sums to %.6f\n", M, n, i, row);
            assert_true(fabs(row - 1.0) < 5e-2);
        }
    }
    mhc_write_backward(&c.L, dx, df, c.R, c.x, c.f);
    for (size_t i = 0; i < NC; i++)
        dh[i] = df[i] * c.a[i];
    mhc_read_backward(&c.L, dx, dh, c.x);
    mhc_coeffs_backward(&c.L, dx);
    char what[64];
    int failures = 0;
    snprintf(what, sizeof what, "mhc M=%d x", M);
    failures += gradcheck(what, c.x, dx, NMC, mhc_loss, &c, 1e-2f, 200);
    snprintf(what, sizeof what, "mhc M=%d phi", M);
    failures += gradcheck(what, c.phi, dphi, (size_t)P * MC, mhc_loss, &c, 1e-2f, 200);
    snprintf(what, sizeof what, "mhc M=%d alpha", M);
    failures += gradcheck(what, c.alpha, dalpha, 3, mhc_loss, &c, 1e-2f, 200);
    snprintf(what, sizeof what, "mhc M=%d bias", M);
    failures += gradcheck(what, c.bias, dbias, (size_t)P, mhc_loss, &c, 1e-2f, 200);
    assert_int_equal(failures, 0);
    float *bufs[] = {c.x, c.R, c.out, c.a, c.h, c.f, c.phi, c.alpha, c.bias, dx, dh, df, dphi, dalpha, dbias, noise};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    mhc_layer_free(&c.L);
}

static void test_mhc_layer_gradients(void **state)
{
    (void)state;
    check_mhc_layer(2);
    check_mhc_layer(4);
}

/* ---- the whole model over M branches ---- */

typedef struct {
    model *m;
    int32_t inputs[N], targets[N];
} model_ctx;

static double model_loss(void *p)
{
    model_ctx *c = p;
    return model_forward(c->m, c->inputs, c->targets);
}

/* Every dense tensor and the table rows hit, through the full model; a
 * dense FFN (MoE's top-k is not differentiable at ties). */
static void check_model(int M, int memory, int branch_gates)
{
    model_config cfg = moe_engram_config();
    cfg.moe.experts = 0;
    cfg.branches = M;
    cfg.memory = memory;
    cfg.engram.branch_gates = branch_gates;
    model_ctx c;
    assert_int_equal(model_new(&cfg, V, NULL, 0, B, T, 42, &c.m), 0);
    random_tokens(c.inputs, c.targets, 5);
    /* mHC starts near the single stream; move it away so every path counts */
    for (int i = 0; c.m->mhc && i < 2 * cfg.n_layers; i++) {
        mhc_layer *h = &c.m->mhc[i];
        for (int k = 0; k < 3; k++)
            h->alpha[k] = 0.5f;
        for (int p = 0; p < h->P; p++)
            h->bias[p] += 0.3f * (float)((p * 7 + i) % 5 - 2);
    }
    if (memory == MEMORY_ENGRAM) /* a non-zero conv */
        fill_normal(c.m->engram[0].conv_w, (size_t)M * cfg.d_model * cfg.engram.conv_kernel, 0.3f, 9);
    model_zero_grad(c.m);
    model_loss(&c);
    model_backward(c.m);
    int failures = 0;
    for (int i = 0; i < c.m->n_tensors; i++) {
        param_tensor *t = &c.m->tensors[i];
        failures += gradcheck(t->name, t->data, t->grad, t->size, model_loss, &c, 1e-2f, 20);
    }
    if (memory == MEMORY_ENGRAM) {
        /* table rows: the collected gradient of each unique row hit */
        sparse_table *tb = c.m->tables[0];
        int n = tb->n_unique, w = tb->width;
        float *rows = malloc(sizeof(float) * (size_t)n * w), *grads = malloc(sizeof(float) * (size_t)n * w);
        memcpy(grads, tb->unique_grad, sizeof(float) * (size_t)n * w);
        int64_t *ids = malloc(sizeof(int64_t) * (size_t)n);
        memcpy(ids, tb->unique_row, sizeof(int64_t) * (size_t)n);
        double gmax = 0;
        for (int i = 0; i < n * w; i++)
            gmax = fmax(gmax, fabs(grads[i]));
        for (int r = 0; r < n; r += n / 8 + 1)
            for (int j = 0; j < w; j++) {
                float *x = tb->data + (size_t)ids[r] * w + j;
                failures += gradcheck_scaled("table row", x, &grads[(size_t)r * w + j], 1, model_loss, &c, 1e-2f, 1,
                                             gmax);
            }
        free(rows);
        free(grads);
        free(ids);
    }
    assert_int_equal(failures, 0);
    model_free(c.m);
}

static void test_model_gradients_m2_engram(void **state)
{
    (void)state;
    check_model(2, MEMORY_ENGRAM, 1);
}

static void test_model_gradients_m4_engram(void **state)
{
    (void)state;
    check_model(4, MEMORY_ENGRAM, 1);
}

static void test_model_gradients_m4_shared_gate(void **state)
{
    (void)state;
    check_model(4, MEMORY_ENGRAM, 0);
}

static void test_model_gradients_m2_no_memory(void **state)
{
    (void)state;
    check_model(2, MEMORY_NONE, 1);
}

static void test_model_gradients_m2_overencoding(void **state)
{
    (void)state;
    check_model(2, MEMORY_OVERENCODING, 1);
}

static void test_model_gradients_m4_no_memory(void **state)
{
    (void)state;
    check_model(4, MEMORY_NONE, 1);
}

/* model_count (the planner's) against built models, and the mHC terms of
 * the FLOPs. */
static void test_counts(void **state)
{
    (void)state;
    for (int M = 1; M <= 4; M += 3)
        for (int shared = 0; shared < 2; shared++) {
            model_config cfg = moe_engram_config();
            cfg.branches = M;
            cfg.engram.branch_gates = !shared;
            model *m;
            assert_int_equal(model_new(&cfg, V, NULL, 0, B, T, 1, &m), 0);
            double p_tot, p_act;
            long rows;
            assert_int_equal(model_count(&cfg, V, &p_tot, &p_act, &rows), 0);
            assert_true(p_tot == (double)model_count_total(m));
            assert_true(fabs(p_act - (double)model_count_active(m)) < 1.0);
            model_free(m);
        }
    model_config one = moe_engram_config(), four = moe_engram_config();
    one.branches = 1;
    four.branches = 4;
    four.engram.branch_gates = 1;
    double C = one.d_model, De = 2.0 * 2 * 3, P = 8 + 16;
    /* per layer two wrapped sub-layers; Engram's keys and conv per branch */
    double extra = one.n_layers * 2 * (P * 4 * C + 4 * C + 4 * C + 16 * C) + 3 * C * De + 3 * C * 4;
    assert_true(fabs(model_flops_per_token(&four, V) - model_flops_per_token(&one, V) - 6 * extra) < 1e-6);
}

/* Same config, seed and thread count: the same losses, for the single
 * stream and for 4 branches (MoE + Engram), at a width and batch where the
 * matrix products are split over the 2 threads. (Across thread counts the
 * bits differ, for the single stream too: the row split of a product
 * changes OpenBLAS's kernels for the rows at its edges.) */
static void test_repeatable(void **state)
{
    (void)state;
    for (int M = 1; M <= 4; M += 3) {
        model_config cfg = moe_engram_config();
        cfg.branches = M;
        cfg.engram.branch_gates = 1;
        cfg.d_model = 64;
        cfg.n_heads = 4;
        cfg.seq_len = 32;
        cfg.moe.expert_hidden = 32;
        cfg.engram.slots = 5000;
        cfg.init_std = 0.05;
        double one[5], two[5];
        train_steps_shape(&cfg, one, 5, 8, 32);
        train_steps_shape(&cfg, two, 5, 8, 32);
        for (int s = 0; s < 5; s++) {
            if (one[s] != two[s])
                fprintf(stderr, "M=%d step %d: %a, then %a\n", M, s, one[s], two[s]);
            assert_true(one[s] == two[s]);
        }
    }
}

int main(void)
{
    es_threads_set(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_branches_one_is_single_stream),
        cmocka_unit_test(test_mhc_layer_gradients),
        cmocka_unit_test(test_model_gradients_m2_engram),
        cmocka_unit_test(test_model_gradients_m4_engram),
        cmocka_unit_test(test_model_gradients_m4_shared_gate),
        cmocka_unit_test(test_model_gradients_m2_no_memory),
        cmocka_unit_test(test_model_gradients_m2_overencoding),
        cmocka_unit_test(test_model_gradients_m4_no_memory),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_repeatable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
