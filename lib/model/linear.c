/* Bias-free linear layer over the gemm wrappers. */
#include "model/layers.h"

#include "core/parallel.h"

void linear_forward(float *out, const float *inp, const float *w, int N, int IC, int OC, float beta)
{
    es_gemm_nt(N, OC, IC, 1.0f, inp, IC, w, IC, beta, out, OC);
}

void linear_backward(float *dinp, float *dw, const float *dout, const float *inp, const float *w, int N, int IC,
                     int OC)
{
    if (dinp)
        es_gemm_nn(N, IC, OC, 1.0f, dout, OC, w, IC, 1.0f, dinp, IC);
    es_gemm_tn(OC, IC, N, 1.0f, dout, OC, inp, IC, 1.0f, dw, IC);
}
