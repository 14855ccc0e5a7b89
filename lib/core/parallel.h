/* Threads and matrix products.
 *
 * OpenBLAS is kept single-threaded and every level of parallelism is ours
 * (OpenMP), so the two never fight over the cores: a large product is split
 * into row blocks, one serial product per block; a product issued inside a
 * parallel region (attention heads, experts) runs serially in its thread.
 * Results are bit-identical for the same thread count. Through oneDNN
 * (fp32 or bf16) they are also bit-identical across thread counts:
 *   es_gemm_tn by construction: a large product is cut into row blocks
 *     fixed by its shape, each one oneDNN call on a dense copy of its
 *     columns of A, and the threads share out the blocks, so 1 thread and
 *     any other count make the same calls (lib/core/parallel.c, gemm_tn);
 *   es_gemm_nt and es_gemm_nn by oneDNN's brgemm computing a block of
 *     rows of A as it computes the whole product (one block per thread;
 *     checked at M 64..4096, N 64..4096, K 64..4096 and by
 *     tests/core/test_gemm).
 * Through OpenBLAS (ES_GEMM_OPENBLAS) a row block can round differently
 * from the whole product, so thread counts may differ.
 *
 * All matrices are row-major fp32. The three forms a layer needs:
 *   es_gemm_nt: C[M,N] = alpha * A[M,K] . B[N,K]^T + beta * C   (forward: x W^T)
 *   es_gemm_nn: C[M,N] = alpha * A[M,K] . B[K,N]   + beta * C   (backward: dy W)
 *   es_gemm_tn: C[M,N] = alpha * A[K,M]^T . B[K,N] + beta * C   (weight grads: dy^T x)
 * lda/ldb/ldc are row strides in floats.
 *
 * Precision and library are process-wide settings the three wrappers obey,
 * so every layer follows them without change:
 *   ES_PRECISION_FP32: fp32 operands, through oneDNN's fp32 matmul
 *     (ES_GEMM_ONEDNN, the default: 2-3x OpenBLAS on this tool's small
 *     shapes) or OpenBLAS cblas_sgemm (ES_GEMM_OPENBLAS, the reference).
 *   ES_PRECISION_BF16: A and B are rounded to bf16 (nearest even) and
 *     multiplied by oneDNN (AMX or AVX512-BF16) with fp32 accumulation;
 *     C stays fp32. Only where the CPU runs bf16 natively.
 * oneDNN primitives are created once per shape and cached (lib/core/onednn.c).
 * Set both before training and not while products run. */
#ifndef ES_CORE_PARALLEL_H
#define ES_CORE_PARALLEL_H

/* Sets the worker thread count (0 = all cores) and pins OpenBLAS to one
 * thread. Returns the count in force. */
int es_threads_set(int n);
int es_threads(void);

typedef enum { ES_PRECISION_FP32 = 0, ES_PRECISION_BF16 = 1 } es_precision;
typedef enum { ES_GEMM_ONEDNN = 0, ES_GEMM_OPENBLAS = 1 } es_gemm_library;

/* 1 if this CPU multiplies bf16 natively (AVX512-BF16 or AMX, as oneDNN
 * sees it). The environment variable ENGRAM_SCALE_NO_BF16=1 makes it 0
 * (to test the fallback on any machine). */
int es_bf16_available(void);

/* Sets the precision of es_gemm_*; bf16 where es_bf16_available() is 0
 * falls back to fp32. Returns the precision in force, so the caller can
 * tell the user about a fallback (lib/ does not print). */
es_precision es_precision_set(es_precision p);
es_precision es_precision_get(void);

/* The library of fp32 products (bf16 always uses oneDNN). */
void es_gemm_library_set(es_gemm_library lib);
es_gemm_library es_gemm_library_get(void);

/* Products oneDNN refused and OpenBLAS did in fp32 instead (should stay 0). */
long es_gemm_fallbacks(void);

void es_gemm_nt(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                float beta, float *C, int ldc);
void es_gemm_nn(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                float beta, float *C, int ldc);
void es_gemm_tn(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                float beta, float *C, int ldc);

/* Monotonic wall-clock seconds. */
double es_seconds(void);

#endif
