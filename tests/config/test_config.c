/* Tests of lib/study/config: defaults, loading, every error, overrides,
 * cross-field rules and the write/load round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "tmpfiles.h"
#include "config/config.h"


/* Loads text as small.yaml (removed again) with overrides; returns the code. */
static int load_text(void **state, const char *text, const char *const *overrides, int n, run_config *cfg)
{
    tmp_files *t = *state;
    char path[TMP_PATH_LEN];
    snprintf(path, sizeof path, "%s/small.yaml", t->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    int rc = config_load(path, overrides, n, cfg);
    unlink(path);
    return rc;
}

/* Expects config_load of text (plus one optional override) to fail with
 * code and a message holding every needle. */
static void expect_error(void **state, const char *text, const char *override, int code, const char *needle1,
                         const char *needle2)
{
    run_config cfg;
    const char *ov[1] = {override};
    es_error_clear();
    assert_int_equal(load_text(state, text, ov, override ? 1 : 0, &cfg), code);
    /* errors are one line */
    assert_null(strchr(es_error_message(), '\n'));
    if (needle1)
        assert_message_has(needle1);
    if (needle2)
        assert_message_has(needle2);
}

static void test_defaults(void **state)
{
    run_config cfg;
    config_defaults(&cfg);
    assert_int_equal(config_validate(&cfg), ES_OK);
    assert_string_equal(cfg.name, "run");
    assert_string_equal(cfg.corpus, "kjv");
    assert_string_equal(cfg.data_dir, "data");
    assert_int_equal(cfg.vocab, 4096);
    assert_int_equal(cfg.model.d_model, 128);
    assert_int_equal(cfg.model.n_layers, 4);
    assert_int_equal(cfg.model.n_heads, 4);
    assert_int_equal(cfg.model.seq_len, 128);
    assert_int_equal(cfg.model.ffn_hidden, 384);
    assert_true(cfg.model.rope_theta == 10000.0);
    assert_true(cfg.model.init_std == 0.02);
    assert_int_equal(cfg.model.moe.experts, 0);
    assert_int_equal(cfg.model.moe.top_k, 2);
    assert_int_equal(cfg.model.moe.shared, 1);
    assert_int_equal(cfg.model.moe.expert_hidden, 128);
    assert_true(cfg.model.moe.bias_rate == 0.0);
    assert_true(cfg.model.moe.bias_travel == 2.0);
    assert_true(cfg.model.moe.aux_loss == 0.0);
    assert_true(cfg.model.moe.route_scale == 1.0);
    assert_int_equal(cfg.model.memory, MEMORY_NONE);
    assert_int_equal(cfg.model.engram.slots, 100000);
    assert_int_equal(cfg.model.engram.head_dim, 16);
    assert_int_equal(cfg.model.engram.heads, 4);
    assert_int_equal(cfg.model.engram.n_orders, 2);
    assert_int_equal(cfg.model.engram.orders[0], 2);
    assert_int_equal(cfg.model.engram.orders[1], 3);
    for (int i = 2; i < ENGRAM_MAX_ORDERS; i++)
        assert_int_equal(cfg.model.engram.orders[i], 0);
    assert_int_equal(cfg.model.engram.n_layers, 1);
    assert_int_equal(cfg.model.engram.layers[0], 1);
    for (int i = 1; i < ENGRAM_MAX_LAYERS; i++)
        assert_int_equal(cfg.model.engram.layers[i], 0);
    assert_int_equal(cfg.model.engram.gate, GATE_PAPER);
    assert_int_equal(cfg.model.engram.conv, 1);
    assert_int_equal(cfg.model.engram.conv_kernel, 4);
    assert_int_equal(cfg.model.engram.compress, 1);
    assert_true(cfg.model.engram.init_std == 0.02);
    assert_true(cfg.model.engram.lr_mult == 5.0);
    assert_true(cfg.model.engram.weight_decay == 0.0);
    assert_true(cfg.train.seed == 1);
    assert_int_equal(cfg.train.batch, 16);
    assert_int_equal(cfg.train.steps, 1000);
    assert_true(cfg.train.tokens == 0.0);
    assert_true(cfg.train.epochs == 1.0);
    assert_true(cfg.train.lr == 3e-3);
    assert_true(cfg.train.min_lr_ratio == 0.1);
    assert_int_equal(cfg.train.warmup, 50);
    assert_true(cfg.train.weight_decay == 0.1);
    assert_int_equal(cfg.train.optimizer, OPTIMIZER_ADAMW);
    assert_true(cfg.train.muon_momentum == 0.95);
    assert_true(cfg.train.beta1 == 0.9);
    assert_true(cfg.train.beta2 == 0.95);
    assert_true(cfg.train.eps == 1e-8);
    assert_true(cfg.train.grad_clip == 1.0);
    assert_int_equal(cfg.train.eval_every, 100);
    assert_int_equal(cfg.train.eval_tokens, 0);
    assert_int_equal(cfg.train.checkpoint_every, 0);
    assert_int_equal(cfg.train.threads, 0);
    assert_int_equal(cfg.train.precision, PRECISION_BF16);
    assert_int_equal(cfg.train.gemm, GEMM_ONEDNN);
    assert_true(cfg.train.diverge_factor == 3.0);
    assert_int_equal(config_total_steps(&cfg), 1000);

    /* an empty file is the defaults */
    run_config loaded;
    assert_int_equal(load_text(state, "# nothing\n", NULL, 0, &loaded), ES_OK);
    assert_memory_equal(&cfg, &loaded, sizeof cfg);
}

static const char FULL[] = "name: full-run.1\n"
                           "corpus: /data/my corpus.txt\n"
                           "data_dir: cache\n"
                           "tokenizer:\n"
                           "  vocab: 8192\n"
                           "model:\n"
                           "  d_model: 256\n"
                           "  layers: 6\n"
                           "  heads: 8\n"
                           "  seq_len: 256\n"
                           "  ffn_hidden: 768\n"
                           "  rope_theta: 500000\n"
                           "  init_std: 0.01\n"
                           "  moe:\n"
                           "    experts: 16\n"
                           "    top_k: 4\n"
                           "    shared: 2\n"
                           "    expert_hidden: 64\n"
                           "    bias_rate: 0.0005\n"
                           "    bias_travel: 2.5\n"
                           "    aux_loss: 0.0001\n"
                           "    route_scale: 2.5\n"
                           "  memory: engram\n"
                           "  engram:\n"
                           "    slots: 1e7\n"
                           "    head_dim: 32\n"
                           "    heads: 8\n"
                           "    orders: [2, 3, 4]\n"
                           "    layers:\n"
                           "      - 0\n"
                           "      - 5\n"
                           "      - 2\n"
                           "    gate: ssqrt\n"
                           "    conv: False\n"
                           "    conv_kernel: 3\n"
                           "    compress: false\n"
                           "    init_std: 0.5\n"
                           "    lr_mult: 10\n"
                           "    weight_decay: 0.01\n"
                           "train:\n"
                           "  seed: 18446744073709551615\n"
                           "  batch: 32\n"
                           "  steps: 5000\n"
                           "  tokens: 2.5e8\n"
                           "  epochs: 2.5\n"
                           "  lr: 1e-3\n"
                           "  min_lr_ratio: 0\n"
                           "  warmup: 1e3\n"
                           "  optimizer: muon\n"
                           "  muon_momentum: 0.9\n"
                           "  weight_decay: 0.05\n"
                           "  beta1: 0.8\n"
                           "  beta2: 0.99\n"
                           "  eps: 1e-10\n"
                           "  grad_clip: 0.5\n"
                           "  eval_every: 250\n"
                           "  eval_tokens: 65536\n"
                           "  checkpoint_every: 1000\n"
                           "  threads: 4\n"
                           "  precision: fp32\n"
                           "  gemm: openblas\n"
                           "  diverge_factor: 10\n";

static void test_full_file_sets_every_key(void **state)
{
    run_config cfg;
    assert_int_equal(load_text(state, FULL, NULL, 0, &cfg), ES_OK);
    assert_string_equal(cfg.name, "full-run.1");
    assert_string_equal(cfg.corpus, "/data/my corpus.txt");
    assert_string_equal(cfg.data_dir, "cache");
    assert_int_equal(cfg.vocab, 8192);
    assert_int_equal(cfg.model.d_model, 256);
    assert_int_equal(cfg.model.n_layers, 6);
    assert_int_equal(cfg.model.n_heads, 8);
    assert_int_equal(cfg.model.seq_len, 256);
    assert_int_equal(cfg.model.ffn_hidden, 768);
    assert_true(cfg.model.rope_theta == 500000.0);
    assert_true(cfg.model.init_std == 0.01);
    assert_int_equal(cfg.model.moe.experts, 16);
    assert_int_equal(cfg.model.moe.top_k, 4);
    assert_int_equal(cfg.model.moe.shared, 2);
    assert_int_equal(cfg.model.moe.expert_hidden, 64);
    assert_true(cfg.model.moe.bias_rate == 0.0005);
    assert_true(cfg.model.moe.bias_travel == 2.5);
    assert_true(cfg.model.moe.aux_loss == 0.0001);
    assert_true(cfg.model.moe.route_scale == 2.5);
    assert_int_equal(cfg.model.memory, MEMORY_ENGRAM);
    assert_int_equal(cfg.model.engram.slots, 10000000);
    assert_int_equal(cfg.model.engram.head_dim, 32);
    assert_int_equal(cfg.model.engram.heads, 8);
    assert_int_equal(cfg.model.engram.n_orders, 3);
    const int orders[ENGRAM_MAX_ORDERS] = {2, 3, 4}; /* unused entries zero */
    assert_memory_equal(cfg.model.engram.orders, orders, sizeof orders);
    assert_int_equal(cfg.model.engram.n_layers, 3);
    const int layers[ENGRAM_MAX_LAYERS] = {0, 5, 2}; /* in the order given */
    assert_memory_equal(cfg.model.engram.layers, layers, sizeof layers);
    assert_int_equal(cfg.model.engram.gate, GATE_SSQRT);
    assert_int_equal(cfg.model.engram.conv, 0);
    assert_int_equal(cfg.model.engram.conv_kernel, 3);
    assert_int_equal(cfg.model.engram.compress, 0);
    assert_true(cfg.model.engram.init_std == 0.5);
    assert_true(cfg.model.engram.lr_mult == 10.0);
    assert_true(cfg.model.engram.weight_decay == 0.01);
    assert_true(cfg.train.seed == UINT64_MAX);
    assert_int_equal(cfg.train.batch, 32);
    assert_int_equal(cfg.train.steps, 5000);
    assert_true(cfg.train.tokens == 2.5e8);
    assert_true(cfg.train.epochs == 2.5);
    assert_true(cfg.train.lr == 1e-3);
    assert_true(cfg.train.min_lr_ratio == 0.0);
    assert_int_equal(cfg.train.warmup, 1000);
    assert_true(cfg.train.weight_decay == 0.05);
    assert_int_equal(cfg.train.optimizer, OPTIMIZER_MUON);
    assert_true(cfg.train.muon_momentum == 0.9);
    assert_true(cfg.train.beta1 == 0.8);
    assert_true(cfg.train.beta2 == 0.99);
    assert_true(cfg.train.eps == 1e-10);
    assert_true(cfg.train.grad_clip == 0.5);
    assert_int_equal(cfg.train.eval_every, 250);
    assert_int_equal(cfg.train.eval_tokens, 65536);
    assert_int_equal(cfg.train.checkpoint_every, 1000);
    assert_int_equal(cfg.train.threads, 4);
    assert_int_equal(cfg.train.precision, PRECISION_FP32);
    assert_int_equal(cfg.train.gemm, GEMM_OPENBLAS);
    assert_true(cfg.train.diverge_factor == 10.0);
    /* tokens win over steps: ceil(2.5e8 / (32 * 256)) */
    assert_int_equal(config_total_steps(&cfg), 30518);
}

static void test_syntax_error(void **state)
{
    expect_error(state, "model:\n  d_model: [1, 2\n  heads: 4\n", NULL, ES_ECONFIG, "small.yaml:", "flow sequence");
    expect_error(state, "model:\n  d_model: 1\n   heads: 4\n", NULL, ES_ECONFIG, "small.yaml:3:", NULL);
}

static void test_unknown_keys(void **state)
{
    expect_error(state, "name: a\nmodel:\n  d_model: 128\n\n\n\n  d_modle: 7\n", NULL, ES_ECONFIG,
                 "small.yaml:7: unknown key 'model.d_modle'", "did you mean 'model.d_model'?");
    expect_error(state, "modle:\n  d_model: 128\n", NULL, ES_ECONFIG, "small.yaml:1: unknown key 'modle'",
                 "did you mean 'model'?");
    expect_error(state, "train:\n  moe:\n    experts: 4\n", NULL, ES_ECONFIG, "small.yaml:2: unknown key 'train.moe'",
                 "did you mean 'model.moe'?");
    expect_error(state, "model:\n  moe:\n    expert: 4\n", NULL, ES_ECONFIG,
                 "small.yaml:3: unknown key 'model.moe.expert'", "did you mean 'model.moe.experts'?");
    /* nothing close: no suggestion */
    expect_error(state, "train:\n  learning_rate_schedule: cosine\n", NULL, ES_ECONFIG,
                 "small.yaml:2: unknown key 'train.learning_rate_schedule'", NULL);
    assert_null(strstr(es_error_message(), "did you mean"));
    expect_error(state, "sweep:\n  rho: [0, 1]\n", NULL, ES_ECONFIG, "unknown key 'sweep'", NULL);
}

static void test_bad_types(void **state)
{
    expect_error(state, "name: x\nmodel:\n  d_model: abc\n", NULL, ES_ECONFIG,
                 "small.yaml:3: model.d_model: expected an integer, got 'abc'", NULL);
    expect_error(state, "model:\n  d_model: 1.5\n", NULL, ES_ECONFIG,
                 "small.yaml:2: model.d_model: expected an integer, got '1.5'", NULL);
    expect_error(state, "train:\n  lr: fast\n", NULL, ES_ECONFIG, "small.yaml:2: train.lr: expected a number, got 'fast'",
                 NULL);
    expect_error(state, "train:\n  lr: 0x10\n", NULL, ES_ECONFIG, "train.lr: expected a number, got '0x10'", NULL);
    expect_error(state, "train:\n  lr: .nan\n", NULL, ES_ECONFIG, "small.yaml:2: train.lr: expected a finite number",
                 "'.nan'");
    expect_error(state, "train:\n  grad_clip: inf\n", NULL, ES_ECONFIG, "expected a finite number, got 'inf'", NULL);
    expect_error(state, "model:\n  d_model: \"128\"\n", NULL, ES_ECONFIG,
                 "small.yaml:2: model.d_model: expected an integer, got the string '128'", NULL);
    expect_error(state, "train:\n  seed: 1.5\n", NULL, ES_ECONFIG, "train.seed: expected an integer, got '1.5'", NULL);
    /* lists and maps where a value belongs, values where a section belongs */
    expect_error(state, "model:\n  d_model: [128, 256]\n", NULL, ES_ECONFIG,
                 "small.yaml:2: model.d_model: expected an integer, got a list", NULL);
    expect_error(state, "corpus:\n  path: x\n", NULL, ES_ECONFIG, "small.yaml:1: corpus: expected a string, got a map",
                 NULL);
    expect_error(state, "model: 5\n", NULL, ES_ECONFIG, "small.yaml:1: model: expected a map of keys", "'5'");
    expect_error(state, "train: [1, 2]\n", NULL, ES_ECONFIG, "small.yaml:1: train: expected a map of keys, got a list",
                 NULL);
    expect_error(state, "- a\n- b\n", NULL, ES_ECONFIG, "the top level must be a map", NULL);

    /* integral exponent forms are integers; an empty section is no keys */
    run_config cfg;
    assert_int_equal(load_text(state, "train:\n  steps: 1e6\n  eval_every: 2.5e2\nmodel:\n", NULL, 0, &cfg), ES_OK);
    assert_int_equal(cfg.train.steps, 1000000);
    assert_int_equal(cfg.train.eval_every, 250);
    assert_int_equal(cfg.model.d_model, 128);
}

static void test_out_of_range(void **state)
{
    expect_error(state, "name: x\nmodel:\n  d_model: -4\n", NULL, ES_ECONFIG,
                 "small.yaml:3: model.d_model = -4 is out of range [8, 16384]", NULL);
    expect_error(state, "model:\n  d_model: 16385\n", NULL, ES_ECONFIG,
                 "small.yaml:2: model.d_model = 16385 is out of range [8, 16384]", NULL);
    expect_error(state, "model:\n  d_model: 99999999999999999999\n", NULL, ES_ECONFIG,
                 "model.d_model = 99999999999999999999 is out of range", NULL);
    expect_error(state, "train:\n  lr: 0\n", NULL, ES_ECONFIG, "small.yaml:2: train.lr = 0 is out of range (0, 10]", NULL);
    expect_error(state, "train:\n  beta2: 1\n", NULL, ES_ECONFIG, "train.beta2 = 1 is out of range [0, 1)", NULL);
    expect_error(state, "train:\n  warmup: -1\n", NULL, ES_ECONFIG, "train.warmup = -1 is out of range [0, inf)", NULL);
    expect_error(state, "train:\n  steps: 1e13\n", NULL, ES_ECONFIG,
                 "train.steps = 1e13 is out of range [1, 1000000000000]", NULL);
    expect_error(state, "train:\n  tokens: 2e15\n", NULL, ES_ECONFIG, "train.tokens = 2e15 is out of range", NULL);
    expect_error(state, "train:\n  seed: -1\n", NULL, ES_ECONFIG,
                 "train.seed = -1 is out of range [0, 18446744073709551615]", NULL);
    expect_error(state, "train:\n  seed: 18446744073709551616\n", NULL, ES_ECONFIG, "train.seed = 18446744073709551616",
                 NULL);
    expect_error(state, "model:\n  rope_theta: 1e999\n", NULL, ES_ECONFIG, "model.rope_theta = 1e999 is out of range",
                 NULL);
    expect_error(state, "train:\n  diverge_factor: 1\n", NULL, ES_ECONFIG,
                 "train.diverge_factor = 1 is out of range (1, 1000000]", NULL);
    expect_error(state, "model:\n  moe:\n    bias_travel: -1\n", NULL, ES_ECONFIG,
                 "small.yaml:3: model.moe.bias_travel = -1 is out of range [0, 1000]", NULL);
    expect_error(state, "tokenizer:\n  vocab: 100\n", NULL, ES_ECONFIG, "tokenizer.vocab = 100 is out of range [256, 65536]",
                 NULL);
    expect_error(state, "model:\n  branches: 0\n", NULL, ES_ECONFIG, "small.yaml:2: model.branches = 0 is out of range [1, 8]",
                 NULL);
    expect_error(state, "model:\n  branches: 9\n", NULL, ES_ECONFIG, "model.branches = 9 is out of range [1, 8]", NULL);
    char long_name[200];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    char text[256];
    snprintf(text, sizeof text, "name: %s\n", long_name);
    expect_error(state, text, NULL, ES_ECONFIG, "small.yaml:1: name:", "longer than 127 characters");
}

static void test_duplicate_key(void **state)
{
    expect_error(state, "train:\n  lr: 1e-3\n  batch: 4\n  lr: 2e-3\n", NULL, ES_ECONFIG,
                 "small.yaml:4: duplicate key 'lr'", NULL);
}

static void test_missing_file(void **state)
{
    tmp_files *t = *state;
    char path[TMP_PATH_LEN];
    snprintf(path, sizeof path, "%s/nope.yaml", t->dir);
    run_config cfg;
    assert_int_equal(config_load(path, NULL, 0, &cfg), ES_EIO);
    assert_message_has(path);
}

static void test_bad_overrides(void **state)
{
    expect_error(state, "", "model.d_model", ES_EINVAL, "model.d_model", "key.path=value");
    expect_error(state, "", "=3", ES_EINVAL, "the key is empty", NULL);
    expect_error(state, "", "model.d_modle=256", ES_ECONFIG, "--set: unknown key 'model.d_modle'",
                 "did you mean 'model.d_model'?");
    expect_error(state, "", "model.d_model=abc", ES_ECONFIG, "--set: model.d_model: expected an integer, got 'abc'",
                 NULL);
    expect_error(state, "", "model.d_model=4", ES_ECONFIG, "--set: model.d_model = 4 is out of range [8, 16384]", NULL);
    expect_error(state, "", "model.d_model=[1, 2]", ES_ECONFIG, "--set: model.d_model: expected an integer, got a list",
                 NULL);
    expect_error(state, "", "model.d_model=[1, 2", ES_EINVAL, "--set model.d_model=[1, 2: invalid YAML value", NULL);
    expect_error(state, "model:\n  d_model: 128\n", "model.d_model.x=1", ES_EINVAL, "'model.d_model' is a value", NULL);
    expect_error(state, "", "model.d_model.x=1", ES_ECONFIG, "--set: model.d_model: expected an integer, got a map",
                 NULL);
    /* an override into a section given as a value in the file */
    expect_error(state, "model: 5\n", "model.d_model=64", ES_EINVAL, "'model' is a value", NULL);
}

static void test_overrides_win_in_order(void **state)
{
    run_config cfg;
    const char *ov[] = {"model.d_model=256", "train.lr=1e-4", "model.d_model=64", "model.moe={experts: 8, top_k: 1}",
                        "name=override", "model.moe.shared=0"};
    assert_int_equal(load_text(state, "name: file\nmodel:\n  d_model: 512\n  heads: 8\ntrain:\n  lr: 0.5\n", ov, 6, &cfg),
                     ES_OK);
    assert_int_equal(cfg.model.d_model, 64); /* the last override wins */
    assert_int_equal(cfg.model.n_heads, 8);  /* from the file */
    assert_true(cfg.train.lr == 1e-4);
    assert_int_equal(cfg.model.moe.experts, 8);
    assert_int_equal(cfg.model.moe.top_k, 1);
    assert_int_equal(cfg.model.moe.shared, 0);
    assert_string_equal(cfg.name, "override");
    assert_int_equal(cfg.model.seq_len, 128); /* a default */
}

static void test_cross_field_rules(void **state)
{
    expect_error(state, "model:\n  d_model: 100\n  heads: 3\n", NULL, ES_ECONFIG,
                 "model.d_model = 100 is not divisible by model.heads = 3", NULL);
    expect_error(state, "model:\n  d_model: 120\n  heads: 8\n", NULL, ES_ECONFIG, "model.d_model / model.heads",
                 "even");
    expect_error(state, "model:\n  moe:\n    experts: 2\n    top_k: 3\n", NULL, ES_ECONFIG,
                 "model.moe.top_k = 3 is more than model.moe.experts = 2", NULL);
    expect_error(state, "name: \"\"\n", NULL, ES_ECONFIG, "name: must not be empty", NULL);
    expect_error(state, "name: my run\n", NULL, ES_ECONFIG, "name: 'my run' is not a folder name", NULL);
    expect_error(state, "name: a/b\n", NULL, ES_ECONFIG, "name: 'a/b'", NULL);
    expect_error(state, "", "name=..", ES_ECONFIG, "name: '..'", NULL);
    expect_error(state, "corpus: ''\n", NULL, ES_ECONFIG, "corpus: must not be empty", NULL);

    /* top_k > experts is fine for a dense model (experts = 0) */
    run_config cfg;
    config_defaults(&cfg);
    cfg.model.moe.top_k = 8;
    assert_int_equal(config_validate(&cfg), ES_OK);
    cfg.model.moe.experts = 8;
    assert_int_equal(config_validate(&cfg), ES_OK);
    cfg.model.moe.experts = 7;
    assert_int_equal(config_validate(&cfg), ES_ECONFIG);
}

static void test_memory_errors(void **state)
{
    /* enums: the choices, and the one a typo was meant to be */
    expect_error(state, "name: x\ncorpus: kjv\n\n\nmodel:\n  d_model: 128\n  layers: 4\n  heads: 4\n  memory: engrma\n",
                 NULL, ES_ECONFIG,
                 "small.yaml:9: model.memory: expected one of none, engram, overencoding, got 'engrma'",
                 "did you mean 'engram'?");
    expect_error(state, "model:\n  engram:\n    gate: sigmoid\n", NULL, ES_ECONFIG,
                 "small.yaml:3: model.engram.gate: expected one of paper, ssqrt, off, got 'sigmoid'", NULL);
    /* the optimizer and Muon's momentum */
    expect_error(state, "train:\n  optimizer: sgd\n", NULL, ES_ECONFIG,
                 "small.yaml:2: train.optimizer: expected one of adamw, muon, got 'sgd'", NULL);
    expect_error(state, "train:\n  lr: 1e-3\n", "train.optimizer=Muon", ES_ECONFIG, "train.optimizer",
                 "did you mean 'muon'?");
    expect_error(state, "train:\n  optimizer: muon\n  muon_momentum: 1\n", NULL, ES_ECONFIG,
                 "small.yaml:3: train.muon_momentum = 1 is out of range (0, 1)", NULL);
    expect_error(state, "train:\n  muon_momentum: 0\n", NULL, ES_ECONFIG,
                 "train.muon_momentum = 0 is out of range (0, 1)", NULL);
    assert_null(strstr(es_error_message(), "did you mean"));
    expect_error(state, "model:\n  memory: [engram]\n", NULL, ES_ECONFIG,
                 "small.yaml:2: model.memory: expected one of none, engram, overencoding, got a list", NULL);
    expect_error(state, "model:\n  memory: Engram\n", NULL, ES_ECONFIG, "got 'Engram'", "did you mean 'engram'?");
    expect_error(state, "train:\n  precision: fp16\n", NULL, ES_ECONFIG,
                 "small.yaml:2: train.precision: expected one of fp32, bf16, got 'fp16'", NULL);
    expect_error(state, "train:\n  gemm: mkl\n", NULL, ES_ECONFIG,
                 "small.yaml:2: train.gemm: expected one of onednn, openblas, got 'mkl'", NULL);

    /* booleans: true or false in any case, nothing else */
    expect_error(state, "model:\n  engram:\n    conv: yes\n", NULL, ES_ECONFIG,
                 "small.yaml:3: model.engram.conv: expected true or false, got 'yes'", NULL);
    expect_error(state, "model:\n  engram:\n    compress: 1\n", NULL, ES_ECONFIG,
                 "model.engram.compress: expected true or false, got '1'", NULL);
    expect_error(state, "model:\n  engram:\n    conv: \"true\"\n", NULL, ES_ECONFIG,
                 "model.engram.conv: expected true or false, got the string 'true'", NULL);
    expect_error(state, "model:\n  engram:\n    conv: {a: 1}\n", NULL, ES_ECONFIG,
                 "model.engram.conv: expected true or false, got a map", NULL);
    run_config cfg;
    assert_int_equal(load_text(state, "model:\n  engram:\n    conv: TRUE\n    compress: False\n", NULL, 0, &cfg),
                     ES_OK);
    assert_int_equal(cfg.model.engram.conv, 1);
    assert_int_equal(cfg.model.engram.compress, 0);

    /* lists: items are named by their 0-based index and line */
    expect_error(state, "model:\n  engram:\n    orders: [2, 1]\n", NULL, ES_ECONFIG,
                 "small.yaml:3: model.engram.orders[1] = 1 is out of range [2, 8]", NULL);
    expect_error(state, "model:\n  engram:\n    orders:\n      - 2\n      - 9\n", NULL, ES_ECONFIG,
                 "small.yaml:5: model.engram.orders[1] = 9 is out of range [2, 8]", NULL);
    expect_error(state, "model:\n  engram:\n    layers: [0, -1]\n", NULL, ES_ECONFIG,
                 "model.engram.layers[1] = -1 is out of range [0, 255]", NULL);
    expect_error(state, "model:\n  engram:\n    layers: [256]\n", NULL, ES_ECONFIG,
                 "model.engram.layers[0] = 256 is out of range [0, 255]", NULL);
    expect_error(state, "model:\n  engram:\n    orders: [2, 3, 3]\n", NULL, ES_ECONFIG,
                 "small.yaml:3: model.engram.orders: 3 appears twice", NULL);
    expect_error(state, "model:\n  engram:\n    layers:\n      - 1\n      - 0\n      - 1\n", NULL, ES_ECONFIG,
                 "small.yaml:6: model.engram.layers: 1 appears twice", NULL);
    expect_error(state, "model:\n  engram:\n    orders: [2, 3, 4, 5, 6, 7, 8, 2, 3]\n", NULL, ES_ECONFIG,
                 "small.yaml:3: model.engram.orders: expected 1 to 8 items, got 9", NULL);
    expect_error(state, "model:\n  engram:\n    layers: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]\n",
                 NULL, ES_ECONFIG, "model.engram.layers: expected 1 to 16 items, got 17", NULL);
    expect_error(state, "model:\n  engram:\n    orders: []\n", NULL, ES_ECONFIG,
                 "model.engram.orders: expected 1 to 8 items, got 0", NULL);
    expect_error(state, "model:\n  engram:\n    orders: 2\n", NULL, ES_ECONFIG,
                 "small.yaml:3: model.engram.orders: expected a list of integers, got '2'", "[2]");
    expect_error(state, "model:\n  engram:\n    orders:\n", NULL, ES_ECONFIG,
                 "small.yaml:3: model.engram.orders: expected a list of integers, got nothing", NULL);
    expect_error(state, "model:\n  engram:\n    orders: {2: 3}\n", NULL, ES_ECONFIG,
                 "small.yaml:3: model.engram.orders: expected a list of integers, got a map", NULL);
    expect_error(state, "model:\n  engram:\n    orders: [2, [3, 4]]\n", NULL, ES_ECONFIG,
                 "small.yaml:3: model.engram.orders[1]: expected an integer, got a list", NULL);
    expect_error(state, "model:\n  engram:\n    orders: [{n: 2}]\n", NULL, ES_ECONFIG,
                 "model.engram.orders[0]: expected an integer, got a map", NULL);
    expect_error(state, "model:\n  engram:\n    orders: [2, x]\n", NULL, ES_ECONFIG,
                 "model.engram.orders[1]: expected an integer, got 'x'", NULL);
    expect_error(state, "model:\n  engram:\n    orders: [2.5]\n", NULL, ES_ECONFIG,
                 "model.engram.orders[0]: expected an integer, got '2.5'", NULL);
    expect_error(state, "model:\n  engram:\n    orders: [\"2\"]\n", NULL, ES_ECONFIG,
                 "model.engram.orders[0]: expected an integer, got the string '2'", NULL);

    /* scalars: ranges and integer forms */
    expect_error(state, "model:\n  engram:\n    slots: 0\n", NULL, ES_ECONFIG,
                 "small.yaml:3: model.engram.slots = 0 is out of range [1, 10000000000]", NULL);
    expect_error(state, "model:\n  engram:\n    slots: 2e10\n", NULL, ES_ECONFIG,
                 "model.engram.slots = 2e10 is out of range [1, 10000000000]", NULL);
    expect_error(state, "model:\n  engram:\n    slots: 1.5\n", NULL, ES_ECONFIG,
                 "model.engram.slots: expected an integer, got '1.5'", NULL);
    assert_int_equal(load_text(state, "model:\n  engram:\n    slots: 1.5e3\n", NULL, 0, &cfg), ES_OK);
    assert_int_equal(cfg.model.engram.slots, 1500);
    expect_error(state, "model:\n  engram:\n    head_dim: 4097\n", NULL, ES_ECONFIG,
                 "model.engram.head_dim = 4097 is out of range [1, 4096]", NULL);
    expect_error(state, "model:\n  engram:\n    heads: 65\n", NULL, ES_ECONFIG,
                 "model.engram.heads = 65 is out of range [1, 64]", NULL);
    expect_error(state, "model:\n  engram:\n    conv_kernel: 0\n", NULL, ES_ECONFIG,
                 "model.engram.conv_kernel = 0 is out of range [1, 16]", NULL);
    expect_error(state, "model:\n  engram:\n    init_std: 0\n", NULL, ES_ECONFIG,
                 "model.engram.init_std = 0 is out of range (0, 10]", NULL);
    expect_error(state, "model:\n  engram:\n    lr_mult: 1001\n", NULL, ES_ECONFIG,
                 "model.engram.lr_mult = 1001 is out of range (0, 1000]", NULL);
    expect_error(state, "model:\n  engram:\n    weight_decay: -0.1\n", NULL, ES_ECONFIG,
                 "model.engram.weight_decay = -0.1 is out of range [0, 10]", NULL);

    /* unknown keys in the new section get suggestions too */
    expect_error(state, "model:\n  engram:\n    order: [2]\n", NULL, ES_ECONFIG,
                 "small.yaml:3: unknown key 'model.engram.order'", "did you mean 'model.engram.orders'?");
    expect_error(state, "model:\n  engrm:\n    slots: 5\n", NULL, ES_ECONFIG, "unknown key 'model.engrm'",
                 "did you mean 'model.engram'?");
    expect_error(state, "model:\n  engram: 5\n", NULL, ES_ECONFIG, "small.yaml:2: model.engram: expected a map of keys",
                 NULL);
}

static void test_memory_overrides(void **state)
{
    run_config cfg;
    const char *ov[] = {"model.engram.orders=[2,3,4]", "model.engram.layers=[0, 2]", "model.memory=engram",
                        "model.engram.gate=off", "model.engram.conv=false"};
    assert_int_equal(load_text(state, "model:\n  engram:\n    orders: [5]\n", ov, 5, &cfg), ES_OK);
    assert_int_equal(cfg.model.engram.n_orders, 3);
    const int orders[ENGRAM_MAX_ORDERS] = {2, 3, 4};
    assert_memory_equal(cfg.model.engram.orders, orders, sizeof orders);
    assert_int_equal(cfg.model.engram.n_layers, 2);
    assert_int_equal(cfg.model.engram.layers[1], 2);
    assert_int_equal(cfg.model.memory, MEMORY_ENGRAM);
    assert_int_equal(cfg.model.engram.gate, GATE_OFF);
    assert_int_equal(cfg.model.engram.conv, 0);

    /* a shorter list replaces a longer one and leaves zeros behind it */
    const char *shorter[] = {"model.engram.orders=[7]"};
    assert_int_equal(load_text(state, "model:\n  engram:\n    orders: [2, 3, 4, 5]\n", shorter, 1, &cfg), ES_OK);
    run_config want;
    config_defaults(&want);
    memset(want.model.engram.orders, 0, sizeof want.model.engram.orders);
    want.model.engram.orders[0] = 7;
    want.model.engram.n_orders = 1;
    assert_memory_equal(&cfg, &want, sizeof cfg);

    /* one item by index, as for any list */
    const char *item[] = {"model.engram.orders.1=6"};
    assert_int_equal(load_text(state, "model:\n  engram:\n    orders: [2, 3]\n", item, 1, &cfg), ES_OK);
    assert_int_equal(cfg.model.engram.orders[1], 6);

    expect_error(state, "", "model.engram.orders=2", ES_ECONFIG,
                 "--set: model.engram.orders: expected a list of integers, got '2'", NULL);
    expect_error(state, "", "model.engram.layers=[0, 0]", ES_ECONFIG, "--set: model.engram.layers: 0 appears twice",
                 NULL);
    expect_error(state, "", "model.engram.orders=[2, 9]", ES_ECONFIG,
                 "--set: model.engram.orders[1] = 9 is out of range [2, 8]", NULL);
    expect_error(state, "", "model.memory=hash", ES_ECONFIG,
                 "--set: model.memory: expected one of none, engram, overencoding, got 'hash'", NULL);
}

static void test_memory_rules(void **state)
{
    /* Engram blocks must exist: model.layers = 4 has blocks 0..3 */
    expect_error(state, "model:\n  memory: engram\n  engram:\n    layers: [0, 4]\n", NULL, ES_ECONFIG,
                 "model.engram.layers[1] = 4 is not a block of the model: model.layers = 4", NULL);
    run_config cfg;
    assert_int_equal(
        load_text(state, "model:\n  memory: engram\n  layers: 5\n  engram:\n    layers: [0, 4]\n", NULL, 0, &cfg),
        ES_OK);
    /* without Engram the list is not used, so not checked */
    assert_int_equal(load_text(state, "model:\n  engram:\n    layers: [200]\n", NULL, 0, &cfg), ES_OK);
    assert_int_equal(load_text(state, "model:\n  memory: overencoding\n  engram:\n    layers: [200]\n", NULL, 0, &cfg),
                     ES_OK);

    /* a branch-shared Engram gate needs branches, Engram and a gate */
    const char *shared = "model:\n  memory: engram\n  engram:\n    branch_gates: false\n";
    expect_error(state, shared, NULL, ES_ECONFIG, "model.engram.branch_gates = false", "needs model.branches > 1");
    const char *b4[] = {"model.branches=4"}, *b4off[] = {"model.branches=4", "model.engram.gate=off"};
    assert_int_equal(load_text(state, shared, b4, 1, &cfg), ES_OK);
    assert_int_equal(cfg.model.branches, 4);
    assert_int_equal(cfg.model.engram.branch_gates, 0);
    expect_error(state, shared, b4off[1], ES_ECONFIG, "model.engram.branch_gates = false", "gate off");
    assert_int_not_equal(load_text(state, shared, b4off, 2, &cfg), ES_OK);

    /* 2 layers x 2 orders x 4 heads = 16 tables of at least 2 rows */
    const char *engram = "model:\n  memory: engram\n  engram:\n    layers: [0, 1]\n    orders: [2, 3]\n    heads: 4\n";
    const char *ov31[] = {"model.engram.slots=31"}, *ov32[] = {"model.engram.slots=32"};
    expect_error(state, engram, ov31[0], ES_ECONFIG, "model.engram.slots = 31 is below the minimum 32",
                 "16 tables (2 layers x 2 orders x 4 heads)");
    assert_int_equal(load_text(state, engram, ov32, 1, &cfg), ES_OK);
    /* OverEncoding: one set of tables, 2 orders x 4 heads */
    const char *over = "model:\n  memory: overencoding\n  engram:\n    layers: [0, 1]\n    slots: 15\n";
    expect_error(state, over, NULL, ES_ECONFIG, "model.engram.slots = 15 is below the minimum 16", NULL);
    const char *ov16[] = {"model.engram.slots=16"};
    assert_int_equal(load_text(state, over, ov16, 1, &cfg), ES_OK);
    /* no memory, no minimum */
    assert_int_equal(load_text(state, "model:\n  engram:\n    slots: 1\n", NULL, 0, &cfg), ES_OK);

    /* structs built in code get the same checks */
    config_defaults(&cfg);
    cfg.model.memory = MEMORY_ENGRAM;
    assert_int_equal(config_validate(&cfg), ES_OK);
    cfg.model.engram.layers[0] = cfg.model.n_layers;
    assert_int_equal(config_validate(&cfg), ES_ECONFIG);
    assert_message_has("model.engram.layers[0] = 4");
    cfg.model.engram.layers[0] = 0;
    cfg.model.engram.n_orders = 0;
    assert_int_equal(config_validate(&cfg), ES_ECONFIG);
    assert_message_has("model.engram.orders");
    cfg.model.engram.n_orders = 2;
    cfg.model.memory = 7;
    assert_int_equal(config_validate(&cfg), ES_ECONFIG);
    assert_message_has("model.memory = 7");
}

/* config_write then config_load gives the same struct, byte for byte. */
static void round_trip(void **state, const run_config *cfg, const char *name)
{
    const char *path = tmp_path(*state, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(config_write(cfg, f), ES_OK);
    assert_int_equal(fclose(f), 0);
    run_config back;
    assert_int_equal(config_load(path, NULL, 0, &back), ES_OK);
    assert_string_equal(cfg->name, back.name);
    assert_string_equal(cfg->corpus, back.corpus);
    assert_true(cfg->train.lr == back.train.lr);
    assert_memory_equal(cfg, &back, sizeof back);
}

static void test_write_round_trip(void **state)
{
    run_config cfg;
    config_defaults(&cfg);
    round_trip(state, &cfg, "defaults.yaml");

    assert_int_equal(load_text(state, FULL, NULL, 0, &cfg), ES_OK);
    round_trip(state, &cfg, "full.yaml");

    /* values that need care: inexact doubles, strings YAML would misread */
    const char *ov[] = {"model.init_std=0.1", "train.lr=0.00030000000000000003", "train.tokens=123456789012345",
                        "train.eps=4.9406564584124654e-300", "model.rope_theta=1e300", "corpus=- x: #y \"z\" \\ 'q'",
                        "data_dir=true", "name=1e5"};
    assert_int_equal(load_text(state, "", ov, 8, &cfg), ES_OK);
    cfg.model.init_std = 0.1 + 0.2; /* 0.30000000000000004 */
    assert_string_equal(cfg.corpus, "- x: #y \"z\" \\ 'q'");
    round_trip(state, &cfg, "tricky.yaml");

    /* the other enum values and booleans, and lists at full length */
    const char *mem[] = {"model.memory=overencoding", "model.engram.gate=off", "model.engram.conv=false",
                         "model.engram.orders=[8, 2, 7, 3, 6, 4, 5]", "model.layers=16",
                         "model.engram.layers=[15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]",
                         "model.engram.slots=1e10", "model.engram.lr_mult=0.1"};
    run_config memcfg;
    assert_int_equal(load_text(state, "", mem, 8, &memcfg), ES_OK);
    assert_int_equal(memcfg.model.engram.n_orders, 7);
    assert_int_equal(memcfg.model.engram.orders[7], 0);
    assert_int_equal(memcfg.model.engram.n_layers, 16);
    round_trip(state, &memcfg, "memory.yaml");
    memcfg.model.memory = MEMORY_ENGRAM;
    memcfg.model.engram.gate = GATE_SSQRT;
    memcfg.model.engram.compress = 0;
    round_trip(state, &memcfg, "engram.yaml");

    /* every key of the table is written, once */
    const char *path = tmp_path(*state, "keys.yaml");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(config_write(&cfg, f), ES_OK);
    assert_int_equal(fclose(f), 0);
    ynode *root = NULL;
    assert_int_equal(ytree_load_file(path, &root), ES_OK);
    const char *keys[] = {"name", "corpus", "data_dir", "tokenizer.vocab", "model.d_model", "model.layers", "model.heads",
                          "model.seq_len", "model.ffn_hidden", "model.rope_theta", "model.init_std",
                          "model.branches", "model.moe.experts", "model.moe.top_k", "model.moe.shared", "model.moe.expert_hidden",
                          "model.moe.bias_rate", "model.moe.bias_travel", "model.moe.aux_loss", "model.moe.route_scale", "train.seed",
                          "train.batch", "train.steps", "train.tokens", "train.epochs", "train.lr",
                          "train.min_lr_ratio", "train.warmup", "train.optimizer", "train.muon_momentum", "train.weight_decay", "train.beta1", "train.beta2",
                          "train.eps", "train.grad_clip", "train.eval_every", "train.eval_tokens",
                          "train.checkpoint_every", "train.threads", "train.precision", "train.gemm", "train.optimizer", "train.muon_momentum",
                          "train.diverge_factor", "model.memory",
                          "model.engram.slots", "model.engram.head_dim", "model.engram.heads", "model.engram.orders",
                          "model.engram.layers", "model.engram.gate", "model.engram.conv", "model.engram.conv_kernel",
                          "model.engram.compress", "model.engram.init_std", "model.engram.lr_mult",
                          "model.engram.weight_decay", "model.engram.branch_gates"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!ytree_get(root, keys[i]))
            fail_msg("config_write left out %s", keys[i]);
    assert_int_equal(ytree_get(root, "model")->n_items, 11); /* 9 leaves + moe + engram */
    assert_int_equal(ytree_get(root, "model.engram")->n_items, 13);
    /* lists in flow style, enums by name, booleans as true/false */
    const ynode *orders = ytree_get(root, "model.engram.orders");
    assert_int_equal(orders->kind, YNODE_SEQ);
    assert_int_equal(orders->n_items, 2);
    assert_string_equal(orders->items[1]->value, "3");
    assert_string_equal(ytree_get(root, "model.memory")->value, "none");
    assert_string_equal(ytree_get(root, "model.engram.gate")->value, "paper");
    assert_string_equal(ytree_get(root, "model.engram.conv")->value, "true");
    assert_string_equal(ytree_get(root, "train.precision")->value, "bf16");
    assert_string_equal(ytree_get(root, "train.gemm")->value, "onednn");
    assert_string_equal(ytree_get(root, "train.optimizer")->value, "adamw");
    assert_int_equal(ytree_get(root, "train")->n_items, 22); /* + precision, gemm, optimizer, muon_momentum */
    assert_int_equal(root->n_items, 6);
    ytree_free(root);
}

/* corpus as a list: a mixture, written back as its corpus string */
static void test_corpus_list(void **state)
{
    run_config cfg;
    assert_int_equal(load_text(state, "corpus: [gcide, kjv, linux-doc, linux-src]\n", NULL, 0, &cfg), ES_OK);
    assert_string_equal(cfg.corpus, "gcide+kjv+linux-doc+linux-src");
    assert_int_equal(load_text(state, "corpus:\n  - gcide\n  - linux-src: 0.1\n  - {kjv: 1}\n", NULL, 0, &cfg),
                     ES_OK);
    assert_string_equal(cfg.corpus, "gcide+linux-src@0.1+kjv");
    round_trip(state, &cfg, "mixture.yaml");
    const char *ov[] = {"corpus=[gcide, {linux-doc: 0.25}]"};
    assert_int_equal(load_text(state, "corpus: kjv\n", ov, 1, &cfg), ES_OK);
    assert_string_equal(cfg.corpus, "gcide+linux-doc@0.25");
    /* a plain string is kept as written */
    assert_int_equal(load_text(state, "corpus: gcide+kjv@0.5\n", NULL, 0, &cfg), ES_OK);
    assert_string_equal(cfg.corpus, "gcide+kjv@0.5");

    expect_error(state, "corpus: []\n", NULL, ES_ECONFIG, "small.yaml:1: corpus: the list of corpora is empty", NULL);
    expect_error(state, "corpus:\n  - gcide\n  - linux-src: 0\n", NULL, ES_ECONFIG,
                 "small.yaml:3: corpus: the weight of linux-src is '0'", "expected a number in (0, 1]");
    expect_error(state, "corpus: [gcide, {kjv: 1.5}]\n", NULL, ES_ECONFIG, "the weight of kjv is '1.5'", NULL);
    expect_error(state, "corpus: [gcide, {kjv: -1}]\n", NULL, ES_ECONFIG, "the weight of kjv is '-1'", NULL);
    expect_error(state, "corpus: [gcide, {kjv: half}]\n", NULL, ES_ECONFIG, "the weight of kjv is 'half'", NULL);
    expect_error(state, "corpus: [gcide, {kjv: [1]}]\n", NULL, ES_ECONFIG, "item 2: expected a corpus name or",
                 "got a map");
    expect_error(state, "corpus: [gcide, {kjv: 0.5, gcide: 0.5}]\n", NULL, ES_ECONFIG, "item 2: expected", NULL);
    expect_error(state, "corpus: [gcide, [kjv]]\n", NULL, ES_ECONFIG, "item 2: expected a corpus name",
                 "got a list");
    expect_error(state, "corpus: [gcide, kjv+x]\n", NULL, ES_ECONFIG, "item 2: 'kjv+x' is not a corpus name", NULL);
    expect_error(state, "corpus: [gcide, kjv@0.5]\n", NULL, ES_ECONFIG, "'+' and '@' are reserved", NULL);
}

static void test_from_tree_skips_sections(void **state)
{
    ynode *root = NULL;
    assert_int_equal(ytree_load_string("name: exp\nsweep:\n  rho: [0, 1]\nmodel:\n  d_model: 64\n", "exp.yaml", &root),
                     ES_OK);
    run_config cfg;
    config_defaults(&cfg);
    assert_int_equal(config_from_tree(root, NULL, &cfg), ES_ECONFIG);
    assert_message_has("exp.yaml:2: unknown key 'sweep'");
    const char *skip[] = {"sweep", NULL};
    config_defaults(&cfg);
    assert_int_equal(config_from_tree(root, skip, &cfg), ES_OK);
    assert_int_equal(cfg.model.d_model, 64);
    assert_string_equal(cfg.name, "exp");
    ytree_free(root);
    (void)state;
}

static void test_total_steps(void **state)
{
    run_config cfg;
    config_defaults(&cfg);
    cfg.train.steps = 7;
    assert_int_equal(config_total_steps(&cfg), 7);
    cfg.train.tokens = 16 * 128 * 10; /* exactly 10 steps */
    assert_int_equal(config_total_steps(&cfg), 10);
    cfg.train.tokens += 1; /* a partial step rounds up */
    assert_int_equal(config_total_steps(&cfg), 11);
    (void)state;
}

static void test_moe_bias_rate(void **state)
{
    (void)state;
    run_config cfg;
    config_defaults(&cfg);
    /* the default: bias_travel spread over the run's steps */
    cfg.train.steps = 600;
    assert_true(config_moe_bias_rate(&cfg) == 2.0 / 600);
    cfg.train.steps = 300;
    assert_true(config_moe_bias_rate(&cfg) == 2.0 / 300);
    /* steps from tokens count too */
    cfg.train.tokens = (double)cfg.train.batch * cfg.model.seq_len * 150;
    assert_true(config_moe_bias_rate(&cfg) == 2.0 / 150);
    /* a per-step rate replaces the travel */
    cfg.model.moe.bias_rate = 0.001;
    assert_true(config_moe_bias_rate(&cfg) == 0.001);
    /* both zero: off */
    cfg.model.moe.bias_rate = 0;
    cfg.model.moe.bias_travel = 0;
    assert_true(config_moe_bias_rate(&cfg) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_full_file_sets_every_key, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_syntax_error, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_keys, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_bad_types, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_key, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_bad_overrides, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_overrides_win_in_order, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_cross_field_rules, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_memory_errors, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_memory_overrides, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_memory_rules, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_write_round_trip, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_corpus_list, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_from_tree_skips_sections, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_total_steps, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_moe_bias_rate, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
