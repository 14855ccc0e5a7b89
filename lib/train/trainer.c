#include "train/trainer.h"

#include "core/error.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/parallel.h"
#include "core/profile.h"
#include "data/batch.h"
#include "model/model.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/file.h>
#include <unistd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Trainer state saved in checkpoints besides parameters and moments. */
typedef struct {
    int64_t step;          /* steps done */
    double seconds;        /* wall time spent so far */
    double loss_sum;       /* train losses since the last eval */
    int64_t loss_count;
    double initial_loss;   /* loss of the first step, the divergence yardstick */
    double best_val_loss;
    double last_val_loss;
    double last_train_loss;
    int64_t adam_t;
    double load_max_mean;  /* MoE statistics of the last eval (NAN if dense) */
    double bias_min, bias_max;
} train_state;

static long eval_batches(const run_config *cfg, const batch_loader *val)
{
    long available = (long)(val->n_windows / (size_t)cfg->train.batch);
    long per_batch = (long)cfg->train.batch * cfg->model.seq_len;
    long wanted = cfg->train.eval_tokens > 0 ? (cfg->train.eval_tokens + per_batch - 1) / per_batch : available;
    if (wanted > available)
        wanted = available;
    return wanted > 0 ? wanted : 1;
}

int train_check_data(const run_config *cfg, const dataset *ds)
{
    int B = cfg->train.batch, T = cfg->model.seq_len;
    long steps = config_total_steps(cfg);
    double windows = ds->n_train > 0 ? (double)((ds->n_train - 1) / (size_t)T) : 0;
    double needed = (double)steps * B;
    if (needed > cfg->train.epochs * windows + 1e-9)
        return es_error(ES_EINVAL,
                        "the run needs %.0f sequences of %d tokens (%.4g tokens, %.2f passes) but the training split "
                        "of %s holds %.0f sequences (%zu tokens) and train.epochs is %g; raise train.epochs or "
                        "train on fewer tokens",
                        needed, T, needed * T, windows > 0 ? needed / windows : INFINITY, ds->name, windows,
                        ds->n_train, cfg->train.epochs);
    size_t val_windows = ds->n_val > 0 ? (ds->n_val - 1) / (size_t)T : 0;
    if (val_windows < (size_t)B)
        return es_error(ES_EINVAL,
                        "the validation split of %s holds %zu sequences of %d tokens, fewer than one batch of %d",
                        ds->name, val_windows, T, B);
    return ES_OK;
}

/* The config text that must match for a checkpoint to be resumed: all of
 * it except settings that do not change the computation's meaning. */
static char *config_identity(const run_config *cfg)
{
    run_config c = *cfg;
    c.train.threads = 0;
    c.train.checkpoint_every = 0;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    config_write(&c, f);
    fclose(f);
    return text;
}

/* The mean validation loss over the eval batches. For a mixture
 * (ds->n_sources > 1) per_source[s] gets the mean over the batches whose
 * first token is source s's (NAN if none): exact when B*T divides
 * DATASET_VAL_CHUNK, as with B = 16 and T = 128, since every batch then lies
 * in one source's chunk of the interleaved validation split. */
static double evaluate(model *m, batch_loader *val, long batches, int32_t *inputs, int32_t *targets,
                       const dataset *ds, double *per_source)
{
    double total = 0.0, sums[DATASET_MAX_SOURCES] = {0};
    long counts[DATASET_MAX_SOURCES] = {0};
    size_t per_batch = (size_t)val->B * (size_t)val->T;
    for (long i = 0; i < batches; i++) {
        batch_loader_eval(val, i, inputs, targets);
        double loss = model_evaluate(m, inputs, targets);
        total += loss;
        if (ds->n_sources > 1) {
            int s = dataset_val_source(ds, (size_t)i * per_batch);
            sums[s] += loss;
            counts[s]++;
        }
    }
    for (int s = 0; s < ds->n_sources && ds->n_sources > 1; s++)
        per_source[s] = counts[s] ? sums[s] / (double)counts[s] : NAN;
    return total / (double)batches;
}

static json_t *json_number_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static int write_result(const char *path, const train_result *r, const dataset *ds)
{
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(r->diverged ? "diverged" : "ok"));
    json_object_set_new(o, "steps", json_integer(r->steps));
    json_object_set_new(o, "diverged_step", r->diverged ? json_integer(r->diverged_step) : json_null());
    json_object_set_new(o, "tokens", json_real(r->tokens));
    json_object_set_new(o, "val_loss", json_number_or_null(r->val_loss));
    json_object_set_new(o, "best_val_loss", json_number_or_null(r->best_val_loss));
    json_object_set_new(o, "train_loss", json_number_or_null(r->train_loss));
    json_object_set_new(o, "seconds", json_real(r->seconds));
    json_object_set_new(o, "precision", json_string(config_precision_name(r->precision)));
    if (r->n_sources > 1) {
        json_t *per = json_object();
        for (int i = 0; i < r->n_sources; i++)
            json_object_set_new(per, ds->sources[i].name, json_number_or_null(r->val_loss_sources[i]));
        json_object_set_new(o, "val_loss_sources", per);
    }
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(o);
    if (!text)
        return es_error(ES_ENOMEM, "cannot format %s", path);
    size_t n = strlen(text);
    text[n] = '\n';
    int rc = file_write_atomic(path, text, n + 1);
    free(text);
    return rc;
}

static double json_number_field(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

int train_result_read(const char *out_dir, train_result *r)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/result.json", out_dir);
    json_error_t jerr;
    json_t *o = json_load_file(path, 0, &jerr);
    if (!o)
        return es_error(ES_EIO, "cannot read %s: %s", path, jerr.text);
    memset(r, 0, sizeof *r);
    json_t *status = json_object_get(o, "status");
    r->diverged = json_is_string(status) && strcmp(json_string_value(status), "diverged") == 0;
    r->steps = (long)json_number_field(o, "steps");
    double ds = json_number_field(o, "diverged_step");
    r->diverged_step = isfinite(ds) ? (long)ds : 0;
    r->tokens = json_number_field(o, "tokens");
    r->val_loss = json_number_field(o, "val_loss");
    r->best_val_loss = json_number_field(o, "best_val_loss");
    r->train_loss = json_number_field(o, "train_loss");
    r->seconds = json_number_field(o, "seconds");
    /* results written before train.precision existed were fp32 */
    json_t *precision = json_object_get(o, "precision");
    r->precision = json_is_string(precision) && strcmp(json_string_value(precision), "bf16") == 0 ? PRECISION_BF16
                                                                                                   : PRECISION_FP32;
    json_decref(o);
    return ES_OK;
}

/* Keeps the header and the complete rows of log.tsv up to `step`: rows
 * written after the checkpoint, or half-written by a kill, are dropped. */
static int truncate_log(const char *path, long step)
{
    char *text;
    size_t len;
    if (!es_exists(path))
        return ES_OK;
    int rc = es_read_file(path, &text, &len);
    if (rc)
        return rc;
    size_t keep = 0;
    for (size_t pos = 0; pos < len;) {
        char *nl = memchr(text + pos, '\n', len - pos);
        if (!nl)
            break; /* a half row */
        size_t end = (size_t)(nl - text) + 1;
        if (pos > 0 && strtol(text + pos, NULL, 10) > step)
            break;
        keep = end;
        pos = end;
    }
    rc = file_write_atomic(path, text, keep);
    free(text);
    return rc;
}

typedef struct {
    model *m;
    adamw *opt;
    muon *muon; /* NULL unless train.optimizer is muon */
    batch_loader *train, *val;
    int32_t *inputs, *targets;
    FILE *log;
    char *identity;
} run_parts;

static void parts_free(run_parts *p)
{
    model_free(p->m);
    adamw_free(p->opt);
    muon_free(p->muon);
    batch_loader_free(p->train);
    batch_loader_free(p->val);
    free(p->inputs);
    free(p->targets);
    if (p->log)
        fclose(p->log);
    free(p->identity);
}

static int save_checkpoint(const char *path, run_parts *p, const train_state *st)
{
    size_t n = p->m->n_params * sizeof(float);
    const model *m = p->m;
    checkpoint_section sections[7 + 3 * (ENGRAM_MAX_LAYERS + 1)];
    char names[3 * (ENGRAM_MAX_LAYERS + 1)][32];
    int count = 0;
    sections[count++] = (checkpoint_section){"config", p->identity, strlen(p->identity)};
    sections[count++] = (checkpoint_section){"state", (void *)st, sizeof *st};
    sections[count++] = (checkpoint_section){"params", m->params, n};
    sections[count++] = (checkpoint_section){"adam.m", p->opt->m, n};
    sections[count++] = (checkpoint_section){"adam.v", p->opt->v, n};
    if (p->muon)
        sections[count++] = (checkpoint_section){"muon.momentum", p->muon->momentum, n};
    if (m->moe_bias)
        sections[count++] = (checkpoint_section){
            "moe.bias", m->moe_bias, sizeof(float) * (size_t)m->cfg.n_layers * (size_t)m->cfg.moe.experts};
    for (int i = 0; i < m->n_tables; i++) {
        sparse_table *t = m->tables[i];
        size_t bytes = sizeof(float) * (size_t)t->rows * (size_t)t->width;
        float *parts[3] = {t->data, t->m, t->v};
        const char *what[3] = {"data", "m", "v"};
        for (int j = 0; j < 3; j++) {
            snprintf(names[3 * i + j], sizeof names[0], "table.%d.%s", i, what[j]);
            sections[count++] = (checkpoint_section){names[3 * i + j], parts[j], bytes};
        }
    }
    return checkpoint_save(path, sections, count);
}

static int load_checkpoint(const char *path, run_parts *p, train_state *st)
{
    checkpoint *ck;
    int rc = checkpoint_open(path, &ck);
    if (rc)
        return rc;
    size_t n = 0;
    const char *saved = checkpoint_find(ck, "config", &n);
    if (!saved || n != strlen(p->identity) || memcmp(saved, p->identity, n) != 0) {
        checkpoint_close(ck);
        return es_error(ES_ESTATE,
                        "checkpoint %s was made with another config; resume with the same config or start a "
                        "new run folder",
                        path);
    }
    size_t bytes = p->m->n_params * sizeof(float);
    rc = checkpoint_read(ck, "state", st, sizeof *st);
    if (!rc)
        rc = checkpoint_read(ck, "params", p->m->params, bytes);
    if (!rc)
        rc = checkpoint_read(ck, "adam.m", p->opt->m, bytes);
    if (!rc)
        rc = checkpoint_read(ck, "adam.v", p->opt->v, bytes);
    if (!rc && p->muon)
        rc = checkpoint_read(ck, "muon.momentum", p->muon->momentum, bytes);
    if (!rc && p->m->moe_bias)
        rc = checkpoint_read(ck, "moe.bias", p->m->moe_bias,
                             sizeof(float) * (size_t)p->m->cfg.n_layers * (size_t)p->m->cfg.moe.experts);
    for (int i = 0; !rc && i < p->m->n_tables; i++) {
        sparse_table *t = p->m->tables[i];
        size_t table_bytes = sizeof(float) * (size_t)t->rows * (size_t)t->width;
        float *parts[3] = {t->data, t->m, t->v};
        const char *what[3] = {"data", "m", "v"};
        for (int j = 0; j < 3 && !rc; j++) {
            char name[32];
            snprintf(name, sizeof name, "table.%d.%s", i, what[j]);
            rc = checkpoint_read(ck, name, parts[j], table_bytes);
        }
    }
    p->opt->t = st->adam_t;
    checkpoint_close(ck);
    return rc;
}

double train_step(model *m, adamw *opt, muon *mu, batch_loader *bl, long step, double lr, double clip,
                  int32_t *inputs, int32_t *targets)
{
    batch_loader_train(bl, step, inputs, targets);
    model_zero_grad(m);
    double loss = model_forward(m, inputs, targets);
    if (!isfinite(loss))
        return loss; /* no update from a broken step */
    model_backward(m);
    es_prof_begin(PROF_OPTIMIZER);
    grad_clip(m, clip);
    if (mu)
        muon_step(mu, m, lr);
    adamw_step(opt, m, lr, mu ? mu->owns : NULL);
    es_prof_end(PROF_OPTIMIZER);
    es_prof_begin(PROF_ROUTING);
    model_after_step(m);
    es_prof_end(PROF_ROUTING);
    return loss;
}

static int train_locked(const run_config *cfg, const dataset *ds, const char *out_dir, int resume,
                        const train_hooks *hooks, train_result *result, long total, int B, int T);

int train_checkpoint_step(const char *out_dir, long *step)
{
    *step = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoint.bin", out_dir);
    if (!es_exists(path))
        return ES_OK;
    checkpoint *ck;
    int rc = checkpoint_open(path, &ck);
    if (rc)
        return rc;
    train_state st;
    rc = checkpoint_read(ck, "state", &st, sizeof st);
    checkpoint_close(ck);
    if (rc == ES_OK)
        *step = (long)st.step;
    return rc;
}

int train_run(const run_config *cfg, const dataset *ds, const char *out_dir, int resume, const train_hooks *hooks,
              train_result *result)
{
    memset(result, 0, sizeof *result);
    result->n_sources = ds->n_sources;
    for (int i = 0; i < DATASET_MAX_SOURCES; i++)
        result->val_loss_sources[i] = NAN;
    int B = cfg->train.batch, T = cfg->model.seq_len;
    long total = config_total_steps(cfg);
    int rc = train_check_data(cfg, ds);
    if (rc)
        return rc;
    if ((rc = es_mkdir_p(out_dir)))
        return rc;
    /* One training per folder at a time: a second sweep or a mistyped
     * shard must not train the same run on top of this one. The lock goes
     * with the process, however it ends. */
    char lock_path[4096];
    snprintf(lock_path, sizeof lock_path, "%s/lock", out_dir);
    int lock_fd = open(lock_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0)
        return es_error(ES_EIO, "cannot open %s: %s", lock_path, strerror(errno));
    if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        close(lock_fd);
        return es_error(ES_ESTATE, "%s is being trained by another process", out_dir);
    }
    rc = train_locked(cfg, ds, out_dir, resume, hooks, result, total, B, T);
    close(lock_fd);
    return rc;
}

int train_resolve_precision(run_config *cfg)
{
    if (cfg->train.precision == PRECISION_BF16 && !es_bf16_available()) {
        cfg->train.precision = PRECISION_FP32;
        return 1;
    }
    return 0;
}

void train_apply_precision(const run_config *cfg)
{
    es_gemm_library_set(cfg->train.gemm == GEMM_OPENBLAS ? ES_GEMM_OPENBLAS : ES_GEMM_ONEDNN);
    es_precision_set(cfg->train.precision == PRECISION_BF16 ? ES_PRECISION_BF16 : ES_PRECISION_FP32);
}

static int train_locked(const run_config *asked, const dataset *ds, const char *out_dir, int resume,
                        const train_hooks *hooks, train_result *result, long total, int B, int T)
{
    int rc;
    /* the precision in force is the one written and checked on resume */
    run_config resolved = *asked;
    train_resolve_precision(&resolved);
    train_apply_precision(&resolved);
    const run_config *cfg = &resolved;
    char ckpt_path[4096], log_path[4096], result_path[4096], config_path[4096];
    snprintf(ckpt_path, sizeof ckpt_path, "%s/checkpoint.bin", out_dir);
    snprintf(log_path, sizeof log_path, "%s/log.tsv", out_dir);
    snprintf(result_path, sizeof result_path, "%s/result.json", out_dir);
    snprintf(config_path, sizeof config_path, "%s/config.yaml", out_dir);
    if (!resume && (es_exists(ckpt_path) || es_exists(log_path) || es_exists(result_path)))
        return es_error(ES_ESTATE, "%s already holds a run; continue it with --resume or choose another --out",
                        out_dir);
    if (resume && es_exists(result_path))
        return train_result_read(out_dir, result); /* finished earlier: nothing to do */

    run_parts p = {0};
    train_state st = {0};
    st.initial_loss = NAN;
    st.load_max_mean = st.bias_min = st.bias_max = NAN;
    st.best_val_loss = INFINITY;
    st.last_val_loss = NAN;
    st.last_train_loss = NAN;
    p.identity = config_identity(cfg);
    p.inputs = es_calloc((size_t)B * T, sizeof(int32_t));
    p.targets = es_calloc((size_t)B * T, sizeof(int32_t));
    if (!p.identity || !p.inputs || !p.targets) {
        parts_free(&p);
        return ES_ENOMEM;
    }
    if ((rc = model_new(&cfg->model, ds->vocab, ds->compress_map, ds->compressed_vocab, B, T, cfg->train.seed, &p.m)) ||
        (rc = adamw_new(p.m->n_params, cfg->train.beta1, cfg->train.beta2, cfg->train.eps, cfg->train.weight_decay,
                        &p.opt)) ||
        (cfg->train.optimizer == OPTIMIZER_MUON &&
         (rc = muon_new(p.m, cfg->train.muon_momentum, cfg->train.weight_decay, &p.muon))) ||
        (rc = batch_loader_new(ds->train, ds->n_train, B, T, cfg->train.seed, &p.train)) ||
        (rc = batch_loader_new(ds->val, ds->n_val, B, T, 0, &p.val))) {
        parts_free(&p);
        return rc;
    }
    p.m->moe_bias_rate = config_moe_bias_rate(cfg);
    if (resume && es_exists(ckpt_path)) {
        if ((rc = load_checkpoint(ckpt_path, &p, &st)) || (rc = truncate_log(log_path, (long)st.step))) {
            parts_free(&p);
            return rc;
        }
    } else if (es_exists(log_path)) {
        remove(log_path); /* --resume without a checkpoint: a fresh start */
    }

    /* the resolved config, beside the log it explains */
    {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        config_write(cfg, f);
        fclose(f);
        rc = file_write_atomic(config_path, text, len);
        free(text);
        if (rc) {
            parts_free(&p);
            return rc;
        }
    }
    int new_log = !es_exists(log_path);
    p.log = fopen(log_path, "a");
    if (!p.log) {
        parts_free(&p);
        return es_error(ES_EIO, "cannot write %s", log_path);
    }
    if (new_log) {
        fprintf(p.log, "step\ttokens\ttrain_loss\tval_loss\tlr\tseconds\tload_max_mean\tbias_min\tbias_max\t"
                       "experts_eff_min\texperts_eff_mean\tbias_changed");
        /* a mixture adds one validation loss column per source */
        for (int i = 0; i < ds->n_sources && ds->n_sources > 1; i++)
            fprintf(p.log, "\tval_loss_%s", ds->sources[i].name);
        fprintf(p.log, "\n");
        fflush(p.log);
    }

    long n_eval = eval_batches(cfg, p.val);
    if (hooks && hooks->started) {
        train_info info = {total, (long)st.step, p.m->n_params, model_count_total(p.m), model_count_active(p.m),
                           model_flops_per_token(&cfg->model, ds->vocab), (double)total * B * T, 0,
                           4.0 * sizeof(float) * (double)p.m->n_params, model_table_bytes(p.m)};
        info.epochs = info.tokens / (double)ds->n_train;
        hooks->started(hooks->ctx, &info);
    }

    double session_start = es_seconds();
    double lr = 0;
    int diverged = 0;
    for (long step = (long)st.step; step < total; step++) {
        if (hooks && hooks->stop && *hooks->stop) {
            st.seconds += es_seconds() - session_start;
            session_start = es_seconds();
            st.adam_t = p.opt->t;
            rc = save_checkpoint(ckpt_path, &p, &st);
            parts_free(&p);
            return rc ? rc : es_error(ES_ESTATE, "interrupted at step %ld; continue with --resume", step);
        }
        lr = lr_schedule(step, total, cfg->train.warmup, cfg->train.lr, cfg->train.min_lr_ratio);
        double loss = train_step(p.m, p.opt, p.muon, p.train, step, lr, cfg->train.grad_clip, p.inputs, p.targets);
        if (step == 0)
            st.initial_loss = loss;
        if (!isfinite(loss) || loss > cfg->train.diverge_factor * st.initial_loss) {
            diverged = 1;
            result->diverged_step = step;
            st.step = step;
            break;
        }
        st.step = step + 1;
        st.loss_sum += loss;
        st.loss_count++;
        if (hooks && hooks->stepped)
            hooks->stepped(hooks->ctx, step + 1, total, loss);

        int last = step + 1 == total;
        if ((step + 1) % cfg->train.eval_every == 0 || last) {
            model_moe_routing routing;
            model_moe_stats(p.m, &routing);
            st.load_max_mean = routing.load_max_mean;
            st.bias_min = routing.bias_min;
            st.bias_max = routing.bias_max;
            double val = evaluate(p.m, p.val, n_eval, p.inputs, p.targets, ds, result->val_loss_sources);
            train_eval e = {step + 1,
                            (double)(step + 1) * B * T,
                            st.loss_sum / (double)st.loss_count,
                            val,
                            lr,
                            st.seconds + es_seconds() - session_start,
                            st.load_max_mean,
                            st.bias_min,
                            st.bias_max,
                            routing.experts_eff_min,
                            routing.experts_eff_mean,
                            routing.bias_changed};
            fprintf(p.log, "%ld\t%.0f\t%.6f\t%.6f\t%.6g\t%.3f\t%.4f\t%.6g\t%.6g\t%.4f\t%.4f\t%.6f", e.step,
                    e.tokens, e.train_loss, e.val_loss, e.lr, e.seconds, e.load_max_mean, e.bias_min, e.bias_max,
                    e.experts_eff_min, e.experts_eff_mean, e.bias_changed);
            for (int i = 0; i < ds->n_sources && ds->n_sources > 1; i++)
                fprintf(p.log, "\t%.6f", result->val_loss_sources[i]);
            fprintf(p.log, "\n");
            fflush(p.log);
            st.last_val_loss = val;
            st.last_train_loss = e.train_loss;
            if (val < st.best_val_loss)
                st.best_val_loss = val;
            st.loss_sum = 0;
            st.loss_count = 0;
            if (!isfinite(val)) {
                diverged = 1;
                result->diverged_step = step + 1;
                break;
            }
            if (hooks && hooks->evaluated)
                hooks->evaluated(hooks->ctx, &e);
        }
        if (last || (cfg->train.checkpoint_every > 0 && (step + 1) % cfg->train.checkpoint_every == 0)) {
            st.seconds += es_seconds() - session_start;
            session_start = es_seconds();
            st.adam_t = p.opt->t;
            if ((rc = save_checkpoint(ckpt_path, &p, &st))) {
                parts_free(&p);
                return rc;
            }
        }
    }
    st.seconds += es_seconds() - session_start;
    result->diverged = diverged;
    result->steps = (long)st.step;
    result->tokens = (double)st.step * B * T;
    result->val_loss = st.last_val_loss;
    result->best_val_loss = st.best_val_loss;
    result->train_loss = st.last_train_loss;
    result->seconds = st.seconds;
    result->precision = cfg->train.precision;
    rc = write_result(result_path, result, ds);
    parts_free(&p);
    return rc;
}
