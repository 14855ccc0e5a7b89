/* Engram: hashed N-gram memory with a context-aware gate and a causal
 * depthwise conv. */
#include "model/engram.h"

#include "core/error.h"
#include "core/mem.h"
#include "core/parallel.h"
#include "core/profile.h"
#include "model/layers.h"
#include "config/config.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define SSQRT_FLOOR 1e-6f

int engram_layer_alloc(engram_layer *L, int N, int T, int C, int W, int gate_mode, int conv_on, int kernel,
                       double init_std, uint64_t seed, uint64_t stream)
{
    ngram_hasher hs = L->hasher;
    memset(L, 0, sizeof *L);
    L->hasher = hs;
    L->N = N;
    L->T = T;
    L->C = C;
    L->H = hs.tables;
    L->W = W;
    L->De = hs.tables * W;
    L->gate_mode = gate_mode;
    L->conv_on = conv_on;
    L->kernel = kernel;
    int max_order = 0;
    for (int o = 0; o < hs.n_orders; o++)
        max_order = hs.orders[o] > max_order ? hs.orders[o] : max_order;
    L->dilation = max_order;
    int rc = sparse_table_alloc(&L->table, hs.rows, W, N * hs.tables, init_std, seed, stream);
    if (rc)
        return rc;
    size_t NC = (size_t)N * C;
    float **bufs[] = {&L->k,  &L->v,     &L->qn,    &L->kn, &L->u,   &L->un,  &L->conv, &L->du,
                      &L->dk, &L->dv,    &L->dconv, &L->dun, &L->dqn, &L->dkn};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (!(*bufs[i] = es_floats_new(NC))) {
            engram_layer_free(L);
            return ES_ENOMEM;
        }
    L->e = es_floats_new((size_t)N * L->De);
    L->q_rstd = es_floats_new((size_t)N);
    L->k_rstd = es_floats_new((size_t)N);
    L->u_rstd = es_floats_new((size_t)N);
    L->score = es_floats_new((size_t)N);
    L->gate = es_floats_new((size_t)N);
    if (!L->e || !L->q_rstd || !L->k_rstd || !L->u_rstd || !L->score || !L->gate) {
        engram_layer_free(L);
        return ES_ENOMEM;
    }
    return ES_OK;
}

void engram_layer_free(engram_layer *L)
{
    float *bufs[] = {L->k,  L->v,  L->qn,    L->kn,  L->u,   L->un,  L->conv,   L->du,     L->dk,
                     L->dv, L->dconv, L->dun, L->dqn, L->dkn, L->e, L->q_rstd, L->k_rstd, L->u_rstd,
                     L->score, L->gate};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        es_floats_free(bufs[i]);
    sparse_table_free(&L->table);
    memset(L, 0, sizeof *L);
}

void engram_forward(engram_layer *L, float *out, const float *h, const int32_t *cids)
{
    int N = L->N, C = L->C, H = L->H, W = L->W, De = L->De, T = L->T;
    float inv_sqrt_c = 1.0f / sqrtf((float)C);
    if (L->off) {
        memcpy(out, h, sizeof(float) * (size_t)N * C);
        return;
    }

    /* lookup: e[n] = the rows of all tables, side by side */
    es_prof_begin(PROF_ENGRAM);
    ngram_hash(&L->hasher, cids, N, T, L->table.hit_row);
    L->table.n_hits = N * H;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N * H; i++)
        memcpy(L->e + (size_t)i * W, L->table.data + (size_t)L->table.hit_row[i] * W, sizeof(float) * (size_t)W);

    es_gemm_nt(N, C, De, 1.0f, L->e, De, L->wv, De, 0.0f, L->v, C);
    if (L->gate_mode != GATE_OFF) {
        es_gemm_nt(N, C, De, 1.0f, L->e, De, L->wk, De, 0.0f, L->k, C);
        rmsnorm_forward(L->qn, L->q_rstd, h, L->q_norm, N, C);
        rmsnorm_forward(L->kn, L->k_rstd, L->k, L->k_norm, N, C);
    }
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float g = 1.0f;
        if (L->gate_mode != GATE_OFF) {
            const float *q = L->qn + (size_t)n * C, *k = L->kn + (size_t)n * C;
            float dot = 0.0f;
            for (int c = 0; c < C; c++)
                dot += q[c] * k[c];
            float x = dot * inv_sqrt_c;
            L->score[n] = x;
            if (L->gate_mode == GATE_SSQRT)
                x = copysignf(sqrtf(fmaxf(fabsf(x), SSQRT_FLOOR)), x);
            g = 1.0f / (1.0f + expf(-x));
        }
        L->gate[n] = g;
        const float *v = L->v + (size_t)n * C;
        float *u = L->u + (size_t)n * C;
        for (int c = 0; c < C; c++)
            u[c] = g * v[c];
    }
    if (!L->conv_on) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < (size_t)N * C; i++)
            out[i] = h[i] + L->u[i];
        es_prof_end(PROF_ENGRAM);
        return;
    }
    rmsnorm_forward(L->un, L->u_rstd, L->u, L->conv_norm, N, C);
    int K = L->kernel, dil = L->dilation;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        int t = n % T;
        float *cv = L->conv + (size_t)n * C, *o = out + (size_t)n * C;
        const float *u = L->u + (size_t)n * C, *hn = h + (size_t)n * C;
        for (int c = 0; c < C; c++)
            cv[c] = 0.0f;
        for (int j = 0; j < K && t - j * dil >= 0; j++) {
            const float *src = L->un + (size_t)(n - j * dil) * C;
            for (int c = 0; c < C; c++)
                cv[c] += L->conv_w[c * K + j] * src[c];
        }
        for (int c = 0; c < C; c++)
            o[c] = hn[c] + u[c] + cv[c] / (1.0f + expf(-cv[c]));
    }
    es_prof_end(PROF_ENGRAM);
}

void engram_backward(engram_layer *L, float *dh, const float *dy, const float *h)
{
    int N = L->N, C = L->C, De = L->De, T = L->T, K = L->kernel, dil = L->dilation;
    size_t NC = (size_t)N * C;
    float inv_sqrt_c = 1.0f / sqrtf((float)C);
    es_prof_begin(PROF_ENGRAM);
    memcpy(L->du, dy, sizeof(float) * NC);
    if (L->conv_on) {
        /* through SiLU */
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < NC; i++) {
            float x = L->conv[i], s = 1.0f / (1.0f + expf(-x));
            L->dconv[i] = dy[i] * (s + x * s * (1.0f - s));
        }
        /* conv weights: threads own columns, sums run over tokens in order */
#pragma omp parallel
        {
            int th = omp_get_thread_num(), nt = omp_get_num_threads();
            int c0 = C * th / nt, c1 = C * (th + 1) / nt;
            for (int n = 0; n < N; n++) {
                int t = n % T;
                const float *d = L->dconv + (size_t)n * C;
                for (int j = 0; j < K && t - j * dil >= 0; j++) {
                    const float *src = L->un + (size_t)(n - j * dil) * C;
                    for (int c = c0; c < c1; c++)
                        L->d_conv_w[c * K + j] += d[c] * src[c];
                }
            }
        }
        /* conv input: dun[m] = sum_j w[:, j] * dconv[m + j dil] within the sequence */
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) {
            int t = n % T;
            float *out = L->dun + (size_t)n * C;
            for (int c = 0; c < C; c++)
                out[c] = 0.0f;
            for (int j = 0; j < K && t + j * dil < T; j++) {
                const float *d = L->dconv + (size_t)(n + j * dil) * C;
                for (int c = 0; c < C; c++)
                    out[c] += L->conv_w[c * K + j] * d[c];
            }
        }
        rmsnorm_backward(L->du, L->d_conv_norm, L->dun, L->u, L->conv_norm, L->u_rstd, N, C);
    }
    /* u = g v */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *du = L->du + (size_t)n * C, *v = L->v + (size_t)n * C;
        float *dv = L->dv + (size_t)n * C;
        float g = L->gate[n], dg = 0.0f;
        for (int c = 0; c < C; c++) {
            dv[c] = g * du[c];
            dg += du[c] * v[c];
        }
        if (L->gate_mode == GATE_OFF)
            continue;
        float ds = dg * g * (1.0f - g);
        if (L->gate_mode == GATE_SSQRT) {
            float x = fabsf(L->score[n]);
            ds = x > SSQRT_FLOOR ? ds * 0.5f / sqrtf(x) : 0.0f;
        }
        ds *= inv_sqrt_c;
        const float *q = L->qn + (size_t)n * C, *k = L->kn + (size_t)n * C;
        float *dq = L->dqn + (size_t)n * C, *dk = L->dkn + (size_t)n * C;
        for (int c = 0; c < C; c++) {
            dq[c] = ds * k[c];
            dk[c] = ds * q[c];
        }
    }
    float *de = L->table.hit_grad; /* [N, H*W] is exactly [N*H, W]: one gradient per hit */
    es_gemm_tn(C, De, N, 1.0f, L->dv, C, L->e, De, 1.0f, L->d_wv, De);
    es_gemm_nn(N, De, C, 1.0f, L->dv, C, L->wv, De, 0.0f, de, De);
    if (L->gate_mode != GATE_OFF) {
        rmsnorm_backward(dh, L->d_q_norm, L->dqn, h, L->q_norm, L->q_rstd, N, C);
        memset(L->dk, 0, sizeof(float) * NC);
        rmsnorm_backward(L->dk, L->d_k_norm, L->dkn, L->k, L->k_norm, L->k_rstd, N, C);
        es_gemm_tn(C, De, N, 1.0f, L->dk, C, L->e, De, 1.0f, L->d_wk, De);
        es_gemm_nn(N, De, C, 1.0f, L->dk, C, L->wk, De, 1.0f, de, De);
    }
    sparse_table_collect(&L->table);
    es_prof_end(PROF_ENGRAM);
}
