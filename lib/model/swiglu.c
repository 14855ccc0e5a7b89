/* SwiGLU feed-forward: out = (silu(x Wa^T) * (x Wg^T)) W2^T.
 * Wa and Wg are stacked in one [2F, C] matrix so one sgemm computes both. */
#include "model/layers.h"

#include "core/parallel.h"

#include <math.h>

void swiglu_forward(float *out, float *h, float *z, const float *inp, const float *w13, const float *w2, int N,
                    int C, int F, float beta)
{
    /* h[N,2F] = inp . w13^T */
    es_gemm_nt(N, 2 * F, C, 1.0f, inp, C, w13, C, 0.0f, h, 2 * F);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *a = h + (long)n * 2 * F, *g = a + F;
        float *zn = z + (long)n * F;
        for (int f = 0; f < F; f++)
            zn[f] = a[f] / (1.0f + expf(-a[f])) * g[f];
    }
    /* out[N,C] (+)= z . w2^T */
    es_gemm_nt(N, C, F, 1.0f, z, F, w2, F, beta, out, C);
}

void swiglu_backward(float *dinp, float *dw13, float *dw2, float *dh, float *dz, const float *dout,
                     const float *inp, const float *h, const float *z, const float *w13, const float *w2, int N,
                     int C, int F)
{
    /* dz[N,F] = dout . w2;  dw2[C,F] += dout^T . z */
    es_gemm_nn(N, F, C, 1.0f, dout, C, w2, F, 0.0f, dz, F);
    es_gemm_tn(C, F, N, 1.0f, dout, C, z, F, 1.0f, dw2, F);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *a = h + (long)n * 2 * F, *g = a + F;
        const float *d = dz + (long)n * F;
        float *da = dh + (long)n * 2 * F, *dg = da + F;
        for (int f = 0; f < F; f++) {
            float s = 1.0f / (1.0f + expf(-a[f]));
            float silu = a[f] * s;
            dg[f] = d[f] * silu;
            da[f] = d[f] * g[f] * (s + a[f] * s * (1.0f - s));
        }
    }
    /* dw13[2F,C] += dh^T . inp;  dinp[N,C] += dh . w13 */
    es_gemm_tn(2 * F, C, N, 1.0f, dh, 2 * F, inp, C, 1.0f, dw13, C);
    es_gemm_nn(N, C, 2 * F, 1.0f, dh, 2 * F, w13, C, 1.0f, dinp, C);
}
