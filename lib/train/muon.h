/* Muon (Keller Jordan 2024) for the backbone's 2-D matrices: SGD momentum
 * with Nesterov, the update orthogonalised by 5 Newton-Schulz iterations,
 * scaled by 0.2 * sqrt(max(rows, cols)) so that its RMS matches AdamW's
 * (Moonlight, Liu et al. 2025, arXiv 2502.16982; so Muon and AdamW share
 * train.lr), and decoupled weight decay:
 *
 *   M  = beta M + (1 - beta) G                     momentum
 *   U  = beta M + (1 - beta) G                     Nesterov
 *   O  = NS5(U / ||U||_F)                          ~ the polar factor U V^T of U
 *   W -= lr * (0.2 sqrt(max(rows, cols)) O + weight_decay W)
 *
 * NS5 is X <- a X + (b A + c A A) X with A = X X^T and the quintic
 * coefficients (a, b, c) = (3.4445, -4.7750, 2.0315) of the reference
 * implementation (KellerJordan/Muon), run on the wide orientation (X is
 * [min, max]) through serial SGEMMs, one matrix per thread, so the result
 * does not depend on the thread count. It does not converge to U V^T: it
 * maps every singular value of U/||U||_F into about [0.68, 1.13] (see
 * muon_ns5_band), which is what makes it fast and good enough.
 *
 * Which tensors are Muon's: attention (wqkv as 3 matrices [C, C], wo),
 * dense FFN and shared-expert matrices (w13 as its two halves, w2), each
 * routed expert's three matrices, and Engram's W_K and W_V. Everything else
 * (embedding, LM head, norm gains, the router, Engram's conv) stays on
 * AdamW, and the row-sparse tables on lazy Adam (optimizer.h). The
 * choice is by tensor name (model.h's "blocks.L.attn.wqkv" and so on),
 * with the split into matrices from the config.
 *
 * The optimizer owns its momentum buffer (laid out like model.params,
 * zero outside Muon's tensors) and its scratch. Every muon_new() has its
 * muon_free(). */
#ifndef ES_TRAIN_MUON_H
#define ES_TRAIN_MUON_H

#include <stddef.h>

#include "model/model.h"

enum { MUON_NS_STEPS = 5 };

/* The quintic Newton-Schulz coefficients. */
#define MUON_NS_A 3.4445
#define MUON_NS_B (-4.7750)
#define MUON_NS_C 2.0315

typedef struct {
    int tensor;      /* index into model.tensors */
    size_t offset;   /* first float of this matrix in model.params */
    int rows, cols;  /* shape of this matrix (a row block of the tensor) */
} muon_matrix;

typedef struct {
    size_t n;              /* floats of momentum: model.n_params */
    float *momentum;       /* [n] laid out like model.params */
    muon_matrix *matrices; /* [n_matrices] */
    int n_matrices;
    unsigned char *owns;   /* [model.n_tensors]: 1 where Muon updates the tensor */
    double beta, weight_decay;
    int threads;           /* scratch sets */
    size_t scratch_floats; /* per thread */
    float *scratch;        /* [threads * scratch_floats] */
} muon;

/* Muon over m's backbone matrices, momentum beta, decoupled weight decay. */
int muon_new(const model *m, double beta, double weight_decay, muon **out);
void muon_free(muon *opt);

/* One step of every Muon matrix at learning rate lr. Uses the gradients
 * in m->grads (after clipping). Leaves every other tensor alone: AdamW
 * must skip mu->owns (adamw_step's skip argument). */
void muon_step(muon *opt, model *m, double lr);

/* x[rows, cols] <- NS5(x / ||x||_F), in place; scratch holds at least
 * muon_ns5_scratch(rows, cols) floats. Exposed for tests. */
size_t muon_ns5_scratch(int rows, int cols);
void muon_ns5(float *x, int rows, int cols, float *scratch);

/* The band NS5's singular values land in for inputs whose singular values
 * (after normalising by the Frobenius norm) are at least min_sv: the
 * image of [min_sv, 1] under five iterations of the scalar quintic
 * p(s) = a s + b s^3 + c s^5, computed on a fine grid. */
void muon_ns5_band(double min_sv, double *lo, double *hi);

#endif
