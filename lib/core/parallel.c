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

/* Rows [*begin, *end) of M for part t of n, in blocks of 16 rows so that
 * every part but the last gets whole micro-kernel panels. */
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

/* The same test without the thread count, for gemm_tn: omp_get_level()
 * counts parallel regions of one thread too, so 1 thread and several
 * answer alike. */
static int large_product(int M, int N, int K)
{
    return omp_get_level() == 0 && (double)M * N * K >= 262144.0 && M >= 32;
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

/* The packed copies of A and B of the calling thread's products: bf16
 * copies, and the fp32 row blocks of a transposed A (gemm_tn); the workers
 * of a split product write into their caller's buffer. */
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

/* The same in bf16 for the forms nt and nn (a transposed A goes to gemm_tn
 * below): A and B are rounded once into packed bf16 copies (each thread
 * converts its own rows of A and a share of B), then each thread
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

/* Transposed-A products (es_gemm_tn, the weight gradients) through
 * oneDNN, fp32 or bf16, with the same bits for any thread count by
 * construction. A row block of C is a block of columns of A: left in
 * place it is a strided view (row stride M), for which oneDNN 2.6.3 leaves
 * its brgemm kernel for gemm:jit, which sums over K in another order; so
 * a split by thread as above made 1 and 2 threads differ from K = 512 on
 * (K is the tokens of a step, 2048 in the studies). Instead a large
 * product is cut into tn_blocks(M) row blocks that depend on its shape
 * alone; each block's columns of A are packed densely ([K, rows], rounded
 * to bf16 in bf16) and multiplied by one oneDNN call; the threads share
 * out the blocks, and 1 thread makes the same calls one after the other.
 * (brgemm gives a dense block the bits of the whole product, checked for
 * 2 to 16 blocks at M 32..4096, N 16..4096, K 64..4096: where A's row
 * stride is M, as in all of this tool's products, the results are those
 * of the unsplit product, i.e. of 1 thread before the blocks.) */
enum { TN_BLOCK_ROWS = 128 };

/* About TN_BLOCK_ROWS rows a block (measured: 128 to 1024 run alike, 16
 * to 64 slower per product), at least 2 blocks, an even count so that 2
 * threads get equal shares. */
static int tn_blocks(int M)
{
    int n = (M + TN_BLOCK_ROWS - 1) / TN_BLOCK_ROWS;
    if (n < 2)
        n = 2;
    return n + (n & 1);
}

typedef struct {
    int bf16, blocks, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
    uint16_t *space; /* packed A blocks (block at rows m0: offset m0 K), then bf16 B */
} tn_product;

/* Part t of n: its share of bf16 B and its blocks. */
static void tn_part(const tn_product *p, int t, int n)
{
    int M = p->M, N = p->N, K = p->K;
    uint16_t *b16 = p->space + (size_t)M * K;
    float *packed = (float *)p->space;
    if (p->bf16) {
        int r0 = (int)((long)K * t / n), r1 = (int)((long)K * (t + 1) / n);
        es_bf16_from_floats(r1 - r0, N, p->B + (size_t)r0 * p->ldb, p->ldb, b16 + (size_t)r0 * N, N);
    }
    int first = (int)((long)p->blocks * t / n), last = (int)((long)p->blocks * (t + 1) / n);
    for (int b = first; b < last; b++) {
        int m0, m1;
        split_rows(M, b, p->blocks, &m0, &m1);
        int rows = m1 - m0;
        if (p->bf16)
            es_bf16_from_floats(K, rows, p->A + m0, p->lda, p->space + (size_t)m0 * K, rows);
        else
            for (int k = 0; k < K; k++)
                memcpy(packed + (size_t)m0 * K + (size_t)k * rows, p->A + (size_t)k * p->lda + m0,
                       sizeof(float) * (size_t)rows);
    }
    if (n > 1 && p->bf16) {
#pragma omp barrier
    }
    for (int b = first; b < last; b++) {
        int m0, m1;
        split_rows(M, b, p->blocks, &m0, &m1);
        int rows = m1 - m0;
        if (rows <= 0)
            continue;
        float *c = p->C + (size_t)m0 * p->ldc;
        int rc = p->bf16 ? es_onednn_gemm(1, 0, 1, rows, N, K, p->alpha, p->space + (size_t)m0 * K, rows, b16, N,
                                          p->beta, c, p->ldc)
                         : es_onednn_gemm(1, 0, 0, rows, N, K, p->alpha, packed + (size_t)m0 * K, rows, p->B,
                                          p->ldb, p->beta, c, p->ldc);
        if (rc != 0) {
            count_fallback();
            sgemm(1, 0, rows, N, K, p->alpha, p->A + m0, p->lda, p->B, p->ldb, p->beta, c, p->ldc);
        }
    }
}

static void gemm_tn(int bf16, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    int blocks = K > 0 && large_product(M, N, K) ? tn_blocks(M) : 1;
    if (K <= 0 || (!bf16 && blocks == 1)) { /* one call, A in place */
        gemm_fp32(1, 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    size_t na = (size_t)M * K;
    tn_product p = {bf16, blocks, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C,
                    bf16_space(bf16 ? na + (size_t)N * K : 2 * na)};
    if (!p.space) { /* the same blocks through OpenBLAS */
        count_fallback();
        for (int b = 0; b < blocks; b++) {
            int m0, m1;
            split_rows(M, b, blocks, &m0, &m1);
            if (m1 > m0)
                sgemm(1, 0, m1 - m0, N, K, alpha, A + m0, lda, B, ldb, beta, C + (size_t)m0 * ldc, ldc);
        }
        return;
    }
    if (blocks > 1 && thread_count > 1) { /* blocks > 1: not inside a parallel region */
#pragma omp parallel num_threads(thread_count)
        tn_part(&p, omp_get_thread_num(), omp_get_num_threads());
    } else {
        tn_part(&p, 0, 1);
    }
}

static void gemm(int transpose_a, int transpose_b, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc)
{
    if (transpose_a && !transpose_b && (precision == ES_PRECISION_BF16 || library == ES_GEMM_ONEDNN))
        gemm_tn(precision == ES_PRECISION_BF16, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else if (precision == ES_PRECISION_BF16)
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
