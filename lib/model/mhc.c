/* mHC: multi-branch residual streams with doubly stochastic mixing. */
#include "model/mhc.h"

#include "core/error.h"
#include "core/mem.h"
#include "core/parallel.h"

#include <math.h>
#include <string.h>

#define MHC_EPS 1e-6f
#define MHC_ALPHA_INIT 0.01f
#define MHC_RES_DIAG_INIT 4.0f

int mhc_layer_alloc(mhc_layer *L, int N, int M, int C, int iters)
{
    memset(L, 0, sizeof *L);
    if (M < 1 || M > MHC_MAX_BRANCHES || iters < 1)
        return es_error(ES_EINVAL, "mhc: %d branches (1 to %d) and %d Sinkhorn iterations (at least 1)", M,
                        MHC_MAX_BRANCHES, iters);
    L->N = N;
    L->M = M;
    L->C = C;
    L->P = 2 * M + M * M;
    L->iters = iters;
    size_t n = (size_t)N, MC = (size_t)M * C;
    L->z = es_floats_new(n * MC);
    L->rstd = es_floats_new(n);
    L->raw = es_floats_new(n * L->P);
    L->h_pre = es_floats_new(n * M);
    L->h_post = es_floats_new(n * M);
    L->sk = es_floats_new(n * (2 * (size_t)iters + 1) * M * M);
    L->dcoef = es_floats_new(n * L->P);
    L->dz = es_floats_new(n * MC);
    if (!L->z || !L->rstd || !L->raw || !L->h_pre || !L->h_post || !L->sk || !L->dcoef || !L->dz) {
        mhc_layer_free(L);
        return ES_ENOMEM;
    }
    return ES_OK;
}

void mhc_layer_free(mhc_layer *L)
{
    float *bufs[] = {L->z, L->rstd, L->raw, L->h_pre, L->h_post, L->sk, L->dcoef, L->dz};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        es_floats_free(bufs[i]);
    memset(L, 0, sizeof *L);
}

void mhc_init(float *alpha, float *bias, int M)
{
    for (int i = 0; i < 3; i++)
        alpha[i] = MHC_ALPHA_INIT;
    for (int m = 0; m < M; m++) {
        bias[m] = logf(1.0f / (float)M / (1.0f - 1.0f / (float)M + 1e-30f)); /* logit(1/M); M = 1 never uses it */
        bias[M + m] = 0.0f;
    }
    for (int i = 0; i < M; i++)
        for (int j = 0; j < M; j++)
            bias[2 * M + i * M + j] = i == j ? MHC_RES_DIAG_INIT : 0.0f;
}

static float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* The Sinkhorn iterates of token n: 2*iters+1 matrices of M x M. */
static float *iterates(const mhc_layer *L, int n) { return L->sk + (size_t)n * (2 * L->iters + 1) * L->M * L->M; }
static const float *h_res(const mhc_layer *L, int n) { return iterates(L, n) + (size_t)2 * L->iters * L->M * L->M; }

void mhc_coeffs_forward(mhc_layer *L, const float *x)
{
    int N = L->N, M = L->M, C = L->C, P = L->P, MC = M * C, I = L->iters;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * MC;
        float *zn = L->z + (size_t)n * MC;
        float ss = 0.0f;
        for (int i = 0; i < MC; i++)
            ss += xn[i] * xn[i];
        float r = 1.0f / sqrtf(ss / (float)MC + MHC_EPS);
        for (int i = 0; i < MC; i++)
            zn[i] = xn[i] * r;
        L->rstd[n] = r;
    }
    es_gemm_nt(N, P, MC, 1.0f, L->z, MC, L->phi, MC, 0.0f, L->raw, P);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *raw = L->raw + (size_t)n * P;
        for (int m = 0; m < M; m++) {
            L->h_pre[(size_t)n * M + m] = sigmoidf(L->alpha[0] * raw[m] + L->bias[m]);
            L->h_post[(size_t)n * M + m] = 2.0f * sigmoidf(L->alpha[1] * raw[M + m] + L->bias[M + m]);
        }
        float *A = iterates(L, n);
        float top = -INFINITY;
        for (int i = 0; i < M * M; i++) {
            A[i] = L->alpha[2] * raw[2 * M + i] + L->bias[2 * M + i];
            top = fmaxf(top, A[i]);
        }
        for (int i = 0; i < M * M; i++)
            A[i] = expf(A[i] - top);
        for (int t = 0; t < I; t++) {
            const float *X = A + (size_t)2 * t * M * M;
            float *R = A + (size_t)(2 * t + 1) * M * M, *S = A + (size_t)(2 * t + 2) * M * M;
            for (int i = 0; i < M; i++) { /* rows */
                float s = 0.0f;
                for (int j = 0; j < M; j++)
                    s += X[i * M + j];
                for (int j = 0; j < M; j++)
                    R[i * M + j] = X[i * M + j] / s;
            }
            for (int j = 0; j < M; j++) { /* columns */
                float s = 0.0f;
                for (int i = 0; i < M; i++)
                    s += R[i * M + j];
                for (int i = 0; i < M; i++)
                    S[i * M + j] = R[i * M + j] / s;
            }
        }
    }
}

void mhc_read_forward(const mhc_layer *L, float *h, const float *x)
{
    int N = L->N, M = L->M, C = L->C;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *hn = h + (size_t)n * C;
        const float *w = L->h_pre + (size_t)n * M;
        for (int c = 0; c < C; c++)
            hn[c] = 0.0f;
        for (int m = 0; m < M; m++) {
            const float *xm = x + ((size_t)n * M + m) * C;
            for (int c = 0; c < C; c++)
                hn[c] += w[m] * xm[c];
        }
    }
}

void mhc_write_forward(const mhc_layer *L, float *out, const float *x, const float *f)
{
    int N = L->N, M = L->M, C = L->C;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *H = h_res(L, n), *fn = f + (size_t)n * C, *xn = x + (size_t)n * M * C;
        for (int i = 0; i < M; i++) {
            float *o = out + ((size_t)n * M + i) * C, post = L->h_post[(size_t)n * M + i];
            for (int c = 0; c < C; c++)
                o[c] = post * fn[c];
            for (int j = 0; j < M; j++)
                for (int c = 0; c < C; c++)
                    o[c] += H[i * M + j] * xn[(size_t)j * C + c];
        }
    }
}

void mhc_write_backward(mhc_layer *L, float *dx, float *df, const float *dout, const float *x, const float *f)
{
    int N = L->N, M = L->M, C = L->C, P = L->P;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *H = h_res(L, n), *fn = f + (size_t)n * C, *xn = x + (size_t)n * M * C;
        const float *dn = dout + (size_t)n * M * C;
        float *dc = L->dcoef + (size_t)n * P, *dfn = df + (size_t)n * C, *dxn = dx + (size_t)n * M * C;
        for (int i = 0; i < M; i++) {
            const float *di = dn + (size_t)i * C;
            float post = L->h_post[(size_t)n * M + i], dpost = 0.0f;
            for (int c = 0; c < C; c++) {
                dpost += di[c] * fn[c];
                dfn[c] += post * di[c];
            }
            dc[M + i] = dpost;
            for (int j = 0; j < M; j++) {
                float dh = 0.0f;
                for (int c = 0; c < C; c++)
                    dh += di[c] * xn[(size_t)j * C + c];
                dc[2 * M + i * M + j] = dh;
            }
        }
        for (int j = 0; j < M; j++)
            for (int i = 0; i < M; i++) {
                float w = H[i * M + j];
                for (int c = 0; c < C; c++)
                    dxn[(size_t)j * C + c] += w * dn[(size_t)i * C + c];
            }
    }
}

void mhc_read_backward(mhc_layer *L, float *dx, const float *dh, const float *x)
{
    int N = L->N, M = L->M, C = L->C, P = L->P;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *dhn = dh + (size_t)n * C;
        for (int m = 0; m < M; m++) {
            const float *xm = x + ((size_t)n * M + m) * C;
            float *dxm = dx + ((size_t)n * M + m) * C, w = L->h_pre[(size_t)n * M + m], d = 0.0f;
            for (int c = 0; c < C; c++) {
                d += dhn[c] * xm[c];
                dxm[c] += w * dhn[c];
            }
            L->dcoef[(size_t)n * P + m] = d;
        }
    }
}

void mhc_coeffs_backward(mhc_layer *L, float *dx)
{
    int N = L->N, M = L->M, C = L->C, P = L->P, MC = M * C, I = L->iters;
    /* dcoef becomes the gradient of the logits, in place */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *dc = L->dcoef + (size_t)n * P;
        for (int m = 0; m < M; m++) {
            float s = L->h_pre[(size_t)n * M + m];
            dc[m] *= s * (1.0f - s);
            float p = 0.5f * L->h_post[(size_t)n * M + m]; /* sigmoid */
            dc[M + m] *= 2.0f * p * (1.0f - p);
        }
        /* Sinkhorn, unrolled backward: for Y = X / s (s a row or column
         * sum of X), dX = (dY - sum over that row/column of dY * Y) / s */
        float G[MHC_MAX_BRANCHES * MHC_MAX_BRANCHES];
        memcpy(G, dc + 2 * M, sizeof(float) * (size_t)M * M);
        const float *A = iterates(L, n);
        for (int t = I - 1; t >= 0; t--) {
            const float *X = A + (size_t)2 * t * M * M, *R = A + (size_t)(2 * t + 1) * M * M,
                        *S = A + (size_t)(2 * t + 2) * M * M;
            for (int j = 0; j < M; j++) { /* columns: S = R / colsum(R) */
                float s = 0.0f, gy = 0.0f;
                for (int i = 0; i < M; i++) {
                    s += R[i * M + j];
                    gy += G[i * M + j] * S[i * M + j];
                }
                for (int i = 0; i < M; i++)
                    G[i * M + j] = (G[i * M + j] - gy) / s;
            }
            for (int i = 0; i < M; i++) { /* rows: R = X / rowsum(X) */
                float s = 0.0f, gy = 0.0f;
                for (int j = 0; j < M; j++) {
                    s += X[i * M + j];
                    gy += G[i * M + j] * R[i * M + j];
                }
                for (int j = 0; j < M; j++)
                    G[i * M + j] = (G[i * M + j] - gy) / s;
            }
        }
        for (int i = 0; i < M * M; i++)
            dc[2 * M + i] = G[i] * A[i]; /* through exp */
    }
    /* static and scale parameters: sums over tokens in order */
    for (int n = 0; n < N; n++) {
        const float *dc = L->dcoef + (size_t)n * P, *raw = L->raw + (size_t)n * P;
        for (int p = 0; p < P; p++) {
            L->d_bias[p] += dc[p];
            L->d_alpha[p < M ? 0 : p < 2 * M ? 1 : 2] += dc[p] * raw[p];
        }
    }
    /* dcoef becomes the gradient of raw */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *dc = L->dcoef + (size_t)n * P;
        for (int p = 0; p < P; p++)
            dc[p] *= L->alpha[p < M ? 0 : p < 2 * M ? 1 : 2];
    }
    es_gemm_tn(P, MC, N, 1.0f, L->dcoef, P, L->z, MC, 1.0f, L->d_phi, MC);
    es_gemm_nn(N, MC, P, 1.0f, L->dcoef, P, L->phi, MC, 0.0f, L->dz, MC);
    /* z = x * rstd: dx += rstd (dz - z mean(dz z)) */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *zn = L->z + (size_t)n * MC, *dzn = L->dz + (size_t)n * MC;
        float *dxn = dx + (size_t)n * MC, r = L->rstd[n], dot = 0.0f;
        for (int i = 0; i < MC; i++)
            dot += dzn[i] * zn[i];
        dot /= (float)MC;
        for (int i = 0; i < MC; i++)
            dxn[i] += r * (dzn[i] - zn[i] * dot);
    }
}

void mhc_sum_forward(float *out, const float *x, int N, int M, int C)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *o = out + (size_t)n * C;
        const float *xn = x + (size_t)n * M * C;
        for (int c = 0; c < C; c++)
            o[c] = xn[c];
        for (int m = 1; m < M; m++)
            for (int c = 0; c < C; c++)
                o[c] += xn[(size_t)m * C + c];
    }
}

void mhc_sum_backward(float *dx, const float *dout, int N, int M, int C)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++)
            for (int c = 0; c < C; c++)
                dx[((size_t)n * M + m) * C + c] += dout[(size_t)n * C + c];
}

double mhc_params(int M, int C)
{
    double P = 2.0 * M + (double)M * M;
    return P * M * C + 3 + P;
}

double mhc_macs_per_token(int M, int C)
{
    double P = 2.0 * M + (double)M * M;
    return P * M * C + (double)M * C + (double)M * C + (double)M * M * C;
}
