/* Tests of the matrix products of lib/core/parallel.h in their three
 * settings (OpenBLAS fp32, oneDNN fp32, oneDNN bf16) against a reference in
 * double precision, for the three forms, odd shapes, row strides wider
 * than the rows, beta 0 and 1, alpha != 1, inside and outside parallel
 * regions; the bf16 rounding; the primitive cache; determinism, and the
 * same bits for 1, 2 and 3 threads with oneDNN.
 *
 * Tolerances, with S[i,j] = sum_k |a_ik| |b_kj|:
 *   fp32 (either library) vs the double product of the fp32 operands:
 *     |c - ref| <= 1e-5 S + 1e-6  (fp32 accumulation over K <= 300 terms)
 *   bf16 vs the double product of the bf16-rounded operands: the same
 *     bound (only the accumulation is inexact);
 *   bf16 vs the double product of the fp32 operands: 2^-7 S + 1e-6 (each
 *     operand off by at most 2^-9 relative).
 * bf16 cases are skipped, with a message, where the CPU has no bf16. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/onednn.h"
#include "core/parallel.h"
#include "core/rng.h"

enum { FORM_NT, FORM_NN, FORM_TN };
static const char *const FORM_NAMES[] = {"nt", "nn", "tn"};

static float bf16_value(float x)
{
    uint16_t h;
    es_bf16_from_floats(1, 1, &x, 1, &h, 1);
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void fill(float *x, size_t n, uint64_t seed)
{
    es_rng rng;
    es_rng_seed(&rng, seed, 3);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)es_rng_normal(&rng);
}

static void call(int form, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc)
{
    if (form == FORM_NT)
        es_gemm_nt(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else if (form == FORM_NN)
        es_gemm_nn(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        es_gemm_tn(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* element (i,k) of op(A) and (k,j) of op(B) */
static float a_at(int form, const float *A, int lda, int i, int k)
{
    return form == FORM_TN ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
}

static float b_at(int form, const float *B, int ldb, int k, int j)
{
    return form == FORM_NT ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
}

typedef struct {
    int form, M, N, K, pad;
    float alpha, beta;
} gemm_case;

/* Runs one case in the settings in force and checks every element of C
 * (and that the padding between rows is untouched). bf16: compare with
 * the rounded operands (tight) and the fp32 ones (loose). Returns the
 * number of bad elements. */
static int check_case(const gemm_case *g, int bf16, int nested)
{
    int form = g->form, M = g->M, N = g->N, K = g->K;
    int a_rows = form == FORM_TN ? K : M, a_cols = form == FORM_TN ? M : K;
    int b_rows = form == FORM_NT ? N : K, b_cols = form == FORM_NT ? K : N;
    int lda = a_cols + g->pad, ldb = b_cols + g->pad, ldc = N + g->pad;
    float *A = malloc(sizeof(float) * (size_t)a_rows * lda), *B = malloc(sizeof(float) * (size_t)b_rows * ldb);
    float *C = malloc(sizeof(float) * (size_t)M * ldc), *C0 = malloc(sizeof(float) * (size_t)M * ldc);
    fill(A, (size_t)a_rows * lda, 11 + (uint64_t)M);
    fill(B, (size_t)b_rows * ldb, 12 + (uint64_t)N);
    fill(C0, (size_t)M * ldc, 13 + (uint64_t)K);
    memcpy(C, C0, sizeof(float) * (size_t)M * ldc);
    if (nested) {
        /* inside a parallel region every thread does the whole product
         * serially into its own copy; thread 0's is checked */
        float *copies = malloc(sizeof(float) * (size_t)M * ldc * 2);
        memcpy(copies, C0, sizeof(float) * (size_t)M * ldc);
        memcpy(copies + (size_t)M * ldc, C0, sizeof(float) * (size_t)M * ldc);
#pragma omp parallel num_threads(2)
        call(form, M, N, K, g->alpha, A, lda, B, ldb, g->beta, copies + (size_t)omp_get_thread_num() * M * ldc, ldc);
        memcpy(C, copies, sizeof(float) * (size_t)M * ldc);
        assert_memory_equal(copies, copies + (size_t)M * ldc, sizeof(float) * (size_t)M * ldc);
        free(copies);
    } else {
        call(form, M, N, K, g->alpha, A, lda, B, ldb, g->beta, C, ldc);
    }
    int bad = 0;
    double worst = 0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double ref = 0, ref16 = 0, scale = 0;
            for (int k = 0; k < K; k++) {
                float a = a_at(form, A, lda, i, k), b = b_at(form, B, ldb, k, j);
                ref += (double)a * b;
                ref16 += (double)bf16_value(a) * bf16_value(b);
                scale += fabs((double)a * b);
            }
            double c0 = C0[(size_t)i * ldc + j];
            ref = g->alpha * ref + g->beta * c0;
            ref16 = g->alpha * ref16 + g->beta * c0;
            scale = fabs(g->alpha) * scale + fabs(g->beta * c0);
            double got = C[(size_t)i * ldc + j];
            double tight = 1e-5 * scale + 1e-6;
            double err = fabs(got - (bf16 ? ref16 : ref));
            int ok = err <= tight && (!bf16 || fabs(got - ref) <= 0x1p-7 * scale + 1e-6);
            worst = fmax(worst, err / tight);
            if (!ok && bad++ < 3)
                fprintf(stderr, "%s %dx%dx%d pad %d beta %g%s: C[%d,%d] = %.8g, expected %.8g (bf16 operands %.8g)\n",
                        FORM_NAMES[form], M, N, K, g->pad, g->beta, nested ? " nested" : "", i, j, got, ref, ref16);
        }
        for (int j = N; j < ldc; j++)
            if (C[(size_t)i * ldc + j] != C0[(size_t)i * ldc + j] && bad++ < 3)
                fprintf(stderr, "%s: padding C[%d,%d] was written\n", FORM_NAMES[form], i, j);
    }
    free(A);
    free(B);
    free(C);
    free(C0);
    return bad;
}

static const gemm_case CASES[] = {
    {FORM_NT, 1, 1, 1, 0, 1.0f, 0.0f},     {FORM_NT, 17, 13, 5, 3, 1.0f, 1.0f},
    {FORM_NT, 100, 128, 64, 0, 1.0f, 0.0f}, {FORM_NT, 300, 70, 257, 5, 1.0f, 1.0f},
    {FORM_NT, 129, 33, 40, 1, 0.5f, 0.0f},  {FORM_NN, 1, 7, 3, 2, 1.0f, 1.0f},
    {FORM_NN, 37, 64, 128, 0, 1.0f, 0.0f},  {FORM_NN, 300, 70, 257, 4, 1.0f, 1.0f},
    {FORM_NN, 65, 9, 31, 1, 0.25f, 1.0f},   {FORM_TN, 1, 1, 1, 0, 1.0f, 1.0f},
    {FORM_TN, 64, 64, 97, 0, 1.0f, 1.0f},   {FORM_TN, 128, 64, 300, 3, 1.0f, 0.0f},
    {FORM_TN, 300, 70, 257, 2, 1.0f, 1.0f}, {FORM_TN, 7, 130, 11, 1, 2.0f, 0.0f},
};
enum { N_CASES = sizeof CASES / sizeof CASES[0] };

static int run_all(int bf16)
{
    int bad = 0;
    for (int nested = 0; nested < 2; nested++)
        for (int i = 0; i < N_CASES; i++)
            bad += check_case(&CASES[i], bf16, nested);
    return bad;
}

static void test_openblas_fp32(void **state)
{
    (void)state;
    es_gemm_library_set(ES_GEMM_OPENBLAS);
    assert_int_equal(es_precision_set(ES_PRECISION_FP32), ES_PRECISION_FP32);
    assert_int_equal(run_all(0), 0);
}

static void test_onednn_fp32(void **state)
{
    (void)state;
    es_gemm_library_set(ES_GEMM_ONEDNN);
    assert_int_equal(es_precision_set(ES_PRECISION_FP32), ES_PRECISION_FP32);
    long before = es_gemm_fallbacks();
    assert_int_equal(run_all(0), 0);
    assert_int_equal(es_gemm_fallbacks(), before); /* oneDNN did them all */
}

static void test_onednn_bf16(void **state)
{
    (void)state;
    if (!es_bf16_available()) {
        fprintf(stderr, "skipped: this CPU has neither AVX512-BF16 nor AMX\n");
        skip();
    }
    assert_int_equal(es_precision_set(ES_PRECISION_BF16), ES_PRECISION_BF16);
    long before = es_gemm_fallbacks();
    assert_int_equal(run_all(1), 0);
    assert_int_equal(es_gemm_fallbacks(), before);
    fprintf(stderr, "bf16 implementation: %s\n", es_onednn_impl(0, 1, 1, 1024, 1024, 1024));
    es_precision_set(ES_PRECISION_FP32);
}

static void test_bf16_rounding(void **state)
{
    (void)state;
    /* 17 values: the first 16 take the vector path where there is one,
     * the last the scalar path; each value is tested in both positions */
    const float values[] = {1.0f, 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-7f + 0x1p-9f, -2.5f, 0x1p-130f,
                            INFINITY, 65504.0f};
    const uint16_t expected[] = {0x3f80, 0x3f80, 0x3f82, 0x3f81, 0xc020, 0x0000, 0x7f80, 0x4780};
    for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
        float src[17];
        uint16_t dst[17];
        for (int i = 0; i < 17; i++)
            src[i] = values[v];
        es_bf16_from_floats(1, 17, src, 17, dst, 17);
        for (int i = 0; i < 17; i++)
            if (dst[i] != expected[v])
                fail_msg("bf16(%a) at %d = %#x, expected %#x", (double)values[v], i, dst[i], expected[v]);
    }
    float nan_in[17];
    uint16_t out[17];
    for (int i = 0; i < 17; i++)
        nan_in[i] = NAN;
    es_bf16_from_floats(1, 17, nan_in, 17, out, 17);
    for (int i = 0; i < 17; i++)
        assert_true((out[i] & 0x7f80) == 0x7f80 && (out[i] & 0x7f) != 0);
}

static void test_primitive_cache(void **state)
{
    (void)state;
    es_gemm_library_set(ES_GEMM_ONEDNN);
    es_precision_set(ES_PRECISION_FP32);
    gemm_case g = {FORM_NT, 23, 29, 31, 0, 1.0f, 0.0f};
    assert_int_equal(check_case(&g, 0, 0), 0);
    long n = es_onednn_cache_size();
    assert_true(n > 0);
    assert_int_equal(check_case(&g, 0, 0), 0);
    assert_int_equal(es_onednn_cache_size(), n); /* the same shape: no new primitive */
    g.M = 24;
    assert_int_equal(check_case(&g, 0, 0), 0);
    assert_int_equal(es_onednn_cache_size(), n + 1); /* a new M: one more */
}

static void test_same_bits_twice(void **state)
{
    (void)state;
    int M = 200, N = 96, K = 160;
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * N * K);
    float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
    fill(A, (size_t)M * K, 5);
    fill(B, (size_t)N * K, 6);
    for (int p = 0; p < 2; p++) {
        if (p == 1 && !es_bf16_available()) {
            fprintf(stderr, "bf16 part skipped: this CPU has neither AVX512-BF16 nor AMX\n");
            break;
        }
        es_precision_set(p ? ES_PRECISION_BF16 : ES_PRECISION_FP32);
        es_gemm_nt(M, N, K, 1.0f, A, K, B, K, 0.0f, C1, N);
        es_gemm_nt(M, N, K, 1.0f, A, K, B, K, 0.0f, C2, N);
        assert_memory_equal(C1, C2, sizeof(float) * M * N);
    }
    es_precision_set(ES_PRECISION_FP32);
    free(A);
    free(B);
    free(C1);
    free(C2);
}

/* Uniform in [-1, 1): quicker than fill() for the large matrices below. */
static void fill_uniform(float *x, size_t n, uint64_t seed)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x[i] = (float)(int32_t)(s >> 32) * 0x1p-31f;
    }
}

/* Bit-identical C for 1, 2 and 3 threads through oneDNN (fp32 or bf16),
 * all three forms, shapes of this tool's products (K = the 2048 tokens
 * of a step in the weight gradients) and large ones, beta 0 and 1. */
static void same_bits_across_threads(int bf16)
{
    static const gemm_case cases[] = {
        {FORM_TN, 64, 64, 2048, 0, 1.0f, 1.0f},   {FORM_TN, 4096, 64, 2048, 0, 1.0f, 0.0f},
        {FORM_TN, 2048, 64, 4096, 0, 1.0f, 1.0f}, {FORM_TN, 192, 64, 2048, 0, 1.0f, 1.0f},
        {FORM_TN, 43, 64, 2048, 0, 1.0f, 1.0f},   {FORM_TN, 300, 70, 2049, 3, 0.5f, 1.0f},
        {FORM_TN, 128, 128, 128, 0, 1.0f, 0.0f},  {FORM_NT, 2048, 192, 64, 0, 1.0f, 0.0f},
        {FORM_NT, 2048, 64, 2048, 0, 1.0f, 1.0f}, {FORM_NT, 300, 70, 2049, 3, 1.0f, 1.0f},
        {FORM_NN, 2048, 64, 192, 0, 1.0f, 1.0f},  {FORM_NN, 64, 64, 2048, 0, 1.0f, 0.0f},
        {FORM_NN, 2048, 64, 2048, 0, 1.0f, 1.0f}, {FORM_NN, 300, 70, 2049, 3, 1.0f, 0.0f},
    };
    es_gemm_library_set(ES_GEMM_ONEDNN);
    assert_int_equal(es_precision_set(bf16 ? ES_PRECISION_BF16 : ES_PRECISION_FP32),
                     bf16 ? ES_PRECISION_BF16 : ES_PRECISION_FP32);
    int differ = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const gemm_case *g = &cases[i];
        int form = g->form, M = g->M, N = g->N, K = g->K;
        int a_rows = form == FORM_TN ? K : M, a_cols = form == FORM_TN ? M : K;
        int b_rows = form == FORM_NT ? N : K, b_cols = form == FORM_NT ? K : N;
        int lda = a_cols + g->pad, ldb = b_cols + g->pad, ldc = N + g->pad;
        size_t nc = (size_t)M * ldc;
        float *A = malloc(sizeof(float) * (size_t)a_rows * lda), *B = malloc(sizeof(float) * (size_t)b_rows * ldb);
        float *C0 = malloc(sizeof(float) * nc), *C1 = malloc(sizeof(float) * nc), *C = malloc(sizeof(float) * nc);
        fill_uniform(A, (size_t)a_rows * lda, 21 + (uint64_t)M);
        fill_uniform(B, (size_t)b_rows * ldb, 22 + (uint64_t)N);
        fill_uniform(C0, nc, 23 + (uint64_t)K);
        for (int threads = 1; threads <= 3; threads++) {
            es_threads_set(threads);
            float *out = threads == 1 ? C1 : C;
            memcpy(out, C0, sizeof(float) * nc);
            call(form, M, N, K, g->alpha, A, lda, B, ldb, g->beta, out, ldc);
            if (threads > 1 && memcmp(C1, C, sizeof(float) * nc) != 0) {
                size_t j = 0;
                while (C1[j] == C[j])
                    j++;
                fprintf(stderr, "%s %s %dx%dx%d: %d threads give C[%zu] = %.9g, 1 thread %.9g\n",
                        bf16 ? "bf16" : "fp32", FORM_NAMES[form], M, N, K, threads, j, C[j], C1[j]);
                differ++;
            }
        }
        free(A);
        free(B);
        free(C0);
        free(C1);
        free(C);
    }
    es_threads_set(2);
    es_precision_set(ES_PRECISION_FP32);
    assert_int_equal(differ, 0);
}

static void test_fp32_same_bits_across_threads(void **state)
{
    (void)state;
    same_bits_across_threads(0);
}

static void test_bf16_same_bits_across_threads(void **state)
{
    (void)state;
    if (!es_bf16_available()) {
        fprintf(stderr, "skipped: this CPU has neither AVX512-BF16 nor AMX\n");
        skip();
    }
    same_bits_across_threads(1);
}

static void test_fallback_without_bf16(void **state)
{
    (void)state;
    setenv("ENGRAM_SCALE_NO_BF16", "1", 1);
    assert_int_equal(es_bf16_available(), 0);
    assert_int_equal(es_precision_set(ES_PRECISION_BF16), ES_PRECISION_FP32);
    assert_int_equal(es_precision_get(), ES_PRECISION_FP32);
    unsetenv("ENGRAM_SCALE_NO_BF16");
}

int main(void)
{
    es_threads_set(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openblas_fp32),   cmocka_unit_test(test_onednn_fp32),
        cmocka_unit_test(test_onednn_bf16),     cmocka_unit_test(test_bf16_rounding),
        cmocka_unit_test(test_primitive_cache), cmocka_unit_test(test_same_bits_twice),
        cmocka_unit_test(test_fallback_without_bf16),
        cmocka_unit_test(test_fp32_same_bits_across_threads),
        cmocka_unit_test(test_bf16_same_bits_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
