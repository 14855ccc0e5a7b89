/* engram-scale bench: training throughput and MFU. */
#include "cli.h"

#include "core/parallel.h"
#include "data/dataset.h"
#include "config/config.h"
#include "train/bench.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "usage: engram-scale bench [CONFIG.yaml] [--set key.path=value ...] [--threads N] [--steps N] [--json]\n"
    "\n"
    "Times training steps of CONFIG (default experiments/bench.yaml) after a\n"
    "warm-up and reports tokens per second, model FLOPs per second (the\n"
    "planner's accounting), the fp32 (SGEMM) and bf16 matrix-product peaks of\n"
    "this machine measured in the same run with the same threads, MFU (model\n"
    "FLOP/s over the peak of train.precision), and the time per part of a step.\n"
    "\n"
    "  --threads N    worker threads (default: train.threads, 0 = all cores)\n"
    "  --steps N      timed steps (default 20, after 10 warm-up steps, which\n"
    "                 also create the matrix-product primitives of the shapes\n"
    "                 the experts' varying row counts bring)\n"
    "  --set K=V      override a config key, e.g. --set model.moe.experts=0\n"
    "  --json         print the figures as JSON\n";

int cmd_bench(int argc, char **argv)
{
    cli_options opt;
    int rc = cli_begin("bench", argc, argv, "set json threads steps", 1, HELP, NULL, &opt);
    if (rc >= 0)
        return rc;
    const char *path = opt.n_positional ? opt.positional[0] : "experiments/bench.yaml";
    run_config cfg;
    if (config_load(path, opt.sets, opt.n_sets, &cfg))
        return cli_fail("bench");
    if (opt.threads >= 0)
        cfg.train.threads = opt.threads;
    es_threads_set(cfg.train.threads);
    cli_apply_precision("bench", &cfg);
    int steps = opt.steps > 0 ? opt.steps : 20;
    dataset *ds;
    if (dataset_prepare(cfg.corpus, cfg.data_dir, cfg.vocab, 0, NULL, NULL, &ds))
        return cli_fail("bench");
    bench_result r;
    rc = bench_run(&cfg, ds, 10, steps, &r);
    dataset_free(ds);
    if (rc)
        return cli_fail("bench");
    cli_report_gemm_fallbacks("bench");
    if (opt.json) {
        json_t *o = json_object(), *parts = json_object();
        json_object_set_new(o, "config", json_string(path));
        json_object_set_new(o, "threads", json_integer(r.threads));
        json_object_set_new(o, "steps", json_integer(r.steps));
        json_object_set_new(o, "step_seconds", json_real(r.step_seconds));
        json_object_set_new(o, "tokens_per_s", json_real(r.tokens_per_s));
        json_object_set_new(o, "flops_per_token", json_real(r.flops_per_token));
        json_object_set_new(o, "model_flops_per_s", json_real(r.model_flops_per_s));
        json_object_set_new(o, "precision", json_string(config_precision_name(r.precision)));
        json_object_set_new(o, "gemm", json_string(cfg.train.gemm == GEMM_OPENBLAS ? "openblas" : "onednn"));
        json_object_set_new(o, "sgemm_peak_flops_per_s", json_real(r.sgemm_peak_flops_per_s));
        json_object_set_new(o, "bf16_peak_flops_per_s",
                            r.bf16_peak_flops_per_s > 0 ? json_real(r.bf16_peak_flops_per_s) : json_null());
        json_object_set_new(o, "mfu", json_real(r.mfu));
        json_object_set_new(o, "memory_bytes", json_real(r.memory_bytes));
        for (int p = 0; p < PROF_PARTS; p++)
            json_object_set_new(parts, es_prof_names[p], json_real(r.part_seconds[p]));
        json_object_set_new(parts, "other", json_real(r.other_seconds));
        json_object_set_new(o, "breakdown", parts);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        putchar('\n');
        json_decref(o);
        return 0;
    }
    printf("config            %s (%d threads, %d timed steps)\n", path, r.threads, r.steps);
    printf("step time         %.4f s (median)\n", r.step_seconds);
    printf("throughput        %.0f tokens/s, %.3g FLOPs/token\n", r.tokens_per_s, r.flops_per_token);
    printf("model FLOP/s      %.1f GFLOP/s\n", r.model_flops_per_s / 1e9);
    printf("precision         %s (fp32 products: %s)\n", config_precision_name(r.precision),
           cfg.train.gemm == GEMM_OPENBLAS ? "OpenBLAS" : "oneDNN");
    printf("SGEMM peak        %.1f GFLOP/s (fp32, 1024^3, same threads)\n", r.sgemm_peak_flops_per_s / 1e9);
    if (r.bf16_peak_flops_per_s > 0)
        printf("bf16 peak         %.1f GFLOP/s (oneDNN, 1024^3, same threads)\n", r.bf16_peak_flops_per_s / 1e9);
    else
        printf("bf16 peak         none (this CPU has neither AVX512-BF16 nor AMX)\n");
    printf("MFU               %.3f (against the %s peak)\n", r.mfu, config_precision_name(r.precision));
    double total = r.other_seconds;
    for (int p = 0; p < PROF_PARTS; p++)
        total += r.part_seconds[p];
    printf("breakdown (per step):\n");
    for (int p = 0; p < PROF_PARTS; p++)
        printf("  %-10s %8.2f ms  %5.1f%%\n", es_prof_names[p], 1e3 * r.part_seconds[p],
               100 * r.part_seconds[p] / total);
    printf("  %-10s %8.2f ms  %5.1f%%\n", "other", 1e3 * r.other_seconds, 100 * r.other_seconds / total);
    return 0;
}
