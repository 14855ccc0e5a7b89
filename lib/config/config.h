/* The configuration of one training run, read from YAML.
 *
 * A run config file has these top-level keys (all optional; the defaults
 * are config_defaults()):
 *   name, corpus, data_dir, tokenizer {vocab}, model {...}, train {...}
 * Every key maps to one field below; see config.c's key table for types,
 * ranges and defaults. Enums are written by name, booleans as true/false,
 * integer lists as [2, 3] (unused array entries stay zero). Unknown keys, wrong types and out-of-range values are
 * ES_ECONFIG errors that name "file:line: key.path" and the value.
 * The struct owns no heap memory (fixed-size strings), so it can be copied. */
#ifndef ES_STUDY_CONFIG_H
#define ES_STUDY_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "config/ytree.h"

enum { CONFIG_STRING_MAX = 512 };

typedef enum { MEMORY_NONE, MEMORY_ENGRAM, MEMORY_OVERENCODING } memory_kind;
typedef enum { GATE_PAPER, GATE_SSQRT, GATE_OFF } engram_gate;
/* Values equal to es_precision and es_gemm_library of core/parallel.h. */
typedef enum { PRECISION_FP32, PRECISION_BF16 } train_precision;
typedef enum { GEMM_ONEDNN, GEMM_OPENBLAS } train_gemm;
typedef enum { OPTIMIZER_ADAMW, OPTIMIZER_MUON } optimizer_kind;
enum { ENGRAM_MAX_ORDERS = 8, ENGRAM_MAX_LAYERS = 16 };

typedef struct {
    int d_model;        /* residual width C */
    int n_layers;       /* transformer blocks */
    int n_heads;        /* attention heads; C % n_heads == 0, head dim even (RoPE) */
    int seq_len;        /* T, tokens per training sequence */
    int ffn_hidden;     /* dense SwiGLU hidden width (used when moe.experts == 0) */
    double rope_theta;
    double init_std;    /* std of the normal init of weight matrices */
    int branches;       /* residual-stream branches M (mHC, model/mhc.h); 1 = one stream */
    struct {
        int experts;         /* E routed experts; 0 = dense FFN */
        int top_k;           /* k routed experts per token */
        int shared;          /* shared experts */
        int expert_hidden;   /* SwiGLU hidden width of each expert */
        double bias_rate;    /* aux-loss-free balancing bias step per optimizer step; > 0 replaces bias_travel */
        double bias_travel;  /* the same as the farthest a bias can move over the run: rate = travel / steps */
        double aux_loss;     /* sequence-level balance loss coefficient (0 = off) */
        double route_scale;  /* multiplier on the normalised gate weights */
    } moe;
    int memory;              /* memory_kind: none | engram | overencoding */
    struct {
        long slots;          /* table rows over all heads, orders and Engram layers */
        int head_dim;        /* width of each head's rows (Engram; OverEncoding uses d_model) */
        int heads;           /* hash heads per N-gram order */
        int orders[ENGRAM_MAX_ORDERS];
        int n_orders;        /* N-gram orders, e.g. {2, 3} */
        int layers[ENGRAM_MAX_LAYERS];
        int n_layers;        /* 0-based blocks that get an Engram module */
        int gate;            /* engram_gate: paper (sigmoid of the scaled dot) | ssqrt (demo's signed sqrt) | off */
        int conv;            /* causal depthwise conv on (1) or off (0) */
        int conv_kernel;     /* its kernel size */
        int branch_gates;    /* with branches > 1: a W_K, key norm and gate per branch (1, eq. 6) or one for all (0) */
        int compress;        /* tokenizer compression on (1) or off (0) */
        double init_std;     /* std of the tables' normal init */
        double lr_mult;      /* table learning rate = train.lr * lr_mult */
        double weight_decay; /* table weight decay */
    } engram;
} model_config;

typedef struct {
    uint64_t seed;
    int batch;              /* sequences per step, B */
    long steps;             /* optimizer steps (ignored when tokens > 0) */
    double tokens;          /* if > 0, train for ceil(tokens / (B*T)) steps */
    double epochs;          /* passes over the training split allowed (default 1) */
    double lr;              /* peak learning rate */
    double min_lr_ratio;    /* final lr = lr * min_lr_ratio (cosine decay) */
    long warmup;            /* linear warmup steps */
    int optimizer;          /* optimizer_kind: adamw | muon (Muon on the backbone matrices, train/muon.h) */
    double muon_momentum;   /* Muon's momentum beta (Nesterov) */
    double weight_decay;    /* decoupled weight decay on matrices (AdamW's and Muon's) */
    double beta1, beta2, eps;
    double grad_clip;       /* global-norm clip; 0 = off */
    long eval_every;        /* steps between evals (and at the end) */
    long eval_tokens;       /* validation tokens per eval; 0 = the whole split */
    long checkpoint_every;  /* steps between checkpoints (and at the end); 0 = end only */
    int threads;            /* worker threads; 0 = all cores */
    int precision;          /* train_precision: operands of matrix products (fp32 accumulation) */
    int gemm;               /* train_gemm: library of fp32 matrix products */
    double diverge_factor;  /* a run diverges when loss > diverge_factor * initial loss */
} train_config;

typedef struct {
    char name[128];
    char corpus[CONFIG_STRING_MAX];    /* "kjv", "gcide", "linux-doc", "linux-src", a path to a UTF-8 text
                                          file, or a mixture "gcide+kjv+linux-src@0.1" (data/corpus.h),
                                          written in YAML as a list [gcide, kjv, {linux-src: 0.1}] */
    char data_dir[CONFIG_STRING_MAX];  /* cache root, default "data" */
    int vocab;                         /* BPE vocabulary size */
    model_config model;
    train_config train;
} run_config;

void config_defaults(run_config *cfg);

/* "none", "engram" or "overencoding": the names config files use. */
const char *config_memory_name(int memory);

/* "fp32" or "bf16". */
const char *config_precision_name(int precision);
/* "adamw" or "muon". */
const char *config_optimizer_name(int optimizer);

/* Loads a config file on top of the defaults, applies the overrides
 * ("key.path=value", in order), checks every key, type and range, then the
 * cross-field rules (config_validate). On error cfg is unspecified. */
int config_load(const char *path, const char *const *overrides, int n_overrides, run_config *cfg);

/* The same from a tree already loaded; top-level keys listed in
 * skip_sections (NULL-terminated, may be NULL) are left for the caller,
 * e.g. "sweep" in experiment files. */
int config_from_tree(const ynode *root, const char *const *skip_sections, run_config *cfg);

/* Cross-field rules: d_model divisible by n_heads, even head dim,
 * top_k <= experts, Engram layers inside the model, enough memory slots
 * for every table, and so on. ES_ECONFIG naming the keys. */
int config_validate(const run_config *cfg);

/* Writes every key with its value as YAML (a complete, resolved config that
 * config_load reads back to the same struct). */
int config_write(const run_config *cfg, FILE *out);

/* Steps the config trains for: ceil(tokens / (batch*seq_len)) or steps. */
long config_total_steps(const run_config *cfg);

/* The MoE balancing bias step per optimizer step: model.moe.bias_rate if
 * > 0, else model.moe.bias_travel / config_total_steps (0 = off). */
double config_moe_bias_rate(const run_config *cfg);

#endif
