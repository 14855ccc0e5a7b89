/* The layers of the model, one file each, each with its forward and its
 * backward pass (llm.c style). Shapes use
 *   B batch, T sequence length, N = B*T tokens, C model width,
 *   H heads, D = C/H head width, F hidden width of a SwiGLU, V vocabulary.
 * All tensors are row-major fp32. Inputs are const; outputs and saved
 * activations are caller-owned buffers of the stated shapes.
 *
 * Convention: backward functions ACCUMULATE (+=) into every gradient they
 * produce, inputs' and weights' alike, so a residual stream or a weight used
 * twice needs no extra code; callers zero gradients before a step. */
#ifndef ES_MODEL_LAYERS_H
#define ES_MODEL_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* --- embedding.c: out[N,C] = wte[ids[n], :] ------------------------------ */
void embedding_forward(float *out, const int32_t *ids, const float *wte, int N, int C);
/* dwte[V,C] += scatter of dout[N,C] by ids; serial per row of wte owner so
 * the sum order is fixed. */
void embedding_backward(float *dwte, const float *dout, const int32_t *ids, int N, int C);

/* --- rmsnorm.c: out = inp / rms(inp) * weight ----------------------------- */
/* out[N,C], rstd[N] (saved for backward), inp[N,C], weight[C] */
void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int N, int C);
/* dinp[N,C] +=, dweight[C] +=, from dout[N,C] */
void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                      const float *rstd, int N, int C);

/* The same over rows interleaving G groups, each with its own gain: row r
 * of inp[rows,C] uses weight[(r % G) * C ...], weight[G,C] (mHC's
 * per-branch norms over a stream [N, G, C]); dweight[G,C] +=. */
void rmsnorm_grouped_forward(float *out, float *rstd, const float *inp, const float *weight, int rows, int C, int G);
void rmsnorm_grouped_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                              const float *rstd, int rows, int C, int G);

/* --- linear.c: out[N,OC] = inp[N,IC] . w[OC,IC]^T --------------------------- */
/* beta = 0 overwrites out, beta = 1 adds to it (residual connections). */
void linear_forward(float *out, const float *inp, const float *w, int N, int IC, int OC, float beta);
/* dinp[N,IC] += dout . w (skipped if dinp is NULL); dw[OC,IC] += dout^T . inp */
void linear_backward(float *dinp, float *dw, const float *dout, const float *inp, const float *w, int N, int IC,
                     int OC);

/* --- attention.c: causal multi-head self-attention with RoPE -------------- */
/* rope_cos, rope_sin: [T, D/2], angle t * theta^(-2i/D). */
void rope_tables(float *rope_cos, float *rope_sin, int T, int D, double theta);
/* qkv[N,3C]: in, the projections [q | k | v] per token; on return q and k
 * are rotated by RoPE in place (saved for backward).
 * att[B,H,T,T]: softmax probabilities (upper triangle zero), saved.
 * out[N,C]: heads' outputs side by side. */
void attention_forward(float *out, float *qkv, float *att, const float *rope_cos, const float *rope_sin, int B,
                       int T, int C, int H);
/* dqkv[N,3C] is WRITTEN (the one exception to accumulation: RoPE's inverse
 * rotation is applied to it in place), w.r.t. the un-rotated projections,
 * from dout[N,C]. scratch: [threads, T, T] floats. */
void attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv, const float *att,
                        const float *rope_cos, const float *rope_sin, int B, int T, int C, int H);

/* --- swiglu.c: out = (silu(inp.Wa^T) * (inp.Wg^T)) . W2^T ------------------- */
/* w13[2F,C] holds Wa (rows 0..F) then Wg (rows F..2F); w2[C,F].
 * h[N,2F] (pre-activations) and z[N,F] (gated product) are saved.
 * beta as in linear_forward (1 adds the output to out, e.g. the residual). */
void swiglu_forward(float *out, float *h, float *z, const float *inp, const float *w13, const float *w2, int N,
                    int C, int F, float beta);
/* dinp[N,C] +=, dw13 +=, dw2 +=; dh[N,2F] and dz[N,F] are scratch. */
void swiglu_backward(float *dinp, float *dw13, float *dw2, float *dh, float *dz, const float *dout,
                     const float *inp, const float *h, const float *z, const float *w13, const float *w2, int N,
                     int C, int F);

/* --- crossentropy.c: softmax cross-entropy over the vocabulary ------------ */
/* logits[N,V] are replaced by probabilities; losses[N] get -log p[target].
 * Returns the mean loss (summed in double, in a fixed order). */
double crossentropy_forward(float *logits, float *losses, const int32_t *targets, int N, int V);
/* dlogits[N,V] = scale * (probs - onehot(target)), written in place over
 * probs (the one layer that overwrites: the probabilities are not needed
 * afterwards). */
void crossentropy_backward(float *probs, const int32_t *targets, int N, int V, float scale);
/* (The model uses the fused lmhead.c below; these two are the unfused
 * reference its tests compare with.) */

/* --- lmhead.c: fused LM head and softmax cross-entropy -------------------- */
/* logits = x[N,C] . w[V,C]^T, then -log softmax at the targets, in chunks of
 * LMHEAD_CHUNK tokens: the [N,V] logits are never written out, a chunk's
 * [LMHEAD_CHUNK,V] block stays in the cache of the thread that owns it.
 * Chunks and groups of chunks have fixed sizes, so the bits depend on
 * neither the thread count nor the schedule. losses[N] get -log p[target];
 * the mean loss is returned (summed in double in token order).
 * scratch: lmhead_scratch_floats(N, V, C, threads) floats ([G, V, C]
 * weight-gradient partials, G = min(LMHEAD_GROUPS, chunks), then [threads,
 * LMHEAD_CHUNK, V] logits blocks), threads = es_threads(). */
enum { LMHEAD_CHUNK = 64, LMHEAD_GROUPS = 8 };
size_t lmhead_scratch_floats(int N, int V, int C, int threads);
/* The loss only (evaluation): no gradient work. */
double lmhead_forward(float *losses, float *scratch, const float *x, const float *w, const int32_t *targets, int N,
                      int C, int V);
/* The loss and, in the same pass, the gradients of scale * sum(losses):
 * dx[N,C] += dlogits . w and dw[V,C] += dlogits^T . x, dlogits = scale *
 * (softmax - onehot(target)) per chunk; dw sums over groups of chunks,
 * then over the groups in order. Returns the same loss, to the bit, as
 * lmhead_forward. */
double lmhead_forward_backward(float *losses, float *dx, float *dw, float *scratch, const float *x, const float *w,
                               const int32_t *targets, int N, int C, int V, float scale);

#endif
