#include "core/parallel.h"

#include "core/onednn.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int thread_count = 1;
static es_precision precision = ES_PRECISION_FP32;
static es_gemm_library library = ES_GEMM_ONEDNN;
static long fallbacks;

int es_bf16_available(void)
{
    const char *off = getenv("ENGRAM_SCALE_NO_BF16");
    if (off && *off && strcmp(off, "0") != 0)
        return 0;
    return es_onednn_bf16_native();
}

es_precision es_precision_set(es_precision p)
{
    precision = p == ES_PRECISION_BF16 && es_bf16_available() ? ES_PRECISION_BF16 : ES_PRECISION_FP32;
    return precision;
}

es_precision es_precision_get(void) { return precision; }

void es_gemm_library_set(es_gemm_library lib) { library = lib; }

es_gemm_library es_gemm_library_get(void) { return library; }

long es_gemm_fallbacks(void)
{
    long n;
#pragma omp atomic read
    n = fallbacks;
    return n;
}

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

/* One serial product in the precision and library in force. */
static void gemm_serial(int transpose_a, int transpose_b, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc)
{
    int bf16 = precision == ES_PRECISION_BF16;
    if (bf16 || library == ES_GEMM_ONEDNN) {
        if (es_onednn_gemm(transpose_a, transpose_b, bf16, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) == 0)
            return;
#pragma omp atomic
        fallbacks++;
    }
    cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* C = alpha op(A) B' + beta C with op(A) = A or A^T, split into row blocks
 * of C, one serial product per thread (measured faster than letting
 * oneDNN thread one product on this tool's shapes). Rows of C are rows of
 * A, or columns of A when it is transposed. */
static void gemm_split(int transpose_a, int transpose_b, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc)
{
    if (!worth_splitting(M, N, K)) {
        gemm_serial(transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#pragma omp parallel num_threads(thread_count)
    {
        int m0, m1;
        split_rows(M, omp_get_thread_num(), omp_get_num_threads(), &m0, &m1);
        const float *a = transpose_a ? A + m0 : A + (long)m0 * lda;
        if (m1 > m0)
            gemm_serial(transpose_a, transpose_b, m1 - m0, N, K, alpha, a, lda, B, ldb, beta, C + (long)m0 * ldc,
                        ldc);
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
