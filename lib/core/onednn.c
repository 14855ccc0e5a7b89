/* oneDNN matmul primitives, cached by shape. See onednn.h.
 *
 * A product is identified by its form (transposes), precision, M, N, K, the
 * row strides and alpha/beta; each distinct product gets one primitive,
 * created on first use and kept for the life of the process (beyond
 * CACHE_LIMIT primitives, new shapes get one-off primitives). The rows an expert gets
 * change every step, so its products are cached by their exact M: the
 * counts seen repeat after the first steps and the cache stops growing.
 * (oneDNN's runtime dimensions, DNNL_RUNTIME_DIM_VAL, were measured and are
 * slower: 2.6.3 then picks its generic gemm:jit instead of brgemm.)
 *
 * oneDNN is built on the OpenMP runtime. Every primitive is created and run
 * with one OpenMP thread (omp_set_num_threads(1) around the call, which
 * only changes the calling thread's setting), so the caller's row split
 * decides the parallelism and results depend only on the thread count. */
#include "core/onednn.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#ifdef __AVX512BF16__
#include <immintrin.h>
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { CACHE_LIMIT = 1 << 15 };

typedef struct {
    int transpose_a, transpose_b, bf16;
    int M, N, K, lda, ldb, ldc;
    float alpha, beta;
} gemm_key;

typedef struct {
    gemm_key key;
    dnnl_primitive_t prim; /* NULL: empty slot */
    dnnl_memory_desc_t a, b, c, scratch;
    int temporary; /* not in the cache (it is full): the caller destroys prim */
} cache_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_entry *cache;
static size_t cache_cap, cache_count;
static dnnl_engine_t engine;

/* Per thread: a stream (streams are not shared between threads) and the
 * primitives' scratchpad. A worker thread that ends (OpenMP's pool shrinks
 * when the thread count does) releases them through a thread-specific
 * key's destructor; the main thread's stay reachable until exit. */
static _Thread_local dnnl_stream_t thread_stream;
static _Thread_local void *thread_scratch;
static _Thread_local size_t thread_scratch_cap;
static pthread_key_t thread_state_key;
static pthread_once_t thread_state_once = PTHREAD_ONCE_INIT;

static void thread_state_free(void *unused)
{
    (void)unused;
    free(thread_scratch);
    thread_scratch = NULL;
    thread_scratch_cap = 0;
    if (thread_stream)
        dnnl_stream_destroy(thread_stream);
    thread_stream = NULL;
}

static void thread_state_key_create(void) { pthread_key_create(&thread_state_key, thread_state_free); }

/* Arms the destructor for this thread (a non-NULL value makes it run). */
static void thread_state_register(void)
{
    pthread_once(&thread_state_once, thread_state_key_create);
    if (!pthread_getspecific(thread_state_key))
        pthread_setspecific(thread_state_key, &thread_state_key);
}

static uint64_t key_hash(const gemm_key *k)
{
    const unsigned char *p = (const unsigned char *)k;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof *k; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static int engine_ready(void)
{
    /* called with cache_lock held. oneDNN's ITT task annotations cost
     * ~1.5% of a step in perf profiles: off unless the user asks for them */
    if (!engine)
        setenv("DNNL_ITT_TASK_LEVEL", "0", 0);
    if (!engine && dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) {
        engine = NULL;
        return 0;
    }
    return 1;
}

/* Memory descriptors of the product: src [M,K], weights [K,N], dst [M,N]
 * as strided views of the row-major buffers. */
static int describe(const gemm_key *k, dnnl_memory_desc_t *a, dnnl_memory_desc_t *b, dnnl_memory_desc_t *c)
{
    dnnl_data_type_t t = k->bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_dims_t da = {k->M, k->K}, db = {k->K, k->N}, dc = {k->M, k->N};
    dnnl_dims_t sa = {k->lda, 1}, sb = {k->ldb, 1}, sc = {k->ldc, 1};
    if (k->transpose_a) {
        sa[0] = 1;
        sa[1] = k->lda;
    }
    if (k->transpose_b) {
        sb[0] = 1;
        sb[1] = k->ldb;
    }
    return dnnl_memory_desc_init_by_strides(a, 2, da, t, sa) == dnnl_success &&
           dnnl_memory_desc_init_by_strides(b, 2, db, t, sb) == dnnl_success &&
           dnnl_memory_desc_init_by_strides(c, 2, dc, dnnl_f32, sc) == dnnl_success;
}

/* A primitive descriptor for k (NULL on failure); caller destroys it. */
static dnnl_primitive_desc_t make_desc(const gemm_key *k, dnnl_memory_desc_t *a, dnnl_memory_desc_t *b,
                                       dnnl_memory_desc_t *c)
{
    dnnl_matmul_desc_t md;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    if (!describe(k, a, b, c) || dnnl_matmul_desc_init(&md, a, b, NULL, c) != dnnl_success ||
        dnnl_primitive_attr_create(&attr) != dnnl_success)
        goto done;
    /* the scratchpad is ours (one per thread): oneDNN's own is shared
     * between threads unless built for concurrent execution */
    if (dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) != dnnl_success)
        goto done;
    if (k->alpha != 1.0f && dnnl_primitive_attr_set_output_scales(attr, 1, 0, &k->alpha) != dnnl_success)
        goto done;
    if (k->beta != 0.0f) {
        if (dnnl_post_ops_create(&ops) != dnnl_success || dnnl_post_ops_append_sum(ops, k->beta) != dnnl_success ||
            dnnl_primitive_attr_set_post_ops(attr, ops) != dnnl_success)
            goto done;
    }
    if (dnnl_primitive_desc_create(&pd, &md, attr, engine, NULL) != dnnl_success)
        pd = NULL;
done:
    if (ops)
        dnnl_post_ops_destroy(ops);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return pd;
}

/* The slot of k in a table of capacity cap (a power of two). */
static cache_entry *slot(cache_entry *table, size_t cap, const gemm_key *k)
{
    size_t i = (size_t)key_hash(k) & (cap - 1);
    while (table[i].prim && memcmp(&table[i].key, k, sizeof *k) != 0)
        i = (i + 1) & (cap - 1);
    return &table[i];
}

static int cache_grow(void)
{
    size_t cap = cache_cap ? 2 * cache_cap : 256;
    cache_entry *t = calloc(cap, sizeof *t);
    if (!t)
        return 0;
    for (size_t i = 0; i < cache_cap; i++)
        if (cache[i].prim)
            *slot(t, cap, &cache[i].key) = cache[i];
    free(cache);
    cache = t;
    cache_cap = cap;
    return 1;
}

/* The cached entry for k, created if new; 0 if oneDNN refuses it. Cached
 * primitives live as long as the process (others may be running them), so
 * once the cache holds CACHE_LIMIT of them a new shape gets a temporary
 * primitive that the caller destroys after use. */
static int lookup(const gemm_key *k, cache_entry *out)
{
    int ok = 0;
    pthread_mutex_lock(&cache_lock);
    if (!engine_ready())
        goto done;
    cache_entry *e = cache_cap ? slot(cache, cache_cap, k) : NULL;
    if (e && e->prim) {
        *out = *e;
        ok = 1;
        goto done;
    }
    int keep = cache_count < CACHE_LIMIT && (2 * (cache_count + 1) <= cache_cap || cache_grow());
    dnnl_primitive_desc_t pd = make_desc(k, &out->a, &out->b, &out->c);
    if (!pd)
        goto done;
    const dnnl_memory_desc_t *scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (scratch)
        out->scratch = *scratch;
    else
        memset(&out->scratch, 0, sizeof out->scratch);
    out->prim = NULL;
    int created = dnnl_primitive_create(&out->prim, pd) == dnnl_success;
    dnnl_primitive_desc_destroy(pd);
    if (!created)
        goto done;
    out->key = *k;
    out->temporary = !keep;
    if (keep) {
        *slot(cache, cache_cap, k) = *out;
        cache_count++;
    }
    ok = 1;
done:
    pthread_mutex_unlock(&cache_lock);
    return ok;
}

/* One float to bf16 as vcvtneps2bf16 does it: round to nearest even,
 * denormals to signed zero, NaN stays a (quiet) NaN. */
static uint16_t bf16_round(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    if ((u & 0x7f800000u) == 0)
        u &= 0x80000000u;
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

void es_bf16_from_floats(int rows, int cols, const float *src, int ld, uint16_t *dst, int ld_dst)
{
    for (int r = 0; r < rows; r++) {
        const float *s = src + (size_t)r * ld;
        uint16_t *d = dst + (size_t)r * ld_dst;
        int j = 0;
#ifdef __AVX512BF16__
        for (; j + 16 <= cols; j += 16)
            _mm256_storeu_si256((__m256i *)(d + j), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(s + j)));
#endif
        for (; j < cols; j++)
            d[j] = bf16_round(s[j]);
    }
}

static int run(const cache_entry *e, const void *A, const void *B, float *C)
{
    if (!thread_stream) {
        thread_state_register();
        if (dnnl_stream_create(&thread_stream, engine, dnnl_stream_default_flags) != dnnl_success) {
            thread_stream = NULL;
            return 1;
        }
    }
    size_t scratch_size = dnnl_memory_desc_get_size(&e->scratch);
    if (scratch_size > thread_scratch_cap) {
        free(thread_scratch);
        thread_scratch = aligned_alloc(64, (scratch_size + 63) / 64 * 64);
        thread_scratch_cap = thread_scratch ? scratch_size : 0;
        if (!thread_scratch)
            return 1;
    }
    dnnl_memory_t ma = NULL, mb = NULL, mc = NULL, ms = NULL;
    int rc = 1;
    if (dnnl_memory_create(&ma, &e->a, engine, (void *)A) == dnnl_success &&
        dnnl_memory_create(&mb, &e->b, engine, (void *)B) == dnnl_success &&
        dnnl_memory_create(&mc, &e->c, engine, C) == dnnl_success &&
        (scratch_size == 0 || dnnl_memory_create(&ms, &e->scratch, engine, thread_scratch) == dnnl_success)) {
        dnnl_exec_arg_t args[4] = {
            {DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}, {DNNL_ARG_SCRATCHPAD, ms}};
        rc = dnnl_primitive_execute(e->prim, thread_stream, ms ? 4 : 3, args) != dnnl_success;
    }
    dnnl_memory_t all[4] = {ma, mb, mc, ms};
    for (int i = 0; i < 4; i++)
        if (all[i])
            dnnl_memory_destroy(all[i]);
    return rc;
}

int es_onednn_gemm(int transpose_a, int transpose_b, int bf16, int M, int N, int K, float alpha, const void *A,
                   int lda, const void *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return 0;
    if (K <= 0) {
        /* no product: C = beta C, as BLAS does */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
        return 0;
    }
    gemm_key k;
    memset(&k, 0, sizeof k); /* padding takes part in hashing and comparing */
    k.transpose_a = transpose_a;
    k.transpose_b = transpose_b;
    k.bf16 = bf16;
    k.M = M;
    k.N = N;
    k.K = K;
    k.lda = lda;
    k.ldb = ldb;
    k.ldc = ldc;
    k.alpha = alpha;
    k.beta = beta;
    /* one OpenMP thread for oneDNN, whether or not we are in a parallel region */
    int outer = omp_get_max_threads();
    omp_set_num_threads(1);
    cache_entry e;
    int rc = 1;
    if (lookup(&k, &e)) {
        rc = run(&e, A, B, C);
        if (e.temporary)
            dnnl_primitive_destroy(e.prim);
    }
    omp_set_num_threads(outer);
    return rc;
}

int es_onednn_bf16_native(void)
{
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return ((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) == (unsigned)dnnl_cpu_isa_avx512_core_bf16;
}

const char *es_onednn_impl(int transpose_a, int transpose_b, int bf16, int M, int N, int K)
{
    static _Thread_local char name[128];
    gemm_key k;
    memset(&k, 0, sizeof k);
    k.transpose_a = transpose_a;
    k.transpose_b = transpose_b;
    k.bf16 = bf16;
    k.M = M;
    k.N = N;
    k.K = K;
    k.lda = transpose_a ? M : K;
    k.ldb = transpose_b ? K : N;
    k.ldc = N;
    k.alpha = 1.0f;
    name[0] = '\0';
    int outer = omp_get_max_threads();
    omp_set_num_threads(1);
    pthread_mutex_lock(&cache_lock);
    if (engine_ready()) {
        dnnl_memory_desc_t a, b, c;
        dnnl_primitive_desc_t pd = make_desc(&k, &a, &b, &c);
        const char *s = NULL;
        if (pd && dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) == dnnl_success && s) {
            strncpy(name, s, sizeof name - 1);
            name[sizeof name - 1] = '\0';
        }
        if (pd)
            dnnl_primitive_desc_destroy(pd);
    }
    pthread_mutex_unlock(&cache_lock);
    omp_set_num_threads(outer);
    return name;
}

long es_onednn_cache_size(void)
{
    pthread_mutex_lock(&cache_lock);
    long n = (long)cache_count;
    pthread_mutex_unlock(&cache_lock);
    return n;
}
