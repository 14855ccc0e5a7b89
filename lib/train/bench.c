#include "train/bench.h"

#include "core/error.h"
#include "core/mem.h"
#include "core/parallel.h"
#include "data/batch.h"
#include "model/model.h"
#include "train/optimizer.h"
#include "train/trainer.h"

#include <stdlib.h>
#include <string.h>

double bench_gemm_peak(int n, int reps, int precision)
{
    es_precision was = es_precision_get();
    if (es_precision_set((es_precision)precision) != (es_precision)precision) {
        es_precision_set(was);
        return 0.0;
    }
    float *a = es_floats_new((size_t)n * n), *b = es_floats_new((size_t)n * n), *c = es_floats_new((size_t)n * n);
    if (!a || !b || !c) {
        es_floats_free(a);
        es_floats_free(b);
        es_floats_free(c);
        es_precision_set(was);
        return 0.0;
    }
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) { /* the first is a warm-up */
        double t0 = es_seconds();
        es_gemm_nt(n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = es_seconds() - t0;
        if (r > 0 && dt < best)
            best = dt;
    }
    es_floats_free(a);
    es_floats_free(b);
    es_floats_free(c);
    es_precision_set(was);
    return 2.0 * n * (double)n * n / best;
}

static int compare_doubles(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int bench_run(const run_config *asked, const dataset *ds, int warmup, int steps, bench_result *out)
{
    memset(out, 0, sizeof *out);
    run_config resolved = *asked;
    train_resolve_precision(&resolved);
    train_apply_precision(&resolved);
    const run_config *cfg = &resolved;
    int B = cfg->train.batch, T = cfg->model.seq_len;
    model *m = NULL;
    adamw *opt = NULL;
    muon *mu = NULL;
    batch_loader *bl = NULL;
    int32_t *inputs = es_calloc((size_t)B * T, sizeof(int32_t)), *targets = es_calloc((size_t)B * T, sizeof(int32_t));
    double *times = es_calloc((size_t)steps, sizeof(double));
    int rc = (!inputs || !targets || !times) ? ES_ENOMEM : ES_OK;
    if (!rc)
        rc = model_new(&cfg->model, ds->vocab, ds->compress_map, ds->compressed_vocab, B, T, cfg->train.seed, &m);
    if (!rc)
        m->moe_bias_rate = config_moe_bias_rate(cfg); /* the run's balancing, as train_run does */
    if (!rc)
        rc = adamw_new(m->n_params, cfg->train.beta1, cfg->train.beta2, cfg->train.eps, cfg->train.weight_decay,
                       &opt);
    if (!rc && cfg->train.optimizer == OPTIMIZER_MUON)
        rc = muon_new(m, cfg->train.muon_momentum, cfg->train.weight_decay, &mu);
    if (!rc)
        rc = batch_loader_new(ds->train, ds->n_train, B, T, cfg->train.seed, &bl);
    if (!rc) {
        out->threads = es_threads();
        out->warmup = warmup;
        out->steps = steps;
        out->memory_bytes = 4.0 * sizeof(float) * (double)m->n_params;
        /* the peak is the best of runs before and after the steps, so a
         * moment of load elsewhere cannot make it look low */
        double peak_before = bench_gemm_peak(1024, 5, ES_PRECISION_FP32);
        double bf16_before = bench_gemm_peak(1024, 5, ES_PRECISION_BF16);
        /* a small constant lr keeps the timed steps those of real training */
        for (int s = 0; s < warmup; s++)
            train_step(m, opt, mu, bl, s, 1e-4, cfg->train.grad_clip, inputs, targets);
        es_prof_reset();
        double total = 0.0;
        for (int s = 0; s < steps; s++) {
            double t0 = es_seconds();
            train_step(m, opt, mu, bl, warmup + s, 1e-4, cfg->train.grad_clip, inputs, targets);
            times[s] = es_seconds() - t0;
            total += times[s];
        }
        double parts = 0.0;
        for (int p = 0; p < PROF_PARTS; p++) {
            out->part_seconds[p] = es_prof_seconds(p) / steps;
            parts += out->part_seconds[p];
        }
        out->other_seconds = total / steps - parts;
        qsort(times, (size_t)steps, sizeof(double), compare_doubles);
        out->step_seconds = times[steps / 2];
        out->tokens_per_s = (double)B * T / out->step_seconds;
        out->flops_per_token = model_flops_per_token(&cfg->model, ds->vocab);
        out->model_flops_per_s = out->tokens_per_s * out->flops_per_token;
        double peak_after = bench_gemm_peak(1024, 5, ES_PRECISION_FP32);
        double bf16_after = bench_gemm_peak(1024, 5, ES_PRECISION_BF16);
        out->sgemm_peak_flops_per_s = peak_before > peak_after ? peak_before : peak_after;
        out->bf16_peak_flops_per_s = bf16_before > bf16_after ? bf16_before : bf16_after;
        out->precision = es_precision_get() == ES_PRECISION_BF16 ? PRECISION_BF16 : PRECISION_FP32;
        double peak = out->precision == PRECISION_BF16 ? out->bf16_peak_flops_per_s : out->sgemm_peak_flops_per_s;
        out->mfu = out->model_flops_per_s / peak;
    }
    batch_loader_free(bl);
    adamw_free(opt);
    muon_free(mu);
    model_free(m);
    free(inputs);
    free(targets);
    free(times);
    return rc;
}
