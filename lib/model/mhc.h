/* Manifold-constrained hyper-connections (mHC; DeepSeek-AI, arXiv, 31 Dec
 * 2025, after Hyper-Connections, Zhu et al. 2024, arXiv 2409.19606): the
 * residual stream is M branches x[N, M, C], and each sub-layer F of a
 * block (attention, FFN) is wrapped as
 *   h       = sum_m H_pre[m] x_m                        read-out   [N, C]
 *   x'_m    = sum_j H_res[m, j] x_j + H_post[m] F(h)    write-back [N, M, C]
 * with per-token coefficients (the paper's dynamic + static form):
 *   z       = RMSNorm(flatten(x))      (no gain: phi absorbs it)   [N, M*C]
 *   r       = z . phi^T                                            [N, P], P = 2M + M*M
 *   H_pre   = sigmoid(alpha_pre  * r[0:M]    + b[0:M])
 *   H_post  = 2 sigmoid(alpha_post * r[M:2M] + b[M:2M])
 *   H_res   = SinkhornKnopp(exp(alpha_res * r[2M:] + b[2M:]))      M x M, doubly stochastic
 * SinkhornKnopp alternates row and column normalisation a fixed number of
 * times (iters, 20 as the paper); the backward runs through every
 * iteration (unrolled). exp is taken after subtracting the
 * global maximum of the logits, which Sinkhorn's normalisation cancels.
 *
 * Init (mhc_init): alpha = 0.01 (the dynamic part starts small), b_pre =
 * logit(1/M) (the read-out starts as the mean of the branches), b_post = 0
 * (H_post = 1), b_res = 4 on the diagonal and 0 off it (H_res starts near
 * the identity: 0.95 on the diagonal for M = 4). With equal branches, as
 * after the embedding, the wrapped sub-layer then sees what the
 * single-stream model would.
 *
 * Every mhc_layer_alloc() has its mhc_layer_free(). */
#ifndef ES_MODEL_MHC_H
#define ES_MODEL_MHC_H

enum { MHC_MAX_BRANCHES = 8, MHC_SINKHORN_ITERS = 20 };

typedef struct {
    int N, M, C, P, iters;
    /* parameters and gradients: views into the model's buffers */
    float *phi, *d_phi;     /* [P, M*C] dynamic projections (pre | post | res) */
    float *alpha, *d_alpha; /* [3] scales of the dynamic parts (pre, post, res) */
    float *bias, *d_bias;   /* [P] static parts */
    /* activations of the last forward, owned */
    float *z, *rstd;        /* [N, M*C], [N] */
    float *raw;             /* [N, P] z . phi^T */
    float *h_pre, *h_post;  /* [N, M] */
    float *sk;              /* [N, 2*iters+1, M, M] Sinkhorn iterates; the last is H_res */
    /* backward scratch, owned */
    float *dcoef;           /* [N, P] gradient w.r.t. H_pre | H_post | H_res */
    float *dz;              /* [N, M*C] */
} mhc_layer;

/* Allocates activations and scratch for N tokens, M branches of width C. */
int mhc_layer_alloc(mhc_layer *L, int N, int M, int C, int iters);
void mhc_layer_free(mhc_layer *L);

/* The initial values stated above: alpha[3], bias[P]. */
void mhc_init(float *alpha, float *bias, int M);

/* The coefficients of x[N, M, C] (saved for the other calls). */
void mhc_coeffs_forward(mhc_layer *L, const float *x);
/* h[N, C] = sum_m H_pre[m] x_m (written). */
void mhc_read_forward(const mhc_layer *L, float *h, const float *x);
/* out[N, M, C] = H_res x + H_post f (written; out and x distinct). f[N, C]. */
void mhc_write_forward(const mhc_layer *L, float *out, const float *x, const float *f);

/* Backward, in the reverse order. mhc_write_backward: dx[N, M, C] +=
 * H_res^T dout, df[N, C] += sum_m H_post[m] dout_m, and the gradients of
 * H_post and H_res are written to L->dcoef. mhc_read_backward: dx +=
 * H_pre dh, the gradient of H_pre written to L->dcoef. mhc_coeffs_backward:
 * from L->dcoef through sigmoid, Sinkhorn, the projections and the norm:
 * dx +=, d_phi, d_alpha, d_bias +=. dx and dout are distinct. */
void mhc_write_backward(mhc_layer *L, float *dx, float *df, const float *dout, const float *x, const float *f);
void mhc_read_backward(mhc_layer *L, float *dx, const float *dh, const float *x);
void mhc_coeffs_backward(mhc_layer *L, float *dx);

/* Readout of the final stream: out[N, C] = sum_m x_m (Hyper-Connections'
 * sum); its backward dx_m += dout for every m. */
void mhc_sum_forward(float *out, const float *x, int N, int M, int C);
void mhc_sum_backward(float *dx, const float *dout, int N, int M, int C);

/* Parameters and forward multiply-adds per token of one wrapped sub-layer:
 * projections M C P, read-out M C, write-back M C (H_post) + M^2 C (H_res). */
double mhc_params(int M, int C);
double mhc_macs_per_token(int M, int C);

#endif
