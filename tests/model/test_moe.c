/* The MoE layer: finite-difference gradients of the router, the gates
 * (through the affinities), the shared and the routed experts and the
 * balance loss, with the balancing bias frozen (it changes only in
 * moe_after_step); top-k edge cases; balancing; counts and FLOPs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/mem.h"
#include "core/parallel.h"
#include "gradcheck.h"
#include "model/model.h"
#include "model/moe.h"

enum { B = 2, T = 6, N = B * T, C = 8, F = 5 };

typedef struct {
    moe_layer L;
    moe_scratch s;
    int E, K, S;
    float *router, *shared_w13, *shared_w2, *expert_w13, *expert_w2, *bias;
    float *d_router, *d_shared_w13, *d_shared_w2, *d_expert_w13, *d_expert_w2;
    float inp[N * C], out[N * C], r[N * C], dinp[N * C];
} moe_ctx;

static void ctx_init(moe_ctx *c, int E, int K, int S, float aux, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    c->E = E;
    c->K = K;
    c->S = S;
    assert_int_equal(moe_layer_alloc(&c->L, N, C, E, K, F, S, 1.3f, aux), 0);
    assert_int_equal(moe_scratch_alloc(&c->s, N, C, E, K, F, S), 0);
    size_t sizes[] = {(size_t)E * C, (size_t)2 * S * F * C, (size_t)C * S * F, (size_t)E * 2 * F * C,
                      (size_t)E * C * F};
    float **params[] = {&c->router, &c->shared_w13, &c->shared_w2, &c->expert_w13, &c->expert_w2};
    float **grads[] = {&c->d_router, &c->d_shared_w13, &c->d_shared_w2, &c->d_expert_w13, &c->d_expert_w2};
    for (int i = 0; i < 5; i++) {
        *params[i] = es_floats_new(sizes[i]);
        *grads[i] = es_floats_new(sizes[i]);
        fill_normal(*params[i], sizes[i], i == 0 ? 1.0f : 0.5f, seed + (uint64_t)i);
    }
    c->bias = es_floats_new((size_t)E);
    fill_normal(c->bias, (size_t)E, 0.1f, seed + 10); /* a non-zero, frozen bias takes part in routing */
    c->L.router = c->router;
    c->L.d_router = c->d_router;
    if (S > 0) {
        c->L.shared_w13 = c->shared_w13;
        c->L.d_shared_w13 = c->d_shared_w13;
        c->L.shared_w2 = c->shared_w2;
        c->L.d_shared_w2 = c->d_shared_w2;
    }
    c->L.expert_w13 = c->expert_w13;
    c->L.d_expert_w13 = c->d_expert_w13;
    c->L.expert_w2 = c->expert_w2;
    c->L.d_expert_w2 = c->d_expert_w2;
    c->L.bias = c->bias;
    fill_normal(c->inp, N * C, 1.0f, seed + 20);
    fill_normal(c->r, N * C, 1.0f, seed + 21);
}

static void ctx_free(moe_ctx *c)
{
    moe_layer_free(&c->L);
    moe_scratch_free(&c->s);
    float *all[] = {c->router,   c->shared_w13,   c->shared_w2,   c->expert_w13,   c->expert_w2,   c->bias,
                    c->d_router, c->d_shared_w13, c->d_shared_w2, c->d_expert_w13, c->d_expert_w2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        es_floats_free(all[i]);
}

static double moe_loss(void *p)
{
    moe_ctx *c = p;
    memset(c->out, 0, sizeof c->out);
    moe_forward(&c->L, c->out, c->inp, T);
    return dot_double(c->out, c->r, N * C) + c->L.aux_loss;
}

static void backward(moe_ctx *c)
{
    moe_loss(c);
    memset(c->dinp, 0, sizeof c->dinp);
    moe_backward(&c->L, &c->s, c->dinp, c->r, c->inp, T);
}

static void check_all(moe_ctx *c, const char *tag)
{
    char name[64];
    int failures = 0;
    backward(c);
    struct {
        const char *what;
        float *x, *g;
        size_t n;
    } list[] = {
        {"inp", c->inp, c->dinp, N * C},
        {"router", c->router, c->d_router, (size_t)c->E * C},
        {"shared.w13", c->shared_w13, c->d_shared_w13, (size_t)2 * c->S * F * C},
        {"shared.w2", c->shared_w2, c->d_shared_w2, (size_t)C * c->S * F},
        {"experts.w13", c->expert_w13, c->d_expert_w13, (size_t)c->E * 2 * F * C},
        {"experts.w2", c->expert_w2, c->d_expert_w2, (size_t)c->E * C * F},
    };
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        if (list[i].n == 0)
            continue;
        snprintf(name, sizeof name, "%s.%s", tag, list[i].what);
        failures += gradcheck(name, list[i].x, list[i].g, list[i].n, moe_loss, c, 1e-3f, 400);
    }
    assert_int_equal(failures, 0);
}

static void test_moe_gradients(void **state)
{
    (void)state;
    moe_ctx c;
    ctx_init(&c, 6, 2, 1, 0.0f, 100);
    float bias_before[6];
    memcpy(bias_before, c.bias, sizeof bias_before);
    check_all(&c, "moe");
    assert_memory_equal(bias_before, c.bias, sizeof bias_before); /* frozen: no gradient, no drift */
    ctx_free(&c);
}

static void test_moe_gradients_with_balance_loss(void **state)
{
    (void)state;
    moe_ctx c;
    ctx_init(&c, 6, 2, 2, 0.5f, 200);
    check_all(&c, "moe+aux");
    assert_true(c.L.aux_loss > 0);
    ctx_free(&c);
}

static void test_every_expert_active(void **state)
{
    (void)state;
    /* E == K: every token uses every expert; gates sum to route_scale */
    moe_ctx c;
    ctx_init(&c, 3, 3, 0, 0.0f, 300);
    check_all(&c, "E==K");
    for (int n = 0; n < N; n++) {
        float sum = 0;
        for (int j = 0; j < 3; j++)
            sum += c.L.gates[n * 3 + j];
        assert_float_equal(sum, 1.3f, 1e-5);
    }
    ctx_free(&c);
}

static void test_idle_expert(void **state)
{
    (void)state;
    /* an expert no token chooses gets exactly zero gradient, and the rest
     * of the layer is still right */
    moe_ctx c;
    ctx_init(&c, 5, 2, 1, 0.0f, 400);
    c.bias[3] = -100.0f;
    check_all(&c, "idle");
    assert_int_equal(c.L.offset[4] - c.L.offset[3], 0);
    for (size_t i = 0; i < (size_t)2 * F * C; i++)
        assert_true(c.d_expert_w13[3 * 2 * F * C + i] == 0.0f);
    ctx_free(&c);
}

static void test_ties_break_to_lower_index(void **state)
{
    (void)state;
    moe_ctx c;
    ctx_init(&c, 4, 1, 0, 0.0f, 500);
    /* experts 1 and 2 are identical and dominate: expert 1 must win */
    for (int i = 0; i < C; i++) {
        c.router[1 * C + i] = c.router[2 * C + i] = 0.0f;
        c.router[0 * C + i] = c.router[3 * C + i] = 0.0f;
    }
    for (int e = 0; e < 4; e++)
        c.bias[e] = e == 1 || e == 2 ? 1.0f : 0.0f;
    moe_loss(&c);
    for (int n = 0; n < N; n++)
        assert_int_equal(c.L.topk[n], 1);
    ctx_free(&c);
}

static void test_balancing_bias_moves_toward_even_load(void **state)
{
    (void)state;
    moe_ctx c;
    ctx_init(&c, 4, 1, 0, 0.0f, 600);
    memset(c.bias, 0, 4 * sizeof(float));
    moe_loss(&c);
    moe_after_step(&c.L, 0.01f);
    double mean = (double)N / 4;
    for (int e = 0; e < 4; e++) {
        int load = c.L.offset[e + 1] - c.L.offset[e];
        float expected = load < mean ? 0.01f : load > mean ? -0.01f : 0.0f;
        assert_float_equal(c.bias[e], expected, 0.0f);
    }
    ctx_free(&c);
}

static void test_effective_experts_of_known_loads(void **state)
{
    (void)state;
    /* even loads: all E experts count */
    double even[4] = {5, 5, 5, 5};
    assert_float_equal(moe_effective_experts(even, 4), 4.0, 1e-12);
    /* one expert takes everything: 1, whatever E */
    double one[5] = {0, 0, 7, 0, 0};
    assert_float_equal(moe_effective_experts(one, 5), 1.0, 1e-12);
    /* two of four even, two idle: 2 */
    double two[4] = {3, 0, 3, 0};
    assert_float_equal(moe_effective_experts(two, 4), 2.0, 1e-12);
    /* shares (1/2, 1/4, 1/4): H = 1.5 ln 2, exp(H) = 2^1.5 */
    double skew[3] = {2, 1, 1};
    assert_float_equal(moe_effective_experts(skew, 3), pow(2.0, 1.5), 1e-12);
    /* nothing routed: undefined */
    double none[3] = {0, 0, 0};
    assert_true(isnan(moe_effective_experts(none, 3)));
}

static void test_picks_changed_by_the_bias(void **state)
{
    (void)state;
    const float s[4] = {0.9f, 0.8f, 0.3f, 0.1f};
    int32_t chosen[2];
    /* the same picks as on s alone, in any order: nothing changed */
    chosen[0] = 1;
    chosen[1] = 0;
    assert_int_equal(moe_picks_changed(s, chosen, 4, 2), 0);
    /* a bias lifts expert 3 over expert 1: one pick changed */
    chosen[0] = 0;
    chosen[1] = 3;
    assert_int_equal(moe_picks_changed(s, chosen, 4, 2), 1);
    /* both picks moved */
    chosen[0] = 2;
    chosen[1] = 3;
    assert_int_equal(moe_picks_changed(s, chosen, 4, 2), 2);
    /* ties on s go to the lower index, as in routing */
    const float tie[3] = {0.5f, 0.5f, 0.5f};
    int32_t first = 0, last = 2;
    assert_int_equal(moe_picks_changed(tie, &first, 3, 1), 0);
    assert_int_equal(moe_picks_changed(tie, &last, 3, 1), 1);
}

static void test_routing_stats_count_what_the_bias_flips(void **state)
{
    (void)state;
    moe_ctx c;
    ctx_init(&c, 4, 1, 0, 0.0f, 700);
    /* zero router: every affinity is sigmoid(0) = 0.5, so on s alone
     * every token picks expert 0 (lower index wins) */
    memset(c.router, 0, 4 * C * sizeof(float));
    memset(c.bias, 0, 4 * sizeof(float));
    moe_loss(&c);
    moe_after_step(&c.L, 0.0f);
    moe_routing r = moe_routing_stats(&c.L);
    assert_float_equal(r.experts_eff, 1.0, 1e-12);
    assert_float_equal(r.load_max_mean, 4.0, 1e-12);
    assert_float_equal(r.bias_changed, 0.0, 0.0);
    /* a bias on expert 2 flips every pick to it */
    c.bias[2] = 0.1f;
    moe_loss(&c);
    moe_after_step(&c.L, 0.0f);
    /* a second step with no bias: half of the picks over both steps were
     * changed, and the load is split over experts 0 and 2 */
    c.bias[2] = 0.0f;
    moe_loss(&c);
    moe_after_step(&c.L, 0.0f);
    r = moe_routing_stats(&c.L);
    assert_float_equal(r.bias_changed, 0.5, 1e-12);
    assert_float_equal(r.experts_eff, 2.0, 1e-12);
    assert_float_equal(r.load_max_mean, 2.0, 1e-12);
    /* the call reset the statistics */
    r = moe_routing_stats(&c.L);
    assert_true(isnan(r.experts_eff) && isnan(r.bias_changed) && isnan(r.load_max_mean));
    ctx_free(&c);
}

/* Whole model with MoE blocks: every tensor's gradient, balance loss on. */
typedef struct {
    model *m;
    int32_t inputs[N], targets[N];
} model_ctx;

static double model_loss(void *p)
{
    model_ctx *c = p;
    double ce = model_forward(c->m, c->inputs, c->targets);
    return ce + c->m->aux_loss;
}

static model_config moe_config(void)
{
    model_config c;
    memset(&c, 0, sizeof c);
    c.d_model = 16;
    c.n_layers = 2;
    c.n_heads = 2;
    c.seq_len = T;
    c.ffn_hidden = 20;
    c.rope_theta = 10000;
    c.init_std = 0.3;
    c.moe.experts = 6;
    c.moe.top_k = 2;
    c.moe.shared = 1;
    c.moe.expert_hidden = 7;
    c.moe.route_scale = 1.0;
    c.moe.aux_loss = 0.1;
    c.moe.bias_rate = 0.001;
    return c;
}

static void test_model_with_moe_gradients(void **state)
{
    (void)state;
    model_config cfg = moe_config();
    model_ctx c;
    assert_int_equal(model_new(&cfg, 23, NULL, 0, B, T, 7, &c.m), 0);
    for (int i = 0; i < N; i++) {
        c.inputs[i] = (i * 5 + 1) % 23;
        c.targets[i] = (i * 11 + 3) % 23;
    }
    model_zero_grad(c.m);
    model_loss(&c);
    model_backward(c.m);
    int failures = 0;
    for (int i = 0; i < c.m->n_tensors; i++) {
        param_tensor *t = &c.m->tensors[i];
        failures += gradcheck(t->name, t->data, t->grad, t->size, model_loss, &c, 1e-3f, 60);
    }
    assert_int_equal(failures, 0);
    model_free(c.m);
}

static void test_moe_counts_and_flops(void **state)
{
    (void)state;
    model_config cfg = moe_config();
    model *m;
    assert_int_equal(model_new(&cfg, 23, NULL, 0, B, T, 7, &m), 0);
    double Cd = 16, L = 2, E = 6, K = 2, S = 1, FE = 7, V = 23;
    double attn = 2 * Cd + 4 * Cd * Cd;
    double expert = 3 * Cd * FE;
    double total = L * (attn + E * Cd + S * expert + E * expert) + Cd;
    double active = L * (attn + E * Cd + S * expert + K * expert) + Cd;
    assert_int_equal(model_count_total(m), (size_t)total);
    assert_int_equal(model_count_active(m), (size_t)active);
    double flops = 3 * 2 * (L * (4 * Cd * Cd + Cd * E + 3 * Cd * FE * (S + K) + Cd * (T + 1)) + Cd * V);
    assert_float_equal(model_flops_per_token(&cfg, 23), flops, 1e-6);
    model_free(m);
}

int main(void)
{
    es_threads_set(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moe_gradients),
        cmocka_unit_test(test_moe_gradients_with_balance_loss),
        cmocka_unit_test(test_every_expert_active),
        cmocka_unit_test(test_idle_expert),
        cmocka_unit_test(test_ties_break_to_lower_index),
        cmocka_unit_test(test_balancing_bias_moves_toward_even_load),
        cmocka_unit_test(test_effective_experts_of_known_loads),
        cmocka_unit_test(test_picks_changed_by_the_bias),
        cmocka_unit_test(test_routing_stats_count_what_the_bias_flips),
        cmocka_unit_test(test_model_with_moe_gradients),
        cmocka_unit_test(test_moe_counts_and_flops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
