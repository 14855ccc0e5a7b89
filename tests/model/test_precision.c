/* bf16 against fp32, layer by layer: each layer's forward output and
 * backward gradients computed with train.precision bf16 (es_precision_set)
 * must agree with fp32 within a stated tolerance, and (for the layers whose
 * products go through es_gemm_*) must differ from it, which shows that
 * bf16 was in force.
 *
 * Tolerance: max |bf16 - fp32| over a tensor <= TOL * max |fp32| of that
 * tensor. bf16 keeps 8 significant bits (relative rounding <= 2^-9 per
 * operand), so one product is off by well under 1% of the tensor's scale;
 * TOL_LAYER = 0.03 for one layer, TOL_MODEL = 0.05 for the gradients of a
 * whole two-layer model (errors compound through the layers), and the
 * model's loss within 0.01 nats. The fp32 finite-difference gradient
 * checks are in test_layers.c, test_moe.c and test_engram.c.
 * Skipped, with a message, where the CPU has no bf16. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/mem.h"
#include "core/parallel.h"
#include "gradcheck.h"
#include "model/layers.h"
#include "model/model.h"
#include "model/moe.h"

#define TOL_LAYER 0.03
#define TOL_MODEL 0.05

enum { B = 2, T = 24, N = B * T, C = 32, H = 4, F = 48, V = 29 };

static int skip_without_bf16(void)
{
    if (es_bf16_available())
        return 0;
    fprintf(stderr, "skipped: this CPU has neither AVX512-BF16 nor AMX\n");
    return 1;
}

/* max |x - y| / max |x| over n, printed; and whether any element differs */
static double rel_diff(const char *what, const float *x, const float *y, size_t n, int *differs)
{
    double dmax = 0, xmax = 0;
    for (size_t i = 0; i < n; i++) {
        dmax = fmax(dmax, fabs((double)x[i] - y[i]));
        xmax = fmax(xmax, fabs((double)x[i]));
        if (x[i] != y[i])
            *differs = 1;
    }
    double r = xmax > 0 ? dmax / xmax : dmax;
    fprintf(stderr, "bf16 vs fp32 %-26s max|diff|/max|fp32| = %.5f\n", what, r);
    return r;
}

/* Runs fn in fp32 and in bf16; outputs[i] (n[i] floats) are compared. */
typedef void (*layer_fn)(void *ctx);

static void compare_precisions(const char *layer, layer_fn fn, void *ctx, float *const *outputs, const size_t *n,
                               const char *const *names, int n_outputs, int must_differ)
{
    float *saved[8];
    assert_true(n_outputs <= 8);
    assert_int_equal(es_precision_set(ES_PRECISION_FP32), ES_PRECISION_FP32);
    fn(ctx);
    for (int i = 0; i < n_outputs; i++) {
        saved[i] = es_floats_new(n[i]);
        memcpy(saved[i], outputs[i], n[i] * sizeof(float));
    }
    assert_int_equal(es_precision_set(ES_PRECISION_BF16), ES_PRECISION_BF16);
    fn(ctx);
    es_precision_set(ES_PRECISION_FP32);
    int differs = 0;
    for (int i = 0; i < n_outputs; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s.%s", layer, names[i]);
        double r = rel_diff(what, saved[i], outputs[i], n[i], &differs);
        if (r > TOL_LAYER)
            fail_msg("%s: bf16 differs from fp32 by %.4f of the tensor's scale (tolerance %.2f)", what, r, TOL_LAYER);
        es_floats_free(saved[i]);
    }
    if (must_differ && !differs)
        fail_msg("%s: bf16 gave exactly the fp32 results: bf16 was not used", layer);
}

/* ---- linear ---- */
typedef struct {
    float inp[N * C], w[F * C], out[N * F], r[N * F], dinp[N * C], dw[F * C];
} lin_ctx;

static void lin_run(void *p)
{
    lin_ctx *c = p;
    linear_forward(c->out, c->inp, c->w, N, C, F, 0.0f);
    memset(c->dinp, 0, sizeof c->dinp);
    memset(c->dw, 0, sizeof c->dw);
    linear_backward(c->dinp, c->dw, c->r, c->inp, c->w, N, C, F);
}

static void test_linear(void **state)
{
    (void)state;
    if (skip_without_bf16())
        skip();
    lin_ctx *c = calloc(1, sizeof *c);
    fill_normal(c->inp, N * C, 1.0f, 1);
    fill_normal(c->w, F * C, 0.2f, 2);
    fill_normal(c->r, N * F, 1.0f, 3);
    float *outs[] = {c->out, c->dinp, c->dw};
    size_t n[] = {N * F, N * C, F * C};
    const char *names[] = {"out", "dinp", "dw"};
    compare_precisions("linear", lin_run, c, outs, n, names, 3, 1);
    free(c);
}

/* ---- SwiGLU ---- */
typedef struct {
    float inp[N * C], w13[2 * F * C], w2[C * F], out[N * C], h[N * 2 * F], z[N * F], r[N * C];
    float dinp[N * C], dw13[2 * F * C], dw2[C * F], dh[N * 2 * F], dz[N * F];
} ffn_ctx;

static void ffn_run(void *p)
{
    ffn_ctx *c = p;
    swiglu_forward(c->out, c->h, c->z, c->inp, c->w13, c->w2, N, C, F, 0.0f);
    memset(c->dinp, 0, sizeof c->dinp);
    memset(c->dw13, 0, sizeof c->dw13);
    memset(c->dw2, 0, sizeof c->dw2);
    swiglu_backward(c->dinp, c->dw13, c->dw2, c->dh, c->dz, c->r, c->inp, c->h, c->z, c->w13, c->w2, N, C, F);
}

static void test_swiglu(void **state)
{
    (void)state;
    if (skip_without_bf16())
        skip();
    ffn_ctx *c = calloc(1, sizeof *c);
    fill_normal(c->inp, N * C, 1.0f, 4);
    fill_normal(c->w13, 2 * F * C, 0.2f, 5);
    fill_normal(c->w2, C * F, 0.2f, 6);
    fill_normal(c->r, N * C, 1.0f, 7);
    float *outs[] = {c->out, c->dinp, c->dw13, c->dw2};
    size_t n[] = {N * C, N * C, 2 * F * C, C * F};
    const char *names[] = {"out", "dinp", "dw13", "dw2"};
    compare_precisions("swiglu", ffn_run, c, outs, n, names, 4, 1);
    free(c);
}

/* ---- attention (its score products may or may not use es_gemm_*, so it
 * must agree but need not differ) ---- */
typedef struct {
    float qkv_in[N * 3 * C], qkv[N * 3 * C], att[B * H * T * T], out[N * C], r[N * C], dqkv[N * 3 * C];
    float cosv[T * C / H / 2], sinv[T * C / H / 2];
    float *scratch;
} att_ctx;

static void att_run(void *p)
{
    att_ctx *c = p;
    memcpy(c->qkv, c->qkv_in, sizeof c->qkv);
    attention_forward(c->out, c->qkv, c->att, c->cosv, c->sinv, B, T, C, H);
    attention_backward(c->dqkv, c->scratch, c->r, c->qkv, c->att, c->cosv, c->sinv, B, T, C, H);
}

static void test_attention(void **state)
{
    (void)state;
    if (skip_without_bf16())
        skip();
    att_ctx *c = calloc(1, sizeof *c);
    c->scratch = es_floats_new((size_t)es_threads() * T * T);
    fill_normal(c->qkv_in, N * 3 * C, 1.0f, 8);
    fill_normal(c->r, N * C, 1.0f, 9);
    rope_tables(c->cosv, c->sinv, T, C / H, 10000.0);
    float *outs[] = {c->out, c->dqkv};
    size_t n[] = {N * C, N * 3 * C};
    const char *names[] = {"out", "dqkv"};
    compare_precisions("attention", att_run, c, outs, n, names, 2, 0);
    es_floats_free(c->scratch);
    free(c);
}

/* ---- MoE layer: router, shared expert and routed experts ---- */
enum { E = 6, K = 2, S = 1, FE = 16 };
typedef struct {
    moe_layer L;
    moe_scratch s;
    float *params[6], *grads[5];
    float inp[N * C], out[N * C], r[N * C], dinp[N * C];
} moe_ctx;

static const size_t MOE_SIZES[] = {(size_t)E * C, (size_t)2 * S * FE * C, (size_t)C * S * FE, (size_t)E * 2 * FE * C,
                                   (size_t)E * C * FE};

static void moe_run(void *p)
{
    moe_ctx *c = p;
    memset(c->out, 0, sizeof c->out);
    memset(c->dinp, 0, sizeof c->dinp);
    for (int i = 0; i < 5; i++)
        memset(c->grads[i], 0, MOE_SIZES[i] * sizeof(float));
    moe_forward(&c->L, c->out, c->inp, T);
    moe_backward(&c->L, &c->s, c->dinp, c->r, c->inp, T);
}

static void test_moe(void **state)
{
    (void)state;
    if (skip_without_bf16())
        skip();
    moe_ctx *c = calloc(1, sizeof *c);
    assert_int_equal(moe_layer_alloc(&c->L, N, C, E, K, FE, S, 1.0f, 0.0f), 0);
    assert_int_equal(moe_scratch_alloc(&c->s, N, C, E, K, FE, S), 0);
    for (int i = 0; i < 5; i++) {
        c->params[i] = es_floats_new(MOE_SIZES[i]);
        c->grads[i] = es_floats_new(MOE_SIZES[i]);
        fill_normal(c->params[i], MOE_SIZES[i], i == 0 ? 0.5f : 0.2f, 30 + (uint64_t)i);
    }
    c->params[5] = es_floats_new(E); /* balancing bias, zero */
    c->L.router = c->params[0];
    c->L.d_router = c->grads[0];
    c->L.shared_w13 = c->params[1];
    c->L.d_shared_w13 = c->grads[1];
    c->L.shared_w2 = c->params[2];
    c->L.d_shared_w2 = c->grads[2];
    c->L.expert_w13 = c->params[3];
    c->L.d_expert_w13 = c->grads[3];
    c->L.expert_w2 = c->params[4];
    c->L.d_expert_w2 = c->grads[4];
    c->L.bias = c->params[5];
    fill_normal(c->inp, N * C, 1.0f, 40);
    fill_normal(c->r, N * C, 1.0f, 41);
    float *outs[] = {c->out, c->dinp, c->grads[0], c->grads[1], c->grads[2], c->grads[3], c->grads[4]};
    size_t n[] = {N * C, N * C, MOE_SIZES[0], MOE_SIZES[1], MOE_SIZES[2], MOE_SIZES[3], MOE_SIZES[4]};
    const char *names[] = {"out", "dinp", "d_router", "d_shared_w13", "d_shared_w2", "d_expert_w13", "d_expert_w2"};
    compare_precisions("moe", moe_run, c, outs, n, names, 7, 1);
    moe_layer_free(&c->L);
    moe_scratch_free(&c->s);
    for (int i = 0; i < 6; i++)
        es_floats_free(c->params[i]);
    for (int i = 0; i < 5; i++)
        es_floats_free(c->grads[i]);
    free(c);
}

/* ---- the whole model with MoE and Engram: loss and every gradient ---- */
static void test_model_loss_and_gradients(void **state)
{
    (void)state;
    if (skip_without_bf16())
        skip();
    model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.d_model = C;
    cfg.n_layers = 2;
    cfg.n_heads = H;
    cfg.seq_len = T;
    cfg.ffn_hidden = F;
    cfg.rope_theta = 10000;
    cfg.init_std = 0.1;
    cfg.moe.experts = E;
    cfg.moe.top_k = K;
    cfg.moe.shared = 1;
    cfg.moe.expert_hidden = FE;
    cfg.moe.route_scale = 1;
    cfg.memory = MEMORY_ENGRAM;
    cfg.engram.slots = 200;
    cfg.engram.head_dim = 4;
    cfg.engram.heads = 2;
    cfg.engram.orders[0] = 2;
    cfg.engram.orders[1] = 3;
    cfg.engram.n_orders = 2;
    cfg.engram.layers[0] = 1;
    cfg.engram.n_layers = 1;
    cfg.engram.gate = GATE_PAPER;
    cfg.engram.conv = 1;
    cfg.engram.conv_kernel = 4;
    cfg.engram.init_std = 0.5;
    cfg.engram.lr_mult = 5;
    model *m;
    assert_int_equal(model_new(&cfg, V, NULL, 0, B, T, 3, &m), 0);
    int32_t inputs[N], targets[N];
    for (int i = 0; i < N; i++) {
        inputs[i] = (i * 7 + 2) % V;
        targets[i] = (i * 13 + 5) % V;
    }
    double loss[2];
    float **grads = calloc((size_t)m->n_tensors, sizeof *grads);
    int differs = 0;
    for (int p = 0; p < 2; p++) {
        assert_int_equal(es_precision_set(p ? ES_PRECISION_BF16 : ES_PRECISION_FP32),
                         p ? ES_PRECISION_BF16 : ES_PRECISION_FP32);
        model_zero_grad(m);
        loss[p] = model_forward(m, inputs, targets);
        model_backward(m);
        for (int i = 0; i < m->n_tensors; i++) {
            param_tensor *t = &m->tensors[i];
            if (p == 0) {
                grads[i] = es_floats_new(t->size);
                memcpy(grads[i], t->grad, t->size * sizeof(float));
            } else {
                double r = rel_diff(t->name, grads[i], t->grad, t->size, &differs);
                if (r > TOL_MODEL)
                    fail_msg("model gradient %s: bf16 differs from fp32 by %.4f of its scale (tolerance %.2f)",
                             t->name, r, TOL_MODEL);
                es_floats_free(grads[i]);
            }
        }
    }
    es_precision_set(ES_PRECISION_FP32);
    fprintf(stderr, "model loss: fp32 %.6f bf16 %.6f\n", loss[0], loss[1]);
    assert_true(fabs(loss[0] - loss[1]) <= 0.01);
    assert_true(differs);
    free(grads);
    model_free(m);
}

int main(void)
{
    es_threads_set(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear), cmocka_unit_test(test_swiglu),
        cmocka_unit_test(test_attention), cmocka_unit_test(test_moe),
        cmocka_unit_test(test_model_loss_and_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
