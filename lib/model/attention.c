/* Causal multi-head self-attention with rotary position embeddings.
 * Heads are independent, so (batch, head) pairs run in parallel, each
 * with serial sgemms on strided views of the qkv buffer (no copies). */
#include "model/layers.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

/* Queries per causal block: blocks skip the keys after them, which halves
 * the score work at long sequences, yet stay big enough for sgemm. */
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

/* Rotates pairs (i, i + D/2) of every q and k head vector by +angle
 * (direction 1) or -angle (direction -1, the transpose, for gradients). */
static void rope_apply(float *qkv, const float *rope_cos, const float *rope_sin, int N, int T, int C, int H,
                       float direction)
{
    int D = C / H, half = D / 2;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        int t = n % T;
        const float *cs = rope_cos + (long)t * half, *sn = rope_sin + (long)t * half;
        float *row = qkv + (long)n * 3 * C;
        for (int part = 0; part < 2; part++) /* q, then k */
            for (int h = 0; h < H; h++) {
                float *x = row + part * C + h * D;
                for (int i = 0; i < half; i++) {
                    float x1 = x[i], x2 = x[i + half], s = direction * sn[i];
                    x[i] = x1 * cs[i] - x2 * s;
                    x[i + half] = x1 * s + x2 * cs[i];
                }
            }
    }
}

void attention_forward(float *out, float *qkv, float *att, const float *rope_cos, const float *rope_sin, int B,
                       int T, int C, int H)
{
    int D = C / H, ld = 3 * C;
    float scale = 1.0f / sqrtf((float)D);
    rope_apply(qkv, rope_cos, rope_sin, B * T, T, C, H, 1.0f);
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        const float *q = qkv + (long)b * T * ld + h * D;
        const float *k = q + C, *v = q + 2 * C;
        float *p = att + (long)bh * T * T;
        float *o = out + (long)b * T * C + h * D;
        /* causal: a block of queries [i0, i1) sees keys [0, i1) only, so
         * the upper triangle beyond the block is never computed */
        for (int i0 = 0; i0 < T; i0 += ATTENTION_BLOCK) {
            int i1 = i0 + ATTENTION_BLOCK < T ? i0 + ATTENTION_BLOCK : T, rows = i1 - i0;
            /* scores[i0:i1, 0:i1] = scale * q . k^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, i1, D, scale, q + (long)i0 * ld, ld, k, ld,
                        0.0f, p + (long)i0 * T, T);
            for (int i = i0; i < i1; i++) {
                float *row = p + (long)i * T;
                float maxv = row[0];
                for (int j = 1; j <= i; j++)
                    maxv = row[j] > maxv ? row[j] : maxv;
                float sum = 0.0f;
                for (int j = 0; j <= i; j++) {
                    row[j] = expf(row[j] - maxv);
                    sum += row[j];
                }
                float inv = 1.0f / sum;
                for (int j = 0; j <= i; j++)
                    row[j] *= inv;
                for (int j = i + 1; j < T; j++)
                    row[j] = 0.0f;
            }
            /* out[i0:i1] = p[i0:i1, 0:i1] . v[0:i1] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, D, i1, 1.0f, p + (long)i0 * T, T, v, ld,
                        0.0f, o + (long)i0 * C, C);
        }
    }
}

void attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv, const float *att,
                        const float *rope_cos, const float *rope_sin, int B, int T, int C, int H)
{
    int D = C / H, ld = 3 * C;
    float scale = 1.0f / sqrtf((float)D);
    memset(dqkv, 0, sizeof(float) * (size_t)B * T * ld);
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
        for (int i0 = 0; i0 < T; i0 += ATTENTION_BLOCK) {
            int i1 = i0 + ATTENTION_BLOCK < T ? i0 + ATTENTION_BLOCK : T, rows = i1 - i0;
            const float *pb = p + (long)i0 * T, *dyb = dy + (long)i0 * C;
            float *dpb = dp + (long)i0 * T;
            /* dp[i0:i1, 0:i1] = dy . v^T;  dv[0:i1] += p^T . dy */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, i1, D, 1.0f, dyb, C, v, ld, 0.0f, dpb, T);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, i1, D, rows, 1.0f, pb, T, dyb, C, 1.0f, dv, ld);
            /* softmax backward: ds = p * (dp - sum_j dp * p) on j <= i */
            for (int i = i0; i < i1; i++) {
                const float *prow = p + (long)i * T;
                float *row = dp + (long)i * T;
                float dot = 0.0f;
                for (int j = 0; j <= i; j++)
                    dot += row[j] * prow[j];
                for (int j = 0; j <= i; j++)
                    row[j] = prow[j] * (row[j] - dot);
                for (int j = i + 1; j < i1; j++)
                    row[j] = 0.0f;
            }
            /* dq[i0:i1] += scale * ds . k[0:i1];  dk[0:i1] += scale * ds^T . q[i0:i1] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, D, i1, scale, dpb, T, k, ld, 1.0f,
                        dq + (long)i0 * ld, ld);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, i1, D, rows, scale, dpb, T, q + (long)i0 * ld, ld,
                        1.0f, dk, ld);
        }
    }
    rope_apply(dqkv, rope_cos, rope_sin, B * T, T, C, H, -1.0f);
}
