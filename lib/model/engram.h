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
 * Under mHC (model.branches M > 1, paper eq. 6 and the demo's data flow)
 * h and the output are streams [N, M, C]: one lookup e, one W_V and v are
 * shared; each branch m has its own W_K, key and query norms and gate,
 *   a_m = sigmoid(RMSNorm_m(h_m) . RMSNorm_m(W_K,m e) / sqrt(C)),  u_m = a_m v,
 * and the conv runs over the M*C channels of all branches, each branch
 * with its own conv norm (the demo's ShortConv over hc_mult groups):
 *   h_m = h_m + u_m + SiLU(conv(RMSNorm_m(u))_m).
 * With a branch-shared gate (model.engram.branch_gates: false, the
 * ablation "w/o multi-branch"), one W_K, key norm and gate serve all
 * branches, its query the sum of the branches (RMSNorm makes sum and mean
 * alike): G = 1 gate group instead of G = M.
 *
 * Shapes: N tokens (sequences of T), C model width, M branches, G gate
 * groups (M or 1), H hash tables (orders x heads), W row width,
 * De = H * W. M = 1 is the single-stream module. */
#ifndef ES_MODEL_ENGRAM_H
#define ES_MODEL_ENGRAM_H

#include <stdint.h>

#include "model/ngram.h"
#include "model/table.h"

typedef struct {
    int N, T, C, H, W, De;
    int M, G;        /* branches of the stream, gate groups (M, or 1 when shared) */
    int gate_mode;   /* GATE_PAPER, GATE_SSQRT, GATE_OFF (config/config.h) */
    int conv_on, kernel, dilation;
    int off;         /* inference switch (inspect, paper §6 "Engram off"): 1 = out = h, nothing computed */
    ngram_hasher hasher;
    sparse_table table;  /* [hasher.rows, W], owned */

    /* dense parameters and gradients: views into the model's buffers */
    float *wk, *d_wk;               /* [G*C, De] (gate on) */
    float *wv, *d_wv;               /* [C, De] */
    float *q_norm, *d_q_norm;       /* [G, C] gate query norm (gate on) */
    float *k_norm, *d_k_norm;       /* [G, C] gate key norm (gate on) */
    float *conv_norm, *d_conv_norm; /* [M, C] (conv on) */
    float *conv_w, *d_conv_w;       /* [M*C, kernel] (conv on) */

    /* activations of the last forward, owned */
    float *e;                 /* [N, De] */
    float *k;                 /* [N, G*C] */
    float *v;                 /* [N, C] */
    float *qn, *q_rstd;       /* [N, G*C], [N*G] */
    float *kn, *k_rstd;       /* [N, G*C], [N*G] */
    float *hsum;              /* [N, C] the shared gate's query input (G = 1 < M) */
    float *score;             /* [N*G] the scaled dot product */
    float *gate;              /* [N*G] */
    float *u;                 /* [N, M*C] */
    float *un, *u_rstd;       /* [N, M*C], [N*M] */
    float *conv;              /* [N, M*C] conv output before SiLU */
    /* backward scratch, owned */
    float *du;                /* [N, M*C] */
    float *dk;                /* [N, G*C] */
    float *dv, *dhsum;        /* [N, C] */
    float *dconv, *dun;       /* [N, M*C] */
    float *dqn, *dkn;         /* [N, G*C] */
} engram_layer;

/* Allocates activations and the table (rows from the hasher, which the
 * caller has set up in L->hasher). */
int engram_layer_alloc(engram_layer *L, int N, int T, int C, int M, int G, int W, int gate_mode, int conv_on,
                       int kernel, double init_std, uint64_t seed, uint64_t stream);
void engram_layer_free(engram_layer *L);

/* out[N,M,C] = h + Engram(h, cids); out and h are distinct (backward needs
 * h). cids[N]: compressed ids. After it, gate[N*M] holds the gate values
 * (per branch) and table.hit_row[N*H] the rows read (inspect's hooks). With
 * L->off set, out = h and nothing else is computed (for evaluation only: no
 * backward). */
void engram_forward(engram_layer *L, float *out, const float *h, const int32_t *cids);

/* dh[N,M,C] += the gradient through the gate's query (the identity path of
 * the residual is the caller's); dense gradients +=; the table's per-hit
 * gradients are written and collected (sparse_table_collect). dy[N,M,C] is
 * the gradient of the module's output y; dh may be the same buffer as dy
 * (dy is read in full before dh is written). */
void engram_backward(engram_layer *L, float *dh, const float *dy, const float *h);

#endif
