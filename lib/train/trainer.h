/* The training loop of one run: batches, forward/backward, clipping,
 * AdamW (or Muon and AdamW) with the schedule, periodic evaluation, log.tsv, checkpoints,
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
 *                   that the balancing bias changed; see model_moe_routing),
 *                   and for a mixture corpus one val_loss_<source> column per
 *                   source (also in result.json as val_loss_sources)
 *   checkpoint.bin  the state after the last checkpointed step
 *   result.json     written last, when the run has finished or diverged;
 *                   "precision" names the precision the products ran in
 * lib/ prints nothing: progress goes through the hooks. */
#ifndef ES_TRAIN_TRAINER_H
#define ES_TRAIN_TRAINER_H

#include <signal.h>
#include <stddef.h>

#include "data/batch.h"
#include "data/dataset.h"
#include "model/model.h"
#include "config/config.h"
#include "train/muon.h"
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
    int precision;       /* PRECISION_FP32 or PRECISION_BF16: what the products ran in */
    /* a mixture (dataset n_sources > 1): the last eval's loss per source, in
     * the order of ds->sources (see evaluate in trainer.c); else unused */
    int n_sources;
    double val_loss_sources[DATASET_MAX_SOURCES];
} train_result;

/* Resolves cfg->train.precision for this CPU: bf16 where es_bf16_available()
 * is 0 becomes fp32. Returns 1 if it changed cfg (the caller tells the
 * user), else 0. */
int train_resolve_precision(run_config *cfg);

/* Sets the process-wide settings of the matrix products (es_precision_set,
 * es_gemm_library_set) from cfg->train; call with products idle. */
void train_apply_precision(const run_config *cfg);

/* Trains cfg on ds into out_dir, with its precision resolved and applied
 * (config.yaml and result.json say which precision was used). resume: continue from out_dir's
 * checkpoint if there is one (a fresh start otherwise); without resume an
 * out_dir that already holds a run is an error (no run is overwritten).
 * A run that diverges returns ES_OK with result->diverged set. */
int train_run(const run_config *cfg, const dataset *ds, const char *out_dir, int resume, const train_hooks *hooks,
              train_result *result);

/* One step on the training batch of `step`: forward, backward, clipping,
 * Muon on its matrices (mu, NULL when train.optimizer is adamw) and AdamW
 * on the rest at lr, MoE balancing. Returns the loss (a non-finite loss
 * makes no update). */
double train_step(model *m, adamw *opt, muon *mu, batch_loader *bl, long step, double lr, double clip, int32_t *inputs,
                  int32_t *targets);

/* The steps done by the checkpoint in out_dir: 0 if it has none; an error
 * if checkpoint.bin is unreadable or torn (a resume would fail the same way). */
int train_checkpoint_step(const char *out_dir, long *step);

/* Reads result.json of a finished run. ES_EIO if there is none. */
int train_result_read(const char *out_dir, train_result *result);

/* Checks that the data can feed cfg: enough tokens for the steps within
 * train.epochs, and enough validation tokens for one batch. */
int train_check_data(const run_config *cfg, const dataset *ds);

#endif
