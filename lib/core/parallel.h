/* Threads and matrix products.
 *
 * OpenBLAS is kept single-threaded and every level of parallelism is ours
 * (OpenMP), so the two never fight over the cores: a large product is split
 * into row blocks, one serial sgemm per thread; a product issued inside a
 * parallel region (attention heads, experts) runs serially in its thread.
 * The split depends only on the thread count, so results are bit-identical
 * for the same thread count.
 *
 * All matrices are row-major fp32. The three forms a layer needs:
 *   es_gemm_nt: C[M,N] = alpha * A[M,K] . B[N,K]^T + beta * C   (forward: x W^T)
 *   es_gemm_nn: C[M,N] = alpha * A[M,K] . B[K,N]   + beta * C   (backward: dy W)
 *   es_gemm_tn: C[M,N] = alpha * A[K,M]^T . B[K,N] + beta * C   (weight grads: dy^T x)
 * lda/ldb/ldc are row strides in floats. */
#ifndef ES_CORE_PARALLEL_H
#define ES_CORE_PARALLEL_H

/* Sets the worker thread count (0 = all cores) and pins OpenBLAS to one
 * thread. Returns the count in force. */
int es_threads_set(int n);
int es_threads(void);

void es_gemm_nt(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                float beta, float *C, int ldc);
void es_gemm_nn(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                float beta, float *C, int ldc);
void es_gemm_tn(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                float beta, float *C, int ldc);

/* Monotonic wall-clock seconds. */
double es_seconds(void);

#endif
