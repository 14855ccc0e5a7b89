/* N-gram baselines that tell a trained model's loss what it must beat.
 *
 * Unigram: add-one smoothed counts. Bigram: Jelinek-Mercer interpolation
 *   p(w | u) = lambda c(u, w) / c(u) + (1 - lambda) p_uni(w)
 * with lambda picked on a grid by fitting counts on the first 90% of train
 * and scoring the last 10%, then counts refitted on all of train.
 * Bigram counts are sorted 32-bit keys u * vocab + w (vocab <= 65536), not
 * a dense vocab x vocab array. Losses are nats per token; they return NAN
 * for empty inputs or an allocation failure. */
#include "data/dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Unigram probabilities with add-one smoothing: [vocab]. */
static double *unigram_probs(const int32_t *train, size_t n_train, int vocab)
{
    double *p = calloc((size_t)vocab, sizeof *p);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n_train; i++)
        p[train[i]] += 1.0;
    double denom = (double)n_train + vocab;
    for (int w = 0; w < vocab; w++)
        p[w] = (p[w] + 1.0) / denom;
    return p;
}

double baseline_unigram(const int32_t *train, size_t n_train, const int32_t *val, size_t n_val, int vocab)
{
    if (n_val == 0 || vocab <= 0)
        return NAN;
    double *p = unigram_probs(train, n_train, vocab);
    if (!p)
        return NAN;
    double nll = 0;
    for (size_t i = 0; i < n_val; i++)
        nll -= log(p[val[i]]);
    free(p);
    return nll / (double)n_val;
}

/* LSD radix sort of 32-bit keys, two 16-bit passes. */
static int radix_sort(uint32_t *a, size_t n)
{
    uint32_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    size_t *count = malloc(65536 * sizeof *count);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return -1;
    }
    for (int shift = 0; shift < 32; shift += 16) {
        memset(count, 0, 65536 * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[(a[i] >> shift) & 0xffff]++;
        size_t sum = 0;
        for (size_t d = 0; d < 65536; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[(a[i] >> shift) & 0xffff]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
    }
    free(tmp);
    free(count);
    return 0;
}

/* Bigram counts of a stream: sorted unique keys with their counts, and
 * each token's count as a left context. */
typedef struct {
    uint32_t *keys;
    uint32_t *counts;
    size_t n;
    double *context; /* [vocab] */
} bigram_table;

static void bigram_free(bigram_table *t)
{
    free(t->keys);
    free(t->counts);
    free(t->context);
}

static int bigram_fit(const int32_t *x, size_t n, int vocab, bigram_table *t)
{
    memset(t, 0, sizeof *t);
    size_t m = n > 1 ? n - 1 : 0;
    t->keys = malloc((m ? m : 1) * sizeof *t->keys);
    t->counts = malloc((m ? m : 1) * sizeof *t->counts);
    t->context = calloc((size_t)vocab, sizeof *t->context);
    if (!t->keys || !t->counts || !t->context) {
        bigram_free(t);
        return -1;
    }
    for (size_t i = 0; i < m; i++) {
        t->keys[i] = (uint32_t)x[i] * (uint32_t)vocab + (uint32_t)x[i + 1];
        t->context[x[i]] += 1.0;
    }
    if (radix_sort(t->keys, m)) {
        bigram_free(t);
        return -1;
    }
    size_t u = 0;
    for (size_t i = 0; i < m; i++) {
        if (u > 0 && t->keys[u - 1] == t->keys[i]) {
            t->counts[u - 1]++;
        } else {
            t->keys[u] = t->keys[i];
            t->counts[u++] = 1;
        }
    }
    t->n = u;
    return 0;
}

static double bigram_count(const bigram_table *t, uint32_t key)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n && t->keys[lo] == key ? t->counts[lo] : 0.0;
}

/* For each token of y: the maximum-likelihood bigram probability (or -1
 * if its context was never seen, or it is the first token) and the unigram
 * probability, so many lambdas can be scored cheaply. */
static int bigram_components(const bigram_table *t, const double *uni, const int32_t *y, size_t n,
                             int vocab, double *ml, double *pu)
{
    for (size_t i = 0; i < n; i++) {
        pu[i] = uni[y[i]];
        ml[i] = -1.0;
        if (i > 0 && t->context[y[i - 1]] > 0)
            ml[i] = bigram_count(t, (uint32_t)y[i - 1] * (uint32_t)vocab + (uint32_t)y[i]) /
                    t->context[y[i - 1]];
    }
    return 0;
}

static double interpolated_nll(const double *ml, const double *pu, size_t n, double lambda)
{
    double nll = 0;
    for (size_t i = 0; i < n; i++)
        nll -= log(ml[i] < 0 ? pu[i] : lambda * ml[i] + (1 - lambda) * pu[i]);
    return nll / (double)n;
}

/* The loss of counts fitted on x, scored on y, at each lambda in grid
 * (best one returned through *best_lambda); NAN on failure. */
static double bigram_score(const int32_t *x, size_t nx, const int32_t *y, size_t ny, int vocab,
                           const double *grid, int n_grid, double *best_lambda)
{
    double *uni = unigram_probs(x, nx, vocab);
    double *ml = malloc(ny * sizeof *ml), *pu = malloc(ny * sizeof *pu);
    bigram_table t;
    if (!uni || !ml || !pu || bigram_fit(x, nx, vocab, &t)) {
        free(uni);
        free(ml);
        free(pu);
        return NAN;
    }
    bigram_components(&t, uni, y, ny, vocab, ml, pu);
    double best = INFINITY;
    for (int g = 0; g < n_grid; g++) {
        double loss = interpolated_nll(ml, pu, ny, grid[g]);
        if (loss < best) {
            best = loss;
            *best_lambda = grid[g];
        }
    }
    bigram_free(&t);
    free(uni);
    free(ml);
    free(pu);
    return best;
}

double baseline_bigram(const int32_t *train, size_t n_train, const int32_t *val, size_t n_val, int vocab)
{
    if (n_val == 0 || n_train < 20 || vocab <= 0 || vocab > 65536)
        return NAN;
    /* lambda = 0 is the unigram, so the bigram can never do worse on the
     * held-out part; the grid is finer near 1 where good values sit. */
    static const double grid[] = {0.0,  0.1,  0.2,  0.3,  0.4,  0.5,  0.6,  0.65, 0.7,  0.75,
                                  0.8,  0.85, 0.9,  0.92, 0.94, 0.96, 0.98, 0.99, 0.995};
    const int n_grid = (int)(sizeof grid / sizeof grid[0]);
    size_t n_fit = n_train - n_train / 10;
    double lambda = 0.0;
    if (isnan(bigram_score(train, n_fit, train + n_fit, n_train - n_fit, vocab, grid, n_grid, &lambda)))
        return NAN;
    double unused;
    return bigram_score(train, n_train, val, n_val, vocab, &lambda, 1, &unused);
}
