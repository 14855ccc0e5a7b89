/* Engram: hashed N-gram memory with a context-aware gate and a causal
 * depthwise conv. */
#include "model/engram.h"

#include "core/error.h"
#include "core/mem.h"
#include "core/parallel.h"
#include "core/profile.h"
#include "model/layers.h"
#include "model/mhc.h"
#include "config/config.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define SSQRT_FLOOR 1e-6f

/* RMSNorm over rows interleaving G groups; G = 1 is the plain layer. */
static void norm_forward(float *out, float *rstd, const float *inp, const float *w, int rows, int C, int G)
{
    if (G == 1)
        rmsnorm_forward(out, rstd, inp, w, rows, C);
    else
        rmsnorm_grouped_forward(out, rstd, inp, w, rows, C, G);
}

static void norm_backward(float *dinp, float *dw, const float *dout, const float *inp, const float *w,
                          const float *rstd, int rows, int C, int G)
{
    if (G == 1)
        rmsnorm_backward(dinp, dw, dout, inp, w, rstd, rows, C);
    else
        rmsnorm_grouped_backward(dinp, dw, dout, inp, w, rstd, rows, C, G);
}

int engram_layer_alloc(engram_layer *L, int N, int T, int C, int M, int G, int W, int gate_mode, int conv_on,
                       int kernel, double init_std, uint64_t seed, uint64_t stream)
{
    ngram_hasher hs = L->hasher;
    memset(L, 0, sizeof *L);
    L->hasher = hs;
    L->N = N;
    L->T = T;
    L->C = C;
    L->M = M;
    L->G = G;
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
    size_t NC = (size_t)N * C, NGC = NC * G, NMC = NC * M;
    struct {
        float **p;
        size_t n;
    } bufs[] = {{&L->k, NGC},     {&L->v, NC},     {&L->qn, NGC},   {&L->kn, NGC},    {&L->u, NMC},
                {&L->un, NMC},    {&L->conv, NMC}, {&L->du, NMC},   {&L->dk, NGC},    {&L->dv, NC},
                {&L->dconv, NMC}, {&L->dun, NMC},  {&L->dqn, NGC},  {&L->dkn, NGC},   {&L->hsum, G < M ? NC : 0},
                {&L->dhsum, G < M ? NC : 0}};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i].n && !(*bufs[i].p = es_floats_new(bufs[i].n))) {
            engram_layer_free(L);
            return ES_ENOMEM;
        }
    L->e = es_floats_new((size_t)N * L->De);
    L->q_rstd = es_floats_new((size_t)N * G);
    L->k_rstd = es_floats_new((size_t)N * G);
    L->u_rstd = es_floats_new((size_t)N * M);
    L->score = es_floats_new((size_t)N * G);
    L->gate = es_floats_new((size_t)N * G);
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
                     L->score, L->gate, L->hsum, L->dhsum};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        es_floats_free(bufs[i]);
    sparse_table_free(&L->table);
    memset(L, 0, sizeof *L);
}

void engram_forward(engram_layer *L, float *out, const float *h, const int32_t *cids)
{
    int N = L->N, C = L->C, H = L->H, W = L->W, De = L->De, T = L->T, M = L->M, G = L->G, MC = M * C;
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
        es_gemm_nt(N, G * C, De, 1.0f, L->e, De, L->wk, De, 0.0f, L->k, G * C);
        const float *query = h;
        if (G < M) { /* one gate for all branches: its query is their sum */
#pragma omp parallel for schedule(static)
            for (int n = 0; n < N; n++)
                for (int c = 0; c < C; c++) {
                    float sum = 0.0f;
                    for (int m = 0; m < M; m++)
                        sum += h[((size_t)n * M + m) * C + c];
                    L->hsum[(size_t)n * C + c] = sum;
                }
            query = L->hsum;
        }
        norm_forward(L->qn, L->q_rstd, query, L->q_norm, N * G, C, G);
        norm_forward(L->kn, L->k_rstd, L->k, L->k_norm, N * G, C, G);
    }
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        for (int gi = 0; gi < G; gi++) {
            float g = 1.0f;
            size_t row = (size_t)n * G + gi;
            if (L->gate_mode != GATE_OFF) {
                const float *q = L->qn + row * C, *k = L->kn + row * C;
                float dot = 0.0f;
                for (int c = 0; c < C; c++)
                    dot += q[c] * k[c];
                float x = dot * inv_sqrt_c;
                L->score[row] = x;
                if (L->gate_mode == GATE_SSQRT)
                    x = copysignf(sqrtf(fmaxf(fabsf(x), SSQRT_FLOOR)), x);
                g = 1.0f / (1.0f + expf(-x));
            }
            L->gate[row] = g;
        }
        const float *v = L->v + (size_t)n * C;
        for (int m = 0; m < M; m++) {
            float g = L->gate[(size_t)n * G + (G == M ? m : 0)];
            float *u = L->u + ((size_t)n * M + m) * C;
            for (int c = 0; c < C; c++)
                u[c] = g * v[c];
        }
    }
    if (!L->conv_on) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < (size_t)N * MC; i++)
            out[i] = h[i] + L->u[i];
        es_prof_end(PROF_ENGRAM);
        return;
    }
    norm_forward(L->un, L->u_rstd, L->u, L->conv_norm, N * M, C, M);
    int K = L->kernel, dil = L->dilation;
    /* the conv runs over the M*C channels of all branches */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        int t = n % T;
        float *cv = L->conv + (size_t)n * MC, *o = out + (size_t)n * MC;
        const float *u = L->u + (size_t)n * MC, *hn = h + (size_t)n * MC;
        for (int c = 0; c < MC; c++)
            cv[c] = 0.0f;
        for (int j = 0; j < K && t - j * dil >= 0; j++) {
            const float *src = L->un + (size_t)(n - j * dil) * MC;
            for (int c = 0; c < MC; c++)
                cv[c] += L->conv_w[c * K + j] * src[c];
        }
        for (int c = 0; c < MC; c++)
            o[c] = hn[c] + u[c] + cv[c] / (1.0f + expf(-cv[c]));
    }
    es_prof_end(PROF_ENGRAM);
}

void engram_backward(engram_layer *L, float *dh, const float *dy, const float *h)
{
    int N = L->N, C = L->C, De = L->De, T = L->T, K = L->kernel, dil = L->dilation, M = L->M, G = L->G;
    int MC = M * C; /* the conv's channels */
    size_t NC = (size_t)N * C, NMC = NC * M;
    float inv_sqrt_c = 1.0f / sqrtf((float)C);
    es_prof_begin(PROF_ENGRAM);
    memcpy(L->du, dy, sizeof(float) * NMC);
    if (L->conv_on) {
        /* through SiLU */
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < NMC; i++) {
            float x = L->conv[i], s = 1.0f / (1.0f + expf(-x));
            L->dconv[i] = dy[i] * (s + x * s * (1.0f - s));
        }
        /* conv weights: threads own columns, sums run over tokens in order */
#pragma omp parallel
        {
            int th = omp_get_thread_num(), nt = omp_get_num_threads();
            int c0 = MC * th / nt, c1 = MC * (th + 1) / nt;
            for (int n = 0; n < N; n++) {
                int t = n % T;
                const float *d = L->dconv + (size_t)n * MC;
                for (int j = 0; j < K && t - j * dil >= 0; j++) {
                    const float *src = L->un + (size_t)(n - j * dil) * MC;
                    for (int c = c0; c < c1; c++)
                        L->d_conv_w[c * K + j] += d[c] * src[c];
                }
            }
        }
        /* conv input: dun[m] = sum_j w[:, j] * dconv[m + j dil] within the sequence */
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) {
            int t = n % T;
            float *out = L->dun + (size_t)n * MC;
            for (int c = 0; c < MC; c++)
                out[c] = 0.0f;
            for (int j = 0; j < K && t + j * dil < T; j++) {
                const float *d = L->dconv + (size_t)(n + j * dil) * MC;
                for (int c = 0; c < MC; c++)
                    out[c] += L->conv_w[c * K + j] * d[c];
            }
        }
        norm_backward(L->du, L->d_conv_norm, L->dun, L->u, L->conv_norm, L->u_rstd, N * M, C, M);
    }
    /* u_m = g_m v (g shared when G = 1) */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *v = L->v + (size_t)n * C;
        float *dv = L->dv + (size_t)n * C;
        float dg[MHC_MAX_BRANCHES] = {0.0f};
        for (int m = 0; m < M; m++) {
            const float *du = L->du + ((size_t)n * M + m) * C;
            int gi = G == M ? m : 0;
            float g = L->gate[(size_t)n * G + gi];
            for (int c = 0; c < C; c++) {
                dv[c] = m == 0 ? g * du[c] : dv[c] + g * du[c];
                dg[gi] += du[c] * v[c];
            }
        }
        if (L->gate_mode == GATE_OFF)
            continue;
        for (int gi = 0; gi < G; gi++) {
            size_t row = (size_t)n * G + gi;
            float g = L->gate[row];
            float ds = dg[gi] * g * (1.0f - g);
            if (L->gate_mode == GATE_SSQRT) {
                float x = fabsf(L->score[row]);
                ds = x > SSQRT_FLOOR ? ds * 0.5f / sqrtf(x) : 0.0f;
            }
            ds *= inv_sqrt_c;
            const float *q = L->qn + row * C, *k = L->kn + row * C;
            float *dq = L->dqn + row * C, *dk = L->dkn + row * C;
            for (int c = 0; c < C; c++) {
                dq[c] = ds * k[c];
                dk[c] = ds * q[c];
            }
        }
    }
    float *de = L->table.hit_grad; /* [N, H*W] is exactly [N*H, W]: one gradient per hit */
    es_gemm_tn(C, De, N, 1.0f, L->dv, C, L->e, De, 1.0f, L->d_wv, De);
    es_gemm_nn(N, De, C, 1.0f, L->dv, C, L->wv, De, 0.0f, de, De);
    if (L->gate_mode != GATE_OFF) {
        if (G < M) { /* the shared gate's query is the sum of the branches */
            memset(L->dhsum, 0, sizeof(float) * NC);
            rmsnorm_backward(L->dhsum, L->d_q_norm, L->dqn, L->hsum, L->q_norm, L->q_rstd, N, C);
#pragma omp parallel for schedule(static)
            for (int n = 0; n < N; n++)
                for (int m = 0; m < M; m++)
                    for (int c = 0; c < C; c++)
                        dh[((size_t)n * M + m) * C + c] += L->dhsum[(size_t)n * C + c];
        } else {
            norm_backward(dh, L->d_q_norm, L->dqn, h, L->q_norm, L->q_rstd, N * G, C, G);
        }
        memset(L->dk, 0, sizeof(float) * NC * G);
        norm_backward(L->dk, L->d_k_norm, L->dkn, L->k, L->k_norm, L->k_rstd, N * G, C, G);
        es_gemm_tn(G * C, De, N, 1.0f, L->dk, G * C, L->e, De, 1.0f, L->d_wk, De);
        es_gemm_nn(N, De, G * C, 1.0f, L->dk, G * C, L->wk, De, 1.0f, de, De);
    }
    sparse_table_collect(&L->table);
    es_prof_end(PROF_ENGRAM);
}
