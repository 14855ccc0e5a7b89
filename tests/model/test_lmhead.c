/* The fused LM head and cross-entropy (lib/model/lmhead.c): finite-difference
 * gradients, agreement with the unfused layers (linear + crossentropy), the
 * same bits with any thread count, and a loss that stays exact when the
 * target's probability underflows. Sizes are chosen so that tokens span
 * several chunks and groups with a ragged last chunk, and the vocabulary is
 * not a multiple of the 16-float vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/mem.h"
#include "core/parallel.h"
#include "gradcheck.h"
#include "model/layers.h"

typedef struct {
    int N, C, V;
    float *x, *w, *losses, *scratch;
    int32_t *targets;
} head_ctx;

static void head_init(head_ctx *h, int N, int C, int V, float std, uint64_t seed)
{
    h->N = N;
    h->C = C;
    h->V = V;
    h->x = es_floats_new((size_t)N * C);
    h->w = es_floats_new((size_t)V * C);
    h->losses = es_floats_new((size_t)N);
    h->scratch = es_floats_new(lmhead_scratch_floats(N, V, C, 3));
    h->targets = calloc((size_t)N, sizeof(int32_t));
    assert_non_null(h->x);
    assert_non_null(h->w);
    assert_non_null(h->losses);
    assert_non_null(h->scratch);
    assert_non_null(h->targets);
    fill_normal(h->x, (size_t)N * C, 1.0f, seed);
    fill_normal(h->w, (size_t)V * C, std, seed + 1);
    es_rng rng;
    es_rng_seed(&rng, seed, 3);
    for (int n = 0; n < N; n++)
        h->targets[n] = (int32_t)es_rng_below(&rng, (uint64_t)V);
}

static void head_free(head_ctx *h)
{
    es_floats_free(h->x);
    es_floats_free(h->w);
    es_floats_free(h->losses);
    es_floats_free(h->scratch);
    free(h->targets);
}

/* The summed loss: gradients of order one, not 1/N. */
static double head_loss(void *p)
{
    head_ctx *h = p;
    return h->N * lmhead_forward(h->losses, h->scratch, h->x, h->w, h->targets, h->N, h->C, h->V);
}

static void test_lmhead_gradients(void **state)
{
    (void)state;
    head_ctx h;
    head_init(&h, 3 * LMHEAD_CHUNK + 5, 8, 37, 0.5f, 21);
    float *dx = es_floats_new((size_t)h.N * h.C), *dw = es_floats_new((size_t)h.V * h.C);
    double loss = lmhead_forward_backward(h.losses, dx, dw, h.scratch, h.x, h.w, h.targets, h.N, h.C, h.V, 1.0f);
    assert_true(loss > 0);
    assert_int_equal(gradcheck("lmhead.x", h.x, dx, (size_t)h.N * h.C, head_loss, &h, 1e-2f, 400), 0);
    assert_int_equal(gradcheck("lmhead.w", h.w, dw, (size_t)h.V * h.C, head_loss, &h, 1e-2f, 400), 0);
    es_floats_free(dx);
    es_floats_free(dw);
    head_free(&h);
}

static double max_abs(const float *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

/* Largest |a - b| relative to the largest |b|. */
static double max_rel_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m / max_abs(b, n);
}

static void test_lmhead_matches_unfused_layers(void **state)
{
    (void)state;
    head_ctx h;
    int N = 5 * LMHEAD_CHUNK + 17, C = 24, V = 1000;
    head_init(&h, N, C, V, 0.3f, 31);
    size_t NC = (size_t)N * C, VC = (size_t)V * C;
    float *logits = es_floats_new((size_t)N * V), *ref_losses = es_floats_new((size_t)N);
    float *ref_dx = es_floats_new(NC), *ref_dw = es_floats_new(VC), *dx = es_floats_new(NC), *dw = es_floats_new(VC);
    /* the unfused reference: logits = x w^T, softmax cross-entropy, backward */
    linear_forward(logits, h.x, h.w, N, C, V, 0.0f);
    double ref = crossentropy_forward(logits, ref_losses, h.targets, N, V);
    crossentropy_backward(logits, h.targets, N, V, 1.0f / N);
    linear_backward(ref_dx, ref_dw, logits, h.x, h.w, N, C, V);
    /* backward accumulates: start the fused one from non-zero gradients */
    for (size_t i = 0; i < NC; i++)
        dx[i] = 0.25f;
    for (size_t i = 0; i < VC; i++)
        dw[i] = 0.25f;
    double fused = lmhead_forward_backward(h.losses, dx, dw, h.scratch, h.x, h.w, h.targets, N, C, V, 1.0f / N);
    for (size_t i = 0; i < NC; i++)
        dx[i] -= 0.25f;
    for (size_t i = 0; i < VC; i++)
        dw[i] -= 0.25f;
    double loss_err = 0;
    for (int n = 0; n < N; n++)
        loss_err = fmax(loss_err, fabs((double)h.losses[n] - ref_losses[n]));
    double dx_err = max_rel_diff(dx, ref_dx, NC), dw_err = max_rel_diff(dw, ref_dw, VC);
    fprintf(stderr, "lmhead vs unfused: mean loss %.9f vs %.9f, max token loss diff %.3g, dx %.3g, dw %.3g (relative to max)\n",
            fused, ref, loss_err, dx_err, dw_err);
    /* fp32 rounding of exponentials and sums over V = 1000 terms */
    assert_true(fabs(fused - ref) < 1e-6 * ref);
    assert_true(loss_err < 1e-5);
    /* dx, dw: the +-0.25 offsets cost about 3e-8 absolute; gradients are ~1e-3 */
    assert_true(dx_err < 1e-4);
    assert_true(dw_err < 1e-4);
    /* the evaluation path gives the same loss to the bit */
    assert_true(lmhead_forward(ref_losses, h.scratch, h.x, h.w, h.targets, N, C, V) == fused);
    assert_memory_equal(ref_losses, h.losses, sizeof(float) * (size_t)N);
    es_floats_free(logits);
    es_floats_free(ref_losses);
    es_floats_free(ref_dx);
    es_floats_free(ref_dw);
    es_floats_free(dx);
    es_floats_free(dw);
    head_free(&h);
}

static void test_lmhead_threads_do_not_change_the_bits(void **state)
{
    (void)state;
    head_ctx h;
    int N = 11 * LMHEAD_CHUNK + 3, C = 16, V = 301;
    head_init(&h, N, C, V, 0.4f, 41);
    size_t NC = (size_t)N * C, VC = (size_t)V * C;
    float *dx[3], *dw[3];
    double loss[3];
    for (int k = 0; k < 3; k++) {
        dx[k] = es_floats_new(NC);
        dw[k] = es_floats_new(VC);
        es_threads_set(k + 1);
        loss[k] = lmhead_forward_backward(h.losses, dx[k], dw[k], h.scratch, h.x, h.w, h.targets, N, C, V, 1.0f / N);
    }
    es_threads_set(2);
    for (int k = 1; k < 3; k++) {
        assert_true(loss[k] == loss[0]);
        assert_memory_equal(dx[k], dx[0], sizeof(float) * NC);
        assert_memory_equal(dw[k], dw[0], sizeof(float) * VC);
    }
    for (int k = 0; k < 3; k++) {
        es_floats_free(dx[k]);
        es_floats_free(dw[k]);
    }
    head_free(&h);
}

static void test_lmhead_extreme_logits(void **state)
{
    (void)state;
    /* logits 100 and -100 with the target on the second: p underflows in
     * fp32, the loss must still be 200 */
    float x[1] = {1.0f}, w[2] = {100.0f, -100.0f}, losses[1], dx[1] = {0}, dw[2] = {0};
    float *scratch = es_floats_new(lmhead_scratch_floats(1, 2, 1, es_threads()));
    int32_t target[1] = {1};
    assert_float_equal(lmhead_forward(losses, scratch, x, w, target, 1, 1, 2), 200.0, 1e-3);
    assert_float_equal(lmhead_forward_backward(losses, dx, dw, scratch, x, w, target, 1, 1, 2, 1.0f), 200.0, 1e-3);
    /* d/dx = w[0] p0 + w[1] (p1 - 1) = 100 + 100 */
    assert_float_equal(dx[0], 200.0, 1e-3);
    es_floats_free(scratch);
}

int main(void)
{
    es_threads_set(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lmhead_gradients),
        cmocka_unit_test(test_lmhead_matches_unfused_layers),
        cmocka_unit_test(test_lmhead_threads_do_not_change_the_bits),
        cmocka_unit_test(test_lmhead_extreme_logits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
