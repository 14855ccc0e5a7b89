/* RMSNorm: y = x * rstd * w, rstd = 1 / sqrt(mean(x^2) + eps). */
#include "model/layers.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>

#define RMSNORM_EPS 1e-6f

void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int N, int C)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (long)n * C;
        float *y = out + (long)n * C;
        float ss = 0.0f;
        for (int c = 0; c < C; c++)
            ss += x[c] * x[c];
        float r = 1.0f / sqrtf(ss / (float)C + RMSNORM_EPS);
        for (int c = 0; c < C; c++)
            y[c] = x[c] * r * weight[c];
        rstd[n] = r;
    }
}

void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                      const float *rstd, int N, int C)
{
    int threads = omp_get_max_threads();
    /* Per-thread partial sums of dweight, added in thread order afterwards,
     * so the result depends on the thread count but not on timing. */
    float *partial = calloc((size_t)threads * (size_t)C, sizeof(float));
#pragma omp parallel
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        float *dw = partial + (long)t * C;
        int n0 = (int)((long)N * t / nt), n1 = (int)((long)N * (t + 1) / nt);
        for (int n = n0; n < n1; n++) {
            const float *x = inp + (long)n * C, *dy = dout + (long)n * C;
            float *dx = dinp + (long)n * C;
            float r = rstd[n];
            /* dxhat = dy * w; dx = r * (dxhat - xhat * mean(dxhat * xhat)) */
            float dot = 0.0f;
            for (int c = 0; c < C; c++)
                dot += dy[c] * weight[c] * x[c] * r;
            dot /= (float)C;
            for (int c = 0; c < C; c++) {
                float xhat = x[c] * r;
                dx[c] += r * (dy[c] * weight[c] - xhat * dot);
                dw[c] += dy[c] * xhat;
            }
        }
    }
    for (int t = 0; t < threads; t++)
        for (int c = 0; c < C; c++)
            dweight[c] += partial[(long)t * C + c];
    free(partial);
}
