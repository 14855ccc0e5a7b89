#include "train/optimizer.h"

#include "core/error.h"
#include "core/mem.h"
#include "core/profile.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>

int adamw_new(size_t n, double beta1, double beta2, double eps, double weight_decay, adamw **out)
{
    *out = NULL;
    adamw *opt = es_calloc(1, sizeof *opt);
    if (!opt)
        return ES_ENOMEM;
    opt->m = es_floats_new(n);
    opt->v = es_floats_new(n);
    if (!opt->m || !opt->v) {
        adamw_free(opt);
        return ES_ENOMEM;
    }
    opt->n = n;
    opt->beta1 = beta1;
    opt->beta2 = beta2;
    opt->eps = eps;
    opt->weight_decay = weight_decay;
    *out = opt;
    return ES_OK;
}

void adamw_free(adamw *opt)
{
    if (!opt)
        return;
    es_floats_free(opt->m);
    es_floats_free(opt->v);
    free(opt);
}

/* Lazy Adam on the rows the last batch hit (their summed gradients are in
 * unique_grad); rows not hit keep their moments, as in LazyAdam. */
static void sparse_adam_step(sparse_table *t, float b1, float b2, float eps, float c1, float c2, float lr, float decay)
{
    int w = t->width;
#pragma omp parallel for schedule(static)
    for (int u = 0; u < t->n_unique; u++) {
        size_t base = (size_t)t->unique_row[u] * w;
        const float *g = t->unique_grad + (size_t)u * w;
        float *p = t->data + base, *mm = t->m + base, *vv = t->v + base;
        for (int c = 0; c < w; c++) {
            mm[c] = b1 * mm[c] + (1.0f - b1) * g[c];
            vv[c] = b2 * vv[c] + (1.0f - b2) * g[c] * g[c];
            p[c] -= lr * (mm[c] * c1) / (sqrtf(vv[c] * c2) + eps) + decay * p[c];
        }
    }
}

void adamw_step(adamw *opt, model *m, double lr, const unsigned char *skip)
{
    opt->t++;
    float b1 = (float)opt->beta1, b2 = (float)opt->beta2, eps = (float)opt->eps;
    float c1 = (float)(1.0 / (1.0 - pow(opt->beta1, (double)opt->t)));
    float c2 = (float)(1.0 / (1.0 - pow(opt->beta2, (double)opt->t)));
    float flr = (float)lr;
    for (int i = 0; i < m->n_tensors; i++) {
        if (skip && skip[i])
            continue;
        param_tensor *t = &m->tensors[i];
        size_t offset = (size_t)(t->data - m->params);
        float *p = t->data, *g = t->grad, *mm = opt->m + offset, *vv = opt->v + offset;
        float decay = t->decay ? (float)(lr * opt->weight_decay) : 0.0f;
        long n = (long)t->size;
#pragma omp parallel for schedule(static) if (n > 16384)
        for (long j = 0; j < n; j++) {
            float gj = g[j];
            mm[j] = b1 * mm[j] + (1.0f - b1) * gj;
            vv[j] = b2 * vv[j] + (1.0f - b2) * gj * gj;
            float update = (mm[j] * c1) / (sqrtf(vv[j] * c2) + eps);
            p[j] -= flr * update + decay * p[j];
        }
    }
    const model_config *c = &m->cfg;
    float table_lr = (float)(lr * c->engram.lr_mult);
    /* the tables' update is Engram's (or OverEncoding's) cost, not AdamW's */
    es_prof_end(PROF_OPTIMIZER);
    es_prof_begin(PROF_ENGRAM);
    for (int i = 0; i < m->n_tables; i++)
        sparse_adam_step(m->tables[i], b1, b2, eps, c1, c2, table_lr, (float)(table_lr * c->engram.weight_decay));
    es_prof_end(PROF_ENGRAM);
    es_prof_begin(PROF_OPTIMIZER);
}

/* Elements per block of the norm's sum: fixed, so the result does not
 * depend on the thread count. */
enum { NORM_BLOCK = 1 << 16 };

double grad_norm(const model *m)
{
    long n = (long)m->n_params;
    long blocks = (n + NORM_BLOCK - 1) / NORM_BLOCK;
    double *partial = calloc((size_t)blocks + 1, sizeof(double));
    const float *g = m->grads;
#pragma omp parallel for schedule(static)
    for (long b = 0; b < blocks; b++) {
        long j1 = (b + 1) * NORM_BLOCK < n ? (b + 1) * NORM_BLOCK : n;
        double s = 0.0;
        for (long j = b * NORM_BLOCK; j < j1; j++)
            s += (double)g[j] * g[j];
        partial[b] = s;
    }
    double total = 0.0;
    for (long b = 0; b < blocks; b++)
        total += partial[b];
    free(partial);
    for (int i = 0; i < m->n_tables; i++) {
        const sparse_table *tb = m->tables[i];
        for (size_t j = 0; j < (size_t)tb->n_unique * tb->width; j++)
            total += (double)tb->unique_grad[j] * tb->unique_grad[j];
    }
    return sqrt(total);
}

double grad_clip(model *m, double max_norm)
{
    double norm = grad_norm(m);
    if (max_norm > 0 && norm > max_norm) {
        float scale = (float)(max_norm / norm);
        long n = (long)m->n_params;
#pragma omp parallel for schedule(static)
        for (long j = 0; j < n; j++)
            m->grads[j] *= scale;
        for (int i = 0; i < m->n_tables; i++) {
            sparse_table *tb = m->tables[i];
            for (size_t j = 0; j < (size_t)tb->n_unique * tb->width; j++)
                tb->unique_grad[j] *= scale;
        }
    }
    return norm;
}

double lr_schedule(long step, long total, long warmup, double peak, double min_ratio)
{
    if (step < warmup)
        return peak * (double)(step + 1) / (double)warmup;
    long decay_steps = total - warmup;
    if (decay_steps <= 1)
        return peak;
    double progress = (double)(step - warmup) / (double)(decay_steps - 1);
    if (progress > 1)
        progress = 1;
    return peak * (min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + cos(M_PI * progress)));
}
