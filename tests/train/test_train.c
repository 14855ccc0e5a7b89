/* Tests of lib/train: the schedule, AdamW, clipping, checkpoints, and the
 * training loop's determinism, resume and divergence handling on a small
 * real corpus (the first 300 KB of kjv). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fs.h"
#include "core/parallel.h"
#include "data/corpus.h"
#include "data/dataset.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"
#include "train/trainer.h"

static char tmpdir[256];
static dataset *ds;

static int setup(void **state)
{
    (void)state;
    es_threads_set(2);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/es-train-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    char *text;
    size_t len;
    if (corpus_read("kjv", &text, &len))
        return -1;
    char path[512];
    snprintf(path, sizeof path, "%s/genesis.txt", tmpdir);
    FILE *f = fopen(path, "w");
    fwrite(text, 1, len < 300000 ? len : 300000, f);
    fclose(f);
    free(text);
    char root[512];
    snprintf(root, sizeof root, "%s/data", tmpdir);
    return dataset_prepare(path, root, 512, 0, NULL, NULL, &ds);
}

static int teardown(void **state)
{
    (void)state;
    dataset_free(ds);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd);
}

static run_config tiny_run(const char *name)
{
    run_config c;
    config_defaults(&c);
    snprintf(c.name, sizeof c.name, "%s", name);
    c.model.d_model = 32;
    c.model.n_layers = 2;
    c.model.n_heads = 2;
    c.model.seq_len = 32;
    c.model.ffn_hidden = 64;
    c.train.batch = 4;
    c.train.steps = 60;
    c.train.warmup = 5;
    c.train.eval_every = 20;
    c.train.eval_tokens = 2048;
    c.train.checkpoint_every = 25;
    return c;
}

static void run_dir(char *out, size_t size, const char *name) { snprintf(out, size, "%s/%s", tmpdir, name); }

static void test_schedule(void **state)
{
    (void)state;
    assert_float_equal(lr_schedule(0, 100, 10, 1.0, 0.1), 0.1, 1e-12);
    assert_float_equal(lr_schedule(9, 100, 10, 1.0, 0.1), 1.0, 1e-12);
    assert_float_equal(lr_schedule(10, 100, 10, 1.0, 0.1), 1.0, 1e-12);
    assert_float_equal(lr_schedule(99, 100, 10, 1.0, 0.1), 0.1, 1e-12);
    /* halfway through the decay: the mean of peak and floor */
    double mid = lr_schedule(10 + 89 / 2, 100, 10, 1.0, 0.1);
    assert_true(fabs(mid - 0.55) < 0.02);
    for (long s = 11; s < 100; s++)
        assert_true(lr_schedule(s, 100, 10, 1.0, 0.1) <= lr_schedule(s - 1, 100, 10, 1.0, 0.1));
}

static void test_adamw_first_step(void **state)
{
    (void)state;
    /* After one step Adam moves every weight by lr * sign(g) (bias-corrected
     * m/sqrt(v) = g/|g|), plus decoupled decay lr*wd*p on decayed tensors. */
    run_config c = tiny_run("adam");
    model *m;
    assert_int_equal(model_new(&c.model, 64, NULL, 0, 2, 8, 3, &m), 0);
    float *before = malloc(m->n_params * sizeof(float));
    memcpy(before, m->params, m->n_params * sizeof(float));
    for (size_t i = 0; i < m->n_params; i++)
        m->grads[i] = (i % 3 == 0) ? 0.5f : -2.0f;
    adamw *opt;
    assert_int_equal(adamw_new(m->n_params, 0.9, 0.95, 1e-12, 0.1, &opt), 0);
    adamw_step(opt, m, 0.01, NULL);
    for (int t = 0; t < m->n_tensors; t++) {
        param_tensor *pt = &m->tensors[t];
        for (size_t j = 0; j < pt->size; j++) {
            size_t i = (size_t)(pt->data - m->params) + j;
            float sign = m->grads[i] > 0 ? 1.0f : -1.0f;
            float expected = before[i] - 0.01f * sign - (pt->decay ? 0.01f * 0.1f * before[i] : 0.0f);
            assert_float_equal(m->params[i], expected, 1e-6);
        }
    }
    free(before);
    adamw_free(opt);
    model_free(m);
}

static void test_grad_clip(void **state)
{
    (void)state;
    run_config c = tiny_run("clip");
    model *m;
    assert_int_equal(model_new(&c.model, 64, NULL, 0, 2, 8, 3, &m), 0);
    for (size_t i = 0; i < m->n_params; i++)
        m->grads[i] = 1.0f;
    double norm = grad_clip(m, 1.0);
    assert_float_equal(norm, sqrt((double)m->n_params), 1e-3);
    assert_float_equal(grad_norm(m), 1.0, 1e-4);
    model_free(m);
}

static void test_checkpoint_roundtrip_and_corruption(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/ck.bin", tmpdir);
    float a[100], b[100];
    for (int i = 0; i < 100; i++)
        a[i] = (float)i * 0.5f;
    long step = 77, step_back = 0;
    checkpoint_section s[] = {{"params", a, sizeof a}, {"step", &step, sizeof step}};
    assert_int_equal(checkpoint_save(path, s, 2), 0);
    checkpoint *ck;
    assert_int_equal(checkpoint_open(path, &ck), 0);
    assert_int_equal(checkpoint_read(ck, "params", b, sizeof b), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(checkpoint_read(ck, "step", &step_back, sizeof step_back), 0);
    assert_int_equal(step_back, 77);
    assert_int_not_equal(checkpoint_read(ck, "missing", b, sizeof b), 0);
    assert_non_null(strstr(es_error_message(), "missing"));
    assert_int_not_equal(checkpoint_read(ck, "params", b, 10), 0);
    checkpoint_close(ck);
    /* flip one byte: the checksum catches it */
    FILE *f = fopen(path, "r+b");
    fseek(f, 40, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 40, SEEK_SET);
    fputc(ch ^ 0xff, f);
    fclose(f);
    assert_int_not_equal(checkpoint_open(path, &ck), 0);
    assert_non_null(strstr(es_error_message(), "corrupt"));
    /* a truncated file is rejected too */
    assert_int_equal(truncate(path, 30), 0);
    assert_int_not_equal(checkpoint_open(path, &ck), 0);
}

/* log.tsv's first five columns: step, tokens, train_loss, val_loss, lr. */
static char *read_log_losses(const char *dir)
{
    char path[600], *text;
    snprintf(path, sizeof path, "%s/log.tsv", dir);
    if (es_read_file(path, &text, NULL))
        return NULL;
    char *out = malloc(strlen(text) + 1), *o = out;
    for (char *p = text; *p;) {
        int column = 0;
        for (; *p && *p != '\n'; p++) {
            if (*p == '\t')
                column++;
            if (column < 5)
                *o++ = *p;
        }
        if (*p == '\n')
            *o++ = *p++;
    }
    *o = '\0';
    free(text);
    return out;
}

static char *read_log_without_seconds(const char *dir)
{
    char path[600], *text;
    snprintf(path, sizeof path, "%s/log.tsv", dir);
    if (es_read_file(path, &text, NULL))
        return NULL;
    /* drop the sixth column (wall time) of every line */
    char *out = malloc(strlen(text) + 1), *o = out;
    for (char *p = text; *p;) {
        int column = 0;
        for (; *p && *p != '\n'; p++) {
            if (*p == '\t')
                column++;
            if (column != 5)
                *o++ = *p;
        }
        if (*p == '\n')
            *o++ = *p++;
    }
    *o = '\0';
    free(text);
    return out;
}

static void test_training_learns_and_is_deterministic(void **state)
{
    (void)state;
    run_config c = tiny_run("det");
    char a[512], b[512];
    run_dir(a, sizeof a, "det-a");
    run_dir(b, sizeof b, "det-b");
    train_result ra, rb;
    assert_int_equal(train_run(&c, ds, a, 0, NULL, &ra), 0);
    assert_int_equal(train_run(&c, ds, b, 0, NULL, &rb), 0);
    assert_false(ra.diverged);
    assert_true(ra.val_loss == rb.val_loss);
    char *la = read_log_without_seconds(a), *lb = read_log_without_seconds(b);
    assert_non_null(la);
    assert_string_equal(la, lb);
    /* three evals plus the header */
    int lines = 0;
    for (char *p = la; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 4);
    /* 60 small steps already beat the uniform guess by a wide margin */
    assert_true(ra.val_loss < log(512.0) - 1.0);
    free(la);
    free(lb);
    /* a different seed gives a different run */
    c.train.seed = 2;
    run_dir(b, sizeof b, "det-c");
    assert_int_equal(train_run(&c, ds, b, 0, NULL, &rb), 0);
    assert_true(ra.val_loss != rb.val_loss);
}

/* Stops the run after a given step, as a signal would. */
typedef struct {
    long stop_after;
    volatile sig_atomic_t flag;
} stopper;

static void stop_hook(void *ctx, long step, long total, double loss)
{
    (void)total;
    (void)loss;
    stopper *s = ctx;
    if (step >= s->stop_after)
        s->flag = 1;
}

static void test_resume_is_bit_identical(void **state)
{
    (void)state;
    run_config c = tiny_run("resume");
    char whole[512], parts[512];
    run_dir(whole, sizeof whole, "resume-whole");
    run_dir(parts, sizeof parts, "resume-parts");
    train_result rw, rp;
    assert_int_equal(train_run(&c, ds, whole, 0, NULL, &rw), 0);
    /* stop at step 33: 8 steps past the checkpoint at 25 and after the
     * eval at 20, so resume must both restore state and trim nothing wrong */
    stopper s = {33, 0};
    train_hooks hooks = {&s, NULL, stop_hook, NULL, &s.flag};
    assert_int_not_equal(train_run(&c, ds, parts, 0, &hooks, &rp), 0);
    assert_non_null(strstr(es_error_message(), "interrupted"));
    /* without --resume the folder is protected */
    assert_int_not_equal(train_run(&c, ds, parts, 0, NULL, &rp), 0);
    assert_non_null(strstr(es_error_message(), "--resume"));
    assert_int_equal(train_run(&c, ds, parts, 1, NULL, &rp), 0);
    assert_true(rw.val_loss == rp.val_loss);
    assert_true(rw.train_loss == rp.train_loss);
    char *lw = read_log_without_seconds(whole), *lp = read_log_without_seconds(parts);
    assert_string_equal(lw, lp);
    free(lw);
    free(lp);
    /* resuming a finished run does nothing and reports its result */
    train_result again;
    assert_int_equal(train_run(&c, ds, parts, 1, NULL, &again), 0);
    assert_true(again.val_loss == rp.val_loss);
    /* a checkpoint of another config is refused */
    char other[512];
    run_dir(other, sizeof other, "resume-other");
    s.flag = 0;
    s.stop_after = 10;
    assert_int_not_equal(train_run(&c, ds, other, 0, &hooks, &rp), 0);
    c.train.lr *= 2;
    assert_int_equal(train_run(&c, ds, other, 1, NULL, &rp), ES_ESTATE);
    assert_non_null(strstr(es_error_message(), "another config"));
}

static void test_divergence_is_recorded(void **state)
{
    (void)state;
    run_config c = tiny_run("diverge");
    c.train.lr = 10.0; /* far too high: the loss explodes */
    c.train.warmup = 0;
    c.train.grad_clip = 0;
    c.train.steps = 200;
    char dir[512];
    run_dir(dir, sizeof dir, "diverge");
    train_result r;
    assert_int_equal(train_run(&c, ds, dir, 0, NULL, &r), 0);
    assert_true(r.diverged);
    assert_true(r.diverged_step > 0 && r.diverged_step < 200);
    train_result back;
    assert_int_equal(train_result_read(dir, &back), 0);
    assert_true(back.diverged);
    assert_int_equal(back.diverged_step, r.diverged_step);
}

static void keep_last_eval(void *ctx, const train_eval *e) { *(train_eval *)ctx = *e; }

static double final_load_imbalance(double bias_rate, const char *name)
{
    run_config c = tiny_run(name);
    c.model.d_model = 64;
    c.model.n_heads = 4;
    c.model.seq_len = 64;
    c.model.moe.experts = 8;
    c.model.moe.top_k = 2;
    c.model.moe.shared = 1;
    c.model.moe.expert_hidden = 64;
    c.model.moe.bias_rate = bias_rate;
    c.model.moe.bias_travel = 0; /* the rate alone decides */
    c.train.batch = 16;
    c.train.steps = 150;
    c.train.eval_every = 50;
    c.train.epochs = 2;
    char dir[512];
    run_dir(dir, sizeof dir, name);
    train_eval last;
    train_hooks hooks = {&last, NULL, NULL, keep_last_eval, NULL};
    train_result r;
    assert_int_equal(train_run(&c, ds, dir, 0, &hooks, &r), 0);
    assert_false(r.diverged);
    return last.load_max_mean; /* over steps 101-150, worst layer */
}

static void test_balancing_evens_expert_loads(void **state)
{
    (void)state;
    /* Without balancing a small router collapses onto a few experts (about
     * 3.8x the mean load here). With rate 0.01 a bias can move by 1.5 in
     * 150 steps, far more than the spread of sigmoid affinities, so the
     * loads should be even up to batch noise: 2048 slots over 8 experts is
     * 256 +- 16 per expert, so max/mean stays below ~1.2. The thresholds:
     * balanced below 1.3, and at most half the unbalanced value, which
     * itself must be clearly uneven (above 1.5) for the test to mean
     * anything. */
    double off = final_load_imbalance(0.0, "balance-off");
    double on = final_load_imbalance(0.01, "balance-on");
    fprintf(stderr, "max/mean expert load: balancing off %.3f, on %.3f\n", off, on);
    assert_true(off > 1.5);
    assert_true(on < 1.3);
    assert_true(on < 0.5 * off);
}

static void test_moe_resume_is_bit_identical(void **state)
{
    (void)state;
    /* the balancing biases are state: they must survive a resume */
    run_config c = tiny_run("moe-resume");
    c.model.moe.experts = 4;
    c.model.moe.top_k = 2;
    c.model.moe.expert_hidden = 16;
    c.model.moe.bias_rate = 0.01;
    char whole[512], parts[512];
    run_dir(whole, sizeof whole, "moe-resume-whole");
    run_dir(parts, sizeof parts, "moe-resume-parts");
    train_result rw, rp;
    assert_int_equal(train_run(&c, ds, whole, 0, NULL, &rw), 0);
    stopper s = {40, 0};
    train_hooks hooks = {&s, NULL, stop_hook, NULL, &s.flag};
    assert_int_not_equal(train_run(&c, ds, parts, 0, &hooks, &rp), 0);
    assert_int_equal(train_run(&c, ds, parts, 1, NULL, &rp), 0);
    assert_true(rw.val_loss == rp.val_loss);
    char *lw = read_log_without_seconds(whole), *lp = read_log_without_seconds(parts);
    assert_string_equal(lw, lp);
    free(lw);
    free(lp);
}

static void test_muon_resume_is_bit_identical(void **state)
{
    (void)state;
    /* Muon's momentum is state: it must survive a resume. On a model with
     * MoE and Engram, so every
     * kind of Muon matrix (attention, shared and routed experts, W_K, W_V)
     * and every other optimizer (AdamW, lazy Adam) is in play. */
    run_config c = tiny_run("muon");
    c.model.moe.experts = 4;
    c.model.moe.top_k = 2;
    c.model.moe.expert_hidden = 16;
    c.model.memory = MEMORY_ENGRAM;
    c.model.engram.slots = 5000;
    c.model.engram.layers[0] = 1;
    c.model.engram.n_layers = 1;
    c.train.optimizer = OPTIMIZER_MUON;
    char whole[512], parts[512];
    run_dir(whole, sizeof whole, "muon-whole");
    run_dir(parts, sizeof parts, "muon-parts");
    train_result rw, rp;
    assert_int_equal(train_run(&c, ds, whole, 0, NULL, &rw), 0);
    assert_false(rw.diverged);
    assert_true(rw.val_loss < log(512.0) - 1.0);
    stopper s = {33, 0};
    train_hooks hooks = {&s, NULL, stop_hook, NULL, &s.flag};
    assert_int_not_equal(train_run(&c, ds, parts, 0, &hooks, &rp), 0);
    assert_int_equal(train_run(&c, ds, parts, 1, NULL, &rp), 0);
    assert_true(rw.val_loss == rp.val_loss);
    assert_true(rw.train_loss == rp.train_loss);
    /* the losses and lr of every eval; not the MoE load statistic, which
     * counts loads since the last eval and is not in the checkpoint, so a
     * resume between evals changes it in the 4th digit (AdamW alike) */
    char *lw = read_log_losses(whole), *lp = read_log_losses(parts);
    assert_string_equal(lw, lp);
    free(lw);
    free(lp);
    /* and it is not AdamW: the same run with AdamW gives other losses */
    c.train.optimizer = OPTIMIZER_ADAMW;
    char adam[512];
    run_dir(adam, sizeof adam, "muon-vs-adamw");
    train_result ra;
    assert_int_equal(train_run(&c, ds, adam, 0, NULL, &ra), 0);
    assert_true(ra.val_loss != rw.val_loss);
}

/* The weights of two run folders' final checkpoints are the same bits. */
static void assert_same_weights(const char *a, const char *b)
{
    char pa[600], pb[600];
    snprintf(pa, sizeof pa, "%s/checkpoint.bin", a);
    snprintf(pb, sizeof pb, "%s/checkpoint.bin", b);
    checkpoint *ca, *cb;
    assert_int_equal(checkpoint_open(pa, &ca), 0);
    assert_int_equal(checkpoint_open(pb, &cb), 0);
    size_t na = 0, nb = 0;
    const void *wa = checkpoint_find(ca, "params", &na), *wb = checkpoint_find(cb, "params", &nb);
    assert_non_null(wa);
    assert_non_null(wb);
    assert_int_equal(na, nb);
    assert_memory_equal(wa, wb, na);
    checkpoint_close(ca);
    checkpoint_close(cb);
}

static void test_threads_do_not_change_the_bits(void **state)
{
    (void)state;
    /* Every reduction sums in blocks of a fixed size and every matrix
     * product's elements are computed whole by one thread (oneDNN's
     * primitives run single-threaded; the weight gradients are cut into
     * blocks fixed by their shape, see lib/core/parallel.h), so one thread
     * and two give the same bits, in fp32 and in bf16: --jobs and shards
     * reproduce a serial sweep exactly. Checked on a model with MoE and
     * Engram, with steps of 128 tokens and of 2048 (the studies' steps,
     * where the weight gradients' sums over the tokens once rounded
     * differently with 2 threads), down to the weights. */
    for (int precision = PRECISION_FP32; precision <= PRECISION_BF16; precision++) {
        if (precision == PRECISION_BF16 && !es_bf16_available()) {
            fprintf(stderr, "bf16 part skipped: this CPU has neither AVX512-BF16 nor AMX\n");
            break;
        }
        for (int batch = 4; batch <= 64; batch *= 16) {
            run_config c = tiny_run("threads");
            c.train.precision = precision;
            c.train.batch = batch;
            if (batch > 4)
                c.train.steps = 10;
            c.model.moe.experts = 4;
            c.model.moe.top_k = 2;
            c.model.moe.expert_hidden = 16;
            c.model.memory = MEMORY_ENGRAM;
            c.model.engram.slots = 5000;
            c.model.engram.layers[0] = 1;
            c.model.engram.n_layers = 1;
            char one[512], two[512], name[64];
            snprintf(name, sizeof name, "threads-1-%s-%d", config_precision_name(precision), batch);
            run_dir(one, sizeof one, name);
            snprintf(name, sizeof name, "threads-2-%s-%d", config_precision_name(precision), batch);
            run_dir(two, sizeof two, name);
            train_result r1, r2;
            es_threads_set(1);
            assert_int_equal(train_run(&c, ds, one, 0, NULL, &r1), 0);
            es_threads_set(2);
            assert_int_equal(train_run(&c, ds, two, 0, NULL, &r2), 0);
            assert_int_equal(r1.precision, precision);
            assert_true(r1.val_loss == r2.val_loss);
            char *l1 = read_log_without_seconds(one), *l2 = read_log_without_seconds(two);
            assert_string_equal(l1, l2);
            free(l1);
            free(l2);
            assert_same_weights(one, two);
        }
    }
}

static void test_bf16_same_bits_twice(void **state)
{
    (void)state;
    /* the same config, seed and threads give the same bits in bf16, and
     * the run says it ran in bf16 (config.yaml and result.json) */
    if (!es_bf16_available()) {
        fprintf(stderr, "skipped: this CPU has neither AVX512-BF16 nor AMX\n");
        skip();
    }
    run_config c = tiny_run("bf16");
    c.train.precision = PRECISION_BF16;
    c.model.moe.experts = 4;
    c.model.moe.expert_hidden = 16;
    char a[512], b[512], f32[512];
    run_dir(a, sizeof a, "bf16-a");
    run_dir(b, sizeof b, "bf16-b");
    run_dir(f32, sizeof f32, "bf16-fp32");
    train_result ra, rb, rf;
    assert_int_equal(train_run(&c, ds, a, 0, NULL, &ra), 0);
    assert_int_equal(train_run(&c, ds, b, 0, NULL, &rb), 0);
    assert_true(ra.val_loss == rb.val_loss);
    char *la = read_log_without_seconds(a), *lb = read_log_without_seconds(b);
    assert_string_equal(la, lb);
    free(la);
    free(lb);
    train_result back;
    assert_int_equal(train_result_read(a, &back), 0);
    assert_int_equal(back.precision, PRECISION_BF16);
    char path[600], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/config.yaml", a);
    assert_int_equal(es_read_file(path, &text, &len), 0);
    assert_non_null(strstr(text, "precision: bf16"));
    free(text);
    /* fp32 gives other bits but (60 steps) nearly the same loss */
    c.train.precision = PRECISION_FP32;
    assert_int_equal(train_run(&c, ds, f32, 0, NULL, &rf), 0);
    assert_int_equal(rf.precision, PRECISION_FP32);
    fprintf(stderr, "val loss after 60 steps: bf16 %.5f fp32 %.5f\n", ra.val_loss, rf.val_loss);
    assert_true(ra.val_loss != rf.val_loss);
    assert_true(fabs(ra.val_loss - rf.val_loss) < 0.05);
}

static void test_bf16_falls_back_to_fp32(void **state)
{
    (void)state;
    /* where the CPU has no bf16 (simulated), bf16 runs in fp32 and says so */
    setenv("ENGRAM_SCALE_NO_BF16", "1", 1);
    run_config c = tiny_run("nobf16");
    c.train.steps = 5;
    c.train.eval_every = 5;
    c.train.precision = PRECISION_BF16;
    run_config resolved = c;
    assert_int_equal(train_resolve_precision(&resolved), 1);
    assert_int_equal(resolved.train.precision, PRECISION_FP32);
    char dir[512];
    run_dir(dir, sizeof dir, "nobf16");
    train_result r;
    assert_int_equal(train_run(&c, ds, dir, 0, NULL, &r), 0);
    assert_int_equal(r.precision, PRECISION_FP32);
    unsetenv("ENGRAM_SCALE_NO_BF16");
    char path[600], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    assert_int_equal(es_read_file(path, &text, &len), 0);
    assert_non_null(strstr(text, "precision: fp32"));
    free(text);
}

static void test_data_limits(void **state)
{
    (void)state;
    run_config c = tiny_run("limits");
    c.train.steps = 1000000; /* far more than one pass */
    assert_int_equal(train_check_data(&c, ds), ES_EINVAL);
    assert_non_null(strstr(es_error_message(), "train.epochs"));
    c.train.epochs = 1e6;
    assert_int_equal(train_check_data(&c, ds), ES_OK);
    c.train.batch = 100000; /* more sequences than validation holds */
    assert_int_equal(train_check_data(&c, ds), ES_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_adamw_first_step),
        cmocka_unit_test(test_grad_clip),
        cmocka_unit_test(test_checkpoint_roundtrip_and_corruption),
        cmocka_unit_test(test_training_learns_and_is_deterministic),
        cmocka_unit_test(test_resume_is_bit_identical),
        cmocka_unit_test(test_divergence_is_recorded),
        cmocka_unit_test(test_data_limits),
        cmocka_unit_test(test_threads_do_not_change_the_bits),
        cmocka_unit_test(test_bf16_same_bits_twice),
        cmocka_unit_test(test_bf16_falls_back_to_fp32),
        cmocka_unit_test(test_balancing_evens_expert_loads),
        cmocka_unit_test(test_moe_resume_is_bit_identical),
        cmocka_unit_test(test_muon_resume_is_bit_identical),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
