/* The training loop of one run: batches, forward/backward, clipping,
 * AdamW with the schedule, periodic evaluation, log.tsv, checkpoints,
 * divergence detection, and bit-identical resume.
 *
 * A run folder holds
 *   config.yaml     the resolved config
 *   log.tsv         step tokens train_loss val_loss lr seconds load_max_mean
 *                   bias_min bias_max experts_eff_min experts_eff_mean
 *                   bias_changed (one row per eval; the last six are the MoE's
 *                   routing, nan if dense: the worst layer's max/mean expert
 *                   load over the steps since the previous eval, the
 *                   balancing-bias range now, the effective number of experts
 *                   exp(entropy of the load shares) over those steps, lowest
 *                   layer and mean over layers, and the share of top-k picks
 *                   that the balancing bias changed; see model_moe_routing)
 *   checkpoint.bin  the state after the last checkpointed step
 *   result.json     written last, when the run has finished or diverged
 * lib/ prints nothing: progress goes through the hooks. */
#ifndef ES_TRAIN_TRAINER_H
#define ES_TRAIN_TRAINER_H

#include <signal.h>
#include <stddef.h>

#include "data/batch.h"
#include "data/dataset.h"
#include "model/model.h"
#include "config/config.h"
#include "train/optimizer.h"

typedef struct {
    long total_steps;
    long start_step;       /* > 0 when resumed */
    size_t n_params;       /* everything, embedding and head included */
    size_t p_tot, p_act;   /* without embedding and LM head */
    double flops_per_token;
    double tokens;         /* tokens the run trains on */
    double epochs;         /* passes over the training split this implies */
    double dense_bytes;    /* parameters, gradients and AdamW moments */
    double table_bytes;    /* row-sparse memory tables and their lazy-Adam moments */
} train_info;

typedef struct {
    long step;
    double tokens, train_loss, val_loss, lr, seconds;
    double load_max_mean, bias_min, bias_max; /* MoE only, else NAN */
    double experts_eff_min, experts_eff_mean, bias_changed; /* MoE only, else NAN (model_moe_routing) */
} train_eval;

typedef struct {
    void *ctx;
    void (*started)(void *ctx, const train_info *info);
    void (*stepped)(void *ctx, long step, long total, double loss);
    void (*evaluated)(void *ctx, const train_eval *e);
    /* when *stop becomes non-zero (a signal), the loop checkpoints and
     * returns ES_EINTR-like ES_ESTATE with "interrupted" */
    volatile sig_atomic_t *stop;
} train_hooks;

typedef struct {
    int diverged;        /* 1: stopped at diverged_step, results not to be fitted */
    long steps;          /* steps done */
    long diverged_step;
    double tokens;
    double val_loss;     /* last eval */
    double best_val_loss;
    double train_loss;   /* mean over the steps since the previous eval */
    double seconds;      /* training wall time, across resumes */
} train_result;

/* Trains cfg on ds into out_dir. resume: continue from out_dir's
 * checkpoint if there is one (a fresh start otherwise); without resume an
 * out_dir that already holds a run is an error (no run is overwritten).
 * A run that diverges returns ES_OK with result->diverged set. */
int train_run(const run_config *cfg, const dataset *ds, const char *out_dir, int resume, const train_hooks *hooks,
              train_result *result);

/* One step on the training batch of `step`: forward, backward, clipping,
 * AdamW at lr, MoE balancing. Returns the loss (a non-finite loss makes no
 * update). */
double train_step(model *m, adamw *opt, batch_loader *bl, long step, double lr, double clip, int32_t *inputs,
                  int32_t *targets);

/* Reads result.json of a finished run. ES_EIO if there is none. */
int train_result_read(const char *out_dir, train_result *result);

/* Checks that the data can feed cfg: enough tokens for the steps within
 * train.epochs, and enough validation tokens for one batch. */
int train_check_data(const run_config *cfg, const dataset *ds);

#endif
