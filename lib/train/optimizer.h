/* AdamW with decoupled weight decay, global-norm gradient clipping, and
 * the learning-rate schedule (linear warmup, cosine decay).
 * The optimizer owns its moment buffers m and v, one float per parameter,
 * laid out like model.params. Every adamw_new() has its adamw_free(). */
#ifndef ES_TRAIN_OPTIMIZER_H
#define ES_TRAIN_OPTIMIZER_H

#include <stddef.h>

#include "model/model.h"

typedef struct {
    size_t n;
    float *m, *v; /* [n] first and second moments */
    long t;       /* steps taken (bias correction) */
    double beta1, beta2, eps, weight_decay;
} adamw;

int adamw_new(size_t n, double beta1, double beta2, double eps, double weight_decay, adamw **out);
void adamw_free(adamw *opt);

/* One step over every tensor of the model at learning rate lr, except
 * those with skip[i] set (skip: [model.n_tensors] or NULL; the tensors
 * Muon updates, train/muon.h); weight decay only where tensor.decay is set. The row-sparse tables take a lazy
 * Adam step on the rows the batch hit, at lr * model.engram.lr_mult with
 * model.engram.weight_decay, using the same step count and betas. */
void adamw_step(adamw *opt, model *m, double lr, const unsigned char *skip);

/* The L2 norm of all gradients, the tables' summed row gradients included
 * (summed in double, fixed order). */
double grad_norm(const model *m);

/* Scales all gradients by min(1, max_norm / norm); returns norm. No-op
 * when max_norm <= 0. */
double grad_clip(model *m, double max_norm);

/* lr at 0-based step of total: linear warmup over `warmup` steps to peak,
 * then cosine decay to peak * min_ratio at the last step. */
double lr_schedule(long step, long total, long warmup, double peak, double min_ratio);

#endif
