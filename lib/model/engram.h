/* Engram conditional memory (paper section 2; DESIGN §2), one module per
 * Engram layer, inserted before a block's attention:
 *   h = h + y,  y = u + SiLU(CausalDepthwiseConv(RMSNorm(u))),  u = a * v
 *   e = concat of the hashed N-gram rows of every head of every order
 *   k = e Wk^T,  v = e Wv^T
 *   a = sigmoid(RMSNorm(h) . RMSNorm(k) / sqrt(C))        (gate "paper")
 *     = sigmoid(ssqrt(RMSNorm(h) . RMSNorm(k) / sqrt(C)))  (gate "ssqrt", the demo's)
 *     = 1                                                 (gate "off")
 * The conv is depthwise and causal within each sequence, kernel size
 * `kernel`, dilation = the largest N-gram order, weights zero at init, so
 * the module starts as y = u. With the conv off, y = u.
 *
 * Shapes: N tokens (sequences of T), C model width, H hash tables
 * (orders x heads), W row width, De = H * W. */
#ifndef ES_MODEL_ENGRAM_H
#define ES_MODEL_ENGRAM_H

#include <stdint.h>

#include "model/ngram.h"
#include "model/table.h"

typedef struct {
    int N, T, C, H, W, De;
    int gate_mode;   /* GATE_PAPER, GATE_SSQRT, GATE_OFF (config/config.h) */
    int conv_on, kernel, dilation;
    int off;         /* inference switch (inspect, paper §6 "Engram off"): 1 = out = h, nothing computed */
    ngram_hasher hasher;
    sparse_table table;  /* [hasher.rows, W], owned */

    /* dense parameters and gradients: views into the model's buffers */
    float *wk, *d_wk;               /* [C, De] (gate on) */
    float *wv, *d_wv;               /* [C, De] */
    float *q_norm, *d_q_norm;       /* [C] gate query norm (gate on) */
    float *k_norm, *d_k_norm;       /* [C] gate key norm (gate on) */
    float *conv_norm, *d_conv_norm; /* [C] (conv on) */
    float *conv_w, *d_conv_w;       /* [C, kernel] (conv on) */

    /* activations of the last forward, owned */
    float *e;                 /* [N, De] */
    float *k, *v;             /* [N, C] */
    float *qn, *q_rstd;       /* [N, C], [N] */
    float *kn, *k_rstd;       /* [N, C], [N] */
    float *score;             /* [N] the scaled dot product */
    float *gate;              /* [N] */
    float *u;                 /* [N, C] */
    float *un, *u_rstd;       /* [N, C], [N] */
    float *conv;              /* [N, C] conv output before SiLU */
    /* backward scratch, owned */
    float *du, *dk, *dv;      /* [N, C] */
    float *dconv, *dun;       /* [N, C] */
    float *dqn, *dkn;         /* [N, C] */
} engram_layer;

/* Allocates activations and the table (rows from the hasher, which the
 * caller has set up in L->hasher). */
int engram_layer_alloc(engram_layer *L, int N, int T, int C, int W, int gate_mode, int conv_on, int kernel,
                       double init_std, uint64_t seed, uint64_t stream);
void engram_layer_free(engram_layer *L);

/* out[N,C] = h + Engram(h, cids); out and h are distinct (backward needs
 * h). cids[N]: compressed ids. After it, gate[N] holds the gate values and
 * table.hit_row[N*H] the rows read (inspect's hooks). With L->off set,
 * out = h and nothing else is computed (for evaluation only: no backward). */
void engram_forward(engram_layer *L, float *out, const float *h, const int32_t *cids);

/* dh[N,C] += the gradient through the gate's query (the identity path of
 * the residual is the caller's); dense gradients +=; the table's per-hit
 * gradients are written and collected (sparse_table_collect). dy[N,C] is
 * the gradient of the module's output y; dh may be the same buffer as dy
 * (dy is read in full before dh is written). */
void engram_backward(engram_layer *L, float *dh, const float *dy, const float *h);

#endif
