/* oneDNN matrix products behind es_gemm_* (internal to lib/core).
 *
 * One serial product C[M,N] = alpha op(A) op(B) + beta C, row-major,
 * through a oneDNN matmul primitive created once per shape and kept in a
 * process-wide cache (thread-safe; the primitives run in the calling
 * thread only, so the caller owns all parallelism). A and B are fp32, or
 * with bf16 set uint16_t bf16 values (es_bf16_from_floats); accumulation
 * and C are fp32.
 *
 * Shapes of A and B as in parallel.h: transpose_a: A is [K,M] (else [M,K]);
 * transpose_b: B is [N,K] (else [K,N]); lda/ldb/ldc row strides in
 * elements. */
#ifndef ES_CORE_ONEDNN_H
#define ES_CORE_ONEDNN_H

#include <stdint.h>

/* 0 on success; non-zero if oneDNN refused the shape (the caller then uses
 * OpenBLAS and counts a fallback). */
int es_onednn_gemm(int transpose_a, int transpose_b, int bf16, int M, int N, int K, float alpha, const void *A,
                   int lda, const void *B, int ldb, float beta, float *C, int ldc);

/* dst[r, j] = bf16(src[r, j]) for rows x cols (row strides ld, ld_dst):
 * round to nearest even, denormals to zero, as vcvtneps2bf16 does (used
 * where the compiler targets AVX512-BF16). */
void es_bf16_from_floats(int rows, int cols, const float *src, int ld, uint16_t *dst, int ld_dst);

/* 1 if this CPU runs oneDNN's bf16 matmul natively (AVX512-BF16 or AMX). */
int es_onednn_bf16_native(void);

/* The implementation oneDNN picks for a product of this form and shape
 * (e.g. "brg:avx512_core_bf16"); a static string, "" if none. */
const char *es_onednn_impl(int transpose_a, int transpose_b, int bf16, int M, int N, int K);

/* Primitives in the cache (for tests). */
long es_onednn_cache_size(void);

#endif
