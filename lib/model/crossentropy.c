/* Softmax cross-entropy over the vocabulary, the LM's loss. */
#include "model/layers.h"

#include <math.h>

double crossentropy_forward(float *logits, float *losses, const int32_t *targets, int N, int V)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *row = logits + (long)n * V;
        float target_logit = row[targets[n]];
        float maxv = row[0];
        for (int v = 1; v < V; v++)
            maxv = row[v] > maxv ? row[v] : maxv;
        float sum = 0.0f;
        for (int v = 0; v < V; v++) {
            row[v] = expf(row[v] - maxv);
            sum += row[v];
        }
        float inv = 1.0f / sum;
        for (int v = 0; v < V; v++)
            row[v] *= inv;
        /* -log p from the logit itself keeps precision when p underflows */
        losses[n] = logf(sum) + maxv - target_logit;
    }
    double total = 0.0;
    for (int n = 0; n < N; n++)
        total += losses[n];
    return total / N;
}

void crossentropy_backward(float *probs, const int32_t *targets, int N, int V, float scale)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *row = probs + (long)n * V;
        for (int v = 0; v < V; v++)
            row[v] *= scale;
        row[targets[n]] -= scale;
    }
}
