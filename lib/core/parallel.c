#include "core/parallel.h"

#include "core/onednn.h"

#include <cblas.h>
#include <omp.h>
#include <pthread.h>
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

static void count_fallback(void)
{
#pragma omp atomic
    fallbacks++;
}

static void sgemm(int transpose_a, int transpose_b, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* One serial fp32 product through the library in force. */
static void gemm_fp32(int transpose_a, int transpose_b, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc)
{
    if (library == ES_GEMM_ONEDNN) {
        if (es_onednn_gemm(transpose_a, transpose_b, 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) == 0)
            return;
        count_fallback();
    }
    sgemm(transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* C = alpha op(A) op(B) + beta C in fp32, split into row blocks of C, one
 * serial product per thread (measured faster than letting oneDNN thread
 * one product on this tool's shapes). Rows of C are rows of A, or columns
 * of A when it is transposed. */
static void gemm_split(int transpose_a, int transpose_b, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc)
{
    if (!worth_splitting(M, N, K)) {
        gemm_fp32(transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#pragma omp parallel num_threads(thread_count)
    {
        int m0, m1;
        split_rows(M, omp_get_thread_num(), omp_get_num_threads(), &m0, &m1);
        const float *a = transpose_a ? A + m0 : A + (long)m0 * lda;
        if (m1 > m0)
            gemm_fp32(transpose_a, transpose_b, m1 - m0, N, K, alpha, a, lda, B, ldb, beta, C + (long)m0 * ldc, ldc);
    }
}

/* The bf16 copies of A and B of the calling thread's products (the
 * workers of a split product write into their caller's buffer). */
static _Thread_local uint16_t *bf16_buffer;
static _Thread_local size_t bf16_capacity;
/* a worker thread that ends frees its buffer (the key's destructor) */
static pthread_key_t bf16_key;
static pthread_once_t bf16_key_once = PTHREAD_ONCE_INIT;

static void bf16_buffer_free(void *unused)
{
    (void)unused;
    free(bf16_buffer);
    bf16_buffer = NULL;
    bf16_capacity = 0;
}

static void bf16_key_create(void) { pthread_key_create(&bf16_key, bf16_buffer_free); }

static uint16_t *bf16_space(size_t n)
{
    if (n > bf16_capacity) {
        pthread_once(&bf16_key_once, bf16_key_create);
        if (!pthread_getspecific(bf16_key))
            pthread_setspecific(bf16_key, &bf16_key);
        free(bf16_buffer);
        bf16_buffer = malloc(n * sizeof *bf16_buffer);
        bf16_capacity = bf16_buffer ? n : 0;
    }
    return bf16_buffer;
}

/* Rows [m0, m1) of C from the packed bf16 copies a16 (op(A) rows or
 * columns, ld M or K) and b16; fp32 from the originals if oneDNN fails. */
static void gemm_bf16_rows(int transpose_a, int transpose_b, int m0, int m1, int M, int N, int K, float alpha,
                           const uint16_t *a16, const uint16_t *b16, const float *A, int lda, const float *B,
                           int ldb, float beta, float *C, int ldc)
{
    if (m1 <= m0)
        return;
    const uint16_t *a = transpose_a ? a16 + m0 : a16 + (size_t)m0 * K;
    if (es_onednn_gemm(transpose_a, transpose_b, 1, m1 - m0, N, K, alpha, a, transpose_a ? M : K, b16,
                       transpose_b ? K : N, beta, C + (size_t)m0 * ldc, ldc) == 0)
        return;
    count_fallback();
    sgemm(transpose_a, transpose_b, m1 - m0, N, K, alpha, transpose_a ? A + m0 : A + (size_t)m0 * lda, lda, B, ldb,
          beta, C + (size_t)m0 * ldc, ldc);
}

/* The same in bf16: A and B are rounded once into packed bf16 copies (each
 * thread converts its own rows of A and a share of B), then each thread
 * multiplies its rows. */
static void gemm_bf16(int transpose_a, int transpose_b, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) { /* C = beta C */
        gemm_split(transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    size_t na = (size_t)M * K, nb = (size_t)N * K;
    uint16_t *a16 = bf16_space(na + nb);
    if (!a16) {
        count_fallback();
        gemm_split(transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    uint16_t *b16 = a16 + na;
    int rows_b = transpose_b ? N : K, cols_b = transpose_b ? K : N;
    if (!worth_splitting(M, N, K)) {
        if (transpose_a)
            es_bf16_from_floats(K, M, A, lda, a16, M);
        else
            es_bf16_from_floats(M, K, A, lda, a16, K);
        es_bf16_from_floats(rows_b, cols_b, B, ldb, b16, cols_b);
        gemm_bf16_rows(transpose_a, transpose_b, 0, M, M, N, K, alpha, a16, b16, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#pragma omp parallel num_threads(thread_count)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads(), m0, m1;
        split_rows(M, t, n, &m0, &m1);
        int r0 = (int)((long)rows_b * t / n), r1 = (int)((long)rows_b * (t + 1) / n);
        es_bf16_from_floats(r1 - r0, cols_b, B + (size_t)r0 * ldb, ldb, b16 + (size_t)r0 * cols_b, cols_b);
        if (transpose_a)
            es_bf16_from_floats(K, m1 - m0, A + m0, lda, a16 + m0, M);
        else
            es_bf16_from_floats(m1 - m0, K, A + (size_t)m0 * lda, lda, a16 + (size_t)m0 * K, K);
#pragma omp barrier
        gemm_bf16_rows(transpose_a, transpose_b, m0, m1, M, N, K, alpha, a16, b16, A, lda, B, ldb, beta, C, ldc);
    }
}

static void gemm(int transpose_a, int transpose_b, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc)
{
    if (precision == ES_PRECISION_BF16)
        gemm_bf16(transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        gemm_split(transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void es_gemm_nt(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc)
{
    gemm(0, 1, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void es_gemm_nn(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc)
{
    gemm(0, 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void es_gemm_tn(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc)
{
    gemm(1, 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
