/* Finite-difference gradient checks of every layer in lib/model/layers.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/mem.h"
#include "core/parallel.h"
#include "gradcheck.h"
#include "model/layers.h"

enum { B = 2, T = 5, N = B * T, C = 8, H = 2, F = 12, V = 11 };

/* ---- rmsnorm ---- */
typedef struct {
    float inp[N * C], weight[C], out[N * C], rstd[N], r[N * C];
} rms_ctx;

static double rms_loss(void *p)
{
    rms_ctx *c = p;
    rmsnorm_forward(c->out, c->rstd, c->inp, c->weight, N, C);
    return dot_double(c->out, c->r, N * C);
}

static void test_rmsnorm(void **state)
{
    (void)state;
    rms_ctx c;
    fill_normal(c.inp, N * C, 1.0f, 1);
    fill_normal(c.weight, C, 1.0f, 2);
    fill_normal(c.r, N * C, 1.0f, 3);
    float dinp[N * C] = {0}, dw[C] = {0};
    rms_loss(&c);
    rmsnorm_backward(dinp, dw, c.r, c.inp, c.weight, c.rstd, N, C);
    assert_int_equal(gradcheck("rmsnorm.inp", c.inp, dinp, N * C, rms_loss, &c, 1e-2f, 1000), 0);
    assert_int_equal(gradcheck("rmsnorm.weight", c.weight, dw, C, rms_loss, &c, 1e-2f, 1000), 0);
}

/* ---- rmsnorm over rows of G interleaved groups, a gain per group ---- */
enum { G = 4 };
typedef struct {
    float inp[N * G * C], weight[G * C], out[N * G * C], rstd[N * G], r[N * G * C];
} grouped_rms_ctx;

static double grouped_rms_loss(void *p)
{
    grouped_rms_ctx *c = p;
    rmsnorm_grouped_forward(c->out, c->rstd, c->inp, c->weight, N * G, C, G);
    return dot_double(c->out, c->r, N * G * C);
}

static void test_rmsnorm_grouped(void **state)
{
    (void)state;
    grouped_rms_ctx c;
    fill_normal(c.inp, N * G * C, 1.0f, 1);
    fill_normal(c.weight, G * C, 1.0f, 2);
    fill_normal(c.r, N * G * C, 1.0f, 3);
    float dinp[N * G * C] = {0}, dw[G * C] = {0};
    grouped_rms_loss(&c);
    rmsnorm_grouped_backward(dinp, dw, c.r, c.inp, c.weight, c.rstd, N * G, C, G);
    assert_int_equal(gradcheck("rmsnorm_grouped.inp", c.inp, dinp, N * G * C, grouped_rms_loss, &c, 1e-2f, 1000), 0);
    assert_int_equal(gradcheck("rmsnorm_grouped.weight", c.weight, dw, G * C, grouped_rms_loss, &c, 1e-2f, 1000), 0);
    /* one group is the plain layer, bit for bit */
    float out1[N * C], rstd1[N], out2[N * C], rstd2[N];
    rmsnorm_forward(out1, rstd1, c.inp, c.weight, N, C);
    rmsnorm_grouped_forward(out2, rstd2, c.inp, c.weight, N, C, 1);
    assert_memory_equal(out1, out2, sizeof out1);
}

/* ---- linear ---- */
typedef struct {
    float inp[N * C], w[F * C], out[N * F], r[N * F];
} lin_ctx;

static double lin_loss(void *p)
{
    lin_ctx *c = p;
    linear_forward(c->out, c->inp, c->w, N, C, F, 0.0f);
    return dot_double(c->out, c->r, N * F);
}

static void test_linear(void **state)
{
    (void)state;
    lin_ctx c;
    fill_normal(c.inp, N * C, 1.0f, 4);
    fill_normal(c.w, F * C, 0.5f, 5);
    fill_normal(c.r, N * F, 1.0f, 6);
    float dinp[N * C] = {0}, dw[F * C] = {0};
    linear_backward(dinp, dw, c.r, c.inp, c.w, N, C, F);
    assert_int_equal(gradcheck("linear.inp", c.inp, dinp, N * C, lin_loss, &c, 1e-2f, 1000), 0);
    assert_int_equal(gradcheck("linear.w", c.w, dw, F * C, lin_loss, &c, 1e-2f, 1000), 0);
}

/* ---- embedding (with repeated ids) ---- */
typedef struct {
    float wte[V * C], out[N * C], r[N * C];
    int32_t ids[N];
} emb_ctx;

static double emb_loss(void *p)
{
    emb_ctx *c = p;
    embedding_forward(c->out, c->ids, c->wte, N, C);
    return dot_double(c->out, c->r, N * C);
}

static void test_embedding(void **state)
{
    (void)state;
    emb_ctx c;
    fill_normal(c.wte, V * C, 1.0f, 7);
    fill_normal(c.r, N * C, 1.0f, 8);
    for (int n = 0; n < N; n++)
        c.ids[n] = (n * 7) % 4; /* ids repeat: their gradients must add up */
    float dwte[V * C] = {0};
    embedding_backward(dwte, c.r, c.ids, N, C);
    assert_int_equal(gradcheck("embedding.wte", c.wte, dwte, V * C, emb_loss, &c, 1e-2f, 1000), 0);
}

/* ---- attention with RoPE ---- */
typedef struct {
    float qkv_in[N * 3 * C], qkv[N * 3 * C], att[B * H * T * T], out[N * C], r[N * C];
    float cosv[T * C / H / 2], sinv[T * C / H / 2];
} att_ctx;

static double att_loss(void *p)
{
    att_ctx *c = p;
    memcpy(c->qkv, c->qkv_in, sizeof c->qkv);
    attention_forward(c->out, c->qkv, c->att, c->cosv, c->sinv, B, T, C, H);
    return dot_double(c->out, c->r, N * C);
}

static void test_attention(void **state)
{
    (void)state;
    att_ctx c;
    fill_normal(c.qkv_in, N * 3 * C, 1.0f, 9);
    fill_normal(c.r, N * C, 1.0f, 10);
    rope_tables(c.cosv, c.sinv, T, C / H, 10000.0);
    att_loss(&c);
    float dqkv[N * 3 * C];
    float *scratch = es_floats_new((size_t)es_threads() * T * T);
    attention_backward(dqkv, scratch, c.r, c.qkv, c.att, c.cosv, c.sinv, B, T, C, H);
    assert_int_equal(gradcheck("attention.qkv", c.qkv_in, dqkv, N * 3 * C, att_loss, &c, 1e-2f, 2000), 0);
    /* causality: the first token's output depends on itself only */
    es_floats_free(scratch);
}

static void test_attention_is_causal(void **state)
{
    (void)state;
    att_ctx c;
    fill_normal(c.qkv_in, N * 3 * C, 1.0f, 11);
    rope_tables(c.cosv, c.sinv, T, C / H, 10000.0);
    att_loss(&c);
    float before[N * C];
    memcpy(before, c.out, sizeof before);
    /* changing the last token of each sequence must not change earlier outputs */
    for (int b = 0; b < B; b++)
        for (int i = 0; i < 3 * C; i++)
            c.qkv_in[((b * T) + T - 1) * 3 * C + i] += 1.0f;
    att_loss(&c);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T - 1; t++)
            for (int i = 0; i < C; i++)
                assert_float_equal(before[(b * T + t) * C + i], c.out[(b * T + t) * C + i], 0.0f);
}

/* ---- attention over several causal blocks (T > the 64-query block) ---- */
enum { LT = 150, LC = 4, LH = 2 };
typedef struct {
    float *qkv_in, *qkv, *att, *out, *r, *cosv, *sinv;
} long_ctx;

static double long_loss(void *p)
{
    long_ctx *c = p;
    memcpy(c->qkv, c->qkv_in, sizeof(float) * LT * 3 * LC);
    attention_forward(c->out, c->qkv, c->att, c->cosv, c->sinv, 1, LT, LC, LH);
    return dot_double(c->out, c->r, LT * LC);
}

static void test_attention_long_sequence(void **state)
{
    (void)state;
    long_ctx c;
    c.qkv_in = es_floats_new(LT * 3 * LC);
    c.qkv = es_floats_new(LT * 3 * LC);
    c.att = es_floats_new((size_t)LH * LT * LT);
    c.out = es_floats_new(LT * LC);
    c.r = es_floats_new(LT * LC);
    c.cosv = es_floats_new(LT * LC / LH / 2);
    c.sinv = es_floats_new(LT * LC / LH / 2);
    fill_normal(c.qkv_in, LT * 3 * LC, 1.0f, 31);
    fill_normal(c.r, LT * LC, 1.0f, 32);
    rope_tables(c.cosv, c.sinv, LT, LC / LH, 10000.0);
    long_loss(&c);
    /* rows are probability distributions over the keys up to themselves */
    for (int h = 0; h < LH; h++)
        for (int i = 0; i < LT; i++) {
            double sum = 0;
            for (int j = 0; j < LT; j++) {
                float pij = c.att[((size_t)h * LT + i) * LT + j];
                if (j > i)
                    assert_true(pij == 0.0f);
                sum += pij;
            }
            assert_float_equal(sum, 1.0, 1e-5);
        }
    float *dqkv = es_floats_new(LT * 3 * LC), *scratch = es_floats_new((size_t)es_threads() * LT * LT);
    attention_backward(dqkv, scratch, c.r, c.qkv, c.att, c.cosv, c.sinv, 1, LT, LC, LH);
    assert_int_equal(gradcheck("attention.qkv (3 blocks)", c.qkv_in, dqkv, LT * 3 * LC, long_loss, &c, 1e-2f, 600), 0);
    float *bufs[] = {c.qkv_in, c.qkv, c.att, c.out, c.r, c.cosv, c.sinv, dqkv, scratch};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        es_floats_free(bufs[i]);
}

/* ---- SwiGLU ---- */
typedef struct {
    float inp[N * C], w13[2 * F * C], w2[C * F], h[N * 2 * F], z[N * F], out[N * C], r[N * C];
} ffn_ctx;

static double ffn_loss(void *p)
{
    ffn_ctx *c = p;
    swiglu_forward(c->out, c->h, c->z, c->inp, c->w13, c->w2, N, C, F, 0.0f);
    return dot_double(c->out, c->r, N * C);
}

static void test_swiglu(void **state)
{
    (void)state;
    ffn_ctx c;
    fill_normal(c.inp, N * C, 1.0f, 12);
    fill_normal(c.w13, 2 * F * C, 0.5f, 13);
    fill_normal(c.w2, C * F, 0.5f, 14);
    fill_normal(c.r, N * C, 1.0f, 15);
    ffn_loss(&c);
    float dinp[N * C] = {0}, dw13[2 * F * C] = {0}, dw2[C * F] = {0}, dh[N * 2 * F], dz[N * F];
    swiglu_backward(dinp, dw13, dw2, dh, dz, c.r, c.inp, c.h, c.z, c.w13, c.w2, N, C, F);
    assert_int_equal(gradcheck("swiglu.inp", c.inp, dinp, N * C, ffn_loss, &c, 1e-2f, 1000), 0);
    assert_int_equal(gradcheck("swiglu.w13", c.w13, dw13, 2 * F * C, ffn_loss, &c, 1e-2f, 1000), 0);
    assert_int_equal(gradcheck("swiglu.w2", c.w2, dw2, C * F, ffn_loss, &c, 1e-2f, 1000), 0);
}

/* ---- cross-entropy ---- */
typedef struct {
    float logits_in[N * V], logits[N * V], losses[N];
    int32_t targets[N];
} ce_ctx;

static double ce_loss(void *p)
{
    ce_ctx *c = p;
    memcpy(c->logits, c->logits_in, sizeof c->logits);
    return crossentropy_forward(c->logits, c->losses, c->targets, N, V);
}

static void test_crossentropy(void **state)
{
    (void)state;
    ce_ctx c;
    fill_normal(c.logits_in, N * V, 2.0f, 16);
    for (int n = 0; n < N; n++)
        c.targets[n] = (n * 5) % V;
    double loss = ce_loss(&c);
    assert_true(loss > 0);
    crossentropy_backward(c.logits, c.targets, N, V, 1.0f / N);
    float grad[N * V];
    memcpy(grad, c.logits, sizeof grad);
    assert_int_equal(gradcheck("crossentropy.logits", c.logits_in, grad, N * V, ce_loss, &c, 1e-2f, 1000), 0);
}

static void test_crossentropy_extreme_logits(void **state)
{
    (void)state;
    /* A target with vanishing probability still gets a finite, exact loss. */
    float logits[2] = {100.0f, -100.0f}, losses[1];
    int32_t target[1] = {1};
    double loss = crossentropy_forward(logits, losses, target, 1, 2);
    assert_float_equal(loss, 200.0, 1e-3);
}

int main(void)
{
    es_threads_set(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rmsnorm),     cmocka_unit_test(test_rmsnorm_grouped),     cmocka_unit_test(test_linear),
        cmocka_unit_test(test_embedding),   cmocka_unit_test(test_attention),
        cmocka_unit_test(test_attention_is_causal), cmocka_unit_test(test_attention_long_sequence),
        cmocka_unit_test(test_swiglu),
        cmocka_unit_test(test_crossentropy), cmocka_unit_test(test_crossentropy_extreme_logits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
