/* Model assembly: parameter layout, initialisation, forward and backward
 * over the layers of layers.h. */
#include "model/model.h"

#include "core/error.h"
#include "core/mem.h"
#include "core/parallel.h"
#include "core/profile.h"
#include "core/rng.h"
#include "model/layers.h"
#include "model/mhc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { INIT_NORMAL, INIT_OUTPUT, INIT_ONES, INIT_ZERO };

/* Residual-stream branches (mHC); configs built in code may leave it 0. */
static int branches_of(const model_config *c) { return c->branches > 1 ? c->branches : 1; }

/* Engram gate groups: one per branch, or one shared. */
static int gate_groups_of(const model_config *c)
{
    return branches_of(c) > 1 && c->engram.branch_gates ? branches_of(c) : 1;
}

/* The gradient view of a parameter view. */
static float *grad_of(const model *m, const float *param) { return m->grads + (param - m->params); }

typedef struct {
    int init;
} tensor_init;

/* Registers a tensor; on the first pass (m->params == NULL) only counts. */
static float *add_tensor(model *m, int *count, tensor_init *inits, const char *name, int rows, int cols,
                         int decay, double active, int embedding, int init)
{
    size_t size = (size_t)rows * (size_t)cols;
    int i = (*count)++;
    if (!m->params) {
        m->n_params += size;
        return NULL;
    }
    param_tensor *t = &m->tensors[i];
    snprintf(t->name, sizeof t->name, "%s", name);
    size_t offset = 0;
    for (int j = 0; j < i; j++)
        offset += m->tensors[j].size;
    t->data = m->params + offset;
    t->grad = m->grads + offset;
    t->size = size;
    t->rows = rows;
    t->cols = cols;
    t->decay = decay;
    t->active = active;
    t->embedding = embedding;
    inits[i].init = init;
    return t->data;
}

static int layout(model *m, tensor_init *inits)
{
    const model_config *c = &m->cfg;
    int C = c->d_model, F = c->ffn_hidden, V = m->vocab, count = 0;
    int E = c->moe.experts, K = c->moe.top_k, FE = c->moe.expert_hidden, S = c->moe.shared;
    int M = branches_of(c), G = gate_groups_of(c), P = 2 * M + M * M;
    char name[64];
    m->wte = add_tensor(m, &count, inits, "wte", V, C, 0, 1, 1, INIT_NORMAL);
    for (int l = 0; l < c->n_layers; l++) {
        block_params *b = m->blocks ? &m->blocks[l] : NULL;
        float *p;
#define ADD(target, suffix, rows, cols, decay, active, init)                                                           \
    snprintf(name, sizeof name, "blocks.%d.%s", l, suffix);                                                            \
    p = add_tensor(m, &count, inits, name, rows, cols, decay, active, 0, init);                                        \
    if (m->params)                                                                                                     \
        target = p;
        moe_layer *x = m->moe ? &m->moe[l] : NULL;
        if (m->engram_at && m->engram_at[l] >= 0) {
            engram_layer *g = &m->engram[m->engram_at[l]];
            int De = g->De;
            ADD(g->wv, "engram.wv", C, De, 1, 1.0, INIT_OUTPUT)
            if (c->engram.gate != GATE_OFF) {
                ADD(g->wk, "engram.wk", G * C, De, 1, 1.0, INIT_NORMAL)
                ADD(g->q_norm, "engram.q_norm", 1, G * C, 0, 1.0, INIT_ONES)
                ADD(g->k_norm, "engram.k_norm", 1, G * C, 0, 1.0, INIT_ONES)
            }
            if (c->engram.conv) {
                ADD(g->conv_norm, "engram.conv_norm", 1, M * C, 0, 1.0, INIT_ONES)
                ADD(g->conv_w, "engram.conv_w", M * C, c->engram.conv_kernel, 0, 1.0, INIT_ZERO)
            }
        }
        if (M > 1) { /* alpha and bias are set by mhc_init after the loop of inits */
            mhc_layer *ha = m->mhc ? &m->mhc[2 * l] : NULL, *hf = m->mhc ? &m->mhc[2 * l + 1] : NULL;
            ADD(ha->phi, "mhc_attn.phi", P, M * C, 1, 1.0, INIT_NORMAL)
            ADD(ha->alpha, "mhc_attn.alpha", 1, 3, 0, 1.0, INIT_ZERO)
            ADD(ha->bias, "mhc_attn.bias", 1, P, 0, 1.0, INIT_ZERO)
            ADD(hf->phi, "mhc_ffn.phi", P, M * C, 1, 1.0, INIT_NORMAL)
            ADD(hf->alpha, "mhc_ffn.alpha", 1, 3, 0, 1.0, INIT_ZERO)
            ADD(hf->bias, "mhc_ffn.bias", 1, P, 0, 1.0, INIT_ZERO)
        }
        ADD(b->ln1, "ln1", 1, C, 0, 1.0, INIT_ONES)
        ADD(b->wqkv, "attn.wqkv", 3 * C, C, 1, 1.0, INIT_NORMAL)
        ADD(b->wo, "attn.wo", C, C, 1, 1.0, INIT_OUTPUT)
        ADD(b->ln2, "ln2", 1, C, 0, 1.0, INIT_ONES)
        if (E == 0) {
            ADD(b->w13, "ffn.w13", 2 * F, C, 1, 1.0, INIT_NORMAL)
            ADD(b->w2, "ffn.w2", C, F, 1, 1.0, INIT_OUTPUT)
        } else {
            ADD(x->router, "moe.router", E, C, 1, 1.0, INIT_NORMAL)
            if (S > 0) {
                ADD(x->shared_w13, "moe.shared.w13", 2 * S * FE, C, 1, 1.0, INIT_NORMAL)
                ADD(x->shared_w2, "moe.shared.w2", C, S * FE, 1, 1.0, INIT_OUTPUT)
            }
            ADD(x->expert_w13, "moe.experts.w13", E * 2 * FE, C, 1, (double)K / E, INIT_NORMAL)
            ADD(x->expert_w2, "moe.experts.w2", E * C, FE, 1, (double)K / E, INIT_OUTPUT)
        }
#undef ADD
    }
    m->lnf = add_tensor(m, &count, inits, "lnf", 1, C, 0, 1, 0, INIT_ONES);
    m->lm_head = add_tensor(m, &count, inits, "lm_head", V, C, 1, 1, 1, INIT_NORMAL);
    return count;
}

static int alloc_acts(model *m)
{
    const model_config *c = &m->cfg;
    size_t L = (size_t)c->n_layers, B = (size_t)m->B, T = (size_t)m->T, N = B * T, C = (size_t)c->d_model,
           F = (size_t)c->ffn_hidden, H = (size_t)c->n_heads, V = (size_t)m->vocab;
    size_t dense = c->moe.experts == 0;
    model_acts *a = &m->acts;
    model_scratch *s = &m->scratch;
    struct {
        float **p;
        size_t n;
    } list[] = {
        {&a->resid, (L + 1) * N * C}, {&a->resid_mid, L * N * C}, {&a->ln1, L * N * C},
        {&a->ln1_rstd, L * N},        {&a->qkv, L * N * 3 * C},   {&a->att, L * B * H * T * T},
        {&a->atty, L * N * C},        {&a->ln2, L * N * C},       {&a->ln2_rstd, L * N},
        {&a->ffn_h, dense * L * N * 2 * F}, {&a->ffn_z, dense * L * N * F}, {&a->lnf, N * C},
        {&a->lnf_rstd, N},            {&a->losses, N},
        {&s->dresid, N * C},          {&s->dx, N * C},            {&s->dy, N * C},
        {&s->dqkv, N * 3 * C},        {&s->datt, (size_t)es_threads() * T * T},
        {&s->dffn_h, dense * N * 2 * F}, {&s->dffn_z, dense * N * F},
        {&s->head, lmhead_scratch_floats((int)N, (int)V, (int)C, es_threads())},
        {&s->dlnf, N * C},            {&s->dlm_head, V * C},
    };
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
        if (!(*list[i].p = es_floats_new(list[i].n)))
            return ES_ENOMEM;
    size_t M = (size_t)branches_of(c);
    if (M > 1) {
        m->stream = es_floats_new((2 * L + 1) * N * M * C);
        m->sub_out = es_floats_new(2 * L * N * C);
        m->dstream = es_floats_new(N * M * C);
        m->dstream2 = es_floats_new(N * M * C);
        m->dsub = es_floats_new(N * C);
        m->mhc = es_calloc(2 * L, sizeof *m->mhc);
        if (!m->stream || !m->sub_out || !m->dstream || !m->dstream2 || !m->dsub || !m->mhc)
            return ES_ENOMEM;
        for (size_t i = 0; i < 2 * L; i++)
            if (mhc_layer_alloc(&m->mhc[i], (int)N, (int)M, (int)C, MHC_SINKHORN_ITERS))
                return ES_ENOMEM;
    }
    return ES_OK;
}

/* The Engram modules or the OverEncoding tables, with their hashers. */
static int build_memory(model *m, const int32_t *compress_map, int compressed_vocab, uint64_t seed)
{
    const model_config *cfg = &m->cfg;
    int N = m->B * m->T, C = cfg->d_model, L = cfg->n_layers;
    int tables = cfg->engram.n_orders * cfg->engram.heads;
    int use_map = cfg->engram.compress && compress_map;
    m->compress_map = use_map ? compress_map : NULL;
    uint64_t pad = use_map ? (uint64_t)compressed_vocab : (uint64_t)m->vocab;
    uint64_t used[NGRAM_MAX_TABLES * (ENGRAM_MAX_LAYERS + 1)];
    int n_used = 0, rc = ES_OK;
    m->engram_at = es_calloc((size_t)L, sizeof(int));
    m->cids = es_calloc((size_t)N, sizeof(int32_t));
    if (!m->engram_at || !m->cids)
        return ES_ENOMEM;
    for (int l = 0; l < L; l++)
        m->engram_at[l] = -1;
    if (cfg->memory == MEMORY_ENGRAM) {
        int n = cfg->engram.n_layers;
        m->engram = es_calloc((size_t)n, sizeof *m->engram);
        m->engram_out = es_floats_new((size_t)n * N * branches_of(cfg) * C);
        if (!m->engram || !m->engram_out)
            return ES_ENOMEM;
        int64_t per_table = cfg->engram.slots / n / tables;
        for (int i = 0; i < n && rc == ES_OK; i++) {
            int layer = cfg->engram.layers[i];
            engram_layer *g = &m->engram[i];
            rc = ngram_hasher_init(&g->hasher, cfg->engram.orders, cfg->engram.n_orders, cfg->engram.heads,
                                   per_table, seed, layer, pad, used, &n_used);
            if (rc == ES_OK)
                rc = engram_layer_alloc(g, N, m->T, C, branches_of(cfg), gate_groups_of(cfg), cfg->engram.head_dim,
                                        cfg->engram.gate, cfg->engram.conv, cfg->engram.conv_kernel,
                                        cfg->engram.init_std, seed, 0x7ab1e000u + layer);
            m->n_engram = i + 1;
            m->engram_at[layer] = i;
            m->tables[m->n_tables++] = &g->table;
        }
    } else if (cfg->memory == MEMORY_OVERENCODING) {
        m->overenc = es_calloc(1, sizeof *m->overenc);
        if (!m->overenc)
            return ES_ENOMEM;
        rc = ngram_hasher_init(&m->overenc->hasher, cfg->engram.orders, cfg->engram.n_orders, cfg->engram.heads,
                               cfg->engram.slots / tables, seed, 0, pad, used, &n_used);
        if (rc == ES_OK)
            rc = overencoding_alloc(m->overenc, N, m->T, C, cfg->engram.init_std, seed, 0x0e000000u);
        m->tables[m->n_tables++] = &m->overenc->table;
    }
    return rc;
}

int model_new(const model_config *cfg, int vocab, const int32_t *compress_map, int compressed_vocab, int B, int T,
              uint64_t seed, model **out)
{
    *out = NULL;
    if (T > cfg->seq_len)
        return es_error(ES_EINVAL, "sequence length %d exceeds model.seq_len %d", T, cfg->seq_len);
    model *m = es_calloc(1, sizeof *m);
    if (!m)
        return ES_ENOMEM;
    m->cfg = *cfg;
    m->moe_bias_rate = cfg->moe.bias_rate;
    m->vocab = vocab;
    m->B = B;
    m->T = T;
    int E = cfg->moe.experts;
    if (E > 0) {
        int L = cfg->n_layers, rc = ES_OK;
        m->moe = es_calloc((size_t)L, sizeof *m->moe);
        m->moe_bias = es_floats_new((size_t)L * E);
        if (!m->moe || !m->moe_bias) {
            model_free(m);
            return ES_ENOMEM;
        }
        for (int l = 0; l < L && rc == ES_OK; l++) {
            rc = moe_layer_alloc(&m->moe[l], B * T, cfg->d_model, E, cfg->moe.top_k, cfg->moe.expert_hidden,
                                 cfg->moe.shared, (float)cfg->moe.route_scale, (float)cfg->moe.aux_loss);
            m->moe[l].bias = m->moe_bias + (size_t)l * E;
        }
        if (rc == ES_OK)
            rc = moe_scratch_alloc(&m->moe_scratch, B * T, cfg->d_model, E, cfg->moe.top_k, cfg->moe.expert_hidden,
                                   cfg->moe.shared);
        if (rc) {
            model_free(m);
            return rc;
        }
    }
    int rc = build_memory(m, compress_map, compressed_vocab, seed);
    if (rc) {
        model_free(m);
        return rc;
    }
    m->n_tensors = layout(m, NULL);
    m->tensors = es_calloc((size_t)m->n_tensors, sizeof *m->tensors);
    m->blocks = es_calloc((size_t)cfg->n_layers, sizeof *m->blocks);
    tensor_init *inits = es_calloc((size_t)m->n_tensors, sizeof *inits);
    m->params = es_floats_new(m->n_params);
    m->grads = es_floats_new(m->n_params);
    int D = cfg->d_model / cfg->n_heads;
    m->rope_cos = es_floats_new((size_t)T * D / 2);
    m->rope_sin = es_floats_new((size_t)T * D / 2);
    if (!m->tensors || !m->blocks || !inits || !m->params || !m->grads || !m->rope_cos || !m->rope_sin ||
        alloc_acts(m)) {
        free(inits);
        model_free(m);
        return ES_ENOMEM;
    }
    layout(m, inits);
    for (int l = 0; m->moe && l < cfg->n_layers; l++) {
        /* the gradient views sit at the same offsets in grads */
        moe_layer *x = &m->moe[l];
        x->d_router = m->grads + (x->router - m->params);
        x->d_expert_w13 = m->grads + (x->expert_w13 - m->params);
        x->d_expert_w2 = m->grads + (x->expert_w2 - m->params);
        if (x->shared_w13) {
            x->d_shared_w13 = m->grads + (x->shared_w13 - m->params);
            x->d_shared_w2 = m->grads + (x->shared_w2 - m->params);
        }
    }
    for (int i = 0; m->mhc && i < 2 * cfg->n_layers; i++) {
        mhc_layer *h = &m->mhc[i];
        h->d_phi = grad_of(m, h->phi);
        h->d_alpha = grad_of(m, h->alpha);
        h->d_bias = grad_of(m, h->bias);
    }
    for (int i = 0; i < m->n_engram; i++) {
        engram_layer *g = &m->engram[i];
        g->d_wv = grad_of(m, g->wv);
        if (g->wk) {
            g->d_wk = grad_of(m, g->wk);
            g->d_q_norm = grad_of(m, g->q_norm);
            g->d_k_norm = grad_of(m, g->k_norm);
        }
        if (g->conv_w) {
            g->d_conv_norm = grad_of(m, g->conv_norm);
            g->d_conv_w = grad_of(m, g->conv_w);
        }
    }
    rope_tables(m->rope_cos, m->rope_sin, T, D, cfg->rope_theta);

    /* Each tensor draws from its own stream, so adding a tensor later does
     * not change the initial values of the others. */
    float out_scale = 1.0f / sqrtf(2.0f * (float)cfg->n_layers);
    for (int i = 0; i < m->n_tensors; i++) {
        param_tensor *t = &m->tensors[i];
        es_rng rng;
        uint64_t h = 1469598103934665603ULL;
        for (const char *s = t->name; *s; s++)
            h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        es_rng_seed(&rng, seed, h);
        for (size_t j = 0; j < t->size; j++) {
            if (inits[i].init == INIT_ONES)
                t->data[j] = 1.0f;
            else if (inits[i].init == INIT_ZERO)
                t->data[j] = 0.0f;
            else
                t->data[j] = (float)(cfg->init_std * es_rng_normal(&rng)) *
                             (inits[i].init == INIT_OUTPUT ? out_scale : 1.0f);
        }
    }
    for (int i = 0; m->mhc && i < 2 * cfg->n_layers; i++)
        mhc_init(m->mhc[i].alpha, m->mhc[i].bias, m->mhc[i].M);
    free(inits);
    *out = m;
    return ES_OK;
}

void model_free(model *m)
{
    if (!m)
        return;
    model_acts *a = &m->acts;
    model_scratch *s = &m->scratch;
    float *bufs[] = {a->resid,   a->resid_mid, a->ln1,      a->ln1_rstd, a->qkv,      a->att,      a->atty,
                     a->ln2,     a->ln2_rstd,  a->ffn_h,    a->ffn_z,    a->lnf,      a->lnf_rstd, a->losses,
                     s->dresid,  s->dx,        s->dy,       s->dqkv,     s->datt,     s->dffn_h,   s->dffn_z,
                     s->head,    s->dlnf,      s->dlm_head, m->params,   m->grads,    m->rope_cos, m->rope_sin};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        es_floats_free(bufs[i]);
    float *branch_bufs[] = {m->stream, m->sub_out, m->dstream, m->dstream2, m->dsub};
    for (size_t i = 0; i < sizeof branch_bufs / sizeof branch_bufs[0]; i++)
        es_floats_free(branch_bufs[i]);
    for (int i = 0; m->mhc && i < 2 * m->cfg.n_layers; i++)
        mhc_layer_free(&m->mhc[i]);
    free(m->mhc);
    for (int l = 0; m->moe && l < m->cfg.n_layers; l++)
        moe_layer_free(&m->moe[l]);
    free(m->moe);
    moe_scratch_free(&m->moe_scratch);
    es_floats_free(m->moe_bias);
    for (int i = 0; m->engram && i < m->n_engram; i++)
        engram_layer_free(&m->engram[i]);
    free(m->engram);
    es_floats_free(m->engram_out);
    if (m->overenc)
        overencoding_free(m->overenc);
    free(m->overenc);
    free(m->engram_at);
    free(m->cids);
    free(m->tensors);
    free(m->blocks);
    free(m);
}

/* out += Attention(RMSNorm(x)) . wo^T for block l; x [N, C]. */
static void attention_sublayer_forward(model *m, int l, const float *x, float *out)
{
    const model_config *c = &m->cfg;
    int B = m->B, T = m->T, N = B * T, C = c->d_model, H = c->n_heads;
    size_t NC = (size_t)N * C;
    model_acts *a = &m->acts;
    const block_params *p = &m->blocks[l];
    float *ln1 = a->ln1 + l * NC, *atty = a->atty + l * NC, *qkv = a->qkv + l * 3 * NC;
    es_prof_begin(PROF_ATTENTION);
    rmsnorm_forward(ln1, a->ln1_rstd + (size_t)l * N, x, p->ln1, N, C);
    linear_forward(qkv, ln1, p->wqkv, N, C, 3 * C, 0.0f);
    attention_forward(atty, qkv, a->att + (size_t)l * B * H * T * T, m->rope_cos, m->rope_sin, B, T, C, H);
    linear_forward(out, atty, p->wo, N, C, C, 1.0f);
    es_prof_end(PROF_ATTENTION);
}

/* out += FFN(RMSNorm(x)) (SwiGLU or MoE) for block l; x [N, C]. */
static void ffn_sublayer_forward(model *m, int l, const float *x, float *out)
{
    const model_config *c = &m->cfg;
    int T = m->T, N = m->B * T, C = c->d_model, F = c->ffn_hidden;
    size_t NC = (size_t)N * C;
    model_acts *a = &m->acts;
    const block_params *p = &m->blocks[l];
    float *ln2 = a->ln2 + l * NC;
    es_prof_begin(PROF_ATTENTION);
    rmsnorm_forward(ln2, a->ln2_rstd + (size_t)l * N, x, p->ln2, N, C);
    es_prof_end(PROF_ATTENTION);
    if (m->moe) {
        moe_forward(&m->moe[l], out, ln2, T);
        m->aux_loss += m->moe[l].aux_loss;
    } else {
        es_prof_begin(PROF_EXPERTS);
        swiglu_forward(out, a->ffn_h + (size_t)l * N * 2 * F, a->ffn_z + (size_t)l * N * F, ln2, p->w13, p->w2, N,
                       C, F, 1.0f);
        es_prof_end(PROF_EXPERTS);
    }
}

/* dx[N, C] += the gradient through block l's attention sub-layer of
 * dout[N, C] (its output's gradient); x its input. dout may be dx. */
static void attention_sublayer_backward(model *m, int l, const float *x, float *dx, const float *dout)
{
    const model_config *c = &m->cfg;
    int B = m->B, T = m->T, N = B * T, C = c->d_model, H = c->n_heads;
    size_t NC = (size_t)N * C;
    model_acts *a = &m->acts;
    model_scratch *s = &m->scratch;
    const block_params *p = &m->blocks[l];
    float *ln1 = a->ln1 + l * NC, *atty = a->atty + l * NC, *qkv = a->qkv + l * 3 * NC;
    es_prof_begin(PROF_ATTENTION);
    memset(s->dy, 0, sizeof(float) * NC);
    linear_backward(s->dy, grad_of(m, p->wo), dout, atty, p->wo, N, C, C);
    attention_backward(s->dqkv, s->datt, s->dy, qkv, a->att + (size_t)l * B * H * T * T, m->rope_cos, m->rope_sin,
                       B, T, C, H);
    memset(s->dx, 0, sizeof(float) * NC);
    linear_backward(s->dx, grad_of(m, p->wqkv), s->dqkv, ln1, p->wqkv, N, C, 3 * C);
    rmsnorm_backward(dx, grad_of(m, p->ln1), s->dx, x, p->ln1, a->ln1_rstd + (size_t)l * N, N, C);
    es_prof_end(PROF_ATTENTION);
}

/* The same through block l's FFN sub-layer. dout may be dx. */
static void ffn_sublayer_backward(model *m, int l, const float *x, float *dx, const float *dout)
{
    const model_config *c = &m->cfg;
    int T = m->T, N = m->B * T, C = c->d_model, F = c->ffn_hidden;
    size_t NC = (size_t)N * C;
    model_acts *a = &m->acts;
    model_scratch *s = &m->scratch;
    const block_params *p = &m->blocks[l];
    float *ln2 = a->ln2 + l * NC;
    memset(s->dx, 0, sizeof(float) * NC);
    if (m->moe) {
        moe_backward(&m->moe[l], &m->moe_scratch, s->dx, dout, ln2, T);
    } else {
        es_prof_begin(PROF_EXPERTS);
        swiglu_backward(s->dx, grad_of(m, p->w13), grad_of(m, p->w2), s->dffn_h, s->dffn_z, dout, ln2,
                        a->ffn_h + (size_t)l * N * 2 * F, a->ffn_z + (size_t)l * N * F, p->w13, p->w2, N, C, F);
        es_prof_end(PROF_EXPERTS);
    }
    es_prof_begin(PROF_ATTENTION);
    rmsnorm_backward(dx, grad_of(m, p->ln2), s->dx, x, p->ln2, a->ln2_rstd + (size_t)l * N, N, C);
    es_prof_end(PROF_ATTENTION);
}

/* The blocks over M > 1 branches: stream[0] holds the embedding in every
 * branch; each sub-layer reads out, runs, writes back (mhc.h). */
static void blocks_forward_branches(model *m)
{
    const model_config *c = &m->cfg;
    int N = m->B * m->T, C = c->d_model, M = branches_of(c), L = c->n_layers;
    size_t NC = (size_t)N * C, NMC = NC * M;
    model_acts *a = &m->acts;
    for (int l = 0; l < L; l++) {
        float *x = m->stream + (size_t)2 * l * NMC;
        if (m->engram_at[l] >= 0) {
            float *after = m->engram_out + (size_t)m->engram_at[l] * NMC;
            engram_forward(&m->engram[m->engram_at[l]], after, x, m->cids);
            x = after;
        }
        float *f = m->sub_out + (size_t)2 * l * NC, *mid = m->stream + (size_t)(2 * l + 1) * NMC;
        mhc_coeffs_forward(&m->mhc[2 * l], x);
        mhc_read_forward(&m->mhc[2 * l], a->resid + l * NC, x);
        memset(f, 0, sizeof(float) * NC);
        attention_sublayer_forward(m, l, a->resid + l * NC, f);
        mhc_write_forward(&m->mhc[2 * l], mid, x, f);

        float *f2 = m->sub_out + (size_t)(2 * l + 1) * NC, *next = m->stream + (size_t)(2 * l + 2) * NMC;
        mhc_coeffs_forward(&m->mhc[2 * l + 1], mid);
        mhc_read_forward(&m->mhc[2 * l + 1], a->resid_mid + l * NC, mid);
        memset(f2, 0, sizeof(float) * NC);
        ffn_sublayer_forward(m, l, a->resid_mid + l * NC, f2);
        mhc_write_forward(&m->mhc[2 * l + 1], next, mid, f2);
    }
    mhc_sum_forward(a->resid + L * NC, m->stream + (size_t)2 * L * NMC, N, M, C);
}

/* Everything up to the final norm: a->lnf holds the LM head's input. */
static void forward_body(model *m, const int32_t *inputs)
{
    const model_config *c = &m->cfg;
    int N = m->B * m->T, C = c->d_model, M = branches_of(c);
    size_t NC = (size_t)N * C;
    model_acts *a = &m->acts;

    m->aux_loss = 0.0;
    es_prof_begin(PROF_EMBEDDING);
    embedding_forward(a->resid, inputs, m->wte, N, C);
    for (int n = 0; n < N; n++)
        m->cids[n] = m->compress_map ? m->compress_map[inputs[n]] : inputs[n];
    if (m->overenc)
        overencoding_forward(m->overenc, a->resid, m->cids);
    if (M > 1)
        for (int n = 0; n < N; n++)
            for (int b = 0; b < M; b++)
                memcpy(m->stream + ((size_t)n * M + b) * C, a->resid + (size_t)n * C, sizeof(float) * C);
    es_prof_end(PROF_EMBEDDING);
    if (M > 1)
        blocks_forward_branches(m);
    for (int l = 0; M == 1 && l < c->n_layers; l++) {
        float *x = a->resid + l * NC;
        if (m->engram_at[l] >= 0) {
            float *after = m->engram_out + (size_t)m->engram_at[l] * NC;
            engram_forward(&m->engram[m->engram_at[l]], after, x, m->cids);
            x = after;
        }
        float *mid = a->resid_mid + l * NC, *next = a->resid + (l + 1) * NC;
        /* mid = x + attention(rmsnorm(x)) . wo^T */
        memcpy(mid, x, sizeof(float) * NC);
        attention_sublayer_forward(m, l, x, mid);
        /* next = mid + ffn(rmsnorm(mid)) */
        memcpy(next, mid, sizeof(float) * NC);
        ffn_sublayer_forward(m, l, mid, next);
    }
    es_prof_begin(PROF_HEAD);
    rmsnorm_forward(a->lnf, a->lnf_rstd, a->resid + c->n_layers * NC, m->lnf, N, C);
    es_prof_end(PROF_HEAD);
}

double model_forward(model *m, const int32_t *inputs, const int32_t *targets)
{
    int N = m->B * m->T, C = m->cfg.d_model, V = m->vocab;
    model_scratch *s = &m->scratch;
    forward_body(m, inputs);
    es_prof_begin(PROF_HEAD);
    m->last_inputs = inputs;
    m->last_targets = targets;
    memset(s->dlnf, 0, sizeof(float) * (size_t)N * C);
    memset(s->dlm_head, 0, sizeof(float) * (size_t)V * C);
    double loss = lmhead_forward_backward(m->acts.losses, s->dlnf, s->dlm_head, s->head, m->acts.lnf, m->lm_head,
                                          targets, N, C, V, 1.0f / (float)N);
    es_prof_end(PROF_HEAD);
    return loss;
}

double model_evaluate(model *m, const int32_t *inputs, const int32_t *targets)
{
    int N = m->B * m->T, C = m->cfg.d_model, V = m->vocab;
    forward_body(m, inputs);
    es_prof_begin(PROF_HEAD);
    m->last_inputs = m->last_targets = NULL;
    double loss = lmhead_forward(m->acts.losses, m->scratch.head, m->acts.lnf, m->lm_head, targets, N, C, V);
    es_prof_end(PROF_HEAD);
    return loss;
}

void model_zero_grad(model *m) { memset(m->grads, 0, sizeof(float) * m->n_params); }

/* Backward of blocks_forward_branches, from scratch.dresid (the gradient
 * of the summed final branches); leaves the embedding's gradient (the sum
 * over branches) in scratch.dresid. */
static void blocks_backward_branches(model *m)
{
    const model_config *c = &m->cfg;
    int N = m->B * m->T, C = c->d_model, M = branches_of(c), L = c->n_layers;
    size_t NC = (size_t)N * C, NMC = NC * M;
    model_acts *a = &m->acts;
    model_scratch *s = &m->scratch;
    float *dS = m->dstream, *dP = m->dstream2, *swap;
    memset(dS, 0, sizeof(float) * NMC);
    mhc_sum_backward(dS, s->dresid, N, M, C);
    for (int l = L - 1; l >= 0; l--) {
        /* FFN sub-layer, from the branches mid */
        mhc_layer *h = &m->mhc[2 * l + 1];
        const float *mid = m->stream + (size_t)(2 * l + 1) * NMC;
        memset(dP, 0, sizeof(float) * NMC);
        memset(m->dsub, 0, sizeof(float) * NC);
        mhc_write_backward(h, dP, m->dsub, dS, mid, m->sub_out + (size_t)(2 * l + 1) * NC);
        memset(s->dresid, 0, sizeof(float) * NC);
        ffn_sublayer_backward(m, l, a->resid_mid + l * NC, s->dresid, m->dsub);
        mhc_read_backward(h, dP, s->dresid, mid);
        mhc_coeffs_backward(h, dP);
        swap = dS, dS = dP, dP = swap;

        /* attention sub-layer, from the branches x (after Engram, if any) */
        h = &m->mhc[2 * l];
        const float *x = m->stream + (size_t)2 * l * NMC;
        if (m->engram_at[l] >= 0)
            x = m->engram_out + (size_t)m->engram_at[l] * NMC;
        memset(dP, 0, sizeof(float) * NMC);
        memset(m->dsub, 0, sizeof(float) * NC);
        mhc_write_backward(h, dP, m->dsub, dS, x, m->sub_out + (size_t)2 * l * NC);
        memset(s->dresid, 0, sizeof(float) * NC);
        attention_sublayer_backward(m, l, a->resid + l * NC, s->dresid, m->dsub);
        mhc_read_backward(h, dP, s->dresid, x);
        mhc_coeffs_backward(h, dP);
        swap = dS, dS = dP, dP = swap;

        if (m->engram_at[l] >= 0)
            engram_backward(&m->engram[m->engram_at[l]], dS, dS, m->stream + (size_t)2 * l * NMC);
    }
    mhc_sum_forward(s->dresid, dS, N, M, C);
}

void model_backward(model *m)
{
    const model_config *c = &m->cfg;
    int N = m->B * m->T, C = c->d_model, V = m->vocab;
    size_t NC = (size_t)N * C;
    model_acts *a = &m->acts;
    model_scratch *s = &m->scratch;

    es_prof_begin(PROF_HEAD);
    /* the head's gradients came with the forward (fused into its pass) */
    float *dlm_head = grad_of(m, m->lm_head);
    for (size_t i = 0; i < (size_t)V * C; i++)
        dlm_head[i] += s->dlm_head[i];
    memset(s->dresid, 0, sizeof(float) * NC);
    rmsnorm_backward(s->dresid, grad_of(m, m->lnf), s->dlnf, a->resid + c->n_layers * NC, m->lnf, a->lnf_rstd, N,
                     C);
    es_prof_end(PROF_HEAD);
    if (branches_of(c) > 1)
        blocks_backward_branches(m);
    for (int l = c->n_layers - 1; branches_of(c) == 1 && l >= 0; l--) {
        float *x = a->resid + l * NC, *mid = a->resid_mid + l * NC;
        if (m->engram_at[l] >= 0)
            x = m->engram_out + (size_t)m->engram_at[l] * NC;
        /* dresid holds d(next) = d(mid) via the identity; add the FFN's path */
        ffn_sublayer_backward(m, l, mid, s->dresid, s->dresid);
        /* and the attention's: d(x) = d(mid) + its path */
        attention_sublayer_backward(m, l, x, s->dresid, s->dresid);
        /* Engram: out = h + y, so d(h) = d(out) + the gate's query path */
        if (m->engram_at[l] >= 0)
            engram_backward(&m->engram[m->engram_at[l]], s->dresid, s->dresid, a->resid + l * NC);
    }
    es_prof_begin(PROF_EMBEDDING);
    if (m->overenc)
        overencoding_backward(m->overenc, s->dresid);
    embedding_backward(grad_of(m, m->wte), s->dresid, m->last_inputs, N, C);
    es_prof_end(PROF_EMBEDDING);
}

size_t model_count_total(const model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->n_tensors; i++)
        if (!m->tensors[i].embedding)
            n += m->tensors[i].size;
    for (int i = 0; i < m->n_tables; i++)
        n += (size_t)m->tables[i]->rows * (size_t)m->tables[i]->width;
    return n;
}

double model_table_bytes(const model *m)
{
    double bytes = 0;
    for (int i = 0; i < m->n_tables; i++)
        bytes += sparse_table_bytes(m->tables[i]);
    return bytes;
}

size_t model_count_active(const model *m)
{
    double n = 0;
    for (int i = 0; i < m->n_tensors; i++)
        if (!m->tensors[i].embedding)
            n += m->tensors[i].active * (double)m->tensors[i].size;
    /* a token reads one row of every hash table */
    for (int i = 0; i < m->n_engram; i++)
        n += (double)m->engram[i].H * m->engram[i].W;
    if (m->overenc)
        n += (double)m->overenc->H * m->overenc->C;
    return (size_t)llround(n);
}

void model_after_step(model *m)
{
    for (int l = 0; m->moe && l < m->cfg.n_layers; l++)
        moe_after_step(&m->moe[l], (float)m->moe_bias_rate);
}

void model_moe_stats(model *m, model_moe_routing *out)
{
    out->load_max_mean = out->bias_min = out->bias_max = NAN;
    out->experts_eff_min = out->experts_eff_mean = out->bias_changed = NAN;
    if (!m->moe)
        return;
    double worst = 0, lo = INFINITY, hi = -INFINITY, eff_min = INFINITY, eff_sum = 0, changed_sum = 0;
    int layers = 0;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        moe_routing r = moe_routing_stats(&m->moe[l]);
        if (r.load_max_mean > worst)
            worst = r.load_max_mean;
        if (isfinite(r.experts_eff)) {
            eff_min = r.experts_eff < eff_min ? r.experts_eff : eff_min;
            eff_sum += r.experts_eff;
            changed_sum += r.bias_changed;
            layers++;
        }
        for (int e = 0; e < m->cfg.moe.experts; e++) {
            double b = m->moe[l].bias[e];
            lo = b < lo ? b : lo;
            hi = b > hi ? b : hi;
        }
    }
    out->load_max_mean = worst > 0 ? worst : NAN;
    out->bias_min = lo;
    out->bias_max = hi;
    if (layers > 0) {
        out->experts_eff_min = eff_min;
        out->experts_eff_mean = eff_sum / layers;
        out->bias_changed = changed_sum / layers;
    }
}

double model_flops_per_token(const model_config *c, int vocab)
{
    double C = c->d_model, F = c->ffn_hidden, T = c->seq_len, V = vocab;
    /* Forward multiply-adds per token, times 2 for FLOPs: projections
     * (qkv 3C^2, out C^2), the FFN (dense SwiGLU 3CF; or MoE: router CE,
     * shared and K routed SwiGLUs 3C F_e each), attention scores and values
     * over the (T+1)/2 keys a causal query sees on average (2 C (T+1)/2),
     * and the LM head CV. */
    double ffn = 3 * C * F;
    if (c->moe.experts > 0)
        ffn = C * c->moe.experts + 3.0 * C * c->moe.expert_hidden * (c->moe.shared + c->moe.top_k);
    double per_layer = 3 * C * C + C * C + ffn + C * (T + 1);
    /* mHC: each of the two sub-layers' coefficient projections, read-out
     * and write-back (mhc.h; Sinkhorn's M x M iterations are negligible) */
    int M = branches_of(c), G = gate_groups_of(c);
    if (M > 1)
        per_layer += 2 * mhc_macs_per_token(M, (int)C);
    /* Engram: the value (and key) projections C De, the depthwise conv
     * C kernel; lookups, norms and gates are not matrix products. */
    double engram = 0.0;
    if (c->memory == MEMORY_ENGRAM) {
        double De = (double)c->engram.n_orders * c->engram.heads * c->engram.head_dim;
        engram = C * De * (c->engram.gate != GATE_OFF ? 1 + G : 1) +
                 (c->engram.conv ? M * C * c->engram.conv_kernel : 0);
        engram *= c->engram.n_layers;
    }
    double forward = 2.0 * (c->n_layers * per_layer + engram + C * V);
    return 3.0 * forward; /* backward costs twice the forward */
}

int model_count(const model_config *c, int vocab, double *p_tot, double *p_act, long *table_rows)
{
    (void)vocab; /* embedding and LM head are outside P_tot */
    double C = c->d_model, L = c->n_layers, total = 0, active = 0;
    double block = 2 * C + 4 * C * C; /* norms, qkv, out */
    total += L * block;
    active += L * block;
    if (c->moe.experts > 0) {
        double E = c->moe.experts, K = c->moe.top_k, expert = 3 * C * c->moe.expert_hidden;
        total += L * (E * C + c->moe.shared * expert + E * expert);
        active += L * (E * C + c->moe.shared * expert + K * expert);
    } else {
        total += L * 3 * C * c->ffn_hidden;
        active += L * 3 * C * c->ffn_hidden;
    }
    int M = branches_of(c), G = gate_groups_of(c);
    if (M > 1) { /* mHC around attention and FFN of every block */
        total += L * 2 * mhc_params(M, (int)C);
        active += L * 2 * mhc_params(M, (int)C);
    }
    total += C; /* final norm */
    active += C;
    long rows = 0;
    if (c->memory != MEMORY_NONE) {
        int tables = c->engram.n_orders * c->engram.heads;
        int layers = c->memory == MEMORY_ENGRAM ? c->engram.n_layers : 1;
        uint64_t used[NGRAM_MAX_TABLES * (ENGRAM_MAX_LAYERS + 1)];
        int n_used = 0;
        for (int i = 0; i < layers; i++) {
            ngram_hasher hs;
            int64_t per_table = c->memory == MEMORY_ENGRAM ? c->engram.slots / layers / tables : c->engram.slots / tables;
            int rc = ngram_hasher_init(&hs, c->engram.orders, c->engram.n_orders, c->engram.heads, per_table, 0,
                                       i, 0, used, &n_used);
            if (rc)
                return rc;
            rows += hs.rows;
        }
        double width = c->memory == MEMORY_ENGRAM ? c->engram.head_dim : C;
        total += (double)rows * width;
        active += layers * tables * width;
        if (c->memory == MEMORY_ENGRAM) {
            double De = (double)tables * c->engram.head_dim;
            double module = C * De;                                     /* value projection */
            if (c->engram.gate != GATE_OFF)
                module += G * (C * De + 2 * C);                         /* key projections, gate norms */
            if (c->engram.conv)
                module += M * (C + C * c->engram.conv_kernel);          /* conv norms, conv */
            total += layers * module;
            active += layers * module;
        }
    }
    if (p_tot)
        *p_tot = total;
    if (p_act)
        *p_act = active;
    if (table_rows)
        *table_rows = rows;
    return ES_OK;
}
