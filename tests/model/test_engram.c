/* Engram and OverEncoding: finite-difference gradients of every component
 * (gate, norms, conv, projections, table rows, rows hit more than once),
 * hashing (deterministic across runs and thread counts, non-negative,
 * distinct primes, collisions as a uniform hash predicts on kjv), and the
 * parameter count of every ablation switch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <stdlib.h>
#include <unistd.h>

#include "core/parallel.h"
#include "data/dataset.h"
#include "gradcheck.h"
#include "model/model.h"

enum { B = 2, T = 7, N = B * T, V = 19 };

static model_config engram_config(void)
{
    model_config c;
    memset(&c, 0, sizeof c);
    c.d_model = 16;
    c.n_layers = 2;
    c.n_heads = 2;
    c.seq_len = T;
    c.ffn_hidden = 12;
    c.rope_theta = 10000;
    c.init_std = 0.3;
    c.memory = MEMORY_ENGRAM;
    c.engram.slots = 60; /* tiny tables: many rows are hit more than once */
    c.engram.head_dim = 3;
    c.engram.heads = 2;
    c.engram.orders[0] = 2;
    c.engram.orders[1] = 3;
    c.engram.n_orders = 2;
    c.engram.layers[0] = 1;
    c.engram.n_layers = 1;
    c.engram.gate = GATE_PAPER;
    c.engram.conv = 1;
    c.engram.conv_kernel = 4;
    c.engram.compress = 1;
    c.engram.init_std = 0.5;
    c.engram.lr_mult = 5;
    return c;
}

typedef struct {
    model *m;
    int32_t inputs[N], targets[N];
} model_ctx;

static double model_loss(void *p)
{
    model_ctx *c = p;
    return model_forward(c->m, c->inputs, c->targets);
}

/* Token ids with repeats (so N-grams, and rows, recur), and a compression
 * map that merges some ids. */
static const int32_t compress_map[V] = {0, 1, 2, 3, 1, 4, 5, 2, 6, 7, 8, 9, 10, 3, 11, 12, 13, 14, 15};

/* eps: 1e-2 resolves small gradients above fp32 noise; the ssqrt gate
 * needs 1e-3, since sqrt(|x|) bends sharply near x = 0. */
static int check_model(model_config cfg, const char *tag, float eps)
{
    model_ctx c;
    assert_int_equal(model_new(&cfg, V, compress_map, 16, B, T, 11, &c.m), 0);
    for (int i = 0; i < N; i++) {
        c.inputs[i] = (int32_t)((i * 7) % 5 + (i % 3 == 0 ? 11 : 0));
        c.targets[i] = (int32_t)((i * 5 + 2) % V);
    }
    /* the conv starts at zero; give it weights so every path is exercised */
    for (int i = 0; i < c.m->n_tensors; i++)
        if (strstr(c.m->tensors[i].name, "conv_w"))
            fill_normal(c.m->tensors[i].data, c.m->tensors[i].size, 0.5f, 3);
    model_zero_grad(c.m);
    model_loss(&c);
    model_backward(c.m);
    int failures = 0;
    char name[96];
    for (int i = 0; i < c.m->n_tensors; i++) {
        param_tensor *t = &c.m->tensors[i];
        snprintf(name, sizeof name, "%s:%s", tag, t->name);
        failures += gradcheck(name, t->data, t->grad, t->size, model_loss, &c, eps, 40);
    }
    /* table rows: the summed gradient of each row the batch hit */
    for (int k = 0; k < c.m->n_tables; k++) {
        sparse_table *tb = c.m->tables[k];
        int repeated = 0;
        for (int u = 0; u < tb->n_unique; u++) {
            int hits = 0;
            for (int h = 0; h < tb->n_hits; h++)
                hits += tb->hit_row[h] == tb->unique_row[u];
            repeated += hits > 1;
        }
        assert_true(repeated > 0); /* the check covers rows hit more than once */
        int n_unique = tb->n_unique, width = tb->width;
        /* one tolerance scale for the whole table: single rows can have
         * gradients below what fp32 differences resolve */
        double gmax = 0;
        for (size_t j = 0; j < (size_t)n_unique * width; j++)
            gmax = fmax(gmax, fabs(tb->unique_grad[j]));
        float *analytic = malloc(sizeof(float) * (size_t)n_unique * width);
        int64_t *rows = malloc(sizeof(int64_t) * (size_t)n_unique);
        memcpy(analytic, tb->unique_grad, sizeof(float) * (size_t)n_unique * width);
        memcpy(rows, tb->unique_row, sizeof(int64_t) * (size_t)n_unique);
        for (int u = 0; u < n_unique; u++) {
            snprintf(name, sizeof name, "%s:table%d.row%lld", tag, k, (long long)rows[u]);
            failures += gradcheck_scaled(name, tb->data + rows[u] * width, analytic + (size_t)u * width,
                                         (size_t)width, model_loss, &c, eps, 16, gmax);
        }
        free(analytic);
        free(rows);
    }
    model_free(c.m);
    return failures;
}

static void test_engram_gradients_paper_gate(void **state)
{
    (void)state;
    assert_int_equal(check_model(engram_config(), "paper", 1e-2f), 0);
}

static void test_engram_gradients_ssqrt_gate(void **state)
{
    (void)state;
    model_config c = engram_config();
    c.engram.gate = GATE_SSQRT;
    assert_int_equal(check_model(c, "ssqrt", 1e-3f), 0);
}

static void test_engram_gradients_ablations(void **state)
{
    (void)state;
    model_config c = engram_config();
    c.engram.gate = GATE_OFF;
    assert_int_equal(check_model(c, "gate-off", 1e-2f), 0);
    c = engram_config();
    c.engram.conv = 0;
    c.engram.compress = 0;
    assert_int_equal(check_model(c, "conv-off", 1e-2f), 0);
    c = engram_config();
    c.engram.layers[0] = 0;
    c.engram.layers[1] = 1;
    c.engram.n_layers = 2;
    c.engram.slots = 120;
    assert_int_equal(check_model(c, "two-layers", 1e-2f), 0);
}

static void test_overencoding_gradients(void **state)
{
    (void)state;
    model_config c = engram_config();
    c.memory = MEMORY_OVERENCODING;
    assert_int_equal(check_model(c, "overencoding", 1e-2f), 0);
}

static void test_hashing_deterministic_across_threads(void **state)
{
    (void)state;
    model_config cfg = engram_config();
    cfg.engram.slots = 100000;
    int32_t ids[N], tg[N];
    for (int i = 0; i < N; i++)
        ids[i] = tg[i] = (i * 13) % V;
    int64_t rows[3][N * 4];
    int threads[3] = {1, 2, 1};
    for (int r = 0; r < 3; r++) {
        es_threads_set(threads[r]);
        model *m;
        assert_int_equal(model_new(&cfg, V, compress_map, 16, B, T, 5, &m), 0);
        model_forward(m, ids, tg);
        memcpy(rows[r], m->engram[0].table.hit_row, sizeof rows[r]);
        for (int i = 0; i < N * 4; i++) {
            int h = i % 4;
            assert_true(rows[r][i] >= m->engram[0].hasher.offset[h]);
            assert_true(rows[r][i] < m->engram[0].hasher.offset[h] + (int64_t)m->engram[0].hasher.prime[h]);
        }
        model_free(m);
    }
    es_threads_set(2);
    assert_memory_equal(rows[0], rows[1], sizeof rows[0]);
    assert_memory_equal(rows[0], rows[2], sizeof rows[0]);
}

static void test_hash_indices_in_range_for_extreme_ids(void **state)
{
    (void)state;
    int orders[2] = {2, 3};
    uint64_t used[16];
    int n_used = 0;
    ngram_hasher hs;
    assert_int_equal(ngram_hasher_init(&hs, orders, 2, 2, 1000, 1, 0, UINT32_MAX, used, &n_used), 0);
    int32_t cids[8] = {INT32_MAX, INT32_MAX - 1, 0, 1, INT32_MAX, 7, INT32_MAX, INT32_MAX};
    int64_t rows[8 * 4];
    ngram_hash(&hs, cids, 8, 4, rows);
    for (int i = 0; i < 8 * 4; i++) {
        int h = i % 4;
        assert_true(rows[i] >= hs.offset[h] && rows[i] < hs.offset[h] + (int64_t)hs.prime[h]);
    }
}

static void test_primes_distinct(void **state)
{
    (void)state;
    model_config cfg = engram_config();
    cfg.engram.slots = 1000000;
    cfg.engram.heads = 8;
    cfg.engram.orders[2] = 4;
    cfg.engram.n_orders = 3;
    cfg.engram.layers[0] = 0;
    cfg.engram.layers[1] = 1;
    cfg.engram.n_layers = 2;
    model *m;
    assert_int_equal(model_new(&cfg, V, NULL, 0, B, T, 5, &m), 0);
    uint64_t all[64];
    int n = 0;
    int64_t rows = 0;
    for (int l = 0; l < 2; l++)
        for (int h = 0; h < m->engram[l].hasher.tables; h++) {
            uint64_t p = m->engram[l].hasher.prime[h];
            assert_true(is_prime_u64(p));
            for (int j = 0; j < n; j++)
                assert_true(all[j] != p);
            all[n++] = p;
            rows += (int64_t)p;
        }
    assert_int_equal(n, 48);
    /* nearest primes above and below: the total is the slots to 0.1% */
    assert_true(llabs(rows - 1000000) < 1000);
    model_free(m);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void test_collision_rate_matches_uniform_hash(void **state)
{
    (void)state;
    /* On kjv's bigrams: the share of distinct bigrams that share their row
     * with another distinct bigram should match a uniform hash's
     * 1 - (1 - 1/p)^(D - 1) for D distinct bigrams in a table of p rows. */
    char dir[] = "/tmp/es-collide-XXXXXX";
    assert_non_null(mkdtemp(dir));
    dataset *ds;
    assert_int_equal(dataset_prepare("kjv", dir, 4096, 0, NULL, NULL, &ds), 0);
    size_t n = ds->n_train;
    int32_t *cids = malloc(sizeof(int32_t) * n);
    for (size_t i = 0; i < n; i++)
        cids[i] = ds->compress_map[ds->train[i]];
    int orders[1] = {2};
    uint64_t used[4];
    int n_used = 0;
    ngram_hasher hs;
    assert_int_equal(ngram_hasher_init(&hs, orders, 1, 1, 50000, 3, 1, (uint64_t)ds->compressed_vocab, used, &n_used),
                     0);
    int64_t *rows = malloc(sizeof(int64_t) * n);
    ngram_hash(&hs, cids, (int)n, (int)n, rows);
    /* key = (row, bigram): sorted, equal rows are adjacent and a row's
     * distinct bigrams are its distinct keys (compressed ids < 2^20) */
    uint64_t *keys = malloc(sizeof(uint64_t) * n);
    for (size_t i = 1; i < n; i++)
        keys[i - 1] = (uint64_t)rows[i] << 40 | (uint64_t)(uint32_t)cids[i - 1] << 20 | (uint32_t)cids[i];
    qsort(keys, n - 1, sizeof(uint64_t), compare_u64);
    size_t distinct = 0, colliding = 0;
    for (size_t i = 0; i < n - 1;) {
        size_t j = i;
        uint64_t row = keys[i] >> 40;
        size_t in_row = 0;
        while (j < n - 1 && keys[j] >> 40 == row) {
            if (j == i || keys[j] != keys[j - 1])
                in_row++;
            j++;
        }
        distinct += in_row;
        if (in_row > 1)
            colliding += in_row;
        i = j;
    }
    double p = (double)hs.prime[0];
    double expected = 1.0 - pow(1.0 - 1.0 / p, (double)distinct - 1.0);
    double observed = (double)colliding / distinct;
    fprintf(stderr, "bigrams: %zu distinct in %g rows: collision share %.4f, uniform hash %.4f\n", distinct, p,
            observed, expected);
    /* with ~1e5 distinct bigrams the binomial noise is ~0.003; allow 0.02 */
    assert_true(fabs(observed - expected) < 0.02);
    free(keys);
    free(rows);
    free(cids);
    dataset_free(ds);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static size_t dense_params(model_config c)
{
    model *m;
    assert_int_equal(model_new(&c, V, NULL, 0, B, T, 1, &m), 0);
    size_t n = m->n_params;
    model_free(m);
    return n;
}

static void test_ablation_parameter_counts(void **state)
{
    (void)state;
    model_config base = engram_config();
    size_t C = 16, De = 2 * 2 * 3, K = 4;
    model_config none = base;
    none.memory = MEMORY_NONE;
    size_t backbone = dense_params(none);
    /* full module: Wv, Wk (C x De each), q and k norms, conv norm, conv (C x K) */
    assert_int_equal(dense_params(base) - backbone, 2 * C * De + 2 * C + C + C * K);
    model_config c = base;
    c.engram.gate = GATE_OFF; /* no Wk, no gate norms */
    assert_int_equal(dense_params(c) - backbone, C * De + C + C * K);
    c = base;
    c.engram.conv = 0; /* no conv, no conv norm */
    assert_int_equal(dense_params(c) - backbone, 2 * C * De + 2 * C);
    c = base;
    c.engram.compress = 0; /* compression changes ids, not parameters */
    assert_int_equal(dense_params(c), dense_params(base));
    c = base;
    c.engram.n_orders = 1; /* orders {2}: half the concatenated width */
    assert_int_equal(dense_params(c) - backbone, 2 * C * (De / 2) + 3 * C + C * K);
    c = base;
    c.engram.orders[2] = 4; /* orders {2,3,4} */
    c.engram.n_orders = 3;
    assert_int_equal(dense_params(c) - backbone, 2 * C * (3 * De / 2) + 3 * C + C * K);
    c = base;
    c.engram.heads = 4; /* heads per order */
    assert_int_equal(dense_params(c) - backbone, 2 * C * (2 * De) + 3 * C + C * K);
    c = base;
    c.engram.layers[1] = 0; /* two Engram layers: two modules */
    c.engram.n_layers = 2;
    c.engram.slots = 120;
    assert_int_equal(dense_params(c) - backbone, 2 * (2 * C * De + 3 * C + C * K));
    /* P_tot counts the table rows; P_act one row per table per token */
    model *m;
    assert_int_equal(model_new(&base, V, NULL, 0, B, T, 1, &m), 0);
    size_t rows = (size_t)m->engram[0].hasher.rows;
    assert_true(rows >= 50 && rows <= 70); /* 4 distinct primes near 15 */
    model *n0;
    assert_int_equal(model_new(&none, V, NULL, 0, B, T, 1, &n0), 0);
    assert_int_equal(model_count_total(m) - model_count_total(n0), 2 * C * De + 3 * C + C * K + rows * 3);
    assert_int_equal(model_count_active(m) - model_count_active(n0), 2 * C * De + 3 * C + C * K + 4 * 3);
    model_free(m);
    model_free(n0);
}

static void check_count(model_config c)
{
    model *m;
    assert_int_equal(model_new(&c, V, NULL, 0, B, T, 1, &m), 0);
    double p_tot, p_act;
    long rows;
    assert_int_equal(model_count(&c, V, &p_tot, &p_act, &rows), 0);
    assert_int_equal((size_t)p_tot, model_count_total(m));
    assert_int_equal((size_t)llround(p_act), model_count_active(m));
    long built_rows = 0;
    for (int i = 0; i < m->n_tables; i++)
        built_rows += (long)m->tables[i]->rows;
    assert_int_equal(rows, built_rows);
    model_free(m);
}

static void test_count_without_building_matches_built_models(void **state)
{
    (void)state;
    model_config c = engram_config();
    check_count(c);
    c.engram.gate = GATE_OFF;
    check_count(c);
    c = engram_config();
    c.engram.conv = 0;
    check_count(c);
    c = engram_config();
    c.engram.layers[1] = 0;
    c.engram.n_layers = 2;
    c.engram.slots = 1000;
    check_count(c);
    c = engram_config();
    c.memory = MEMORY_OVERENCODING;
    check_count(c);
    c = engram_config();
    c.memory = MEMORY_NONE;
    check_count(c);
    c.moe.experts = 6;
    c.moe.top_k = 2;
    c.moe.shared = 1;
    c.moe.expert_hidden = 5;
    c.moe.route_scale = 1;
    check_count(c);
    c.memory = MEMORY_ENGRAM;
    check_count(c);
}

int main(void)
{
    es_threads_set(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engram_gradients_paper_gate),
        cmocka_unit_test(test_engram_gradients_ssqrt_gate),
        cmocka_unit_test(test_engram_gradients_ablations),
        cmocka_unit_test(test_overencoding_gradients),
        cmocka_unit_test(test_hashing_deterministic_across_threads),
        cmocka_unit_test(test_hash_indices_in_range_for_extreme_ids),
        cmocka_unit_test(test_primes_distinct),
        cmocka_unit_test(test_collision_rate_matches_uniform_hash),
        cmocka_unit_test(test_ablation_parameter_counts),
        cmocka_unit_test(test_count_without_building_matches_built_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
