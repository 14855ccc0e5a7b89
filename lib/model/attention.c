/* Causal multi-head self-attention with rotary position embeddings.
 * Heads are independent, so (batch, head) pairs run in parallel, one
 * parallel region per pass: each pair rotates its own q and k slices
 * (RoPE fused into the pass), then runs blocks of queries through serial
 * products (es_gemm inside a parallel region runs in its thread) on strided
 * views of the qkv buffer, with the softmax and its backward vectorised
 * (core/vmath.h). */
#include "model/layers.h"

#include "core/parallel.h"
#include "core/vmath.h"

#include <math.h>
#include <omp.h>
#include <string.h>

/* Queries per causal block: blocks skip the keys after them, which halves
 * the score work at long sequences, yet stay big enough for a product. */
enum { ATTENTION_BLOCK = 64 };

void rope_tables(float *rope_cos, float *rope_sin, int T, int D, double theta)
{
    int half = D / 2;
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            double angle = (double)t * pow(theta, -2.0 * i / (double)D);
            rope_cos[t * half + i] = (float)cos(angle);
            rope_sin[t * half + i] = (float)sin(angle);
        }
}

/* Rotates pairs (i, i + D/2) of the head vectors x[t * ld .. + D], t < T,
 * by +angle (direction 1) or -angle (direction -1, the transpose, for
 * gradients). */
static void rope_head(float *x, int ld, const float *rope_cos, const float *rope_sin, int T, int D, float direction)
{
    int half = D / 2;
    for (int t = 0; t < T; t++) {
        const float *cs = rope_cos + (long)t * half, *sn = rope_sin + (long)t * half;
        float *row = x + (long)t * ld;
        for (int i = 0; i < half; i++) {
            float x1 = row[i], x2 = row[i + half], s = direction * sn[i];
            row[i] = x1 * cs[i] - x2 * s;
            row[i + half] = x1 * s + x2 * cs[i];
        }
    }
}

void attention_forward(float *out, float *qkv, float *att, const float *rope_cos, const float *rope_sin, int B,
                       int T, int C, int H)
{
    int D = C / H, ld = 3 * C;
    float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        float *q = qkv + (long)b * T * ld + h * D;
        float *k = q + C;
        const float *v = q + 2 * C;
        float *p = att + (long)bh * T * T;
        float *o = out + (long)b * T * C + h * D;
        rope_head(q, ld, rope_cos, rope_sin, T, D, 1.0f);
        rope_head(k, ld, rope_cos, rope_sin, T, D, 1.0f);
        /* causal: a block of queries [i0, i1) sees keys [0, i1) only, so
         * the upper triangle beyond the block is never computed */
        for (int i0 = 0; i0 < T; i0 += ATTENTION_BLOCK) {
            int i1 = i0 + ATTENTION_BLOCK < T ? i0 + ATTENTION_BLOCK : T, rows = i1 - i0;
            /* scores[i0:i1, 0:i1] = scale * q . k^T */
            es_gemm_nt(rows, i1, D, scale, q + (long)i0 * ld, ld, k, ld, 0.0f, p + (long)i0 * T, T);
            for (int i = i0; i < i1; i++) {
                float *row = p + (long)i * T;
                float maxv = es_row_max(row, i + 1);
                float sum = es_row_exp_sum(row, row, maxv, i + 1);
                es_row_scale(row, 1.0f / sum, i + 1);
                memset(row + i + 1, 0, sizeof(float) * (size_t)(T - i - 1));
            }
            /* out[i0:i1] = p[i0:i1, 0:i1] . v[0:i1] */
            es_gemm_nn(rows, D, i1, 1.0f, p + (long)i0 * T, T, v, ld, 0.0f, o + (long)i0 * C, C);
        }
    }
}

void attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv, const float *att,
                        const float *rope_cos, const float *rope_sin, int B, int T, int C, int H)
{
    int D = C / H, ld = 3 * C;
    float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        const float *q = qkv + (long)b * T * ld + h * D;
        const float *k = q + C, *v = q + 2 * C;
        float *dq = dqkv + (long)b * T * ld + h * D;
        float *dk = dq + C, *dv = dq + 2 * C;
        const float *p = att + (long)bh * T * T;
        const float *dy = dout + (long)b * T * C + h * D;
        float *dp = scratch + (long)omp_get_thread_num() * T * T;
        for (int t = 0; t < T; t++) { /* this pair's slices of dqkv */
            memset(dq + (long)t * ld, 0, sizeof(float) * (size_t)D);
            memset(dk + (long)t * ld, 0, sizeof(float) * (size_t)D);
            memset(dv + (long)t * ld, 0, sizeof(float) * (size_t)D);
        }
        for (int i0 = 0; i0 < T; i0 += ATTENTION_BLOCK) {
            int i1 = i0 + ATTENTION_BLOCK < T ? i0 + ATTENTION_BLOCK : T, rows = i1 - i0;
            const float *pb = p + (long)i0 * T, *dyb = dy + (long)i0 * C;
            float *dpb = dp + (long)i0 * T;
            /* dp[i0:i1, 0:i1] = dy . v^T;  dv[0:i1] += p^T . dy */
            es_gemm_nt(rows, i1, D, 1.0f, dyb, C, v, ld, 0.0f, dpb, T);
            es_gemm_tn(i1, D, rows, 1.0f, pb, T, dyb, C, 1.0f, dv, ld);
            /* softmax backward: ds = p * (dp - sum_j dp * p) on j <= i */
            for (int i = i0; i < i1; i++) {
                const float *prow = p + (long)i * T;
                float *row = dp + (long)i * T;
                es_row_softmax_grad(row, prow, es_row_dot(row, prow, i + 1), i + 1);
                if (i + 1 < i1)
                    memset(row + i + 1, 0, sizeof(float) * (size_t)(i1 - i - 1));
            }
            /* dq[i0:i1] += scale * ds . k[0:i1];  dk[0:i1] += scale * ds^T . q[i0:i1] */
            es_gemm_nn(rows, D, i1, scale, dpb, T, k, ld, 1.0f, dq + (long)i0 * ld, ld);
            es_gemm_tn(i1, D, rows, scale, dpb, T, q + (long)i0 * ld, ld, 1.0f, dk, ld);
        }
        /* back to the un-rotated projections */
        rope_head(dq, ld, rope_cos, rope_sin, T, D, -1.0f);
        rope_head(dk, ld, rope_cos, rope_sin, T, D, -1.0f);
    }
}
