/* RMSNorm: y = x * rstd * w, rstd = 1 / sqrt(mean(x^2) + eps). */
#include "model/layers.h"

#include <math.h>
#include <stdlib.h>

#define RMSNORM_EPS 1e-6f

/* Rows per block of the weight-gradient reduction: a fixed block size
 * makes the summation order, and so the bits, independent of the thread
 * count. */
enum { RMSNORM_BLOCK = 64 };

void rmsnorm_grouped_forward(float *out, float *rstd, const float *inp, const float *weight, int rows, int C, int G)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < rows; n++) {
        const float *x = inp + (long)n * C, *w = weight + (long)(n % G) * C;
        float *y = out + (long)n * C;
        float ss = 0.0f;
        for (int c = 0; c < C; c++)
            ss += x[c] * x[c];
        float r = 1.0f / sqrtf(ss / (float)C + RMSNORM_EPS);
        for (int c = 0; c < C; c++)
            y[c] = x[c] * r * w[c];
        rstd[n] = r;
    }
}

void rmsnorm_grouped_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                              const float *rstd, int rows, int C, int G)
{
    int blocks = (rows + RMSNORM_BLOCK - 1) / RMSNORM_BLOCK;
    float *partial = calloc((size_t)blocks * (size_t)G * (size_t)C, sizeof(float));
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < blocks; blk++) {
        int n1 = (blk + 1) * RMSNORM_BLOCK < rows ? (blk + 1) * RMSNORM_BLOCK : rows;
        for (int n = blk * RMSNORM_BLOCK; n < n1; n++) {
            const float *x = inp + (long)n * C, *dy = dout + (long)n * C, *w = weight + (long)(n % G) * C;
            float *dx = dinp + (long)n * C, *dw = partial + ((size_t)blk * G + (size_t)(n % G)) * C;
            float r = rstd[n];
            float dot = 0.0f;
            for (int c = 0; c < C; c++)
                dot += dy[c] * w[c] * x[c] * r;
            dot /= (float)C;
            for (int c = 0; c < C; c++) {
                float xhat = x[c] * r;
                dx[c] += r * (dy[c] * w[c] - xhat * dot);
                dw[c] += dy[c] * xhat;
            }
        }
    }
    for (int blk = 0; blk < blocks; blk++)
        for (size_t i = 0; i < (size_t)G * C; i++)
            dweight[i] += partial[(size_t)blk * G * C + i];
    free(partial);
}

/* The plain layer is the grouped one with one group (same operations in
 * the same order, so the same bits). */
void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int N, int C)
{
    rmsnorm_grouped_forward(out, rstd, inp, weight, N, C, 1);
}

void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                      const float *rstd, int N, int C)
{
    rmsnorm_grouped_backward(dinp, dweight, dout, inp, weight, rstd, N, C, 1);
}
