/* Training throughput: time real training steps after a warm-up, and the
 * machine's own SGEMM peak with the same thread count in the same run, so
 * that MFU = model FLOPs per second / SGEMM peak is measured, not assumed. */
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
    double sgemm_peak_flops_per_s;
    double mfu;
    double part_seconds[PROF_PARTS]; /* mean per step */
    double other_seconds;            /* mean per step outside the parts */
    double memory_bytes;             /* parameters, gradients, optimizer state */
} bench_result;

/* The best FLOP/s of n x n x n SGEMMs through the same wrapper and threads
 * the model uses. */
double bench_sgemm_peak(int n, int reps);

int bench_run(const run_config *cfg, const dataset *ds, int warmup, int steps, bench_result *out);

#endif
