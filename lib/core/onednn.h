/* oneDNN matrix products behind es_gemm_* (internal to lib/core).
 *
 * One serial product C[M,N] = alpha op(A) op(B) + beta C in row-major fp32
 * memory, through a oneDNN matmul primitive created once per shape and kept
 * in a process-wide cache (thread-safe; the primitives run in the calling
 * thread only, so the caller owns all parallelism). With bf16 set, A and B
 * are rounded to bf16 (round to nearest even) into thread-local buffers
 * before the product; accumulation and C stay fp32.
 *
 * Shapes of A and B as in parallel.h: transpose_a: A is [K,M] (else [M,K]);
 * transpose_b: B is [N,K] (else [K,N]). */
#ifndef ES_CORE_ONEDNN_H
#define ES_CORE_ONEDNN_H

/* 0 on success; non-zero if oneDNN refused the shape (the caller then uses
 * OpenBLAS and counts a fallback). */
int es_onednn_gemm(int transpose_a, int transpose_b, int bf16, int M, int N, int K, float alpha, const float *A,
                   int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* 1 if this CPU runs oneDNN's bf16 matmul natively (AVX512-BF16 or AMX). */
int es_onednn_bf16_native(void);

/* The implementation oneDNN picks for a product of this form and shape
 * (e.g. "brg:avx512_core_bf16"); a static string, "" if none. */
const char *es_onednn_impl(int transpose_a, int transpose_b, int bf16, int M, int N, int K);

/* Primitives in the cache (for tests). */
long es_onednn_cache_size(void);

#endif
