/* Training throughput: time real training steps after a warm-up, and the
 * machine's own matrix-product peaks (fp32, and bf16 where the CPU has it)
 * with the same thread count in the same run, so that MFU = model FLOPs
 * per second / the peak of the precision in use is measured, not assumed.
 * The steps run in the precision and library that cfg->train asks for,
 * resolved for this CPU and applied (train_apply_precision). */
#ifndef ES_TRAIN_BENCH_H
#define ES_TRAIN_BENCH_H

#include "core/profile.h"
#include "data/dataset.h"
#include "config/config.h"

typedef struct {
    int threads, warmup, steps;
    double step_seconds;          /* median over the timed steps */
    double tokens_per_s;          /* B*T / step_seconds */
    double flops_per_token;       /* the planner's accounting */
    double model_flops_per_s;
    int precision;                /* PRECISION_FP32 or PRECISION_BF16: the steps' products */
    double sgemm_peak_flops_per_s; /* fp32, through train.gemm's library */
    double bf16_peak_flops_per_s;  /* bf16 through oneDNN; 0 where the CPU has no bf16 */
    double mfu;                    /* model FLOP/s / the peak of `precision` */
    double part_seconds[PROF_PARTS]; /* mean per step */
    double other_seconds;            /* mean per step outside the parts */
    double memory_bytes;             /* parameters, gradients, optimizer state */
} bench_result;

/* The best FLOP/s of n x n x n products through the same wrapper and
 * threads the model uses, in precision p (es_precision; the setting in
 * force is restored). 0 if p is bf16 and the CPU has no bf16. */
double bench_gemm_peak(int n, int reps, int precision);

int bench_run(const run_config *cfg, const dataset *ds, int warmup, int steps, bench_result *out);

#endif
