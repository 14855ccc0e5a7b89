#include "train/muon.h"

#include "core/error.h"
#include "core/mem.h"
#include "core/parallel.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* How many row blocks (separate matrices) tensor t is to Muon; 0: not
 * Muon's. */
static int muon_blocks(const model_config *c, const param_tensor *t)
{
    if (t->rows < 2 || t->cols < 2)
        return 0;
    if (ends_with(t->name, ".attn.wqkv"))
        return 3; /* W_Q, W_K, W_V */
    if (ends_with(t->name, ".attn.wo") || ends_with(t->name, ".ffn.w2") || ends_with(t->name, ".moe.shared.w2") ||
        ends_with(t->name, ".engram.wk") || ends_with(t->name, ".engram.wv"))
        return 1;
    if (ends_with(t->name, ".ffn.w13") || ends_with(t->name, ".moe.shared.w13"))
        return 2; /* the SwiGLU's two input matrices */
    if (ends_with(t->name, ".moe.experts.w13"))
        return 2 * c->moe.experts;
    if (ends_with(t->name, ".moe.experts.w2"))
        return c->moe.experts;
    return 0;
}

size_t muon_ns5_scratch(int rows, int cols)
{
    size_t s = (size_t)(rows < cols ? rows : cols), l = (size_t)(rows < cols ? cols : rows);
    return 2 * s * l + 2 * s * s;
}

void muon_ns5(float *x, int rows, int cols, float *scratch)
{
    int tall = rows > cols;
    int s = tall ? cols : rows, l = tall ? rows : cols;
    float *X = scratch, *Y = X + (size_t)s * l, *A = Y + (size_t)s * l, *Bm = A + (size_t)s * s;
    double norm2 = 0.0;
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        norm2 += (double)x[i] * x[i];
    float inv = (float)(1.0 / (sqrt(norm2) + 1e-7));
    if (tall) {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                X[(size_t)c * l + r] = x[(size_t)r * cols + c] * inv;
    } else {
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            X[i] = x[i] * inv;
    }
    const float a = (float)MUON_NS_A, b = (float)MUON_NS_B, c = (float)MUON_NS_C;
    for (int it = 0; it < MUON_NS_STEPS; it++) {
        /* A[s,s] = X X^T;  B = b A + c A A;  Y = a X + B X */
        es_gemm_nt(s, s, l, 1.0f, X, l, X, l, 0.0f, A, s);
        for (size_t i = 0; i < (size_t)s * s; i++)
            Bm[i] = b * A[i];
        es_gemm_nn(s, s, s, c, A, s, A, s, 1.0f, Bm, s);
        memcpy(Y, X, sizeof(float) * (size_t)s * l);
        es_gemm_nn(s, l, s, 1.0f, Bm, s, X, l, a, Y, l);
        float *swap = X;
        X = Y;
        Y = swap;
    }
    if (tall) {
        for (int r = 0; r < rows; r++)
            for (int cc = 0; cc < cols; cc++)
                x[(size_t)r * cols + cc] = X[(size_t)cc * l + r];
    } else {
        memcpy(x, X, sizeof(float) * (size_t)rows * cols);
    }
}

void muon_ns5_band(double min_sv, double *lo, double *hi)
{
    enum { GRID = 100000 };
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i <= GRID; i++) {
        double s = min_sv + (1.0 - min_sv) * i / GRID;
        for (int it = 0; it < MUON_NS_STEPS; it++)
            s = MUON_NS_A * s + MUON_NS_B * s * s * s + MUON_NS_C * s * s * s * s * s;
        if (s < *lo)
            *lo = s;
        if (s > *hi)
            *hi = s;
    }
}

int muon_new(const model *m, double beta, double weight_decay, muon **out)
{
    *out = NULL;
    muon *opt = es_calloc(1, sizeof *opt);
    if (!opt)
        return ES_ENOMEM;
    opt->n = m->n_params;
    opt->beta = beta;
    opt->weight_decay = weight_decay;
    opt->threads = es_threads() > 0 ? es_threads() : 1;
    opt->owns = es_calloc((size_t)m->n_tensors + 1, 1);
    opt->momentum = es_floats_new(m->n_params);
    int count = 0;
    for (int i = 0; i < m->n_tensors; i++)
        count += muon_blocks(&m->cfg, &m->tensors[i]);
    opt->matrices = es_calloc((size_t)count + 1, sizeof *opt->matrices);
    if (!opt->owns || !opt->momentum || !opt->matrices) {
        muon_free(opt);
        return ES_ENOMEM;
    }
    size_t scratch = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const param_tensor *t = &m->tensors[i];
        int blocks = muon_blocks(&m->cfg, t);
        if (blocks == 0)
            continue;
        if (t->rows % blocks != 0) {
            muon_free(opt);
            return es_error(ES_EINVAL, "muon: tensor %s of %d rows does not split into %d matrices", t->name,
                            t->rows, blocks);
        }
        opt->owns[i] = 1;
        int rows = t->rows / blocks;
        for (int b = 0; b < blocks; b++) {
            muon_matrix *mx = &opt->matrices[opt->n_matrices++];
            mx->tensor = i;
            mx->rows = rows;
            mx->cols = t->cols;
            mx->offset = (size_t)(t->data - m->params) + (size_t)b * rows * t->cols;
        }
        size_t need = muon_ns5_scratch(rows, t->cols) + (size_t)rows * t->cols;
        if (need > scratch)
            scratch = need;
    }
    opt->scratch_floats = scratch;
    opt->scratch = es_floats_new((size_t)opt->threads * (scratch > 0 ? scratch : 1));
    if (!opt->scratch) {
        muon_free(opt);
        return ES_ENOMEM;
    }
    *out = opt;
    return ES_OK;
}

void muon_free(muon *opt)
{
    if (!opt)
        return;
    es_floats_free(opt->momentum);
    es_floats_free(opt->scratch);
    free(opt->matrices);
    free(opt->owns);
    free(opt);
}

void muon_step(muon *opt, model *m, double lr)
{
    const float beta = (float)opt->beta, keep = (float)(1.0 - lr * opt->weight_decay);
    int threads = opt->threads;
    /* one matrix per thread at a time; each matrix's arithmetic is serial,
     * so the result does not depend on the thread count */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int i = 0; i < opt->n_matrices; i++) {
        const muon_matrix *mx = &opt->matrices[i];
        size_t n = (size_t)mx->rows * mx->cols;
        float *u = opt->scratch + (size_t)omp_get_thread_num() * opt->scratch_floats;
        float *ns = u + n;
        const float *g = m->grads + mx->offset;
        float *mom = opt->momentum + mx->offset, *w = m->params + mx->offset;
        for (size_t j = 0; j < n; j++) {
            mom[j] = beta * mom[j] + (1.0f - beta) * g[j];
            u[j] = beta * mom[j] + (1.0f - beta) * g[j];
        }
        muon_ns5(u, mx->rows, mx->cols, ns);
        float step = (float)(lr * 0.2 * sqrt((double)(mx->rows > mx->cols ? mx->rows : mx->cols)));
        for (size_t j = 0; j < n; j++)
            w[j] = keep * w[j] - step * u[j];
    }
}
