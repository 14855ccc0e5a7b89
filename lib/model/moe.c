/* Fine-grained MoE with shared experts and aux-loss-free balancing. */
#include "model/moe.h"

#include "core/error.h"
#include "core/mem.h"
#include "core/parallel.h"
#include "core/profile.h"
#include "model/layers.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

int moe_layer_alloc(moe_layer *L, int N, int C, int E, int K, int F, int S, float route_scale, float aux_coef)
{
    memset(L, 0, sizeof *L);
    L->N = N;
    L->C = C;
    L->E = E;
    L->K = K;
    L->F = F;
    L->S = S;
    L->route_scale = route_scale;
    L->aux_coef = aux_coef;
    size_t NK = (size_t)N * K;
    L->affinity = es_floats_new((size_t)N * E);
    L->aux_grad = es_floats_new((size_t)N * E);
    L->gates = es_floats_new(NK);
    L->xg = es_floats_new(NK * C);
    L->h = es_floats_new(NK * 2 * F);
    L->z = es_floats_new(NK * F);
    L->y = es_floats_new(NK * C);
    L->shared_h = es_floats_new((size_t)N * 2 * S * F);
    L->shared_z = es_floats_new((size_t)N * S * F);
    L->topk = es_calloc(NK, sizeof(int32_t));
    L->offset = es_calloc((size_t)E + 1, sizeof(int32_t));
    L->row_token = es_calloc(NK, sizeof(int32_t));
    L->slot_row = es_calloc(NK, sizeof(int32_t));
    L->load = es_calloc((size_t)E, sizeof(double));
    L->fill = es_calloc((size_t)E, sizeof(int32_t));
    L->freq = es_calloc((size_t)E, sizeof(double));
    if (!L->affinity || !L->aux_grad || !L->gates || !L->xg || !L->h || !L->z || !L->y || !L->shared_h ||
        !L->shared_z || !L->topk || !L->offset || !L->row_token || !L->slot_row || !L->load ||
        !L->fill || !L->freq) {
        moe_layer_free(L);
        return ES_ENOMEM;
    }
    return ES_OK;
}

void moe_layer_free(moe_layer *L)
{
    float *f[] = {L->affinity, L->aux_grad, L->gates, L->xg, L->h, L->z, L->y, L->shared_h, L->shared_z};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        es_floats_free(f[i]);
    free(L->topk);
    free(L->offset);
    free(L->row_token);
    free(L->slot_row);
    free(L->load);
    free(L->fill);
    free(L->freq);
    memset(L, 0, sizeof *L);
}

int moe_scratch_alloc(moe_scratch *s, int N, int C, int E, int K, int F, int S)
{
    size_t NK = (size_t)N * K;
    s->dy = es_floats_new(NK * C);
    s->dz = es_floats_new(NK * F);
    s->dh = es_floats_new(NK * 2 * F);
    s->dxg = es_floats_new(NK * C);
    s->dgate = es_floats_new(NK);
    s->dlogit = es_floats_new((size_t)N * E);
    s->shared_dh = es_floats_new((size_t)N * 2 * S * F);
    s->shared_dz = es_floats_new((size_t)N * S * F);
    if (!s->dy || !s->dz || !s->dh || !s->dxg || !s->dgate || !s->dlogit || !s->shared_dh || !s->shared_dz) {
        moe_scratch_free(s);
        return ES_ENOMEM;
    }
    return ES_OK;
}

void moe_scratch_free(moe_scratch *s)
{
    float *f[] = {s->dy, s->dz, s->dh, s->dxg, s->dgate, s->dlogit, s->shared_dh, s->shared_dz};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        es_floats_free(f[i]);
    memset(s, 0, sizeof *s);
}

/* Top-k of score = s + b for one token (s alone if bias is NULL):
 * selection by strictly greater score, so ties go to the lower expert
 * index, deterministically. */
static void select_topk(const float *s, const float *bias, int E, int K, int32_t *chosen)
{
    for (int j = 0; j < K; j++) {
        int best = -1;
        float best_score = 0.0f;
        for (int e = 0; e < E; e++) {
            int taken = 0;
            for (int i = 0; i < j; i++)
                taken |= chosen[i] == e;
            if (taken)
                continue;
            float score = bias ? s[e] + bias[e] : s[e];
            if (best < 0 || score > best_score) {
                best = e;
                best_score = score;
            }
        }
        chosen[j] = best;
    }
}

int moe_picks_changed(const float *s, const int32_t *chosen, int E, int K)
{
    int32_t plain[64]; /* K <= 64 (config range) */
    if (K > 64)
        K = 64;
    select_topk(s, NULL, E, K, plain);
    int changed = 0;
    for (int j = 0; j < K; j++) {
        int found = 0;
        for (int i = 0; i < K; i++)
            found |= plain[i] == chosen[j];
        changed += !found;
    }
    return changed;
}

/* The SwiGLU of one expert over its n gathered rows, serially (es_gemm_*
 * inside a parallel region runs in the calling thread). */
static void expert_forward(const moe_layer *L, int e, int row0, int n)
{
    int C = L->C, F = L->F;
    const float *w13 = L->expert_w13 + (size_t)e * 2 * F * C, *w2 = L->expert_w2 + (size_t)e * C * F;
    float *h = L->h + (size_t)row0 * 2 * F, *z = L->z + (size_t)row0 * F;
    es_gemm_nt(n, 2 * F, C, 1.0f, L->xg + (size_t)row0 * C, C, w13, C, 0.0f, h, 2 * F);
    for (int r = 0; r < n; r++) {
        const float *a = h + (size_t)r * 2 * F, *g = a + F;
        float *zr = z + (size_t)r * F;
        for (int f = 0; f < F; f++)
            zr[f] = a[f] / (1.0f + expf(-a[f])) * g[f];
    }
    es_gemm_nt(n, C, F, 1.0f, z, F, w2, F, 0.0f, L->y + (size_t)row0 * C, C);
}

static void expert_backward(const moe_layer *L, const moe_scratch *s, int e, int row0, int n)
{
    int C = L->C, F = L->F;
    const float *w13 = L->expert_w13 + (size_t)e * 2 * F * C, *w2 = L->expert_w2 + (size_t)e * C * F;
    float *dw13 = L->d_expert_w13 + (size_t)e * 2 * F * C, *dw2 = L->d_expert_w2 + (size_t)e * C * F;
    const float *h = L->h + (size_t)row0 * 2 * F, *z = L->z + (size_t)row0 * F, *xg = L->xg + (size_t)row0 * C;
    const float *dy = s->dy + (size_t)row0 * C;
    float *dz = s->dz + (size_t)row0 * F, *dh = s->dh + (size_t)row0 * 2 * F, *dxg = s->dxg + (size_t)row0 * C;
    /* dz = dy . w2;  dw2 += dy^T . z */
    es_gemm_nn(n, F, C, 1.0f, dy, C, w2, F, 0.0f, dz, F);
    es_gemm_tn(C, F, n, 1.0f, dy, C, z, F, 1.0f, dw2, F);
    for (int r = 0; r < n; r++) {
        const float *a = h + (size_t)r * 2 * F, *g = a + F, *d = dz + (size_t)r * F;
        float *da = dh + (size_t)r * 2 * F, *dg = da + F;
        for (int f = 0; f < F; f++) {
            float sg = 1.0f / (1.0f + expf(-a[f]));
            dg[f] = d[f] * a[f] * sg;
            da[f] = d[f] * g[f] * (sg + a[f] * sg * (1.0f - sg));
        }
    }
    /* dw13 += dh^T . xg;  dxg = dh . w13 */
    es_gemm_tn(2 * F, C, n, 1.0f, dh, 2 * F, xg, C, 1.0f, dw13, C);
    es_gemm_nn(n, C, 2 * F, 1.0f, dh, 2 * F, w13, C, 0.0f, dxg, C);
}

void moe_forward(moe_layer *L, float *out, const float *inp, int T)
{
    int N = L->N, C = L->C, E = L->E, K = L->K;

    es_prof_begin(PROF_ROUTING);
    /* affinities s[N,E] = sigmoid(inp . router^T) */
    es_gemm_nt(N, E, C, 1.0f, inp, C, L->router, C, 0.0f, L->affinity, E);
    long changed = 0;
#pragma omp parallel for schedule(static) reduction(+ : changed)
    for (int n = 0; n < N; n++) {
        float *s = L->affinity + (size_t)n * E;
        for (int e = 0; e < E; e++)
            s[e] = 1.0f / (1.0f + expf(-s[e]));
        int32_t *chosen = L->topk + (size_t)n * K;
        select_topk(s, L->bias, E, K, chosen);
        changed += moe_picks_changed(s, chosen, E, K);
        float sum = 0.0f;
        for (int j = 0; j < K; j++)
            sum += s[chosen[j]];
        for (int j = 0; j < K; j++)
            L->gates[(size_t)n * K + j] = L->route_scale * s[chosen[j]] / sum;
    }

    /* group the N*K (token, slot) pairs by expert, in token order */
    memset(L->offset, 0, sizeof(int32_t) * (size_t)(E + 1));
    for (size_t i = 0; i < (size_t)N * K; i++)
        L->offset[L->topk[i] + 1]++;
    L->picks_changed = changed;
    for (int e = 0; e < E; e++)
        L->offset[e + 1] += L->offset[e];
    memcpy(L->fill, L->offset, sizeof(int32_t) * (size_t)E);
    for (int n = 0; n < N; n++)
        for (int j = 0; j < K; j++) {
            int row = L->fill[L->topk[(size_t)n * K + j]]++;
            L->row_token[row] = n;
            L->slot_row[(size_t)n * K + j] = row;
        }
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N * K; r++)
        memcpy(L->xg + (size_t)r * C, inp + (size_t)L->row_token[r] * C, sizeof(float) * (size_t)C);
    es_prof_end(PROF_ROUTING);

    /* Experts are independent: each thread takes whole experts, in any
     * order, with serial sgemms, so the arithmetic (and the bits) do not
     * depend on the thread count. */
    es_prof_begin(PROF_EXPERTS);
#pragma omp parallel for schedule(dynamic, 1)
    for (int e = 0; e < E; e++)
        if (L->offset[e + 1] > L->offset[e])
            expert_forward(L, e, L->offset[e], L->offset[e + 1] - L->offset[e]);
    es_prof_end(PROF_EXPERTS);
    es_prof_begin(PROF_ROUTING);
    /* out[n] += sum_j gate[n,j] * y[row(n,j)], slots in order */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *o = out + (size_t)n * C;
        for (int j = 0; j < K; j++) {
            float g = L->gates[(size_t)n * K + j];
            const float *y = L->y + (size_t)L->slot_row[(size_t)n * K + j] * C;
            for (int c = 0; c < C; c++)
                o[c] += g * y[c];
        }
    }
    es_prof_end(PROF_ROUTING);
    es_prof_begin(PROF_EXPERTS);
    if (L->S > 0)
        swiglu_forward(out, L->shared_h, L->shared_z, inp, L->shared_w13, L->shared_w2, N, C, L->S * L->F, 1.0f);
    es_prof_end(PROF_EXPERTS);

    /* Sequence-level balance loss alpha * sum_i f_i P_i per sequence,
     * averaged over sequences; f_i (selection frequency) is a constant,
     * P_i the mean normalised affinity. Its gradient w.r.t. s is kept. */
    L->aux_loss = 0.0;
    es_prof_begin(PROF_ROUTING);
    if (L->aux_coef > 0) {
        int B = N / T;
        double total = 0.0;
        double *f = L->freq;
        for (int b = 0; b < B; b++) {
            for (int e = 0; e < E; e++)
                f[e] = 0.0;
            for (int t = 0; t < T; t++)
                for (int j = 0; j < K; j++)
                    f[L->topk[((size_t)b * T + t) * K + j]] += (double)E / ((double)K * T);
            for (int t = 0; t < T; t++) {
                size_t n = (size_t)b * T + t;
                const float *s = L->affinity + n * E;
                double Z = 0.0, as = 0.0;
                for (int e = 0; e < E; e++)
                    Z += s[e];
                for (int e = 0; e < E; e++) {
                    total += f[e] * s[e] / Z / T;
                    as += f[e] * s[e];
                }
                /* d/ds_m of sum_i a_i s_i / Z with a_i = alpha f_i / (T B) */
                float *g = L->aux_grad + n * E;
                double scale = L->aux_coef / ((double)T * B);
                for (int e = 0; e < E; e++)
                    g[e] = (float)(scale * (f[e] / Z - as / (Z * Z)));
            }
        }
        L->aux_loss = L->aux_coef * total / B;
    }
    es_prof_end(PROF_ROUTING);
}

void moe_backward(moe_layer *L, moe_scratch *s, float *dinp, const float *dout, const float *inp, int T)
{
    (void)T;
    int N = L->N, C = L->C, E = L->E, K = L->K;
    es_prof_begin(PROF_EXPERTS);
    if (L->S > 0)
        swiglu_backward(dinp, L->d_shared_w13, L->d_shared_w2, s->shared_dh, s->shared_dz, dout, inp, L->shared_h,
                        L->shared_z, L->shared_w13, L->shared_w2, N, C, L->S * L->F);

    es_prof_end(PROF_EXPERTS);
    es_prof_begin(PROF_ROUTING);
    /* per slot: dy = gate * dout, dgate = dout . y */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *d = dout + (size_t)n * C;
        for (int j = 0; j < K; j++) {
            size_t slot = (size_t)n * K + j;
            int row = L->slot_row[slot];
            float g = L->gates[slot];
            const float *y = L->y + (size_t)row * C;
            float *dy = s->dy + (size_t)row * C;
            float dot = 0.0f;
            for (int c = 0; c < C; c++) {
                dy[c] = g * d[c];
                dot += d[c] * y[c];
            }
            s->dgate[slot] = dot;
        }
    }
    es_prof_end(PROF_ROUTING);
    es_prof_begin(PROF_EXPERTS);

#pragma omp parallel for schedule(dynamic, 1)
    for (int e = 0; e < E; e++)
        if (L->offset[e + 1] > L->offset[e])
            expert_backward(L, s, e, L->offset[e], L->offset[e + 1] - L->offset[e]);
    es_prof_end(PROF_EXPERTS);
    es_prof_begin(PROF_ROUTING);
    /* dinp[n] += the expert input gradients of its slots, in slot order;
     * gates: g_j = r s_j / S  =>  ds_i = r (dg_i - sum_j dg_j g_j / r) / S
     * on the chosen experts; then through the sigmoid to the logits. */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *dx = dinp + (size_t)n * C;
        const int32_t *chosen = L->topk + (size_t)n * K;
        const float *sv = L->affinity + (size_t)n * E;
        float *dl = s->dlogit + (size_t)n * E;
        for (int j = 0; j < K; j++) {
            const float *g = s->dxg + (size_t)L->slot_row[(size_t)n * K + j] * C;
            for (int c = 0; c < C; c++)
                dx[c] += g[c];
        }
        float sum = 0.0f, weighted = 0.0f;
        for (int j = 0; j < K; j++) {
            sum += sv[chosen[j]];
            weighted += s->dgate[(size_t)n * K + j] * sv[chosen[j]];
        }
        for (int e = 0; e < E; e++)
            dl[e] = L->aux_coef > 0 ? L->aux_grad[(size_t)n * E + e] : 0.0f;
        for (int j = 0; j < K; j++)
            dl[chosen[j]] += L->route_scale * (s->dgate[(size_t)n * K + j] / sum - weighted / (sum * sum));
        for (int e = 0; e < E; e++)
            dl[e] *= sv[e] * (1.0f - sv[e]);
    }
    /* router: d_router[E,C] += dlogit^T . inp;  dinp += dlogit . router */
    es_gemm_tn(E, C, N, 1.0f, s->dlogit, E, inp, C, 1.0f, L->d_router, C);
    es_gemm_nn(N, C, E, 1.0f, s->dlogit, E, L->router, C, 1.0f, dinp, C);
    es_prof_end(PROF_ROUTING);
}

void moe_after_step(moe_layer *L, float rate)
{
    double mean = (double)L->N * L->K / L->E;
    for (int e = 0; e < L->E; e++) {
        double load = L->offset[e + 1] - L->offset[e];
        L->load[e] += load;
        if (rate > 0 && load != mean)
            L->bias[e] += load < mean ? rate : -rate;
    }
    L->changed_sum += L->picks_changed;
    L->picks_sum += (long)L->N * L->K;
    L->load_steps++;
}

double moe_effective_experts(const double *load, int E)
{
    double sum = 0.0;
    for (int e = 0; e < E; e++)
        sum += load[e];
    if (!(sum > 0))
        return NAN;
    double entropy = 0.0;
    for (int e = 0; e < E; e++)
        if (load[e] > 0) {
            double p = load[e] / sum;
            entropy -= p * log(p);
        }
    return exp(entropy);
}

moe_routing moe_routing_stats(moe_layer *L)
{
    moe_routing r = {NAN, NAN, NAN};
    if (L->load_steps > 0) {
        double max = 0.0, sum = 0.0;
        for (int e = 0; e < L->E; e++) {
            sum += L->load[e];
            max = L->load[e] > max ? L->load[e] : max;
        }
        r.load_max_mean = sum > 0 ? max / (sum / L->E) : NAN;
        r.experts_eff = moe_effective_experts(L->load, L->E);
        r.bias_changed = L->picks_sum > 0 ? (double)L->changed_sum / (double)L->picks_sum : NAN;
    }
    for (int e = 0; e < L->E; e++)
        L->load[e] = 0.0;
    L->load_steps = 0;
    L->changed_sum = 0;
    L->picks_sum = 0;
    return r;
}
