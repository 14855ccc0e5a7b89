/* The language model: embedding (plus OverEncoding, if on), n_layers
 * pre-norm blocks
 *   h = h + Engram(h, ids)            (blocks listed in model.engram.layers)
 *   h = h + Attention(RMSNorm(h));  h = h + FFN(RMSNorm(h))    (FFN: SwiGLU or MoE)
 * a final RMSNorm, an untied LM head and the cross-entropy loss.
 * With model.branches M > 1 the residual stream is M branches (mHC,
 * model/mhc.h): the embedding is copied to every branch, attention and FFN
 * each read the branches out and write back through their own mHC
 * coefficients, Engram acts on every branch (engram.h), and the final norm
 * reads their sum.
 *
 * All parameters live in one buffer (params, with grads beside it) and are
 * listed as named tensors, so optimizers and checkpoints treat them
 * uniformly. The row-sparse memory tables (Engram, OverEncoding) live
 * outside that buffer, each with its own lazy-Adam state (model/table.h).
 * Activations are allocated once for a fixed batch shape [B,T].
 * Every model_new() has its model_free(). */
#ifndef ES_MODEL_MODEL_H
#define ES_MODEL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "model/engram.h"
#include "model/mhc.h"
#include "model/moe.h"
#include "model/overencoding.h"
#include "config/config.h"

typedef struct {
    char name[64];   /* "blocks.0.attn.wqkv" */
    float *data;     /* view into model.params */
    float *grad;     /* view into model.grads */
    size_t size;
    int rows, cols;  /* shape; vectors have rows == 1 */
    int decay;       /* AdamW weight decay applies (matrices, not norm gains) */
    double active;   /* share of it a token uses: 1, or K/E for routed experts */
    int embedding;   /* the embedding or the LM head (outside P_tot, as in the paper) */
} param_tensor;

typedef struct {
    float *ln1;   /* [C] */
    float *wqkv;  /* [3C, C] */
    float *wo;    /* [C, C] */
    float *ln2;   /* [C] */
    float *w13;   /* [2F, C] dense SwiGLU (moe.experts == 0) */
    float *w2;    /* [C, F] */
} block_params;

typedef struct {
    float *resid;    /* [L+1, N, C] residual stream entering each block, and the final one */
    float *resid_mid;/* [L, N, C] after attention */
    float *ln1, *ln1_rstd;   /* [L, N, C], [L, N] */
    float *qkv;      /* [L, N, 3C] (q, k rotated) */
    float *att;      /* [L, B, H, T, T] */
    float *atty;     /* [L, N, C] */
    float *ln2, *ln2_rstd;   /* [L, N, C], [L, N] */
    float *ffn_h;    /* [L, N, 2F] dense FFN only */
    float *ffn_z;    /* [L, N, F] dense FFN only */
    float *lnf, *lnf_rstd;   /* [N, C], [N] */
    float *losses;   /* [N] */
} model_acts;

typedef struct {
    float *dresid;   /* [N, C] gradient of the residual stream */
    float *dx;       /* [N, C] gradient of a normed input */
    float *dy;       /* [N, C] gradient of a sub-layer output */
    float *dqkv;     /* [N, 3C] */
    float *datt;     /* [threads, T, T] attention scratch */
    float *dffn_h;   /* [N, 2F] */
    float *dffn_z;   /* [N, F] */
    float *head;     /* lmhead_scratch_floats(N, V, C, threads): the fused LM head */
    float *dlnf;     /* [N, C] gradient of the final norm's output, from model_forward */
    float *dlm_head; /* [V, C] gradient of the LM head, from model_forward */
} model_scratch;

typedef struct {
    model_config cfg;
    int vocab;
    int B, T;
    size_t n_params;
    float *params, *grads;
    param_tensor *tensors;
    int n_tensors;
    float *wte;      /* [V, C] */
    block_params *blocks;
    float *lnf;      /* [C] */
    float *lm_head;  /* [V, C] */
    float *rope_cos, *rope_sin; /* [T, D/2] */
    moe_layer *moe;  /* [L] MoE FFNs (NULL for a dense model) */
    moe_scratch moe_scratch;
    float *moe_bias; /* [L, E] balancing biases: state, not parameters */
    double moe_bias_rate; /* balancing bias step per optimizer step: model.moe.bias_rate from
                             model_new; the trainer sets the run's (config_moe_bias_rate) */
    double aux_loss; /* balance loss of the last forward (in the gradient, not in the returned loss) */
    engram_layer *engram;        /* [n_engram] */
    int n_engram;
    int *engram_at;              /* [L] index into engram, or -1 */
    float *engram_out;           /* [n_engram, N, M, C] residual stream after each Engram module */
    overencoding_layer *overenc; /* NULL unless model.memory is overencoding */
    sparse_table *tables[ENGRAM_MAX_LAYERS + 1]; /* every row-sparse table */
    int n_tables;
    const int32_t *compress_map; /* [vocab] token -> compressed id (borrowed), NULL: identity */
    int32_t *cids;               /* [N] compressed ids of the last forward */
    /* multi-branch residual streams (mHC, model.branches M > 1; else NULL):
     * acts.resid[l] and acts.resid_mid[l] then hold the read-outs that
     * enter attention and FFN, acts.resid[L] the sum of the final branches */
    mhc_layer *mhc;              /* [2L]: attention and FFN of each block */
    float *stream;               /* [2L+1, N, M, C] the branches entering each sub-layer, and the final ones */
    float *sub_out;              /* [2L, N, C] each sub-layer's output F(h) */
    float *dstream, *dstream2;   /* [N, M, C] gradients of the branches */
    float *dsub;                 /* [N, C] gradient of a sub-layer output */
    model_acts acts;
    model_scratch scratch;
    const int32_t *last_inputs;  /* inputs of the last forward, for backward */
    const int32_t *last_targets; /* targets of the last forward, for backward */
} model;

/* Builds the model for batches of [B, T] tokens, parameters initialised
 * from seed (normal(0, init_std) matrices, output projections scaled by
 * 1/sqrt(2 n_layers), unit norm gains, zero Engram conv). compress_map
 * ([vocab], borrowed, may be NULL for the identity) gives the compressed
 * ids of Engram's tokenizer compression, compressed_vocab their count; it
 * is ignored when model.engram.compress is off. */
int model_new(const model_config *cfg, int vocab, const int32_t *compress_map, int compressed_vocab, int B, int T,
              uint64_t seed, model **out);
void model_free(model *m);

/* Forward pass over inputs[B*T] with targets[B*T] for training; returns
 * the mean cross-entropy (nats/token). The LM head and the loss are fused
 * with their backward (model/lmhead.c), so this also computes the head's
 * gradients, kept in m->scratch until model_backward adds them (the
 * gradients in m->grads are not touched). inputs must stay valid until
 * backward. The MoE balance loss, if on, is in m->aux_loss and in the
 * gradient. */
double model_forward(model *m, const int32_t *inputs, const int32_t *targets);

/* The same loss, to the bit, without the head's gradient work: for
 * evaluation. model_backward must not follow it. */
double model_evaluate(model *m, const int32_t *inputs, const int32_t *targets);

/* Sets all gradients to zero. */
void model_zero_grad(model *m);

/* Backward pass of the last forward: grads += d(mean loss)/d(params). */
void model_backward(model *m);

/* After an optimizer step: MoE load statistics and balancing biases. */
void model_after_step(model *m);

/* MoE routing statistics over the training steps since the last call
 * (model_after_step accumulates them); every field NAN for a dense model. */
typedef struct {
    double load_max_mean;     /* worst (highest) layer's max/mean expert load */
    double bias_min, bias_max; /* range of the balancing biases now, over all layers */
    double experts_eff_min;   /* worst (lowest) layer's effective number of experts,
                                 exp(entropy of the routed load shares), in [1, E] */
    double experts_eff_mean;  /* the same, mean over layers */
    double bias_changed;      /* share of top-k picks (all layers) that the bias changed:
                                 picked on s + b, not among the top-k of s alone */
} model_moe_routing;

void model_moe_stats(model *m, model_moe_routing *out);

/* Parameter counts: all, without embedding and LM head (P_tot), and the
 * active part of those (P_act). */
size_t model_count_total(const model *m);
size_t model_count_active(const model *m);

/* The counts a model of this config would have, without building it (no
 * activations, no tables): P_tot and P_act as model_count_total/active,
 * and the table rows (the sum of the hash tables' primes). Used by the
 * planner; a test checks it against built models. */
int model_count(const model_config *cfg, int vocab, double *p_tot, double *p_act, long *table_rows);

/* Bytes of the row-sparse tables and their optimizer state. */
double model_table_bytes(const model *m);

/* Training FLOPs per token (forward + backward = 3x forward, matrix
 * products and attention scores), from the config alone. */
double model_flops_per_token(const model_config *cfg, int vocab);

#endif
