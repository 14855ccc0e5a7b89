#include "core/parallel.h"

#include <cblas.h>
#include <omp.h>
#include <time.h>

static int thread_count = 1;

int es_threads_set(int n)
{
    if (n <= 0)
        n = omp_get_num_procs();
    thread_count = n;
    omp_set_num_threads(n);
    openblas_set_num_threads(1);
    return n;
}

int es_threads(void) { return thread_count; }

double es_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Rows [*begin, *end) of M for thread t of n, in blocks of 16 rows so that
 * every thread but the last gets whole micro-kernel panels. */
static void split_rows(int M, int t, int n, int *begin, int *end)
{
    int blocks = (M + 15) / 16;
    int b0 = (int)((long)blocks * t / n), b1 = (int)((long)blocks * (t + 1) / n);
    *begin = b0 * 16 < M ? b0 * 16 : M;
    *end = b1 * 16 < M ? b1 * 16 : M;
}

/* Work below this many multiply-adds is not worth waking threads for. */
static int worth_splitting(int M, int N, int K)
{
    return thread_count > 1 && !omp_in_parallel() && (double)M * N * K >= 262144.0 && M >= 32;
}

/* C = alpha op(A) B' + beta C with op(A) = A or A^T, split into row blocks
 * of C, one serial sgemm per thread. Rows of C are rows of A, or columns of
 * A when it is transposed. */
static void gemm_split(int transpose_a, int transpose_b, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc)
{
    enum CBLAS_TRANSPOSE ta = transpose_a ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = transpose_b ? CblasTrans : CblasNoTrans;
    if (!worth_splitting(M, N, K)) {
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#pragma omp parallel num_threads(thread_count)
    {
        int m0, m1;
        split_rows(M, omp_get_thread_num(), omp_get_num_threads(), &m0, &m1);
        const float *a = transpose_a ? A + m0 : A + (long)m0 * lda;
        if (m1 > m0)
            cblas_sgemm(CblasRowMajor, ta, tb, m1 - m0, N, K, alpha, a, lda, B, ldb, beta, C + (long)m0 * ldc, ldc);
    }
}

void es_gemm_nt(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc)
{
    gemm_split(0, 1, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void es_gemm_nn(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc)
{
    gemm_split(0, 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void es_gemm_tn(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc)
{
    gemm_split(1, 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
