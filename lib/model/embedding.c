/* Token embedding lookup. */
#include "model/layers.h"

#include <omp.h>
#include <string.h>

void embedding_forward(float *out, const int32_t *ids, const float *wte, int N, int C)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        memcpy(out + (long)n * C, wte + (long)ids[n] * C, sizeof(float) * (size_t)C);
}

void embedding_backward(float *dwte, const float *dout, const int32_t *ids, int N, int C)
{
    /* Repeated ids collide, so threads split the columns, not the tokens:
     * each column's sum runs over n in order, deterministic and race-free. */
#pragma omp parallel
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int c0 = C * t / nt, c1 = C * (t + 1) / nt;
        for (int n = 0; n < N; n++) {
            float *row = dwte + (long)ids[n] * C;
            const float *g = dout + (long)n * C;
            for (int c = c0; c < c1; c++)
                row[c] += g[c];
        }
    }
}
