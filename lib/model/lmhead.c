/* The LM head fused with the softmax cross-entropy (forward and backward).
 *
 * Tokens are cut into chunks of LMHEAD_CHUNK. A thread takes one chunk at a
 * time into its own [LMHEAD_CHUNK, V] buffer (1 MB at V = 4096: it stays in
 * L2): logits = x w^T, then per row a max, exponentials (AVX-512) and their
 * sum, the loss, and for training dlogits = scale (p - onehot) in place,
 * dx += dlogits w for the chunk's own rows, and the chunk's share of the
 * weight gradient dlogits^T x. That gradient is a sum over all tokens: the
 * chunks are cut into LMHEAD_GROUPS contiguous groups, each group's sum
 * (in chunk order) goes to its own [V,C] partial, and at the end the
 * partials are added in group order. A thread owns whole groups, so the
 * threads share nothing until that one final barrier, and since every
 * product has a shape fixed by N, C, V and the constants, the same inputs
 * give the same bits with any number of threads (up to LMHEAD_GROUPS of
 * them work at once). */
#include "model/layers.h"

#include "core/parallel.h"
#include "core/vmath.h"

#include <math.h>
#include <omp.h>

/* Groups of chunks that carry their own weight-gradient partial. */
static int group_count(int N)
{
    int chunks = (N + LMHEAD_CHUNK - 1) / LMHEAD_CHUNK;
    return chunks < LMHEAD_GROUPS ? chunks : LMHEAD_GROUPS;
}

size_t lmhead_scratch_floats(int N, int V, int C, int threads)
{
    return (size_t)group_count(N) * V * (size_t)C + (size_t)threads * LMHEAD_CHUNK * (size_t)V;
}

/* -log softmax(row)[target] = log sum exp(row - max) + max - row[target]:
 * taken from the logit itself, it stays exact when p[target] underflows. */
static float row_loss(const float *row, int target, int V)
{
    float maxv = es_row_max(row, V);
    float sum = es_row_sum_exp(row, maxv, V);
    return logf(sum) + maxv - row[target];
}

/* As row_loss, and the row becomes scale * (softmax - onehot(target)). */
static float row_loss_grad(float *row, int target, int V, float scale)
{
    float maxv = es_row_max(row, V);
    float target_logit = row[target];
    float sum = es_row_exp_sum(row, row, maxv, V);
    es_row_scale(row, scale / sum, V);
    row[target] -= scale;
    return logf(sum) + maxv - target_logit;
}

static double mean_loss(const float *losses, int N)
{
    double total = 0.0;
    for (int n = 0; n < N; n++)
        total += losses[n];
    return total / N;
}

double lmhead_forward(float *losses, float *scratch, const float *x, const float *w, const int32_t *targets, int N,
                      int C, int V)
{
    int chunks = (N + LMHEAD_CHUNK - 1) / LMHEAD_CHUNK;
#pragma omp parallel num_threads(es_threads())
    {
        float *logits = scratch + (size_t)group_count(N) * V * C + (size_t)omp_get_thread_num() * LMHEAD_CHUNK * V;
#pragma omp for schedule(static)
        for (int c = 0; c < chunks; c++) {
            int n0 = c * LMHEAD_CHUNK, rows = N - n0 < LMHEAD_CHUNK ? N - n0 : LMHEAD_CHUNK;
            /* logits[rows,V] = x[n0:n0+rows] . w^T (serial inside the region) */
            es_gemm_nt(rows, V, C, 1.0f, x + (size_t)n0 * C, C, w, C, 0.0f, logits, V);
            for (int i = 0; i < rows; i++)
                losses[n0 + i] = row_loss(logits + (size_t)i * V, targets[n0 + i], V);
        }
    }
    return mean_loss(losses, N);
}

double lmhead_forward_backward(float *losses, float *dx, float *dw, float *scratch, const float *x, const float *w,
                               const int32_t *targets, int N, int C, int V, float scale)
{
    int chunks = (N + LMHEAD_CHUNK - 1) / LMHEAD_CHUNK;
    int groups = group_count(N);
    size_t VC = (size_t)V * C;
    float *partials = scratch; /* [groups, V, C] */
    float *buffers = scratch + (size_t)groups * VC;
#pragma omp parallel num_threads(es_threads())
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        float *dlogits = buffers + (size_t)t * LMHEAD_CHUNK * V;
        for (int g = t; g < groups; g += nt) {
            float *dw_g = partials + (size_t)g * VC;
            int c0 = (int)((long)chunks * g / groups), c1 = (int)((long)chunks * (g + 1) / groups);
            for (int c = c0; c < c1; c++) {
                int n0 = c * LMHEAD_CHUNK, rows = N - n0 < LMHEAD_CHUNK ? N - n0 : LMHEAD_CHUNK;
                const float *xc = x + (size_t)n0 * C;
                /* dlogits[rows,V] = x[n0:n0+rows] . w^T (serial inside the region) */
                es_gemm_nt(rows, V, C, 1.0f, xc, C, w, C, 0.0f, dlogits, V);
                for (int i = 0; i < rows; i++)
                    losses[n0 + i] = row_loss_grad(dlogits + (size_t)i * V, targets[n0 + i], V, scale);
                /* dx[n0:n0+rows] += dlogits . w: these rows are this chunk's alone */
                es_gemm_nn(rows, C, V, 1.0f, dlogits, V, w, C, 1.0f, dx + (size_t)n0 * C, C);
                /* the group's dw[V,C] (=, then +=) dlogits^T . x[n0:n0+rows] */
                es_gemm_tn(V, C, rows, 1.0f, dlogits, V, xc, C, c == c0 ? 0.0f : 1.0f, dw_g, C);
            }
        }
#pragma omp barrier
        /* dw += the groups' sums, added in group order for every entry */
#pragma omp for schedule(static)
        for (size_t i = 0; i < VC; i++) {
            float sum = partials[i];
            for (int g = 1; g < groups; g++)
                sum += partials[(size_t)g * VC + i];
            dw[i] += sum;
        }
    }
    return mean_loss(losses, N);
}
