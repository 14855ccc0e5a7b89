/* The DeepSeek-V3-style MoE feed-forward layer (DESIGN §2):
 *   out = SharedSwiGLU(x) + sum_{i in topk} g_i * Expert_i(x)
 * with affinities s_i = sigmoid(x . c_i), the top-k chosen on s_i + b_i
 * (b_i: the aux-loss-free balancing bias, outside the gradient), and gates
 * g_i = route_scale * s_i / sum_{j in topk} s_j. Optionally a sequence-level
 * balance loss alpha * sum_i f_i P_i (DeepSeek-V3 eq. 17-20).
 *
 * Routed experts run as grouped matrix products: the rows routed to each
 * expert are gathered (in token order), pushed through that expert's
 * SwiGLU with one sgemm per matrix and direction, and scattered back
 * weighted by their gates. No token is dropped (no capacity factor).
 *
 * Shapes: N tokens (B sequences of T), C model width, E routed experts,
 * K experts per token, F expert hidden width, S shared experts (fused into
 * one SwiGLU of width S*F, which is the same function). */
#ifndef ES_MODEL_MOE_H
#define ES_MODEL_MOE_H

#include <stdint.h>

typedef struct {
    int N, C, E, K, F, S;
    float route_scale;
    float aux_coef;

    /* parameters and their gradients: views into the model's buffers */
    float *router, *d_router;         /* [E, C] */
    float *shared_w13, *d_shared_w13; /* [2SF, C] (NULL if S == 0) */
    float *shared_w2, *d_shared_w2;   /* [C, SF] */
    float *expert_w13, *d_expert_w13; /* [E, 2F, C] */
    float *expert_w2, *d_expert_w2;   /* [E, C, F] */
    float *bias;                      /* [E] balancing bias, a view into the model's state */

    /* activations of the last forward, owned */
    float *affinity;       /* [N, E] s = sigmoid(x . c) */
    int32_t *topk;         /* [N, K] chosen experts, by score then index */
    float *gates;          /* [N, K] */
    int32_t *offset;       /* [E+1] first grouped row of each expert */
    int32_t *row_token;    /* [N*K] token of each grouped row */
    int32_t *slot_row;     /* [N*K] grouped row of slot (n, j) */
    float *xg;             /* [N*K, C] gathered inputs */
    float *h;              /* [N*K, 2F] expert pre-activations */
    float *z;              /* [N*K, F] */
    float *y;              /* [N*K, C] expert outputs before gating */
    float *shared_h;       /* [N, 2SF] */
    float *shared_z;       /* [N, SF] */
    double aux_loss;       /* balance loss of the last forward (0 if off) */
    float *aux_grad;       /* [N, E] d aux / d s, from forward */
    int32_t *fill;         /* [E] scratch: next free grouped row of each expert */
    double *freq;          /* [E] scratch: a sequence's selection frequencies */

    long picks_changed;    /* picks of the last forward that the bias changed */

    /* statistics since the last moe_routing_stats, from moe_after_step */
    double *load;          /* [E] rows routed to each expert */
    long load_steps;
    long changed_sum;      /* picks the bias changed */
    long picks_sum;        /* all picks (N*K per step) */
} moe_layer;

/* Routing statistics of one layer over a span of training steps. */
typedef struct {
    double load_max_mean;  /* max/mean of the expert loads (1 = even) */
    double experts_eff;    /* exp(entropy of the load shares), in [1, E] (E = even) */
    double bias_changed;   /* share of top-k picks on s + b not among the top-k on s alone */
} moe_routing;

/* Scratch for backward, shared by all MoE layers of a model. */
typedef struct {
    float *dy;      /* [N*K, C] */
    float *dz;      /* [N*K, F] */
    float *dh;      /* [N*K, 2F] */
    float *dxg;     /* [N*K, C] */
    float *dgate;   /* [N, K] */
    float *dlogit;  /* [N, E] */
    float *shared_dh, *shared_dz; /* [N, 2SF], [N, SF] */
} moe_scratch;

/* Allocates the activations for N tokens (parameter views are set by the
 * caller). Returns ES_ENOMEM on failure; moe_layer_free frees them. */
int moe_layer_alloc(moe_layer *L, int N, int C, int E, int K, int F, int S, float route_scale, float aux_coef);
void moe_layer_free(moe_layer *L);
int moe_scratch_alloc(moe_scratch *s, int N, int C, int E, int K, int F, int S);
void moe_scratch_free(moe_scratch *s);

/* out[N,C] += MoE(inp[N,C]); sequences of T tokens (for the balance loss). */
void moe_forward(moe_layer *L, float *out, const float *inp, int T);

/* dinp[N,C] += and parameter gradients += from dout[N,C] (and the balance
 * loss, if on). */
void moe_backward(moe_layer *L, moe_scratch *s, float *dinp, const float *dout, const float *inp, int T);

/* After a training step: adds the last forward's loads and changed picks
 * to the statistics and, if rate > 0, applies aux-loss-free balancing,
 * b_i += rate * sign(mean load - load_i). */
void moe_after_step(moe_layer *L, float rate);

/* The routing statistics accumulated by moe_after_step since the last call
 * (all NAN if there was no step), then resets them. */
moe_routing moe_routing_stats(moe_layer *L);

/* exp(-sum_i p_i ln p_i) with p_i = load[i] / sum(load) (0 ln 0 = 0): the
 * effective number of experts of loads[E], from 1 (one expert takes
 * everything) to E (even); NAN if every load is 0. */
double moe_effective_experts(const double *load, int E);

/* Picks in chosen[K] (top-k on s + b) that are not among the top-k of s
 * alone (s[E]; same tie rule: the lower index wins). */
int moe_picks_changed(const float *s, const int32_t *chosen, int E, int K);

#endif
